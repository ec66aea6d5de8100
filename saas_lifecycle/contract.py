"""The raw data contract (../shared/RAW_CONTRACT.md) as data.

One place that the generator, the schema check and the tests read. The dbt sources
(`models/staging/*/_*__sources.yml`) document the same columns; a test keeps the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(18, 2)


@dataclass(frozen=True)
class Column:
    name: str
    arrow_type: pa.DataType
    nullable: bool


@dataclass(frozen=True)
class RawTable:
    name: str
    source: str
    required: bool
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns]
        )


def _cols(*specs: tuple[str, pa.DataType, bool]) -> tuple[Column, ...]:
    return tuple(Column(name, arrow_type, nullable) for name, arrow_type, nullable in specs)


S, INT, T = pa.string(), pa.int64(), TIMESTAMP

RAW_TABLES: dict[str, RawTable] = {
    t.name: t
    for t in (
        RawTable(
            "tracks",
            "product",
            True,
            _cols(
                ("event_id", S, False),
                ("anonymous_id", S, True),
                ("user_id", S, True),
                ("event_name", S, False),
                ("occurred_at", T, False),
                ("received_at", T, False),
                ("platform", S, True),
                ("utm_source", S, True),
                ("utm_medium", S, True),
                ("utm_campaign", S, True),
                ("properties", S, True),
            ),
        ),
        RawTable(
            "users",
            "app",
            True,
            _cols(
                ("user_id", S, False),
                ("account_id", S, False),
                ("email", S, True),
                ("role", S, True),
                ("created_at", T, False),
                ("updated_at", T, False),
                ("deleted_at", T, True),
            ),
        ),
        RawTable(
            "accounts",
            "app",
            True,
            _cols(
                ("account_id", S, False),
                ("account_name", S, True),
                ("company_size", INT, True),
                ("industry", S, True),
                ("created_at", T, False),
                ("updated_at", T, False),
            ),
        ),
        RawTable(
            "billing_events",
            "billing",
            False,
            _cols(
                ("billing_event_id", S, False),
                ("account_id", S, False),
                ("subscription_id", S, False),
                ("event_type", S, False),
                ("plan_id", S, True),
                ("mrr_amount", MONEY, False),
                ("currency", S, False),
                ("occurred_at", T, False),
                ("received_at", T, False),
            ),
        ),
        RawTable(
            "survey_responses",
            "surveys",
            False,
            _cols(
                ("response_id", S, False),
                ("user_id", S, False),
                ("survey_type", S, False),
                ("score", INT, True),
                ("comment", S, True),
                ("submitted_at", T, False),
            ),
        ),
        RawTable(
            "support_tickets",
            "support",
            False,
            _cols(
                ("ticket_id", S, False),
                ("user_id", S, False),
                ("channel", S, True),
                ("topic", S, True),
                ("status", S, False),
                ("created_at", T, False),
                ("first_response_at", T, True),
                ("solved_at", T, True),
                ("updated_at", T, False),
            ),
        ),
        RawTable(
            "email_events",
            "email",
            False,
            _cols(
                ("email_event_id", S, False),
                ("user_id", S, False),
                ("campaign_id", S, False),
                ("campaign_name", S, True),
                ("event_type", S, False),
                ("occurred_at", T, False),
            ),
        ),
    )
}

REQUIRED_TABLES = [name for name, t in RAW_TABLES.items() if t.required]
OPTIONAL_TABLES = [name for name, t in RAW_TABLES.items() if not t.required]

# Value sets whose violation sends a row to quarantine (METRICS.md, precise reading 2).
BILLING_EVENT_TYPES = (
    "trial_started",
    "subscription_started",
    "plan_changed",
    "subscription_canceled",
    "subscription_reactivated",
    "payment_failed",
)
TICKET_STATUSES = ("new", "open", "pending", "solved", "closed")
TICKET_CHANNELS = ("email", "chat", "phone", "web")
EMAIL_EVENT_TYPES = ("delivered", "opened", "clicked", "bounced", "unsubscribed")
PLATFORMS = ("web", "ios", "android", "api")
ROLES = ("owner", "admin", "member")
