"""Checks loraquant's output with the Hugging Face libraries (run by PythonInteropTest).

usage: interop_check.py SPEC_JSON

SPEC_JSON is a list of {"name", "arch": "gpt2" | "llama", "compressed": DIR, "decompressed": DIR},
where "compressed" may be absent (no check of the compressed file) and an optional "same_output_as":
DIR names another decompressed adapter of the same base whose forward pass must give the same
logits (e.g. the same compressed adapter decompressed with and without --trim-rank).
For each case it opens the compressed model file with safetensors (numpy), opens the decompressed
adapter, builds a base model of the adapter's shapes with random weights (nothing is downloaded),
loads the adapter with PeftModel.from_pretrained, compares every LoRA weight with the file and
runs one small forward pass. Prints one JSON object on stdout; exits 1 if any check failed.
"""

import json
import re
import sys
import traceback
import warnings


def check_compressed(directory):
    import numpy as np
    from safetensors import safe_open

    with safe_open(f"{directory}/loraquant_model.safetensors", framework="np") as f:
        meta = f.metadata()
        modules = json.loads(meta["loraquant.modules"])
        problems = []
        checked = 0
        for module in sorted(modules)[:3]:
            expected = {
                f"{module}.lq.meta": (np.int32, 1),
                f"{module}.lq.t0.info": (np.int32, 1),
                f"{module}.lq.t0.b.codes": (np.uint8, 1),
                f"{module}.lq.t0.b.scales": (np.float16, 2),
                f"{module}.lq.t0.a.codes": (np.uint8, 1),
                f"{module}.lq.t0.a.scales": (np.float16, 2),
            }
            for name, (dtype, ndim) in expected.items():
                t = f.get_tensor(name)
                checked += 1
                if t.dtype != dtype or t.ndim != ndim:
                    problems.append(f"{name}: {t.dtype} {t.shape}")
            m, n, r, k, h, tiers = (int(v) for v in f.get_tensor(f"{module}.lq.meta"))
            if (m, r) != tuple(modules[module]["shape_B"][:2]) or not 0 < k <= r:
                problems.append(f"{module}.lq.meta {[m, n, r, k, h, tiers]} vs {modules[module]}")
        return {
            "format": meta.get("format"),
            "format_version": meta.get("format_version"),
            "modules": len(modules),
            "tensors": len(list(f.keys())),
            "checked_tensors": checked,
            "problems": problems,
        }


def lora_shapes(tensors):
    """module path -> (out, in, rank) from the decompressed lora_A / lora_B tensors."""
    shapes = {}
    for key, t in tensors.items():
        match = re.match(r"^(.*)\.lora_([AB])\.weight$", key)
        if match:
            entry = shapes.setdefault(match.group(1), {})
            entry[match.group(2)] = tuple(t.shape)
    return {m: (s["B"][0], s["A"][1], s["A"][0]) for m, s in shapes.items()}


def layer_count(modules, pattern):
    return 1 + max(int(re.search(pattern, m).group(1)) for m in modules)


def build_base(arch, shapes):
    import transformers

    if arch == "gpt2":
        attn = next(s for m, s in shapes.items() if m.endswith("attn.c_attn"))
        mlp_proj = [s for m, s in shapes.items() if m.endswith("mlp.c_proj")]
        hidden = attn[1]
        config = transformers.GPT2Config(
            n_embd=hidden,
            n_layer=layer_count(shapes, r"\.h\.(\d+)\."),
            n_head=12,
            n_inner=mlp_proj[0][1] if mlp_proj else 4 * hidden,
            vocab_size=64,
            n_positions=32,
            bos_token_id=0,
            eos_token_id=0,
        )
        return transformers.GPT2LMHeadModel(config), config.vocab_size
    if arch == "llama":
        q = next(s for m, s in shapes.items() if m.endswith("q_proj"))
        v = next(s for m, s in shapes.items() if m.endswith("v_proj"))
        hidden, heads = q[1], 32
        config = transformers.LlamaConfig(
            hidden_size=hidden,
            num_attention_heads=heads,
            num_key_value_heads=v[0] // (hidden // heads),
            num_hidden_layers=layer_count(shapes, r"\.layers\.(\d+)\."),
            intermediate_size=32,
            vocab_size=64,
            max_position_embeddings=32,
            tie_word_embeddings=True,
        )
        return transformers.LlamaForCausalLM(config), config.vocab_size
    raise ValueError(f"unknown arch {arch}")


