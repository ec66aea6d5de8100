"""One-sentence readings of the report's charts, computed from the same frames.

Each function takes the frame its chart draws (the columns of saas_lifecycle.report.marts)
and returns one sentence a product manager can act on. Empty frames get a sentence saying
why there is nothing to read, never an exception.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

# Segments smaller than this are left out of "highest / lowest" comparisons when at least
# two segments reach it: a 1-of-1 channel says nothing.
MIN_GROUP_SIZE = 10
# Retention week a reading quotes when the cohorts have reached it (the usual "week 4").
READING_WEEK = 4
# Days of stickiness averaged in the reading (four whole weeks: no weekday bias).
STICKINESS_DAYS = 28
# Order of the health bands, best first.
HEALTH_BANDS = ("healthy", "neutral", "at_risk")


# ---------------------------------------------------------------------------- formatting


def is_missing(value: Any) -> bool:
    """True for None, NaN and pandas' NA."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def percent(rate: Any) -> str:
    """`41%` for 0.41; `n/a` when the rate is undefined."""
    return "n/a" if is_missing(rate) else f"{float(rate):.0%}"


def duration(hours: float) -> str:
    """`45 min`, `5.2 h` or `3.1 days`: the unit a reader thinks in."""
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def money(amount: float, currency: str | None) -> str:
    """`USD 8,430` (whole units; the marts keep full precision)."""
    return f"{currency} {amount:,.0f}" if currency else f"{amount:,.0f}"


def day(value: Any) -> str:
    """`2025-03-24`."""
    return pd.Timestamp(value).date().isoformat()


def month(value: Any) -> str:
    """`March 2025`."""
    return pd.Timestamp(value).strftime("%B %Y")


def users(count: int, noun: str = "user") -> str:
    """`1 user`, `1,204 users`."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def latest_complete(frame: pd.DataFrame, flag: str = "is_complete") -> tuple[pd.Series, bool]:
    """The last row whose period is over, else the last row; and whether it is complete."""
    complete = frame[frame[flag].fillna(False).astype(bool)]
    if not complete.empty:
        return complete.iloc[-1], True
    return frame.iloc[-1], False


# ---------------------------------------------------------------------------- comparisons


@dataclass(frozen=True)
class Group:
    """One segment's value in a comparison, with its size (and the count behind a rate)."""

    name: str
    value: float
    size: int
    count: int | None = None


def pooled_rates(frame: pd.DataFrame, by: str, numerator: str, denominator: str) -> list[Group]:
    """Sum numerator and denominator per group over the frame's rows: one rate per group.

    Pooling weights every cohort by its size, unlike an average of the cohorts' rates.
    """
    sums = frame.groupby(by, sort=True)[[numerator, denominator]].sum()
    return [
        Group(
            str(name), row[numerator] / row[denominator], int(row[denominator]), int(row[numerator])
        )
        for name, row in sums.iterrows()
        if row[denominator] > 0
    ]


def extremes(groups: Iterable[Group]) -> tuple[Group, Group] | None:
    """(highest, lowest) group by value, among groups of at least MIN_GROUP_SIZE when two
    or more are that large; None when fewer than two groups have a value."""
    valued = [g for g in groups if not is_missing(g.value)]
    large = [g for g in valued if g.size >= MIN_GROUP_SIZE]
    candidates = large if len(large) >= 2 else valued
    if len(candidates) < 2:
        return None
    # Ties break by name so the sentence does not depend on row order.
    ordered = sorted(candidates, key=lambda g: (-g.value, g.name))
    return ordered[0], ordered[-1]


def contrast(
    high_word: str, high: Group, low_word: str, low: Group, describe: Callable[[Group], str]
) -> str:
    """`highest for referral (46% of 68) and lowest for other (7% of 14)`."""
    return (
        f"{high_word} for {high.name} ({describe(high)}) and "
        f"{low_word} for {low.name} ({describe(low)})"
    )


def change(new: float, old: float, scale: float = 1.0) -> str:
    """`up 3 points`, `down 1 point` or `unchanged` (rounded as the sentence shows)."""
    delta = round((new - old) * scale)
    if delta == 0:
        return "unchanged"
    return f"{'up' if delta > 0 else 'down'} {users(abs(delta), 'point')}"


