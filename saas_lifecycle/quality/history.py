"""Validation history in a DuckDB audit file beside the warehouse.

A separate file, so a failed run records its results without touching the published marts
file, and BI readers holding the warehouse never block the audit write. Tables (schema
`audit`, created when missing, appended to on every run):

- `validation_runs`: run_id, started_at, finished_at, status
- `validation_results`: run_id, started_at, finished_at, layer, expectation, severity,
  success, observed_value, sample_failing_rows (JSON text)
- `raw_volumes`: run_id, raw_table, rows (the next runs' volume baseline)
- `raw_daily_volumes`: run_id, raw_table, received_date, rows: per received day, the rows
  of the batch a run scanned (the gap gate of later incremental runs reads the days before
  their batch from here instead of the raw files)
- `acknowledgements`: run_id, expectation, date_from, date_to, batch, reason, author,
  matched (failures it turned into warnings; 0 = it matched nothing this run)

`validation_results` also holds the relation each expectation judges, the days a failure
is about, and the acknowledgement (reason and author) that turned it into a warning.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saas_lifecycle.quality import LayerValidation

if TYPE_CHECKING:
    import duckdb

SCHEMA = "audit"
# Run statuses whose raw volumes are a baseline for the next runs' volume check.
SUCCESS_STATUSES = ("success", "succeeded", "passed", "ok")

DDL = (
    "create schema if not exists {s}",
    """create table if not exists {s}.validation_runs (
        run_id varchar not null, started_at timestamp not null, finished_at timestamp,
        status varchar not null)""",
    """create table if not exists {s}.validation_results (
        run_id varchar not null, started_at timestamp not null, finished_at timestamp,
        layer varchar not null, expectation varchar not null, severity varchar not null,
        success boolean not null, observed_value varchar, sample_failing_rows varchar)""",
    """create table if not exists {s}.raw_volumes (
        run_id varchar not null, raw_table varchar not null, rows bigint not null)""",
    # Columns added after the first release: older audit files gain them in place.
    "alter table {s}.validation_results add column if not exists relation varchar",
    "alter table {s}.validation_results add column if not exists dates varchar",
    "alter table {s}.validation_results add column if not exists acknowledged varchar",
    """create table if not exists {s}.raw_daily_volumes (
        run_id varchar not null, raw_table varchar not null, received_date date not null,
        rows bigint not null)""",
    """create table if not exists {s}.acknowledgements (
        run_id varchar not null, expectation varchar not null, date_from date,
        date_to date, batch date, reason varchar not null, author varchar not null,
        matched integer not null)""",
)
RESULT_COLUMNS = (
    "run_id, started_at, finished_at, layer, expectation, severity, success, observed_value, "
    "sample_failing_rows, relation, dates, acknowledged"
)


def _schema(con: duckdb.DuckDBPyConnection) -> str:
    """The audit schema qualified by the file's catalog: a file named audit.duckdb has a
    catalog `audit` too, and an unqualified `audit.x` would be ambiguous."""
    (catalog,) = con.execute("select current_database()").fetchone()
    return '"' + catalog.replace('"', '""') + '".' + SCHEMA


def _naive(moment: datetime) -> datetime:
    """Naive UTC (the warehouse convention), whatever zone the caller used."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def record_run(
    audit_db: Path,
    run_id: str,
    started_at: datetime,
    finished_at: datetime,
    status: str,
    validations: Sequence[LayerValidation],
    raw_volumes: Mapping[str, int],
    acknowledgement_matches: Sequence[tuple[Any, int]] = (),
) -> None:
    """Append one run, its expectation outcomes, its raw volumes (per table, and per day
    of the scanned batch) and how often each acknowledgement matched to the audit file.

    `acknowledgement_matches`: (acknowledgements.Acknowledgement, failures it matched)."""
    import duckdb

    audit_db = Path(audit_db)
    audit_db.parent.mkdir(parents=True, exist_ok=True)
    started, finished = _naive(started_at), _naive(finished_at)
    results = [
        (
            run_id,
            started,
            finished,
            o.layer,
            o.expectation,
            o.severity,
            o.success,
            o.observed_value,
            json.dumps(o.sample_failing_rows, default=str) if o.sample_failing_rows else None,
            o.relation or None,
            ",".join(o.dates) or None,
            o.acknowledged,
        )
        for v in validations
        for o in v.outcomes
    ]
    daily = [
        (run_id, table, day, int(rows))
        for v in validations
        for table, days in v.daily_volumes.items()
        for day, rows in days.items()
    ]
    acks = [
        (run_id, a.expectation, a.date_from, a.date_to, a.batch, a.reason, a.author, int(n))
        for a, n in acknowledgement_matches
    ]
    with duckdb.connect(str(audit_db)) as con:
        schema = _schema(con)
        for statement in DDL:
            con.execute(statement.format(s=schema))
        con.execute("begin transaction")  # all of a run or nothing
        con.execute(
            f"insert into {schema}.validation_runs values (?, ?, ?, ?)",
            [run_id, started, finished, status],
        )
        if results:
            con.executemany(
                f"insert into {schema}.validation_results ({RESULT_COLUMNS}) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                results,
            )
        if daily:
            con.executemany(f"insert into {schema}.raw_daily_volumes values (?, ?, ?, ?)", daily)
        if acks:
            con.executemany(
                f"insert into {schema}.acknowledgements values (?, ?, ?, ?, ?, ?, ?, ?)", acks
            )
        if raw_volumes:
            con.executemany(
                f"insert into {schema}.raw_volumes values (?, ?, ?)",
                [(run_id, table, int(rows)) for table, rows in raw_volumes.items()],
            )
        con.execute("commit")


