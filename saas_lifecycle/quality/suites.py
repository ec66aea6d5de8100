"""The expectation suites of the raw, staging and marts layers, as code reviewed like code.

Each `Spec` is one expectation of one layer: a stable name, a severity chosen on purpose
(`error` blocks the run, `warn` is reported; the comment beside each says why), a DuckDB
query that returns a SMALL frame (a profile, an aggregate or a per-day series, never a
table's rows), the Great Expectations expectations applied to that frame, and optionally a
companion query that samples the failing rows (run only when the expectation fails).

Memory: every query is an aggregate DuckDB streams over the Parquet files or warehouse
tables (counts, grouped counts that spill to DuckDB's temp directory, t-digest quantiles),
so only frames of at most a few thousand rows reach pandas and GX, whatever the raw size.

This module does not import great_expectations (a 7 s import): expectations are declared as
`Expect(<class name in gx.expectations>, kwargs)` and built by validate.py.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any

from saas_lifecycle import settings
from saas_lifecycle.contract import (
    BILLING_EVENT_TYPES,
    EMAIL_EVENT_TYPES,
    PLATFORMS,
    RAW_TABLES,
    REQUIRED_TABLES,
    ROLES,
    TICKET_CHANNELS,
    TICKET_STATUSES,
)
from saas_lifecycle.quality import Layer, Severity, thresholds
from saas_lifecycle.quality.dialect import DUCKDB, Dialect

if TYPE_CHECKING:
    import pandas as pd

# ---------------------------------------------------------------------------- thresholds

# The share and volume thresholds are dbt vars, settable per table: thresholds.py.
DEFAULT_MAX_CLOCK_SKEW_HOURS = 24
LOCAL_MEDIAN_DAYS = 7  # days on each side of a received day judged by the gap gate
# Median delivery latency (received_at - occurred_at) of tracks; normal data has seconds to
# minutes, a batch written in local time labelled UTC is hours off.
MIN_MEDIAN_LATENCY_HOURS = -1.0
MAX_MEDIAN_LATENCY_HOURS = 6.0
# Timestamps earlier than var earliest_valid_date (this default) are a broken clock.
EARLIEST_TIMESTAMP = thresholds.DEFAULT_EARLIEST
# Money identities are exact decimals; this only absorbs decimal(38, 8) rounding of fx.
MONEY_TOLERANCE = 0.01
SAMPLE_ROWS = 5


def quarantine_max_share(variables: Mapping[str, Any], table: str = "tracks") -> float:
    """The quarantine share threshold of a raw table (var quarantine_max_share, or the
    table's override in quality_table_thresholds)."""
    return thresholds.for_table(variables, table).quarantine_max_share


def max_duplicate_share(variables: Mapping[str, Any], table: str = "tracks") -> float:
    """The duplicate share threshold of a raw table (var max_duplicate_share)."""
    return thresholds.for_table(variables, table).max_duplicate_share


def max_clock_skew_hours(variables: Mapping[str, Any]) -> float:
    """The dbt var max_clock_skew_hours (default 24), the quarantine rule's allowance."""
    return _number(variables, "max_clock_skew_hours", DEFAULT_MAX_CLOCK_SKEW_HOURS)


def valid_received_bounds(variables: Mapping[str, Any]) -> tuple[str, str]:
    """[earliest, latest] plausible timestamps as SQL literals, as the quarantine rules use
    them (macros/valid_timestamps.sql): earliest_valid_date, and now plus the skew."""
    earliest = thresholds.earliest_valid_date(variables).isoformat()
    latest = datetime.now(UTC).replace(tzinfo=None) + timedelta(
        hours=max_clock_skew_hours(variables)
    )
    return (
        f"timestamp '{earliest} 00:00:00'",
        f"timestamp '{latest.strftime('%Y-%m-%d %H:%M:%S')}'",
    )


def _number(variables: Mapping[str, Any], name: str, default: float) -> float:
    value = variables.get(name)
    if value is None or value == "":
        return float(default)
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"var {name} must be a number, got {value!r}") from exc


# ---------------------------------------------------------------------------- the spec


@dataclass(frozen=True)
class Expect:
    """One GX expectation: its class name in `gx.expectations` and its arguments."""

    type: str
    kwargs: Mapping[str, Any]


def between(column: str, min_value: float | None = None, max_value: float | None = None) -> Expect:
    """Every non-null value of `column` in [min_value, max_value]."""
    kwargs: dict[str, Any] = {"column": column}
    if min_value is not None:
        kwargs["min_value"] = min_value
    if max_value is not None:
        kwargs["max_value"] = max_value
    return Expect("ExpectColumnValuesToBeBetween", kwargs)


def at_least(column_a: str, column_b: str) -> Expect:
    """column_a >= column_b on every row where both are set."""
    return Expect(
        "ExpectColumnPairValuesAToBeGreaterThanB",
        {
            "column_A": column_a,
            "column_B": column_b,
            "or_equal": True,
            "ignore_row_if": "either_value_is_missing",
        },
    )


def zero(column: str) -> Expect:
    """Every value of a count column is 0 (a violation count)."""
    return between(column, 0, 0)


# (frame, the frame's failing rows) -> the observed value as readable text
Observer = Callable[["pd.DataFrame", "pd.DataFrame"], str]


@dataclass(frozen=True)
class Spec:
    """One expectation of one layer's suite."""

    name: str
    layer: Layer
    severity: Severity
    query: str
    expect: tuple[Expect, ...]
    observe: Observer
    sample_query: str | None = None
    # Relations (schema.table) the queries read; a missing one fails the spec.
    requires: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    # What the expectation judges: a raw table (e.g. tracks) or a dbt model name (e.g.
    # stg_product__tracks, active_users_daily); impact.py maps it to the marts it feeds.
    relation: str = ""
    # A column of the frame whose failing values are the days a failure is about (gap days);
    # acknowledgements by date range match them.
    dates_column: str | None = None


