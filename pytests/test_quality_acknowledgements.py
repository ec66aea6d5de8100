"""Acknowledged anomalies (quality/acknowledgements.py) and their record in the run history."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from saas_lifecycle.quality import ExpectationOutcome, LayerValidation
from saas_lifecycle.quality.acknowledgements import (
    AcknowledgementError,
    Ledger,
    batch_date,
    load,
    parse,
)
from saas_lifecycle.quality.history import previous_daily_volumes, record_run
from saas_lifecycle.quality.validate import format_report
from saas_lifecycle.settings import REPO_ROOT

GAP = "tracks.daily_volume.gap"


def gap_failure(*days: str) -> ExpectationOutcome:
    return ExpectationOutcome(
        layer="raw",
        expectation=GAP,
        severity="error",
        success=False,
        observed_value=f"{len(days)} received day(s) ...",
        relation="tracks",
        dates=days,
    )


def raw_validation(*outcomes: ExpectationOutcome) -> LayerValidation:
    return LayerValidation(
        "raw", list(outcomes), daily_volumes={"tracks": {"2025-03-01": 0, "2025-03-02": 400}}
    )


ENTRIES = {
    "acknowledgements": [
        {
            "expectation": GAP,
            "from": date(2025, 3, 1),
            "to": "2025-03-01",
            "reason": "CDN outage (INC-1)",
            "author": "jane",
        },
        {
            "expectation": "support_tickets.*",
            "batch": "2025-03-02",
            "reason": "test rows in the export",
            "author": "ops",
        },
        {"expectation": "never.*", "batch": "2030-01-01", "reason": "stale", "author": "bob"},
    ]
}


def test_the_repository_file_is_valid() -> None:
    assert load(REPO_ROOT / "acknowledgements.yml") == []


def test_a_gap_inside_the_range_is_acknowledged_and_no_longer_blocks() -> None:
    ledger = Ledger(parse(ENTRIES))
    validation = raw_validation(gap_failure("2025-03-01"))
    ledger.apply(validation, batch_date(validation))
    (outcome,) = validation.outcomes
    assert outcome.acknowledged == "CDN outage (INC-1) (jane)"
    assert validation.blocking_failures == [] and validation.warnings == [outcome]
    assert "ACKNOWLEDGED [raw] tracks.daily_volume.gap" in format_report([validation])
    assert [entry.expectation for entry in ledger.unmatched()] == ["support_tickets.*", "never.*"]


def test_a_gap_partly_outside_the_range_still_blocks() -> None:
    ledger = Ledger(parse(ENTRIES))
    validation = raw_validation(gap_failure("2025-03-01", "2025-03-05"))
    ledger.apply(validation, None)
    assert [o.expectation for o in validation.blocking_failures] == [GAP]
    assert len(ledger.unmatched()) == 3


def test_a_batch_entry_matches_the_run_whose_newest_received_day_it_names() -> None:
    ticket_failure = ExpectationOutcome(
        layer="staging",
        expectation="support_tickets.quarantined_share",
        severity="error",
        success=False,
        observed_value="40 of 82",
        relation="support_tickets",
    )
    for batch, acknowledged in ((date(2025, 3, 2), True), (date(2025, 3, 3), False)):
        staging = LayerValidation("staging", [ticket_failure])
        Ledger(parse(ENTRIES)).apply(staging, batch)
        assert (staging.blocking_failures == []) is acknowledged


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected one key `acknowledgements`"),
        ({"acknowledgements": {"a": 1}}, "must be a list"),
        ({"acknowledgements": ["x"]}, "entry 1: must be a mapping"),
        ({"acknowledgements": [{"expectation": GAP, "batch": "2025-01-01", "reason": "r"}]},
         "entry 1: `author` must be a non-empty text"),
        ({"acknowledgements": [{"expectation": GAP, "reason": "r", "author": "a"}]},
         "either `from` and `to` (dates) or `batch`"),
        ({"acknowledgements": [{"expectation": GAP, "reason": "r", "author": "a",
                                "batch": "2025-01-01", "from": "2025-01-01"}]},
         "either `from` and `to`"),
        ({"acknowledgements": [{"expectation": GAP, "reason": "r", "author": "a",
                                "from": "2025-01-05", "to": "2025-01-01"}]},
         "`to` 2025-01-01 is before `from` 2025-01-05"),
        ({"acknowledgements": [{"expectation": GAP, "reason": "r", "author": "a",
                                "batch": "yesterday"}]},
         "`batch` must be a YYYY-MM-DD date, got 'yesterday'"),
        ({"acknowledgements": [{"expectation": GAP, "reason": "r", "author": "a",
                                "batch": "2025-01-01", "until": "x"}]},
         "unknown key(s) until"),
    ],
)  # fmt: skip
def test_a_malformed_file_is_a_clear_error(document: object, message: str) -> None:
    with pytest.raises(AcknowledgementError) as error:
        parse(document, "acks.yml")
    assert message in str(error.value) and str(error.value).startswith("acks.yml")


def test_invalid_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "acks.yml"
    path.write_text("acknowledgements: [\n")
    with pytest.raises(AcknowledgementError, match="acks.yml: not valid YAML"):
        load(path)


def test_the_history_records_acknowledgements_days_and_relations(tmp_path: Path) -> None:
    audit = tmp_path / "run.audit.duckdb"
    ledger = Ledger(parse(ENTRIES))
    validation = raw_validation(gap_failure("2025-03-01"))
    ledger.apply(validation, batch_date(validation))
    now = datetime(2025, 3, 3, tzinfo=UTC)
    record_run(audit, "r1", now, now, "success", [validation], {"tracks": 400}, ledger.matches())
    with duckdb.connect(str(audit), read_only=True) as con:
        assert con.execute(
            "select expectation, relation, dates, acknowledged from audit.validation_results"
        ).fetchall() == [(GAP, "tracks", "2025-03-01", "CDN outage (INC-1) (jane)")]
        assert con.execute(
            "select expectation, matched from audit.acknowledgements order by expectation"
        ).fetchall() == [("never.*", 0), ("support_tickets.*", 0), (GAP, 1)]
    # The batch's per-day counts are the next runs' history; a failed run's are not.
    later = raw_validation()
    later.daily_volumes["tracks"] = {"2025-03-02": 999}
    record_run(audit, "r2", now, now, "failed", [later], {})
    assert previous_daily_volumes(audit, "tracks") == {"2025-03-01": 0, "2025-03-02": 400}
    assert previous_daily_volumes(audit, "tracks", before=date(2025, 3, 2)) == {"2025-03-01": 0}
