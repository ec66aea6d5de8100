"""The guarded run end to end: bad inputs are quarantined or block the run, never half-published.

One module-scoped fixture generates a good raw dataset and publishes it with one
`lifecycle run`; it keeps a snapshot of every mart's rows. Every test starts from a copy of
that published database (so tests are independent), breaks a copy of the raw data in one way
and checks the outcome the guarded run promises:

- blocked: exit code 1, the last stderr line names the failing layer (the schema check, or
  the raw, staging or marts validation), the report on stdout names the failing
  expectation(s), and the published marts are unchanged row for row;
- quarantined and published: exit code 0, the bad rows sit in their quarantine table with
  the rule they broke, none reached staging, and the new build is the published database.

Repeatability: a second run on the same data gives the same marts; a run while another
holds the database fails fast; a run killed mid-build leaves the published marts whole and
the next run succeeds.

dbt runs in a subprocess (see test_run_e2e.py), with its target/, logs/ and the DuckDB temp
dir in the test's tmp dir.
"""

from __future__ import annotations

import math
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from repo_process import run_in_repo

from saas_lifecycle import settings
from saas_lifecycle.publish import Warehouse

GOOD = {"users": 150, "days": 45, "seed": 21, "dirty_rate": 0.0, "start": date(2025, 1, 1)}
# Every model file under models/marts builds one served mart.
MART_COUNT = len(list((settings.REPO_ROOT / "models" / "marts").glob("*/*.sql")))
RUN_TIMEOUT_SECONDS = 900
# A second run on a held database must give up at once, not wait for the lock.
FAIL_FAST_SECONDS = 30
# A day inside the generated date range (tracks are partitioned by received date).
SOME_DAY = date(2025, 1, 20)
# Days around SOME_DAY see 150 to 450 events, below the default median the gap gate
# judges from (a product this small sets its own, README: quality vars).
JUDGE_SMALL_DAYS = ("--vars", "{daily_volume_min_median_events: 100}")
# Default quarantine threshold of the guarded run (var quarantine_max_share).
QUARANTINE_MAX_SHARE = 0.01
# Rows an optional small table is padded to so that two bad rows stay under the threshold.
PADDED_ROWS = 320

SCHEMA_FAILURE = "lifecycle run failed: raw table"
# The schema check's line for a file that is not Parquet at all (names the file, not a table).
UNREADABLE_FILE = "lifecycle run failed: raw file is not readable Parquet"
ANOTHER_RUN = "another lifecycle run is using"
# A blocking failure's line in the report on stdout (observed value after it, then samples).
REPORT_LINE = "BLOCKING [{}] {}"
VALIDATION_FAILURE = re.compile(
    r"^lifecycle run failed: (?P<layer>raw|staging|marts) validation: "
    r"(?P<count>\d+) blocking expectation\(s\) failed: (?P<names>.+?)"
    # A failure that does not reach every mart: the others were published.
    r"(?:; the other marts were published, held back: (?P<held_back>.+))?$"
)

Snapshot = dict[str, list[tuple]]
Transform = Callable[[pa.Table, Path], pa.Table | None]


# ---------------------------------------------------------------------------- helpers


def cli_env(work: Path) -> dict[str, str]:
    """The environment of a `lifecycle` subprocess: dbt and DuckDB scratch under `work`."""
    env = {
        **os.environ,
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        settings.ENV_DUCKDB_TEMP_DIR: str(work / "duckdb_tmp"),
    }
    for inherited in (settings.ENV_RAW_DIR, settings.ENV_DATABASE):
        env.pop(inherited, None)  # the command line names both explicitly
    return env


def cli_args(raw: Path, database: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "saas_lifecycle.cli",
        "run",
        "--raw-dir",
        str(raw),
        "--database",
        str(database),
        *extra,
    ]


def run_cli(
    raw: Path, database: Path, work: Path, *extra: str, timeout: float = RUN_TIMEOUT_SECONDS
) -> subprocess.CompletedProcess[str]:
    """`lifecycle run` on `raw` into `database` in a fresh interpreter."""
    return run_in_repo(cli_args(raw, database, *extra), cli_env(work), timeout)


