"""Run in the quantize venv: cosine of the last-token logits of a quantized checkpoint (loaded by
gptqmodel) against its BF16 source (loaded by transformers), over a few prompts.

Usage: python logits.py SOURCE QUANTIZED  -> prints {"cosine": [..], "min": x} as JSON"""

import json
import sys

import torch
from gptqmodel import GPTQModel
from transformers import AutoModelForCausalLM, AutoTokenizer

PROMPTS = ["Hello world", "The quick brown fox jumps over the lazy dog.", "你好，世界！今天天气怎么样？"]


def main(source, quantized):
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(source)
    ref = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32).eval()
    q = GPTQModel.load(quantized, device="cpu", dtype=torch.float32)
    out = []
    with torch.no_grad():
        for prompt in PROMPTS:
            ids = tok(prompt, return_tensors="pt").input_ids
            a = ref(ids).logits[0, -1].float()
            b = q.model(ids).logits[0, -1].float()
            out.append(float(torch.nn.functional.cosine_similarity(a, b, dim=0)))
    print(json.dumps({"cosine": out, "min": min(out)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
