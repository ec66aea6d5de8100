"""Check the raw Parquet folders against the raw data contract before dbt runs.

Only Parquet footers are read (`pyarrow.parquet.read_schema`), never data pages, so the
check takes well under a second per thousand files whatever the row count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from saas_lifecycle.contract import RAW_TABLES, RawTable

# Time zones that denote UTC; a timestamp without a zone is read as UTC too.
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "+00:00", "Z"})


class SchemaError(Exception):
    """A raw table breaks the contract. The message is one line naming table, column and file."""


@dataclass(frozen=True)
class SchemaReport:
    """Outcome of a passing check: files checked per present table and absent optional tables."""

    raw_dir: Path
    files: dict[str, int] = field(default_factory=dict)
    absent_optional: list[str] = field(default_factory=list)

    @property
    def notices(self) -> list[str]:
        """One line per absent optional table."""
        return [
            f"optional raw table '{name}' is absent: marts that need it are built empty"
            for name in self.absent_optional
        ]


def type_family(arrow_type: pa.DataType) -> str | None:
    """The contract family of an Arrow type: string, integer, timestamp, decimal or None."""
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
    ):
        return "string"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_decimal(arrow_type):
        return "decimal"
    return None


def unsupported_timestamp(arrow_type: pa.DataType) -> bool:
    """Nanosecond timestamps with a time zone: DuckDB reads them as TIMESTAMPTZ_NS, which it
    cannot cast to a plain timestamp directly (the raw quality suites do that cast).
    Seconds, milliseconds and microseconds, and nanoseconds without a zone, are read fine."""
    return (
        pa.types.is_timestamp(arrow_type) and arrow_type.unit == "ns" and arrow_type.tz is not None
    )


def _expected_label(family: str | None) -> str:
    return "timestamp (UTC or no time zone)" if family == "timestamp" else str(family)


def _matches(expected: str | None, found: pa.DataType) -> bool:
    if type_family(found) != expected:
        return False
    if expected == "timestamp":
        return found.tz is None or found.tz in UTC_NAMES
    return True


def _display(path: Path) -> str:
    """The path relative to the working directory when it lies below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def table_files(raw_dir: Path, table: str) -> list[Path]:
    """Every Parquet file of a raw table, recursively, in a stable order."""
    table_dir = raw_dir / table
    if not table_dir.is_dir():
        return []
    return sorted(p for p in table_dir.glob("**/*.parquet") if p.is_file())


def read_file_schema(path: Path) -> pa.Schema:
    """The Arrow schema from a Parquet footer; SchemaError if the file is not readable Parquet."""
    try:
        return pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SchemaError(f"raw file is not readable Parquet: {_display(path)} ({reason})") from exc


def check_file(table: RawTable, path: Path) -> None:
    """Raise SchemaError when a file lacks a contract column or has one of the wrong type."""
    schema = read_file_schema(path)
    for column in table.columns:
        index = schema.get_field_index(column.name)
        if index < 0:
            raise SchemaError(
                f"raw table '{table.name}' is missing column '{column.name}' ({_display(path)})"
            )
        found = schema.field(index).type
        expected = type_family(column.arrow_type)
        if unsupported_timestamp(found):
            raise SchemaError(
                f"raw table '{table.name}' column '{column.name}' has type {found}: nanosecond"
                " timestamps with a time zone are not supported (the quality gates cannot cast"
                " them); write microseconds, e.g. pyarrow's coerce_timestamps='us'"
                f" ({_display(path)})"
            )
        if not _matches(expected, found):
            raise SchemaError(
                f"raw table '{table.name}' column '{column.name}' has type {found}, "
                f"expected {_expected_label(expected)} ({_display(path)})"
            )


def check_raw_schema(raw_dir: Path) -> SchemaReport:
    """Check every file of every raw table under raw_dir; raise SchemaError on the first problem."""
    if not raw_dir.is_dir():
        raise SchemaError(f"raw data directory does not exist: {_display(raw_dir)}")
    files: dict[str, int] = {}
    absent: list[str] = []
    for name, table in RAW_TABLES.items():
        paths = table_files(raw_dir, name)
        if not paths:
            if table.required:
                raise SchemaError(
                    f"required raw table '{name}' is absent: "
                    f"no .parquet files under {_display(raw_dir / name)}"
                )
            absent.append(name)
            continue
        for path in paths:
            check_file(table, path)
        files[name] = len(paths)
    return SchemaReport(raw_dir=raw_dir, files=files, absent_optional=absent)
