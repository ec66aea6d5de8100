"""Write-audit-publish for the DuckDB warehouse: build state apart from what is served.

Files of a warehouse named after its served DuckDB file `W.duckdb` (all in one folder):

- `W.state.duckdb`, the build state: the guarded dbt target builds staging, quarantine,
  intermediate, monitoring and marts here, in place (incremental models add the new batch;
  nothing is copied). BI is never pointed at it: its staging views read the raw files and
  its staging tables hold personal data.
- `W.duckdb`, the served file: only `marts` and `monitoring` (quarantine counts, unknown
  event names, per-mart status, run history), with table and column descriptions. Every
  publish writes it as a fresh file `W.duckdb.publishing` and renames it over the old one
  (os.replace), so a reader sees the old marts or the new ones, whole; a reader connected
  during a publish keeps reading the old file (its open handle survives the rename).
- `W_marts/`, the same marts as Parquet for readers other than DuckDB 2: one folder per run
  under `runs/`, each with a folder per mart and `manifest.json`, and a symlink `current`
  to the newest, switched atomically; the previous set is kept for readers still on it.
- `W.audit.duckdb` (validation history of every run, failed ones too), `W.duckdb.lock`,
  `data_docs/`.

A failed or killed run changes nothing served. One run at a time holds an exclusive lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from saas_lifecycle import settings


class LockedError(Exception):
    """Another run holds the warehouse."""


class PublishError(Exception):
    """The build cannot be published; the message is the one-line reason."""


# Parquet run folders kept besides `current`: readers that resolved `current` a publish ago
# still find their files.
KEPT_PARQUET_RUNS = 2


@dataclass(frozen=True)
class Warehouse:
    """The files of one warehouse, named after its served DuckDB file."""

    published: Path

    def _sibling(self, suffix: str) -> Path:
        return self.published.with_name(self.published.stem + suffix)

    @property
    def state(self) -> Path:
        """The build state the guarded dbt target builds in place (never served)."""
        return self._sibling(".state.duckdb")

    @property
    def publishing(self) -> Path:
        """The next served file while it is written (renamed over `published` when whole)."""
        return self.published.with_name(self.published.name + ".publishing")

    @property
    def parquet(self) -> Path:
        """The served marts as Parquet: `runs/<run id>/<mart>/`, `current` -> the newest."""
        return self._sibling("_marts")

    @property
    def audit(self) -> Path:
        """Validation history of every run (a separate file: failed runs record too)."""
        return self._sibling(".audit.duckdb")

    @property
    def lock(self) -> Path:
        return self.published.with_name(self.published.name + ".lock")

    @property
    def data_docs(self) -> Path:
        """Great Expectations Data Docs (HTML) of the runs."""
        return self.published.parent / "data_docs"


def _wal(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


@contextmanager
def exclusive(warehouse: Warehouse) -> Iterator[None]:
    """Hold the warehouse's lock for the block, or fail at once if another run holds it.

    flock is released by the operating system when the holder dies, so a killed run never
    leaves a stale lock behind.
    """
    warehouse.lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(warehouse.lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise LockedError(
                f"another lifecycle run is using {warehouse.published} (pid {holder},"
                f" lock {warehouse.lock}); try again when it has finished"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


# ---------------------------------------------------------------------------- build state

# The table of the state database that records the vars its incremental tables were built
# with, and whether the build in it was published (BUILD_STATUS).
BUILD_SETTINGS_TABLE = "main.lifecycle_build_settings"
BUILD_STATUS = "build_status"
PUBLISHED = "published"


def read_build_settings(database: Path) -> dict[str, str] | None:
    """The recorded build settings of a state database, or None (no file, or none recorded)."""
    import duckdb

    if not database.exists():
        return None
    with duckdb.connect(str(database), read_only=True) as con:
        try:
            rows = con.execute(f"select name, value from {BUILD_SETTINGS_TABLE}").fetchall()
        except duckdb.CatalogException:
            return None
    return dict(rows)


def write_build_settings(database: Path, values: Mapping[str, str]) -> None:
    """Record the settings of the build in `database` (replacing what it recorded)."""
    import duckdb

    database.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(database)) as con:
        con.execute(f"create or replace table {BUILD_SETTINGS_TABLE} (name varchar, value varchar)")
        con.executemany(f"insert into {BUILD_SETTINGS_TABLE} values (?, ?)", sorted(values.items()))


def start_build(warehouse: Warehouse, build_settings: Mapping[str, str], run_id: str) -> Path:
    """Mark the state as holding an unpublished build before dbt writes to it.

    The mark stays until publish() replaces it: a run that fails or is killed after dbt
    changed the state leaves the state ahead of what is served, and the next run sees it
    and rebuilds the incremental models from scratch (runner.needs_full_refresh). Leftovers
    of an earlier layout or an interrupted publish are removed.
    """
    for leftover in (
        warehouse.publishing,
        _wal(warehouse.publishing),
        warehouse._sibling(".building.duckdb"),  # the copy-and-rename layout before the state
        _wal(warehouse._sibling(".building.duckdb")),
    ):
        leftover.unlink(missing_ok=True)
    write_build_settings(warehouse.state, {**build_settings, BUILD_STATUS: f"building {run_id}"})
    return warehouse.state


# ---------------------------------------------------------------------------- publish


@dataclass(frozen=True)
class MartStatus:
    """One row of monitoring.mart_status."""

    mart: str
    as_of_date: Any
    published_at: datetime | None
    run_id: str | None
    status: str  # fresh | held_back
    held_back_by: str | None


@dataclass
class PublishResult:
    """What a publish served."""

    database: Path
    parquet: Path
    marts: dict[str, int] = field(default_factory=dict)
    statuses: list[MartStatus] = field(default_factory=list)

    @property
    def held_back(self) -> dict[str, str]:
        return {s.mart: s.held_back_by or "" for s in self.statuses if s.status == "held_back"}


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _tables(con: Any, catalog: str, schema: str) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_catalog = ?"
            " and table_schema = ? and table_type = 'BASE TABLE' order by table_name",
            [catalog, schema],
        ).fetchall()
    ]


def _scalar(con: Any, sql: str) -> Any:
    """The first value of a query on an optional relation, or None when it does not exist."""
    import duckdb

    try:
        row = con.execute(sql).fetchone()
    except duckdb.CatalogException:
        return None
    return row[0] if row else None


# Descriptions of the tables the publish itself writes (dbt documents the others).
OWN_TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "mart_status": (
        "Per served mart: the as-of date and run of the version served, when it was published,"
        " and whether it is fresh from the latest run or held back by a failing quality gate"
        " (then it keeps its last good version).",
        {
            "mart": "Name of the table in schema marts.",
            "as_of_date": "As-of date (end of day, reporting time zone) of the served version.",
            "published_at": "UTC time the served version was published.",
            "run_id": "Run that built the served version.",
            "status": "fresh (built and published by the latest run) or held_back.",
            "held_back_by": "The quality gate that held the latest build back (null if fresh).",
        },
    ),
    "build_context": (
        "One row: the latest publish, with the as-of date, reporting time zone and currency"
        " its fresh marts were computed with.",
        {
            "run_id": "Run that published this file.",
            "published_at": "UTC time of the publish.",
            "as_of_date": "As-of date of the fresh marts.",
            "reporting_timezone": "Time zone local dates are computed in.",
            "reporting_currency": "Currency money columns are converted to.",
        },
    ),
    "run_history": (
        "Every guarded run recorded before this publish (failed runs too), from the audit"
        " database: when it ran and how it ended.",
        {
            "run_id": "Run id (UTC start time and a random suffix, or the Dagster run id).",
            "started_at": "UTC start of the run.",
            "finished_at": "UTC end of the run.",
            "status": "success, failed, held_back or unpublished.",
        },
    ),
}


def _copy_comments(con: Any, source: str, schema: str, table: str) -> None:
    """Copy the table and column comments dbt persisted (persist_docs) in `source`."""
    row = con.execute(
        "select comment from duckdb_tables() where database_name = ? and schema_name = ?"
        " and table_name = ?",
        [source, schema, table],
    ).fetchone()
    target = f"{schema}.{_quote(table)}"
    if row and row[0]:
        con.execute(f"comment on table {target} is {_literal(row[0])}")
    for column, comment in con.execute(
        "select column_name, comment from duckdb_columns() where database_name = ?"
        " and schema_name = ? and table_name = ? and comment is not null",
        [source, schema, table],
    ).fetchall():
        con.execute(f"comment on column {target}.{_quote(column)} is {_literal(comment)}")


def _comment_own(con: Any, table: str) -> None:
    description, columns = OWN_TABLES[table]
    target = f"{settings.MONITORING_SCHEMA}.{table}"
    con.execute(f"comment on table {target} is {_literal(description)}")
    for column, text in columns.items():
        con.execute(f"comment on column {target}.{_quote(column)} is {_literal(text)}")


def _previous_statuses(con: Any) -> dict[str, tuple[Any, ...]]:
    """mart -> (as_of_date, published_at, run_id) of the served file attached as `previous`."""
    import duckdb

    try:
        rows = con.execute(
            f"select mart, as_of_date, published_at, run_id"
            f" from previous.{settings.MONITORING_SCHEMA}.mart_status"
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    return {mart: rest for mart, *rest in rows}


def _write_served(
    con: Any,
    warehouse: Warehouse,
    run_id: str,
    published_at: datetime,
    held_back: Mapping[str, str],
) -> PublishResult:
    """Fill the fresh served file `con` is connected to from the attached `build` state
    (and `previous` served file, for held-back marts)."""
    marts, monitoring = settings.MARTS_SCHEMA, settings.MONITORING_SCHEMA
    result = PublishResult(warehouse.published, warehouse.parquet / "current")
    con.execute(f"create schema {marts}")
    con.execute(f"create schema {monitoring}")
    as_of = _scalar(con, "select as_of_date from build.intermediate.int_as_of")
    timezone = _scalar(con, "select reporting_timezone from build.intermediate.int_as_of")
    currency = _scalar(
        con,
        "select currency from build.reference.fx_rates where rate_to_reporting = 1"
        " order by currency limit 1",
    )
    previous = _previous_statuses(con) if held_back else {}
    previous_marts = set(_tables(con, "previous", marts)) if held_back else set()
    for mart in _tables(con, "build", marts):
        gate = held_back.get(mart)
        source = "previous" if gate else "build"
        if gate and mart not in previous_marts:
            # Never published before: nothing good to keep, so it is not served.
            result.statuses.append(MartStatus(mart, None, None, None, "held_back", gate))
            continue
        con.execute(
            f"create table {marts}.{_quote(mart)} as select * from {source}.{marts}.{_quote(mart)}"
        )
        _copy_comments(con, "build", marts, mart)
        if gate:
            kept = previous.get(mart, (None, None, None))
            result.statuses.append(MartStatus(mart, *kept, "held_back", gate))
        else:
            result.statuses.append(MartStatus(mart, as_of, published_at, run_id, "fresh", None))
        (rows,) = con.execute(f"select count(*) from {marts}.{_quote(mart)}").fetchone()
        result.marts[mart] = rows
    # dbt's monitoring models: quarantine counts and unknown event names (no personal data).
    for table in _tables(con, "build", monitoring):
        con.execute(
            f"create table {monitoring}.{_quote(table)} as"
            f" select * from build.{monitoring}.{_quote(table)}"
        )
        _copy_comments(con, "build", monitoring, table)
    con.execute(
        f"create table {monitoring}.mart_status (mart varchar not null, as_of_date date,"
        " published_at timestamp, run_id varchar, status varchar not null,"
        " held_back_by varchar)"
    )
    con.executemany(
        f"insert into {monitoring}.mart_status values (?, ?, ?, ?, ?, ?)",
        [
            (s.mart, s.as_of_date, s.published_at, s.run_id, s.status, s.held_back_by)
            for s in result.statuses
        ],
    )
    con.execute(
        f"create table {monitoring}.build_context as select ? as run_id,"
        " cast(? as timestamp) as published_at, cast(? as date) as as_of_date,"
        " cast(? as varchar) as reporting_timezone, cast(? as varchar) as reporting_currency",
        [run_id, published_at, as_of, timezone, currency],
    )
    _write_run_history(con, warehouse.audit)
    for table in OWN_TABLES:
        _comment_own(con, table)
    return result


def _write_run_history(con: Any, audit: Path) -> None:
    """monitoring.run_history from the audit database: run ids, times and statuses only
    (the audit's sample failing rows may hold personal data and are not served)."""
    from saas_lifecycle.quality.history import SCHEMA

    columns = "run_id varchar, started_at timestamp, finished_at timestamp, status varchar"
    con.execute(f"create table {settings.MONITORING_SCHEMA}.run_history ({columns})")
    if not audit.exists():
        return
    con.execute(f"attach {_literal(str(audit))} as audit_history (read_only)")
    try:
        con.execute(
            f"insert into {settings.MONITORING_SCHEMA}.run_history select run_id, started_at,"
            f" finished_at, status from audit_history.{SCHEMA}.validation_runs order by started_at"
        )
    except Exception:  # no runs recorded yet (the table is created by the first record)
        pass
    finally:
        con.execute("detach audit_history")


def _export_parquet(
    con: Any, warehouse: Warehouse, result: PublishResult, run_id: str, published_at: datetime
) -> Path:
    """Write the served marts as Parquet into a new run folder with its manifest (not yet
    current). Returns the folder."""
    folder = _new_run_folder(warehouse, run_id)
    for mart in result.marts:
        (folder / mart).mkdir()
        target = folder / mart / "part-0.parquet"
        con.execute(
            f"copy (select * from {settings.MARTS_SCHEMA}.{_quote(mart)})"
            f" to {_literal(str(target))} (format parquet, compression zstd)"
        )
    as_of, timezone = con.execute(
        f"select as_of_date, reporting_timezone from {settings.MONITORING_SCHEMA}.build_context"
    ).fetchone()
    write_manifest(folder, run_id, published_at, as_of, timezone, result)
    return folder


def _new_run_folder(warehouse: Warehouse, run_id: str) -> Path:
    folder = warehouse.parquet / "runs" / run_id
    shutil.rmtree(folder, ignore_errors=True)  # a retry of the same run id
    folder.mkdir(parents=True)
    return folder


def write_manifest(
    folder: Path,
    run_id: str,
    published_at: datetime,
    as_of: Any,
    timezone: str | None,
    result: PublishResult,
) -> None:
    """`manifest.json` of a Parquet run folder: the run, its as-of date, and per mart its
    folder, rows, as-of date and status (fresh, or held back by a gate)."""
    statuses = {s.mart: s for s in result.statuses}
    manifest = {
        "run_id": run_id,
        "published_at": _iso(published_at),
        "as_of_date": str(as_of) if as_of is not None else None,
        "reporting_timezone": timezone,
        "marts": {
            mart: {
                "path": f"{mart}/",
                "rows": rows,
                "as_of_date": (
                    str(statuses[mart].as_of_date)
                    if statuses[mart].as_of_date is not None
                    else None
                ),
                "published_at": _iso(statuses[mart].published_at),
                "status": statuses[mart].status,
                "held_back_by": statuses[mart].held_back_by,
                "run_id": statuses[mart].run_id,
            }
            for mart, rows in sorted(result.marts.items())
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def _iso(moment: Any) -> str | None:
    if isinstance(moment, datetime):
        return moment.isoformat(timespec="seconds") + "Z"
    return moment  # None, or already text (kept from an earlier manifest)


def read_manifest(warehouse: Warehouse) -> dict[str, Any]:
    """The manifest of the current Parquet set ({} before the first publish)."""
    path = warehouse.parquet / "current" / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


@dataclass(frozen=True)
class Exported:
    """What an engine's Parquet export wrote: rows per mart, and the build's as-of date."""

    rows: dict[str, int]
    as_of_date: str | None
    reporting_timezone: str | None


def publish_parquet(
    warehouse: Warehouse,
    run_id: str,
    marts: list[str],
    export: Callable[[Path, list[str]], Exported],
    held_back: Mapping[str, str] | None = None,
) -> PublishResult:
    """Serve marts as Parquet only (engines without a served DuckDB file, e.g. Spark):
    `export(folder, marts)` writes each fresh mart into `folder/<mart>/` and says its rows
    and the build's as-of date; held-back marts are copied from the current set. Then the
    manifest, then the atomic switch of `current`."""
    held_back = dict(held_back or {})
    published_at = datetime.now(UTC).replace(tzinfo=None)
    previous = read_manifest(warehouse).get("marts", {})
    folder = _new_run_folder(warehouse, run_id)
    result = PublishResult(warehouse.published, warehouse.parquet / "current")
    fresh = [m for m in marts if m not in held_back]
    exported = export(folder, fresh)
    for mart, rows in exported.rows.items():
        result.marts[mart] = rows
        status = MartStatus(mart, exported.as_of_date, published_at, run_id, "fresh", None)
        result.statuses.append(status)
    for mart in sorted(m for m in marts if m in held_back):
        kept = previous.get(mart)
        source = warehouse.parquet / "current" / mart
        if kept is None or not source.is_dir():
            result.statuses.append(MartStatus(mart, None, None, None, "held_back", held_back[mart]))
            continue
        shutil.copytree(source, folder / mart)
        result.marts[mart] = kept["rows"]
        result.statuses.append(
            MartStatus(
                mart,
                kept["as_of_date"],
                kept.get("published_at"),
                kept["run_id"],
                "held_back",
                held_back[mart],
            )
        )
    write_manifest(
        folder, run_id, published_at, exported.as_of_date, exported.reporting_timezone, result
    )
    _switch_current(warehouse.parquet, folder)
    return result


def _switch_current(parquet: Path, folder: Path) -> None:
    """Point `current` at `folder` in one rename, then drop all but the newest run folders."""
    link = parquet / "current"
    staged = parquet / f".current.{os.getpid()}"
    staged.unlink(missing_ok=True)
    staged.symlink_to(folder.relative_to(parquet))
    os.replace(staged, link)
    runs = sorted(
        (p for p in (parquet / "runs").iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime
    )
    for old in runs[: -(KEPT_PARQUET_RUNS + 1)]:
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)


def publish(
    warehouse: Warehouse,
    run_id: str,
    held_back: Mapping[str, str] | None = None,
    build_settings: Mapping[str, str] | None = None,
) -> PublishResult:
    """Serve the marts of the state: write a fresh served file and Parquet set, then switch
    both in. `held_back` (mart -> name of the gate that holds it back) keeps those marts at
    their previously served version (a mart never served before is left out). Records
    `build_settings` and the publish in the state, unless None."""
    import duckdb

    held_back = dict(held_back or {})
    published_at = datetime.now(UTC).replace(tzinfo=None)
    target = warehouse.publishing
    for leftover in (target, _wal(target)):
        leftover.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(target)) as con:
            con.execute(f"attach {_literal(str(warehouse.state))} as build (read_only)")
            if held_back and warehouse.published.exists():
                con.execute(f"attach {_literal(str(warehouse.published))} as previous (read_only)")
            elif held_back:
                con.execute("attach ':memory:' as previous")
            result = _write_served(con, warehouse, run_id, published_at, held_back)
            con.execute("detach build")
            if held_back:
                con.execute("detach previous")
            folder = _export_parquet(con, warehouse, result, run_id, published_at)
            con.execute("checkpoint")  # the renamed file is complete on its own
    except duckdb.Error as exc:
        target.unlink(missing_ok=True)
        raise PublishError(f"publish: {' '.join(str(exc).split())}") from None
    os.replace(target, warehouse.published)
    _switch_current(warehouse.parquet, folder)
    if build_settings is not None:
        # Held-back marts mean a gate found the batch wrong: the state is not trusted as a
        # base for the next incremental run (runner.needs_full_refresh).
        status = PUBLISHED if not result.held_back else f"held back in {run_id}"
        write_build_settings(warehouse.state, {**build_settings, BUILD_STATUS: status})
    return result
