"""Incremental builds equal a full refresh (`lifecycle bench` is tested in test_bench.py).

One generated dataset (late events and re-delivered duplicates included) is built twice:
once in a single full refresh, and once a received day at a time (a first build, then one
incremental dbt build of the models per day). Every mart and every incremental table must
come out the same, row for row.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from repo_process import run_in_repo

from saas_lifecycle import settings
from saas_lifecycle.bench import raw_view, received_partitions

# 62 days: two month ends, so the churn model has examples with a known outcome to fit.
DATASET = {"users": 120, "days": 62, "seed": 11}
# Received days loaded one run at a time after the first build (the rest come at once).
DAILY_BATCHES = 2
INCREMENTAL_TABLES = (
    "staging.stg_product__tracks",
    "quarantine.quarantine_product__tracks",
    "intermediate.int_identity_events_daily",
)


def dbt_environment(raw: Path, database: Path, work: Path) -> dict[str, str]:
    return {
        settings.ENV_RAW_DIR: str(raw),
        settings.ENV_TARGET: settings.DEFAULT_TARGET,
        settings.ENV_STATE_DATABASE: str(database),
        settings.ENV_DUCKDB_TEMP_DIR: str(work / "spill"),
    }


def dbt_build_args(work: Path) -> list[str]:
    """dbt builds the seeds and every model (no tests); one target dir for every run of a
    build, so dbt's partial parsing keeps the runs short."""
    args = ["build", "--resource-type", "seed", "--resource-type", "model"]
    return args + ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]


def dbt_run(raw: Path, database: Path, work: Path, *extra: str) -> None:
    """One dbt build in a fresh process, on `raw`."""
    command = [str(Path(sys.executable).with_name("dbt")), *dbt_build_args(work), "--quiet"]
    done = run_in_repo([*command, *extra], dbt_environment(raw, database, work))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


def relations(database: Path, schemas: tuple[str, ...]) -> list[str]:
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
            " where table_schema in (select unnest(?)) and table_type = 'BASE TABLE'"
            " order by 1",
            [list(schemas)],
        ).fetchall()
    return [name for (name,) in rows]


def table_frame(database: Path, relation: str) -> pd.DataFrame:
    """A table sorted by every column, so row order does not matter; loaded_at (when the
    run that loaded a row started) differs between builds by its nature and is left out."""
    with duckdb.connect(str(database), read_only=True) as con:
        frame = (
            con.execute(f"select * from {relation}").df().drop(columns="loaded_at", errors="ignore")
        )
    columns = list(frame.columns)
    return frame.sort_values(columns, na_position="last", kind="mergesort").reset_index(drop=True)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from saas_lifecycle.generate import generate

    raw = tmp_path_factory.mktemp("incremental") / "raw_all"
    generate(raw, **DATASET)
    return raw


def test_daily_batches_carry_late_and_duplicate_events(dataset: Path) -> None:
    """The batches really test something: events that arrive days late and copies of an
    event delivered on a later day than the first copy."""
    batches = received_partitions(dataset)[-DAILY_BATCHES:]
    first_batch_date = batches[0].name.split("=")[1]
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        tracks = f"read_parquet('{dataset}/tracks/**/*.parquet', hive_partitioning = false)"
        late = con.execute(
            f"select count(*) from {tracks} where cast(received_at as date) >= ?"
            " and received_at - occurred_at >= interval 2 day",
            [first_batch_date],
        ).fetchone()[0]
        redelivered_across_days = con.execute(
            f"select count(*) from (select event_id from {tracks} where event_id is not null"
            " group by event_id having count(distinct cast(received_at as date)) > 1"
            " and max(cast(received_at as date)) >= ?)",
            [first_batch_date],
        ).fetchone()[0]
    assert late > 0
    assert redelivered_across_days > 0


@pytest.mark.e2e
def test_daily_incremental_runs_equal_a_full_refresh(dataset: Path, tmp_path: Path) -> None:
    partitions = received_partitions(dataset)
    assert len(partitions) > DAILY_BATCHES + 1

    # Both builds read the same paths (the quarantine keeps each bad row's file name).
    raw_dir = tmp_path / "raw"
    full_db = tmp_path / "full.duckdb"
    dbt_run(raw_view(dataset, raw_dir, partitions), full_db, tmp_path / "full", "--full-refresh")

    # A first build, then one incremental build per received day (pytests/daily_builds.py).
    daily_db, work = tmp_path / "daily.duckdb", tmp_path / "daily"
    spec = {"raw_all": str(dataset), "raw": str(raw_dir), "batches": DAILY_BATCHES}
    spec["dbt_args"] = dbt_build_args(work)
    builds = run_in_repo(
        [sys.executable, str(Path(__file__).with_name("daily_builds.py")), json.dumps(spec)],
        dbt_environment(raw_dir, daily_db, work),
    )
    assert builds.returncode == 0, builds.stdout[-4000:] + builds.stderr[-4000:]
    assert len(re.findall(r"^build \d+: ", builds.stdout, re.MULTILINE)) == 1 + DAILY_BATCHES

    marts = relations(full_db, ("marts",))
    assert len(marts) >= 20
    assert relations(daily_db, ("marts",)) == marts
    for relation in [*INCREMENTAL_TABLES, *marts]:
        full, daily = table_frame(full_db, relation), table_frame(daily_db, relation)
        assert len(full) > 0, relation
        pd.testing.assert_frame_equal(daily, full, check_exact=False, rtol=1e-9, obj=relation)
