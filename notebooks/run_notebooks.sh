#!/usr/bin/env bash
# Executes every notebooks/*.ipynb headless against a stats table and fails (non-zero) if any
# notebook raises. The committed notebooks are never rewritten: executed copies go to a temp dir
# (or $NOTEBOOK_OUT), figures as PNGs to its figures/ folder.
#
#   notebooks/run_notebooks.sh STATS_DIR
#
# STATS_DIR: a local folder or s3:// URL (exported as LORAQUANT_STATS).
# Optional environment: PYTHON (default: repo .venv/bin/python), JUPYTER (default: the jupyter
# next to PYTHON), NOTEBOOK_OUT (where executed notebooks go; default: a new temp dir).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
if [ $# -ne 1 ]; then
  echo "usage: $0 STATS_DIR" >&2
  exit 2
fi
stats=$1
case "$stats" in
  s3://*|s3a://*|s3n://*) ;;
  *)
    if [ ! -d "$stats" ]; then
      echo "run_notebooks: no stats folder at $stats" >&2
      exit 2
    fi
    stats=$(cd "$stats" && pwd) ;;
esac
python=${PYTHON:-$root/.venv/bin/python}
jupyter=${JUPYTER:-$(dirname "$python")/jupyter}
out=${NOTEBOOK_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/loraquant-notebooks.XXXXXX")}
if [ ! -x "$python" ] || [ ! -x "$jupyter" ]; then
  echo "run_notebooks: no $python / $jupyter: run bin/python-env, or set PYTHON / JUPYTER" >&2
  exit 2
fi
mkdir -p "$out"

export LORAQUANT_STATS="$stats"
export LORAQUANT_FIGURES="$out/figures"
export MPLBACKEND=Agg   # headless: no GUI backend; stats_helpers.show() embeds PNGs itself
export PYTHONDONTWRITEBYTECODE=1

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
  if "$jupyter" nbconvert --to notebook --execute "$nb" \
      --ExecutePreprocessor.timeout=300 --ExecutePreprocessor.kernel_name=python3 \
      --output-dir "$out" --output "$name" >"$out/${name%.ipynb}.log" 2>&1; then
    echo "ok    $name ($((SECONDS - start))s)"
  else
    echo "FAIL  $name ($((SECONDS - start))s); log: $out/${name%.ipynb}.log" >&2
    tail -n 40 "$out/${name%.ipynb}.log" >&2
    failed=1
  fi
done
echo "executed notebooks and figures in $out (stats: $stats)"
exit $failed
