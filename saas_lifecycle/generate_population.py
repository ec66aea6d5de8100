"""Who the synthetic customers are: accounts, users and each user's hidden behaviour.

Everything is drawn once per user as numpy arrays (no per-user Python loop), so the event
tables can be generated in batches of users that read these arrays. The hidden traits
(quality, reaching value early, being a long-lived "core" user, ...) make the story the
marts should find: early invoice senders retain, referral/organic beat paid channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

from saas_lifecycle.generate_columns import DAY_US, HOUR_US, SECOND_US, pick, sigmoid
from saas_lifecycle.generate_reference import (
    ACTIVATION_EVENTS,
    CAMPAIGNS,
    CHANNEL_QUALITY,
    CHANNEL_SHARE,
    CHANNELS,
    CURRENCY_SHARE,
    DEFAULT_FEATURE_ADOPTION,
    DIRECT,
    EMAIL,
    FEATURE_ADOPTION,
    INDUSTRIES,
    INVITE_CAMPAIGN,
    INVITE_MEDIUM,
    INVITE_SOURCE,
    PERSONA_SHARE,
    UTM_PAIRS,
    Reference,
)

SOLO, SMB, ENTERPRISE = 0, 1, 2
OWNER, ADMIN, MEMBER = 0, 1, 2  # codes into contract.ROLES
NO_MOBILE, IOS, ANDROID = 0, 1, 2
NEVER = -1  # a time that did not happen
NEVER_WEEK = 9  # a feature never adopted

# (base logit, weight of quality, median hours after the previous step, spread) per
# onboarding step after account_created; unknown steps added to the seed use DEFAULT_STEP.
STEP_MODEL = {
    "product_tour_completed": (1.0, 0.4, 0.25, 1.0),
    "workspace_configured": (0.9, 0.6, 2.0, 1.6),
    "data_imported": (1.3, 0.6, 10.0, 1.5),
    "teammate_invited": (0.3, 0.5, 12.0, 1.5),
    "profile_completed": (0.1, 0.7, 10.0, 1.7),
}
DEFAULT_STEP = (0.0, 0.5, 12.0, 1.5)
# Skipping an optional step does not stop later ones; missing any other step (configuring
# the workspace) ends the user's onboarding there. Later steps are rarer: the funnel drops
# step by step.
OPTIONAL_STEPS = {"product_tour_completed", "data_imported", "teammate_invited"}


@dataclass
class UtmVocabulary:
    """Every (utm_source, utm_medium, utm_campaign) the generator can emit, by channel."""

    sources: list[str]
    mediums: list[str]
    campaigns: list[str]
    by_channel: list[np.ndarray]  # per channel: codes of its triples
    invite: int  # code of the teammate-invite triple


def utm_vocabulary() -> UtmVocabulary:
    sources: list[str] = []
    mediums: list[str] = []
    campaigns: list[str] = []
    by_channel: list[np.ndarray] = []
    for channel in CHANNELS:
        codes = []
        for source, medium in UTM_PAIRS[channel]:
            for campaign in CAMPAIGNS[channel]:
                codes.append(len(sources))
                sources.append(source)
                mediums.append(medium)
                campaigns.append(campaign)
        by_channel.append(np.array(codes, dtype=np.int64))
    invite = len(sources)
    sources.append(INVITE_SOURCE)
    mediums.append(INVITE_MEDIUM)
    campaigns.append(INVITE_CAMPAIGN)
    return UtmVocabulary(sources, mediums, campaigns, by_channel, invite)


@dataclass
class Population:
    """Accounts (acc_*) and users (u_*); users at index >= n_users are orphans (not exported)."""

    ref: Reference
    start_us: int
    end_us: int
    days: int
    n_users: int
    utm: UtmVocabulary
    # accounts
    acc_persona: np.ndarray
    acc_size: np.ndarray  # -1 = unknown (null company_size)
    acc_industry: np.ndarray  # -1 = null
    acc_created: np.ndarray
    acc_currency: np.ndarray
    acc_owner: np.ndarray
    # users
    u_account: np.ndarray
    u_signup: np.ndarray
    u_role: np.ndarray
    u_channel: np.ndarray
    u_utm: np.ndarray  # first-touch utm triple code, -1 = none (direct)
    u_browse: np.ndarray  # browsed anonymously before signing up
    u_quality: np.ndarray
    u_mobile: np.ndarray
    u_api: np.ndarray
    u_platform_null: np.ndarray  # an old web SDK that sends no platform
    u_steps: np.ndarray  # (users, steps) times; column 0 is signup; NEVER if not done
    u_activated: np.ndarray
    u_value_early: np.ndarray  # first value within days 0..6
    u_first_value: np.ndarray  # NEVER if never
    u_core: np.ndarray
    u_life_days: np.ndarray
    u_p_active: np.ndarray
    u_events_per_day: np.ndarray
    u_gap_seconds: np.ndarray
    u_hour: np.ndarray
    u_return_day: np.ndarray  # day after signup of a comeback burst, -1 = none
    u_return_len: np.ndarray
    u_adopt_week: np.ndarray  # (users, features) week of first use, NEVER_WEEK if never
    u_support: np.ndarray  # propensity for help/support events

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Core features, the columns of u_adopt_week."""
        return self.ref.core_features

    @property
    def n_total(self) -> int:
        return int(self.u_account.size)

    @property
    def signup_day(self) -> np.ndarray:
        """Day index (from the window start) of each user's signup."""
        return (self.u_signup - self.start_us) // DAY_US

    @property
    def alive_until(self) -> np.ndarray:
        """When each user's regular activity ends (inactivity churn), capped at the window end."""
        until = (
            self.signup_day * DAY_US + self.start_us + (self.u_life_days * DAY_US).astype(np.int64)
        )
        return np.minimum(until, self.end_us)


