"""Subscription history (`billing_events`), simulated month by month for all subscriptions.

Accounts start a trial (or subscribe directly), some convert, then at each monthly renewal
a subscription may fail a payment, change plan, cancel, or (once canceled) come back. The
loop runs over months, never over accounts, so it stays fast at a million users.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from saas_lifecycle.generate_app import account_ids
from saas_lifecycle.generate_columns import (
    DAY_US,
    HOUR_US,
    MINUTE_US,
    SECOND_US,
    IdSequence,
    decimal_ids,
    decode,
    money,
    pick,
    rng_for,
    sigmoid,
    timestamps,
)
from saas_lifecycle.generate_dirty import Generated, finish
from saas_lifecycle.generate_population import ENTERPRISE, SOLO, Population
from saas_lifecycle.generate_reference import CHANNEL_QUALITY, Reference

MONTH_US = int(30.4 * DAY_US)
TIERS = ("starter", "pro", "business")
TIER_SHARE_BY_PERSONA = ((0.7, 0.3, 0.0), (0.3, 0.55, 0.15), (0.0, 0.3, 0.7))
TRIAL, STARTED, CHANGED, CANCELED, REACTIVATED, FAILED = (
    "trial_started",
    "subscription_started",
    "plan_changed",
    "subscription_canceled",
    "subscription_reactivated",
    "payment_failed",
)
EVENT_TYPES = (TRIAL, STARTED, CHANGED, CANCELED, REACTIVATED, FAILED)
DUPLICATE_SHARE = 0.015


@dataclass
class _Log:
    """Billing events collected as numpy arrays, one list entry per batch."""

    sub: list[np.ndarray] = field(default_factory=list)
    kind: list[np.ndarray] = field(default_factory=list)
    at: list[np.ndarray] = field(default_factory=list)
    plan: list[np.ndarray] = field(default_factory=list)
    mrr: list[np.ndarray] = field(default_factory=list)

    def add(
        self, sub: np.ndarray, kind: str, at: np.ndarray, plan: np.ndarray, mrr: np.ndarray
    ) -> None:
        self.sub.append(sub)
        self.kind.append(np.full(sub.size, EVENT_TYPES.index(kind)))
        self.at.append(at.astype(np.int64))
        self.plan.append(plan.astype(np.int64))
        self.mrr.append(mrr.astype(np.int64))

    def arrays(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate(x) for x in (self.sub, self.kind, self.at, self.plan, self.mrr))


class _Plans:
    """Plan codes by (tier, interval), from seeds/plans.csv; code -1 is no plan."""

    def __init__(self, ref: Reference) -> None:
        self.ids = [p.plan_id for p in ref.plans]
        self.price = np.array([p.price_cents for p in ref.plans], dtype=np.int64)
        self.trial = next(i for i, p in enumerate(ref.plans) if p.tier == "trial")
        self.grid = np.full((len(TIERS), 2), -1, dtype=np.int64)
        for i, p in enumerate(ref.plans):
            if p.tier in TIERS:
                self.grid[TIERS.index(p.tier), int(p.interval == "year")] = i
        if (self.grid < 0).any():
            raise ValueError(f"seeds/plans.csv needs a monthly and a yearly plan per tier {TIERS}")

    def code(self, tier: np.ndarray, yearly: np.ndarray) -> np.ndarray:
        return self.grid[tier, yearly.astype(np.int64)]


def _account_alive_until(pop: Population) -> np.ndarray:
    """The last moment any user of the account is still regularly active."""
    until = np.full(pop.acc_created.size, pop.start_us, dtype=np.int64)
    np.maximum.at(until, pop.u_account, pop.alive_until)
    return until


@dataclass
class _Subscriptions:
    """Every subscription's account, start and current plan (changed as months go by)."""

    account: np.ndarray
    start: np.ndarray  # first paid moment (for a trial: when it converts)
    pays: np.ndarray  # ever pays (trials that lapse do not)
    is_addon: np.ndarray
    tier: np.ndarray
    yearly: np.ndarray
    seats: np.ndarray

    def mrr(self, plans: _Plans) -> np.ndarray:
        return plans.price[plans.code(self.tier, self.yearly)] * self.seats


