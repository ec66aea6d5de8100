"""Product events (`tracks`), generated with numpy only, one window of days at a time.

Users are taken in batches (all of them unless there are very many). For a batch:
- active user-days are drawn first (a per-user hazard of going inactive, weekly
  seasonality), each with its event count, time and device, and sorted by the day the
  events are received;
- "special" rows are drawn per user: anonymous browsing, sign-up, onboarding steps, the
  first value moment, notifications, password resets, support chats, and visitors who never
  sign up.
Then windows of received days (about TARGET_WINDOW_ROWS rows each) are expanded into events
with array operations only: an event's name is a draw from a per-user "urn" of 64 slots
that encodes the user's feature mix for that week of their life, so nothing per event goes
through Python. Each received day becomes one table (one Parquet row group per batch).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from saas_lifecycle.contract import PLATFORMS
from saas_lifecycle.generate_columns import (
    DAY_US,
    HOUR_US,
    MINUTE_US,
    SECOND_US,
    IdSequence,
    booleans,
    decimal_ids,
    dictionary,
    expand,
    fixed_width_strings,
    hex_matrix,
    int32_indices,
    mix64,
    numbers,
    rng_for,
    salt_of,
    segment_starts,
    strings,
    timestamps,
)
from saas_lifecycle.generate_dirty import RULES, inject, injection_count, micros, set_column
from saas_lifecycle.generate_population import IOS, NEVER, NEVER_WEEK, NO_MOBILE, Population
from saas_lifecycle.generate_reference import (
    APP_PATHS,
    CHAT_EVENT,
    DEFAULT_FEATURE_WEIGHT,
    DRAFT_EVENT,
    FEATURE_WEIGHTS,
    HELP_EVENT,
    INTEGRATION_EVENT,
    NOTIFICATION_EVENT,
    PAGE_PATHS,
    PAGE_VIEW_EVENT,
    PASSWORD_RESET_EVENT,
    SESSION_EVENT,
    SIGNUP_EVENT,
    UNKNOWN_EVENT_NAMES,
    VALUE_EVENT,
    Reference,
)

SLOTS = 64  # urn size: event mix resolution of 1/64 per user and phase
PHASES = 6  # weeks 0, 1, 2+ of the user's life x before / after their first value
DEVICES = 4  # per user: web browser, mobile app, API, the browser before sign-up
WEB, MOBILE, API, PRE_SIGNUP = range(DEVICES)
# Rows per window: arrays stay small enough for malloc to reuse their memory.
TARGET_WINDOW_ROWS = 1_000_000
# Expected events per batch of users: bounds the memory of the per-user arrays.
TARGET_BATCH_EVENTS = 150_000_000
WEEKDAY_ACTIVE = np.array([1.0, 1.0, 1.0, 0.97, 0.9, 0.42, 0.36])  # Monday first
WEEKDAY_VOLUME = np.array([1.0, 1.0, 1.0, 1.0, 0.95, 0.8, 0.75])
DUPLICATE_SHARE = 0.006  # at-least-once delivery: re-delivered copies (not bad rows)
EXTRA_IDS = 1 << 62  # id counter of extra rows (unknown names, bad rows): never reached by
# the clean rows' counter, and mix64 is a bijection, so ids never collide

FADE_DAYS = 21


def _fade_out(
    pos: np.ndarray, length: np.ndarray, comeback: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """Usage falls before a user stops: over the last FADE_DAYS days of a main activity
    period longer than six weeks that ends inside the window, the chance of an active day
    drops linearly to a fifth, so a lapse shows as declining activity first."""
    left = (length - pos) / FADE_DAYS
    # Only lasting users fade: a short trial user's few days stay as they were.
    fades = ends & ~comeback & (length > 2 * FADE_DAYS)
    return np.where(fades, np.clip(left, 0.2, 1.0), 1.0)


@dataclass
class EventVocabulary:
    """(event_name, properties) pairs; an event's code indexes both columns."""

    names: list[str] = field(default_factory=list)
    properties: list[str | None] = field(default_factory=list)
    base: dict[str, int] = field(default_factory=dict)
    variants: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, name: str, properties: list[str | None]) -> None:
        self.base[key] = len(self.names)
        self.variants[key] = len(properties)
        self.names.extend([name] * len(properties))
        self.properties.extend(properties)

    def code(self, key: str, variant: np.ndarray | int = 0) -> np.ndarray:
        """Codes of `key`'s rows, the variant taken modulo the number of variants."""
        return self.base[key] + np.mod(variant, self.variants[key])


def _props(**values: object) -> str:
    return json.dumps(values, separators=(",", ":"))


