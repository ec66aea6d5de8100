"""Synthetic raw data in the shape of RAW_CONTRACT.md: one folder of Parquet files per table.

`generate()` draws a population of accounts and users (saas_lifecycle.generate_population),
then writes each raw table: `tracks` one window of days at a time, partitioned by the date
it was received (`tracks/received_date=YYYY-MM-DD/part-0.parquet`), the others as
`<table>/part-0.parquet`,
plus `_manifest.json` with the parameters, row counts and injected bad rows per rule.

Same arguments, same bytes: every random draw comes from a stream seeded by (seed, table,
batch of users, window of days), nothing depends on the clock, and rows are written in a
fixed order.

Files declare every column nullable: a Parquet column declared required cannot hold the
nulls of the deliberately bad rows, and real loaders write optional columns too. The
contract's "not null" is a data rule that quarantine checks, not a storage constraint.

What is dirty at `dirty_rate` > 0: per rule, that share of each table's clean rows (at
least one row) is added as bad copies breaking only that rule, plus unknown event names.
What happens at every rate, 0 included, because delivery works that way: re-delivered
duplicates of ids, late arrivals, CDC duplicate rows, orphan user ids in tracks, null
optional values.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from saas_lifecycle.contract import RAW_TABLES
from saas_lifecycle.generate_app import accounts_table, users_table
from saas_lifecycle.generate_billing import billing_table
from saas_lifecycle.generate_columns import rng_for
from saas_lifecycle.generate_dirty import Generated
from saas_lifecycle.generate_engagement import emails_table, surveys_table, tickets_table
from saas_lifecycle.generate_population import Population, build_population
from saas_lifecycle.generate_reference import load_reference
from saas_lifecycle.generate_tracks import TracksGenerator, TracksWindow

MANIFEST = "_manifest.json"
PARTITION_KEY = "received_date"
# Seconds between two progress lines while tracks are written (a 100M-event run takes minutes).
PROGRESS_SECONDS = 5.0
# Unique ids: no dictionary (it would overflow), no compression (random hex does not shrink).
UNIQUE_IDS = {"event_id", "billing_event_id", "response_id", "email_event_id"}


@dataclass
class GenerationStats:
    """What `generate()` wrote (the manifest holds the same counts and the parameters)."""

    out_dir: Path
    rows: dict[str, int]  # rows written per raw table
    events: int  # rows written to tracks
    seconds: float
    events_per_second: float
    injected: dict[str, dict[str, int]]  # table -> quarantine rule -> injected bad rows


def file_schema(table: str) -> pa.Schema:
    """The contract's schema (names, order, types) with every column optional."""
    return pa.schema([f.with_nullable(True) for f in RAW_TABLES[table].arrow_schema()])


def _writer_options(schema: pa.Schema) -> dict[str, object]:
    """Parquet settings that keep writing cheap: ids plain and uncompressed, timestamps delta
    encoded (they arrive nearly sorted), min/max statistics only on timestamps (where readers
    filter; on dictionary strings they cost a third of the write time).
    The Arrow schema is not stored, so dictionary-encoded strings read back as plain strings.
    """
    strings = [f.name for f in schema if _is_string(f.type)]
    times = [f.name for f in schema if pa.types.is_timestamp(f.type)]
    return {
        "store_schema": False,
        "use_dictionary": [c for c in strings if c not in UNIQUE_IDS],
        "column_encoding": {c: "DELTA_BINARY_PACKED" for c in times},
        "compression": {f.name: "none" if f.name in UNIQUE_IDS else "snappy" for f in schema},
        "write_statistics": times,
    }