def output(done: subprocess.CompletedProcess[str]) -> str:
    """The tail of a run's output, for assertion messages."""
    return f"--- stdout\n{done.stdout[-6000:]}\n--- stderr\n{done.stderr[-3000:]}"


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def snapshot_marts(database: Path) -> Snapshot:
    """Every table of schema marts with its rows, sorted (read-only connection)."""
    with duckdb.connect(str(database), read_only=True) as con:
        names = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables"
                " where table_schema = ? and table_catalog = current_database()"
                " order by table_name",
                [settings.MARTS_SCHEMA],
            ).fetchall()
        ]
        return {
            name: sorted(con.execute(f'select * from marts."{name}"').fetchall(), key=repr)
            for name in names
        }


def marts_differences(database: Path, expected: Snapshot) -> list[str]:
    """Marts of `database` that are missing, extra or not equal row for row to `expected`."""
    found = snapshot_marts(database)
    names = sorted(set(found) | set(expected))
    return [name for name in names if found.get(name) != expected.get(name)]


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


def table_files(raw: Path, table: str) -> list[Path]:
    return sorted(p for p in (raw / table).glob("**/*.parquet") if p.is_file())


def read_file(path: Path) -> pa.Table:
    """One Parquet file as written (no partition columns inferred from its folder)."""
    return pq.ParquetFile(path).read()


def rewrite_table(raw: Path, table: str, transform: Transform) -> None:
    """Apply `transform(table, path)` to every Parquet file of a raw table and write it back.

    Returning None deletes the file (and its partition folder when that becomes empty).
    """
    files = table_files(raw, table)
    assert files, f"no files for raw table {table} in {raw}"
    for path in files:
        changed = transform(read_file(path), path)
        if changed is None:
            path.unlink()
            if path.parent != raw / table and not any(path.parent.iterdir()):
                path.parent.rmdir()
        else:
            pq.write_table(changed, path)