# ---------------------------------------------------------------------------- text helpers


def fmt(value: Any) -> str:
    """A number or value in short readable form."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    if hasattr(value, "isoformat"):  # datetime, date, pandas Timestamp: drop a midnight time
        text = str(value)
        return text[:10] if text.endswith(" 00:00:00") else text
    return str(value)


def _more(failing: pd.DataFrame, shown: int) -> str:
    extra = len(failing) - shown
    return f" and {extra} more" if extra > 0 else ""


def observe_max(column: str, limit: float, label: str, unit: str = "") -> Observer:
    """`max null_share 0.031 > 0.01 (tracks.user_id)` or `max null_share 0 <= 0.01`."""

    def observe(frame: pd.DataFrame, failing: pd.DataFrame) -> str:
        if frame.empty or frame[column].isna().all():
            return f"{column}: no rows"
        rows = failing if not failing.empty else frame
        top = rows.sort_values(column, ascending=False).iloc[0]
        op = ">" if not failing.empty else "<="
        return (
            f"max {column} {fmt(top[column])}{unit} {op} {fmt(limit)}{unit} "
            f"({top[label]}){_more(failing, 1)}"
        )

    return observe


def observe_count(column: str, what: str) -> Observer:
    """`3 duplicate_keys` from the sum of a violation-count column."""

    def observe(frame: pd.DataFrame, failing: pd.DataFrame) -> str:
        total = int(frame[column].fillna(0).sum()) if not frame.empty else 0
        return f"{fmt(total)} {what}" + (" (expected 0)" if total else "")

    return observe


def _duration(hours: float) -> str:
    """+8.00 h, -12.5 min, +3 s."""
    if abs(hours) >= 1:
        return f"{hours:+.2f} h"
    if abs(hours) * 60 >= 1:
        return f"{hours * 60:+.1f} min"
    return f"{hours * 3600:+.0f} s"


# ---------------------------------------------------------------------------- raw


def raw_source(raw_dir: Path, table: str) -> str:
    """The DuckDB scan of one raw table's Parquet files."""
    pattern = str(raw_dir / table / "**" / "*.parquet").replace("'", "''")
    return f"read_parquet('{pattern}', hive_partitioning = false, union_by_name = true)"


def _ts(column: str) -> str:
    # Naive UTC whatever the file's type (timestamptz or naive); the connection is in UTC.
    return f'cast("{column}" as timestamp)'


