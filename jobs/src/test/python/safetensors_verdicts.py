"""The reference safetensors library's verdict on each file named on the command line.

Prints one JSON object: {"version": ..., "verdicts": {path: null | "ErrorType: message"}}, null
when the library opens the file and reads every tensor. Used by SafetensorsReferenceVerdictTest.
"""
import json
import sys

import safetensors
from safetensors import safe_open


def verdict(path):
    try:
        with safe_open(path, framework="np") as f:
            for name in f.keys():
                f.get_tensor(name)
        return None
    except Exception as e:  # the verdict is the point: any refusal counts
        return f"{type(e).__name__}: {e}"


print(json.dumps({"version": safetensors.__version__,
                  "verdicts": {p: verdict(p) for p in sys.argv[1:]}}))