def event_vocabulary(ref: Reference) -> EventVocabulary:
    vocab = EventVocabulary()
    amounts = [round(25 * 1.21**k, 2) for k in range(24)]
    money_events = {VALUE_EVENT, DRAFT_EVENT, "payment_recorded", "estimate_sent"}
    for name in ref.event_names:
        if name == PAGE_VIEW_EVENT:
            vocab.add(name, name, [_props(path=p) for p in APP_PATHS])
            vocab.add("site_page", name, [_props(path=p) for p in PAGE_PATHS])
        elif name == SESSION_EVENT:
            vocab.add(
                name, name, [_props(app_version=f"4.{m}.{p}") for m in (2, 3) for p in (0, 1)]
            )
        elif name in money_events:
            vocab.add(name, name, [_props(amount=a, currency="USD") for a in amounts])
        elif name == HELP_EVENT:
            articles = ("send-an-invoice", "import-clients", "reset-password", "connect-bank")
            vocab.add(name, name, [_props(article=a) for a in articles])
        else:
            vocab.add(name, name, [None])
    for name in UNKNOWN_EVENT_NAMES:
        vocab.add(name, name, [None])
    return vocab


@dataclass
class TracksWindow:
    """Rows of one window as one table per received day (day index from the window start)."""

    tables: dict[int, pa.Table]
    injected: dict[str, int]
    notes: dict[str, int]


@dataclass
class _Entities:
    """A batch's users (entities 0..m-1) then visitors; entity e has devices e * DEVICES +
    slot, and anonymous ids 2e (browser) and 2e + 1 (phone). *_ok say which device slots
    carry the column (an API call has no anonymous id, a visitor no user id)."""

    anon: pa.Array
    user: pa.Array  # user ids of the batch's users
    platform_code: np.ndarray  # code into PLATFORMS per device
    anon_ok: np.ndarray
    user_ok: np.ndarray
    platform_ok: np.ndarray


@dataclass
class _Vocabulary:
    """Distinct strings (a valid Parquet dictionary) and the entry of each code; a None value
    becomes a null."""

    values: pa.Array
    entry: np.ndarray
    valid: np.ndarray

    @staticmethod
    def of(values: list[str | None]) -> _Vocabulary:
        distinct = sorted({v for v in values if v is not None})
        position = {v: i for i, v in enumerate(distinct)}
        entry = np.array([position.get(v, 0) for v in values], dtype=np.int32)
        valid = np.array([v is not None for v in values])
        return _Vocabulary(strings(distinct), entry, valid)

    def column(self, codes: np.ndarray) -> pa.DictionaryArray:
        """Dictionary column of codes; a negative code is null."""
        known = codes >= 0
        safe = np.where(known, codes, 0) if not known.all() else codes
        return dictionary(self.entry[safe], self.values, self.valid[safe] & known)


@dataclass
class _Rows:
    """Numeric columns of events before they become strings."""

    device: np.ndarray  # entity * DEVICES + slot
    code: np.ndarray  # code into EventVocabulary
    occurred: np.ndarray
    received: np.ndarray
    utm: np.ndarray | None = None  # code into UtmVocabulary, -1 = none

    @property
    def size(self) -> int:
        return int(self.code.size)

    def take(self, index: np.ndarray | slice) -> _Rows:
        utm = None if self.utm is None else self.utm[index]
        return _Rows(
            self.device[index], self.code[index], self.occurred[index], self.received[index], utm
        )

    @staticmethod
    def concat(parts: list[_Rows]) -> _Rows:
        return _Rows(
            np.concatenate([p.device for p in parts]),
            np.concatenate([p.code for p in parts]),
            np.concatenate([p.occurred for p in parts]),
            np.concatenate([p.received for p in parts]),
            np.concatenate([p.utm if p.utm is not None else np.full(p.size, -1) for p in parts]),
        )

    @staticmethod
    def gather(blocks: list[_Rows], index: np.ndarray) -> _Rows:
        """Rows at `index` of the blocks laid end to end (without concatenating them)."""
        parts, order, offset = [], [], 0
        for block in blocks:
            inside = np.flatnonzero((index >= offset) & (index < offset + block.size))
            parts.append(block.take(index[inside] - offset))
            order.append(inside)
            offset += block.size
        return _Rows.concat(parts).take(np.argsort(np.concatenate(order), kind="stable"))