def _is_string(data_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(data_type):
        return pa.types.is_string(data_type.value_type)
    return pa.types.is_string(data_type)


# Every table but tracks: (population, seed, dirty_rate, schema) -> rows to write.
BUILDERS: dict[str, Callable[[Population, int, float, pa.Schema], Generated]] = {
    "users": users_table,
    "accounts": accounts_table,
    "billing_events": billing_table,
    "survey_responses": surveys_table,
    "support_tickets": tickets_table,
    "email_events": emails_table,
}


def _selected(tables: Iterable[str] | None) -> list[str]:
    if tables is None:
        return list(RAW_TABLES)
    wanted = set(tables)
    unknown = sorted(wanted - set(RAW_TABLES))
    if unknown:
        raise ValueError(f"unknown raw tables {unknown}; known: {list(RAW_TABLES)}")
    return [name for name in RAW_TABLES if name in wanted]  # contract order, not caller's


class _PartitionedWriter:
    """One Parquet file per received date; each batch of users adds a row group to it."""

    def __init__(self, folder: Path, start: date, schema: pa.Schema) -> None:
        self.folder = folder
        self.start = start
        self.schema = schema
        self.options = _writer_options(schema)
        self.writers: dict[int, pq.ParquetWriter] = {}
        self.rows = 0

    def write(self, window: TracksWindow) -> None:
        for day, table in window.tables.items():
            self._writer(day).write_table(table)
            self.rows += table.num_rows

    def _writer(self, day: int) -> pq.ParquetWriter:
        if day not in self.writers:
            label = (self.start + timedelta(days=day)).isoformat()
            folder = self.folder / f"{PARTITION_KEY}={label}"
            folder.mkdir(parents=True, exist_ok=True)
            self.writers[day] = pq.ParquetWriter(
                folder / "part-0.parquet", self.schema, **self.options
            )
        return self.writers[day]

    def close(self) -> None:
        for day in sorted(self.writers):
            self.writers[day].close()


class _Progress:
    """Progress lines for a long generation, at most one per PROGRESS_SECONDS."""

    def __init__(self, report: Callable[[str], None] | None) -> None:
        self.report = report
        self.last = time.perf_counter()

    def __call__(self, line: str, force: bool = False) -> None:
        if self.report is None:
            return
        now = time.perf_counter()
        if force or now - self.last >= PROGRESS_SECONDS:
            self.last = now
            self.report(line)


def _write_tracks(
    folder: Path,
    pop: Population,
    seed: int,
    dirty_rate: float,
    start: date,
    progress: _Progress,
) -> tuple[int, dict[str, int], dict[str, int]]:
    """Generate and write tracks; writing a window overlaps generating the next one."""
    generator = TracksGenerator(pop, seed, dirty_rate, file_schema("tracks"))
    writer = _PartitionedWriter(folder, start, generator.schema)
    injected: dict[str, int] = {}
    notes: dict[str, int] = {}
    pending: Future[None] | None = None
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            for window in generator.windows():
                for target, counts in ((injected, window.injected), (notes, window.notes)):
                    for key, value in counts.items():
                        target[key] = target.get(key, 0) + value
                if pending is not None:
                    pending.result()
                    progress(f"  tracks: {writer.rows:,} events written so far")
                pending = pool.submit(writer.write, window)
            if pending is not None:
                pending.result()
                progress(f"  tracks: {writer.rows:,} events written so far")
        finally:
            writer.close()
    return writer.rows, injected, notes


def _write_table(folder: Path, table: pa.Table) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "part-0.parquet", **_writer_options(table.schema))


def generate(
    out_dir: Path,
    users: int = 2000,
    days: int = 180,
    start: date = date(2025, 1, 1),
    seed: int = 42,
    dirty_rate: float = 0.005,
    tables: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> GenerationStats:
    """Write the raw tables (all, or those named in `tables`) under `out_dir`; `progress`,
    when given, receives a line per table written and every few seconds while tracks are.

    Table folders already in `out_dir` are replaced, and raw-table folders not written this
    time are removed, so the directory always shows one consistent generation.
    """
    began = time.perf_counter()
    if users < 1 or days < 1:
        raise ValueError("users and days must be at least 1")
    if not 0 <= dirty_rate <= 1:
        raise ValueError("dirty_rate must be between 0 and 1")
    selected = _selected(tables)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in RAW_TABLES:
        shutil.rmtree(out / name, ignore_errors=True)

    pop = build_population(rng_for(seed, "population"), load_reference(), users, days, start)
    rows: dict[str, int] = {}
    injected: dict[str, dict[str, int]] = {}
    notes: dict[str, dict[str, int]] = {}  # odd but not bad rows: duplicates, late, ...
    report = _Progress(progress)
    for name in selected:
        report(f"  writing {name} ...", force=True)
        if name == "tracks":
            count, bad, odd = _write_tracks(out / name, pop, seed, dirty_rate, start, report)
        else:
            result = BUILDERS[name](pop, seed, dirty_rate, file_schema(name))
            _write_table(out / name, result.table)
            count, bad, odd = result.table.num_rows, result.injected, result.notes
        rows[name], injected[name], notes[name] = count, bad, odd

    manifest = {
        "generator": "saas_lifecycle.generate",
        "parameters": {
            "users": users,
            "days": days,
            "start": start.isoformat(),
            "end": (start + timedelta(days=days)).isoformat(),
            "seed": seed,
            "dirty_rate": dirty_rate,
            "tables": selected,
        },
        "rows": rows,
        "injected": injected,
        "not_bad": notes,
        "accounts": int(pop.acc_created.size),
        "orphan_user_ids": int(pop.n_total - pop.n_users),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    seconds = time.perf_counter() - began
    events = rows.get("tracks", 0)
    return GenerationStats(
        out_dir=out,
        rows=rows,
        events=events,
        seconds=seconds,
        events_per_second=events / seconds if seconds > 0 else 0.0,
        injected=injected,
    )
