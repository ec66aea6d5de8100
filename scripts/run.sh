#!/usr/bin/env bash
# The main job on the embedded DuckDB: generates the demo dataset when no raw data is given,
# checks the raw schema, seeds, builds and tests every model, publishes the marts.
# Arguments are passed to `lifecycle run` (e.g. --raw-dir, --as-of, --vars).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
mapfile -t UV < .venv/.uv-command
exec "${UV[@]}" run --frozen lifecycle run "$@"
