#!/usr/bin/env bash
# Installs what the project needs on a machine that has Python 3.11 and pip: uv (if
# missing), then the locked environment in .venv. Safe to run any number of times.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v uv >/dev/null 2>&1; then
    UV=(uv)
else
    if ! python3 -m uv --version >/dev/null 2>&1; then
        echo "bootstrap: installing uv with pip" >&2
        python3 -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
    fi
    UV=(python3 -m uv)
fi

# --frozen: install exactly what uv.lock pins, never re-resolve.
"${UV[@]}" sync --frozen --all-extras --quiet
printf '%s\n' "${UV[@]}" > .venv/.uv-command

# A DuckDB 1.x client in its own environment (exact pin): pytests/test_serving.py reads the
# served Parquet marts with it, as a BI tool on DuckDB 1.x would.
if [ ! -x .venv-duckdb1/bin/python ]; then
    "${UV[@]}" venv --quiet --python .venv/bin/python .venv-duckdb1
fi
"${UV[@]}" pip install --quiet --python .venv-duckdb1/bin/python "duckdb==1.5.6"