def copy_raw(source: Path, tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    shutil.copytree(source, raw)
    return raw


def shifted(column: pa.ChunkedArray, delta: timedelta) -> pa.ChunkedArray:
    """A timestamp column moved by `delta` (time zone and unit kept)."""
    moved = pc.add(column, pa.scalar(delta, type=pa.duration(column.type.unit)))
    return moved.cast(column.type)


def replaced(table: pa.Table, name: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    """`table` with column `name` replaced by `values` (whose type it takes)."""
    index = table.schema.get_field_index(name)
    return table.set_column(index, pa.field(name, values.type), values)


def on_day(column: pa.ChunkedArray, day: date) -> pa.ChunkedArray:
    """True where a UTC timestamp falls on `day`."""
    start = datetime(day.year, day.month, day.day)
    end = start + timedelta(days=1)
    naive = column.cast(pa.timestamp(column.type.unit))
    return pc.and_(
        pc.greater_equal(naive, pa.scalar(start, type=naive.type)),
        pc.less(naive, pa.scalar(end, type=naive.type)),
    )


def string_ids(prefix: str, count: int) -> pa.Array:
    return pa.array([f"{prefix}-{i}" for i in range(count)], type=pa.string())


def pad_table(table: pa.Table, rows: int, clone: Callable[[pa.Table, int], pa.Table]) -> pa.Table:
    """`table` followed by `clone(table, k)` for k = 1, 2, ... until it has at least `rows`."""
    copies = math.ceil(rows / table.num_rows) - 1
    return pa.concat_tables([table, *(clone(table, k) for k in range(1, copies + 1))])


# ---------------------------------------------------------------------------- fixture


@dataclass(frozen=True)
class Published:
    """A good raw dataset, the database one run published from it, and its marts."""

    raw: Path
    database: Path
    marts: Snapshot
    work: Path

    def copy_database(self, tmp_path: Path) -> Path:
        """The served database and the build state beside it copied into a test's own
        folder (so that the next run there is incremental, as in production)."""
        database = tmp_path / "lifecycle.duckdb"
        shutil.copy2(self.database, database)
        shutil.copy2(Warehouse(self.database).state, Warehouse(database).state)
        return database


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    from saas_lifecycle.generate import generate

    work = tmp_path_factory.mktemp("gates")
    raw = work / "raw"
    generate(raw, **GOOD)
    database = work / "published" / "lifecycle.duckdb"
    database.parent.mkdir()
    done = run_cli(raw, database, work)
    assert done.returncode == 0, output(done)
    marts = snapshot_marts(database)
    assert len(marts) == MART_COUNT, sorted(marts)
    assert any(marts.values()), "every mart is empty"
    return Published(raw, database, marts, work)


# ---------------------------------------------------------------------------- outcomes


def assert_unchanged(database: Path, published: Published) -> None:
    assert database.exists(), f"the published database {database} is gone"
    assert marts_differences(database, published.marts) == []


def assert_schema_blocked(
    done: subprocess.CompletedProcess[str],
    table: str,
    database: Path,
    published: Published,
    *other_prefixes: str,
) -> str:
    """Blocked by the raw schema check before anything was built; returns the stderr line."""
    assert done.returncode == 1, output(done)
    line = last_line(done.stderr)
    assert line.startswith((f"{SCHEMA_FAILURE} '{table}'", *other_prefixes)), output(done)
    assert "Traceback" not in done.stderr, output(done)
    assert "dbt " not in done.stdout, output(done)
    assert not building_path(database).exists()
    assert_unchanged(database, published)
    return line


def assert_validation_blocked(
    done: subprocess.CompletedProcess[str],
    layer: str,
    expectation: str,
    database: Path,
    published: Published,
) -> list[str]:
    """Blocked by a layer's validation with `expectation` among the failures; the report on
    stdout gives each failing expectation with its layer, observed value and sample rows, and
    the published marts are unchanged. Returns the failing expectation names."""
    assert done.returncode == 1, output(done)
    assert "Traceback" not in done.stderr, output(done)
    line = last_line(done.stderr)
    match = VALIDATION_FAILURE.match(line)
    assert match, f"unexpected last stderr line {line!r}\n{output(done)}"
    assert match["layer"] == layer, output(done)
    names = [
        name.strip()
        for name in re.sub(r",? and \d+ more$", "", match["names"]).split(",")
        if name.strip()
    ]
    assert names and int(match["count"]) >= len(names), line
    assert expectation in names, line
    report = done.stdout.splitlines()
    for name in names:
        found = [i for i, text in enumerate(report) if REPORT_LINE.format(layer, name) in text]
        assert found, f"the report does not list {name}\n{output(done)}"
        head = report[found[0]]
        observed = head.split(REPORT_LINE.format(layer, name), 1)[1]
        assert re.search(r":\s*\S", observed), f"no observed value: {head!r}"
        sample = report[found[0] + 1] if found[0] + 1 < len(report) else ""
        assert sample.startswith(" ") and "=" in sample, f"no sample rows under {head!r}"
    assert_unchanged(database, published)
    return names


def building_path(database: Path) -> Path:
    """Where the guarded run writes the next served file before renaming it over D."""
    return Warehouse(database).publishing


def lock_path(database: Path) -> Path:
    return database.with_name(f"{database.name}.lock")


# ---------------------------------------------------------------------------- schema check


@pytest.mark.e2e
def test_missing_column_is_blocked_by_the_schema_check(
    published: Published, tmp_path: Path
) -> None:
    raw = copy_raw(published.raw, tmp_path)
    database = published.copy_database(tmp_path)
    target = table_files(raw, "tracks")[3]
    pq.write_table(read_file(target).drop_columns(["event_name"]), target)

    done = run_cli(raw, database, tmp_path)
    line = assert_schema_blocked(done, "tracks", database, published)
    assert "missing column 'event_name'" in line and target.name in line


@pytest.mark.e2e
def test_renamed_column_is_blocked_by_the_schema_check(
    published: Published, tmp_path: Path
) -> None:
    raw = copy_raw(published.raw, tmp_path)
    database = published.copy_database(tmp_path)

    def rename(table: pa.Table, _: Path) -> pa.Table:
        return table.rename_columns(
            ["signup_at" if name == "created_at" else name for name in table.column_names]
        )

    rewrite_table(raw, "users", rename)
    done = run_cli(raw, database, tmp_path)
    line = assert_schema_blocked(done, "users", database, published)
    assert "missing column 'created_at'" in line


@pytest.mark.e2e
def test_changed_type_is_blocked_by_the_schema_check(published: Published, tmp_path: Path) -> None:
    raw = copy_raw(published.raw, tmp_path)
    database = published.copy_database(tmp_path)

    def as_text(table: pa.Table, _: Path) -> pa.Table:
        return replaced(table, "mrr_amount", table["mrr_amount"].cast(pa.string()))

    rewrite_table(raw, "billing_events", as_text)
    done = run_cli(raw, database, tmp_path)
    line = assert_schema_blocked(done, "billing_events", database, published)
    assert "column 'mrr_amount' has type string" in line


@pytest.mark.e2e
def test_truncated_parquet_file_is_blocked_by_the_schema_check(
    published: Published, tmp_path: Path
) -> None:
    raw = copy_raw(published.raw, tmp_path)
    database = published.copy_database(tmp_path)
    target = table_files(raw, "tracks")[10]
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])  # a load cut off mid-file: no footer

    done = run_cli(raw, database, tmp_path)
    line = assert_schema_blocked(done, "tracks", database, published, UNREADABLE_FILE)
    assert f"{target.parent.name}/{target.name}" in line


