"""`lifecycle run` end to end on a tiny generated dataset, plus its failure reporting.

dbt runs in a subprocess (one dbt invocation per process keeps dbt's global state out of
the test process), with its target/ and logs/ in the test's tmp dir so that a developer's
own dbt runs in the repository are not disturbed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pyarrow.parquet as pq
import pytest
from repo_process import run_in_repo

from saas_lifecycle import cli
from saas_lifecycle.generate import generate
from saas_lifecycle.publish import Warehouse
from saas_lifecycle.runner import failure_reason, print_summary

TINY = {"users": 40, "days": 30, "seed": 7}
# A tiny dataset still carries at least one bad row of every kind, far above the default 1%
# quarantine threshold of a real one; these tests are about the command, not that gate.
TINY_VARS = ["--vars", "{quarantine_max_share: 1}"]


def run_cli(args: list[str], work: Path) -> subprocess.CompletedProcess[str]:
    """`lifecycle <args>` in a fresh interpreter from the repository root."""
    env = {"DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs")}
    return run_in_repo([sys.executable, "-m", "saas_lifecycle.cli", *args], env)


@pytest.fixture(scope="module")
def tiny_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny complete raw dataset, generated once for the module."""
    out = tmp_path_factory.mktemp("tiny") / "raw"
    generate(out, **TINY)
    return out


@pytest.mark.e2e
def test_run_builds_marts(tiny_raw: Path, tmp_path: Path) -> None:
    database = tmp_path / "x.duckdb"
    done = run_cli(
        ["run", "--raw-dir", str(tiny_raw), "--database", str(database), *TINY_VARS], tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"marts: {database}, schema marts" in done.stdout
    assert "raw schema ok" in done.stdout
    assert "dbt build (marts) finished after" in done.stdout
    assert f"published: {database}" in done.stdout
    assert "lifecycle run failed" not in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.e2e
def test_missing_column_stops_before_dbt(
    tiny_raw: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(tiny_raw, raw)
    users = sorted((raw / "users").glob("**/*.parquet"))
    pq.write_table(pq.read_table(users[0]).drop_columns(["account_id"]), users[0])
    database = tmp_path / "x.duckdb"

    assert cli.main(["run", "--raw-dir", str(raw), "--database", str(database)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("lifecycle run failed: raw table 'users' is missing column")
    assert "'account_id'" in lines[0] and users[0].name in lines[0]
    assert "dbt" not in captured.out
    assert not database.exists()


@pytest.mark.e2e
def test_absent_optional_table_is_a_notice(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    generate(raw, tables=["tracks", "users", "accounts"], **TINY)
    database = tmp_path / "x.duckdb"
    done = run_cli(
        ["run", "--raw-dir", str(raw), "--database", str(database), *TINY_VARS], tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for table in ("billing_events", "survey_responses", "support_tickets", "email_events"):
        notice = f"optional raw table '{table}' is absent: marts that need it are built empty"
        assert notice in done.stdout


def fake_result(*nodes: tuple[str, str, str, str]) -> SimpleNamespace:
    """A dbtRunnerResult look-alike with (status, resource_type, name, schema) nodes."""
    results = [
        SimpleNamespace(
            status=status,
            node=SimpleNamespace(resource_type=kind, name=name, schema=schema, alias=name),
        )
        for status, kind, name, schema in nodes
    ]
    return SimpleNamespace(success=False, exception=None, result=SimpleNamespace(results=results))


def test_failure_reason_names_step_and_nodes() -> None:
    result = fake_result(
        ("success", "model", "stg_app__users", "staging"),
        ("fail", "test", "not_null_stg_product__tracks_event_id", "dbt_test__audit"),
        ("error", "model", "dim_users", "marts"),
        ("skipped", "model", "fct_retention", "marts"),
    )
    assert failure_reason("dbt build", result) == (
        "dbt build: 2 failures: test not_null_stg_product__tracks_event_id, model marts.dim_users"
    )


def test_failure_reason_caps_the_list() -> None:
    result = fake_result(*[("error", "model", f"m{i}", "marts") for i in range(8)])
    assert failure_reason("dbt build", result).endswith("model marts.m4 and 3 more")


def test_failure_reason_of_an_exception_is_one_line() -> None:
    result = SimpleNamespace(exception=RuntimeError("Parsing Error\n  bad yaml"), result=None)
    assert failure_reason("dbt seed", result) == "dbt seed: Parsing Error bad yaml"


def test_summary_lists_marts_quarantine_and_unknown_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "w.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema marts; create schema monitoring")
        con.execute("create table marts.dim_users as select range as user_id from range(3)")
    # Quarantine lives in the build state beside the served file, not in the served file.
    with duckdb.connect(str(Warehouse(database).state)) as con:
        con.execute("create schema quarantine")
        con.execute("create table quarantine.quarantine_product__tracks (event_id varchar)")
    with duckdb.connect(str(database)) as con:
        con.execute(
            "create table monitoring.unknown_event_names as"
            " select 'report_exported' as event_name, 12 as events"
        )
    print_summary(database)
    out = capsys.readouterr().out
    assert f"marts: {database}, schema marts" in out
    assert re.search(r"dim_users\s+3 rows", out)
    assert re.search(r"quarantine_product__tracks\s+0 rows", out)
    assert "WARNING: 1 event name(s)" in out
    assert re.search(r"report_exported\s+\(12 events\)", out)


def test_summary_without_marts_says_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "w.duckdb"
    duckdb.connect(str(database)).close()
    print_summary(database)
    out = capsys.readouterr().out
    assert out.count("(none)") == 2
    assert "WARNING" not in out
