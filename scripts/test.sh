#!/usr/bin/env bash
# Every test: lint (scripts/lint.sh: ruff, sqlfluff with the dbt templater), and the pytest suite,
# which includes whole `lifecycle run` builds (every dbt data test and unit test) on
# generated data, on DuckDB and on a local Spark (the cross-engine equivalence test,
# marker `spark`). Arguments are passed to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
mapfile -t UV < .venv/.uv-command
run() { "${UV[@]}" run --frozen "$@"; }

scripts/lint.sh  # ruff and sqlfluff, as CI runs them
echo "== pytest"
scripts/install-apt-package.sh chromium "the report's render test" chromium fonts-liberation
scripts/install-apt-package.sh java "the Spark tests" openjdk-17-jre-headless  # local Spark
# Two pytest-xdist workers, one file each at a time (a file's module fixtures build its
# warehouse once): measured ~20 % faster than one process on two cores; three were slower
# than two. `-n 0` after the script's name runs in one process; the slowest tests are
# listed at the end. --no-loadscope-reorder keeps the files in pytests/conftest.py's order
# (longest first): xdist would otherwise start the files with the most tests first, and
# the long Spark file last.
run pytest -n "${LIFECYCLE_TEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder \
  --durations=25 "$@"
