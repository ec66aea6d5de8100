"""Whole builds of the marts on a small generated dataset.

One module-scoped build serves several checks: every dbt unit test (run here with the
default vars, see runner.UNIT_TEST_EXCLUSION), the point-in-time guarantee (building with
--as-of D equals building on the raw data cut off at the end of D) and the demo's story.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from saas_lifecycle import settings
from saas_lifecycle.contract import RAW_TABLES
from saas_lifecycle.publish import Warehouse

SMALL = {"users": 500, "days": 120, "seed": 11, "start": date(2025, 1, 6)}
AS_OF = date(2025, 3, 20)
# A small dataset carries at least one bad row of every kind, above the default 1%
# quarantine threshold; these tests are about the marts, not that gate.
SMALL_VARS = ("--vars", "{quarantine_max_share: 0.1}")
TIMEOUT_SECONDS = 900

# The column each raw table is cut off by: event time for facts, updated_at for CDC tables
# (METRICS.md, precise reading 3).
CUT_OFF_COLUMN = {
    "tracks": "occurred_at",
    "users": "updated_at",
    "accounts": "updated_at",
    "billing_events": "occurred_at",
    "survey_responses": "submitted_at",
    "support_tickets": "updated_at",
    "email_events": "occurred_at",
}


@dataclass(frozen=True)
class Build:
    raw: Path
    database: Path
    work: Path
    injected: dict[str, dict[str, int]]


def _env(work: Path, raw: Path, database: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        settings.ENV_RAW_DIR: str(raw),
        settings.ENV_TARGET: settings.DEFAULT_TARGET,
        # dbt run here (unit tests, compile) uses the build state, never the served file.
        settings.ENV_STATE_DATABASE: str(Warehouse(database).state),
        settings.ENV_DUCKDB_TEMP_DIR: str(work / "tmp"),
    }


def lifecycle_run(raw: Path, database: Path, work: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "saas_lifecycle.cli", "run", "--raw-dir", str(raw)]
        + ["--database", str(database), *SMALL_VARS, *args],
        cwd=settings.REPO_ROOT,
        env=_env(work, raw, database),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return done.stdout


def mart_rows(database: Path, table: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return sorted(con.sql(f"select * from marts.{table}").fetchall(), key=repr)


def mart_names(database: Path) -> list[str]:
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.sql(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    return sorted(name for (name,) in rows)


@pytest.fixture(scope="module")
def small_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    from saas_lifecycle.generate import generate

    work = tmp_path_factory.mktemp("small")
    raw = work / "raw"
    stats = generate(raw, **SMALL)
    database = work / "full.duckdb"
    lifecycle_run(raw, database, work)
    return Build(raw, database, work, stats.injected)


@pytest.mark.e2e
def test_every_dbt_unit_test_passes(small_build: Build) -> None:
    """The unit tests pin each metric with hand-computed rows; they run with default vars."""
    dbt = Path(sys.executable).with_name("dbt")
    done = subprocess.run(
        [str(dbt), "test", "--select", "test_type:unit", "--profiles-dir", "."],
        cwd=settings.REPO_ROOT,
        env=_env(small_build.work, small_build.raw, small_build.database),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:]
    assert "ERROR=0" in done.stdout and "PASS=" in done.stdout


def _cut_raw(raw: Path, out: Path, end: datetime) -> None:
    """Copy the raw dir keeping only rows that exist at `end` (exclusive)."""
    for name in RAW_TABLES:
        table = ds.dataset(raw / name, format="parquet", partitioning=None).to_table()
        column = table[CUT_OFF_COLUMN[name]]
        keep = pc.fill_null(pc.less(column, pa.scalar(end, type=column.type)), False)
        (out / name).mkdir(parents=True)
        pq.write_table(table.filter(keep), out / name / "part-0.parquet")


@pytest.mark.e2e
def test_as_of_equals_raw_data_cut_off_at_that_date(small_build: Build) -> None:
    work = small_build.work
    as_of_build = work / "as_of.duckdb"
    lifecycle_run(small_build.raw, as_of_build, work, "--as-of", AS_OF.isoformat())

    cut = work / "raw_cut"
    end = datetime.combine(AS_OF + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    _cut_raw(small_build.raw, cut, end)
    cut_build = work / "cut.duckdb"
    # No --as-of: the default (latest active date) of the cut data must be AS_OF itself.
    lifecycle_run(cut, cut_build, work)

    marts = mart_names(as_of_build)
    assert len(marts) == 26  # 20, and the accounts marts of issue 16
    assert mart_names(cut_build) == marts
    different = [m for m in marts if mart_rows(as_of_build, m) != mart_rows(cut_build, m)]
    assert different == []
    with duckdb.connect(str(as_of_build), read_only=True) as con:
        latest = con.execute("select max(date) from marts.active_users_daily").fetchone()
    assert latest == (AS_OF,)


@pytest.mark.e2e
def test_demo_story_value_event_tops_the_aha_list(small_build: Build) -> None:
    with duckdb.connect(str(small_build.database), read_only=True) as con:
        top = con.execute(
            "select event_name from marts.aha_moment_candidates"
            " where lift is not null order by lift desc limit 1"
        ).fetchone()
    assert top == ("invoice_sent",)


@pytest.mark.e2e
def test_demo_story_onboarding_drop_off_is_visible_step_by_step(small_build: Build) -> None:
    with duckdb.connect(str(small_build.database), read_only=True) as con:
        completed = con.sql(
            "select step_order, sum(users_completed) from marts.onboarding_funnel"
            " where segment_type = 'all' group by step_order order by step_order"
        ).fetchall()
    counts = [n for _, n in completed]
    assert len(counts) == 6
    assert counts[0] > counts[-1]
    assert all(later <= earlier for earlier, later in zip(counts, counts[1:], strict=False))


@pytest.mark.e2e
def test_demo_story_better_channels_retain_better(small_build: Build) -> None:
    """Referral and organic sign-ups keep coming back more than paid social ones."""
    with duckdb.connect(str(small_build.database), read_only=True) as con:
        rates = dict(
            con.sql(
                "select segment_value,"
                " sum(retained_users) / sum(cohort_size)"
                " from marts.retention_cohorts"
                " where cohort_granularity = 'week' and segment_type = 'channel'"
                " and period_number = 4 and is_complete"
                " group by segment_value"
            ).fetchall()
        )
    good = max(rates.get("referral", 0), rates.get("organic_search", 0))
    poor = min(rates.get("social", 1), rates.get("paid_search", 1))
    assert good > poor, rates


# Staging model and key of each raw table whose rows are events (fresh ids for bad rows).
EVENT_TABLES = {
    "tracks": ("stg_product__tracks", "quarantine_product__tracks", "event_id"),
    "billing_events": (
        "stg_billing__billing_events",
        "quarantine_billing__billing_events",
        "billing_event_id",
    ),
    "email_events": ("stg_email__email_events", "quarantine_email__email_events", "email_event_id"),
}


@pytest.mark.e2e
def test_every_injected_bad_row_is_quarantined_with_its_rule(small_build: Build) -> None:
    with duckdb.connect(str(small_build.database), read_only=True) as con:
        found = {
            (table, rule): n
            for table, rule, n in con.execute(
                "select raw_table, quarantine_rule, rows_quarantined_by_rule"
                " from monitoring.quarantine_summary where quarantine_rule <> 'none'"
            ).fetchall()
        }
    expected = {
        (table, rule): n
        for table, rules in small_build.injected.items()
        for rule, n in rules.items()
        if n
    }
    assert found == expected
    assert {table for table, _ in expected} == set(RAW_TABLES)


@pytest.mark.e2e
def test_no_row_is_lost_and_no_bad_row_reaches_staging(small_build: Build) -> None:
    with duckdb.connect(str(Warehouse(small_build.database).state), read_only=True) as con:
        rows_read = dict(
            con.execute(
                "select distinct raw_table, rows_read from monitoring.quarantine_summary"
            ).fetchall()
        )
        for name in RAW_TABLES:
            raw_rows = ds.dataset(small_build.raw / name, format="parquet").count_rows()
            assert rows_read[name] == raw_rows, name
        for staging, quarantine, key in EVENT_TABLES.values():
            leaked = con.execute(
                f"select count(*) from staging.{staging} as s"
                f" inner join quarantine.{quarantine} as q on s.{key} = q.{key}"
            ).fetchone()
            assert leaked == (0,), staging


@pytest.mark.e2e
def test_redelivered_events_collapse_to_the_earliest_received_copy(small_build: Build) -> None:
    raw_tracks = str(small_build.raw / "tracks" / "**" / "*.parquet")
    with duckdb.connect(str(Warehouse(small_build.database).state), read_only=True) as con:
        duplicated, mismatched, staged, distinct_good = con.execute(
            f"""
            with raw as (
                select event_id, received_at::timestamp as received_at
                from read_parquet('{raw_tracks}', hive_partitioning = false)
            ),
            good_raw as (
                select raw.* from raw
                anti join quarantine.quarantine_product__tracks as q using (event_id)
                where raw.event_id is not null
            ),
            earliest as (
                select event_id, count(*) as copies, min(received_at) as received_at
                from good_raw group by event_id
            )
            select
                count(*) filter (where earliest.copies > 1),
                count(*) filter (where earliest.received_at <> s.received_at),
                (select count(*) from staging.stg_product__tracks),
                count(*)
            from earliest
            left join staging.stg_product__tracks as s using (event_id)
            """
        ).fetchone()
    assert duplicated > 0
    assert mismatched == 0
    assert staged == distinct_good


@pytest.mark.e2e
def test_analyses_compile_and_run_against_the_marts(small_build: Build) -> None:
    dbt = Path(sys.executable).with_name("dbt")
    env = _env(small_build.work, small_build.raw, small_build.database)
    done = subprocess.run(
        [str(dbt), "compile", "--select", "resource_type:analysis", "--profiles-dir", "."],
        cwd=settings.REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    compiled = sorted(
        (small_build.work / "target" / "compiled" / "saas_lifecycle" / "analyses").glob("*.sql")
    )
    assert len(compiled) >= 3
    # Analyses read intermediate models too: they run against the build state.
    with duckdb.connect(str(Warehouse(small_build.database).state), read_only=True) as con:
        for path in compiled:
            assert con.execute(path.read_text()).fetchall(), path.name
