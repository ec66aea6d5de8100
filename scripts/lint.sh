#!/usr/bin/env bash
# Lint exactly as scripts/test.sh (and CI) does: ruff (lint and format check) on the Python,
# sqlfluff (dbt templater, DuckDB dialect, .sqlfluff) on models, tests and analyses, and (jinja
# templater, .sqlfluff-macros) on macros and generic tests, with zero violations allowed.
#
# The result does not depend on the database: the templater compiles against a private,
# empty DuckDB file here, and the is_incremental() branches that a built database switches on
# lint clean as well (pytests/test_dbt_loop.py lints the incremental models after a build).
# Macros and generic tests are not dbt nodes, so the dbt templater skips them: they are
# linted a second time with the jinja templater (.sqlfluff-macros), which renders their
# bodies with dbt's builtins.
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
if [[ $# -eq 0 ]]; then
    run sqlfluff lint --templater jinja --config .sqlfluff-macros macros tests/generic
fi