def _audit_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables the audit file holds (older files lack the newer ones)."""
    return {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ? "
            "and table_catalog = current_database()",
            [SCHEMA],
        ).fetchall()
    }


def acknowledged_failures(audit_db: Path, run_id: str) -> list[tuple[str, str, str | None, str]]:
    """(layer, expectation, dates, "<reason> (<author>)") of each failure of the run that an
    acknowledgement turned into a warning ([] when the audit file or the run has none)."""
    import duckdb

    audit_db = Path(audit_db)
    if not audit_db.exists():
        return []
    with duckdb.connect(str(audit_db), read_only=True) as con:
        if "validation_results" not in _audit_tables(con):
            return []
        return con.execute(
            f"select layer, expectation, dates, acknowledged from {_schema(con)}"
            ".validation_results where run_id = ? and acknowledged is not null"
            " order by layer, expectation",
            [run_id],
        ).fetchall()


def previous_volumes(audit_db: Path, runs: int = 5) -> dict[str, list[int]]:
    """Rows per raw table in the last `runs` successful runs, newest first ({} if none)."""
    import duckdb

    audit_db = Path(audit_db)
    if not audit_db.exists():
        return {}
    statuses = ", ".join(f"'{s}'" for s in SUCCESS_STATUSES)
    with duckdb.connect(str(audit_db), read_only=True) as con:
        schema = _schema(con)
        tables = _audit_tables(con)
        if not {"validation_runs", "raw_volumes"} <= tables:
            return {}
        rows = con.execute(
            f"""
            with last_runs as (
                select run_id, max(started_at) as started_at from {schema}.validation_runs
                where lower(status) in ({statuses})
                group by run_id order by started_at desc limit ?
            )
            select v.raw_table, v.rows from {schema}.raw_volumes v
            join last_runs r using (run_id)
            order by r.started_at desc, v.raw_table
            """,
            [int(runs)],
        ).fetchall()
    volumes: dict[str, list[int]] = {}
    for table, count in rows:
        volumes.setdefault(table, []).append(int(count))
    return volumes


def previous_daily_volumes(
    audit_db: Path, raw_table: str = "tracks", before: date | None = None
) -> dict[str, int]:
    """Per received day (YYYY-MM-DD) before `before`, the rows of `raw_table` as the latest
    successful run that scanned that day counted them ({} without history)."""
    import duckdb

    audit_db = Path(audit_db)
    if not audit_db.exists():
        return {}
    statuses = ", ".join(f"'{s}'" for s in SUCCESS_STATUSES)
    with duckdb.connect(str(audit_db), read_only=True) as con:
        schema = _schema(con)
        tables = _audit_tables(con)
        if not {"validation_runs", "raw_daily_volumes"} <= tables:
            return {}
        rows = con.execute(
            f"""
            with ok as (
                select run_id, max(started_at) as started_at from {schema}.validation_runs
                where lower(status) in ({statuses}) group by run_id
            )
            select d.received_date, arg_max(d.rows, ok.started_at) as rows
            from {schema}.raw_daily_volumes d join ok using (run_id)
            where d.raw_table = ? and (cast(? as date) is null or d.received_date < ?)
            group by d.received_date order by d.received_date
            """,
            [raw_table, before, before],
        ).fetchall()
    return {day.isoformat(): int(count) for day, count in rows}