# ---------------------------------------------------------------------------- readings


def retention(frame: pd.DataFrame) -> str:
    """Week-N retention by channel (highest and lowest) and overall, complete cohorts only."""
    complete = frame[frame["is_complete"].astype(bool) & (frame["period_number"] >= 1)]
    if complete.empty:
        return (
            "No weekly cohort has a complete week 1 yet: retention needs sign-ups and "
            "activity spanning at least two calendar weeks."
        )
    weeks = sorted(set(complete["period_number"]))
    week = max((w for w in weeks if w <= READING_WEEK), default=weeks[0])
    at_week = complete[complete["period_number"] == week]
    overall = at_week[at_week["segment_type"] == "all"]
    size = int(overall["cohort_size"].sum())
    rate = overall["retained_users"].sum() / size if size else float("nan")
    cohorts = overall["cohort_start"].nunique()
    scope = f"{users(size)} in {cohorts} complete weekly cohort{'s' if cohorts != 1 else ''}"
    pair = extremes(
        pooled_rates(
            at_week[at_week["segment_type"] == "channel"],
            "segment_value",
            "retained_users",
            "cohort_size",
        )
    )
    if pair is None:
        return f"Week-{week} retention is {percent(rate)} ({scope})."
    ranked = contrast(
        "highest", pair[0], "lowest", pair[1], lambda g: f"{percent(g.value)} of {g.size:,}"
    )
    return f"Week-{week} retention is {ranked}; {percent(rate)} overall ({scope})."


def active_users(frame: pd.DataFrame) -> str:
    """Latest DAU/WAU/MAU and the recent average stickiness against the period before."""
    if frame.empty:
        return "No active users yet: active_users_daily has no rows."
    last = frame.iloc[-1]
    head = (
        f"On {day(last['date'])} DAU was {int(last['dau']):,}, WAU {int(last['wau']):,} and "
        f"MAU {int(last['mau']):,}"
    )
    settled = frame[frame["mau_window_complete"].astype(bool)]
    if settled.empty:
        return (
            f"{head}; stickiness (DAU/MAU) is {percent(last['stickiness'])}, inflated while "
            "the monthly window still reaches back before the first active day."
        )
    recent = settled.tail(STICKINESS_DAYS)
    before = settled.iloc[:-STICKINESS_DAYS].tail(STICKINESS_DAYS)
    average = recent["stickiness"].mean()
    sentence = (
        f"{head}; stickiness (DAU/MAU) averaged {percent(average)} over the last {len(recent)} days"
    )
    if len(before) == STICKINESS_DAYS:
        moved = change(average, before["stickiness"].mean(), 100)
        sentence += f", {moved} on the {STICKINESS_DAYS} days before"
    return sentence + "."


def lifecycle(frame: pd.DataFrame) -> str:
    """The last complete week's lifecycle counts and quick ratio (gained / lost users)."""
    if frame.empty:
        return "No activity yet: user_lifecycle has no weekly rows."
    row, complete = latest_complete(frame)
    new, returning = int(row["new_users"]), int(row["returning_users"])
    resurrected, dormant = int(row["resurrected_users"]), int(row["dormant_users"])
    when = f"In the week of {day(row['period_start'])}{'' if complete else ' (not over yet)'}"
    counts = (
        f"{new:,} new, {returning:,} returning, {resurrected:,} resurrected and "
        f"{dormant:,} dormant users"
    )
    gained = new + resurrected
    if dormant == 0:
        verdict = "no user went dormant" if gained else "nobody was gained or lost"
        return f"{when}: {counts}; {verdict}."
    quick_ratio = gained / dormant
    trend = "grew" if gained > dormant else "shrank" if gained < dormant else "held steady"
    return (
        f"{when}: {counts}; quick ratio (new + resurrected) / dormant = {quick_ratio:.1f}, so "
        f"the active base {trend} by {abs(gained - dormant):,}."
    )