def _subscriptions(
    rng: np.random.Generator, pop: Population, plans: _Plans, log: _Log
) -> _Subscriptions:
    """Trials, conversions and add-ons; logs trial_started, lapsed trials and subscription_started.

    An account trials at sign-up (most do) and converts with the owner's engagement and
    channel; some subscribe without a trial; some payers add a second subscription.
    """
    n_acc = pop.acc_created.size
    owner, persona = pop.acc_owner, pop.acc_persona
    has_trial = rng.random(n_acc) < 0.8
    trial_at = pop.acc_created + rng.integers(MINUTE_US, 2 * HOUR_US, n_acc)
    logit = -1.7 + 1.4 * pop.u_value_early[owner] + 1.1 * pop.u_core[owner]
    logit += np.array([-0.3, 0.2, 0.6])[persona]
    logit += 0.5 * np.asarray(CHANNEL_QUALITY)[pop.u_channel[owner]]
    converts = rng.random(n_acc) < np.where(has_trial, sigmoid(logit), 0.5 * sigmoid(logit + 0.5))
    trial_days = np.where(
        rng.random(n_acc) < 0.8, rng.uniform(3, 16, n_acc), rng.uniform(30, 75, n_acc)
    )
    direct_days = rng.uniform(0.01, 5, n_acc)
    paid_at = np.where(
        has_trial,
        trial_at + (trial_days * DAY_US).astype(np.int64),
        pop.acc_created + (direct_days * DAY_US).astype(np.int64),
    )

    main = np.flatnonzero(has_trial | converts)
    addon = np.flatnonzero(
        converts & (rng.random(n_acc) < np.where(persona == ENTERPRISE, 0.3, 0.08))
    )
    addon_at = paid_at[addon] + (rng.uniform(7, 120, addon.size) * DAY_US).astype(np.int64)
    account = np.concatenate([main, addon])
    n = account.size
    is_addon = np.arange(n) >= main.size
    pays = np.concatenate([converts[main], np.ones(addon.size, bool)])

    trials = np.flatnonzero(~is_addon & has_trial[account])
    zeros = np.zeros(trials.size)
    log.add(trials, TRIAL, trial_at[account[trials]], zeros + plans.trial, zeros)
    # Half the trials that lapse are closed with an explicit cancel (MRR stays 0).
    lapsed = trials[~pays[trials] & (rng.random(trials.size) < 0.5)]
    at = trial_at[account[lapsed]] + 14 * DAY_US
    log.add(lapsed, CANCELED, at, np.full(lapsed.size, plans.trial), np.zeros(lapsed.size))

    sub_persona = persona[account]
    tier = np.zeros(n, dtype=np.int64)
    for p, shares in enumerate(TIER_SHARE_BY_PERSONA):
        members = np.flatnonzero(sub_persona == p)
        tier[members] = pick(rng, shares, members.size)
    users_in_account = np.bincount(pop.u_account[: pop.n_users], minlength=n_acc)[account]
    seats = np.clip(users_in_account + rng.integers(0, 3, n), 1, 20)
    seats = np.where(sub_persona == SOLO, 1, seats)
    seats = np.where(sub_persona == ENTERPRISE, rng.integers(5, 60, n), seats)
    subs = _Subscriptions(
        account=account,
        start=np.concatenate([paid_at[main], addon_at]),
        pays=pays,
        is_addon=is_addon,
        tier=np.where(is_addon, 0, tier),  # an add-on is a small starter subscription
        yearly=(rng.random(n) < 0.25) & ~is_addon,
        seats=np.where(is_addon, rng.integers(1, 4, n), seats),
    )
    paying = np.flatnonzero(pays)
    code = plans.code(subs.tier, subs.yearly)
    log.add(paying, STARTED, subs.start[paying], code[paying], subs.mrr(plans)[paying])
    return subs


