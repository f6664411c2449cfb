"""GPTQ-quantize a Qwen3 checkpoint with gptqmodel, the vendor's recipe (Vastai/VastModelZOO quant README).

Runs in the quantize role's venv (gptqmodel, torch). Writes into a work directory:
  staging/         the quantized checkpoint, published by the role only after it is verified
  quantize.log     gptqmodel's log and this script's progress lines
  progress.json    {phase, layer, layers, elapsed_s, eta_s}: what a poller or an operator reads
  result.json      the recipe, the timings and the files written (on success)

The metadata is the source's (transformers 5 re-saves config.json with rope_theta moved under
rope_parameters and a tokenizer_config.json older transformers cannot read): config.json is the
source's with quantization_config added, the tokenizer and generation files are copied back.

Usage: vacc_quantize.py --source DIR --work DIR --calibration FILE [recipe options]
"""

import argparse
import gzip
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

# Files that describe the model rather than hold its weights: always the source's.
META_FILES = (
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "merges.txt",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.jinja",
    "chat_template.json",
)


def read_texts(path, samples, min_chars=1):
    """Calibration texts: JSONL (.jsonl, .json, .json.gz as C4 ships it) with a "text" field per line,
    or plain text (one text per paragraph, blank-line separated). The first `samples` non-empty ones."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    texts = []
    with opener(p, "rt", encoding="utf-8") as f:
        if ".json" in p.name:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    text = json.loads(line)["text"]
                except (ValueError, KeyError, TypeError) as exc:
                    raise SystemExit(
                        "vacc_quantize: %s line %d is not a JSON object with a text field (%s)" % (p, n, exc)
                    ) from None
                if len(text.strip()) >= min_chars:
                    texts.append(text)
                if len(texts) >= samples:
                    break
        else:
            texts = [t.strip() for t in f.read().split("\n\n") if len(t.strip()) >= min_chars][:samples]
    if not texts:
        raise SystemExit("vacc_quantize: %s holds no calibration text" % p)
    return texts


class Progress:
    """progress.json and a line in the log per layer: layer i of N, elapsed, ETA."""

    def __init__(self, work, layers):
        self.path, self.layers, self.t0 = Path(work) / "progress.json", layers, time.time()
        self.layer = 0

    def write(self, phase, layer=None):
        if layer is not None:
            self.layer = layer
        elapsed = time.time() - self.t0
        eta = None
        if phase == "quantize" and self.layer > 1:
            eta = round(elapsed / (self.layer - 1) * (self.layers - self.layer + 1))
        state = {"phase": phase, "layer": self.layer, "layers": self.layers, "elapsed_s": round(elapsed), "eta_s": eta}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
        print(
            "vacc_quantize: %s layer %d of %d, elapsed %d s%s"
            % (phase, self.layer, self.layers, elapsed, ", ETA %d s" % eta if eta is not None else ""),
            flush=True,
        )


def hook_layers(model, progress):
    """Count decoder layers as gptqmodel reaches them (it runs layer by layer)."""
    layers = None
    for name, module in model.model.named_modules():
        if name.endswith("model.layers") or name == "layers":
            layers = module
            break
    if layers is None:
        return
    seen = set()

    def pre_hook(index):
        def hook(*_args, **_kwargs):
            if index not in seen:
                seen.add(index)
                progress.write("quantize", index + 1)

        return hook

    for i, layer in enumerate(layers):
        layer.register_forward_pre_hook(pre_hook(i))


def restore_metadata(source, staging, quantization_config):
    """The source's config.json with quantization_config added; the source's tokenizer files."""
    for name in META_FILES:
        target = staging / name
        if (source / name).is_file():
            shutil.copyfile(source / name, target)
        elif target.exists():  # written by transformers 5, unknown to the engine's generation
            target.unlink()
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    config["quantization_config"] = quantization_config
    (staging / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def quantization_config_of(staging):
    saved = json.loads((staging / "config.json").read_text(encoding="utf-8")).get("quantization_config")
    if not saved and (staging / "quantize_config.json").is_file():
        saved = json.loads((staging / "quantize_config.json").read_text(encoding="utf-8"))
    if not saved:
        raise SystemExit("vacc_quantize: gptqmodel wrote no quantization_config")
    return saved


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--source", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--calibration", required=True, type=Path)
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--batch-size", type=int, default=48)
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--group-size", type=int, default=128)
    ap.add_argument("--damp-percent", type=float, default=0.01)
    ap.add_argument("--desc-act", choices=["true", "false"], default="false")
    ap.add_argument("--sym", choices=["true", "false"], default="true")
    ap.add_argument("--true-sequential", choices=["true", "false"], default="true")
    ap.add_argument("--act-group-aware", choices=["true", "false"], default="false")
    ap.add_argument("--mse", type=float, default=0.0)
    ap.add_argument("--exclude", action="append", default=[], help="module regex left unquantized (repeatable)")
    ap.add_argument("--dtype", choices=["float16", "bfloat16"], default="float16")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto", help="auto: cuda when available, else cpu")
    ap.add_argument("--checkpoint", action="store_true", help="gptqmodel layer checkpoints in the work dir (resume)")
    return ap.parse_args(argv)


def main(argv=None):
    a = parse(argv)
    import torch  # pylint: disable=import-outside-toplevel
    from gptqmodel import GPTQModel  # pylint: disable=import-outside-toplevel
    from gptqmodel.quantization import QuantizeConfig  # pylint: disable=import-outside-toplevel

    random.seed(a.seed)
    torch.manual_seed(a.seed)
    work, source = a.work.resolve(), a.source.resolve()
    staging = work / "staging"
    if staging.exists():
        shutil.rmtree(staging)
    work.mkdir(parents=True, exist_ok=True)
    src_config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    progress = Progress(work, int(src_config["num_hidden_layers"]))
    progress.write("calibration")
    texts = read_texts(a.calibration, a.samples)
    print("vacc_quantize: %d calibration texts from %s" % (len(texts), a.calibration), flush=True)

    device = a.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    # The recipe's dynamic rule: "-:" + regex leaves the matching modules unquantized.
    dynamic = {"-:" + rx: {} for rx in a.exclude} or None
    qcfg = QuantizeConfig(
        bits=a.bits,
        group_size=a.group_size,
        damp_percent=a.damp_percent,
        desc_act=a.desc_act == "true",
        sym=a.sym == "true",
        true_sequential=a.true_sequential == "true",
        act_group_aware=a.act_group_aware == "true",
        mse=a.mse,
        dynamic=dynamic,
        device=device,
        offload_to_disk=True,
        offload_to_disk_path=str(work / "offload"),
    )
    progress.write("load")
    dtype = getattr(torch, a.dtype)
    # The device is the quantize config's: gptqmodel loads the BF16 model on the CPU and moves layer by layer.
    model = GPTQModel.load(str(source), qcfg, dtype=dtype)
    hook_layers(model, progress)
    progress.write("quantize", 0)
    kwargs = {}
    if a.checkpoint:
        from gptqmodel.looper.checkpoint_store import CheckpointConfig  # pylint: disable=import-outside-toplevel

        kwargs["checkpoint"] = CheckpointConfig(path=str(work / "checkpoints"), resume="auto")
    t_quant = time.time()
    model.quantize(texts, batch_size=a.batch_size, **kwargs)
    quant_s = time.time() - t_quant
    progress.write("save", progress.layers)
    model.save(str(staging))
    qc = quantization_config_of(staging)
    restore_metadata(source, staging, qc)
    if a.dtype != src_config.get("torch_dtype", src_config.get("dtype")):
        # The weights that stay unquantized were written in the load dtype: say so in the metadata.
        cfg = json.loads((staging / "config.json").read_text(encoding="utf-8"))
        cfg["torch_dtype"] = a.dtype
        (staging / "config.json").write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    import gptqmodel  # pylint: disable=import-outside-toplevel

    result = {
        "source": str(source),
        "staging": str(staging),
        "calibration": str(a.calibration),
        "samples": len(texts),
        "device": device,
        "dtype": a.dtype,
        "quantization_config": qc,
        "quantize_s": round(quant_s, 1),
        "total_s": round(time.time() - progress.t0, 1),
        "gptqmodel": gptqmodel.__version__,
        "torch": torch.__version__,
        "files": sorted(p.name for p in staging.iterdir()),
    }
    (work / "result.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    progress.write("done", progress.layers)
    print("vacc_quantize: wrote %s in %.1f s" % (staging, result["total_s"]), flush=True)


if __name__ == "__main__":
    sys.exit(main())