def check_peft(case):
    import torch
    from peft import PeftModel
    from safetensors import safe_open

    with safe_open(f"{case['decompressed']}/adapter_model.safetensors", framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    torch.manual_seed(0)
    base, vocab = build_base(case["arch"], lora_shapes(tensors))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = PeftModel.from_pretrained(base, case["decompressed"])
    params = dict(model.named_parameters())
    # PEFT inserts the adapter name: X.lora_A.weight in the file is X.lora_A.default.weight.
    loaded = {k: v for k, v in params.items() if ".lora_" in k}
    expected = {re.sub(r"\.(lora_[AB])\.weight$", r".\1.default.weight", k): k for k in tensors if ".lora_" in k}
    missing = sorted(set(expected) - set(loaded))
    unexpected = sorted(set(loaded) - set(expected))
    mismatched = sorted(
        k for k in set(expected) & set(loaded)
        if not torch.equal(loaded[k].detach().to(torch.float32), tensors[expected[k]].to(torch.float32))
    )
    key_warnings = [str(w.message) for w in caught if "keys" in str(w.message).lower()]
    with torch.no_grad():
        logits = model(torch.randint(0, vocab, (1, 8))).logits
    extra = {}
    if case.get("same_output_as"):
        tokens = (torch.arange(8) % vocab).unsqueeze(0)
        extra["max_logit_difference"] = max_logit_difference(case, tokens, lora_shapes(tensors))
    return {
        **extra,
        "decompressed_tensors": len(tensors),
        "lora_weights_checked": len(set(expected) & set(loaded)),
        "missing": missing,
        "unexpected": unexpected,
        "mismatched": mismatched,
        "key_warnings": key_warnings,
        "logits_shape": list(logits.shape),
        "logits_finite": bool(torch.isfinite(logits).all()),
    }


def max_logit_difference(case, tokens, shapes):
    """Largest |logit| difference between this adapter and case["same_output_as"] on one base."""
    import torch
    from peft import PeftModel

    logits = []
    for directory in (case["decompressed"], case["same_output_as"]):
        torch.manual_seed(0)
        base, _ = build_base(case["arch"], shapes)
        model = PeftModel.from_pretrained(base, directory).eval()
        with torch.no_grad():
            logits.append(model(tokens).logits)
    return float((logits[0] - logits[1]).abs().max())


def run_case(case):
    result = {"name": case["name"]}
    try:
        compressed_ok = True
        if case.get("compressed"):
            result["compressed"] = check_compressed(case["compressed"])
            compressed_ok = (
                result["compressed"]["format"] == "loraquant"
                and result["compressed"]["format_version"] == "1"
                and not result["compressed"]["problems"]
            )
        result.update(check_peft(case))
        result["ok"] = (
            compressed_ok
            and result.get("max_logit_difference", 0) <= 1e-4
            and not result["missing"]
            and not result["unexpected"]
            and not result["mismatched"]
            and not result["key_warnings"]
            and result["logits_finite"]
        )
    except Exception:  # reported to the Java test, which prints it
        result["ok"] = False
        result["error"] = traceback.format_exc()
    return result


def main():
    cases = json.loads(sys.argv[1])
    results = [run_case(c) for c in cases]
    ok = all(r["ok"] for r in results)
    print(json.dumps({"ok": ok, "cases": results}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
