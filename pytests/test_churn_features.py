"""The churn model's training features read nothing after their month end (issue 16).

A tiny dataset is built twice up to int_churn_examples: once as generated, once with every
raw table altered after the end of February 2025 (half the events dropped, billing and
e-mail after it dropped, later user versions moved to another account, later ticket
versions reopened). The features of the month ends up to February must be identical, and
the later ones must differ (so the alteration was felt).
"""

from __future__ import annotations

import shutil
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from repo_process import run_in_repo

from saas_lifecycle import settings
from saas_lifecycle.generate import generate

CUT_MONTH = date(2025, 2, 1)  # its month end is 2025-03-01 00:00 UTC (reporting zone UTC)
CUT_AT = "timestamptz '2025-03-01 00:00:00+00'"
SELECT = ["--select", "+int_churn_examples", "--exclude-resource-type", "test", "unit_test"]


def _scan(raw: Path, table: str) -> str:
    files = str(raw / table / "**" / "*.parquet").replace("'", "''")
    return f"read_parquet('{files}', hive_partitioning = true)"


def _alter_after_cut(source: Path, target: Path) -> None:
    """Copy the raw dir, changing only rows whose event or version time is after the cut."""
    shutil.copytree(source, target)
    after = {
        # Half the events after the cut disappear (by a hash of the id, deterministic).
        "tracks": f"select * from {{}} where occurred_at < {CUT_AT} or hash(event_id) % 2 = 0",
        "billing_events": f"select * from {{}} where occurred_at < {CUT_AT}",
        "email_events": f"select * from {{}} where occurred_at < {CUT_AT}",
        # A later version of a user moves it to another account.
        "users": (
            f"select * replace (case when updated_at >= {CUT_AT} then 'acc_moved' "
            "else account_id end as account_id) from {}"
        ),
        "support_tickets": (
            f"select * replace (case when updated_at >= {CUT_AT} then 'open' "
            "else status end as status) from {}"
        ),
    }
    with duckdb.connect() as con:
        for table, sql in after.items():
            rows = con.sql(sql.format(_scan(source, table))).to_arrow_table()
            shutil.rmtree(target / table)
            (target / table).mkdir()
            if table == "tracks":
                con.register("altered", rows)
                path = str(target / table).replace("'", "''")
                con.execute(
                    f"copy altered to '{path}' (format parquet, partition_by (received_date))"
                )
                con.unregister("altered")
            else:
                pq.write_table(rows, target / table / "part-0.parquet")


def _build(raw: Path, work: Path) -> pd.DataFrame:
    database = work / "warehouse.duckdb"
    env = {
        settings.ENV_RAW_DIR: str(raw),
        settings.ENV_STATE_DATABASE: str(database),
        settings.ENV_TARGET: "duckdb",
        settings.ENV_DUCKDB_TEMP_DIR: str(work / "tmp"),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    done = run_in_repo([str(Path(sys.executable).parent / "dbt"), "build", *SELECT], env)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    with duckdb.connect(str(database), read_only=True) as con:
        return (
            con.sql("select * from intermediate.int_account_month_end_features")
            .to_arrow_table()
            .to_pandas()
            .sort_values(["account_id", "month"])
            .reset_index(drop=True)
        )


@pytest.fixture(scope="module")
def both_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    root = tmp_path_factory.mktemp("churn_features")
    generate(root / "raw", users=150, days=80, seed=7, dirty_rate=0.0)
    _alter_after_cut(root / "raw", root / "raw_altered")
    return _build(root / "raw", root / "as_generated"), _build(
        root / "raw_altered", root / "altered"
    )


def test_month_end_features_ignore_everything_after_the_month_end(
    both_builds: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    generated, altered = both_builds
    cut = pd.Timestamp(CUT_MONTH)
    before = generated[pd.to_datetime(generated["month"]) <= cut].reset_index(drop=True)
    before_altered = altered[pd.to_datetime(altered["month"]) <= cut].reset_index(drop=True)
    assert len(before) > 20
    assert before["users"].sum() > 0 and before["active_users_last_30"].sum() > 0
    pd.testing.assert_frame_equal(before, before_altered, check_exact=False, rtol=1e-12)


def test_the_alteration_after_the_month_end_is_felt(
    both_builds: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    generated, altered = both_builds
    cut = pd.Timestamp(CUT_MONTH)
    later = generated[pd.to_datetime(generated["month"]) > cut]
    later_altered = altered[pd.to_datetime(altered["month"]) > cut]
    columns = ["account_id", "month", "users", "active_users_last_30", "ending_mrr"]
    assert (
        not later[columns]
        .reset_index(drop=True)
        .equals(later_altered[columns].reset_index(drop=True))
    )