def onboarding_steps(frame: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """Completion per step pooled over complete cohorts (all cohorts when none is complete).

    Returns step_order, step_name, signups, users_completed, completion_rate and whether
    only complete cohorts were used.
    """
    complete = frame[frame["is_complete"].astype(bool)]
    use_complete = not complete.empty
    rows = complete if use_complete else frame
    steps = (
        rows.groupby(["step_order", "step_name"], as_index=False)[["signups", "users_completed"]]
        .sum()
        .sort_values("step_order")
    )
    steps["completion_rate"] = steps["users_completed"] / steps["signups"].where(
        steps["signups"] > 0
    )
    return steps.reset_index(drop=True), use_complete


def onboarding(frame: pd.DataFrame) -> str:
    """Each step's completion is its own share of sign-ups (steps count in any order, so
    a later step may be done by more users than an earlier one): the most and least done."""
    if frame.empty:
        return "No sign-ups yet: onboarding_funnel has no rows."
    steps, use_complete = onboarding_steps(frame)
    signups = int(steps["signups"].iloc[0])
    scope = "in complete cohorts" if use_complete else "(cohorts still inside their window)"
    first = steps.iloc[0]
    sentence = f"Of {signups:,} sign-ups {scope}, {percent(first['completion_rate'])} did "
    sentence += f"{first['step_name']}"
    valued = steps.dropna(subset=["completion_rate"])
    if len(steps) == 1 or valued.empty:
        return sentence + "."
    least = valued.sort_values(["completion_rate", "step_order"]).iloc[0]
    return (
        f"{sentence}; the least done step is {least['step_name']} "
        f"({percent(least['completion_rate'])}; steps count in any order, so this is not "
        "a funnel)."
    )


def time_to_value(frame: pd.DataFrame) -> str:
    """Median TTV by persona (shortest and longest) and the share that reached value."""
    total = len(frame)
    if total == 0:
        return "No users yet: dim_users has no rows."
    reached = frame.dropna(subset=["ttv_hours"])
    if reached.empty:
        return f"None of the {users(total)} has reached first value yet."
    share = f"{percent(len(reached) / total)} of all {users(total)} have reached first value"
    groups = [
        Group(str(persona), float(hours.median()), len(hours))
        for persona, hours in reached.groupby("persona", sort=True)["ttv_hours"]
    ]
    pair = extremes(groups)
    if pair is None:
        return f"Median time to value is {duration(groups[0].value)}; {share}."
    slowest, fastest = pair
    ranked = contrast(
        "shortest", fastest, "longest", slowest, lambda g: f"{duration(g.value)}, {users(g.size)}"
    )
    return f"Median time to value is {ranked}; {share}."


def conversion(frame: pd.DataFrame) -> str:
    """Trial-to-paid conversion by first-touch channel, complete sign-up months pooled."""
    if frame.empty:
        return (
            "No conversion data: conversion_cohorts is empty (it is built empty when the "
            "billing_events table is absent)."
        )
    complete = frame[frame["is_complete"].astype(bool)]
    rows = complete if not complete.empty else frame
    scope = "" if not complete.empty else " (accounts still inside their conversion window)"
    groups = pooled_rates(rows, "channel", "accounts_converted", "accounts_signed_up")
    converted = sum(g.count or 0 for g in groups)
    accounts = sum(g.size for g in groups)
    overall = f"{percent(converted / accounts if accounts else None)} overall"
    overall += f" ({converted:,} of {users(accounts, 'account')}){scope}"
    pair = extremes(groups)
    if pair is None:
        return f"Trial-to-paid conversion is {overall}."
    ranked = contrast(
        "highest",
        pair[0],
        "lowest",
        pair[1],
        lambda g: f"{percent(g.value)}, {g.count:,} of {g.size:,}",
    )
    return f"Trial-to-paid conversion is {ranked}; {overall}."


# Movements of the MRR bridge: column, label, sign in the bridge.
MRR_MOVEMENTS = (
    ("new_mrr", "new", 1),
    ("expansion_mrr", "expansion", 1),
    ("reactivation_mrr", "reactivation", 1),
    ("contraction_mrr", "contraction", -1),
    ("churned_mrr", "churned", -1),
)


def mrr(frame: pd.DataFrame, currency: str | None) -> str:
    """The latest complete month's MRR bridge and net revenue retention."""
    if frame.empty:
        return (
            "No MRR yet: mrr_movements_monthly is empty (no billing_events table, or no "
            "paid subscription so far)."
        )
    row, complete = latest_complete(frame)
    start, end = float(row["starting_mrr"]), float(row["ending_mrr"])
    growth = f" ({(end - start) / start:+.0%})" if start > 0 else ""
    moves = [
        f"{'+' if sign > 0 else '-'}{money(float(row[column]), None)} {label}"
        for column, label, sign in MRR_MOVEMENTS
        if float(row[column]) != 0
    ]
    sentence = (
        f"In {month(row['month'])}{'' if complete else ' (not over yet)'} MRR went from "
        f"{money(start, currency)} to {money(end, currency)}{growth}"
    )
    sentence += f": {', '.join(moves)}" if moves else " with no movement"
    if not is_missing(row["net_revenue_retention"]):
        sentence += f"; net revenue retention {percent(row['net_revenue_retention'])}"
    return sentence + "."


def nps(frame: pd.DataFrame) -> str:
    """The last complete month's NPS and its change from the month before; a running month
    is mentioned after it, as partial."""
    if frame.empty:
        return (
            "No NPS responses: nps_monthly is empty (no survey_responses table, or no nps "
            "survey answered)."
        )
    row, complete = latest_complete(frame)
    position = frame.index.get_loc(row.name)
    sentence = (
        f"NPS in {month(row['month'])}{'' if complete else ' (not over yet)'} is "
        f"{float(row['nps']):+.0f} from {users(int(row['responses']), 'response')} "
        f"({int(row['promoters']):,} promoters, {int(row['detractors']):,} detractors)"
    )
    if position > 0:
        previous = frame.iloc[position - 1]
        moved = change(float(row["nps"]), float(previous["nps"]))
        sentence += f", {moved} from {month(previous['month'])}"
    running = frame.iloc[position + 1 :] if complete else frame.iloc[0:0]
    for _, later in running.iterrows():
        sentence += (
            f"; {month(later['month'])} so far (partial): {float(later['nps']):+.0f} from "
            f"{users(int(later['responses']), 'response')}"
        )
    return sentence + "."


def risk_signal(reason: str) -> str:
    """The signal of one risk reason without its numbers: `3 open tickets` -> `open tickets`."""
    words = re.sub(r"\([^)]*\)", "", reason)
    words = re.sub(r"\b\d+(\.\d+)?\b", "", words)
    words = " ".join(words.split())
    # `1 open ticket` and `3 open tickets` are the same signal.
    return words if words.endswith("s") or words.endswith("activity") else words + "s"


def health(frame: pd.DataFrame) -> str:
    """Shares of the health bands and the most frequent risk signal."""
    if frame.empty:
        return "No customers to score: customer_health has no rows (every user churned?)."
    total = len(frame)
    shares = frame["health_band"].value_counts() / total
    healthy, neutral, at_risk = (percent(shares.get(band, 0.0)) for band in HEALTH_BANDS)
    sentence = (
        f"Of {users(total, 'customer')} not churned, {healthy} are healthy, {neutral} neutral "
        f"and {at_risk} at risk"
    )
    signals: Counter[str] = Counter()
    for reasons in frame["risk_reasons"].dropna():
        signals.update({risk_signal(r) for r in str(reasons).split(";") if r.strip()})
    if not signals:
        return sentence + "; no risk signal fires."
    signal, hits = min(signals.items(), key=lambda item: (-item[1], item[0]))
    return f"{sentence}; the most frequent risk signal is {signal} ({users(hits)})."


def aha(frame: pd.DataFrame) -> str:
    """The event with the highest retention lift among events done by enough users."""
    if frame.empty:
        return (
            "No aha-moment candidates yet: they need users who signed up at least 35 days "
            "before the as-of date."
        )
    valued = frame.dropna(subset=["lift"])
    large = valued[
        (valued["users_did"] >= MIN_GROUP_SIZE) & (valued["users_did_not"] >= MIN_GROUP_SIZE)
    ]
    rows = large if not large.empty else valued
    if rows.empty:
        return (
            "No event has a measurable lift yet: nobody who skipped an event was retained "
            "on days 28–34, or nobody did it."
        )
    best = rows.sort_values(["lift", "event_name"], ascending=[False, True]).iloc[0]
    return (
        f"{best['event_name']} has the highest retention lift, {float(best['lift']):.1f}×: "
        f"{percent(best['retention_if_did'])} of the {users(int(best['users_did']))} who did "
        f"it in their first week were active on days 28–34, against "
        f"{percent(best['retention_if_not'])} of those who did not (correlation, not proof)."
    )


def revenue_kpis(frame: pd.DataFrame, currency: str | None) -> str:
    """The last complete month's ARR, its change, ARPA and quick ratio."""
    if frame.empty:
        return "No revenue yet: revenue_kpis_monthly is empty (no paid subscription so far)."
    row, complete = latest_complete(frame)
    position = frame.index.get_loc(row.name)
    sentence = (
        f"ARR at the end of {month(row['month'])}{'' if complete else ' (not over yet)'} is "
        f"{money(float(row['arr']), currency)}"
    )
    if position > 0:
        before = float(frame.iloc[position - 1]["arr"])
        if before > 0:
            sentence += f" ({(float(row['arr']) - before) / before:+.0%} on the month before)"
    sentence += f" from {users(int(row['paying_accounts_end']), 'paying account')}"
    if not is_missing(row["arpa"]):
        sentence += f", ARPA {money(float(row['arpa']), currency)}"
    if is_missing(row["quick_ratio"]):
        return sentence + "; no MRR was lost, so the quick ratio is undefined."
    return (
        f"{sentence}; quick ratio {float(row['quick_ratio']):.1f} (MRR added per unit lost; "
        "above 1 means growth outpaces losses)."
    )


# Months after the first paid month a revenue retention reading quotes when cohorts have it.
READING_MONTH = 3


def revenue_retention(frame: pd.DataFrame) -> str:
    """Net MRR and logo retention at month READING_MONTH (or the latest complete month
    after the first), pooled over the complete cohorts that reached it."""
    complete = frame[frame["is_complete"].astype(bool) & (frame["months_since"] >= 1)]
    if complete.empty:
        return "No cohort of paying accounts has a complete month after its first paid month yet."
    reached = sorted(complete["months_since"].unique())
    at = READING_MONTH if READING_MONTH in reached else int(reached[-1])
    rows = complete[complete["months_since"] == at]
    starting = float(rows["cohort_starting_mrr"].sum())
    accounts = int(rows["cohort_accounts"].sum())
    net = float(rows["mrr"].sum()) / starting if starting > 0 else None
    logos = (
        float((rows["logo_retention"] * rows["cohort_accounts"]).sum()) / accounts
        if accounts
        else None
    )
    return (
        f"{users(len(rows), 'cohort')} of paying accounts ({accounts:,} accounts) keep "
        f"{percent(net)} of their first-month MRR and {percent(logos)} of their accounts "
        f"{users(at, 'month')} later (expansion and reactivation included)."
    )


def at_risk_accounts(frame: pd.DataFrame, currency: str | None) -> str:
    """How much MRR the listed accounts are expected to lose, and the top account."""
    if frame.empty:
        return "No paying account at the as-of date: nothing is at risk."
    if frame["churn_probability"].isna().all():
        at_risk = frame[frame["health_band"].isin(["at_risk", "inactive"])]
        return (
            f"No churn model in this build; {users(len(at_risk), 'listed account')} are at risk "
            f"or inactive, with {money(float(at_risk['current_mrr'].sum()), currency)} MRR."
        )
    top = frame.iloc[0]
    loss = float(frame["expected_mrr_loss"].sum())
    return (
        f"The {users(len(frame), 'paying account')} listed are expected to lose "
        f"{money(loss, currency)} of MRR next month; the largest expected loss is "
        f"{top['account_id']} ({money(float(top['current_mrr']), currency)} MRR, "
        f"{percent(top['churn_probability'])} churn probability)."
    )


def as_of_text(as_of: date | None) -> str:
    """The header's as-of date, or a note that the marts have none."""
    return as_of.isoformat() if as_of else "unknown (no activity)"
