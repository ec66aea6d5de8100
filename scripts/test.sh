#!/usr/bin/env bash
# Every test: Python lint (ruff), SQL lint (sqlfluff, dbt templater), and the pytest suite,
# which includes whole `lifecycle run` builds (every dbt data test and unit test) on
# generated data. Arguments are passed to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
mapfile -t UV < .venv/.uv-command
run() { "${UV[@]}" run --frozen "$@"; }

echo "== ruff"
run ruff check .
run ruff format --check .
echo "== sqlfluff"
# The dbt templater compiles the project; keep its artefacts away from the working target/.
DBT_TARGET_PATH="$(mktemp -d)" LIFECYCLE_DUCKDB_PATH="$(mktemp -d)/lint.duckdb" \
    run sqlfluff lint models tests analyses
echo "== pytest"
run pytest "$@"
