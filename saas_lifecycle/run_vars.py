"""Validate the dbt vars of a run by name, type and range before anything runs.

The known names and their types come from the `vars:` of dbt_project.yml (one source: a var
added there is known here at once); its default's type is the var's type. RANGES adds the
bounds a type alone does not give, so that a value that would build wrong marts (a negative
lookback loads nothing new; 10,000,000,000 overflows a 32-bit integer in SQL) is refused
with the var's name instead.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from saas_lifecycle import settings
from saas_lifecycle.quality import thresholds


class VarError(ValueError):
    """A var is unknown, of the wrong type or out of range; the message is one line."""


@dataclass(frozen=True)
class Bounds:
    """Inclusive bounds of a numeric var."""

    low: float
    high: float


# Bounds of numeric vars, by name; the defaults below cover the rest of their type.
RANGES: dict[str, Bounds] = {
    "incremental_lookback_days": Bounds(0, 366),
    "max_clock_skew_hours": Bounds(0, 24 * 366),
    "activation_window_days": Bounds(1, 3660),
    "conversion_window_days": Bounds(1, 3660),
    "churn_inactivity_days": Bounds(1, 3660),
    "mau_window_days": Bounds(1, 366),
    "onboarding_window_days": Bounds(1, 3660),
    "quarantine_max_share": Bounds(0, 1),
    "max_duplicate_share": Bounds(0, 1),
    "health_target_active_days": Bounds(1, 14),
    "health_healthy_min_score": Bounds(0, 100),
    "health_neutral_min_score": Bounds(0, 100),
}
# Any other integer var: a count of days, points or rows, which SQL holds in 32 bits.
DEFAULT_INT_BOUNDS = Bounds(0, 2**31 - 1)
DEFAULT_FLOAT_BOUNDS = Bounds(0, 1e12)

# Vars whose values are SQL identifiers or event names: a safe shape, never code.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SHAPES: dict[str, re.Pattern[str]] = {
    "build_schema_suffix": re.compile(r"[A-Za-z0-9_]*"),
    "raw_schema": IDENTIFIER,
    "first_value_event": IDENTIFIER,
    "activation_events": IDENTIFIER,
}
CHOICES: dict[str, tuple[str, ...]] = {"raw_location": ("files", "schema")}
# Vars with a null default and the type they take when set.
NULLABLE_DATES = frozenset({"as_of_date"})


@cache
def project_vars(project_file: Path = settings.REPO_ROOT / "dbt_project.yml") -> dict[str, Any]:
    """The `vars:` of dbt_project.yml: every known name with its default."""
    return dict(yaml.safe_load(project_file.read_text()).get("vars") or {})


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, date):
        return "date"
    return "null" if value is None else type(value).__name__


def _check_type(name: str, value: Any, default: Any) -> None:
    expected = _type_name(default)
    found = _type_name(value)
    if name in NULLABLE_DATES:
        expected = "date (YYYY-MM-DD) or null"
        if value is None or isinstance(value, date):
            return
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            try:
                date.fromisoformat(value)
                return
            except ValueError:
                pass
    elif found == expected or (expected == "number" and found == "integer"):
        if isinstance(value, list):
            for item in value:
                if not isinstance(item, str):
                    raise VarError(f"var {name} must be a list of strings, got {item!r} in it")
        return
    elif default is None:  # a var without a typed default takes any value
        return
    article = "an" if expected[0] in "aeiou" else "a"
    raise VarError(f"var {name} must be {article} {expected}, got {found} {value!r}")


def _check_range(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise VarError(f"var {name} must be a finite number, got {value}")
    default = DEFAULT_INT_BOUNDS if isinstance(value, int) else DEFAULT_FLOAT_BOUNDS
    bounds = RANGES.get(name, default)
    if not bounds.low <= value <= bounds.high:
        raise VarError(
            f"var {name} must be between {bounds.low:g} and {bounds.high:g}, got {value}"
        )


def _check_shape(name: str, value: Any) -> None:
    if name in CHOICES and value not in CHOICES[name]:
        allowed = " or ".join(CHOICES[name])
        raise VarError(f"var {name} must be {allowed}, got {value!r}")
    pattern = SHAPES.get(name)
    if pattern is None:
        return
    for item in value if isinstance(value, list) else [value]:
        if not pattern.fullmatch(item):
            raise VarError(
                f"var {name} must be letters, digits and underscores"
                f" (it names a schema or an event), got {item!r}"
            )


def unknown_var_message(name: str, known: Mapping[str, Any]) -> str:
    """`unknown var reporting_timezon; did you mean reporting_timezone?`."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else "the vars are listed in README (Vars)"
    return f"unknown var {name}; {hint}"


def validate_vars(user_vars: Mapping[str, Any] | None) -> None:
    """Raise VarError for the first var that is unknown, of the wrong type or out of range."""
    known = project_vars()
    for name, value in (user_vars or {}).items():
        if not isinstance(name, str) or name not in known:
            raise VarError(unknown_var_message(str(name), known))
        _check_type(name, value, known[name])
        _check_range(name, value)
        _check_shape(name, value)
    merged = {**known, **(user_vars or {})}
    try:  # the quality gates' thresholds (per-table overrides, earliest_valid_date)
        thresholds.check_all(merged)
    except thresholds.ThresholdError as exc:
        raise VarError(str(exc)) from None
    healthy, neutral = (
        merged.get("health_healthy_min_score"),
        merged.get("health_neutral_min_score"),
    )
    if isinstance(healthy, int | float) and isinstance(neutral, int | float) and neutral > healthy:
        raise VarError(
            f"var health_neutral_min_score ({neutral}) must not exceed"
            f" health_healthy_min_score ({healthy})"
        )


def check_suffix(user_vars: Mapping[str, Any] | None) -> None:
    """The guarded run builds its own state and publishes exactly what its gates checked
    there (DuckDB and Spark alike); a schema suffix would only make the gates and the publish
    read other schemas. Plain dbt may use it."""
    suffix = (user_vars or {}).get("build_schema_suffix")
    if suffix:
        raise VarError(
            f"var build_schema_suffix ({suffix!r}) is not for the guarded run: it builds its"
            " own state and publishes exactly what its gates checked there; remove the var"
        )


def timezone_error(name: str) -> str | None:
    """Why `name` is not a time zone the engine knows (DuckDB's list), or None."""
    import duckdb  # light: an in-memory database answers in milliseconds

    with duckdb.connect() as con:
        found = con.execute(
            "select count(*) from pg_timezone_names() where name = ?", [name]
        ).fetchone()
    if found and found[0]:
        return None
    return (
        f"unknown time zone {name!r} in var reporting_timezone (an IANA name, e.g. Europe/Berlin)"
    )


def check_timezone(user_vars: Mapping[str, Any] | None) -> None:
    """Raise VarError when var reporting_timezone is not in the engine's list."""
    name = (user_vars or {}).get("reporting_timezone")
    if name is None:
        return
    problem = timezone_error(name)
    if problem:
        raise VarError(problem)