def _batches(pop: Population) -> list[tuple[int, int]]:
    """Equal user ranges (by expected events) of at most about TARGET_BATCH_EVENTS each."""
    remaining = pop.days - pop.signup_day
    active_days = np.minimum(pop.u_life_days, remaining) * pop.u_p_active * 0.85 + 1
    expected = np.cumsum(active_days * (1 + pop.u_events_per_day) + 30)
    count = int(np.ceil(expected[-1] / TARGET_BATCH_EVENTS))
    marks = np.arange(1, count) * (expected[-1] / count)
    edges = np.unique(np.concatenate([[0], np.searchsorted(expected, marks), [pop.n_total]]))
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def _windows(rows_per_day: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive day ranges [d0, d1) covering every day, each of at most about
    TARGET_WINDOW_ROWS rows (a single bigger day is a window of its own)."""
    cumulative = np.cumsum(rows_per_day)
    edges = [0]
    while edges[-1] < rows_per_day.size:
        done = cumulative[edges[-1] - 1] if edges[-1] else 0
        end = int(np.searchsorted(cumulative, done + TARGET_WINDOW_ROWS, side="right"))
        edges.append(max(end, edges[-1] + 1))
    return list(zip(edges[:-1], edges[1:], strict=True))


class TracksGenerator:
    """Builds tracks window by window; the same arguments always give the same windows."""

    def __init__(
        self, pop: Population, seed: int, dirty_rate: float, file_schema: pa.Schema
    ) -> None:
        """`file_schema` is the tracks schema; `self.schema` is how windows hand rows over
        (strings with few distinct values dictionary-encoded, which Parquet writes as is)."""
        self.pop = pop
        self.seed = seed
        self.dirty_rate = dirty_rate
        self.vocab = event_vocabulary(pop.ref)
        self.names = _Vocabulary.of(list(self.vocab.names))
        self.properties = _Vocabulary.of(self.vocab.properties)
        self.platforms = strings(PLATFORMS)
        self.plain_schema = file_schema
        self.schema = pa.schema(
            [
                f.with_type(pa.dictionary(pa.int32(), pa.string()))
                if pa.types.is_string(f.type) and f.name != "event_id"
                else f
                for f in file_schema
            ]
        )
        self.utm = [
            _Vocabulary.of(list(values))
            for values in (pop.utm.sources, pop.utm.mediums, pop.utm.campaigns)
        ]
        self.no_utm = int32_indices(np.zeros(0, np.int32))
        self.urn_keys, self.feature_slots = self._urn_keys()
        # Event code per (urn key, slot): key k's variants cycle along the 64 slots.
        base = np.array([self.vocab.base[k] for k in self.urn_keys])
        variants = np.array([self.vocab.variants[k] for k in self.urn_keys])
        slot = np.arange(SLOTS)
        self.urn_codes = (base[:, None] + slot % variants[:, None]).astype(np.int32).ravel()
        # Delivery delays (seconds, sometimes minutes, at most 10 minutes) drawn per event
        # from 256 fixed values, so a random byte picks one.
        seconds = rng_for(seed, "tracks.delay").lognormal(np.log(2.5), 1.3, 256)
        self.delay_us = (np.minimum(seconds, 600) * SECOND_US).astype(np.int64)
        fv = pop.u_first_value
        self.value_day = np.where(fv == NEVER, 1 << 30, (fv - pop.start_us) // DAY_US)
        self.start_weekday = int(((pop.start_us // DAY_US) + 3) % 7)  # 1970-01-01 was a Thursday

    def _urn_keys(self) -> tuple[list[str], list[int]]:
        """The urn's event keys: page views, extra sessions, features, value, support."""
        features = [f for f in self.pop.feature_names if FEATURE_WEIGHTS.get(f, 1.0) > 0]
        keys = [PAGE_VIEW_EVENT, SESSION_EVENT, *features, VALUE_EVENT, HELP_EVENT, CHAT_EVENT]
        slots = [self.pop.feature_names.index(f) for f in features]
        return keys, slots

    def windows(self) -> Iterator[TracksWindow]:
        """All tracks rows, window by window, each window's days in order."""
        pop = self.pop
        event_ids = IdSequence(self.seed, "tracks.event_id")
        extra_ids = IdSequence(self.seed, "tracks.event_id", first=EXTRA_IDS)
        for b, (lo, hi) in enumerate(_batches(pop)):
            rng = rng_for(self.seed, "tracks", b)
            days = self._active_days(lo, hi, rng)
            urns = self._urns(lo, hi, rng)
            special, n_visitors = self._special(lo, hi, rng)
            ents = self._entities(lo, hi, n_visitors, b)
            bulk_rows = np.bincount(days["recv_day"], days["events"], pop.days).astype(np.int64)
            special_day = (special.received - pop.start_us) // DAY_US
            special_rows = np.bincount(special_day, minlength=pop.days)
            day_start = np.searchsorted(days["recv_day"], np.arange(pop.days + 1))
            special_start = np.searchsorted(special_day, np.arange(pop.days + 1))
            carry: dict[int, list[pa.Table]] = {}  # extra rows received in a later window
            for w, (d0, d1) in enumerate(_windows(bulk_rows + special_rows)):
                wrng = rng_for(self.seed, "tracks", b, w)
                window_days = {k: v[day_start[d0] : day_start[d1]] for k, v in days.items()}
                bulk = self._expand(window_days, urns, wrng)
                spec = special.take(slice(special_start[d0], special_start[d1]))
                ids = event_ids.take(bulk.size + spec.size)
                parts = [
                    self._partitions(bulk, ids[: bulk.size], bulk_rows[d0:d1], d0, ents),
                    self._partitions(spec, ids[bulk.size :], special_rows[d0:d1], d0, ents),
                ]
                day_of_row = np.concatenate(
                    [
                        np.repeat(np.arange(d0, d1), bulk_rows[d0:d1]),
                        special_day[special_start[d0] : special_start[d1]],
                    ]
                )
                extra, injected, notes = self._extras(
                    [bulk, spec], ids, day_of_row, ents, extra_ids, wrng
                )
                parts.append(extra)
                for part in parts:
                    for day, table in part.items():
                        carry.setdefault(day, []).append(table)
                tables = {d: pa.concat_tables(carry.pop(d)) for d in range(d0, d1) if d in carry}
                notes.update(self._window_notes(bulk, spec, lo, hi))
                yield TracksWindow(tables, injected, notes)

    def _window_notes(self, bulk: _Rows, spec: _Rows, lo: int, hi: int) -> dict[str, int]:
        """Counts of rows that are odd but not bad: late, orphan user ids, visitors."""
        m = hi - lo
        first_orphan = (self.pop.n_users - lo) * DEVICES  # devices of users not exported
        entity_slot = spec.device % DEVICES
        known = (entity_slot != PRE_SIGNUP) & (spec.device < m * DEVICES)
        orphans = np.count_nonzero(bulk.device >= first_orphan)
        orphans += np.count_nonzero(known & (spec.device >= first_orphan))
        late = np.count_nonzero(bulk.received - bulk.occurred >= DAY_US)
        late += np.count_nonzero(spec.received - spec.occurred >= DAY_US)
        return {
            "late_arrivals": int(late),
            "orphan_user_rows": int(orphans),
            "anonymous_visitor_rows": int(np.count_nonzero(spec.device >= m * DEVICES)),
        }

    # --- the bulk: events on active days -------------------------------------------------

    def _urns(self, lo: int, hi: int, rng: np.random.Generator) -> np.ndarray:
        """(users * PHASES * SLOTS) event codes: each user's event mix per phase."""
        pop, m = self.pop, hi - lo
        keys = self.urn_keys
        n_feat = len(self.feature_slots)
        weights = np.zeros((m, PHASES, len(keys)))
        weights[:, :, 0] = 0.40
        weights[:, :, 1] = 0.035
        support = np.minimum(pop.u_support[lo:hi, None], 6.0)  # keeps page views > 0 slots
        first_week = np.array([1.5, 1.0, 1.0] * 2)[None, :]
        weights[:, :, -2] = 0.012 * support * first_week
        weights[:, :, -1] = 0.0035 * support
        feature_weight = np.array(
            [FEATURE_WEIGHTS.get(f, DEFAULT_FEATURE_WEIGHT) for f in keys[2 : 2 + n_feat]]
        )
        feature_weight = 0.45 * feature_weight / feature_weight.sum()
        adopt = pop.u_adopt_week[lo:hi][:, self.feature_slots]
        for phase in range(PHASES):
            week = phase % 3
            weights[:, phase, 2 : 2 + n_feat] = feature_weight * (adopt <= week)
        # Before their aha moment users draft invoices instead of sending them.
        weights[:, 3:, -3] = 0.05
        if DRAFT_EVENT in keys:
            draft = keys.index(DRAFT_EVENT)
            weights[:, :3, draft] += 0.05 * (adopt[:, draft - 2, None] <= np.arange(3))
        # Stochastic rounding to SLOTS; page views absorb the remainder.
        counts = np.floor(weights * SLOTS + rng.random(weights.shape)).astype(np.int64)
        counts[:, :, 0] = 0
        counts[:, :, 0] = SLOTS - counts.sum(axis=2)
        # Slot s holding key k gets the code of k's variant s (variety in properties).
        keys_of_slots = np.repeat(
            np.tile(np.arange(len(keys), dtype=np.int16), m * PHASES), counts.ravel()
        )
        keys_of_slots <<= 6  # SLOTS == 64: (key, slot) -> key * 64 + slot
        keys_of_slots += np.tile(np.arange(SLOTS, dtype=np.int16), m * PHASES)
        return self.urn_codes[keys_of_slots]

    def _active_days(self, lo: int, hi: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Active user-days of users lo..hi with their day-level settings, by received day."""
        pop, days = self.pop, self.pop.days
        m = hi - lo
        signup_day = pop.signup_day[lo:hi]
        main_len = np.clip(np.ceil(pop.u_life_days[lo:hi]), 1, days - signup_day).astype(np.int64)
        back = pop.u_return_day[lo:hi]
        back_start = signup_day + back
        has_back = (back >= 0) & (back_start < days)
        back_len = np.minimum(pop.u_return_len[lo:hi], days - back_start)[has_back]
        seg_user = np.concatenate([np.arange(m), np.flatnonzero(has_back)])
        seg_start = np.concatenate([signup_day, back_start[has_back]])
        seg_len = np.concatenate([main_len, back_len])
        seg_back = np.concatenate([np.zeros(m, bool), np.ones(back_len.size, bool)])
        group, pos = expand(seg_len)
        user = seg_user[group]
        day = seg_start[group] + pos
        weekday = (self.start_weekday + day) % 7
        p = np.where(seg_back[group], 0.7, pop.u_p_active[lo:hi][user]) * WEEKDAY_ACTIVE[weekday]
        p *= _fade_out(
            pos, seg_len[group], seg_back[group], seg_start[group] + seg_len[group] < days
        )
        is_signup_day = (pos == 0) & ~seg_back[group]
        keep = is_signup_day | (rng.random(day.size) < p)
        user, day, weekday = user[keep], day[keep], weekday[keep]
        is_signup_day = is_signup_day[keep]
        nd = day.size
        g = user + lo
        # On the sign-up day nothing happens before the sign-up; a user signing up late in
        # the evening comes back the next day.
        earliest = np.where(is_signup_day, pop.u_signup[g] + 20 * SECOND_US, 0)
        earliest -= pop.start_us + day * DAY_US
        late_signup = earliest > 23 * HOUR_US
        day = day + late_signup
        weekday = (self.start_weekday + day) % 7
        earliest = np.where(late_signup, 0, np.maximum(earliest, 0))
        rel = day - signup_day[user]

        boost = np.where(rel < 7, 1.25, 1.0) * WEEKDAY_VOLUME[weekday]
        n_events = 1 + rng.poisson(pop.u_events_per_day[g] * boost)
        r = rng.random((3, nd))
        mobile = (pop.u_mobile[g] != NO_MOBILE) & (r[0] < 0.45)
        api = pop.u_api[g] & (r[0] > 0.88) & ~mobile
        slot = np.where(mobile, MOBILE, np.where(api, API, WEB))
        # Offline phones sync a day's events days later (late arrivals).
        late = np.where(mobile, r[1] < 0.06, r[1] < 0.004)
        recv_day = day + late * (1 + (r[2] * 4).astype(np.int64))
        ok = recv_day < days
        # All of a day's events, plus at most 10 minutes of delivery delay, fit in the day
        # (so their received day is known without looking at each event).
        usable = DAY_US - 15 * MINUTE_US - earliest
        gap = (pop.u_gap_seconds[g] * rng.uniform(0.7, 1.3, nd) * SECOND_US).astype(np.int64)
        gap = np.minimum(gap, np.minimum(20 * HOUR_US, usable) // n_events)
        room = DAY_US - 15 * MINUTE_US - n_events * gap
        t0_offset = (pop.u_hour[g] * HOUR_US + rng.normal(0, 1.5 * HOUR_US, nd)).astype(np.int64)
        t0 = pop.start_us + day * DAY_US + np.clip(t0_offset, earliest, room)
        sync = pop.start_us + recv_day * DAY_US + (rng.random(nd) * room).astype(np.int64)
        shift = np.where(late, sync - t0, 0)
        phase = np.minimum(rel // 7, 2) + 3 * (day > self.value_day[g])
        columns = {
            "recv_day": recv_day,
            "user": user,
            "events": n_events,
            "t0": t0,
            "gap": gap,
            "shift": shift,
            "urn": ((user * PHASES + phase) * SLOTS).astype(np.int32),
            "device": (user * DEVICES + slot).astype(np.int32),
        }
        order = np.argsort((recv_day * m + user) * (days + 1) + day)
        order = order[ok[order]]
        return {k: v[order] for k, v in columns.items()}

    def _expand(
        self, days: dict[str, np.ndarray], urns: np.ndarray, rng: np.random.Generator
    ) -> _Rows:
        """Events of active user-days (already sorted by received day)."""
        k = days["events"]
        n = int(k.sum())
        starts = segment_starts(k)
        local = np.arange(n) - np.repeat(starts, k)
        noise = np.frombuffer(rng.bytes(2 * n), dtype=np.uint8)
        slot, delay = noise[:n], noise[n:]
        code = urns[np.repeat(days["urn"], k) + (slot & (SLOTS - 1))].astype(np.int32)
        code[starts] = self.vocab.code(SESSION_EVENT, slot[starts])
        # Events spaced by the day's gap, jittered by a quarter gap (the slot byte's top bits).
        step = np.repeat(days["gap"] >> 2, k)
        occurred = np.repeat(days["t0"], k) + (4 * local + (slot >> 6)) * step
        received = occurred + np.repeat(days["shift"], k) + self.delay_us[delay]
        return _Rows(np.repeat(days["device"], k), code, occurred, received)

    # --- special rows ---------------------------------------------------------------------

    def _special(self, lo: int, hi: int, rng: np.random.Generator) -> tuple[_Rows, int]:
        """Per-user milestone and background events plus anonymous visitors."""
        pop, vocab = self.pop, self.vocab
        m = hi - lo
        g = np.arange(lo, hi)
        signup = pop.u_signup[g]
        parts: list[_Rows] = []

        def rows(
            user: np.ndarray,
            slot: np.ndarray | int,
            code: np.ndarray | int,
            at: np.ndarray,
            utm: np.ndarray | None = None,
        ) -> None:
            device = (user * DEVICES + slot).astype(np.int32)
            codes = np.broadcast_to(np.asarray(code, dtype=np.int32), user.shape).copy()
            parts.append(_Rows(device, codes, at.astype(np.int64), at.astype(np.int64), utm))

        # Anonymous browsing before sign-up; the first visit carries the first-touch utm.
        # (Browsing stays inside the window, so users signing up in its first hour have none.)
        room = signup - pop.start_us - 2 * MINUTE_US
        browses = pop.u_browse[g] & (room > HOUR_US)
        visits = np.where(browses, 1 + rng.poisson(2.5, m), 0)
        user, pos = expand(visits)
        span = np.minimum(rng.lognormal(np.log(2 * DAY_US), 1.2, m), room).astype(np.int64)
        # The visit at pos 0 is strictly the earliest: later ones sit closer to sign-up.
        share = (1.0 - pos / np.maximum(visits[user], 1)) * rng.uniform(0.85, 1.0, user.size)
        share = np.where(pos == 0, 1.0, share)
        at = signup[user] - (share * span[user]).astype(np.int64) - MINUTE_US
        utm = np.where(pos == 0, pop.u_utm[g][user], -1)
        # Some come back later through another channel (last touch differs from first).
        retouch = (pos == visits[user] - 1) & (pos > 0) & (rng.random(user.size) < 0.2)
        channel_codes = np.concatenate(pop.utm.by_channel)
        other = channel_codes[rng.integers(0, channel_codes.size, user.size)]
        utm = np.where(retouch, other, utm)
        rows(user, PRE_SIGNUP, vocab.code("site_page", pos), at, utm)

        # Sign-up stitches the browser to the user; it carries the utm when nothing came before.
        utm = np.where(browses, -1, pop.u_utm[g])
        on_phone = ~browses & (pop.u_mobile[g] != NO_MOBILE) & (rng.random(m) < 0.1)
        signed = signup + rng.integers(0, 3 * SECOND_US, m)
        rows(np.arange(m), np.where(on_phone, MOBILE, WEB), vocab.code(SIGNUP_EVENT), signed, utm)

        # Onboarding steps after account_created, and the first value moment.
        steps = pop.u_steps[g, 1:]
        user, step = np.nonzero(steps != NEVER)
        step_codes = np.array([vocab.code(s) for s in pop.ref.onboarding_steps[1:]])
        rows(user, WEB, step_codes[step], steps[user, step])
        user = np.flatnonzero(pop.u_first_value[g] != NEVER)
        rows(user, WEB, vocab.code(VALUE_EVENT, user), pop.u_first_value[g][user])

        # Integrations are connected once, in the week the user adopts them.
        if INTEGRATION_EVENT in pop.feature_names:
            week = pop.u_adopt_week[g, pop.feature_names.index(INTEGRATION_EVENT)]
            user = np.flatnonzero(week != NEVER_WEEK)
            at = signup[user] + (week[user] * 7 + rng.random(user.size) * 7) * DAY_US
            rows(user, WEB, vocab.code(INTEGRATION_EVENT), at.astype(np.int64))

        # Password resets: users coming back after weeks away, and a few others.
        back = pop.u_return_day[g]
        user = np.flatnonzero((back >= 0) & (rng.random(m) < 0.6))
        at = pop.start_us + (pop.signup_day[g][user] + back[user]) * DAY_US
        at += (pop.u_hour[g][user] * HOUR_US).astype(np.int64) - 10 * MINUTE_US
        lifetime = np.maximum(pop.alive_until[g] - signup, SECOND_US)
        other_users = np.flatnonzero(rng.random(m) < 0.06 * pop.u_support[g])
        other_at = signup[other_users] + (rng.random(other_users.size) * lifetime[other_users])
        user = np.concatenate([user, other_users])
        at = np.concatenate([at, other_at.astype(np.int64)])
        rows(user, WEB, vocab.code(PASSWORD_RESET_EVENT), at)

        # Support chats from struggling users early in their life.
        chats = rng.poisson(0.25 * pop.u_support[g])
        user, _ = expand(chats)
        at = signup[user] + (rng.random(user.size) * np.minimum(lifetime[user], 21 * DAY_US))
        rows(user, WEB, vocab.code(CHAT_EVENT), at.astype(np.int64))

        # Notifications reach everyone, churned or not (not product activity).
        has_phone = pop.u_mobile[g] != NO_MOBILE
        horizon = (pop.end_us - signup) / DAY_US
        count = rng.poisson(horizon / np.where(has_phone, 9.0, 30.0))
        user, _ = expand(count)
        at = signup[user] + (rng.random(user.size) * (pop.end_us - signup[user])).astype(np.int64)
        rows(user, np.where(has_phone[user], MOBILE, WEB), vocab.code(NOTIFICATION_EVENT), at)

        # Visitors who never sign up: anonymous page views only.
        n_visitors = max(1, round(1.2 * m))
        views = 1 + rng.poisson(1.2, n_visitors)
        visitor, pos = expand(views)
        first = pop.start_us + (rng.random(n_visitors) * (pop.end_us - pop.start_us)).astype(
            np.int64
        )
        at = first[visitor] + pos * rng.integers(MINUTE_US, 2 * DAY_US, visitor.size)
        utm = np.where(
            (pos == 0) & (rng.random(visitor.size) < 0.7),
            channel_codes[rng.integers(0, channel_codes.size, visitor.size)],
            -1,
        )
        parts.append(
            _Rows(
                ((m + visitor) * DEVICES + PRE_SIGNUP).astype(np.int32),
                vocab.code("site_page", pos).astype(np.int32),
                at,
                at,
                utm,
            )
        )

        special = _Rows.concat(parts)
        n = special.code.size
        delay = self.delay_us[rng.integers(0, 256, n)]
        late = rng.random(n) < 0.01
        delay = np.where(late, delay + rng.integers(DAY_US, 4 * DAY_US, n), delay)
        special.received = special.occurred + delay
        # A phone clock a minute or two fast: occurred slightly after received (allowed).
        fast = (special.device % DEVICES == MOBILE) & (rng.random(n) < 0.05)
        special.occurred = np.where(
            fast, special.received + rng.integers(0, 2 * MINUTE_US, n), special.occurred
        )
        keep = (special.received < pop.end_us) & (special.occurred < pop.end_us)
        special = special.take(np.flatnonzero(keep))
        recv_day = (special.received - pop.start_us) // DAY_US
        entity = special.device >> 2
        order = np.argsort(recv_day * (m + n_visitors) + entity, kind="stable")
        return special.take(order), n_visitors

    # --- strings --------------------------------------------------------------------------

    def _entities(self, lo: int, hi: int, n_visitors: int, batch: int) -> _Entities:
        """Strings of the batch's users (entities 0..m-1), then of its visitors."""
        pop, m = self.pop, hi - lo
        users = np.arange(lo, hi)
        # Anonymous ids: the web browser (also before sign-up) and the phone differ. A
        # visitor's second id is never used but keeps the dictionaries free of repeats.
        salt = salt_of(self.seed, "anonymous_id")
        visitors = (batch << 40) + (1 << 39) + 2 * np.arange(n_visitors)
        numbers_ = np.concatenate([2 * users, visitors])
        anon = np.stack([mix64(numbers_, salt), mix64(numbers_ + 1, salt)], axis=1).reshape(-1)
        phone_platform = np.where(pop.u_mobile[lo:hi] == IOS, 1, 2)
        platform = np.stack(
            [np.zeros(m, int), phone_platform, np.full(m, 3), np.zeros(m, int)], axis=1
        ).reshape(-1)
        is_user = np.arange(DEVICES * (m + n_visitors)) < DEVICES * m
        slot = np.arange(DEVICES * (m + n_visitors)) % DEVICES
        web_null = np.concatenate(
            [np.repeat(pop.u_platform_null[lo:hi], DEVICES), np.zeros(DEVICES * n_visitors, bool)]
        )
        return _Entities(
            anon=fixed_width_strings(hex_matrix(anon)),
            user=decimal_ids("usr_", users + 1),
            platform_code=np.concatenate([platform, np.zeros(DEVICES * n_visitors, int)]).astype(
                np.int32
            ),
            anon_ok=slot != API,
            user_ok=is_user & (slot != PRE_SIGNUP),
            platform_ok=~(web_null & (slot == WEB)),
        )

    def _partitions(
        self,
        rows: _Rows,
        ids: np.ndarray,
        day_rows: np.ndarray,
        first_day: int,
        ents: _Entities,
    ) -> dict[int, pa.Table]:
        """Tables per received day of a block sorted by (day, entity); `day_rows` counts the
        rows of days first_day, first_day + 1, ...

        Strings are dictionary columns that Parquet writes without hashing each value. A
        dictionary must hold distinct values (Arrow writes repeats as uninitialised bytes)
        and is written whole into every file, so anonymous_id and user_id get one per day
        holding that day's entities only: found in one vectorised pass, because the rows of
        an entity are adjacent within a day.
        """
        n = rows.size
        if n == 0:
            return {}
        device, entity = rows.device, rows.device >> 2
        starts = segment_starts(day_rows)
        days = np.flatnonzero(day_rows)
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.not_equal(entity[1:], entity[:-1], out=new[1:])
        new[starts[days]] = True
        ordinal = np.cumsum(new) - 1
        first = ordinal[starts[days]]
        entities = entity[new]  # the entity of each ordinal
        last = np.append(first[1:], entities.size)
        # anonymous_id: two ids per entity of the day (browser, phone).
        local = ordinal - np.repeat(first, day_rows[days])
        anon = int32_indices(2 * local + ((device & 3) == MOBILE), ents.anon_ok[device])
        # user_id: one per user entity of the day (visitors have none).
        is_user = entities < len(ents.user)
        users_before = np.cumsum(is_user) - is_user
        user_local = users_before[ordinal] - np.repeat(users_before[first], day_rows[days])
        user = int32_indices(user_local, ents.user_ok[device])

        platform = dictionary(ents.platform_code[device], self.platforms, ents.platform_ok[device])
        event_id = fixed_width_strings(hex_matrix(ids))
        name = self.names.column(rows.code)
        props = self.properties.column(rows.code)
        occurred, received = timestamps(rows.occurred), timestamps(rows.received)
        if rows.utm is None:
            utm = [self._no_utm(n, vocab) for vocab in self.utm]
        else:
            utm = [vocab.column(rows.utm) for vocab in self.utm]
        tables: dict[int, pa.Table] = {}
        for day, a, b in zip(days, first, last, strict=True):
            off, count = int(starts[day]), int(day_rows[day])
            day_entities = entities[a:b]
            anon_strings = ents.anon.take(numbers((2 * day_entities[:, None] + [0, 1]).ravel()))
            user_strings = ents.user.take(numbers(day_entities[day_entities < len(ents.user)]))
            columns = [
                event_id.slice(off, count),
                pa.DictionaryArray.from_arrays(anon.slice(off, count), anon_strings),
                pa.DictionaryArray.from_arrays(user.slice(off, count), user_strings),
                name.slice(off, count),
                occurred.slice(off, count),
                received.slice(off, count),
                platform.slice(off, count),
                *(column.slice(off, count) for column in utm),
                props.slice(off, count),
            ]
            tables[first_day + int(day)] = pa.Table.from_arrays(columns, schema=self.schema)
        return tables

    def _no_utm(self, n: int, vocab: _Vocabulary) -> pa.Array:
        """An all-null dictionary column, sliced from one cached array (no allocation)."""
        if len(self.no_utm) < n:
            size = max(n, 1 << 20)
            self.no_utm = int32_indices(np.zeros(size, np.int32), np.zeros(size, bool))
        return pa.DictionaryArray.from_arrays(self.no_utm.slice(0, n), vocab.values)

    def _plain_table(self, rows: _Rows, ids: pa.Array, ents: _Entities) -> pa.Table:
        """A small table of plain strings (the pool that extra rows are copied from)."""
        device, m = rows.device, len(ents.user)
        entity = device >> 2
        anon = dictionary(2 * entity + ((device & 3) == MOBILE), ents.anon, ents.anon_ok[device])
        user = dictionary(np.minimum(entity, m - 1), ents.user, ents.user_ok[device])
        platform = dictionary(ents.platform_code[device], self.platforms, ents.platform_ok[device])
        utm = rows.utm if rows.utm is not None else np.full(rows.size, -1)
        columns = [
            ids,
            anon,
            user,
            self.names.column(rows.code),
            timestamps(rows.occurred),
            timestamps(rows.received),
            platform,
            *(vocab.column(utm) for vocab in self.utm),
            self.properties.column(rows.code),
        ]
        plain = [c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in columns]
        return pa.Table.from_arrays(plain, schema=self.plain_schema)

    def _extras(
        self,
        blocks: list[_Rows],
        ids: np.ndarray,
        day_of_row: np.ndarray,
        ents: _Entities,
        extra_ids: IdSequence,
        rng: np.random.Generator,
    ) -> tuple[dict[int, pa.Table], dict[str, int], dict[str, int]]:
        """Re-delivered copies, unknown event names and bad rows, per received day.

        They are copies of random clean rows of the window, so only those become strings.
        """
        pop = self.pop
        n, n_bulk = sum(b.size for b in blocks), blocks[0].size

        def pool(source: np.ndarray) -> pa.Table:
            picked = _Rows.gather(blocks, source)
            return self._plain_table(picked, fixed_width_strings(hex_matrix(ids[source])), ents)

        pieces: list[pa.Table] = []
        days: list[np.ndarray] = []
        # At-least-once delivery: the same event_id again, received later.
        dup = rng.integers(0, n, max(1, round(DUPLICATE_SHARE * n)) if n else 0)
        later = np.where(
            rng.random(dup.size) < 0.7,
            rng.integers(MINUTE_US, 30 * MINUTE_US, dup.size),
            rng.integers(HOUR_US, 3 * DAY_US, dup.size),
        )
        copies = pool(dup)
        received = micros(copies, "received_at") + later
        keep = received < pop.end_us
        copies = set_column(copies, "received_at", timestamps(received))
        pieces.append(copies.filter(booleans(keep)))
        days.append(((received - pop.start_us) // DAY_US)[keep])

        # Unknown event names on otherwise valid rows (copies of bulk rows: active days).
        n_unknown = injection_count(self.dirty_rate, n) if n_bulk else 0
        source = rng.integers(0, n_bulk, n_unknown) if n_unknown else np.zeros(0, np.int64)
        unknown = pool(source)
        names = [
            UNKNOWN_EVENT_NAMES[i] for i in rng.integers(0, len(UNKNOWN_EVENT_NAMES), n_unknown)
        ]
        unknown = set_column(unknown, "event_name", strings(names))
        unknown = set_column(unknown, "properties", pa.nulls(n_unknown, pa.string()))
        pieces.append(set_column(unknown, "event_id", extra_ids.fresh(n_unknown)))
        days.append(day_of_row[source])

        # Bad rows: the pool is as large as all rules need, so sampling from it is uniform.
        tracks_rules = len(RULES["tracks"])
        source = rng.integers(
            0, n, injection_count(self.dirty_rate, n, tracks_rules) * tracks_rules
        )
        bad, bad_source, injected = inject(
            pool(source), "tracks", self.dirty_rate, rng, extra_ids.fresh, "event_id", rows=n
        )
        pieces.append(bad)
        days.append(day_of_row[source[bad_source]])

        extra = pa.concat_tables(pieces).cast(self.schema)
        day = np.concatenate(days).astype(np.int64)
        order = np.argsort(day, kind="stable")
        extra, day = extra.take(numbers(order)), day[order]
        counts = np.bincount(day, minlength=pop.days)
        starts = segment_starts(counts)
        tables = {int(d): extra.slice(starts[d], counts[d]) for d in np.flatnonzero(counts)}
        notes = {"duplicates": int(keep.sum()), "unknown_event_names": n_unknown}
        return tables, injected, notes
