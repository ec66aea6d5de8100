"""Reference data for the synthetic generator: the dbt seeds plus the generator's vocabularies.

The seeds (`seeds/*.csv`) are read at run time so the generated data always matches what
the project ships: event names, plans and currencies come from there. The rest (utm
values per channel, campaigns, industries, ...) is the generator's own vocabulary.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parents[1] / "seeds"

# Behavioural roles the generator gives to specific taxonomy events; each must be in the seed.
SESSION_EVENT = "session_started"
PAGE_VIEW_EVENT = "page_viewed"
NOTIFICATION_EVENT = "notification_received"
SIGNUP_EVENT = "account_created"
VALUE_EVENT = "invoice_sent"
DRAFT_EVENT = "invoice_created"  # what a user does instead of sending before their aha moment
INTEGRATION_EVENT = "integration_connected"
PASSWORD_RESET_EVENT = "password_reset_requested"
HELP_EVENT = "help_article_viewed"
CHAT_EVENT = "support_chat_opened"

ACTIVATION_EVENTS = ("workspace_configured", "profile_completed")  # METRICS.md default

# Deliberately unknown names (an old client version, a beta feature): not bad rows.
UNKNOWN_EVENT_NAMES = ("legacy_export_clicked", "beta_ai_assistant_opened", "dark_mode_toggled")

# Relative frequency of each core feature among a user's core events; unlisted features
# added to the seed later get DEFAULT_FEATURE_WEIGHT.
FEATURE_WEIGHTS = {
    "invoice_created": 2.0,
    "client_added": 1.0,
    "payment_recorded": 1.4,
    "expense_logged": 1.5,
    "time_tracked": 2.4,
    "estimate_sent": 0.5,
    "report_exported": 0.35,
    # integration_connected is emitted once at adoption, not drawn daily (see tracks).
    INTEGRATION_EVENT: 0.0,
}
DEFAULT_FEATURE_WEIGHT = 0.5
# Share of users who ever adopt each feature (before the quality adjustment).
FEATURE_ADOPTION = {
    "invoice_created": 0.92,
    "client_added": 0.9,
    "payment_recorded": 0.6,
    "expense_logged": 0.5,
    "time_tracked": 0.4,
    "estimate_sent": 0.3,
    "report_exported": 0.25,
    INTEGRATION_EVENT: 0.2,
}
DEFAULT_FEATURE_ADOPTION = 0.3

# First-touch channels. `direct` carries no utm at all; `other` is a source that no rule of
# channel_mapping matches. Shares are of account owners; quality shifts the chance to reach
# value and to stay (referral and organic best, paid social and paid search worst).
CHANNELS = (
    "organic_search",
    "paid_search",
    "social",
    "referral",
    "email",
    "partner",
    "direct",
    "other",
)
CHANNEL_SHARE = (0.24, 0.18, 0.14, 0.10, 0.07, 0.07, 0.18, 0.02)
CHANNEL_QUALITY = (0.45, -0.45, -0.6, 0.7, 0.1, 0.3, 0.0, -0.2)
DIRECT = CHANNELS.index("direct")
EMAIL = CHANNELS.index("email")

# (utm_source, utm_medium) pairs per channel; each maps to its channel through the seed's
# first-matching rule (a test checks it). A few sources have odd case or spaces, as real
# links do: channel_mapping matches lower-cased, trimmed values.
UTM_PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    "organic_search": (
        ("google", "organic"),
        ("bing", "organic"),
        ("duckduckgo", "organic"),
        ("Google", "organic"),
    ),
    "paid_search": (
        ("google", "cpc"),
        ("bing", "cpc"),
        ("google", "ppc"),
        ("google", "paid_search"),
    ),
    "social": (
        ("facebook", "paid_social"),
        ("linkedin", "paid_social"),
        ("twitter", "social"),
        ("LinkedIn ", "social"),
    ),
    "referral": (("producthunt", "referral"), ("g2", "referral"), ("capterra", "referral")),
    "email": (("newsletter", "email"), ("hubspot", "email"), ("app_invite", "email")),
    "partner": (("xero_marketplace", "partner"), ("accountant_network", "affiliate")),
    "direct": (("(direct)", "(none)"),),
    "other": (("podcast_freelance_weekly", "audio"), ("chatgpt.com", "(none)")),
}
CAMPAIGNS: dict[str, tuple[str, ...]] = {
    "organic_search": ("seo_invoice_templates", "seo_freelancer_guides", "seo_blog"),
    "paid_search": ("brand_search", "competitor_keywords", "invoice_software_generic"),
    "social": ("fb_lookalike_q1", "linkedin_smb_owners", "twitter_launch_thread"),
    "referral": ("producthunt_launch", "g2_reviews", "customer_referral_program"),
    "email": ("newsletter_weekly", "reengagement_drip", "teammate_invite"),
    "partner": ("xero_app_store", "accountant_partner_program"),
    "direct": ("(not set)",),
    "other": ("podcast_sponsorship", "ai_answer"),
}
# Invited teammates mostly arrive through the invite link (no utm) or the invite email.
INVITE_SOURCE, INVITE_MEDIUM, INVITE_CAMPAIGN = "app_invite", "email", "teammate_invite"

PAGE_PATHS = (
    "/",
    "/pricing",
    "/features/invoicing",
    "/features/expenses",
    "/blog/how-to-invoice-a-client",
    "/templates/invoice",
    "/signup",
    "/customers",
)
APP_PATHS = ("/app/dashboard", "/app/invoices", "/app/clients", "/app/reports", "/app/settings")

PERSONAS = ("solo", "smb", "enterprise")
PERSONA_SHARE = (0.5, 0.42, 0.08)
INDUSTRIES = (
    "accounting",
    "agency",
    "construction",
    "consulting",
    "ecommerce",
    "healthcare",
    "legal",
    "manufacturing",
    "nonprofit",
    "real_estate",
    "retail",
    "software",
)
NAME_WORDS_A = ("Blue", "North", "Bright", "Silver", "Oak", "Summit", "Harbor", "Maple", "Nova")
NAME_WORDS_B = ("Studio", "Partners", "Works", "Labs", "Consulting", "Builders", "Group", "Co")
FIRST_NAMES = ("ana", "ben", "chloe", "david", "emma", "felix", "grace", "hugo", "ines", "jack")
LAST_NAMES = ("garcia", "smith", "muller", "rossi", "martin", "kim", "silva", "novak", "brown")

CURRENCY_SHARE = {"USD": 0.68, "EUR": 0.14, "GBP": 0.09, "CAD": 0.05, "AUD": 0.04}
UNKNOWN_CURRENCIES = ("JPY", "XXX", "CHF")

TICKET_TOPICS = ("billing", "bug_report", "how_to", "account_access", "integrations", "feature")
TICKET_CHANNEL_SHARE = {"email": 0.4, "chat": 0.35, "web": 0.2, "phone": 0.05}

SURVEY_COMMENTS = {
    "detractor": ("Too expensive for what it does", "Sync keeps failing", "Hard to set up"),
    "passive": ("Does the job", "Reports could be better", "Good, a bit slow"),
    "promoter": ("Love how fast invoicing is", "Saves me hours every week", "Great support"),
}

# Bad values that land in quarantine (each breaks exactly one rule).
INVALID_BILLING_EVENT_TYPES = ("subscription_paused", "refund_issued", "invoice_paid")
INVALID_TICKET_STATUSES = ("escalated", "on_hold", "reopened")
INVALID_TICKET_CHANNELS = ("sms", "fax", "twitter")
INVALID_EMAIL_EVENT_TYPES = ("complained", "dropped", "deferred")
OUT_OF_RANGE_SCORES = (11, -1, 12, 100)


@dataclass(frozen=True)
class Plan:
    plan_id: str
    tier: str
    interval: str
    price_cents: int  # list price per month, yearly plans already divided by 12


@dataclass(frozen=True)
class Reference:
    """The seeds as the generator needs them."""

    event_names: tuple[str, ...]
    categories: dict[str, str]
    onboarding_steps: tuple[str, ...]  # in onboarding_step_order
    core_features: tuple[str, ...]
    plans: tuple[Plan, ...]
    currencies: tuple[str, ...]


def _read_csv(name: str) -> list[dict[str, str]]:
    with (SEEDS_DIR / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@cache
def load_reference() -> Reference:
    """Read the seeds once per process and check the events the generator relies on exist."""
    taxonomy = _read_csv("event_taxonomy.csv")
    names = tuple(row["event_name"] for row in taxonomy)
    categories = {row["event_name"]: row["category"] for row in taxonomy}
    steps = sorted(
        (int(row["onboarding_step_order"]), row["event_name"])
        for row in taxonomy
        if row["onboarding_step_order"].strip()
    )
    roles = (
        *ACTIVATION_EVENTS,
        SESSION_EVENT,
        PAGE_VIEW_EVENT,
        NOTIFICATION_EVENT,
        SIGNUP_EVENT,
        VALUE_EVENT,
        DRAFT_EVENT,
        INTEGRATION_EVENT,
        PASSWORD_RESET_EVENT,
        HELP_EVENT,
        CHAT_EVENT,
    )
    missing = [name for name in roles if name not in categories]
    if missing:
        raise ValueError(f"seeds/event_taxonomy.csv lacks events the generator needs: {missing}")
    if not steps or steps[0][1] != SIGNUP_EVENT:
        raise ValueError(f"the first onboarding step must be {SIGNUP_EVENT}")
    plans = tuple(
        Plan(
            row["plan_id"],
            row["tier"],
            row["billing_interval"],
            round(float(row["list_price_per_month"]) * 100),
        )
        for row in _read_csv("plans.csv")
    )
    currencies = tuple(row["currency"] for row in _read_csv("fx_rates.csv"))
    return Reference(
        event_names=names,
        categories=categories,
        onboarding_steps=tuple(name for _, name in steps),
        core_features=tuple(n for n in names if categories[n] == "core_feature"),
        plans=plans,
        currencies=currencies,
    )