@pytest.mark.e2e
def test_corrupt_data_pages_block_the_run(published: Published, tmp_path: Path) -> None:
    """A file whose footer is intact but whose data pages are garbage passes the footer-only
    schema check; reading it later must still end in a clean failure, not a publish."""
    raw = copy_raw(published.raw, tmp_path)
    database = published.copy_database(tmp_path)
    target = table_files(raw, "tracks")[10]
    data = bytearray(target.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little")
    data[4 : len(data) - 8 - footer] = b"\xff" * (len(data) - 12 - footer)
    target.write_bytes(bytes(data))
    assert pq.read_schema(target).names == read_file(table_files(raw, "tracks")[0]).column_names

    done = run_cli(raw, database, tmp_path)
    assert done.returncode == 1, output(done)
    assert last_line(done.stderr).startswith("lifecycle run failed: "), output(done)
    assert "Traceback" not in done.stderr, output(done)
    assert_unchanged(database, published)


# ---------------------------------------------------------------------------- raw validation


@pytest.mark.e2e
def test_empty_required_table_is_blocked_at_raw(published: Published, tmp_path: Path) -> None:
    raw = copy_raw(published.raw, tmp_path)
    database = published.copy_database(tmp_path)
    rewrite_table(raw, "users", lambda table, _: table.slice(0, 0))
    assert sum(pq.ParquetFile(p).metadata.num_rows for p in table_files(raw, "users")) == 0

    done = run_cli(raw, database, tmp_path)
    assert_validation_blocked(done, "raw", "users.has_rows", database, published)


@pytest.mark.e2e
def test_a_missing_day_of_events_is_blocked_at_raw(published: Published, tmp_path: Path) -> None:
    """No event received on SOME_DAY, and none that happened on it arrives later either."""
    raw = copy_raw(published.raw, tmp_path)
    database = published.copy_database(tmp_path)
    partition = f"received_date={SOME_DAY.isoformat()}"
    assert (raw / "tracks" / partition).is_dir()

    def drop_day(table: pa.Table, path: Path) -> pa.Table | None:
        if path.parent.name == partition:
            return None
        return table.filter(pc.invert(on_day(table["occurred_at"], SOME_DAY)))

    rewrite_table(raw, "tracks", drop_day)
    # The day lies in history an incremental run does not reload: replaced raw data needs a
    # full refresh (README), which validates every received day again.
    done = run_cli(raw, database, tmp_path, "--full-refresh", *JUDGE_SMALL_DAYS)
    assert_validation_blocked(done, "raw", "tracks.daily_volume.gap", database, published)


@pytest.mark.e2e
def test_an_acknowledged_missing_day_publishes_as_a_warning(
    published: Published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same missing day, acknowledged in a reviewed file: the run publishes, the report
    and the run history carry the reason and author, and an entry that matched nothing is
    reported."""
    raw = copy_raw(published.raw, tmp_path)
    database = published.copy_database(tmp_path)
    partition = f"received_date={SOME_DAY.isoformat()}"
    rewrite_table(raw, "tracks", lambda table, path: None if path.parent.name == partition
                  else table.filter(pc.invert(on_day(table["occurred_at"], SOME_DAY))))  # fmt: skip
    acks = tmp_path / "acknowledgements.yml"
    acks.write_text(
        "acknowledgements:\n"
        f"  - {{expectation: tracks.daily_volume.gap, from: {SOME_DAY}, to: {SOME_DAY},\n"
        "     reason: collector outage INC-7, author: jane}\n"
        "  - {expectation: users.*, batch: 2030-01-01, reason: stale, author: bob}\n"
    )
    monkeypatch.setenv("LIFECYCLE_ACKNOWLEDGEMENTS", str(acks))
    done = run_cli(raw, database, tmp_path, "--full-refresh", *JUDGE_SMALL_DAYS)
    assert done.returncode == 0, output(done)
    assert "ACKNOWLEDGED [raw] tracks.daily_volume.gap" in done.stdout
    assert "acknowledged: collector outage INC-7 (jane)" in done.stdout
    assert "acknowledgement users.* for batch 2030-01-01 matched no failure" in done.stdout
    from saas_lifecycle.publish import Warehouse

    assert query(
        Warehouse(database).audit,
        "select dates, acknowledged from audit.validation_results"
        " where expectation = 'tracks.daily_volume.gap' and not success",
    ) == [(SOME_DAY.isoformat(), "collector outage INC-7 (jane)")]
    from saas_lifecycle.report.build import build_report

    page = build_report(database, out=tmp_path / "report.html").path.read_text()
    assert (
        f"<code>[raw] tracks.daily_volume.gap</code> on {SOME_DAY.isoformat()}: acknowledged,"
        " collector outage INC-7 (jane)" in page
    )


@pytest.mark.e2e
def test_a_duplicate_flood_is_blocked_at_raw(published: Published, tmp_path: Path) -> None:
    """Every tracks row delivered five times (re-deliveries received a few minutes later)."""
    raw = copy_raw(published.raw, tmp_path)
    database = published.copy_database(tmp_path)

    def flood(table: pa.Table, _: Path) -> pa.Table:
        copies = [
            replaced(table, "received_at", shifted(table["received_at"], timedelta(minutes=k)))
            for k in range(1, 5)
        ]
        return pa.concat_tables([table, *copies])

    rewrite_table(raw, "tracks", flood)
    done = run_cli(raw, database, tmp_path)
    assert_validation_blocked(done, "raw", "tracks.event_id.duplicate_share", database, published)


@pytest.mark.e2e
def test_a_batch_shifted_by_a_timezone_is_blocked_at_raw(
    published: Published, tmp_path: Path
) -> None:
    """occurred_at written as local time (UTC+8) labelled UTC: within the 24 h clock-skew
    allowance, so no row is quarantined, but the median delivery latency gives it away."""
    raw = copy_raw(published.raw, tmp_path)
    database = published.copy_database(tmp_path)

    def to_local(table: pa.Table, _: Path) -> pa.Table:
        return replaced(table, "occurred_at", shifted(table["occurred_at"], timedelta(hours=8)))

    rewrite_table(raw, "tracks", to_local)
    done = run_cli(raw, database, tmp_path)
    assert_validation_blocked(done, "raw", "tracks.delivery_latency.median", database, published)


# ---------------------------------------------------------------------------- staging validation


@pytest.mark.e2e
def test_a_batch_from_the_future_is_quarantined_and_blocks_at_staging(
    published: Published, tmp_path: Path
) -> None:
    """A whole day's tracks file with occurred_at three days after received_at: every row is
    quarantined (occurred_after_received) and that share blocks the run at staging."""
    raw = copy_raw(published.raw, tmp_path)
    database = published.copy_database(tmp_path)
    partition = f"received_date={SOME_DAY.isoformat()}"
    future_rows = 0

    def to_future(table: pa.Table, path: Path) -> pa.Table:
        nonlocal future_rows
        if path.parent.name != partition:
            return table
        future_rows += table.num_rows
        return replaced(table, "occurred_at", shifted(table["received_at"], timedelta(days=3)))

    rewrite_table(raw, "tracks", to_future)
    total = sum(pq.ParquetFile(p).metadata.num_rows for p in table_files(raw, "tracks"))
    assert future_rows / total > QUARANTINE_MAX_SHARE, (future_rows, total)

    done = run_cli(raw, database, tmp_path)
    assert_validation_blocked(done, "staging", "tracks.quarantined_share", database, published)


@pytest.mark.e2e
def test_quarantine_share_above_the_threshold_blocks_at_staging(
    published: Published, tmp_path: Path
) -> None:
    """20 % of users rows lose their account_id (a null share that only warns at raw):
    over the share and over the 20 bad rows of evidence (var quality_min_bad_rows)."""
    raw = copy_raw(published.raw, tmp_path)
    database = published.copy_database(tmp_path)
    nulled = 0

    def null_account(table: pa.Table, _: Path) -> pa.Table:
        nonlocal nulled
        count = math.ceil(table.num_rows * 0.2)
        nulled += count
        bad = pa.array([i < count for i in range(table.num_rows)])
        return replaced(
            table, "account_id", pc.if_else(bad, pa.scalar(None, pa.string()), table["account_id"])
        )

    rewrite_table(raw, "users", null_account)
    assert nulled >= 20

    done = run_cli(raw, database, tmp_path)
    assert_validation_blocked(done, "staging", "users.quarantined_share", database, published)


# ---------------------------------------------------------------- quarantined and published


@pytest.mark.e2e
def test_single_broken_clocks_and_a_few_bad_tickets_never_stop_a_run(
    published: Published, tmp_path: Path
) -> None:
    """One event whose device clock says 1970, one received (and occurred) in 2099, one
    billing event in 1970, and two tickets with an unknown status in a small ticket table (a
    share far over 1 %, but two rows are no evidence of a broken delivery): each is
    quarantined with its rule and the run publishes."""
    raw = copy_raw(published.raw, tmp_path)
    database = published.copy_database(tmp_path)
    partition = f"received_date={SOME_DAY.isoformat()}"

    def clock(table: pa.Table, year: int) -> pa.ChunkedArray:
        kind = table["occurred_at"].type
        return pa.chunked_array([pa.array([datetime(year, 1, 1, 12)] * table.num_rows, kind)])

    def broken_clocks(table: pa.Table, path: Path) -> pa.Table:
        if path.parent.name != partition:
            return table
        old = replaced(table.slice(0, 1), "event_id", pa.array(["bad-clock-1970"]))
        old = replaced(old, "occurred_at", clock(old, 1970))
        future = replaced(table.slice(1, 1), "event_id", pa.array(["bad-clock-2099"]))
        future = replaced(future, "occurred_at", clock(future, 2099))
        future = replaced(future, "received_at", clock(future, 2099))
        return pa.concat_tables([table, old, future])

    def old_billing(table: pa.Table, path: Path) -> pa.Table:
        if path != table_files(raw, "billing_events")[0]:
            return table
        bad = replaced(table.slice(0, 1), "billing_event_id", pa.array(["bad-billing-1970"]))
        return pa.concat_tables([table, replaced(bad, "occurred_at", clock(bad, 1970))])

    def bad_tickets(table: pa.Table, path: Path) -> pa.Table:
        if path != table_files(raw, "support_tickets")[0]:
            return table
        bad = replaced(table.slice(0, 2), "ticket_id", pa.array(["bad-ticket-1", "bad-ticket-2"]))
        return pa.concat_tables([table, replaced(bad, "status", pa.array(["lost", "lost"]))])

    rewrite_table(raw, "tracks", broken_clocks)
    rewrite_table(raw, "billing_events", old_billing)
    rewrite_table(raw, "support_tickets", bad_tickets)
    tickets = sum(pq.ParquetFile(p).metadata.num_rows for p in table_files(raw, "support_tickets"))
    assert 2 / tickets > QUARANTINE_MAX_SHARE, tickets

    done = run_cli(raw, database, tmp_path)
    assert done.returncode == 0, output(done)
    state = Warehouse(database).state  # quarantine and staging are build state, never served
    assert query(
        state,
        "select event_id, quarantine_rule, load_partition"
        " from quarantine.quarantine_product__tracks order by event_id",
    ) == [
        ("bad-clock-1970", "occurred_at_out_of_range", SOME_DAY),
        ("bad-clock-2099", "received_at_out_of_range", date(1970, 1, 1)),
    ]
    assert query(
        state,
        "select billing_event_id, quarantine_rule from"
        " quarantine.quarantine_billing__billing_events",
    ) == [("bad-billing-1970", "occurred_at_out_of_range")]
    assert query(
        state,
        "select ticket_id, quarantine_rule from quarantine.quarantine_support__support_tickets"
        " order by ticket_id",
    ) == [("bad-ticket-1", "invalid_status"), ("bad-ticket-2", "invalid_status")]
    # The 2099 clock did not move the incremental watermark of the staged events.
    assert query(state, "select max(received_date) < date '2026-01-01' from "
                 "staging.stg_product__tracks") == [(True,)]  # fmt: skip


def assert_quarantined_not_staged(
    database: Path, target: tuple[str, str, str], bad_ids: list[str], leak_condition: str
) -> None:
    """Every bad row sits in quarantine with its rule, and none reached staging. `target` is
    (<source>__<table>, key column, rule)."""
    model, key, rule = target
    quarantined = query(
        Warehouse(database).state,
        f"select {key}, quarantine_rule from quarantine.quarantine_{model} order by {key}",
    )
    assert quarantined == [(i, rule) for i in sorted(bad_ids)]
    leaked = query(
        Warehouse(database).state,
        f"select count(*) from staging.stg_{model} where {key} like 'bad-%' or {leak_condition}",
    )
    assert leaked == [(0,)]


@pytest.mark.e2e
def test_out_of_range_nps_scores_and_negative_mrr_are_quarantined_and_published(
    published: Published, tmp_path: Path
) -> None:
    """Two out-of-range scores among > 300 responses and two negative MRR amounts among > 300
    billing events (one run for both): under the threshold, so the run quarantines them and
    publishes."""
    raw = copy_raw(published.raw, tmp_path)
    database = published.copy_database(tmp_path)
    bad_scores = ["bad-score-high", "bad-score-low"]
    bad_mrr = ["bad-mrr-1", "bad-mrr-2"]

    def with_bad_scores(table: pa.Table, path: Path) -> pa.Table:
        if path != table_files(raw, "survey_responses")[0]:
            return table

        def csat_copy(rows: pa.Table, k: int) -> pa.Table:
            # Valid responses of another survey type (ignored by NPS metrics), fresh ids.
            ids = pc.binary_join_element_wise(rows["response_id"], f"-pad{k}", "")
            rows = replaced(rows, "response_id", ids)
            return replaced(rows, "survey_type", pa.array(["csat"] * rows.num_rows))

        padded = pad_table(table, PADDED_ROWS, csat_copy)
        bad = table.slice(0, 2)
        bad = replaced(bad, "response_id", pa.array(bad_scores))
        bad = replaced(bad, "survey_type", pa.array(["nps", "nps"]))
        bad = replaced(bad, "score", pa.array([11, -1], type=table.schema.field("score").type))
        return pa.concat_tables([padded, bad])

    def with_negative_mrr(table: pa.Table, path: Path) -> pa.Table:
        if path != table_files(raw, "billing_events")[0]:
            return table

        def other_subscription(rows: pa.Table, k: int) -> pa.Table:
            # The same histories as further subscriptions of the same accounts, fresh ids.
            for column in ("billing_event_id", "subscription_id"):
                rows = replaced(
                    rows, column, pc.binary_join_element_wise(rows[column], f"-copy{k}", "")
                )
            return rows

        padded = pad_table(table, PADDED_ROWS, other_subscription)
        paying = table.filter(pc.greater(table["mrr_amount"], 0))
        assert paying.num_rows >= len(bad_mrr)
        bad = paying.slice(0, len(bad_mrr))
        bad = replaced(bad, "billing_event_id", pa.array(bad_mrr))
        amount = table.schema.field("mrr_amount").type
        bad = replaced(bad, "mrr_amount", pa.array([Decimal("-49.00")] * len(bad_mrr), amount))
        return pa.concat_tables([padded, bad])

    rewrite_table(raw, "survey_responses", with_bad_scores)
    rewrite_table(raw, "billing_events", with_negative_mrr)
    for table, bad_ids in (("survey_responses", bad_scores), ("billing_events", bad_mrr)):
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in table_files(raw, table))
        assert len(bad_ids) / rows < QUARANTINE_MAX_SHARE, table

    done = run_cli(raw, database, tmp_path)
    assert done.returncode == 0, output(done)
    assert "lifecycle run failed" not in done.stderr, output(done)
    assert_quarantined_not_staged(
        database,
        ("surveys__survey_responses", "response_id", "score_out_of_range"),
        bad_scores,
        leak_condition="score not between 0 and 10",
    )
    assert_quarantined_not_staged(
        database,
        ("billing__billing_events", "billing_event_id", "negative_mrr_amount"),
        bad_mrr,
        leak_condition="mrr_amount < 0",
    )
    # Every other response reached staging, one row per response_id.
    good_ids = {
        response_id
        for path in table_files(raw, "survey_responses")
        for response_id in read_file(path)["response_id"].to_pylist()
    } - set(bad_scores)
    staged = query(
        Warehouse(database).state, "select count(*) from staging.stg_surveys__survey_responses"
    )
    assert staged == [(len(good_ids),)]
    assert len(snapshot_marts(database)) == MART_COUNT


# ---------------------------------------------------------------------------- repeatability


class LineReader:
    """Collect a process's stdout line by line on a thread; wait for a line to appear."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> str | None:
        """The first new line matching `predicate`; None at end of output or timeout."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                return None
            self.lines.append(line)
            if predicate(line):
                return line
        return None

    def rest(self, timeout: float = 30) -> str:
        """Every line, once the process has closed its stdout."""
        self._thread.join(timeout)
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return "".join(self.lines)


@dataclass
class Background:
    process: subprocess.Popen[str]
    stdout: LineReader
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=60)


def start_run(raw: Path, database: Path, work: Path, *extra: str) -> Background:
    """`lifecycle run` in the background, in its own process group (killable as a whole)."""
    work.mkdir(parents=True, exist_ok=True)
    stderr_path = work / "stderr.txt"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            cli_args(raw, database, *extra),
            cwd=settings.REPO_ROOT,
            env=cli_env(work),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
    assert process.stdout is not None
    return Background(process, LineReader(process.stdout), stderr_path)


def is_dbt_build(line: str) -> bool:
    return "dbt build" in line


@pytest.mark.e2e
def test_a_run_while_another_holds_the_database_fails_fast(
    published: Published, tmp_path: Path
) -> None:
    """The second run gives up at once; the first, a rerun on the published data, publishes
    marts identical to the published ones, row for row."""
    database = published.copy_database(tmp_path)
    first = start_run(published.raw, database, tmp_path / "first")
    try:
        seen = first.stdout.wait_for(is_dbt_build, RUN_TIMEOUT_SECONDS)
        assert seen, f"the first run never reached dbt build\n{first.stdout.rest()}"
        assert first.process.poll() is None, "the first run ended before the second started"
        assert lock_path(database).exists()

        started = time.monotonic()
        second = run_cli(published.raw, database, tmp_path / "second", timeout=FAIL_FAST_SECONDS)
        seconds = time.monotonic() - started
        assert second.returncode == 1, output(second)
        line = last_line(second.stderr)
        assert line.startswith("lifecycle run failed:") and ANOTHER_RUN in line, output(second)
        assert str(database) in line or database.name in line, line
        assert seconds < FAIL_FAST_SECONDS
        assert first.process.poll() is None, "the second run disturbed the first"

        assert first.process.wait(timeout=RUN_TIMEOUT_SECONDS) == 0, (
            first.stdout.rest() + first.stderr()
        )
    finally:
        first.stop()
    assert marts_differences(database, published.marts) == []
    again = snapshot_marts(database)
    assert len(again) == MART_COUNT
    assert again == published.marts


@pytest.mark.e2e
def test_a_run_killed_mid_build_leaves_the_published_marts_whole(
    published: Published, tmp_path: Path
) -> None:
    """The killed run builds other data (another seed), so a half-published build would show
    as marts that differ from the published ones."""
    from saas_lifecycle.generate import generate

    other_raw = tmp_path / "other_raw"
    generate(other_raw, **{**GOOD, "seed": GOOD["seed"] + 1})
    database = published.copy_database(tmp_path)
    # Other data replaces the raw files instead of appending to them, which an incremental
    # run cannot follow (the README says so): this run rebuilds in full.
    run = start_run(other_raw, database, tmp_path / "killed", "--full-refresh")
    try:
        seen = run.stdout.wait_for(is_dbt_build, RUN_TIMEOUT_SECONDS)
        assert seen, f"the run never reached dbt build\n{run.stdout.rest()}{run.stderr()}"
        # Kill while marts are being written when the progress shows one; else soon after.
        run.stdout.wait_for(lambda line: f" {settings.MARTS_SCHEMA}." in line, 120)
        assert run.process.poll() is None, "the run finished before it could be killed"
        os.killpg(run.process.pid, signal.SIGKILL)
        assert run.process.wait(timeout=60) == -signal.SIGKILL
    finally:
        run.stop()

    assert_unchanged(database, published)

    # What the killed run left beside the database (its build file, the lock file it held)
    # does not stop the next run.
    done = run_cli(published.raw, database, tmp_path / "next")
    assert done.returncode == 0, output(done)
    assert marts_differences(database, published.marts) == []
