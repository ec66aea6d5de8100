"""Deliberately bad rows: copies of clean rows that each break exactly one quarantine rule.

Every raw table gets `null_<column>` rules for its required columns plus the table's own
rules (value sets, negative money, ...). A bad row is a copy of a random clean row with
one defect applied, so counting rows per rule in the written files gives back exactly the
`injected` counts of the manifest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from saas_lifecycle.contract import RAW_TABLES
from saas_lifecycle.generate_columns import (
    DAY_US,
    HOUR_US,
    MINUTE_US,
    money,
    numbers,
    strings,
    timestamps,
)
from saas_lifecycle.generate_reference import (
    INVALID_BILLING_EVENT_TYPES,
    INVALID_EMAIL_EVENT_TYPES,
    INVALID_TICKET_CHANNELS,
    INVALID_TICKET_STATUSES,
    OUT_OF_RANGE_SCORES,
    UNKNOWN_CURRENCIES,
)

Mutator = Callable[[pa.Table, np.random.Generator], pa.Table]


def set_column(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), table.schema.field(name), values)


def micros(table: pa.Table, name: str) -> np.ndarray:
    """A timestamp column as int64 microseconds (clean rows have no nulls).

    Read from the buffer: Array.to_numpy() would import pandas.
    """
    values = pc.cast(table.column(name), pa.int64()).combine_chunks()
    return np.frombuffer(
        values.buffers()[1], dtype=np.int64, count=len(values), offset=8 * values.offset
    ).copy()


def _nulls(*names: str) -> Mutator:
    def mutate(table: pa.Table, rng: np.random.Generator) -> pa.Table:
        for name in names:
            table = set_column(table, name, pa.nulls(table.num_rows, table.schema.field(name).type))
        return table

    return mutate


def _one_of(name: str, values: tuple[str, ...] | tuple[int, ...]) -> Mutator:
    def mutate(table: pa.Table, rng: np.random.Generator) -> pa.Table:
        pick = rng.integers(0, len(values), table.num_rows)
        if pa.types.is_string(table.schema.field(name).type):
            return set_column(table, name, strings([str(values[i]) for i in pick]))
        return set_column(table, name, numbers(np.asarray(values)[pick]))

    return mutate


def _shift_time(name: str, base: str, low_us: int, high_us: int) -> Mutator:
    """Set `name` to `base` + a random offset in [low, high] (negative offsets go before)."""

    def mutate(table: pa.Table, rng: np.random.Generator) -> pa.Table:
        offset = rng.integers(low_us, high_us, table.num_rows)
        return set_column(table, name, timestamps(micros(table, base) + offset))

    return mutate


def _negative_money(table: pa.Table, rng: np.random.Generator) -> pa.Table:
    return set_column(table, "mrr_amount", money(-rng.integers(100, 50_000, table.num_rows)))


def _table_rules() -> dict[str, dict[str, Mutator]]:
    specific: dict[str, dict[str, Mutator]] = {
        "tracks": {
            "missing_user_and_anonymous_id": _nulls("user_id", "anonymous_id"),
            "occurred_after_received": _shift_time(
                "occurred_at", "received_at", 25 * HOUR_US, 10 * DAY_US
            ),
        },
        "billing_events": {
            "invalid_event_type": _one_of("event_type", INVALID_BILLING_EVENT_TYPES),
            "negative_mrr_amount": _negative_money,
            "unknown_currency": _one_of("currency", UNKNOWN_CURRENCIES),
        },
        "survey_responses": {"score_out_of_range": _one_of("score", OUT_OF_RANGE_SCORES)},
        "support_tickets": {
            "invalid_status": _one_of("status", INVALID_TICKET_STATUSES),
            "invalid_channel": _one_of("channel", INVALID_TICKET_CHANNELS),
            "solved_before_created": _shift_time(
                "solved_at", "created_at", -3 * DAY_US, -MINUTE_US
            ),
        },
        "email_events": {"invalid_event_type": _one_of("event_type", INVALID_EMAIL_EVENT_TYPES)},
    }
    rules: dict[str, dict[str, Mutator]] = {}
    for name, table in RAW_TABLES.items():
        rules[name] = {f"null_{c.name}": _nulls(c.name) for c in table.columns if not c.nullable}
        rules[name].update(specific.get(name, {}))
    return rules


RULES = _table_rules()


def injection_count(rate: float, rows: int, rules: int = 1) -> int:
    """Bad rows per rule: the share `rate` of the clean rows split evenly over the table's
    `rules`, at least one per rule when rate > 0 (so every kind of bad row appears)."""
    if rate <= 0 or rows == 0:
        return 0
    return max(1, round(rate * rows / rules))


def inject(
    table: pa.Table,
    table_name: str,
    rate: float,
    rng: np.random.Generator,
    fresh_ids: Callable[[int], pa.Array] | None = None,
    id_column: str | None = None,
    rows: int | None = None,
    candidates: dict[str, np.ndarray] | None = None,
) -> tuple[pa.Table, np.ndarray, dict[str, int]]:
    """Bad copies of random clean rows, per rule of the table.

    Returns the bad rows, the index of the clean row each was copied from, and the count per
    rule. Fact tables pass `fresh_ids` so a bad row does not share its id with a good row;
    CDC tables keep the entity key (a bad version of a real user, account or ticket).
    `rows` is the clean row count the rate applies to when `table` is only a random sample;
    `candidates` names the rows a rule copies (e.g. only solved tickets get solved before
    they were created).
    """
    pieces: list[pa.Table] = []
    sources: list[np.ndarray] = []
    counts: dict[str, int] = {}
    for rule, mutate in RULES[table_name].items():
        k = injection_count(rate, table.num_rows if rows is None else rows, len(RULES[table_name]))
        counts[rule] = k
        if k == 0:
            continue
        allowed = (candidates or {}).get(rule)
        if allowed is not None and allowed.size:
            source = allowed[rng.integers(0, allowed.size, k)]
        else:
            source = rng.integers(0, table.num_rows, k)
        sample = table.take(numbers(source))
        if fresh_ids is not None and id_column is not None and rule != f"null_{id_column}":
            sample = set_column(sample, id_column, fresh_ids(k))
        pieces.append(mutate(sample, rng))
        sources.append(source)
    if not pieces:
        return table.schema.empty_table(), np.zeros(0, dtype=np.int64), counts
    return pa.concat_tables(pieces), np.concatenate(sources), counts


@dataclass
class Generated:
    """A raw table as written: clean rows plus injected bad rows, with their counts."""

    table: pa.Table
    injected: dict[str, int]
    notes: dict[str, int] = field(default_factory=dict)  # not-bad oddities (duplicates, ...)


def finish(
    clean: pa.Table,
    table_name: str,
    rate: float,
    rng: np.random.Generator,
    fresh_ids: Callable[[int], pa.Array] | None = None,
    id_column: str | None = None,
    notes: dict[str, int] | None = None,
    candidates: dict[str, np.ndarray] | None = None,
) -> Generated:
    """Add the bad rows and order everything by the table's time column, as a loader would."""
    bad, _, counts = inject(
        clean, table_name, rate, rng, fresh_ids, id_column, candidates=candidates
    )
    table = pa.concat_tables([clean, bad])
    order = pc.sort_indices(table, sort_keys=[(ORDER_COLUMN[table_name], "ascending", "at_end")])
    return Generated(table.take(order), counts, notes or {})


ORDER_COLUMN = {
    "users": "updated_at",
    "accounts": "updated_at",
    "billing_events": "received_at",
    "survey_responses": "submitted_at",
    "support_tickets": "updated_at",
    "email_events": "occurred_at",
}
