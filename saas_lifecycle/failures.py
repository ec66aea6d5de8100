"""One clear line for every way a run can end badly: errors of the operating system and of
DuckDB translated to their cause, and signals turned into exceptions.

SIGTERM raises Terminated, a KeyboardInterrupt, so that it travels the same path as Ctrl-C:
dbt cancels its queries and hands it back, and the runner's `finally` records the run in
the validation history before the command line prints "lifecycle run interrupted".
"""

from __future__ import annotations

import errno
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

# Exit codes of a run stopped by a signal: 128 + the signal number, as a shell reports it.
EXIT_SIGINT = 128 + signal.SIGINT
EXIT_SIGTERM = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM (an orchestrator or `kill` stopping the run)."""


# Seconds after which a signal whose exception nobody has caught is delivered again.
REDELIVER_SECONDS = 2.0


class _Interrupts:
    """Turns SIGINT and SIGTERM into exceptions in the main thread, and makes sure one lands.

    A library may swallow the exception: dbt's partial-parse loader catches what its
    deserialiser raises, a KeyboardInterrupt included, and goes on parsing. So after a
    signal a watchdog delivers it again every REDELIVER_SECONDS until the command line has
    caught the exception (`caught()`). A delivery while the exception is already on its way
    up (the runner's `finally` recording the run) is ignored, so that it does not cut short
    the recording.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.done = threading.Event()

        self.watchdog: threading.Thread | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.done.is_set() or isinstance(sys.exc_info()[1], KeyboardInterrupt):
            return  # already caught, or on its way up: let the finally blocks finish
        if self.watchdog is None:
            self.signum = signum
            self.watchdog = threading.Thread(target=self._redeliver, daemon=True)
            self.watchdog.start()
        raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt

    def _redeliver(self) -> None:
        while not self.done.wait(REDELIVER_SECONDS):
            if self.signum is not None:
                os.kill(os.getpid(), self.signum)

    def caught(self) -> None:
        """Stop the redelivery; a redelivered signal still pending is ignored (done)."""
        self.done.set()
        if self.watchdog is not None and self.watchdog is not threading.current_thread():
            self.watchdog.join()


_interrupts = _Interrupts()


@contextmanager
def signals_raise() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated and SIGINT KeyboardInterrupt (main thread)."""
    global _interrupts
    _interrupts = _Interrupts()
    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, _interrupts.handle),
        signal.SIGINT: signal.signal(signal.SIGINT, _interrupts.handle),
    }
    try:
        yield
    finally:
        _interrupts.caught()
        time.sleep(0.05)  # the main thread runs any pending handler (ignored: done) first
        if _interrupts.signum is None:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        # Else the command is ending because of a signal: its handler stays and ignores a
        # late copy (a redelivery still on its way), which the default handler would turn
        # into death by SIGINT (exit -2) after the run was recorded and its line printed.


def received_signal() -> bool:
    """Whether SIGINT or SIGTERM reached the running command. A library may turn the
    exception into an error of its own (dbt cancelling a busy DuckDB connection reports
    "connection is busy"): the run still ended because of the signal."""
    return _interrupts.signum is not None


def interrupted_line(exc: BaseException) -> tuple[str, int]:
    """The message and exit code of a run stopped by a signal (which is then handled)."""
    _interrupts.caught()
    if isinstance(exc, Terminated) or _interrupts.signum == signal.SIGTERM:
        name, code = "SIGTERM", EXIT_SIGTERM
    else:
        name, code = "SIGINT", EXIT_SIGINT
    return (
        f"lifecycle run interrupted ({name}): nothing was published; the next run starts over",
        code,
    )


def one_line(text: str) -> str:
    """Collapse whitespace (DuckDB messages span several lines)."""
    return re.sub(r"\s+", " ", text).strip()


def _os_reason(exc: OSError) -> str:
    where = exc.filename or ""
    if exc.errno == errno.ENOSPC:
        return f"disk full while writing {where}: free space there and run again".replace(
            "writing :", "writing:"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"permission denied: cannot write {where}"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST) and where:
        return f"{where}: a part of this path is a file, not a folder"
    if exc.errno == errno.ENOENT and where:
        return f"no such file or folder: {where}"
    return one_line(f"{exc.strerror or exc} {where}")


_DUCKDB_LOCK = re.compile(r'Could not set lock on file "(?P<file>[^"]+)"')
_DUCKDB_HOLDER = re.compile(
    r"Conflicting lock is held in (?P<holder>\S+)(?: \(PID (?P<pid>\d+)\))?"
)


def _duckdb_reason(message: str) -> str:
    held = _DUCKDB_LOCK.search(message)
    if held:
        holder = _DUCKDB_HOLDER.search(message)
        if holder and holder["pid"]:
            who = f" (process {holder['pid']})"
        elif holder:
            who = f" ({holder['holder']})"
        else:
            who = ""
        return (
            f"{held['file']} is open for writing in another process{who}: close that"
            " connection and run again"
        )
    if "No space left on device" in message:
        return "disk full: " + one_line(message)
    return one_line(message)


def reason(exc: BaseException) -> str:
    """The one-line reason of an unexpected failure, naming its cause where it is known."""
    if isinstance(exc, OSError):
        return _os_reason(exc)
    if type(exc).__module__.startswith(("duckdb", "_duckdb")):
        return _duckdb_reason(str(exc))
    return one_line(str(exc)) or type(exc).__name__