def _account_sizes(rng: np.random.Generator, users: int) -> tuple[np.ndarray, np.ndarray]:
    """Personas and users per account, cut so the accounts hold exactly `users` users."""
    estimate = users // 2 + 16
    while True:
        persona = pick(rng, PERSONA_SHARE, estimate)
        size = np.ones(estimate, dtype=np.int64)
        size[persona == SOLO] += rng.random(int((persona == SOLO).sum())) < 0.06
        size[persona == SMB] = np.minimum(rng.geometric(0.45, int((persona == SMB).sum())), 15)
        n_ent = int((persona == ENTERPRISE).sum())
        size[persona == ENTERPRISE] = np.minimum(1 + rng.geometric(0.12, n_ent), 60)
        total = np.cumsum(size)
        if total[-1] >= users:
            break
        estimate *= 2
    n_accounts = int(np.searchsorted(total, users)) + 1
    persona, size = persona[:n_accounts], size[:n_accounts].copy()
    size[-1] -= int(total[n_accounts - 1]) - users
    return persona, size


def _company_size(rng: np.random.Generator, persona: np.ndarray, users: np.ndarray) -> np.ndarray:
    n = persona.size
    size = np.where(rng.random(n) < 0.12, 0, 1).astype(np.int64)  # solo: 1, sometimes 0
    smb = np.round(np.exp(rng.uniform(np.log(2), np.log(199), n))).astype(np.int64)
    size = np.where(persona == SMB, np.clip(np.maximum(smb, users), 2, 199), size)
    ent = np.round(200 * np.exp(rng.exponential(1.0, n))).astype(np.int64)
    size = np.where(persona == ENTERPRISE, np.maximum(ent, users), size)
    return np.where(rng.random(n) < 0.03, -1, size)


def _signup_days(rng: np.random.Generator, n: int, days: int, start: date) -> np.ndarray:
    """Signup days: growing over the window, quieter at weekends, sorted."""
    day = np.arange(days)
    weekday = (start.weekday() + day) % 7
    weights = np.exp(1.1 * day / max(days, 1)) * np.where(weekday >= 5, 0.5, 1.0)
    return np.sort(rng.choice(days, size=n, p=weights / weights.sum()))


def _time_of_day_us(rng: np.random.Generator, n: int, mean_hour: float = 15.0) -> np.ndarray:
    hours = np.mod(rng.normal(mean_hour, 3.5, n), 24.0)
    return (hours * HOUR_US).astype(np.int64)


def _after(
    rng: np.random.Generator, base: np.ndarray, delay_us: np.ndarray, end_us: int
) -> np.ndarray:
    """base + delay, or a uniform time before the window end when that would overshoot."""
    room = np.maximum(end_us - SECOND_US - base, 0)
    late = base + delay_us >= end_us
    return np.where(late, base + (rng.random(base.size) * room).astype(np.int64), base + delay_us)


def _onboarding(
    rng: np.random.Generator, pop_signup: np.ndarray, quality: np.ndarray, steps: tuple[str, ...]
) -> np.ndarray:
    """Times of each onboarding step (column 0 = account_created at signup)."""
    n = pop_signup.size
    times = np.full((n, len(steps)), NEVER, dtype=np.int64)
    times[:, 0] = pop_signup
    previous = pop_signup.copy()  # time of the latest step done
    going = np.ones(n, dtype=bool)  # still in onboarding
    for k, name in enumerate(steps[1:], start=1):
        base, weight, median_hours, spread = STEP_MODEL.get(name, DEFAULT_STEP)
        done = going & (rng.random(n) < sigmoid(base + weight * quality))
        hours = rng.lognormal(np.log(median_hours), spread, n)
        at = previous + (hours * HOUR_US).astype(np.int64)
        times[done, k] = at[done]
        previous = np.where(done, at, previous)
        if name not in OPTIONAL_STEPS:
            going &= done
    return times


