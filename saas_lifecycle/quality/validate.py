"""Run the suites: the engine computes small frames, Great Expectations validates them.

Bounded memory: the raw layer is read with `read_parquet` in an in-memory DuckDB connection
with a memory limit and a spill directory, and every query is an aggregate (suites.py); the
staging and marts layers are read from the build database opened read-only, or on Spark
through the Spark session from the schemas of the build slot. Only the small frames reach
pandas and GX's pandas datasource (GX's SQL datasource on DuckDB is broken: STACK.md), so
the validation needs the same memory at 1 thousand or 100 million events.

GX results are kept per LayerValidation in a module registry (`gx_results`) so that docs.py
can render Data Docs without changing the LayerValidation dataclass.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from saas_lifecycle import settings
from saas_lifecycle.quality import ExpectationOutcome, Layer, LayerValidation
from saas_lifecycle.quality.dialect import Dialect
from saas_lifecycle.quality.suites import (
    DAILY_HISTORY_RELATION,
    SAMPLE_ROWS,
    Spec,
    daily_counts_query,
    marts_suite,
    raw_source,
    raw_suite,
    staging_suite,
    valid_received_bounds,
)

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

# DuckDB memory for the raw scans; grouped counts beyond it spill to the temp directory.
# The raw suite runs before dbt, never beside it, so it may use the build's memory limit;
# grouping 100M event ids needs more than 1 GB even when it spills.
RAW_MEMORY_LIMIT = os.environ.get(
    "LIFECYCLE_QUALITY_MEMORY_LIMIT", os.environ.get("LIFECYCLE_DUCKDB_MEMORY_LIMIT", "4GB")
)
DATASOURCE = "quality_frames"


@dataclass(frozen=True)
class GxResult:
    """One spec's GX suite and its validation result (for Data Docs)."""

    suite_name: str
    suite: Any  # great_expectations.ExpectationSuite
    result: Any  # great_expectations ExpectationSuiteValidationResult


# id(LayerValidation) -> (the validation, its GX results); the validation is kept referenced
# so its id cannot be reused while the entry exists.
_REGISTRY: dict[int, tuple[LayerValidation, list[GxResult]]] = {}
_LOCK = threading.Lock()
_CONTEXT: Any = None


def gx_results(validation: LayerValidation) -> list[GxResult]:
    """The GX suites and results behind a LayerValidation (empty if unknown)."""
    entry = _REGISTRY.get(id(validation))
    return entry[1] if entry and entry[0] is validation else []


# ---------------------------------------------------------------------------- GX


def gx_context() -> Any:
    """One ephemeral GX context per process (creating one costs ~0.5 s; the import ~7 s)."""
    global _CONTEXT
    with _LOCK:
        if _CONTEXT is None:
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            # Progress bars would interleave with the run's own progress lines.
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            context.data_sources.add_pandas(DATASOURCE)
            _CONTEXT = context
        return _CONTEXT


def _run_gx(spec: Spec, frame: pd.DataFrame) -> tuple[GxResult, list[int], bool]:
    """Validate `frame` with the spec's expectations: (result, failing row indexes, success)."""
    import great_expectations as gx

    context = gx_context()
    datasource = context.data_sources.get(DATASOURCE)
    suite_name = f"{spec.layer}.{spec.name}"
    try:
        asset = datasource.get_asset(suite_name)
    except LookupError:
        asset = datasource.add_dataframe_asset(suite_name)
    try:
        batch_definition = asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    suite = gx.ExpectationSuite(
        name=suite_name,
        expectations=[getattr(gx.expectations, e.type)(**e.kwargs) for e in spec.expect],
        meta={"layer": spec.layer, "severity": spec.severity},
    )
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format="COMPLETE")
    failing: list[int] = []
    for item in result.results:
        indexes = (item.result or {}).get("unexpected_index_list") or []
        failing += [i for i in indexes if isinstance(i, int) and i not in failing]
        if item.exception_info and item.exception_info.get("raised_exception"):
            raise RuntimeError(item.exception_info.get("exception_message") or "GX error")
    return GxResult(suite_name, suite, result), failing, bool(result.success)


# ---------------------------------------------------------------------------- frames


def _plain(value: Any) -> Any:
    """A JSON-friendly Python value (for sample rows and the audit table)."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        with suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if hasattr(value, "isoformat"):  # pandas Timestamp; a midnight one reads as its day
        text = str(value)
        return text[:10] if text.endswith(" 00:00:00") else text
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): _plain(v) for k, v in row.items()}
        for row in frame.head(SAMPLE_ROWS).to_dict(orient="records")
    ]


def _decimals_as_floats(frame: pd.DataFrame) -> pd.DataFrame:
    # Decimals (money) as floats: GX compares numbers, and the frames are aggregates.
    for column in frame.columns:
        if frame[column].dtype == object and any(isinstance(v, Decimal) for v in frame[column]):
            frame[column] = frame[column].astype(float)
    return frame


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    # Through Arrow: dates stay dates, and DuckDB's own .df() trips a pandas deprecation.
    return _decimals_as_floats(con.sql(sql).to_arrow_table().to_pandas())


class Queries(Protocol):
    """Where a suite's queries run."""

    def frame(self, sql: str) -> pd.DataFrame:
        """The result of a query (a small frame)."""
        ...

    def relations(self) -> dict[str, list[str]]:
        """schema.table -> its columns, for every relation the suites may read."""
        ...


