"""Property: the default generator's data passes every default quality gate, at any size.

The gates must stop the line only on evidence. Whatever size and seed the generator is run
with (from 50 users and 14 days up), its data (default dirty rate: a few bad rows of every
kind, re-delivered copies, late arrivals, slow first days) must pass the raw suite with no
blocking failure; a few sizes go through the whole guarded run (raw, staging and marts
suites). Bounded: ~1-3 s per raw example, about a minute per full run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from repo_process import run_in_repo

from saas_lifecycle import settings as project_settings
from saas_lifecycle.contract import RAW_TABLES
from saas_lifecycle.generate import generate
from saas_lifecycle.quality.validate import format_report, validate_raw

RUN_TIMEOUT_SECONDS = 900


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,  # the same examples on every CI run; the @example rows are the issue's
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    users=st.integers(min_value=50, max_value=500),
    days=st.integers(min_value=14, max_value=90),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
)
@example(users=400, days=60, seed=11)  # issue 13: quarantined_share false stops
@example(users=300, days=60, seed=7)
@example(users=300, days=60, seed=5)  # slow first days: "2025-01-03 has 12 events"
@example(users=200, days=40, seed=5)
@example(users=50, days=14, seed=0)  # the smallest size
def test_generated_raw_data_passes_the_raw_gates(
    tmp_path_factory: pytest.TempPathFactory, users: int, days: int, seed: int
) -> None:
    raw = tmp_path_factory.mktemp("raw") / f"u{users}d{days}s{seed}"
    generate(raw, users=users, days=days, seed=seed)
    validation, _ = validate_raw(raw, list(RAW_TABLES), {}, {})
    assert validation.blocking_failures == [], format_report([validation])


@pytest.mark.e2e
@pytest.mark.parametrize(("users", "days", "seed"), [(50, 14, 3), (400, 60, 11)])
def test_generated_data_passes_every_gate_of_the_guarded_run(
    tmp_path: Path, users: int, days: int, seed: int
) -> None:
    """The whole guarded run (raw, staging and marts suites, dbt tests) publishes."""
    raw = tmp_path / "raw"
    generate(raw, users=users, days=days, seed=seed)
    env = {
        **os.environ,
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        project_settings.ENV_DUCKDB_TEMP_DIR: str(tmp_path / "duckdb_tmp"),
    }
    args = [sys.executable, "-m", "saas_lifecycle.cli", "run", "--raw-dir", str(raw)]
    args += ["--database", str(tmp_path / "wh" / "lifecycle.duckdb"), "--no-report"]
    done = run_in_repo(args, env, RUN_TIMEOUT_SECONDS)
    assert done.returncode == 0, f"{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    assert "0 blocking failure(s)" in done.stdout