def _renewals(
    rng: np.random.Generator, pop: Population, plans: _Plans, subs: _Subscriptions, log: _Log
) -> None:
    """Month by month: renewals bring payment failures, plan changes, cancels, comebacks.

    Accounts cancel more often as their usage falls: the cancel rate grows with the share
    of the account's users who stopped coming (0.5 to 4.5 times the base rate), times a
    per-subscription noise factor, and a failed payment is left unfixed more often; falling
    usage raises the odds of churn without deciding it. New customers (4 times at the first
    renewal, twice at the second) and those who downgraded in the last two months cancel
    more often too.
    """
    n = subs.account.size
    active = subs.pays.copy()
    alive_until = _account_alive_until(pop)[subs.account]
    enterprise = pop.acc_persona[subs.account] == ENTERPRISE
    # How much a subscription's cancel rate reacts to falling usage (drawn once, lognormal).
    noise = rng.lognormal(0.0, 0.5, n)
    # Month of each subscription's last downgrade (-9: none): a downgrade often comes first.
    downgraded = np.full(n, -9)
    for month in range(1, pop.days // 30 + 2):
        renewal = subs.start + month * MONTH_US
        due = subs.pays & (renewal < pop.end_us)
        if not due.any():
            break
        dormant = renewal > alive_until + 14 * DAY_US
        lapsed = _lapsed_user_share(pop, subs.account, renewal)
        r = rng.random(n)
        slow = np.where(subs.yearly, 0.3, 1.0)  # yearly plans fail and cancel less often
        fail_p = 0.06 * slow
        usage_factor = np.minimum((0.5 + 4.0 * lapsed) * noise, 12.0)
        # New customers (most at the first renewal) and those who just downgraded leave more often.
        tenure = np.where(month <= 1, 4.0, np.where(month == 2, 2.0, 1.0))
        usage_factor *= tenure * np.where(month - downgraded <= 2, 3.0, 1.0)
        cancel_p = fail_p + 0.03 * slow * usage_factor
        change_p = cancel_p + np.where(enterprise, 0.14, 0.09)
        fails = due & active & (r < fail_p)
        cancels = due & active & (r >= fail_p) & (r < cancel_p)
        changes = due & active & (r >= cancel_p) & (r < change_p)
        back = due & ~active & (r < np.where(dormant, 0.03, 0.2))

        code, mrr = plans.code(subs.tier, subs.yearly), subs.mrr(plans)
        idx = np.flatnonzero(fails)
        plan_or_none = np.where(rng.random(idx.size) < 0.3, -1, code[idx])  # optional plan_id
        log.add(
            idx,
            FAILED,
            renewal[idx] + rng.uniform(0, 6, idx.size) * HOUR_US,
            plan_or_none,
            mrr[idx],
        )
        # A failed payment is fixed less often by an account that no longer uses the product.
        gives_up = idx[rng.random(idx.size) < 0.15 + 0.7 * lapsed[idx]]
        idx = np.concatenate([gives_up, np.flatnonzero(cancels)])
        days = np.concatenate(
            [rng.uniform(3, 12, gives_up.size), rng.uniform(0, 3, idx.size - gives_up.size)]
        )
        log.add(idx, CANCELED, renewal[idx] + days * DAY_US, code[idx], np.zeros(idx.size))
        active[idx] = False

        idx = np.flatnonzero(changes)
        up = rng.random(idx.size) < 0.6
        new_tier = np.clip(subs.tier[idx] + np.where(up, 1, -1), 0, 2)
        same_tier = new_tier == subs.tier[idx]  # already at the top/bottom: seats move instead
        more_or_less = np.maximum(1, subs.seats[idx] + np.where(up, 2, -1))
        subs.seats[idx] = np.where(same_tier, more_or_less, subs.seats[idx])
        subs.tier[idx] = new_tier
        downgraded[idx[~up]] = month
        switch = (rng.random(idx.size) < 0.15) & ~subs.is_addon[idx]
        subs.yearly[idx] ^= switch
        at = renewal[idx] + rng.uniform(1, 25, idx.size) * DAY_US
        code, mrr = plans.code(subs.tier, subs.yearly), subs.mrr(plans)
        log.add(idx, CHANGED, at, code[idx], mrr[idx])

        idx = np.flatnonzero(back)
        at = renewal[idx] + rng.uniform(0, 20, idx.size) * DAY_US
        log.add(idx, REACTIVATED, at, code[idx], mrr[idx])
        active[idx] = True


def _lapsed_user_share(pop: Population, sub_account: np.ndarray, renewal: np.ndarray) -> np.ndarray:
    """Per subscription: the share of its account's users (signed up before the renewal)
    whose regular activity ended by then (fading out for weeks before); 0 without users."""
    n_acc = pop.acc_created.size
    at = np.full(n_acc, np.iinfo(np.int64).max, dtype=np.int64)
    at[sub_account] = renewal  # an add-on's renewal may stand in: close enough
    account = pop.u_account[: pop.n_users]  # orphans (not exported) are no account's users
    user_at = at[account]
    counted = pop.u_signup[: pop.n_users] < user_at
    lapsed = counted & (pop.alive_until[: pop.n_users] <= user_at)
    users = np.bincount(account, weights=counted, minlength=n_acc)
    gone = np.bincount(account, weights=lapsed, minlength=n_acc)
    share = np.divide(gone, users, out=np.zeros(n_acc), where=users > 0)
    return share[sub_account]


def billing_table(pop: Population, seed: int, dirty_rate: float, schema: pa.Schema) -> Generated:
    """Billing events as delivered: webhook latency, late retries, re-delivered copies."""
    rng = rng_for(seed, "billing_events")
    plans = _Plans(pop.ref)
    log = _Log()
    subs = _subscriptions(rng, pop, plans, log)
    _renewals(rng, pop, plans, subs, log)

    sub, kind, occurred, plan, cents = log.arrays()
    keep = occurred < pop.end_us
    sub, kind, occurred, plan, cents = (x[keep] for x in (sub, kind, occurred, plan, cents))
    n = sub.size
    received = occurred + rng.integers(SECOND_US, 5 * MINUTE_US, n)
    late = rng.random(n) < 0.03  # webhook retries days later
    received = np.where(late, received + rng.integers(DAY_US, 3 * DAY_US, n), received)
    # Re-delivered copies keep their billing_event_id and arrive later.
    twice = np.flatnonzero(rng.random(n) < DUPLICATE_SHARE)
    rows = np.concatenate([np.arange(n), twice])
    later = received[twice] + rng.integers(MINUTE_US, DAY_US, twice.size)
    received = np.concatenate([received, later])
    keep = received < pop.end_us  # not delivered yet when the data was exported
    rows, received = rows[keep], received[keep]
    ids = IdSequence(seed, "billing_event_id", "bev_", first=n)
    account = subs.account[sub]
    clean = pa.Table.from_arrays(
        [
            ids.of(rows),
            account_ids(account[rows]),
            decimal_ids("sub_", sub[rows] + 1),
            decode(kind[rows], EVENT_TYPES),
            decode(plan[rows], plans.ids),
            money(cents[rows]),
            decode(pop.acc_currency[account[rows]], pop.ref.currencies),
            timestamps(occurred[rows]),
            timestamps(received),
        ],
        schema=schema,
    )
    notes = {
        "duplicates": int(keep[n:].sum()),
        "late_arrivals": int((late & keep[:n]).sum()),
        "subscriptions": int(subs.account.size),
    }
    return finish(clean, "billing_events", dirty_rate, rng, ids.fresh, "billing_event_id", notes)