def _in_list(values: Sequence[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def fx_currencies() -> list[str]:
    """Currencies of the fx_rates seed (the quarantine rule's reference)."""
    path = settings.REPO_ROOT / "seeds" / "fx_rates.csv"
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [row["currency"].strip() for row in csv.DictReader(handle) if row.get("currency")]


def value_rules(
    table: str, skew_hours: float, bounds: tuple[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """(rule name, SQL condition of a row breaking it, SQL of the offending value) per table.

    The same rules send rows to quarantine in the base views; here they are only profiled.
    `bounds` are the plausible [earliest, latest] timestamps (valid_received_bounds).
    """
    earliest, latest = bounds or valid_received_bounds({"max_clock_skew_hours": skew_hours})
    clocks = [
        (
            "received_at_out_of_range",
            f"{_ts('received_at')} < {earliest} or {_ts('received_at')} > {latest}",
            "cast(received_at as varchar)",
        ),
        (
            "occurred_at_out_of_range",
            f"{_ts('occurred_at')} < {earliest}",
            "cast(occurred_at as varchar)",
        ),
        (
            "occurred_after_received",
            f"{_ts('occurred_at')} > {_ts('received_at')} + interval ({skew_hours}) hour",
            "cast(occurred_at as varchar) || ' > ' || cast(received_at as varchar)",
        ),
    ]
    rules: dict[str, list[tuple[str, str, str]]] = {
        "tracks": [("platform", f"platform not in ({_in_list(PLATFORMS)})", "platform"), *clocks],
        "users": [("role", f"role not in ({_in_list(ROLES)})", "role")],
        "billing_events": [
            *clocks,
            ("event_type", f"event_type not in ({_in_list(BILLING_EVENT_TYPES)})", "event_type"),
            ("mrr_amount", "mrr_amount < 0", "cast(mrr_amount as varchar)"),
        ],
        "survey_responses": [("score", "score not between 0 and 10", "cast(score as varchar)")],
        "support_tickets": [
            ("status", f"status not in ({_in_list(TICKET_STATUSES)})", "status"),
            ("channel", f"channel not in ({_in_list(TICKET_CHANNELS)})", "channel"),
            (
                "solved_before_created",
                "solved_at < created_at",
                "cast(solved_at as varchar) || ' < ' || cast(created_at as varchar)",
            ),
        ],
        "email_events": [
            ("event_type", f"event_type not in ({_in_list(EMAIL_EVENT_TYPES)})", "event_type")
        ],
    }
    currencies = fx_currencies()
    if currencies:
        rules["billing_events"].append(
            ("currency", f"currency not in ({_in_list(currencies)})", "currency")
        )
    return rules.get(table, [])


# Tables whose id may be delivered more than once and is collapsed in staging.
DELIVERY_IDS = {"tracks": "event_id", "billing_events": "billing_event_id",
                "email_events": "email_event_id"}  # fmt: skip
# Tables with a loading watermark: an incremental run's batch is their rows received since
# its lower bound. The other tables are small snapshots, validated whole.
RECEIVED_TABLES = frozenset(
    name for name, t in RAW_TABLES.items() if any(c.name == "received_at" for c in t.columns)
)
# A relation the caller registers on the raw connection with the per-day tracks counts of
# earlier runs (columns day date, events bigint): the gap gate's context before the batch.
DAILY_HISTORY_RELATION = "tracks_daily_history"


def batch_source(src: str, table: str, received_since: date | None) -> str:
    """The rows of one raw table that a run's batch holds: those received since the batch's
    lower bound (tables with a watermark), else every row."""
    if received_since is None or table not in RECEIVED_TABLES:
        return src
    return f"(select * from {src} where {_since(received_since)})"


def _since(received_since: date) -> str:
    # The bare column against a text literal (cast to the column's own type, naive or UTC
    # timestamptz: the connection is in UTC) lets DuckDB skip the row groups of older days
    # by their statistics; a cast of the column would read them all.
    return f"received_at >= '{received_since.isoformat()} 00:00:00'"


def raw_suite(
    raw_dir: Path,
    tables: Sequence[str],
    previous_volumes: Mapping[str, Sequence[int]],
    variables: Mapping[str, Any],
    received_since: date | None = None,
    with_daily_history: bool = False,
) -> list[Spec]:
    """The raw layer's expectations for the raw tables present (absent optional: none).

    `received_since` names the batch of an incremental run: row-level checks scan only the
    rows received since that date (None: every row). With `with_daily_history`, the gap gate
    reads the days before the batch from DAILY_HISTORY_RELATION (the audit tables) instead
    of the raw files.
    """
    thresholds.check_all(variables)
    skew = max_clock_skew_hours(variables)
    bounds = valid_received_bounds(variables)
    as_of = _as_of(variables)
    present = [t for t in RAW_TABLES if t in tables]
    specs: list[Spec] = []
    for table in [*[t for t in REQUIRED_TABLES if t not in present], *present]:
        required = table in REQUIRED_TABLES
        limits = thresholds.for_table(variables, table)
        src = raw_source(raw_dir, table) if table in present else None
        specs.append(
            Spec(
                f"{table}.has_rows",
                "raw",
                # error for required tables: every metric needs them; warn for an optional
                # table that is present but empty (a new system not loading yet is plausible).
                "error" if required else "warn",
                # Whole table: Parquet row counts come from the footers, no data is read.
                f"select count(*) as rows from {src}" if src else "select 0 as rows",
                (between("rows", min_value=1),),
                lambda f, _: f"{fmt(int(f['rows'].iloc[0]))} rows",
                relation=table,
            )
        )
        if src is None:
            continue
        batch = batch_source(src, table, received_since)
        specs.append(_null_share_spec(table, batch, limits))
        rules = value_rules(table, skew, bounds)
        if rules:
            specs.append(_value_rules_spec(table, batch, rules, limits))
        if table in DELIVERY_IDS:
            specs.append(_duplicate_spec(table, batch, DELIVERY_IDS[table], limits))
        specs.append(_volume_spec(table, src, previous_volumes.get(table, ()), limits))
    if "tracks" in present:
        src = raw_source(raw_dir, "tracks")
        limits = thresholds.for_table(variables, "tracks")
        history = DAILY_HISTORY_RELATION if with_daily_history and received_since else None
        specs.append(_daily_volume_spec(src, limits, bounds, as_of, received_since, history))
        specs.append(_latency_spec(batch_source(src, "tracks", received_since)))
    return specs


def _as_of(variables: Mapping[str, Any]) -> date | None:
    value = variables.get("as_of_date")
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None  # the run refuses a malformed as_of before the suites; nothing to bound


def _evidence(share: str, bad: str, limit: float, min_rows: int) -> str:
    """SQL: the share when at least min_rows rows are bad, else 0 (evidence rule)."""
    return f"case when {bad} >= {int(min_rows)} then {share} else 0 end"


def _null_share_spec(table: str, src: str, limits: thresholds.TableThresholds) -> Spec:
    share_max, min_rows = limits.quarantine_max_share, limits.quality_min_bad_rows
    columns = [c.name for c in RAW_TABLES[table].columns if not c.nullable]
    counts = [f'count("{c}") as nn_{i}' for i, c in enumerate(columns)]
    checks = [(c, f"nn_{i}") for i, c in enumerate(columns)]
    if table == "tracks":  # the contract's table rule: at least one of the two ids
        counts.append("count(*) filter (where user_id is not null or anonymous_id is not null)"
                      " as nn_ids")  # fmt: skip
        checks.append(("user_id|anonymous_id", "nn_ids"))
    selects = " union all ".join(
        f"select '{table}.{name}' as column_name, n as rows, n - {alias} as null_rows, "
        f"(n - {alias}) / nullif(n, 0) as null_share, "
        f"{_evidence(f'(n - {alias}) / nullif(n, 0)', f'n - {alias}', share_max, min_rows)}"
        f" as null_share_on_evidence from p"
        for name, alias in checks
    )
    return Spec(
        f"{table}.required_columns.null_share",
        "raw",
        # warn: the quarantine catches these rows one by one; the staging quarantine-share
        # gate blocks when they are too many. This tells early which column is to blame.
        "warn",
        f"with p as materialized (select count(*) as n, {', '.join(counts)} from {src}) {selects}",
        (between("null_share_on_evidence", 0, share_max),),
        observe_max("null_share", share_max, "column_name"),
        relation=table,
    )


def _value_rules_spec(
    table: str,
    src: str,
    rules: Sequence[tuple[str, str, str]],
    limits: thresholds.TableThresholds,
) -> Spec:
    share_max, min_rows = limits.quarantine_max_share, limits.quality_min_bad_rows
    counts = ", ".join(
        f"count(*) filter (where {cond}) as bad_{i}" for i, (_, cond, _) in enumerate(rules)
    )
    selects = " union all ".join(
        f"select '{table}.{name}' as rule, n as rows, bad_{i} as outside_rows, "
        f"bad_{i} / nullif(n, 0) as outside_share, "
        f"{_evidence(f'bad_{i} / nullif(n, 0)', f'bad_{i}', share_max, min_rows)}"
        f" as outside_share_on_evidence from p"
        for i, (name, _, _) in enumerate(rules)
    )
    samples = " union all ".join(
        f"(select '{table}.{name}' as rule, {value} as value, count(*) as rows from {src} "
        f"where {cond} group by all order by rows desc limit {SAMPLE_ROWS})"
        for name, cond, value in rules
    )
    return Spec(
        f"{table}.value_sets.outside_share",
        "raw",
        # warn: rows outside a value set (or with a broken clock) are quarantined with their
        # rule and counted; the staging quarantine-share gate decides whether they are too
        # many. The samples name the offending values.
        "warn",
        f"with p as materialized (select count(*) as n, {counts} from {src}) {selects}",
        (between("outside_share_on_evidence", 0, share_max),),
        observe_max("outside_share", share_max, "rule"),
        sample_query=f"select * from ({samples}) order by rows desc limit {SAMPLE_ROWS}",
        relation=table,
    )


def _duplicate_spec(
    table: str, src: str, id_column: str, limits: thresholds.TableThresholds
) -> Spec:
    share_max, min_rows = limits.max_duplicate_share, limits.quality_min_bad_rows
    # Grouped counts spill to DuckDB's temp directory, so memory stays bounded at 100M rows.
    # Ids are grouped by their 64-bit hash, an eighth of the memory of 36-character ids; at
    # 100M ids fewer than one pair is expected to collide, far below the share's precision.
    share = "(sum(copies) - count(*)) / nullif(sum(copies), 0)"
    query = (
        f'with ids as (select hash("{id_column}") as id, count(*) as copies from {src} '
        f'where "{id_column}" is not null group by all) '
        f"select '{table}.{id_column}' as id_column, sum(copies) as rows, count(*) as ids, "
        f"sum(copies) - count(*) as duplicate_rows, {share} as duplicate_share, "
        f"{_evidence(share, 'sum(copies) - count(*)', share_max, min_rows)} "
        f"as duplicate_share_on_evidence from ids"
    )
    return Spec(
        f"{table}.{id_column}.duplicate_share",
        "raw",
        # tracks: error, a re-delivery flood means the loader replayed data and volumes and
        # latencies of this batch cannot be trusted. Billing and e-mail events: warn, their
        # copies are collapsed in staging and they are small.
        "error" if table == "tracks" else "warn",
        query,
        (between("duplicate_share_on_evidence", 0, share_max),),
        observe_max("duplicate_share", share_max, "id_column"),
        sample_query=(
            f'select "{id_column}" as {id_column}, count(*) as copies from {src} '
            f'where "{id_column}" is not null group by all having count(*) > 1 '
            f"order by copies desc, {id_column} limit {SAMPLE_ROWS}"
        ),
        relation=table,
    )


def _volume_spec(
    table: str, src: str, previous: Sequence[int], limits: thresholds.TableThresholds
) -> Spec:
    share = limits.volume_min_share_of_previous
    reference = median(previous) if previous else None
    minimum = "null" if reference is None else repr(share * reference)
    ref_sql = "null" if reference is None else repr(float(reference))

    def observe(frame: pd.DataFrame, failing: pd.DataFrame) -> str:
        rows = int(frame["rows"].iloc[0])
        if reference is None:
            return f"{fmt(rows)} rows (no previous successful run to compare)"
        op = "<" if not failing.empty else ">="
        return (
            f"{fmt(rows)} rows {op} {share:.0%} of the median "
            f"{fmt(float(reference))} of the last {len(previous)} successful runs"
        )

    return Spec(
        f"{table}.volume_vs_previous_runs",
        "raw",
        # warn: a smaller delivery can be legitimate (a backfill window, a purge); the day
        # gap and emptiness checks block the clear-cut losses. Row counts of the whole table
        # come from the Parquet footers (no data page is read).
        "warn",
        f"select '{table}' as raw_table, count(*) as rows, {ref_sql} as previous_median, "
        f"{minimum} as min_rows from {src}",
        (at_least("rows", "min_rows"),),
        observe,
        relation=table,
    )


def daily_counts_query(
    src: str, bounds: tuple[str, str], received_since: date | None = None
) -> str:
    """Per received day (UTC) of tracks: the events whose received_at is plausible (the
    quarantine sends the others away, so they are no day's load), for the batch only when
    received_since is given."""
    earliest, latest = bounds
    since = f" and {_since(received_since)}" if received_since else ""
    return (
        f"select cast({_ts('received_at')} as date) as day, count(*) as events from {src} "
        f"where {_ts('received_at')} between {earliest} and {latest}{since} group by all"
    )


def _daily_volume_spec(
    src: str,
    limits: thresholds.TableThresholds,
    bounds: tuple[str, str],
    as_of: date | None,
    received_since: date | None,
    history: str | None,
) -> Spec:
    # Days by received_at, the loading watermark (and the partition of the loaders): a lost
    # load is a day with (nearly) no rows received. occurred_at would also flag a batch whose
    # device clocks are wrong, which the quarantine already handles row by row.
    n = LOCAL_MEDIAN_DAYS
    share, min_median = limits.daily_volume_min_share, limits.daily_volume_min_median_events
    earliest, latest = bounds
    as_of_filter = f"where day <= date '{as_of.isoformat()}'" if as_of else ""
    since = f"date '{received_since.isoformat()}'" if received_since else "null"
    # Days before the batch come from the audit history when there is one (the raw files
    # are not read again); the batch's own days are zero-filled so a missing day counts.
    earlier = (
        f"select day, events from {history} where day < {since}"
        if history
        else "select null::date as day, null::bigint as events where false"
    )
    query = f"""
        with batch as ({daily_counts_query(src, bounds, received_since)}),
        earlier as ({earlier}),
        batch_span as (
            select
                coalesce(
                    least(min(day), (select max(day) + 1 from earlier)), min(day)
                ) as first_day,
                max(day) as last_day
            from batch
        ),
        spine as (
            select cast(t.d as date) as day
            from batch_span, generate_series(first_day, last_day, interval 1 day) as t(d)
        ),
        filled as (
            select spine.day, coalesce(batch.events, 0) as events, true as in_batch
            from spine left join batch on spine.day = batch.day
            union all
            select day, events, false as in_batch from earlier
        ),
        judged_days as (select * from filled {as_of_filter}),
        bounds as (
            select
                min(day) as first_day,
                max(day) as last_day,
                -- Late arrivals received after the last day anything happened are a tail,
                -- not a range to judge (a cut-off export ends that way).
                (
                    select max(cast({_ts("occurred_at")} as date))
                    from {batch_source(src, "tracks", received_since)}
                    where {_ts("occurred_at")} <= {_ts("received_at")}
                    and {_ts("received_at")} between {earliest} and {latest}
                    and {_ts("occurred_at")} >= {earliest}
                ) as last_occurred_day
            from judged_days
        ),
        ref as (
            select day, events, in_batch,
                median(events) over (
                    order by day rows between {n} preceding and 1 preceding
                ) as before_median,
                median(events) over (
                    order by day rows between 1 following and {n} following
                ) as after_median,
                count(*) over (order by day rows between {n} preceding and 1 preceding)
                    as days_before,
                count(*) over (order by day rows between 1 following and {n} following)
                    as days_after
            from judged_days
        ),
        sides as (
            -- The smaller side: on a ramp (a product's first days, a wind-down) one side
            -- is low too, so only a dip below both neighbourhoods is a missing load.
            select *, least(before_median, after_median) as local_median from ref
        )
        select day, events, before_median, after_median, local_median,
            greatest({share} * local_median, 1) as min_events
        from sides, bounds
        where
            in_batch
            and day > first_day and day < last_day  -- edge days are partial by nature
            and day <= last_occurred_day
            -- A full week on each side: a few noisy days are no evidence of a lost load.
            and days_before = {n} and days_after = {n}
            and local_median >= {min_median}
        order by day
    """

    def observe(frame: pd.DataFrame, failing: pd.DataFrame) -> str:
        scope = f" up to as_of {as_of.isoformat()}" if as_of else ""
        if frame.empty:
            return (
                f"no received day to judge{scope} (none with {n} days on each side whose "
                f"medians reach {fmt(min_median)} events)"
            )
        if failing.empty:
            worst = (frame["events"] / frame["local_median"]).min()
            return (
                f"{len(frame)} inner days{scope}, lowest {fmt(float(worst))} of the median "
                f"of the days around (min {fmt(share)})"
            )
        first = failing.iloc[0]
        return (
            f"{len(failing)} received day(s) with < {share:.0%} of the median of the "
            f"{n} days on each side: {fmt(first['day'])} has {fmt(int(first['events']))} "
            f"events vs medians {fmt(float(first['before_median']))} before and "
            f"{fmt(float(first['after_median']))} after{_more(failing, 1)}"
        )

    return Spec(
        "tracks.daily_volume.gap",
        "raw",
        # error: a missing load inside the range silently lowers every activity metric of
        # that day and the windows around it.
        "error",
        query,
        (at_least("events", "min_events"),),
        observe,
        relation="tracks",
        dates_column="day",  # validate_raw registers the history relation when it is used
    )


def _latency_spec(src: str) -> Spec:
    latency = f"(epoch({_ts('received_at')}) - epoch({_ts('occurred_at')})) / 3600.0"
    low, high = MIN_MEDIAN_LATENCY_HOURS, MAX_MEDIAN_LATENCY_HOURS

    def observe(frame: pd.DataFrame, failing: pd.DataFrame) -> str:
        value = frame["median_latency_hours"].iloc[0]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "no rows with both timestamps"
        inside = "inside" if failing.empty else "outside"
        return (
            f"median received_at - occurred_at {_duration(value)}, {inside} "
            f"[{low:+g} h, {high:+g} h]"
        )

    return Spec(
        "tracks.delivery_latency.median",
        "raw",
        # error: a median hours off means occurred_at is in another time zone (local time
        # labelled UTC); every daily metric would shift by those hours.
        "error",
        # approx_quantile is a t-digest: bounded memory where median() would keep every value.
        f"select approx_quantile({latency}, 0.5) as median_latency_hours, count(*) as rows "
        f"from {src} where occurred_at is not null and received_at is not null",
        (between("median_latency_hours", low, high),),
        observe,
        sample_query=(
            f"select event_id, occurred_at, received_at, round({latency}, 2) as latency_hours "
            f"from {src} where occurred_at is not null and received_at is not null "
            f"and {latency} not between {low} and {high} limit {SAMPLE_ROWS}"
        ),
        relation="tracks",
    )


# ---------------------------------------------------------------------------- staging

# Staging models and their grain (the dbt tests assert the same; here a failure blocks).
STAGING_KEYS: dict[str, tuple[str, ...]] = {
    "stg_product__tracks": ("event_id",),
    "stg_product__identity_map": ("anonymous_id",),
    "stg_app__user_versions": ("user_id", "updated_at"),
    "stg_app__account_versions": ("account_id", "updated_at"),
    "stg_billing__billing_events": ("billing_event_id",),
    "stg_surveys__survey_responses": ("response_id",),
    "stg_support__ticket_versions": ("ticket_id", "updated_at"),
    "stg_email__email_events": ("email_event_id",),
}

# (name, child relation, child column, parent relation, parent column); relations are
# schema.table as named in the published warehouse.
STAGING_RELATIONSHIPS: tuple[tuple[str, str, str, str, str], ...] = (
    ("stg_product__identity_map.user_id.in_tracks", "staging.stg_product__identity_map",
     "user_id", "staging.stg_product__tracks", "user_id"),
    ("stg_product__identity_map.stitching_event_id.in_tracks",
     "staging.stg_product__identity_map", "stitching_event_id", "staging.stg_product__tracks",
     "event_id"),
    ("stg_billing__billing_events.currency.in_fx_rates", "staging.stg_billing__billing_events",
     "currency", "reference.fx_rates", "currency"),
)  # fmt: skip

# (model, timestamp column, received_at column bounding it or None)
STAGING_TIMESTAMPS: tuple[tuple[str, str, str | None], ...] = (
    ("stg_product__tracks", "occurred_at", "received_at"),
    ("stg_billing__billing_events", "occurred_at", "received_at"),
    ("stg_app__user_versions", "created_at", None),
    ("stg_app__account_versions", "created_at", None),
    ("stg_surveys__survey_responses", "submitted_at", None),
    ("stg_support__ticket_versions", "created_at", None),
    ("stg_email__email_events", "occurred_at", None),
)

QUARANTINE_SUMMARY = "monitoring.quarantine_summary"
UNKNOWN_EVENT_NAMES = "monitoring.unknown_event_names"


def _built(name: str, sql: Dialect) -> str:
    """A published schema.table as the build wrote it."""
    schema, table = name.split(".", 1)
    return sql.relation(schema, table)


def staging_suite(variables: Mapping[str, Any], sql: Dialect = DUCKDB) -> list[Spec]:
    """The staging layer's expectations (on the build database, or a Spark build slot)."""
    specs = [_key_spec(model, key, sql) for model, key in STAGING_KEYS.items()]
    specs += [
        _relationship_spec(
            name, _built(child, sql), child_col, _built(parent, sql), parent_col, sql
        )
        for name, child, child_col, parent, parent_col in STAGING_RELATIONSHIPS
    ]
    thresholds.check_all(variables)
    skew = max_clock_skew_hours(variables)
    earliest = thresholds.earliest_valid_date(variables).isoformat()
    specs += [
        _timestamp_spec(model, col, rec, skew, sql, earliest)
        for model, col, rec in STAGING_TIMESTAMPS
    ]
    summary = _built(QUARANTINE_SUMMARY, sql)
    specs += [
        _quarantine_spec(table, thresholds.for_table(variables, table), summary)
        for table in RAW_TABLES
    ]
    unknown = _built(UNKNOWN_EVENT_NAMES, sql)
    specs.append(
        Spec(
            "tracks.unknown_event_names",
            "staging",
            # warn: unknown names are kept and count as activity (contract); the taxonomy
            # seed should learn them, but nothing is wrong with the metrics.
            "warn",
            f"select count(*) as unknown_names, coalesce(sum(events), 0) as events from {unknown}",
            (zero("unknown_names"),),
            lambda f, _: (
                f"{fmt(int(f['unknown_names'].iloc[0]))} event names not in event_taxonomy "
                f"({fmt(int(f['events'].iloc[0]))} events)"
            ),
            sample_query=(
                f"select event_name, events from {unknown} order by events desc limit {SAMPLE_ROWS}"
            ),
            requires=(unknown,),
            relation="stg_product__tracks",
        )
    )
    return specs


def _key_spec(model: str, key: tuple[str, ...], sql: Dialect) -> Spec:
    relation = sql.relation("staging", model)
    cols = ", ".join(sql.quote(c) for c in key)
    nulls = " or ".join(f"{sql.quote(c)} is null" for c in key)
    return Spec(
        f"{model}.{'+'.join(key)}.unique",
        "staging",
        # error: a duplicated key double-counts users, events or money in every mart.
        "error",
        f"with k as (select count(*) as rows, count(*) filter (where {nulls}) as null_keys "
        f"from {relation}), d as (select count(*) as distinct_keys from "
        f"(select distinct {cols} from {relation})) select '{model}' as model, rows, "
        f"distinct_keys, rows - distinct_keys as duplicate_keys, null_keys from k, d",
        (zero("duplicate_keys"), zero("null_keys")),
        lambda f, _: (
            f"{fmt(int(f['duplicate_keys'].iloc[0]))} duplicate and "
            f"{fmt(int(f['null_keys'].iloc[0]))} null keys in {fmt(int(f['rows'].iloc[0]))} rows"
        ),
        sample_query=(
            f"select {cols}, count(*) as copies from {relation} group by all "
            f"having count(*) > 1 order by copies desc limit {SAMPLE_ROWS}"
        ),
        requires=(relation,),
        relation=model,
    )


def _relationship_spec(
    name: str, child: str, child_col: str, parent: str, parent_col: str, sql: Dialect
) -> Spec:
    child_key, parent_key = f"c.{sql.quote(child_col)}", f"p.{sql.quote(parent_col)}"
    orphans = (
        f"from {child} c where {child_key} is not null and not exists "
        f"(select 1 from {parent} p where {parent_key} = {child_key})"
    )
    return Spec(
        name,
        "staging",
        # error: an orphan means a join in the marts drops rows or attributes them to nobody.
        "error",
        f"select (select count(*) from {child}) as rows, (select count(*) {orphans}) as orphans",
        (zero("orphans"),),
        lambda f, _: (
            f"{fmt(int(f['orphans'].iloc[0]))} of {fmt(int(f['rows'].iloc[0]))} rows of "
            f"{child}.{child_col} not in {parent}.{parent_col}"
        ),
        sample_query=f"select c.* {orphans} limit {SAMPLE_ROWS}",
        requires=(child, parent),
        relation=child.rsplit(".", 1)[-1],
    )


def _timestamp_spec(
    model: str,
    column: str,
    received: str | None,
    skew_hours: float,
    sql: Dialect,
    earliest: str = EARLIEST_TIMESTAMP,
) -> Spec:
    relation = sql.relation("staging", model)
    if received:
        # Staging keeps every day, later than as_of too: the loads' own watermark bounds it,
        # with the clock-skew allowance the quarantine rule grants.
        upper = sql.add_hours(f"(select max({received}) from {relation})", skew_hours)
    else:
        # No watermark: the wall clock of this run (tomorrow, for time zones) bounds it.
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
        upper = f"timestamp '{tomorrow}'"
    query = (
        f"select '{model}.{column}' as column_name, min({column}) as min_ts, "
        f"max({column}) as max_ts, timestamp '{earliest}' as lower_bound, "
        f"{upper} as upper_bound from {relation}"
    )

    def observe(frame: pd.DataFrame, failing: pd.DataFrame) -> str:
        row = frame.iloc[0]
        verdict = "inside" if failing.empty else "outside"
        return (
            f"{model}.{column} from {fmt(row['min_ts'])} to {fmt(row['max_ts'])}, {verdict} "
            f"[{fmt(row['lower_bound'])}, {fmt(row['upper_bound'])}]"
        )

    return Spec(
        f"{model}.{column}.in_range",
        "staging",
        # tracks and billing: error, they have a watermark and drive activity and money
        # metrics; their broken clocks are quarantined row by row (received_at_out_of_range,
        # occurred_at_out_of_range, occurred_after_received), so a failure here is a
        # quarantine rule that let a row through. The other tables: warn, their bound is
        # only the wall clock.
        "error" if received else "warn",
        query,
        (at_least("min_ts", "lower_bound"), at_least("upper_bound", "max_ts")),
        observe,
        sample_query=(
            f"select * from {relation} where {column} < timestamp '{earliest}' "
            f"or {column} > {upper} limit {SAMPLE_ROWS}"
        ),
        requires=(relation,),
        relation=model,
    )


def _quarantine_spec(table: str, limits: thresholds.TableThresholds, summary: str) -> Spec:
    share_max, min_rows = limits.quarantine_max_share, limits.quality_min_bad_rows
    share = "max(rows_quarantined) / nullif(max(rows_read), 0)"

    def observe(frame: pd.DataFrame, failing: pd.DataFrame) -> str:
        if frame.empty:
            return f"{table}: no rows read"
        bad, share_value = int(frame["rows_quarantined"].iloc[0]), float(frame["share"].iloc[0])
        text = (
            f"{table}: {fmt(bad)} of {fmt(int(frame['rows_read'].iloc[0]))} rows quarantined, "
            f"share {fmt(share_value)} {'>' if share_value > share_max else '<='} {fmt(share_max)}"
        )
        if share_value > share_max and bad < min_rows:
            text += f" but fewer than {fmt(min_rows)} rows (quality_min_bad_rows): no stop"
        return text

    return Spec(
        f"{table}.quarantined_share",
        "staging",
        # error: above the threshold, and with enough bad rows to be evidence, the bad rows
        # are no longer an exception but a broken delivery; publishing would hide that a
        # share of the data is missing from the marts. A handful of bad rows in a small
        # table is quarantined and counted, never a stop by itself.
        "error",
        f"select raw_table, max(rows_read) as rows_read, max(rows_quarantined) as "
        f"rows_quarantined, {share} as share, "
        f"{_evidence(share, 'max(rows_quarantined)', share_max, min_rows)} as quarantined_share "
        f"from {summary} where raw_table = '{table}' and rows_read > 0 group by raw_table",
        (between("quarantined_share", 0, share_max),),
        observe,
        sample_query=(
            f"select quarantine_rule, rows_quarantined_by_rule from {summary} "
            f"where raw_table = '{table}' and quarantine_rule <> 'none' "
            f"order by rows_quarantined_by_rule desc limit {SAMPLE_ROWS}"
        ),
        requires=(summary,),
        relation=table,
    )


# ---------------------------------------------------------------------------- marts

MARTS = settings.MARTS_SCHEMA


def is_rate_column(name: str) -> bool:
    """Columns that are fractions in [0, 1] by METRICS.md (net_revenue_retention and lift
    are ratios that may exceed 1)."""
    return (
        name.endswith(("_rate", "_share"))
        or name.startswith(("share_of_", "retention_if_"))
        or name == "stickiness"
    )


def marts_suite(relations: Mapping[str, Sequence[str]], sql: Dialect = DUCKDB) -> list[Spec]:
    """The marts layer's expectations; `relations` maps schema.table (as built) to its
    columns."""
    specs: list[Spec] = []
    marts_prefix = sql.relation(MARTS, "")
    for relation in sorted(r for r in relations if r.startswith(marts_prefix)):
        rates = [c for c in relations[relation] if is_rate_column(c)]
        if rates:
            specs.append(_range_spec(relation, rates, 0.0, 1.0, "rates_in_0_1", sql))
    specs.append(
        _range_spec(sql.relation(MARTS, "nps_monthly"), ["nps"], -100.0, 100.0, "nps_in_range", sql)
    )
    specs.append(
        _violations_spec(
            "active_users_daily.dau_le_wau_le_mau",
            sql.relation(MARTS, "active_users_daily"),
            "not (dau <= wau and wau <= mau)",
            "rows with not dau <= wau <= mau",
        )
    )
    specs.append(_gap_spec("active_users_daily", "date", "day", sql))
    specs.append(_gap_spec("user_churn_monthly", "month", "month", sql))
    specs.append(_gap_spec("mrr_movements_monthly", "month", "month", sql))
    mrr_movements = sql.relation(MARTS, "mrr_movements_monthly")
    specs.append(
        _violations_spec(
            "mrr_movements_monthly.movement_identity",
            mrr_movements,
            "abs(starting_mrr + new_mrr + expansion_mrr + reactivation_mrr - contraction_mrr"
            f" - churned_mrr - ending_mrr) > {MONEY_TOLERANCE}",
            "months where starting + new + expansion + reactivation - contraction - churned"
            " <> ending",
        )
    )
    specs.append(
        _violations_spec(
            "mrr_movements_monthly.ending_is_next_starting",
            f"(select *, lead(starting_mrr) over (order by month) as next_starting_mrr, "
            f"lead(month) over (order by month) as next_month from {mrr_movements})",
            f"next_month is not null and abs(ending_mrr - next_starting_mrr) > {MONEY_TOLERANCE}",
            "months whose ending_mrr <> the next month's starting_mrr",
            requires=(mrr_movements,),
        )
    )
    specs.append(
        _violations_spec(
            "fct_account_mrr_monthly.change_identity",
            sql.relation(MARTS, "fct_account_mrr_monthly"),
            f"abs(starting_mrr + mrr_change - ending_mrr) > {MONEY_TOLERANCE}",
            "account months where starting_mrr + mrr_change <> ending_mrr",
        )
    )
    specs.append(_cohort_spec(sql))
    dim_users = sql.relation(MARTS, "dim_users")
    specs.append(
        Spec(
            "dim_users.has_rows",
            "marts",
            # error: no users means the build read nothing; publishing would blank every report.
            "error",
            f"select count(*) as rows from {dim_users}",
            (between("rows", min_value=1),),
            lambda f, _: f"{fmt(int(f['rows'].iloc[0]))} rows",
            requires=(dim_users,),
        )
    )
    # Every marts expectation is named <mart>.<check>: it judges that mart.
    return [replace(spec, relation=spec.name.split(".", 1)[0]) for spec in specs]


def _range_spec(
    relation: str, columns: Sequence[str], low: float, high: float, what: str, sql: Dialect
) -> Spec:
    table = relation.split(".", 1)[1]
    selects = " union all ".join(
        f"select '{table}.{c}' as column_name, min({sql.quote(c)}) as min_value, "
        f"max({sql.quote(c)}) as max_value from {relation}"
        for c in columns
    )
    outside = " or ".join(f"{sql.quote(c)} not between {low} and {high}" for c in columns)

    def observe(frame: pd.DataFrame, failing: pd.DataFrame) -> str:
        rows = failing if not failing.empty else frame
        lo, hi = rows["min_value"].min(), rows["max_value"].max()
        verdict = "outside" if not failing.empty else "inside"
        names = ", ".join(rows["column_name"].head(3)) + _more(rows, 3)
        return f"min {fmt(lo)}, max {fmt(hi)}, {verdict} [{fmt(low)}, {fmt(high)}] ({names})"

    return Spec(
        f"{table}.{what}",
        "marts",
        # error: a rate outside its range is a metric bug, and dashboards would show it.
        "error",
        selects,
        (between("min_value", min_value=low), between("max_value", max_value=high)),
        observe,
        sample_query=f"select * from {relation} where {outside} limit {SAMPLE_ROWS}",
        requires=(relation,),
    )


def _violations_spec(
    name: str,
    relation: str,
    condition: str,
    what: str,
    requires: tuple[str, ...] | None = None,
) -> Spec:
    return Spec(
        name,
        "marts",
        # error: these identities hold by construction; a violation is a metric bug.
        "error",
        f"select count(*) as rows, count(*) filter (where {condition}) as violations "
        f"from {relation}",
        (zero("violations"),),
        observe_count("violations", what),
        sample_query=f"select * from {relation} where {condition} limit {SAMPLE_ROWS}",
        requires=requires if requires is not None else (relation,),
    )


def _gap_spec(table: str, column: str, unit: str, sql: Dialect) -> Spec:
    relation = sql.relation(MARTS, table)
    periods = sql.periods_between(unit, f"min({column})", f"max({column})")
    query = (
        f"select min({column}) as first_period, max({column}) as last_period, "
        f"count(distinct {column}) as periods, "
        f"coalesce({periods} + 1 "
        f"- count(distinct {column}), 0) as missing_periods from {relation}"
    )
    series = sql.with_period_series(
        f"select min({column}) as a, max({column}) as b from {relation}", "a", "b", unit
    )
    sample = (
        f"select cast(t.p as date) as missing_{unit} from {series} "
        f"where cast(t.p as date) not in (select {column} from {relation} "
        f"where {column} is not null) order by 1 limit {SAMPLE_ROWS}"
    )
    return Spec(
        f"{table}.no_missing_{unit}s",
        "marts",
        # error: a series with holes draws false drops in every chart and breaks period joins.
        "error",
        query,
        (zero("missing_periods"),),
        lambda f, _: (
            f"{fmt(int(f['missing_periods'].iloc[0]))} missing {unit}s between "
            f"{fmt(f['first_period'].iloc[0])} and {fmt(f['last_period'].iloc[0])}"
        ),
        sample_query=sample,
        requires=(relation,),
    )


def _cohort_spec(sql: Dialect) -> Spec:
    relation = sql.relation(MARTS, "retention_cohorts")
    sums = (
        f"with sums as (select cohort_granularity, cohort_start, period_number, segment_type, "
        f"sum(cohort_size) as cohort_size from {relation} group by all), "
        f"cmp as (select s.*, a.cohort_size as all_cohort_size from sums s join sums a "
        f"using (cohort_granularity, cohort_start, period_number) "
        f"where a.segment_type = 'all' and s.segment_type <> 'all' "
        f"and s.cohort_size <> a.cohort_size)"
    )
    return Spec(
        "retention_cohorts.segment_cohort_sizes",
        "marts",
        # error: persona and channel segments partition the cohort; a mismatch means users
        # are lost or counted twice by the segmentation.
        "error",
        f"{sums} select count(*) as violations from cmp",
        (zero("violations"),),
        observe_count(
            "violations", "cohort periods whose persona or channel sizes do not sum to 'all'"
        ),
        sample_query=f"{sums} select * from cmp limit {SAMPLE_ROWS}",
        requires=(relation,),
    )