@dataclass(frozen=True)
class DuckDBQueries:
    """Queries on a DuckDB connection."""

    con: duckdb.DuckDBPyConnection

    def frame(self, sql: str) -> pd.DataFrame:
        return _frame(self.con, sql)

    def relations(self) -> dict[str, list[str]]:
        return _relations(self.con)


@dataclass(frozen=True)
class SparkQueries:
    """Queries through a Spark session, on the relations of the given schemas."""

    session: Any  # pyspark.sql.SparkSession
    schemas: Sequence[str]

    def frame(self, sql: str) -> pd.DataFrame:
        with warnings.catch_warnings():
            # PySpark 4.3 warns on each conversion that it does not fully support pandas 3;
            # these frames are small aggregates of plain types.
            warnings.simplefilter("ignore", FutureWarning)
            return _decimals_as_floats(self.session.sql(sql).toPandas())

    def relations(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for schema in self.schemas:
            if not self.session.catalog.databaseExists(schema):
                continue
            for table in self.session.catalog.listTables(schema):
                if table.isTemporary:  # session views (dbt-spark's __dbt_tmp), listed everywhere
                    continue
                name = f"{schema}.{table.name}"
                found[name] = list(self.session.table(name).columns)
        return found


def run_specs(queries: Queries, layer: Layer, specs: Sequence[Spec]) -> LayerValidation:
    """Every spec on `queries`: its frame, GX on the frame, and samples of failing rows."""
    existing = queries.relations()
    outcomes: list[ExpectationOutcome] = []
    results: list[GxResult] = []
    for spec in specs:
        missing = [r for r in spec.requires if r not in existing]
        if missing:
            outcomes.append(_outcome(spec, False, f"missing relation(s): {', '.join(missing)}"))
            continue
        try:
            frame = queries.frame(spec.query)
            gx_result, failing_index, success = _run_gx(spec, frame)
        except Exception as exc:  # a query or GX failure fails this expectation, not the run
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            outcomes.append(_outcome(spec, False, f"could not evaluate: {reason}"))
            continue
        results.append(gx_result)
        failing = frame.loc[[i for i in failing_index if i in frame.index]]
        try:
            observed = spec.observe(frame, failing)
        except Exception as exc:  # a text bug must not hide the verdict
            observed = f"(observed value unavailable: {exc})"
        samples: list[dict[str, Any]] = []
        if not success:
            samples = _records(failing)
            if spec.sample_query:
                # On a failing sample query the frame's failing rows are sample enough.
                with suppress(Exception):
                    samples = _records(queries.frame(spec.sample_query)) or samples
        dates: list[str] = []
        if not success and spec.dates_column and spec.dates_column in failing:
            dates = [str(_plain(v))[:10] for v in failing[spec.dates_column] if v is not None]
        outcomes.append(_outcome(spec, success, observed, samples, tuple(dates)))
    validation = LayerValidation(layer=layer, outcomes=outcomes)
    with _LOCK:
        _REGISTRY[id(validation)] = (validation, results)
    return validation


def _outcome(
    spec: Spec,
    success: bool,
    observed: str,
    samples: list[dict[str, Any]] | None = None,
    dates: tuple[str, ...] = (),
) -> ExpectationOutcome:
    return ExpectationOutcome(
        layer=spec.layer,
        expectation=spec.name,
        severity=spec.severity,
        success=success,
        observed_value=observed,
        sample_failing_rows=list(samples or [])[:SAMPLE_ROWS],
        relation=spec.relation,
        dates=dates,
    )


def _relations(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """schema.table -> its columns, for the current database."""
    found: dict[str, list[str]] = {}
    for schema, table, column in con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_catalog = current_database() order by table_schema, table_name, "
        "ordinal_position"
    ).fetchall():
        found.setdefault(f"{schema}.{table}", []).append(column)
    return found


# ---------------------------------------------------------------------------- layers


@contextmanager
def _raw_connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with a memory limit, UTC session time and its own spill folder."""
    import duckdb

    base = os.environ.get(settings.ENV_DUCKDB_TEMP_DIR) or None
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    spill = tempfile.mkdtemp(prefix="quality-", dir=base)
    con = duckdb.connect(
        ":memory:",
        config={
            "memory_limit": RAW_MEMORY_LIMIT,
            "temp_directory": spill,
            "preserve_insertion_order": False,  # lets aggregates stream with less memory
        },
    )
    try:
        con.execute("set TimeZone = 'UTC'")  # days of timestamptz columns are UTC days
        yield con
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def validate_raw(
    raw_dir: Path,
    tables: Sequence[str],
    previous_volumes: Mapping[str, Sequence[int]],
    variables: Mapping[str, Any],
    received_since: date | None = None,
    audit_db: Path | None = None,
) -> tuple[LayerValidation, dict[str, int]]:
    """Validate the raw Parquet tables present; also return the row count per table.

    `received_since` is the lower bound of the received dates an incremental run loads
    (None: everything, as on a full refresh): row-level checks then scan only that batch,
    and the gap gate takes the days before it from the audit file `audit_db`
    (history.previous_daily_volumes) instead of the raw files. The per-day counts of the
    scanned batch are returned in `validation.daily_volumes` for the history.
    """
    with_history = received_since is not None
    specs = raw_suite(
        Path(raw_dir), tables, previous_volumes, variables, received_since, with_history
    )
    with _raw_connection() as con:
        if with_history:
            _register_daily_history(con, audit_db, received_since)
        validation = run_specs(DuckDBQueries(con), "raw", specs)
        volumes: dict[str, int] = {}
        for spec in specs:
            table = spec.name.split(".")[0]
            if spec.name.endswith(".has_rows") and table in tables:
                # Parquet row counts come from the footers: no data page is read.
                volumes[table] = int(con.execute(spec.query).fetchone()[0])
        if "tracks" in tables:
            with suppress(Exception):  # unreadable tracks already failed an expectation
                query = daily_counts_query(
                    raw_source(Path(raw_dir), "tracks"),
                    valid_received_bounds(variables),
                    received_since,
                )
                validation.daily_volumes["tracks"] = {
                    day.isoformat(): int(events)
                    for day, events in con.execute(query).fetchall()
                    if day is not None
                }
    return validation, volumes


def _register_daily_history(
    con: duckdb.DuckDBPyConnection, audit_db: Path | None, before: date | None
) -> None:
    """Register the per-day tracks counts of earlier successful runs (empty if none)."""
    import pyarrow as pa

    from saas_lifecycle.quality.history import previous_daily_volumes

    days = previous_daily_volumes(audit_db, "tracks", before) if audit_db else {}
    table = pa.table(
        {
            "day": pa.array([date.fromisoformat(d) for d in days], pa.date32()),
            "events": pa.array(list(days.values()), pa.int64()),
        }
    )
    con.register(DAILY_HISTORY_RELATION, table)


def validate_database(
    database: Path,
    layer: Literal["staging", "marts"],
    variables: Mapping[str, Any],
) -> LayerValidation:
    """Validate the staging or marts layer of a DuckDB file, opened read-only and closed."""
    import duckdb

    if layer not in ("staging", "marts"):
        raise ValueError(f"layer must be 'staging' or 'marts', not {layer!r}")
    con = duckdb.connect(str(database), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        specs = staging_suite(variables) if layer == "staging" else marts_suite(_relations(con))
        return run_specs(DuckDBQueries(con), layer, specs)
    finally:
        con.close()


# Schemas the staging and marts suites read (their build-slot names on Spark).
SUITE_SCHEMAS = ("staging", "monitoring", "reference", settings.MARTS_SCHEMA)


def validate_spark(
    session: Any,
    layer: Literal["staging", "marts"],
    variables: Mapping[str, Any],
    schema_suffix: str = "",
) -> LayerValidation:
    """Validate the staging or marts layer of a Spark build (schemas named with
    `schema_suffix`, e.g. marts__blue) with the same suites, through a Spark session."""
    if layer not in ("staging", "marts"):
        raise ValueError(f"layer must be 'staging' or 'marts', not {layer!r}")
    sql = Dialect("spark", schema_suffix)
    queries = SparkQueries(session, [f"{schema}{schema_suffix}" for schema in SUITE_SCHEMAS])
    specs = (
        staging_suite(variables, sql)
        if layer == "staging"
        else marts_suite(queries.relations(), sql)
    )
    return run_specs(queries, layer, specs)


# ---------------------------------------------------------------------------- report


def format_report(validations: Sequence[LayerValidation]) -> str:
    """A multi-line report: blocking failures first, then warnings, each with samples."""
    errors = [o for v in validations for o in v.blocking_failures]
    warnings = [o for v in validations for o in v.warnings]
    passed = sum(1 for v in validations for o in v.outcomes if o.success)
    total = sum(len(v.outcomes) for v in validations)
    layers = ", ".join(
        f"{v.layer} {sum(o.success for o in v.outcomes)}/{len(v.outcomes)}" for v in validations
    )
    lines = [
        f"data quality: {passed}/{total} expectations passed ({layers}); "
        f"{len(errors)} blocking, {len(warnings)} warning(s)"
    ]
    for title, outcomes in (("BLOCKING", errors), ("WARNING", warnings)):
        for o in outcomes:
            label = "ACKNOWLEDGED" if o.acknowledged else title
            lines.append(
                f"  {label} [{o.layer}] {o.expectation} ({o.severity}): {o.observed_value}"
            )
            if o.acknowledged:
                lines.append(f"      acknowledged: {o.acknowledged}")
            for row in o.sample_failing_rows[:SAMPLE_ROWS]:
                text = ", ".join(f"{k}={_short(v)}" for k, v in row.items())
                lines.append(f"      {text}")
    return "\n".join(lines)


def _short(value: Any, width: int = 60) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= width else text[: width - 3] + "..."
