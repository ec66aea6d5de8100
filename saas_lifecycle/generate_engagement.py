"""The tables from the customer-facing tools: surveys, the help desk and lifecycle e-mail.

All driven by the same hidden user traits as the product events, so NPS follows
engagement, struggling users open more tickets and engaged users click more e-mails.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from saas_lifecycle.generate_app import user_ids
from saas_lifecycle.generate_columns import (
    DAY_US,
    HOUR_US,
    MINUTE_US,
    SECOND_US,
    IdSequence,
    decimal_ids,
    decode,
    expand,
    numbers,
    pick,
    rng_for,
    timestamps,
)
from saas_lifecycle.generate_dirty import Generated, finish
from saas_lifecycle.generate_population import NEVER, Population
from saas_lifecycle.generate_reference import (
    SURVEY_COMMENTS,
    TICKET_CHANNEL_SHARE,
    TICKET_TOPICS,
)

DUPLICATE_SHARE = 0.01


def _month(us: np.ndarray) -> np.ndarray:
    return us.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)


def surveys_table(pop: Population, seed: int, dirty_rate: float, schema: pa.Schema) -> Generated:
    """NPS asked in the app 14 days after sign-up and every 90 days after; a few CSAT answers."""
    rng = rng_for(seed, "survey_responses")
    n = pop.n_users
    signup = pop.u_signup[:n]
    asks = np.maximum((pop.end_us - signup - 14 * DAY_US) // (90 * DAY_US) + 1, 0)
    user, k = expand(asks)
    asked = signup[user] + (14 + 90 * k) * DAY_US + rng.integers(0, 3 * DAY_US, user.size)
    alive = asked < pop.alive_until[user]
    answers = rng.random(user.size) < np.where(alive, 0.5, 0.12)
    answers[:1] = True  # at least one answer, so even a tiny dataset has an NPS table
    user, asked, alive = user[answers], asked[answers], alive[answers]
    submitted = asked + (rng.lognormal(np.log(5.0), 1.2, user.size) * HOUR_US).astype(np.int64)
    mean = 6.5 + 1.8 * pop.u_core[user] + 1.2 * pop.u_value_early[user]
    mean += 0.5 * pop.u_quality[user] - 1.5 * ~alive
    score = np.clip(np.round(rng.normal(mean, 1.6)), 0, 10).astype(np.int64)
    kind = np.zeros(user.size, dtype=np.int64)

    # Some answer twice in the same month (the latest counts).
    again = np.flatnonzero(rng.random(user.size) < 0.06)
    second_at = submitted[again] + rng.integers(HOUR_US, 4 * DAY_US, again.size)
    same_month = _month(second_at) == _month(submitted[again])
    again, second_at = again[same_month], second_at[same_month]
    second_score = np.clip(score[again] + rng.integers(-2, 3, again.size), 0, 10)

    # CSAT after a support interaction: informational, ignored by NPS.
    csat_users = np.flatnonzero(rng.random(n) < 0.04)
    csat_at = signup[csat_users] + (rng.random(csat_users.size) * (pop.end_us - signup[csat_users]))
    user = np.concatenate([user, user[again], csat_users])
    submitted = np.concatenate([submitted, second_at, csat_at.astype(np.int64)])
    score = np.concatenate([score, second_score, rng.integers(1, 6, csat_users.size)])
    kind = np.concatenate(
        [kind, np.zeros(again.size, np.int64), np.ones(csat_users.size, np.int64)]
    )
    keep = submitted < pop.end_us
    user, submitted, score, kind = user[keep], submitted[keep], score[keep], kind[keep]
    rows = user.size
    has_score = rng.random(rows) >= 0.02  # skipped the score, left a comment (not bad)
    band = np.where(score <= 6, 0, np.where(score <= 8, 1, 2))
    comments = [c for key in ("detractor", "passive", "promoter") for c in SURVEY_COMMENTS[key]]
    per_band = len(SURVEY_COMMENTS["detractor"])
    comment = band * per_band + rng.integers(0, per_band, rows)
    comment = np.where((rng.random(rows) < 0.5) & has_score, -1, comment)

    # A webhook retry re-sends a few responses seconds later.
    number = np.arange(rows)
    twice = np.flatnonzero(rng.random(rows) < DUPLICATE_SHARE)
    index = np.concatenate([number, twice])
    submitted = np.concatenate(
        [submitted, submitted[twice] + rng.integers(SECOND_US, MINUTE_US, twice.size)]
    )
    ids = IdSequence(seed, "response_id", "rsp_", first=rows)
    clean = pa.Table.from_arrays(
        [
            ids.of(index),
            user_ids(user[index]),
            decode(kind[index], ["nps", "csat"]),
            numbers(score[index], valid=has_score[index]),
            decode(comment[index], comments),
            timestamps(submitted),
        ],
        schema=schema,
    )
    notes = {"duplicates": int(twice.size), "null_scores": int((~has_score).sum())}
    return finish(clean, "survey_responses", dirty_rate, rng, ids.fresh, "response_id", notes)


def tickets_table(pop: Population, seed: int, dirty_rate: float, schema: pa.Schema) -> Generated:
    """Help-desk tickets as CDC: one row per status change (new, open, pending, solved, closed)."""
    rng = rng_for(seed, "support_tickets")
    n = pop.n_users
    signup = pop.u_signup[:n]
    persona_factor = np.array([1.0, 1.2, 1.6])[pop.acc_persona[pop.u_account[:n]]]
    count = rng.poisson(0.05 * pop.u_support[:n] * persona_factor)
    user, _ = expand(count)
    window = np.minimum(pop.alive_until[user] + 30 * DAY_US, pop.end_us) - signup[user]
    created = signup[user] + (rng.random(user.size) * np.maximum(window, HOUR_US)).astype(np.int64)
    t = user.size

    def later(base: np.ndarray, median_hours: float, spread: float) -> np.ndarray:
        return base + (rng.lognormal(np.log(median_hours), spread, t) * HOUR_US).astype(np.int64)

    responded = later(created, 2.0, 1.0)
    pending = later(responded, 5.0, 1.0)
    has_pending = rng.random(t) < 0.45
    solved = later(np.where(has_pending, pending, responded), 18.0, 1.2)
    closed = solved + rng.integers(2 * DAY_US, 4 * DAY_US, t)
    statuses = ["new", "open", "pending", "solved", "closed"]
    versions = np.stack([created, responded, pending, solved, closed], axis=1)
    exists = (versions < pop.end_us) & np.stack(
        [np.ones(t, bool), np.ones(t, bool), has_pending, np.ones(t, bool), np.ones(t, bool)],
        axis=1,
    )
    ticket, status = np.nonzero(exists)
    updated = versions[ticket, status]
    has_response = status >= 1
    is_solved = status >= 3
    # A few exact re-deliveries of a version (CDC duplicates).
    twice = np.flatnonzero(rng.random(ticket.size) < 0.02)
    index = np.concatenate([np.arange(ticket.size), twice])
    ticket, status, updated = ticket[index], status[index], updated[index]
    has_response, is_solved = has_response[index], is_solved[index]
    channel = pick(rng, list(TICKET_CHANNEL_SHARE.values()), t)
    channel = np.where(rng.random(t) < 0.01, -1, channel)  # channel is optional
    topic = rng.integers(0, len(TICKET_TOPICS), t)
    clean = pa.Table.from_arrays(
        [
            decimal_ids("tkt_", ticket + 1, width=7),
            user_ids(user[ticket]),
            decode(channel[ticket], list(TICKET_CHANNEL_SHARE)),
            decode(topic[ticket], TICKET_TOPICS),
            decode(status, statuses),
            timestamps(created[ticket]),
            timestamps(responded[ticket], valid=has_response),
            timestamps(solved[ticket], valid=is_solved),
            timestamps(updated),
        ],
        schema=schema,
    )
    notes = {"tickets": int(t), "duplicates": int(twice.size)}
    solved_rows = {"solved_before_created": np.flatnonzero(is_solved)}
    return finish(clean, "support_tickets", dirty_rate, rng, notes=notes, candidates=solved_rows)


def _campaigns(pop: Population) -> tuple[list[str], list[str], list[int]]:
    """Campaign ids and names: the lifecycle series plus one newsletter per month."""
    ids = [
        "cmp_welcome",
        "cmp_onboarding_tips_1",
        "cmp_onboarding_tips_2",
        "cmp_activation_nudge",
        "cmp_first_invoice_nudge",
        "cmp_winback",
    ]
    names = [
        "Welcome to Ledgerly",
        "Onboarding tips #1: set up your workspace",
        "Onboarding tips #2: import your clients",
        "Finish setting up your workspace",
        "Send your first invoice",
        "We miss you",
    ]
    sends: list[int] = []
    first = datetime.fromtimestamp(pop.start_us / SECOND_US, tz=UTC)
    year, month = first.year, first.month
    while True:
        at = datetime(year, month, 10, 15, tzinfo=UTC)
        at_us = int(at.timestamp()) * SECOND_US
        if at_us >= pop.end_us:
            break
        if at_us >= pop.start_us:
            ids.append(f"cmp_newsletter_{year}_{month:02d}")
            names.append(f"Product updates - {at:%B %Y}")
            sends.append(at_us)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return ids, names, sends


def emails_table(pop: Population, seed: int, dirty_rate: float, schema: pa.Schema) -> Generated:
    """Lifecycle e-mails: delivered (or bounced), then opens, clicks and unsubscribes."""
    rng = rng_for(seed, "email_events")
    n = pop.n_users
    signup = pop.u_signup[:n]
    campaign_ids, names, newsletter_at = _campaigns(pop)
    everyone = np.arange(n)
    fv = pop.u_first_value[:n]
    no_value_yet = (fv == NEVER) | (fv > signup + 8 * DAY_US)
    alive_until = pop.alive_until[:n]
    triggered = [
        (everyone, signup + 2 * MINUTE_US),
        (everyone, signup + DAY_US),
        (everyone, signup + 3 * DAY_US),
        (np.flatnonzero(~pop.u_activated[:n]), signup + 5 * DAY_US),
        (np.flatnonzero(no_value_yet), signup + 8 * DAY_US),
        (np.flatnonzero(~pop.u_core[:n]), alive_until + 21 * DAY_US),
    ]
    users, campaign, sent = [], [], []
    for code, (who, at) in enumerate(triggered):
        users.append(who)
        campaign.append(np.full(who.size, code))
        sent.append(at[who] + rng.integers(0, HOUR_US, who.size))
    for k, at in enumerate(newsletter_at):
        who = np.flatnonzero(signup < at)
        users.append(who)
        campaign.append(np.full(who.size, len(triggered) + k))
        sent.append(at + rng.integers(0, 2 * HOUR_US, who.size))
    user, campaign, sent = (np.concatenate(x) for x in (users, campaign, sent))
    keep = sent < pop.end_us
    user, campaign, sent = user[keep], campaign[keep], sent[keep]
    s = user.size

    engaged = sent < alive_until[user]
    bounced = rng.random(s) < 0.015
    opened = ~bounced & (rng.random(s) < np.where(engaged, 0.55, 0.18))
    opened_at = sent + (rng.lognormal(np.log(3.0), 1.3, s) * HOUR_US).astype(np.int64)
    reopened = opened & (rng.random(s) < 0.25)
    reopened_at = opened_at + (rng.lognormal(np.log(20.0), 1.0, s) * HOUR_US).astype(np.int64)
    clicked = opened & (rng.random(s) < np.where(engaged, 0.3, 0.1))
    clicked_at = opened_at + rng.integers(10 * SECOND_US, 10 * MINUTE_US, s)
    unsub_chance = np.where(campaign >= len(triggered), 0.008, 0.004)
    unsub_chance = np.where(campaign == len(triggered) - 1, 0.02, unsub_chance)  # win-back
    unsubscribed = ~bounced & (rng.random(s) < unsub_chance)
    unsub_at = np.where(opened, opened_at, sent) + rng.integers(SECOND_US, 5 * MINUTE_US, s)

    # Nothing is sent to a user after they unsubscribe.
    first_unsub = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_unsub, user[unsubscribed], unsub_at[unsubscribed])
    sendable = sent <= first_unsub[user]

    kinds = ["delivered", "opened", "clicked", "bounced", "unsubscribed"]
    outcomes = [
        (~bounced, sent, 0),
        (opened, opened_at, 1),
        (reopened, reopened_at, 1),
        (clicked, clicked_at, 2),
        (bounced, sent, 3),
        (unsubscribed, unsub_at, 4),
    ]
    send_idx, at_list, kind_list = [], [], []
    for happened, at, kind in outcomes:
        idx = np.flatnonzero(happened & sendable)
        send_idx.append(idx)
        at_list.append(at[idx])
        kind_list.append(np.full(idx.size, kind))
    send_i, occurred, kind = (np.concatenate(x) for x in (send_idx, at_list, kind_list))
    keep = occurred < pop.end_us
    send_i, occurred, kind = send_i[keep], occurred[keep], kind[keep]
    rows = send_i.size
    twice = np.flatnonzero(rng.random(rows) < DUPLICATE_SHARE)  # re-delivered webhooks
    index = np.concatenate([np.arange(rows), twice])
    event_ids = IdSequence(seed, "email_event_id", "eev_", first=rows)
    clean = pa.Table.from_arrays(
        [
            event_ids.of(index),
            user_ids(user[send_i[index]]),
            decode(campaign[send_i[index]], campaign_ids),
            decode(campaign[send_i[index]], names),
            decode(kind[index], kinds),
            timestamps(occurred[index]),
        ],
        schema=schema,
    )
    notes = {"duplicates": int(twice.size), "sends": int(sendable.sum())}
    return finish(clean, "email_events", dirty_rate, rng, event_ids.fresh, "email_event_id", notes)
