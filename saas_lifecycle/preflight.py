"""Checks of a `lifecycle run` that need no dbt and no data scan: done before any work, so a
usage mistake is one line within a second or two instead of after the gates have started.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from saas_lifecycle import run_vars, settings, spark_target
from saas_lifecycle.schema_check import table_files

# The tracks column whose range bounds --as-of: received_at is the pipeline's own clock
# (occurred_at is the device's, and a bad device clock says 1970 or 2099).
RANGE_TABLE, RANGE_COLUMN = "tracks", "received_at"
# A local calendar date may lie a day either side of the UTC date of the same instant.
TIMEZONE_SLACK = timedelta(days=1)


class UsageError(ValueError):
    """An option or var that cannot work; the message is one line."""


def chosen_target(target: str | None) -> str:
    """--target, else $LIFECYCLE_TARGET, else the guarded DuckDB target."""
    return target or os.environ.get(settings.ENV_TARGET) or settings.DEFAULT_TARGET


def check_target(target: str) -> None:
    """Refuse a target profiles.yml does not define (read as YAML; dbt is not imported)."""
    if not spark_target.profile_output(target):
        import yaml

        profiles = yaml.safe_load((settings.REPO_ROOT / "profiles.yml").read_text())
        known = ", ".join(sorted(next(iter(profiles.values()))["outputs"]))
        raise UsageError(f"unknown target {target!r}: profiles.yml defines {known}")


def check_raw_dir(raw_dir: Path | None) -> None:
    """Refuse a raw dir (given, or from $RAW_DATA_DIR) that is not a directory."""
    given = raw_dir or (
        Path(os.environ[settings.ENV_RAW_DIR]) if os.environ.get(settings.ENV_RAW_DIR) else None
    )
    if given is not None and not given.is_dir():
        what = "is not a directory" if given.exists() else "does not exist"
        raise UsageError(f"raw data directory {what}: {given}")


def check_database_location(database: Path) -> None:
    """Refuse a database path whose folder cannot hold the run's files (checked before any
    work: the run writes its lock, build copy and validation history there)."""
    folder = database.parent
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"cannot use database {database}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write to the database folder {existing}: permission denied")


@dataclass(frozen=True)
class DataRange:
    """The first and last UTC date the raw tracks were received."""

    first: date
    last: date


def _as_datetime(value: Any, arrow_type: pa.DataType) -> datetime | None:
    """A Parquet statistic of a timestamp column (its raw integer in the column's unit) as
    a UTC datetime; None for anything else (e.g. legacy INT96 timestamps: no check)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int) and pa.types.is_timestamp(arrow_type):
        per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[arrow_type.unit]
        return datetime.fromtimestamp(value / per_second, tz=UTC)
    return None


def received_range(raw_dir: Path) -> DataRange | None:
    """The range of tracks.received_at from the Parquet footers' statistics only (cheap at
    any size); None when a file has no statistics for it."""
    low: datetime | None = None
    high: datetime | None = None
    for path in table_files(raw_dir, RANGE_TABLE):
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        index = schema.get_field_index(RANGE_COLUMN)
        if index < 0:
            return None
        arrow_type = schema.field(index).type
        metadata = parquet.metadata
        column = parquet.schema.names.index(RANGE_COLUMN)  # flat schema: same position
        for group in range(metadata.num_row_groups):
            stats = metadata.row_group(group).column(column).statistics
            if metadata.row_group(group).num_rows == 0:
                continue
            if stats is None or not stats.has_min_max:
                return None
            # The raw integers: `stats.min` converts timestamps through pandas, whose first
            # import alone costs seconds.
            first = _as_datetime(stats.min_raw, arrow_type)
            last = _as_datetime(stats.max_raw, arrow_type)
            if first is None or last is None:
                return None
            low = first if low is None else min(low, first)
            high = last if high is None else max(high, last)
    if low is None or high is None:
        return None
    return DataRange(low.astimezone(UTC).date(), high.astimezone(UTC).date())


def check_as_of(as_of: date | None, raw_dir: Path) -> None:
    """Refuse an as_of date outside the days the raw tracks were received (with a day's slack
    for the reporting time zone): its marts would be empty or all churned."""
    if as_of is None or not raw_dir.is_dir():
        return
    try:
        found = received_range(raw_dir)
    except (OSError, pa.ArrowException):
        return  # an unreadable file: the schema check reports it, in one line
    if found is None:
        return
    if not found.first - TIMEZONE_SLACK <= as_of <= found.last + TIMEZONE_SLACK:
        raise UsageError(
            f"--as-of {as_of} is outside the raw data's range {found.first} to {found.last}"
            f" ({RANGE_TABLE}.{RANGE_COLUMN})"
        )


def check_run(
    raw_dir: Path | None,
    database: Path | None,
    user_vars: Mapping[str, Any] | None,
    target: str | None,
) -> None:
    """Every check that needs neither dbt nor the data: raise UsageError or VarError."""
    name = chosen_target(target)
    check_target(name)
    run_vars.validate_vars(user_vars)
    run_vars.check_suffix(user_vars)
    run_vars.check_timezone(user_vars)
    check_raw_dir(raw_dir)
    path = database or Path(os.environ.get(settings.ENV_DATABASE) or settings.DEFAULT_DATABASE)
    check_database_location(path.resolve())


def is_generated(raw_dir: Path) -> bool:
    """True when raw_dir holds exactly what `lifecycle generate` wrote: its manifest names the
    generator, and the tracks rows in the Parquet footers are the rows it counted (files
    added or replaced since make them differ)."""
    import json

    from saas_lifecycle.generate import MANIFEST

    try:
        manifest = json.loads((raw_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or manifest.get("generator") != "saas_lifecycle.generate":
        return False
    rows = manifest.get("rows") or {}
    for table, expected in rows.items():
        found = sum(pq.ParquetFile(path).metadata.num_rows for path in table_files(raw_dir, table))
        if found != expected:
            return False
    return True


def demo_salt_warning(raw_dir: Path) -> str | None:
    """A warning when real data (not the generator's) would be hashed with the demo salt."""
    if settings.email_salt() != settings.DEMO_EMAIL_SALT:
        return None
    try:
        if is_generated(raw_dir):
            return None
    except (OSError, pa.ArrowException):
        return None  # an unreadable file: the schema check reports it, in one line
    return (
        f"e-mail addresses are hashed with the public demo salt; set {settings.ENV_EMAIL_SALT} to a"
        " secret of your own for real data (README: E-mail salt)"
    )
