#!/usr/bin/env bash
# Executes every notebooks/*.ipynb headless against a stats table and fails (non-zero) if any
# notebook raises or anything else goes wrong. The committed notebooks are never rewritten:
# executed copies go to a temp dir (or $NOTEBOOK_OUT), figures as PNGs to its figures/ folder.
#
#   notebooks/run_notebooks.sh STATS_DIR
#
# STATS_DIR: a local folder (relative to the current directory) or s3:// URL (exported as
# LORAQUANT_STATS). Works from any working directory (Maven, CI): the repository root is the
# parent of this script's folder, so the default interpreter is $REPO/.venv/bin/python.
# Optional environment:
#   PYTHON        interpreter (path or command on PATH; default: $REPO/.venv/bin/python, else
#                 $LORAQUANT_PYTHON as bin/test exports it)
#   JUPYTER       jupyter command (default: the jupyter next to PYTHON, else `PYTHON -m jupyter`)
#   NOTEBOOK_OUT  where executed notebooks go (default: a new temp dir)
#   NOTEBOOK_TIMEOUT  seconds per cell (default 300)
# Exit codes: 0 all notebooks ran, 1 a notebook failed, 2 usage or environment problem.
set -euo pipefail
script=${BASH_SOURCE[0]}
if command -v readlink >/dev/null 2>&1 && readlink -f "$script" >/dev/null 2>&1; then
  script=$(readlink -f "$script")   # called through a symlink: still find the repository
fi
here=$(cd "$(dirname "$script")" && pwd)
root=$(cd "$here/.." && pwd)
die() { echo "run_notebooks: $*" >&2; exit 2; }
if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 STATS_DIR" >&2
  exit 2
fi
stats=$1
case "$stats" in
  s3://*|s3a://*|s3n://*) ;;
  *)
    stats=${stats#file://}
    [ -d "$stats" ] || die "no stats folder at $stats"
    stats=$(cd "$stats" && pwd) ;;
esac

# interpreter: PYTHON, else the repository's .venv, else LORAQUANT_PYTHON
if [ -n "${PYTHON:-}" ]; then
  python=$PYTHON
elif [ -x "$root/.venv/bin/python" ]; then
  python=$root/.venv/bin/python
elif [ -n "${LORAQUANT_PYTHON:-}" ]; then
  python=$LORAQUANT_PYTHON
else
  die "no $root/.venv/bin/python: run bin/python-env, or set PYTHON"
fi
if [[ "$python" != */* ]]; then
  resolved=$(command -v "$python" || true)
  [ -n "$resolved" ] || die "PYTHON=$python is not on PATH"
  python=$resolved
fi
[ -x "$python" ] || die "PYTHON=$python is not an executable"
# fail early, with a clear message, if the interpreter lacks what the notebooks need
if ! missing=$("$python" - <<'EOF' 2>&1
import importlib.util, sys
need = ["duckdb", "pyarrow", "pandas", "numpy", "matplotlib", "nbconvert", "nbclient", "ipykernel"]
gone = [m for m in need if importlib.util.find_spec(m) is None]
if gone:
    print(" ".join(gone))
    sys.exit(1)
EOF
); then
  die "$python lacks: $missing (run bin/python-env, or set PYTHON)"
fi

# jupyter: JUPYTER, else next to the interpreter, else `python -m jupyter`
if [ -n "${JUPYTER:-}" ]; then
  jupyter=("$JUPYTER")
elif [ -x "$(dirname "$python")/jupyter" ]; then
  jupyter=("$(dirname "$python")/jupyter")
else
  jupyter=("$python" -m jupyter)
fi

out=${NOTEBOOK_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/loraquant-notebooks.XXXXXX")}
mkdir -p "$out"
out=$(cd "$out" && pwd)

export LORAQUANT_STATS="$stats"
export LORAQUANT_FIGURES="$out/figures"
export MPLBACKEND=Agg   # headless: no GUI backend; stats_helpers.show() embeds PNGs itself
export PYTHONDONTWRITEBYTECODE=1
# the kernel must be this interpreter's (not a user-level python3 kernelspec pointing elsewhere)
prefix=$("$python" -c 'import sys; print(sys.prefix)')
export JUPYTER_PATH="$prefix/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"

failed=0
shopt -s nullglob
notebooks=("$here"/*.ipynb)
if [ ${#notebooks[@]} -eq 0 ]; then
  echo "run_notebooks: no notebooks in $here" >&2
  exit 1
fi
for nb in "${notebooks[@]}"; do
  name=$(basename "$nb")
  start=$SECONDS
  # the kernel runs in the notebook's folder (nbconvert's default), so `import stats_helpers` works
  if "${jupyter[@]}" nbconvert --to notebook --execute "$nb" \
      --ExecutePreprocessor.timeout="${NOTEBOOK_TIMEOUT:-300}" \
      --ExecutePreprocessor.kernel_name=python3 \
      --output-dir "$out" --output "$name" >"$out/${name%.ipynb}.log" 2>&1 \
      && [ -s "$out/$name" ]; then
    echo "ok    $name ($((SECONDS - start))s)"
  else
    echo "FAIL  $name ($((SECONDS - start))s); log: $out/${name%.ipynb}.log" >&2
    tail -n 40 "$out/${name%.ipynb}.log" >&2
    failed=1
  fi
done
echo "executed notebooks and figures in $out (stats: $stats)"
exit $failed
