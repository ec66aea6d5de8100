#!/usr/bin/env bash
# Lint exactly as scripts/test.sh (and CI) does: ruff (lint and format check) on the Python,
# sqlfluff (dbt templater, DuckDB dialect, .sqlfluff) on models, tests and analyses, with zero
# violations allowed. Arguments replace the sqlfluff paths (scripts/lint.sh models/marts).
#
# The result does not depend on the database: the templater compiles against a private,
# empty DuckDB file here, and the is_incremental() branches that a built database switches on
# lint clean as well (pytests/test_dbt_loop.py lints the incremental models after a build).
# macros/ is not listed because sqlfluff's dbt templater skips macro files (they are not
# nodes, and alone they render to nothing); what they emit is linted inside no model either,
# since sqlfluff ignores templated code.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f .venv/.uv-command ]] || scripts/bootstrap.sh
mapfile -t UV < .venv/.uv-command
run() { "${UV[@]}" run --frozen "$@"; }

paths=("$@")
[[ ${#paths[@]} -gt 0 ]] || paths=(models tests analyses)

echo "== ruff"
run ruff check .
run ruff format --check .
echo "== sqlfluff"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# The templater runs dbt: its artefacts and database stay out of target/ and warehouse/.
DBT_TARGET_PATH="$scratch/target" LIFECYCLE_DEV_DUCKDB_PATH="$scratch/lint.duckdb" \
    LIFECYCLE_DUCKDB_TEMP_DIR="$scratch/tmp" run sqlfluff lint "${paths[@]}"
