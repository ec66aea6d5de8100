"""The Dagster code location: its definitions, and the nightly job run in-process.

The code location parses the dbt project into DBT_TARGET_PATH (set to the test's tmp dir
before the definitions are imported); every run has its own raw copy and warehouse in tmp.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from dagster import (
    AssetCheckSeverity,
    AssetKey,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    Failure,
)

from saas_lifecycle.contract import RAW_TABLES
from saas_lifecycle.publish import Warehouse

TINY = {"users": 200, "days": 45, "seed": 17}
# A tiny dataset carries at least one bad row of every kind, far above the default 1%
# quarantine threshold (see test_run_e2e.py); these tests are about the orchestration.
TINY_VARS = "{quarantine_max_share: 1}"
GX = "great_expectations"
SELECTOR_TAG = "dagster_dbt/selector"  # where dagster-dbt records an asset's dbt selector
JOB = "lifecycle_nightly"


@pytest.fixture(scope="module")
def location(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """The code location loaded as `dagster dev -m ...` loads it, and its dbt manifest."""
    target = tmp_path_factory.mktemp("dbt_target")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_TARGET_PATH", str(target))
        sys.modules.pop("saas_lifecycle.orchestration.definitions", None)
        module = importlib.import_module("saas_lifecycle.orchestration.definitions")
        manifest = json.loads((target / "dagster" / "manifest.json").read_text())
        yield SimpleNamespace(defs=module.defs, manifest=manifest)
    sys.modules.pop("saas_lifecycle.orchestration.definitions", None)


@pytest.fixture(scope="module")
def tiny_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from saas_lifecycle.generate import generate

    out = tmp_path_factory.mktemp("tiny") / "raw"
    generate(out, **TINY)
    return out


def strict_on(table: str, thresholds: str) -> str:
    """TINY_VARS's tolerance everywhere but one raw table, which gets `thresholds`."""
    return f"{{quarantine_max_share: 1, quality_table_thresholds: {{{table}: {{{thresholds}}}}}}}"


def run_nightly(
    defs: Definitions, raw: Path, database: Path, dbt_vars: str = TINY_VARS
) -> ExecuteInProcessResult:
    config = {"raw_dir": str(raw), "database": str(database), "dbt_vars": dbt_vars}
    return defs.resolve_job_def(JOB).execute_in_process(
        run_config={"resources": {"lifecycle": {"config": config}}},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def materialized(result: ExecuteInProcessResult) -> set[AssetKey]:
    return {event.asset_key for event in result.get_asset_materialization_events()}


def audit_statuses(database: Path) -> list[tuple[str, str]]:
    audit = database.with_name(database.stem + ".audit.duckdb")
    with duckdb.connect(str(audit), read_only=True) as con:
        return con.execute(
            "select run_id, status from audit.validation_runs order by started_at"
        ).fetchall()


def test_every_dbt_model_is_an_asset_with_its_checks(location: SimpleNamespace) -> None:
    defs, manifest = location.defs, location.manifest
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    models = [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "seed")]
    assert len(models) > 60
    for node in models:
        assert AssetKey([node["schema"], node["name"]]) in keys, node["unique_id"]
    raw = {AssetKey(["raw", table]) for table in RAW_TABLES}
    assert raw <= keys
    for key in raw:  # the raw tables feed the staging models and nothing else
        children = graph.get(key).child_keys
        assert children and all(child.path[0] == "staging" for child in children), key
    published = graph.get(AssetKey(["published_warehouse"]))
    assert AssetKey(["marts", "dim_users"]) in published.parent_keys

    checks = {(key.asset_key, key.name): key for key in graph.asset_check_keys}
    for asset in [*raw, AssetKey(["staging", "stg_product__tracks"])]:
        assert (asset, GX) in checks, asset
    for mart in ("active_users_daily", "mrr_movements_monthly", "retention_cohorts"):
        assert (AssetKey(["marts", mart]), GX) in checks, mart
    blocking = {key for key in graph.asset_check_keys if graph.get_check_spec(key).blocking}
    assert all(key in blocking for key in graph.asset_check_keys if key.name == GX)
    # dbt's own tests are asset checks too, e.g. the grain tests of dim_users.
    dim_users_tests = [k for k in graph.asset_check_keys if k.asset_key.path[-1] == "dim_users"]
    assert any(k.name.startswith("unique_") for k in dim_users_tests)

    schedule = defs.resolve_schedule_def(f"{JOB}_schedule")
    assert schedule.cron_schedule == "0 3 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.job_name == JOB
    layer = defs.resolve_assets_def(AssetKey(["marts", "dim_users"]))
    assert layer.op.retry_policy is not None and layer.op.retry_policy.max_retries >= 1
    # The marts layer is selectors.yml's marts_only, as in `lifecycle run` (the staging
    # layer's select string equals staging_only: test_dbt_docs.py).
    assert layer.op.tags.get(SELECTOR_TAG) == "marts_only"


