"""The bench's peer: the activity marts computed straight from the raw Parquet in DuckDB.

    python -m saas_lifecycle.bench_peer RAW_DIR OUT.duckdb [VARS_JSON]

One script, one DuckDB connection, plain SQL: what a careful analyst would write by hand
for the same definitions (../shared/METRICS.md), with no dbt, no staging tables, no
quality gates and no incremental state. It writes its marts into OUT (schema `peer_marts`) so
the bench can compare them with the project's, row for row (`compare_marts`). The
project must produce the same rows; the ratio of the full build's time to the peer's is
what the project's machinery costs.

It covers the marts that follow from the users' active days: active_users_daily,
stickiness_weekly, fct_user_activity_daily and activity_retention.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import yaml

from saas_lifecycle import settings

PEER_SCHEMA = "peer_marts"
PEER_MARTS = (
    "active_users_daily",
    "stickiness_weekly",
    "fct_user_activity_daily",
    "activity_retention",
)
# Granularities of the retention marts and the last period_number each shows.
RETENTION_PERIODS = {"day": 90, "week": 52, "month": 24}


def project_vars(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """dbt_project.yml's vars with `overrides` on top (the run's --vars)."""
    project = yaml.safe_load((settings.REPO_ROOT / "dbt_project.yml").read_text())
    return {**project.get("vars", {}), **(overrides or {})}


def _text(value: Any) -> str:
    """A SQL string literal (the values come from the project's vars, quoted anyway)."""
    return "'" + str(value).replace("'", "''") + "'"


def _raw(raw_dir: Path, table: str) -> str:
    return (
        f"read_parquet({_text(raw_dir / table / '**' / '*.parquet')},"
        " hive_partitioning = false, union_by_name = true)"
    )


def statements(raw_dir: Path, variables: Mapping[str, Any]) -> list[str]:
    """The peer's SQL, in order: base tables first, then one table per mart."""
    zone = _text(variables["reporting_timezone"])
    skew = int(variables["max_clock_skew_hours"])
    mau_days = int(variables["mau_window_days"])
    first_value = _text(variables["first_value_event"])
    as_of = variables.get("as_of_date")
    local_date = f"cast(timezone({zone}, cast(occurred_at as timestamptz)) as date)"
    taxonomy_csv = _text(settings.REPO_ROOT / "seeds" / "event_taxonomy.csv")
    chosen_as_of = (
        f"cast({_text(as_of)} as date)"
        if as_of
        else "(select max(e.occurred_date) from events as e"
        " left join taxonomy as t on e.event_name = t.event_name"
        " where coalesce(t.is_active, true))"
    )
    return [
        f"create schema if not exists {PEER_SCHEMA}",
        f"""create temp table taxonomy as
            select event_name, category, cast(is_active as boolean) as is_active
            from read_csv({taxonomy_csv}, header = true, all_varchar = true)""",
        # Good events (the contract's row rules), the earliest received copy of each id.
        f"""create temp table events as
            select event_id, anonymous_id, user_id, event_name, occurred_at, received_at,
                   {local_date} as occurred_date
            from (
                select cast(event_id as varchar) as event_id,
                       cast(anonymous_id as varchar) as anonymous_id,
                       cast(user_id as varchar) as user_id,
                       cast(event_name as varchar) as event_name,
                       cast(occurred_at as timestamp) as occurred_at,
                       cast(received_at as timestamp) as received_at
                from {_raw(raw_dir, "tracks")}
            )
            where event_id is not null and event_name is not null
              and occurred_at is not null and received_at is not null
              and (user_id is not null or anonymous_id is not null)
              and occurred_at <= received_at + interval {skew} hour
            qualify row_number() over (
                partition by event_id
                order by received_at, occurred_at, user_id nulls last,
                         anonymous_id nulls last, event_name) = 1""",
        f"""create temp table cut_off as
            select as_of_date,
                   cast(timezone({zone}, cast(as_of_date + 1 as timestamp)) as timestamp)
                       as end_at
            from (select {chosen_as_of} as as_of_date)""",
        # Users as they were at the cut-off: the CDC version in force then.
        f"""create temp table users_then as
            with versions as (
                select cast(user_id as varchar) as user_id,
                       cast(created_at as timestamp) as created_at,
                       cast(updated_at as timestamp) as updated_at,
                       cast(account_id as varchar) as account_id,
                       cast(email as varchar) as email,
                       cast(role as varchar) as role,
                       cast(deleted_at as timestamp) as deleted_at
                from {_raw(raw_dir, "users")}
                where user_id is not null and account_id is not null
                  and created_at is not null and updated_at is not null
                qualify row_number() over (
                    partition by user_id, updated_at
                    order by account_id, created_at, email nulls last, role nulls last,
                             deleted_at nulls last) = 1
            ),
            timed as (
                select *, lead(updated_at) over (partition by user_id order by updated_at)
                              as next_updated_at
                from versions
            )
            select user_id, created_at as signup_at,
                   cast(timezone({zone}, cast(created_at as timestamptz)) as date)
                       as signup_date
            from timed, cut_off
            where updated_at < cut_off.end_at
              and (next_updated_at is null or next_updated_at >= cut_off.end_at)
              and created_at < cut_off.end_at""",
        # Each anonymous id belongs to the user of its earliest row carrying both ids
        # (occurred_at, then received_at, then event_id), from the moment that row happened.
        """create temp table stitched as
            select anonymous_id,
                   arg_min(user_id, (occurred_at, received_at, event_id)) as user_id,
                   min(occurred_at) as stitched_at
            from events
            where anonymous_id is not null and user_id is not null
            group by anonymous_id""",
        # A view, not a table: read once for the active days, and filtered to one event
        # name for first value (DuckDB pushes that filter down to the events).
        """create temp view user_events as
            select users_then.user_id, users_then.signup_at, users_then.signup_date,
                   events.event_name, events.occurred_at, events.occurred_date
            from events
            cross join cut_off
            left join stitched
                on events.user_id is null and events.anonymous_id = stitched.anonymous_id
                and stitched.stitched_at < cut_off.end_at
            inner join users_then
                on users_then.user_id = coalesce(events.user_id, stitched.user_id)
            where events.occurred_at < cut_off.end_at""",
        """create temp table active_days as
            select user_events.user_id, occurred_date as activity_date,
                   count(*) as active_events,
                   count(distinct case when taxonomy.category = 'core_feature'
                                  then user_events.event_name end) as distinct_core_features
            from user_events
            left join taxonomy on user_events.event_name = taxonomy.event_name
            where coalesce(taxonomy.is_active, true) and occurred_date >= signup_date
            group by user_events.user_id, occurred_date""",
        f"""create or replace table {PEER_SCHEMA}.fct_user_activity_daily as
            with first_value as (
                select user_id,
                       cast(timezone({zone}, cast(min(occurred_at) as timestamptz)) as date)
                           as first_value_date
                from user_events
                where event_name = {first_value} and occurred_at >= signup_at
                group by user_id
            )
            select active_days.user_id, activity_date,
                   cast(active_events as bigint) as active_events,
                   distinct_core_features,
                   coalesce(first_value.first_value_date = activity_date, false)
                       as reached_first_value_on_day
            from active_days
            left join first_value on active_days.user_id = first_value.user_id""",
        # A user is counted on date d by a window of w days when active in d-w+1 .. d. Each
        # active day counts its user from that day until w days later or the user's next
        # active day, whichever comes first, so no user is counted twice on a date.
        f"""create or replace table {PEER_SCHEMA}.active_users_daily as
            with
            next_days as (
                select activity_date,
                       lead(activity_date) over (partition by user_id order by activity_date)
                           as next_date
                from active_days
            ),
            spans as (
                select w.metric, activity_date as from_date,
                       least(activity_date + w.days, coalesce(next_date, activity_date + w.days))
                           as until_date
                from next_days
                cross join (values ('dau', 1), ('wau', 7), ('mau', {mau_days})) as w(metric, days)
            ),
            changes as (
                select metric, change_date, sum(change) as change
                from (select metric, from_date as change_date, 1 as change from spans
                      union all
                      select metric, until_date, -1 from spans)
                group by metric, change_date
            ),
            bounds as (
                select min(activity_date) as first_date,
                       (select as_of_date from cut_off) as last_date
                from active_days
            ),
            dates as (
                select cast(unnest(generate_series(cast(first_date as timestamp),
                       cast(last_date as timestamp), interval 1 day)) as date) as day
                from bounds
            ),
            counts as (
                select dates.day,
                       sum(coalesce(sum(changes.change) filter (where metric = 'dau'), 0))
                           over (order by dates.day) as dau,
                       sum(coalesce(sum(changes.change) filter (where metric = 'wau'), 0))
                           over (order by dates.day) as wau,
                       sum(coalesce(sum(changes.change) filter (where metric = 'mau'), 0))
                           over (order by dates.day) as mau
                from dates
                left join changes on changes.change_date = dates.day
                group by dates.day
            )
            select day as date, cast(dau as bigint) as dau, cast(wau as bigint) as wau,
                   cast(mau as bigint) as mau,
                   case when mau = 0 then null else cast(dau as double) / mau end
                       as stickiness,
                   day - {mau_days - 1} >= (select first_date from bounds)
                       as mau_window_complete
            from counts""",
        f"""create or replace table {PEER_SCHEMA}.stickiness_weekly as
            with
            weeks_active as (
                select user_id, cast(date_trunc('week', activity_date) as date) as week_start,
                       count(*) as days_active
                from active_days
                group by all
            ),
            weeks as (
                select cast(unnest(generate_series(
                           cast(date_trunc('week', min(activity_date)) as timestamp),
                           cast(date_trunc('week', (select as_of_date from cut_off)) as timestamp),
                           interval 7 day)) as date) as week_start
                from active_days
            ),
            counted as (
                select week_start, days_active, count(*) as users
                from weeks_active
                group by all
            )
            select weeks.week_start, cast(d.days_active as integer) as days_active,
                   cast(coalesce(counted.users, 0) as bigint) as users,
                   weeks.week_start + 6 <= (select as_of_date from cut_off) as is_complete
            from weeks
            cross join range(1, 8) as d(days_active)
            left join counted
                on counted.week_start = weeks.week_start
                and counted.days_active = d.days_active""",
        *retention_statements(),
    ]


def retention_statements() -> list[str]:
    """activity_retention: every period a user is active in makes them a member of that
    period's cohort; retained in period n = members active n periods later, unbounded =
    members active then or in any later period (up to the cut-off)."""
    grains = ", ".join(f"('{g}', {n})" for g, n in RETENTION_PERIODS.items())
    most_periods = max(RETENTION_PERIODS.values())

    def periods_between(start: str, end: str) -> str:
        """Whole periods from one period start to another of the cohort's granularity."""
        return (
            f"case cohort.grain when 'day' then date_diff('day', {start}, {end})"
            f" when 'week' then date_diff('day', {start}, {end}) // 7"
            f" else (year({end}) * 12 + month({end})) - (year({start}) * 12 + month({start}))"
            " end"
        )

    retained_number = periods_between("cohort.period_start", "later.period_start")
    last_number = periods_between("cohort.period_start", "last_periods.last_start")
    return [
        f"""create temp table user_periods as
            select distinct g.grain, g.last_number, active_days.user_id,
                   cast(date_trunc(g.grain, activity_date) as date) as period_start
            from active_days cross join (values {grains}) as g(grain, last_number)""",
        """create temp table cohort_sizes as
            select grain, last_number, period_start as cohort_start, count(*) as cohort_size
            from user_periods group by all""",
        f"""create temp table retained as
            select cohort.grain, cohort.period_start as cohort_start,
                   {retained_number} as period_number, count(*) as retained_users
            from user_periods as cohort
            inner join user_periods as later
                on later.user_id = cohort.user_id and later.grain = cohort.grain
                and later.period_start > cohort.period_start
            where {retained_number} <= cohort.last_number
            group by all""",
        f"""create temp table last_numbers as
            with last_periods as (
                select grain, user_id, max(period_start) as last_start
                from user_periods group by all
            )
            select cohort.grain, cohort.period_start as cohort_start,
                   least({last_number}, cohort.last_number) as last_number,
                   count(*) as members
            from user_periods as cohort
            inner join last_periods
                on last_periods.user_id = cohort.user_id and last_periods.grain = cohort.grain
            group by all""",
        f"""create or replace table {PEER_SCHEMA}.activity_retention as
            with
            grid as (
                select cohort_sizes.*, n.period_number,
                       case grain
                           when 'day' then cast(cohort_start + to_days(n.period_number) as date)
                           when 'week'
                               then cast(cohort_start + to_days(7 * n.period_number) as date)
                           else cast(cohort_start + to_months(n.period_number) as date)
                       end as period_start
                from cohort_sizes
                cross join range(0, {most_periods + 1}) as n(period_number)
                where n.period_number <= cohort_sizes.last_number
            ),
            shown as (
                select grid.*,
                       case grain
                           when 'day' then period_start
                           when 'week' then cast(period_start + to_days(6) as date)
                           else cast(period_start + to_months(1) - to_days(1) as date)
                       end as period_end
                from grid, cut_off
                where period_start <= cast(date_trunc(grain, cut_off.as_of_date) as date)
            ),
            unbounded as (
                -- Members whose last active period is n or later: a sum from the top down.
                select shown.grain, shown.cohort_start, shown.period_number,
                       sum(coalesce(last_numbers.members, 0)) over (
                           partition by shown.grain, shown.cohort_start
                           order by shown.period_number desc) as members
                from shown
                left join last_numbers
                    on last_numbers.grain = shown.grain
                    and last_numbers.cohort_start = shown.cohort_start
                    and last_numbers.last_number = shown.period_number
            ),
            counted as (
                select shown.grain, shown.cohort_start, shown.period_number,
                       shown.cohort_size, shown.period_end,
                       case when shown.period_number = 0 then shown.cohort_size
                            else coalesce(retained.retained_users, 0) end as retained_users,
                       case when shown.period_number = 0 then shown.cohort_size
                            else unbounded.members end as unbounded_retained_users
                from shown
                inner join unbounded
                    on unbounded.grain = shown.grain
                    and unbounded.cohort_start = shown.cohort_start
                    and unbounded.period_number = shown.period_number
                left join retained
                    on retained.grain = shown.grain
                    and retained.cohort_start = shown.cohort_start
                    and retained.period_number = shown.period_number
            )
            select cast(grain as varchar) as granularity, cohort_start,
                   cast(period_number as integer) as period_number,
                   cast(cohort_size as bigint) as cohort_size,
                   cast(retained_users as bigint) as retained_users,
                   cast(retained_users as double) / cohort_size as retention_rate,
                   cast(unbounded_retained_users as bigint) as unbounded_retained_users,
                   cast(unbounded_retained_users as double) / cohort_size
                       as unbounded_retention_rate,
                   period_end <= (select as_of_date from cut_off) as is_complete
            from counted""",
    ]


def compute(
    raw_dir: Path,
    database: Path,
    variables: Mapping[str, Any] | None = None,
    memory_limit: str | None = None,
    temp_dir: Path | None = None,
) -> float:
    """Compute the peer's marts into `database`; returns the seconds the SQL took."""
    config: dict[str, Any] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if temp_dir is not None:
        config["temp_directory"] = str(temp_dir)
    started = time.perf_counter()
    with duckdb.connect(str(database), config=config) as con:
        con.execute("set TimeZone = 'UTC'")
        for sql in statements(raw_dir, project_vars(variables)):
            con.execute(sql)
    return time.perf_counter() - started


def compare_marts(project_database: Path, peer_database: Path) -> dict[str, tuple[int, int, int]]:
    """Per peer mart: (project rows, rows only in the project, rows only in the peer),
    multiset differences (EXCEPT ALL) over the peer's columns."""
    differences = {}
    with duckdb.connect(str(project_database), read_only=True) as con:
        con.execute(f"attach {_text(peer_database)} as peer_db (read_only)")
        for mart in PEER_MARTS:
            columns = ", ".join(
                name for (name,) in con.execute(
                    "select column_name from information_schema.columns where table_catalog ="
                    " 'peer_db' and table_schema = ? and table_name = ? order by ordinal_position",
                    [PEER_SCHEMA, mart],
                ).fetchall()
            )  # fmt: skip
            project = f"select {columns} from {settings.MARTS_SCHEMA}.{mart}"
            peer = f"select {columns} from peer_db.{PEER_SCHEMA}.{mart}"
            rows = con.execute(f"select count(*) from ({project})").fetchone()[0]
            only_project = con.execute(f"select count(*) from ({project} except all {peer})")
            only_project_rows = only_project.fetchone()[0]
            only_peer = con.execute(f"select count(*) from ({peer} except all {project})")
            differences[mart] = (rows, only_project_rows, only_peer.fetchone()[0])
    return differences


def main(argv: list[str]) -> int:
    raw_dir, database = Path(argv[0]), Path(argv[1])
    variables = json.loads(argv[2]) if len(argv) > 2 else {}  # noqa: PLR2004
    memory_limit = argv[3] if len(argv) > 3 else None  # noqa: PLR2004
    temp_dir = Path(argv[4]) if len(argv) > 4 else None  # noqa: PLR2004
    seconds = compute(raw_dir, database, variables, memory_limit, temp_dir)
    print(f"peer marts {', '.join(PEER_MARTS)} in {seconds:.3f} s")
    print(seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
