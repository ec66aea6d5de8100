"""Cross-engine equivalence: one generated dataset, built with `lifecycle run` on DuckDB and
on a local Spark (dbt-spark's session method), gives the same rows in every mart.

The Spark run is the whole guarded job (every layer built in place, every dbt data test and
contract, the staging and marts Great Expectations suites through the Spark session, the
marts served as Parquet folders with a manifest),
and every dbt unit test then runs on Spark too, so each model, macro, seed and test of the
project is proven on both engines. The marts are compared row by row after sorting on every
column: numbers equal within 1e-9 relative, timestamps as UTC instants, column names and
types equal. The reporting time zone is New York and the data spans the 2025 DST change, so
local dates, weeks and months go through the engines' own time-zone rules.

Incremental runs are proven on Spark as on DuckDB (pytests/test_incremental.py): the same
data is built again on Spark a received day at a time (a first build, then one incremental
build per day, as `insert_overwrite` of date partitions), and every incremental table comes
out equal to the full refresh of the guarded Spark run and to DuckDB's.

Both full builds run at once (Spark mostly waits on its driver, DuckDB on the CPU), and so do
the unit tests and the daily builds after them. Spark's tables are read from their Parquet
files with DuckDB, so no extra JVM is started.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from saas_lifecycle import settings
from saas_lifecycle.bench import raw_view, received_partitions
from saas_lifecycle.generate import generate
from saas_lifecycle.publish import Warehouse

DATASET = {"users": 250, "days": 50, "seed": 23, "start": date(2025, 2, 10)}
VARS = "{quarantine_max_share: 0.1, reporting_timezone: America/New_York}"
RELATIVE_TOLERANCE = 1e-9
TIMEOUT_SECONDS = 1500
# Received days loaded one incremental Spark build at a time after the first build.
DAILY_BATCHES = 2
# The incremental models and their parents (base_product__tracks); the marts rebuild from
# them in full on every run, and the full builds prove the marts equal across engines.
INCREMENTAL_MODELS = (
    "staging.stg_product__tracks",
    "quarantine.quarantine_product__tracks",
    "intermediate.int_identity_events_daily",
    "staging.stg_product__identity_map",
)

pytestmark = pytest.mark.spark


@dataclass(frozen=True)
class Builds:
    duckdb: Path  # the served DuckDB file
    spark_warehouse: Path  # the local Spark warehouse (tables and metastore)
    spark_served: Path  # the Spark run's served Parquet marts (`current`)
    spark_stdout: str
    unit_tests: subprocess.CompletedProcess[str]
    daily: subprocess.CompletedProcess[str]  # the day-by-day incremental Spark builds
    daily_warehouse: Path

    def spark_table_files(self, name: str, schema: str = settings.MARTS_SCHEMA) -> Path:
        """The folder of a served mart's Parquet files, or of a table of the Spark build."""
        if schema == settings.MARTS_SCHEMA:
            return self.spark_served / name
        return self.spark_warehouse / f"{schema}.db" / name


def _environ(work: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        settings.ENV_DUCKDB_TEMP_DIR: str(work / "tmp"),
        **extra,
    }