@pytest.mark.e2e
def test_nightly_job_builds_checks_and_publishes(
    location: SimpleNamespace, tiny_raw: Path, tmp_path: Path
) -> None:
    database = tmp_path / "lifecycle.duckdb"
    result = run_nightly(location.defs, tiny_raw, database)
    assert result.success

    assert materialized(result) == set(location.defs.resolve_asset_graph().get_all_asset_keys())
    evaluations = result.get_asset_check_evaluations()
    gx = [e for e in evaluations if e.check_name == GX]
    assert len(gx) > len(RAW_TABLES) + 20
    assert all(e.passed or e.severity == AssetCheckSeverity.WARN for e in evaluations)
    assert len(evaluations) - len(gx) > 100  # dbt tests

    assert database.exists() and not Warehouse(database).publishing.exists()
    with duckdb.connect(str(database), read_only=True) as con:
        for mart in ("dim_users", "active_users_daily", "retention_cohorts", "nps_monthly"):
            (rows,) = con.execute(f"select count(*) from marts.{mart}").fetchone()
            assert rows > 0, mart
    # The rest of the build (MetricFlow's spine among it) stays in the state.
    with duckdb.connect(str(Warehouse(database).state), read_only=True) as con:
        (days,) = con.execute("select count(*) from semantic.metricflow_time_spine").fetchone()
        assert days >= TINY["days"]
    assert audit_statuses(database) == [(result.run_id, "success")]


@pytest.mark.e2e
def test_a_failure_on_support_tickets_holds_back_only_the_marts_that_read_them(
    location: SimpleNamespace, tiny_raw: Path, tmp_path: Path
) -> None:
    """The generator puts bad rows in every table; with no tolerance on support tickets the
    staging gate fails there. The marts that read tickets keep their served version (never
    published yet, so none) and their `served/` assets are not materialized; every other
    mart is published; the run fails, as `lifecycle run` exits 1."""
    database = tmp_path / "lifecycle.duckdb"
    no_tolerance = "quarantine_max_share: 0, quality_min_bad_rows: 1"
    result = run_nightly(
        location.defs, tiny_raw, database, strict_on("support_tickets", no_tolerance)
    )

    assert not result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    share = "support_tickets.quarantined_share"  # a check on the quarantine summary
    tickets = [e for e in failed if share in str(e.metadata.get("failed_expectations"))]
    assert [(e.check_name, e.severity) for e in tickets] == [(GX, AssetCheckSeverity.WARN)]
    assert all(e.severity == AssetCheckSeverity.WARN for e in failed)

    marts = {n["name"] for n in location.manifest["nodes"].values() if n["schema"] == "marts"}
    served = {key.path[-1] for key in materialized(result) if key.path[0] == "served"}
    held = marts - served
    assert {"customer_health", "account_health"} <= held
    assert {"active_users_daily", "retention_cohorts", "mrr_movements_monthly"} <= served
    assert AssetKey(["marts", "customer_health"]) in materialized(result)  # in the state
    with duckdb.connect(str(database), read_only=True) as con:
        status = dict(con.execute("select mart, status from monitoring.mart_status").fetchall())
        tables = {t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()}  # fmt: skip
    assert status == {**dict.fromkeys(served, "fresh"), **dict.fromkeys(held, "held_back")}
    assert tables == served
    assert audit_statuses(database) == [(result.run_id, "held_back")]


