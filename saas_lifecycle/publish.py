"""Write-audit-publish for the DuckDB warehouse.

A run builds into a private copy beside the published database (`<name>.building.duckdb`)
and, only when every layer passed its gates, replaces the published file with it in one
atomic rename. BI readers therefore only ever see whole marts: a reader connected during a
run keeps reading the previous file (its open handle survives the rename), a failed or
killed run leaves the published file untouched, and the next run discards the leftover.
One run at a time holds an exclusive lock on the database.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


class LockedError(Exception):
    """Another run holds the warehouse."""


@dataclass(frozen=True)
class Warehouse:
    """The files of one warehouse, named after its published DuckDB file."""

    published: Path

    def _sibling(self, suffix: str) -> Path:
        return self.published.with_name(self.published.stem + suffix)

    @property
    def building(self) -> Path:
        """Where a run builds before it publishes."""
        return self._sibling(".building.duckdb")

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


def start_build(warehouse: Warehouse, incremental: bool = True) -> Path:
    """Discard what an earlier failed or killed run left and return the build database.

    An incremental build starts from a copy of the published database, so its incremental
    models only add the new batch; a full refresh (or a first run) starts from nothing.
    The published file is never written to: a failed run leaves it as it was.
    """
    for leftover in (warehouse.building, _wal(warehouse.building)):
        leftover.unlink(missing_ok=True)
    if incremental and warehouse.published.exists():
        # copyfile uses the kernel's in-place copy (copy_file_range/sendfile) where it can.
        shutil.copyfile(warehouse.published, warehouse.building)
    return warehouse.building


# The table of a built database that records the vars its incremental tables were built with.
BUILD_SETTINGS_TABLE = "main.lifecycle_build_settings"


def read_build_settings(database: Path) -> dict[str, str] | None:
    """The recorded build settings of a database, or None (no file, or built before them)."""
    import duckdb

    if not database.exists():
        return None
    with duckdb.connect(str(database), read_only=True) as con:
        try:
            rows = con.execute(f"select name, value from {BUILD_SETTINGS_TABLE}").fetchall()
        except duckdb.CatalogException:
            return None
    return dict(rows)


def write_build_settings(database: Path, values: dict[str, str]) -> None:
    """Record the settings a build used (replacing what the copied database recorded)."""
    import duckdb

    with duckdb.connect(str(database)) as con:
        con.execute(f"create or replace table {BUILD_SETTINGS_TABLE} (name varchar, value varchar)")
        con.executemany(f"insert into {BUILD_SETTINGS_TABLE} values (?, ?)", sorted(values.items()))


def publish(warehouse: Warehouse) -> None:
    """Make the build the published database in one atomic rename."""
    import duckdb

    # Fold any write-ahead log into the file so the renamed file is complete on its own.
    with duckdb.connect(str(warehouse.building)) as con:
        con.execute("checkpoint")
    os.replace(warehouse.building, warehouse.published)