def _start(args: list[str], work: Path, **extra: str) -> subprocess.Popen[str]:
    work.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        args,
        cwd=work,  # Spark and Derby must leave nothing in the repository
        env=_environ(work, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _lifecycle_run(raw: Path, work: Path, target: str, **extra: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "saas_lifecycle.cli", "run", "--raw-dir", str(raw)]
    command += ["--database", str(work / "lifecycle.duckdb"), "--vars", VARS, "--target", target]
    return _start(command, work, **extra)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    if shutil.which("java") is None:
        if os.environ.get("CI"):
            pytest.fail("java is missing: scripts/test.sh must install it in CI")
        pytest.skip("java is missing (scripts/test.sh installs it with apt-get as root)")
    root = tmp_path_factory.mktemp("equivalence")
    raw_all, raw = root / "raw_all", root / "raw"
    generate(raw_all, **DATASET)
    # Every build reads the same paths (the quarantine keeps each bad row's file name); the
    # daily builds later refill `raw` a day at a time.
    raw_view(raw_all, raw, received_partitions(raw_all))

    warehouse = root / "spark" / settings.SPARK_WAREHOUSE_DIRNAME
    spark_env = {settings.ENV_SPARK_WAREHOUSE: str(warehouse)}
    duck = _lifecycle_run(raw, root / "duckdb", "duckdb")
    spark = _lifecycle_run(raw, root / "spark", "spark", **spark_env)
    duck_done, spark_done = _finish(duck), _finish(spark)
    assert duck_done.returncode == 0, duck_done.stdout[-3000:] + duck_done.stderr[-3000:]
    assert spark_done.returncode == 0, spark_done.stdout[-3000:] + spark_done.stderr[-3000:]
    assert re.search(r"^published: \S+/current/", spark_done.stdout, re.MULTILINE), (
        spark_done.stdout[-3000:]
    )

    # Unit tests with their own fixtures and the default vars; dbt reads the input models'
    # column types from the relations the Spark run built.
    root_dir = str(settings.REPO_ROOT)
    project = ["--project-dir", root_dir, "--profiles-dir", root_dir, "--target", "spark"]
    unit_tests = _start(
        [str(Path(sys.executable).with_name("dbt")), "test", "--select", "test_type:unit"]
        + project,
        root / "spark-unit-tests",
        **spark_env,
    )
    daily_warehouse = root / "spark-daily" / settings.SPARK_WAREHOUSE_DIRNAME
    select = " ".join("+" + relation.split(".")[1] for relation in INCREMENTAL_MODELS)
    spec = {"raw_all": str(raw_all), "raw": str(raw), "batches": DAILY_BATCHES}
    spec["dbt_args"] = ["run", *project, "--vars", VARS, "--select", select]
    daily = _start(
        [sys.executable, str(Path(__file__).with_name("daily_builds.py")), json.dumps(spec)],
        root / "spark-daily",
        **{settings.ENV_RAW_DIR: str(raw), settings.ENV_SPARK_WAREHOUSE: str(daily_warehouse)},
    )
    return Builds(
        duckdb=root / "duckdb" / "lifecycle.duckdb",
        spark_warehouse=warehouse,
        spark_served=Warehouse(root / "spark" / "lifecycle.duckdb").parquet / "current",
        spark_stdout=spark_done.stdout,
        unit_tests=_finish(unit_tests),
        daily=_finish(daily),
        daily_warehouse=daily_warehouse,
    )


# ---------------------------------------------------------------------------- reading


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    # Through Arrow: DuckDB's own .df() trips a pandas deprecation.
    return con.sql(sql).to_arrow_table().to_pandas()


# The churn model's marts are dbt Python models' output, built on DuckDB only (README,
# "Running on a cluster"): Spark has no such tables to compare.
DUCKDB_ONLY_MARTS = frozenset(
    {"churn_risk_scores", "churn_model_evaluation", "churn_model_coefficients"}
)


def _duckdb_marts(builds: Builds) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(builds.duckdb), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        names = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "and table_catalog = current_database() order by 1",
                [settings.MARTS_SCHEMA],
            ).fetchall()
        ]
        return {
            n: _frame(con, f"select * from {settings.MARTS_SCHEMA}.{n}")
            for n in names
            if n not in DUCKDB_ONLY_MARTS
        }


def _parquet_scan(folder: Path) -> str:
    files = str(folder / "**" / "*.parquet").replace("'", "''")
    return f"read_parquet('{files}', hive_partitioning = true)"


def _spark_mart(builds: Builds, name: str, columns: list[str]) -> pd.DataFrame:
    """A mart of the published Spark slot, from its Parquet files, columns in `columns` order."""
    folder = builds.spark_table_files(name)
    assert folder.is_dir(), f"no Spark table files for {name} in {folder.parent}"
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        frame = _frame(con, f"select * from {_parquet_scan(folder)}")
    assert sorted(frame.columns) == sorted(columns), name
    return frame[columns]


