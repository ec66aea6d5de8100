"""The thresholds of the volume and share gates: dbt vars with defaults, settable per table.

Every threshold is a var in dbt_project.yml (the defaults below are the same values, for
callers that pass no vars). `quality_table_thresholds` overrides any of the per-table ones
for one raw table, e.g. `{support_tickets: {quarantine_max_share: 0.05}}`.

Evidence rule of the share gates: a share over its threshold blocks only when at least
`quality_min_bad_rows` rows are bad. Fewer bad rows are quarantined with their rule and
reported, never a stop by themselves: a handful of bad rows in a small table is a large
share but no sign of a broken delivery.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from saas_lifecycle.contract import RAW_TABLES

# var name -> default (the values in dbt_project.yml)
TABLE_DEFAULTS: dict[str, float] = {
    # a table whose quarantined (or null, or outside-value-set) share exceeds this blocks...
    "quarantine_max_share": 0.01,
    # ...when at least this many rows are bad (and duplicates: at least this many copies)
    "quality_min_bad_rows": 20,
    # a batch whose re-delivered copies exceed this share blocks (tracks)
    "max_duplicate_share": 0.2,
    # a received day below this share of the median of the days on each side is a gap (tracks)
    "daily_volume_min_share": 0.1,
    # days whose neighbours' median is under this many events are not judged (tracks)
    "daily_volume_min_median_events": 250,
    # a table's rows below this share of the median of the previous successful runs warns
    "volume_min_share_of_previous": 0.5,
}
OVERRIDES_VAR = "quality_table_thresholds"
EARLIEST_VAR = "earliest_valid_date"
DEFAULT_EARLIEST = "2000-01-01"


class ThresholdError(ValueError):
    """A threshold var has the wrong shape; the message names the var."""


@dataclass(frozen=True)
class TableThresholds:
    """The thresholds in force for one raw table."""

    quarantine_max_share: float
    quality_min_bad_rows: int
    max_duplicate_share: float
    daily_volume_min_share: float
    daily_volume_min_median_events: float
    volume_min_share_of_previous: float


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ThresholdError(f"var {name} must be a number, got {value!r}")
    try:
        number = float(value)
    except ValueError as exc:
        raise ThresholdError(f"var {name} must be a number, got {value!r}") from exc
    if number < 0:
        raise ThresholdError(f"var {name} must not be negative, got {value!r}")
    if name.endswith("_share") and number > 1:
        raise ThresholdError(f"var {name} is a share in [0, 1], got {value!r}")
    return number


def table_overrides(variables: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """The var quality_table_thresholds, checked: raw table -> {threshold var: value}."""
    raw = variables.get(OVERRIDES_VAR) or {}
    if not isinstance(raw, Mapping):
        raise ThresholdError(
            f"var {OVERRIDES_VAR} must be a mapping like "
            f"{{support_tickets: {{quarantine_max_share: 0.05}}}}, got {raw!r}"
        )
    checked: dict[str, dict[str, float]] = {}
    for table, values in raw.items():
        if table not in RAW_TABLES:
            raise ThresholdError(
                f"var {OVERRIDES_VAR}: unknown raw table {table!r} (one of {', '.join(RAW_TABLES)})"
            )
        if not isinstance(values, Mapping):
            raise ThresholdError(
                f"var {OVERRIDES_VAR}.{table} must be a mapping of thresholds, got {values!r}"
            )
        for name, value in values.items():
            if name not in TABLE_DEFAULTS:
                raise ThresholdError(
                    f"var {OVERRIDES_VAR}.{table}: unknown threshold {name!r} "
                    f"(one of {', '.join(TABLE_DEFAULTS)})"
                )
            checked.setdefault(table, {})[name] = _number(f"{OVERRIDES_VAR}.{table}.{name}", value)
    return checked


def for_table(variables: Mapping[str, Any], table: str) -> TableThresholds:
    """The thresholds of one raw table: its override, else the var, else the default."""
    override = table_overrides(variables).get(table, {})
    values: dict[str, Any] = {}
    for item in fields(TableThresholds):
        name = item.name
        if name in override:
            value = override[name]
        else:
            given = variables.get(name)
            value = TABLE_DEFAULTS[name] if given is None or given == "" else given
            value = _number(name, value)
        values[name] = int(value) if name == "quality_min_bad_rows" else float(value)
    return TableThresholds(**values)


def check_all(variables: Mapping[str, Any]) -> None:
    """Raise ThresholdError on any malformed threshold var (before anything runs)."""
    for table in RAW_TABLES:
        for_table(variables, table)
    earliest_valid_date(variables)


def earliest_valid_date(variables: Mapping[str, Any]) -> date:
    """The var earliest_valid_date: timestamps before it are a broken clock (quarantined)."""
    value = variables.get(EARLIEST_VAR) or DEFAULT_EARLIEST
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ThresholdError(
            f"var {EARLIEST_VAR} must be a YYYY-MM-DD date, got {value!r}"
        ) from exc
