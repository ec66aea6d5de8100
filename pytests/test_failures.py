"""Every way a run can end badly is one clear line, recorded in the run history, and leaves
the published marts as they were; the next run succeeds.

One published warehouse is built for the module (a full run); each case then fails a run
against it and checks the line, the history and the published file's bytes. The last test
runs once more and must publish. "Disk full" injects ENOSPC into the publish (the one step
that writes a new file; the state is built in place).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from repo_process import run_in_repo

from saas_lifecycle import cli, failures, settings
from saas_lifecycle.generate import generate

TINY = {"users": 40, "days": 30, "seed": 7}
TINY_VARS = ["--vars", "{quarantine_max_share: 1}"]  # tiny data: see test_run_e2e.py
STARTED_DBT = "dbt build (staging) ..."


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def history(database: Path) -> list[tuple[str, str]]:
    """(run_id, status) of every recorded run, oldest first."""
    audit = database.with_name(database.stem + ".audit.duckdb")
    with duckdb.connect(str(audit), read_only=True) as con:
        return con.execute(
            "select run_id, status from audit.validation_runs order by started_at"
        ).fetchall()


class Warehouse:
    """The module's raw data and published database, and how to run against them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.raw = root / "raw of o'brien"  # an apostrophe in the path: a path, never SQL
        self.folder = root / "warehouse"
        self.database = self.folder / "x.duckdb"

    def argv(self, *extra: str) -> list[str]:
        return [
            "run",
            "--raw-dir",
            str(self.raw),
            "--database",
            str(self.database),
            "--no-report",
            *TINY_VARS,
            *extra,
        ]

    def env(self) -> dict[str, str]:
        return {
            "DBT_TARGET_PATH": str(self.root / "target"),
            "DBT_LOG_PATH": str(self.root / "logs"),
        }

    def run(self) -> subprocess.CompletedProcess[str]:
        return run_in_repo([sys.executable, "-m", "saas_lifecycle.cli", *self.argv()], self.env())


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    root = tmp_path_factory.mktemp("failures")
    folder = root / "warehouse"
    folder.mkdir()
    house = Warehouse(root)
    generate(house.raw, **TINY)
    done = house.run()
    assert done.returncode == 0, done.stdout + done.stderr
    return house


def assert_one_failure_line(stderr: str, start: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith(start), stderr
    assert "Traceback" not in stderr
    return lines[0]


# ---------------------------------------------------------------------------- translation


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/w/x.building.duckdb"), "disk full"),
        (PermissionError(errno.EACCES, "Permission denied", "/w/x.lock"), "permission denied"),
        (OSError(errno.EROFS, "Read-only file system", "/w/x.lock"), "permission denied"),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory", "/f/w"), "is a file, not a folder"),
    ],
)
def test_os_errors_name_their_cause(exc: OSError, expected: str) -> None:
    line = failures.reason(exc)
    assert expected in line and str(exc.filename) in line


def test_duckdb_lock_conflict_names_file_and_holder() -> None:
    message = (
        'IO Error: Could not set lock on file "/w/x.duckdb": Conflicting lock is held in'
        " /usr/bin/python3.11 (PID 4242) by user root. See also\nhttps://duckdb.org/docs"
    )
    line = failures._duckdb_reason(message)
    assert line.startswith("/w/x.duckdb is open for writing in another process (process 4242)")


# ---------------------------------------------------------------------------- the cases


