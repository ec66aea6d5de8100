"""Read what the report draws from the published DuckDB file (read-only).

One query per chart keeps the frames small: the marts are already aggregated, and the only
user-level read (time to value by persona) takes two columns of dim_users.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from saas_lifecycle import settings
from saas_lifecycle.publish import Warehouse
from saas_lifecycle.quality.history import acknowledged_failures

# Weeks after sign-up shown in the retention heatmap (a quarter).
HEATMAP_WEEKS = 12

# Months after the first paid month shown in the revenue retention heatmap (a year).
HEATMAP_MONTHS = 12
# Paying accounts listed in the at-risk table (highest expected MRR loss first).
AT_RISK_ROWS = 15
# Without the churn model's marts (a Spark build: README, "Running on a cluster") the
# at-risk table ranks paying accounts by MRR at risk, with no probability.
AT_RISK_WITHOUT_MODEL = f"""
    select account_id, persona, cast(current_mrr as double) as current_mrr, health_score,
        health_band, cast(null as double) as churn_probability,
        cast(null as double) as expected_mrr_loss, cast(null as varchar) as top_drivers,
        top_risk_reasons
    from marts.account_health where is_paying
    order by mrr_at_risk desc, health_score nulls first, account_id
    limit {AT_RISK_ROWS}
