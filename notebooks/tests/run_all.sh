#!/usr/bin/env bash
# All notebook checks, for Maven / CI / by hand:
#   1. check_clean.py: the committed notebooks carry no outputs;
#   2. tests/test_notebooks.py: the docs/STATS.md contract test of the fake stats fixture and
#      stats_helpers, the DuckDB views, and (unless LORAQUANT_SKIP_NOTEBOOK_RUN=1) executing
#      every notebook on fake stats (~30-60 s);
#   3. tests/test_report.py: the plots' axis rules on a fleet with a tiny-adapter outlier, the
#      nightly report page, and that page in headless Chromium (bin/chromium-env installs
#      Debian's chromium as root on Debian/Ubuntu, and the browser test must then pass;
#      elsewhere it is skipped with the reason) (~1-2 min).
# Exits non-zero if anything failed (or nothing ran); the last line is exactly `N passed, M failed`
# (skipped tests are in neither count).
#
#   notebooks/tests/run_all.sh
#   LORAQUANT_SKIP_NOTEBOOK_RUN=1 notebooks/tests/run_all.sh     # quick: ~2 s
#
# PYTHON overrides the interpreter (default: $REPO/.venv/bin/python, else $LORAQUANT_PYTHON).
set -uo pipefail
script=${BASH_SOURCE[0]}
if readlink -f "$script" >/dev/null 2>&1; then script=$(readlink -f "$script"); fi
tests=$(cd "$(dirname "$script")" && pwd)
notebooks=$(cd "$tests/.." && pwd)
root=$(cd "$notebooks/.." && pwd)

passed=0
failed=0
finish() {
  echo "$passed passed, $failed failed"
  if [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
  exit 0
}

if [ -n "${PYTHON:-}" ]; then
  python=$PYTHON
elif [ -x "$root/.venv/bin/python" ]; then
  python=$root/.venv/bin/python
elif [ -n "${LORAQUANT_PYTHON:-}" ]; then
  python=$LORAQUANT_PYTHON
else
  echo "run_all: no $root/.venv/bin/python: run bin/python-env, or set PYTHON" >&2
  failed=1
  finish
fi
if ! "$python" -c 'import sys' >/dev/null 2>&1; then
  echo "run_all: cannot run $python" >&2
  failed=1
  finish
fi
export PYTHONDONTWRITEBYTECODE=1

echo "== check_clean.py"
if "$python" "$notebooks/check_clean.py"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
fi

if "$root/bin/chromium-env" >/dev/null; then
  export LORAQUANT_REQUIRE_CHROMIUM=1
fi

echo "== test_notebooks.py, test_report.py${LORAQUANT_SKIP_NOTEBOOK_RUN:+ (LORAQUANT_SKIP_NOTEBOOK_RUN set: notebooks not executed)}"
counts=$(mktemp "${TMPDIR:-/tmp}/loraquant-run-all.XXXXXX")
trap 'rm -f "$counts"' EXIT
"$python" - "$tests" "$counts" <<'EOF'
import sys
import unittest

tests, counts = sys.argv[1], sys.argv[2]
sys.path.insert(0, tests)
suite = unittest.defaultTestLoader.loadTestsFromNames(["test_notebooks", "test_report"])
result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
good = result.testsRun - len(result.failures) - len(result.errors) - len(result.skipped) \
    - len(result.unexpectedSuccesses)
with open(counts, "w") as f:
    f.write(f"{good} {bad}\n")
EOF
rc=$?
if read -r good bad <"$counts" 2>/dev/null && [ -n "${good:-}" ]; then
  passed=$((passed + good))
  failed=$((failed + bad))
  if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then failed=$((failed + 1)); fi
else
  echo "run_all: test_notebooks.py did not run (exit $rc)" >&2
  failed=$((failed + 1))
fi
finish
