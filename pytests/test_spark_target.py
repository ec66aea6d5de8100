"""The Spark target's pieces that need no Spark: profile lookup, the export handshake with
dbt, the Parquet publish, and the Spark spelling of the quality suites (their run is
proven on Spark by test_spark_equivalence.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from saas_lifecycle import settings, spark_target
from saas_lifecycle.publish import Exported, Warehouse, publish_parquet
from saas_lifecycle.quality.dialect import DUCKDB, Dialect
from saas_lifecycle.quality.suites import marts_suite, staging_suite

SLOT = Dialect("spark", "__green")


def test_targets_of_profiles_yml() -> None:
    assert spark_target.is_spark_target("spark")
    assert not spark_target.is_spark_target("duckdb")
    assert not spark_target.is_spark_target("no_such_target")  # dbt reports it
    assert spark_target.profile_output("spark")["method"] == "session"


def test_spark_warehouse_defaults_beside_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(settings.ENV_SPARK_WAREHOUSE, raising=False)
    database = tmp_path / "w" / "lifecycle.duckdb"
    assert spark_target.spark_warehouse(database) == tmp_path / "w" / "spark"
    monkeypatch.setenv(settings.ENV_SPARK_WAREHOUSE, str(tmp_path / "elsewhere"))
    assert spark_target.spark_warehouse(database) == tmp_path / "elsewhere"


def _event(name: str, message: str) -> SimpleNamespace:
    return SimpleNamespace(info=SimpleNamespace(name=name), data=SimpleNamespace(msg=message))


def test_export_log_reads_the_line_export_marts_logs() -> None:
    log = spark_target.ExportLog()
    log(_event("JinjaLogInfo", "some other macro output"))
    log(_event("MainReportVersion", spark_target.EXPORT_LOG_PREFIX + "{}"))
    assert log.exported is None
    logged = {"rows": {"dim_users": "12"}, "as_of_date": "2025-03-01", "reporting_timezone": "UTC"}
    log(_event("JinjaLogInfo", spark_target.EXPORT_LOG_PREFIX + json.dumps(logged)))
    assert log.exported == Exported({"dim_users": 12}, "2025-03-01", "UTC")


def test_publish_parquet_keeps_held_back_marts_from_the_current_set(tmp_path: Path) -> None:
    """The engine-neutral Parquet publish that Spark uses: fresh marts come from the export,
    held-back ones from the current set, and `current` switches to the new run folder."""
    warehouse = Warehouse(tmp_path / "lifecycle.duckdb")

    def exporter(rows: int) -> Callable[[Path, list[str]], Exported]:
        def export(folder: Path, marts: list[str]) -> Exported:
            for mart in marts:
                (folder / mart).mkdir()
                table = pa.table({"n": list(range(rows))})
                pq.write_table(table, folder / mart / "part-0.parquet")
            return Exported(dict.fromkeys(marts, rows), f"2025-03-0{rows}", "UTC")

        return export

    publish_parquet(warehouse, "run-1", ["a", "b"], exporter(2))
    result = publish_parquet(warehouse, "run-2", ["a", "b"], exporter(3), {"b": "raw.gap"})
    current = warehouse.parquet / "current"
    assert current.resolve() == warehouse.parquet / "runs" / "run-2"
    assert pq.read_table(current / "a").num_rows == 3
    assert pq.read_table(current / "b").num_rows == 2  # kept
    manifest = json.loads((current / "manifest.json").read_text())
    assert manifest["as_of_date"] == "2025-03-03"
    assert manifest["marts"]["a"]["status"] == "fresh"
    assert manifest["marts"]["b"] == {
        **manifest["marts"]["b"],
        "status": "held_back",
        "held_back_by": "raw.gap",
        "run_id": "run-1",
        "as_of_date": "2025-03-02",
        "rows": 2,
    }
    assert result.held_back == {"b": "raw.gap"}
    assert (warehouse.parquet / "runs" / "run-1" / "b").is_dir()  # the previous set stays


def test_spark_suites_read_the_build_slot() -> None:
    columns = ["user_id", "activation_rate"]
    specs = staging_suite({}, SLOT) + marts_suite({"marts__green.dim_users": columns}, SLOT)
    duckdb_specs = staging_suite({}) + marts_suite({"marts.dim_users": columns})
    assert [s.name for s in specs] == [s.name for s in duckdb_specs]
    for spec in specs:
        for relation in spec.requires:
            assert re.fullmatch(r"\w+__green\.\w+", relation), relation
        for sql in (spec.query, spec.sample_query or ""):
            # Spark reads "x" as a string literal, not a column.
            assert '"' not in sql, f"{spec.name}: {sql}"
            assert "generate_series" not in sql and "date_diff(" not in sql, spec.name
    assert any(s.name == "dim_users.rates_in_0_1" for s in specs)


def test_dialects_spell_the_differences() -> None:
    assert DUCKDB.relation("marts", "dim_users") == "marts.dim_users"
    assert SLOT.relation("marts", "dim_users") == "marts__green.dim_users"
    assert (DUCKDB.quote("date"), SLOT.quote("date")) == ('"date"', "`date`")
    assert DUCKDB.add_hours("t", 24.0) == "t + interval (24.0) hour"
    assert SLOT.add_hours("t", 1.5) == "(t + make_dt_interval(0, 0, 0, 5400.0))"
    assert SLOT.periods_between("month", "a", "b") == "datediff(month, a, b)"
    assert "lateral view explode(sequence(a, b, interval 1 day)) t as p" in (
        SLOT.with_period_series("select 1", "a", "b", "day")
    )