"""

# Chart key -> (the mart it reads, the query).
QUERIES: dict[str, tuple[str, str]] = {
    "retention": (
        "retention_cohorts",
        f"""
        select cohort_start, segment_type, segment_value, period_number, cohort_size,
            retained_users, retention_rate, is_complete
        from marts.retention_cohorts
        where cohort_granularity = 'week' and segment_type in ('all', 'channel')
            and period_number <= {HEATMAP_WEEKS}
        order by segment_type, segment_value, cohort_start, period_number
    """,
    ),
    "active_users": (
        "active_users_daily",
        """
        select date, dau, wau, mau, stickiness, mau_window_complete
        from marts.active_users_daily order by date
    """,
    ),
    "lifecycle": (
        "user_lifecycle",
        """
        select period_start, new_users, returning_users, resurrected_users, dormant_users,
            is_complete
        from marts.user_lifecycle where granularity = 'week' order by period_start
    """,
    ),
    "onboarding": (
        "onboarding_funnel",
        """
        select signup_week, step_order, step_name, signups, users_completed, is_complete
        from marts.onboarding_funnel where segment_type = 'all'
        order by signup_week, step_order
    """,
    ),
    "ttv": (
        "dim_users",
        """
        select persona, ttv_hours from marts.dim_users
    """,
    ),
    "conversion": (
        "conversion_cohorts",
        """
        select signup_month, segment_value as channel, accounts_signed_up, accounts_trialing,
            accounts_converted, is_complete
        from marts.conversion_cohorts where segment_type = 'channel'
        order by signup_month, channel
    """,
    ),
    "mrr": (
        "mrr_movements_monthly",
        """
        select month,
            cast(starting_mrr as double) as starting_mrr,
            cast(new_mrr as double) as new_mrr,
            cast(expansion_mrr as double) as expansion_mrr,
            cast(reactivation_mrr as double) as reactivation_mrr,
            cast(contraction_mrr as double) as contraction_mrr,
            cast(churned_mrr as double) as churned_mrr,
            cast(ending_mrr as double) as ending_mrr,
            net_revenue_retention, is_complete
        from marts.mrr_movements_monthly order by month
    """,
    ),
    "nps": (
        "nps_monthly",
        """
        select month, responses, promoters, passives, detractors, nps, is_complete
        from marts.nps_monthly where segment_type = 'all' order by month
    """,
    ),
    "revenue_kpis": (
        "revenue_kpis_monthly",
        """
        select month, cast(arr as double) as arr, cast(ending_mrr as double) as ending_mrr,
            paying_accounts_end, arpa, quick_ratio, net_revenue_retention, is_complete
        from marts.revenue_kpis_monthly order by month
    """,
    ),
    "revenue_retention": (
        "revenue_retention_cohorts",
        f"""
        select cohort_month, months_since, cohort_accounts,
            cast(cohort_starting_mrr as double) as cohort_starting_mrr,
            cast(mrr as double) as mrr, net_mrr_retention, logo_retention, is_complete
        from marts.revenue_retention_cohorts where months_since <= {HEATMAP_MONTHS}
        order by cohort_month, months_since
    """,
    ),
    "at_risk_accounts": (
        "churn_risk_scores",
        f"""
        select scores.account_id, health.persona, cast(scores.current_mrr as double) as current_mrr,
            health.health_score, health.health_band, scores.churn_probability,
            scores.expected_mrr_loss, scores.top_drivers, health.top_risk_reasons
        from marts.churn_risk_scores as scores
        inner join marts.account_health as health on scores.account_id = health.account_id
        order by scores.expected_mrr_loss desc nulls last, scores.account_id
        limit {AT_RISK_ROWS}
    """,
    ),
    "health": (
        "customer_health",
        """
        select health_score, health_band, risk_reasons from marts.customer_health
    """,
    ),
    "aha": (
        "aha_moment_candidates",
        """
        select event_name, event_category, users_did, users_did_not, retention_if_did,
            retention_if_not, lift
        from marts.aha_moment_candidates order by lift desc nulls last, event_name
    """,
    ),
}


@dataclass(frozen=True)
class MartsSnapshot:
    """The frames the charts need and the facts the header shows."""

    database: Path
    as_of_date: date | None
    reporting_timezone: str | None
    currency: str | None
    row_counts: dict[str, int]
    frames: dict[str, pd.DataFrame] = field(repr=False)
    # Failures of the publishing run that an operator acknowledged (acknowledgements.yml).
    acknowledged: tuple[AcknowledgedFailure, ...] = ()


@dataclass(frozen=True)
class AcknowledgedFailure:
    """A blocking expectation that failed and published as a warning, and who said why."""

    layer: str
    expectation: str
    dates: str | None  # the days the failure is about, when it names them
    acknowledged: str  # "<reason> (<author>)"


class MartsMissingError(Exception):
    """The database has no published marts to report on."""


def _scalar_row(con: Any, sql: str) -> tuple[Any, ...] | None:
    """The first row of a query on an optional relation, or None when it does not exist."""
    import duckdb

    try:
        return con.execute(sql).fetchone()
    except duckdb.CatalogException:
        return None


def _row_counts(con: Any) -> dict[str, int]:
    names = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables"
            " where table_schema = ? and table_catalog = current_database() order by table_name",
            [settings.MARTS_SCHEMA],
        ).fetchall()
    ]
    return {
        name: con.execute(f'select count(*) from {settings.MARTS_SCHEMA}."{name}"').fetchone()[0]
        for name in names
    }


def load_marts(database: Path) -> MartsSnapshot:
    """Open the published database read-only and read every chart's frame."""
    import duckdb

    if not database.is_file():
        raise MartsMissingError(f"no published database at {database}: run `lifecycle run` first")
    with duckdb.connect(str(database), read_only=True) as con:
        counts = _row_counts(con)
        queries = dict(QUERIES)
        if "churn_risk_scores" not in counts:
            queries["at_risk_accounts"] = ("account_health", AT_RISK_WITHOUT_MODEL)
        missing = sorted({mart for mart, _ in queries.values()} - set(counts))
        if missing:
            raise MartsMissingError(
                f"{database} has no mart(s) {', '.join(missing)} in schema"
                f" {settings.MARTS_SCHEMA}: run `lifecycle run` first"
            )
        frames = {key: con.execute(sql).df() for key, (_, sql) in queries.items()}
        # The served file records the build's cut-off, zone, reporting currency and run
        # (saas_lifecycle/publish.py).
        context = _scalar_row(
            con,
            "select as_of_date, reporting_timezone, reporting_currency, run_id"
            " from monitoring.build_context",
        )
    as_of_date, timezone, currency, run_id = context if context else (None, None, None, None)
    if as_of_date is None and not frames["active_users"].empty:
        as_of_date = frames["active_users"]["date"].max()
    return MartsSnapshot(
        database=database,
        as_of_date=pd.Timestamp(as_of_date).date() if as_of_date is not None else None,
        reporting_timezone=timezone,
        currency=currency,
        row_counts=counts,
        frames=frames,
        acknowledged=tuple(
            AcknowledgedFailure(*row)
            for row in (acknowledged_failures(Warehouse(database).audit, run_id) if run_id else [])
        ),
    )