def _as_utc(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as naive UTC (Spark's are instants, DuckDB's naive UTC)."""
    frame = frame.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.tz_convert("UTC").dt.tz_localize(None)
    return frame


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in a canonical order: by every column (covers the grain), floats rounded so that
    values equal within the tolerance sort alike."""
    keys = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind == "f":
            values = values.map(lambda v: "" if pd.isna(v) else f"{v:.9g}")
        keys[column] = values.map(lambda v: "" if _missing(v) else str(v))
    return frame.loc[keys.sort_values(list(keys.columns)).index].reset_index(drop=True)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _same(left: Any, right: Any) -> bool:
    if _missing(left) or _missing(right):
        return _missing(left) and _missing(right)
    if isinstance(left, float) or isinstance(right, float):
        return math.isclose(float(left), float(right), rel_tol=RELATIVE_TOLERANCE, abs_tol=0.0)
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        return Decimal(str(left)) == Decimal(str(right))
    return left == right


def _differences(name: str, duck: pd.DataFrame, spark: pd.DataFrame) -> list[str]:
    if len(duck) != len(spark):
        return [f"{name}: {len(duck)} rows on DuckDB, {len(spark)} on Spark"]
    found: list[str] = []
    duck, spark = _sorted(_as_utc(duck)), _sorted(_as_utc(spark))
    for column in duck.columns:
        for row, (left, right) in enumerate(zip(duck[column], spark[column], strict=True)):
            if not _same(left, right):
                found.append(f"{name}.{column} row {row}: DuckDB {left!r}, Spark {right!r}")
    return found


# ---------------------------------------------------------------------------- tests


def test_spark_run_validates_and_serves_parquet_marts(builds: Builds) -> None:
    out = builds.spark_stdout
    assert "dbt build (marts) finished after" in out
    for layer in ("raw", "staging", "marts"):
        assert re.search(rf"^{layer} validation: \d+ expectations, 0 blocking", out, re.MULTILINE)
    assert f"published: {builds.spark_served}/" in out
    assert f"marts: {builds.spark_served} (Parquet, target spark)" in out
    # Built in place: no build slots, and the served set has its manifest.
    assert not list(builds.spark_warehouse.glob("*__*.db"))
    manifest = json.loads((builds.spark_served / "manifest.json").read_text())
    assert {m["status"] for m in manifest["marts"].values()} == {"fresh"}


def test_every_dbt_unit_test_passes_on_spark(builds: Builds) -> None:
    done = builds.unit_tests
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    summary = re.search(r"Done\. PASS=(\d+) WARN=0 ERROR=0 SKIP=0", done.stdout)
    assert summary and int(summary.group(1)) > 0, done.stdout[-2000:]


def test_every_mart_has_the_same_rows_on_duckdb_and_spark(builds: Builds) -> None:
    duck_marts = _duckdb_marts(builds)
    assert len(duck_marts) >= 20
    assert sum(len(frame) for frame in duck_marts.values()) > 1000
    spark_folder = builds.spark_table_files(next(iter(duck_marts))).parent
    assert sorted(p.name for p in spark_folder.iterdir() if p.is_dir()) == sorted(duck_marts)
    differences: list[str] = []
    for name, duck in duck_marts.items():
        differences += _differences(name, duck, _spark_mart(builds, name, list(duck.columns)))
    assert not differences, f"{len(differences)} differences:\n" + "\n".join(differences[:30])


def _rows_only_in(con: duckdb.DuckDBPyConnection, left: str, right: str) -> list[tuple]:
    return con.execute(f"select * from ({left} except all {right}) limit 5").fetchall()


def test_daily_incremental_builds_on_spark_equal_the_full_refresh(builds: Builds) -> None:
    """Each incremental table built a received day at a time on Spark has the rows of the
    guarded Spark run's full refresh and of DuckDB's (loaded_at, the start of the run that
    loaded a row, aside). The marts rebuild from these tables in full on every run."""
    done = builds.daily
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert len(re.findall(r"^build \d+: ", done.stdout, re.MULTILINE)) == 1 + DAILY_BATCHES
    differences: list[str] = []
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"attach '{Warehouse(builds.duckdb).state}' as duck (read_only)")
        for relation in INCREMENTAL_MODELS:
            schema, name = relation.split(".")
            columns = con.execute(
                "select column_name, data_type from information_schema.columns where"
                " table_catalog = 'duck' and table_schema = ? and table_name = ?"
                " and column_name <> 'loaded_at' order by ordinal_position",
                [schema, name],
            ).fetchall()
            assert columns, f"{relation} is not in the DuckDB build"
            # Spark's timestamps are instants, DuckDB's naive UTC: read both as DuckDB types.
            typed = ", ".join(f"cast({column} as {data_type})" for column, data_type in columns)
            daily_files = builds.daily_warehouse / f"{schema}.db" / name
            queries = {
                "DuckDB full refresh": f"select {typed} from duck.{relation}",
                "Spark full refresh": f"select {typed} from "
                + _parquet_scan(builds.spark_table_files(name, schema)),
                "Spark day by day": f"select {typed} from {_parquet_scan(daily_files)}",
            }
            rows = {how: con.execute(f"select count(*) from ({sql})").fetchone()[0]
                    for how, sql in queries.items()}  # fmt: skip
            assert rows["DuckDB full refresh"] > 0, relation
            if len(set(rows.values())) > 1:
                differences.append(f"{relation}: rows {rows}")
                continue
            daily = queries["Spark day by day"]
            for how in ("Spark full refresh", "DuckDB full refresh"):
                for only, left, right in (("day by day", daily, queries[how]),
                                          (how, queries[how], daily)):  # fmt: skip
                    if found := _rows_only_in(con, left, right):
                        differences.append(f"{relation}: only in {only} (vs {how}): {found}")
        # The later builds were incremental: each rewrote only its reload window, so the rows
        # of older received days keep the loaded_at of the build that last reloaded them.
        builds_seen = con.execute(
            "select count(distinct loaded_at) from "
            + _parquet_scan(builds.daily_warehouse / "staging.db" / "stg_product__tracks")
        ).fetchone()[0]
    assert not differences, "\n".join(differences)
    assert builds_seen == 1 + DAILY_BATCHES


def test_spark_types_match_duckdb_types(builds: Builds) -> None:
    """The enforced contracts give each mart column the same type on both engines."""
    with duckdb.connect() as con:
        con.execute(f"attach '{builds.duckdb}' as duck (read_only)")
        columns = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_catalog = 'duck' and table_schema = ? order by table_name",
            [settings.MARTS_SCHEMA],
        ).fetchall()
        spark_types: dict[str, dict[str, str]] = {}
        for name, column, duck_type in columns:
            if name in DUCKDB_ONLY_MARTS:
                continue
            if name not in spark_types:
                scan = _parquet_scan(builds.spark_table_files(name))
                described = con.execute(f"describe select * from {scan}").fetchall()
                # Spark's timestamps are instants: timestamptz in Parquet, naive UTC in DuckDB.
                spark_types[name] = {
                    row[0]: row[1].replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMP")
                    for row in described
                }
            assert spark_types[name][column] == duck_type, f"{name}.{column}"
