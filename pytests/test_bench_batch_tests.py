"""Data tests on the incremental event tables check the loaded batch, and can still fail.

A tiny dataset is built in full, then one received day is loaded incrementally. Bad rows
are then written straight into the tables: a duplicate and a null inside the batch fail
the batch-scoped tests; a duplicate in a day loaded earlier passes them (it is outside the
batch) and fails once var full_data_tests asks for the whole tables.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pytest
from repo_process import run_in_repo

from saas_lifecycle import settings
from saas_lifecycle.bench import raw_view, received_partitions

DATASET = {"users": 80, "days": 14, "seed": 5}
MODELS = "+int_identity_events_daily stg_product__identity_map quarantine_product__tracks"
# The schedule is off, so the run date (a Sunday runs the full checks) cannot change the
# outcome; a tiny dataset has more than 1 % bad rows.
SCOPED = {"full_data_tests_every_n_days": 0, "quarantine_max_share": 1}
GRAIN_TEST = (
    "unique_combination_of_columns_int_identity_events_daily"
    "_user_id__anonymous_id__occurred_date__event_name"
)
NOT_NULL_EVENT_NAME = "not_null_stg_product__tracks_event_name"


def dbt(work: Path, raw: Path, *args: str, variables: dict | None = None) -> dict[str, str]:
    """One dbt command in a fresh process; returns each node's status by name."""
    command = [str(Path(sys.executable).with_name("dbt")), *args, "--vars",
               json.dumps({**SCOPED, **(variables or {})}),
               "--target-path", str(work / "target"), "--log-path", str(work / "logs")]  # fmt: skip
    done = run_in_repo(
        command,
        {
            settings.ENV_RAW_DIR: str(raw),
            settings.ENV_TARGET: settings.DEFAULT_TARGET,
            settings.ENV_STATE_DATABASE: str(work / "lifecycle.duckdb"),
            settings.ENV_DUCKDB_TEMP_DIR: str(work / "spill"),
        },
    )
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    statuses = {r["unique_id"].split(".")[2]: r["status"] for r in results}
    assert statuses, done.stdout[-3000:]
    return statuses


def failing(statuses: dict[str, str]) -> set[str]:
    return {name for name, status in statuses.items() if status in {"fail", "error"}}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A warehouse after a full build and one incremental day, every test passing."""
    work = tmp_path_factory.mktemp("batch_tests")
    raw_all, raw = work / "raw_all", work / "raw"
    generated = run_in_repo(
        [sys.executable, "-m", "saas_lifecycle.cli", "generate", "--out", str(raw_all),
         *(f"--{key}={value}" for key, value in DATASET.items())]
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr[-3000:]
    partitions = received_partitions(raw_all)
    raw_view(raw_all, raw, partitions[:-1])
    assert not failing(dbt(work, raw, "run", "--select", MODELS, "--full-refresh"))
    raw_view(raw_all, raw, partitions[-1:])
    assert not failing(dbt(work, raw, "run", "--select", MODELS))
    statuses = dbt(work, raw, "test", "--select", MODELS, "--exclude", "test_type:unit")
    assert not failing(statuses)
    assert GRAIN_TEST in statuses and NOT_NULL_EVENT_NAME in statuses
    return work, raw


def write(work: Path, sql: str) -> None:
    with duckdb.connect(str(work / "lifecycle.duckdb")) as con:
        con.execute(sql)


def first_batch_date(work: Path) -> str:
    """The earliest occurred date of the rows the incremental run loaded."""
    with duckdb.connect(str(work / "lifecycle.duckdb"), read_only=True) as con:
        return str(
            con.execute(
                "select min(occurred_date) from staging.stg_product__tracks"
                " where loaded_at = (select max(loaded_at) from staging.stg_product__tracks)"
            ).fetchone()[0]
        )


def test_duplicates_and_nulls_in_the_batch_fail_and_old_ones_wait_for_the_full_checks(
    loaded: tuple[Path, Path],
) -> None:
    work, raw = loaded
    batch_from = first_batch_date(work)
    daily = "intermediate.int_identity_events_daily"
    # A copy of a row loaded by an earlier run: outside the batch.
    write(
        work,
        f"insert into {daily} select * from {daily}"
        f" where occurred_date < date '{batch_from}' limit 1",
    )
    scoped = dbt(work, raw, "test", "--select", MODELS, "--exclude", "test_type:unit")
    assert GRAIN_TEST not in failing(scoped)
    full = dbt(work, raw, "test", "--select", MODELS, "--exclude", "test_type:unit",
               variables={"full_data_tests": True})  # fmt: skip
    assert failing(full) == {GRAIN_TEST}

    # A copy of a row of the batch, and a batch row without an event name.
    write(
        work,
        f"insert into {daily} select * from {daily}"
        f" where occurred_date >= date '{batch_from}' limit 1",
    )
    write(
        work,
        "insert into staging.stg_product__tracks select * replace ("
        " 'injected-' || event_id as event_id, null as event_name)"
        " from staging.stg_product__tracks"
        " where loaded_at = (select max(loaded_at) from staging.stg_product__tracks) limit 1",
    )
    scoped = dbt(work, raw, "test", "--select", MODELS, "--exclude", "test_type:unit")
    assert failing(scoped) == {GRAIN_TEST, NOT_NULL_EVENT_NAME}