@pytest.mark.e2e
def test_failing_blocking_check_stops_downstream_assets(
    location: SimpleNamespace, tiny_raw: Path, tmp_path: Path
) -> None:
    """Every mart reads the events (their as-of date is the last active day): a failure on
    tracks reaches every mart, so nothing downstream runs and nothing is published."""
    raw = tmp_path / "raw"
    shutil.copytree(tiny_raw, raw)
    for path in (raw / "tracks").rglob("*.parquet"):  # the schema holds, the rows are gone
        pq.write_table(pq.read_table(path).slice(0, 0), path)
    database = tmp_path / "lifecycle.duckdb"

    result = run_nightly(location.defs, raw, database)

    assert not result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [(e.asset_key, e.check_name, e.severity) for e in failed] == [
        (AssetKey(["raw", "tracks"]), GX, AssetCheckSeverity.ERROR)
    ]
    assert "tracks.has_rows" in str(failed[0].metadata["failed_expectations"])
    # The raw tables were read; no dbt model ran, nothing was published.
    assert materialized(result) == {AssetKey(["raw", table]) for table in RAW_TABLES}
    assert not database.exists()
    assert audit_statuses(database) == [(result.run_id, "failed")]


@pytest.mark.e2e
def test_a_staging_failure_that_reaches_every_mart_stops_the_build_and_the_publish(
    location: SimpleNamespace, tiny_raw: Path, tmp_path: Path
) -> None:
    """A day of events whose clocks run three days ahead: quarantined at staging, a share
    of tracks over 1 % that every mart reads. The check fails with ERROR severity, no mart
    is built or served and nothing is published."""
    import pyarrow as pa
    import pyarrow.compute as pc

    raw = tmp_path / "raw"
    shutil.copytree(tiny_raw, raw)
    days = sorted((raw / "tracks").glob("received_date=*"))
    day = days[len(days) // 2]  # a full day, past the slow first ones
    for path in day.rglob("*.parquet"):
        table = pq.read_table(path)
        ahead = pc.add(table["received_at"], pa.scalar(3 * 86_400_000_000, pa.duration("us")))
        column = table.schema.get_field_index("occurred_at")
        table = table.set_column(column, "occurred_at", ahead.cast(table["occurred_at"].type))
        pq.write_table(table, path)
    database = tmp_path / "lifecycle.duckdb"
    result = run_nightly(
        location.defs, raw, database, strict_on("tracks", "quarantine_max_share: 0.01")
    )

    assert not result.success
    errors = [
        e
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == AssetCheckSeverity.ERROR
    ]
    assert [e.asset_key for e in errors] == [AssetKey(["monitoring", "quarantine_summary"])]
    assert "tracks.quarantined_share" in str(errors[0].metadata["failed_expectations"])
    assert not any(key.path[0] in ("marts", "served") for key in materialized(result))
    assert not database.exists()
    assert audit_statuses(database) == [(result.run_id, "failed")]


def test_great_expectations_imports_in_a_process_without_main_file() -> None:
    # Dagster's run workers are spawned by multiprocessing: their __main__ has no file, like
    # `python -c` and pytest-xdist's workers. Importing GX there made pyspark exit the
    # process with status 0; importing the package first prevents it.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import saas_lifecycle, great_expectations; print('imported')",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "imported", done.stderr


def fake_invocation(results: list[dict[str, Any]] | None, returncode: int = 1) -> SimpleNamespace:
    def get_artifact(name: str) -> dict[str, Any]:
        if results is None:
            raise FileNotFoundError(name)
        return {"results": results}

    return SimpleNamespace(
        dbt_command="build",
        get_artifact=get_artifact,
        get_error=lambda: RuntimeError("Parsing Error"),
        process=SimpleNamespace(returncode=returncode),
    )


def test_only_transient_dbt_failures_are_retried() -> None:
    from saas_lifecycle.orchestration.assets import TransientDbtError, dbt_failure

    lock = {
        "unique_id": "model.saas_lifecycle.dim_users",
        "status": "error",
        "message": 'IO Error: Could not set lock on file "x.duckdb": Conflicting lock',
    }
    test = {"unique_id": "test.saas_lifecycle.unique_dim_users", "status": "fail", "message": ""}
    assert isinstance(dbt_failure(fake_invocation([lock])), TransientDbtError)
    assert isinstance(dbt_failure(fake_invocation(None, returncode=-9)), TransientDbtError)
    data = dbt_failure(fake_invocation([test]))
    assert isinstance(data, Failure) and not data.allow_retries
    assert "unique_dim_users" in str(data)
    parse = dbt_failure(fake_invocation(None, returncode=2))
    assert isinstance(parse, Failure) and not parse.allow_retries