def _acquisition(
    rng: np.random.Generator, utm: UtmVocabulary, invited: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First-touch channel, its utm triple (-1: none) and pre-sign-up browsing per user.

    Owners come through the channel shares; invited teammates through the invite link (no
    utm) or the invite e-mail.
    """
    n = invited.size
    channel = pick(rng, CHANNEL_SHARE, n)
    channel = np.where(invited, np.where(rng.random(n) < 0.35, EMAIL, DIRECT), channel)
    u_utm = np.full(n, -1, dtype=np.int64)
    for c, codes in enumerate(utm.by_channel):
        members = np.flatnonzero((channel == c) & ~invited)
        u_utm[members] = codes[rng.integers(0, codes.size, members.size)]
    # Most direct visitors carry no utm; a few links say "(direct)" explicitly.
    u_utm[(channel == DIRECT) & (rng.random(n) > 0.08)] = -1
    u_utm[invited & (channel == EMAIL)] = utm.invite
    u_utm[invited & (channel == DIRECT)] = -1
    browse_chance = np.where(channel == DIRECT, 0.5, 0.8)
    return channel, u_utm, (rng.random(n) < browse_chance) & ~invited


def _first_value(
    rng: np.random.Generator,
    signup: np.ndarray,
    signup_day_start: np.ndarray,
    early: np.ndarray,
    late: np.ndarray,
) -> np.ndarray:
    """When users first send an invoice: early ones on days 0..6 (calendar days from the
    sign-up date), late ones from day 7 on, others NEVER."""
    n = signup.size
    latest_early = signup_day_start + 7 * DAY_US - SECOND_US
    early_at = signup + (rng.lognormal(np.log(26.0), 1.0, n) * HOUR_US).astype(np.int64)
    fallback = signup + (rng.uniform(0.05, 1.0, n) * (latest_early - signup)).astype(np.int64)
    early_at = np.where(early_at > latest_early, fallback, early_at)
    late_at = signup_day_start + 7 * DAY_US
    late_at += (rng.lognormal(np.log(6.0), 0.9, n) * DAY_US).astype(np.int64)
    return np.where(early, early_at, np.where(late, late_at, NEVER))


def build_population(
    rng: np.random.Generator, ref: Reference, users: int, days: int, start: date
) -> Population:
    """Draw every account and user; deterministic for a given generator state."""
    start_us = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    start_us *= SECOND_US
    end_us = start_us + days * DAY_US
    utm = utm_vocabulary()

    persona, acc_users = _account_sizes(rng, users)
    n_acc = persona.size
    acc_created = start_us + _signup_days(rng, n_acc, days, start) * DAY_US
    acc_created += _time_of_day_us(rng, n_acc)

    # Users: the owner signs up with the account, teammates follow over the next weeks.
    account = np.repeat(np.arange(n_acc), acc_users)
    rank = np.arange(users) - np.repeat(np.cumsum(acc_users) - acc_users, acc_users)
    n_orphans = max(2, users // 300)
    account = np.concatenate([account, rng.integers(0, n_acc, n_orphans)])
    rank = np.concatenate([rank, np.full(n_orphans, 99)])
    n = account.size
    delay = ((0.02 + rng.exponential(6.0, n)) * DAY_US).astype(np.int64)
    signup = np.where(rank == 0, acc_created[account], 0)
    signup = np.where(rank == 0, signup, _after(rng, acc_created[account], delay, end_us))
    # Users ordered by signup (ids grow with time), orphans kept last.
    order = np.concatenate([np.argsort(signup[:users], kind="stable"), np.arange(users, n)])
    account, rank, signup = account[order], rank[order], signup[order]
    acc_owner = np.zeros(n_acc, dtype=np.int64)
    acc_owner[account[rank == 0]] = np.flatnonzero(rank == 0)

    role = np.where(rank == 0, OWNER, np.where(rng.random(n) < 0.25, ADMIN, MEMBER))
    acc_persona = persona
    u_persona = acc_persona[account]

    invited = rank > 0
    channel, u_utm, u_browse = _acquisition(rng, utm, invited)
    quality = rng.normal(0.0, 1.0, n)
    channel_quality = np.asarray(CHANNEL_QUALITY)[channel]
    persona_effect = np.array([-0.2, 0.1, 0.3])[u_persona]

    steps = _onboarding(rng, signup, quality - 0.4 * invited, ref.onboarding_steps)
    activation_cols = [ref.onboarding_steps.index(s) for s in ACTIVATION_EVENTS]
    within = (steps[:, activation_cols] != NEVER) & (
        steps[:, activation_cols] <= signup[:, None] + 7 * DAY_US
    )
    activated = within.all(axis=1)

    # The aha moment: reaching value (invoice_sent) within days 0..6 drives retention.
    early_logit = -1.4 + 0.8 * quality + 1.1 * activated + channel_quality + persona_effect
    value_early = rng.random(n) < sigmoid(early_logit + 0.3 * (rank == 0))
    late_value = ~value_early & (rng.random(n) < sigmoid(-1.3 + 0.5 * quality))
    signup_day_start = start_us + ((signup - start_us) // DAY_US) * DAY_US
    first_value = _first_value(rng, signup, signup_day_start, value_early, late_value)

    # Inactivity churn: most users leave within weeks, a core keeps coming back.
    core_logit = -2.25 + 2.35 * value_early + 0.35 * quality + 0.6 * channel_quality
    core_logit += np.array([-0.3, 0.0, 0.5])[u_persona] + 0.3 * activated
    core = rng.random(n) < sigmoid(core_logit)
    life = np.where(core, 21 + rng.exponential(420.0, n), 3 + rng.exponential(6.0, n))
    # Some core users drift away after a few months: their accounts' usage falls (the
    # tracks fade out before they stop) and billing cancels such accounts more often.
    # Drawn from a stream of their own, so every other draw of the population (and the
    # first weeks of every dataset) stays as it was before drifting existed.
    drift_rng = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0])
    drifts = core & (drift_rng.random(n) < 0.2)
    life = np.where(drifts, np.minimum(life, 45 + drift_rng.exponential(60.0, n)), life)
    value_day = (first_value - signup_day_start) / DAY_US
    life = np.where(late_value, np.maximum(life, value_day + 3), life)  # still around then
    p_active = np.where(core, rng.beta(5, 3, n), rng.beta(3, 3, n))
    per_day = np.where(core, rng.lognormal(np.log(25), 0.45, n), rng.lognormal(np.log(18), 0.5, n))
    per_day *= np.where(u_persona == ENTERPRISE, 1.2, 1.0)
    comeback = ~core & (rng.random(n) < 0.2)
    return_day = np.where(comeback, np.ceil(life + rng.uniform(14, 75, n)), -1).astype(np.int64)

    features = ref.core_features
    adoption = np.array([FEATURE_ADOPTION.get(f, DEFAULT_FEATURE_ADOPTION) for f in features])
    adopt_logit = np.log(adoption / (1 - adoption))[None, :] + 0.3 * quality[:, None]
    adopts = rng.random((n, len(features))) < sigmoid(adopt_logit)
    week = pick(rng, (0.65, 0.2, 0.15), n * len(features)).reshape(n, len(features))
    adopt_week = np.where(adopts, week, NEVER_WEEK).astype(np.int8)

    currencies = [c for c in CURRENCY_SHARE if c in ref.currencies] or list(ref.currencies[:1])
    currency_codes = np.array([ref.currencies.index(c) for c in currencies])
    shares = [CURRENCY_SHARE.get(c, 1.0) for c in currencies]

    return Population(
        ref=ref,
        start_us=start_us,
        end_us=end_us,
        days=days,
        n_users=users,
        utm=utm,
        acc_persona=acc_persona,
        acc_size=_company_size(rng, acc_persona, acc_users),
        acc_industry=np.where(rng.random(n_acc) < 0.1, -1, rng.integers(0, len(INDUSTRIES), n_acc)),
        acc_created=acc_created,
        acc_currency=currency_codes[pick(rng, shares, n_acc)],
        acc_owner=acc_owner,
        u_account=account,
        u_signup=signup,
        u_role=role,
        u_channel=channel,
        u_utm=u_utm,
        u_browse=u_browse,
        u_quality=quality,
        u_mobile=pick(rng, (0.72, 0.15, 0.13), n),
        u_api=rng.random(n) < np.array([0.02, 0.08, 0.3])[u_persona],
        u_platform_null=rng.random(n) < 0.015,
        u_steps=steps,
        u_activated=activated,
        u_value_early=value_early,
        u_first_value=first_value,
        u_core=core,
        u_life_days=life,
        u_p_active=p_active,
        u_events_per_day=per_day,
        u_gap_seconds=rng.lognormal(np.log(75.0), 0.3, n),
        u_hour=np.clip(rng.normal(14.5, 2.5, n), 5.0, 21.0),
        u_return_day=return_day,
        u_return_len=1 + rng.integers(0, 4, n),
        u_adopt_week=adopt_week,
        u_support=np.where(core, 1.0, 2.5) * np.exp(rng.normal(0, 0.5, n)),
    )
