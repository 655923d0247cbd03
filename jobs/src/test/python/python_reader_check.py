"""The Python reader (python/loraquant) on adapters the Java CLI compressed (run by PythonReaderTest).

usage: python_reader_check.py SPEC_JSON   (python/ on PYTHONPATH)

SPEC_JSON: {"decompress": [{"compressed", "out", "dtype"}],
            "inspect": [{"compressed", "text", "json"}],
            "peft": [{"name", "arch": "gpt2" | "llama", "java", "python"}]}
Decompresses each case with ``loraquant.decompress`` (the Java test compares the bytes with the
Java output), writes ``python -m loraquant inspect`` output (text and --json) to the given files,
and for each peft case loads the Java- and the Python-decompressed adapter with PEFT into the same
randomly initialised base model and compares their forward passes. Prints one JSON object on
stdout; exits 1 if a check failed.
"""

import io
import json
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def decompress(cases):
    import loraquant

    for c in cases:
        loraquant.decompress(c["compressed"], c["out"], dtype=c["dtype"])
    return len(cases)


def inspect(cases):
    from loraquant.__main__ import main

    for c in cases:
        for path, extra in ((c["text"], []), (c["json"], ["--json"])):
            out, err = io.StringIO(), io.StringIO()
            if main(["inspect", c["compressed"]] + extra, out=out, err=err) != 0:
                raise RuntimeError(err.getvalue())
            with open(path, "w", encoding="utf-8") as f:
                f.write(out.getvalue())
    return len(cases)


def forward(arch, folder):
    """Logits of a fixed input through a seeded random base model with the adapter at ``folder``."""
    import torch
    from peft import PeftModel
    from safetensors import safe_open

    from interop_check import build_base, lora_shapes

    with safe_open(f"{folder}/adapter_model.safetensors", framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    torch.manual_seed(0)
    base, vocab = build_base(arch, lora_shapes(tensors))
    model = PeftModel.from_pretrained(base, folder)
    lora = {k: v.detach() for k, v in model.named_parameters() if ".lora_" in k}
    torch.manual_seed(1)
    with torch.no_grad():
        logits = model(torch.randint(0, vocab, (1, 8))).logits
    return logits, lora


def peft(case):
    import torch

    java_logits, java_lora = forward(case["arch"], case["java"])
    python_logits, python_lora = forward(case["arch"], case["python"])
    return {
        "name": case["name"],
        "lora_weights": len(python_lora),
        "same_lora_weights": sorted(java_lora) == sorted(python_lora)
        and all(torch.equal(java_lora[k], python_lora[k]) for k in java_lora),
        "logits_equal": bool(torch.equal(java_logits, python_logits)),
        "logits_finite": bool(torch.isfinite(python_logits).all()),
    }


def main():
    spec = json.loads(sys.argv[1])
    report = {}
    try:
        report["decompressed"] = decompress(spec["decompress"])
        report["inspected"] = inspect(spec["inspect"])
        report["peft"] = [peft(c) for c in spec["peft"]]
        report["ok"] = all(p["same_lora_weights"] and p["logits_equal"] and p["logits_finite"] for p in report["peft"])
    except Exception:  # reported to the Java test, which prints it
        report["ok"] = False
        report["error"] = traceback.format_exc()
    print(json.dumps(report))
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
