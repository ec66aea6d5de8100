"""Cross-engine equivalence: one generated dataset, built with `lifecycle run` on DuckDB and
on a local Spark (dbt-spark's session method), gives the same rows in every mart.

The Spark run is the whole guarded job (build slot, every dbt data test and contract, the
staging and marts Great Expectations suites through the Spark session, publishing by views),
and every dbt unit test then runs on Spark too, so each model, macro, seed and test of the
project is proven on both engines. The marts are compared row by row after sorting on every
column: numbers equal within 1e-9 relative, timestamps as UTC instants, column names and
types equal. The reporting time zone is New York and the data spans the 2025 DST change, so
local dates, weeks and months go through the engines' own time-zone rules.

Both builds run at once (Spark mostly waits on its driver, DuckDB on the CPU). Spark's
tables are read from their Parquet files with DuckDB, so no second JVM is started.
"""

from __future__ import annotations

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

DATASET = {"users": 250, "days": 50, "seed": 23, "start": date(2025, 2, 10)}
VARS = "{quarantine_max_share: 0.1, reporting_timezone: America/New_York}"
RELATIVE_TOLERANCE = 1e-9
TIMEOUT_SECONDS = 1500

pytestmark = pytest.mark.spark


@dataclass(frozen=True)
class Builds:
    duckdb: Path  # the published DuckDB file
    spark_warehouse: Path  # the local Spark warehouse (tables and metastore)
    spark_slot: str  # the build slot the Spark run published
    spark_stdout: str
    unit_tests: subprocess.CompletedProcess[str]

    def spark_table_files(self, name: str) -> Path:
        """The folder of a mart's Parquet files in the published Spark slot."""
        schema = f"{settings.MARTS_SCHEMA}__{self.spark_slot}"
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
    generate = pytest.importorskip("saas_lifecycle.generate").generate
    root = tmp_path_factory.mktemp("equivalence")
    raw = root / "raw"
    generate(raw, **DATASET)

    warehouse = root / "spark" / settings.SPARK_WAREHOUSE_DIRNAME
    spark_env = {settings.ENV_SPARK_WAREHOUSE: str(warehouse)}
    duck = _lifecycle_run(raw, root / "duckdb", "duckdb")
    spark = _lifecycle_run(raw, root / "spark", "spark", **spark_env)
    duck_done, spark_done = _finish(duck), _finish(spark)
    assert duck_done.returncode == 0, duck_done.stdout[-3000:] + duck_done.stderr[-3000:]
    assert spark_done.returncode == 0, spark_done.stdout[-3000:] + spark_done.stderr[-3000:]
    published = re.search(r"^published: slot (\w+)", spark_done.stdout, re.MULTILINE)
    assert published, spark_done.stdout[-3000:]

    # Unit tests with their own fixtures and the default vars; dbt reads the input models'
    # column types from the relations the Spark run published.
    root_dir = str(settings.REPO_ROOT)
    unit_tests = _finish(
        _start(
            [str(Path(sys.executable).with_name("dbt")), "test", "--select", "test_type:unit"]
            + ["--project-dir", root_dir, "--profiles-dir", root_dir, "--target", "spark"],
            root / "spark-unit-tests",
            **spark_env,
        )
    )
    return Builds(
        duckdb=root / "duckdb" / "lifecycle.duckdb",
        spark_warehouse=warehouse,
        spark_slot=published.group(1),
        spark_stdout=spark_done.stdout,
        unit_tests=unit_tests,
    )


# ---------------------------------------------------------------------------- reading


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    # Through Arrow: DuckDB's own .df() trips a pandas deprecation.
    return con.sql(sql).to_arrow_table().to_pandas()


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
        return {n: _frame(con, f"select * from {settings.MARTS_SCHEMA}.{n}") for n in names}


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


def test_spark_run_validates_and_publishes_a_build_slot(builds: Builds) -> None:
    out = builds.spark_stdout
    assert builds.spark_slot in ("blue", "green")
    assert "dbt build (marts) finished after" in out
    for layer in ("raw", "staging", "marts"):
        assert re.search(rf"^{layer} validation: \d+ expectations, 0 blocking", out, re.MULTILINE)
    assert f"published: slot {builds.spark_slot}" in out
    assert "marts: target spark, schema marts" in out


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
    assert sorted(p.name for p in spark_folder.iterdir()) == sorted(duck_marts)
    differences: list[str] = []
    for name, duck in duck_marts.items():
        differences += _differences(name, duck, _spark_mart(builds, name, list(duck.columns)))
    assert not differences, f"{len(differences)} differences:\n" + "\n".join(differences[:30])


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
            if name not in spark_types:
                scan = _parquet_scan(builds.spark_table_files(name))
                described = con.execute(f"describe select * from {scan}").fetchall()
                # Spark's timestamps are instants: timestamptz in Parquet, naive UTC in DuckDB.
                spark_types[name] = {
                    row[0]: row[1].replace("TIMESTAMP WITH TIME ZONE", "TIMESTAMP")
                    for row in described
                }
            assert spark_types[name][column] == duck_type, f"{name}.{column}"
