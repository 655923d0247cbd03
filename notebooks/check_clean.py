#!/usr/bin/env python3
"""Fails (exit 1) if a notebook carries outputs or execution counts: committed notebooks must be
cleared (no stale results, small diffs). Usage: check_clean.py [NOTEBOOK ...] (default: every
*.ipynb in this folder). Clear one with:
    jupyter nbconvert --clear-output --inplace notebooks/NAME.ipynb
"""
import json
import sys
from pathlib import Path


def problems(path):
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            yield f"cell {i}: has {len(cell['outputs'])} output(s)"
        if cell.get("execution_count") is not None:
            yield f"cell {i}: execution_count {cell['execution_count']}"
        if "execution" in cell.get("metadata", {}):
            yield f"cell {i}: execution timing metadata"
    if "widgets" in nb.get("metadata", {}):
        yield "notebook metadata: widget state"


def main(argv):
    paths = argv or sorted(str(p) for p in Path(__file__).resolve().parent.glob("*.ipynb"))
    if not paths:
        print("check_clean: no notebooks found", file=sys.stderr)
        return 1
    dirty = 0
    for path in paths:
        found = list(problems(path))
        if found:
            dirty += 1
            print(f"{path}: not cleared", file=sys.stderr)
            for p in found:
                print(f"  {p}", file=sys.stderr)
    if dirty:
        print(f"{dirty} notebook(s) with outputs; clear with "
              "jupyter nbconvert --clear-output --inplace NOTEBOOK", file=sys.stderr)
        return 1
    print(f"{len(paths)} notebook(s) clean")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
