"""Which marts a blocking failure holds back (quality/impact.py), on a hand-made manifest."""

from __future__ import annotations

from typing import Any

from saas_lifecycle.quality import ExpectationOutcome, LayerValidation
from saas_lifecycle.quality.impact import held_back_marts


def model(name: str, schema: str) -> dict[str, Any]:
    return {"resource_type": "model", "name": name, "alias": name, "config": {"schema": schema}}


def source(table: str) -> dict[str, Any]:
    return {"resource_type": "source", "name": table, "identifier": table}


# tracks -> base -> stg -> int_activity -> {active_users_daily, customer_health}
# support_tickets -> base -> stg -> {support_weekly, customer_health}
# billing_events -> stg -> mrr_movements_monthly
MANIFEST: dict[str, Any] = {
    "sources": {
        "source.p.product.tracks": source("tracks"),
        "source.p.support.support_tickets": source("support_tickets"),
        "source.p.billing.billing_events": source("billing_events"),
    },
    "nodes": {
        "model.p.base_product__tracks": model("base_product__tracks", "staging"),
        "model.p.stg_product__tracks": model("stg_product__tracks", "staging"),
        "model.p.int_activity": model("int_activity", "intermediate"),
        "model.p.active_users_daily": model("active_users_daily", "marts"),
        "model.p.customer_health": model("customer_health", "marts"),
        "model.p.base_support__support_tickets": model("base_support__support_tickets", "staging"),
        "model.p.stg_support__ticket_versions": model("stg_support__ticket_versions", "staging"),
        "model.p.support_weekly": model("support_weekly", "marts"),
        "model.p.stg_billing__billing_events": model("stg_billing__billing_events", "staging"),
        "model.p.mrr_movements_monthly": model("mrr_movements_monthly", "marts"),
        "test.p.not_null_x": {"resource_type": "test", "name": "not_null_x", "config": {}},
    },
    "child_map": {
        "source.p.product.tracks": ["model.p.base_product__tracks"],
        "model.p.base_product__tracks": ["model.p.stg_product__tracks"],
        "model.p.stg_product__tracks": ["model.p.int_activity", "test.p.not_null_x"],
        "model.p.int_activity": ["model.p.active_users_daily", "model.p.customer_health"],
        "source.p.support.support_tickets": ["model.p.base_support__support_tickets"],
        "model.p.base_support__support_tickets": ["model.p.stg_support__ticket_versions"],
        "model.p.stg_support__ticket_versions": [
            "model.p.support_weekly",
            "model.p.customer_health",
        ],
        "source.p.billing.billing_events": ["model.p.stg_billing__billing_events"],
        "model.p.stg_billing__billing_events": ["model.p.mrr_movements_monthly"],
        "model.p.active_users_daily": [],
        "model.p.customer_health": [],
        "model.p.support_weekly": [],
        "model.p.mrr_movements_monthly": [],
    },
}
ALL_MARTS = {"active_users_daily", "customer_health", "support_weekly", "mrr_movements_monthly"}


def failure(
    layer: str, name: str, relation: str, severity: str = "error", success: bool = False
) -> ExpectationOutcome:
    return ExpectationOutcome(
        layer=layer,  # type: ignore[arg-type]
        expectation=name,
        severity=severity,  # type: ignore[arg-type]
        success=success,
        observed_value="x",
        relation=relation,
    )


def layers(*outcomes: ExpectationOutcome) -> list[LayerValidation]:
    by_layer: dict[str, list[ExpectationOutcome]] = {}
    for o in outcomes:
        by_layer.setdefault(o.layer, []).append(o)
    return [LayerValidation(layer, found) for layer, found in by_layer.items()]  # type: ignore[arg-type]


def test_a_raw_table_failure_holds_back_only_the_marts_that_read_it() -> None:
    held = held_back_marts(
        layers(failure("staging", "support_tickets.quarantined_share", "support_tickets")),
        MANIFEST,
    )
    assert held == {
        "support_weekly": "support_tickets.quarantined_share",
        "customer_health": "support_tickets.quarantined_share",
    }


def test_the_first_blocking_expectation_names_a_mart_held_back_twice() -> None:
    held = held_back_marts(
        layers(
            failure("raw", "tracks.daily_volume.gap", "tracks"),
            failure("staging", "support_tickets.quarantined_share", "support_tickets"),
        ),
        MANIFEST,
    )
    assert held == {
        "active_users_daily": "tracks.daily_volume.gap",
        "customer_health": "tracks.daily_volume.gap",
        "support_weekly": "support_tickets.quarantined_share",
    }


def test_a_model_failure_walks_from_the_model_and_a_mart_failure_holds_itself() -> None:
    held = held_back_marts(
        layers(
            failure("staging", "stg_billing__billing_events.billing_event_id.unique",
                    "stg_billing__billing_events"),
            failure("marts", "support_weekly.rates_in_0_1", "support_weekly"),
        ),
        MANIFEST,
    )  # fmt: skip
    assert held == {
        "mrr_movements_monthly": "stg_billing__billing_events.billing_event_id.unique",
        "support_weekly": "support_weekly.rates_in_0_1",
    }


def test_unattributable_failures_hold_back_every_mart() -> None:
    for relation in ("", "no_such_relation"):
        held = held_back_marts(layers(failure("raw", "mystery.check", relation)), MANIFEST)
        assert held == dict.fromkeys(ALL_MARTS, "mystery.check")


def test_warnings_passes_and_acknowledged_failures_hold_back_nothing() -> None:
    acknowledged = ExpectationOutcome(
        layer="raw",
        expectation="tracks.daily_volume.gap",
        severity="error",
        success=False,
        observed_value="x",
        relation="tracks",
        acknowledged="outage on 2025-03-01 (ops)",
    )
    held = held_back_marts(
        layers(
            failure("raw", "tracks.latency", "tracks", severity="warn"),
            failure("raw", "tracks.has_rows", "tracks", success=True),
            acknowledged,
        ),
        MANIFEST,
    )
    assert held == {}
