"""Run with transformers 4.53 (the generation around vLLM 0.9.2, the vendor engine's base), no torch:
read a checkpoint's config and tokenizer as that engine would and print what it sees as JSON.

Usage: python old_transformers.py DIR"""

import json
import sys

import transformers
from transformers import AutoConfig, AutoTokenizer


def main(path):
    cfg = AutoConfig.from_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)
    text = tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True, enable_thinking=False
    )
    print(
        json.dumps(
            {
                "transformers": transformers.__version__,
                "model_type": cfg.model_type,
                "rope_theta": getattr(cfg, "rope_theta", None),
                "num_experts": getattr(cfg, "num_experts", None),
                "torch_dtype": str(getattr(cfg, "torch_dtype", None)),
                "quant_method": (getattr(cfg, "quantization_config", None) or {}).get("quant_method"),
                "chat": text,
                "hello_ids": tok("Hello world").input_ids,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