@pytest.mark.e2e
def test_read_only_database_folder(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder the run may not write: refused before any work when the permission bits
    say so (os.access), and one line when the file system says so at the first write (as
    root, or on a read-only mount, only the write itself tells)."""
    before = sha(warehouse.database)
    real_open = os.open

    def read_only(path: str | os.PathLike[str], flags: int, *args: object) -> int:
        if str(path).startswith(str(warehouse.folder)) and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    assert cli.main(warehouse.argv()) == 1
    line = assert_one_failure_line(capsys.readouterr().err, "lifecycle run failed: ")
    assert "permission denied: cannot write" in line and str(warehouse.folder) in line
    assert sha(warehouse.database) == before


@pytest.mark.e2e
def test_read_only_folder_by_permissions_is_a_usage_error(
    warehouse: Warehouse, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes to any folder; the test above covers the write itself")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    argv = ["run", "--raw-dir", str(warehouse.raw), "--database", str(folder / "x.duckdb")]
    assert cli.main(argv) == 2
    assert "permission denied" in assert_one_failure_line(capsys.readouterr().err, "lifecycle")


@pytest.mark.e2e
def test_database_parent_is_a_file(
    warehouse: Warehouse, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "not_a_folder"
    a_file.write_text("")
    argv = ["run", "--raw-dir", str(warehouse.raw), "--database", str(a_file / "x.duckdb")]
    assert cli.main(argv) == 2
    line = assert_one_failure_line(capsys.readouterr().err, "lifecycle run: error: ")
    assert f"{a_file} is a file, not a folder" in line


@pytest.mark.e2e
def test_held_read_write_connection(
    warehouse: Warehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    """Another process (say a dbt session on the `duckdb` target) holds the build state. A
    reader of the served file cannot block a run: the publish renames a new file over it."""
    state = warehouse.database.with_name("x.state.duckdb")
    before = sha(warehouse.database)
    runs = len(history(warehouse.database))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('open', flush=True);"
            " sys.stdin.read()",
            str(state),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        assert cli.main(warehouse.argv()) == 1
    finally:
        holder.communicate("", timeout=60)
    line = assert_one_failure_line(capsys.readouterr().err, "lifecycle run failed: ")
    assert f"{state} is open for writing in another process" in line
    assert f"process {holder.pid}" in line
    assert sha(warehouse.database) == before
    assert history(warehouse.database)[runs:][0][1] == "failed"


@pytest.mark.e2e
def test_nanosecond_timestamps_with_a_time_zone(
    warehouse: Warehouse, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(warehouse.raw, raw)
    first = sorted((raw / "tracks").glob("**/*.parquet"))[0]
    table = pq.read_table(first)
    index = table.schema.get_field_index("occurred_at")
    column = table.column(index).cast(pa.timestamp("ns", tz="UTC"))
    pq.write_table(table.set_column(index, "occurred_at", column), first)
    before = sha(warehouse.database)
    runs = len(history(warehouse.database))
    argv = warehouse.argv()
    argv[argv.index("--raw-dir") + 1] = str(raw)
    assert cli.main(argv) == 1
    line = assert_one_failure_line(capsys.readouterr().err, "lifecycle run failed: ")
    assert "'tracks' column 'occurred_at' has type timestamp[ns, tz=UTC]" in line
    assert "write microseconds" in line
    assert sha(warehouse.database) == before
    assert history(warehouse.database)[runs:][0][1] == "failed"


@pytest.mark.e2e
def test_disk_full_while_publishing(
    warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from saas_lifecycle import runner

    before = sha(warehouse.database)
    runs = len(history(warehouse.database))
    publishing = warehouse.database.with_name("x.duckdb.publishing")

    def full(house: object, *args: object, **kwargs: object) -> None:
        publishing.write_bytes(b"partial")  # what a write cut short leaves behind
        raise OSError(errno.ENOSPC, "No space left on device", str(publishing))

    monkeypatch.setattr(runner, "publish", full)
    assert cli.main(warehouse.argv()) == 1
    line = assert_one_failure_line(capsys.readouterr().err, "lifecycle run failed: ")
    assert line.startswith("lifecycle run failed: disk full while writing"), line
    assert sha(warehouse.database) == before
    assert history(warehouse.database)[runs:][0][1] == "failed"
    assert not publishing.exists()


def _signal_during_dbt(warehouse: Warehouse, signum: int) -> subprocess.CompletedProcess[str]:
    """Start a run, send `signum` once dbt has started, and wait for the run to end."""
    command = [sys.executable, "-m", "saas_lifecycle.cli", *warehouse.argv()]
    log = warehouse.root / f"signal_{signum}.out"
    with log.open("w") as out:
        process = subprocess.Popen(
            command,
            cwd=settings.REPO_ROOT,
            env={**os.environ, **warehouse.env()},
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 300
        while STARTED_DBT not in log.read_text() and process.poll() is None:
            assert time.monotonic() < deadline, "dbt did not start"
            time.sleep(0.2)
        time.sleep(2)  # inside dbt's build
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(command, process.returncode, log.read_text(), stderr)


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("signum", "code", "name"),
    [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")],
)
def test_signals_interrupt_with_one_line_and_are_recorded(
    warehouse: Warehouse, signum: int, code: int, name: str
) -> None:
    before = sha(warehouse.database)
    runs = len(history(warehouse.database))
    done = _signal_during_dbt(warehouse, signum)
    assert done.returncode == code, done.stdout + done.stderr
    line = assert_one_failure_line(done.stderr, "lifecycle run interrupted")
    assert f"({name})" in line
    assert sha(warehouse.database) == before
    assert history(warehouse.database)[runs:][0][1] == "failed"


@pytest.mark.e2e
def test_the_next_run_succeeds(warehouse: Warehouse) -> None:
    """After every failure above, the same warehouse publishes again (leftovers discarded)."""
    before = sha(warehouse.database)
    done = warehouse.run()
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == "", done.stderr  # no warning or third-party line on a normal run
    assert f"published: {warehouse.database}" in done.stdout
    assert "'" in str(warehouse.raw)
    assert history(warehouse.database)[-1][1] == "success"
    assert sha(warehouse.database) != before
