"""One clear line for every way a run can end badly: errors of the operating system and of
DuckDB translated to their cause, and signals turned into exceptions.

SIGTERM raises Terminated, a KeyboardInterrupt, so that it travels the same path as Ctrl-C:
dbt cancels its queries and hands it back, and the runner's `finally` records the run in
the validation history before the command line prints "lifecycle run interrupted".
"""

from __future__ import annotations

import errno
import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

# Exit codes of a run stopped by a signal: 128 + the signal number, as a shell reports it.
EXIT_SIGINT = 128 + signal.SIGINT
EXIT_SIGTERM = 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM (an orchestrator or `kill` stopping the run)."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextmanager
def signals_raise() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated and SIGINT KeyboardInterrupt (main thread)."""
    previous = {
        signal.SIGTERM: signal.signal(signal.SIGTERM, _raise_terminated),
        signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def interrupted_line(exc: KeyboardInterrupt) -> tuple[str, int]:
    """The message and exit code of a run stopped by a signal."""
    if isinstance(exc, Terminated):
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


_DUCKDB_LOCK = re.compile(
    r'Could not set lock on file "(?P<file>[^"]+)".*?Conflicting lock is held in (?P<holder>.*?)'
    r"(?: \(PID (?P<pid>\d+)\))?(?: by user [^.]*)?\.",
    re.DOTALL,
)


def _duckdb_reason(message: str) -> str:
    held = _DUCKDB_LOCK.search(message)
    if held:
        who = f"process {held['pid']}" if held["pid"] else one_line(held["holder"])
        return (
            f"{held['file']} is open for writing in another process ({who}): close that"
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
