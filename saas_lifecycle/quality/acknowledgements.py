"""Acknowledged anomalies: a reviewed file lets an operator turn a known failure into a warning.

The file is `acknowledgements.yml` at the repository root (reviewed like code; another path
with $LIFECYCLE_ACKNOWLEDGEMENTS). Shape:

    acknowledgements:
      - expectation: tracks.daily_volume.gap   # exact name, or a pattern with * and ?
        from: 2025-03-01                        # a date range: every day the failure is
        to: 2025-03-02                          # about lies in [from, to] (gap days)...
        reason: CDN outage, events lost upstream (INC-1234)
        author: jane.doe
      - expectation: support_tickets.quarantined_share
        batch: 2025-03-02                       # ...or a batch: the run whose newest
        reason: ticket export sent test rows     # received day of tracks is this date
        author: ops-oncall

A blocking failure an entry matches publishes as an acknowledged warning: it is reported,
recorded in the run history with the reason and the author, and shown in the Data Docs. An
entry that matches nothing in a run is reported (and recorded with 0 matches), so stale
entries get noticed and removed.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from saas_lifecycle import settings
from saas_lifecycle.quality import LayerValidation

ENV_ACKNOWLEDGEMENTS = "LIFECYCLE_ACKNOWLEDGEMENTS"
DEFAULT_PATH = settings.REPO_ROOT / "acknowledgements.yml"
KEYS = frozenset({"expectation", "from", "to", "batch", "reason", "author"})


class AcknowledgementError(ValueError):
    """The acknowledgements file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Acknowledgement:
    """One reviewed entry of the file."""

    expectation: str
    reason: str
    author: str
    date_from: date | None = None
    date_to: date | None = None
    batch: date | None = None

    def label(self) -> str:
        scope = f"batch {self.batch}" if self.batch else f"days {self.date_from} to {self.date_to}"
        return f"{self.expectation} for {scope}"

    def note(self) -> str:
        return f"{self.reason} ({self.author})"

    def matches(self, expectation: str, dates: Sequence[str], batch: date | None) -> bool:
        if not fnmatch.fnmatchcase(expectation, self.expectation):
            return False
        if self.batch is not None:
            return batch == self.batch
        if not dates or self.date_from is None or self.date_to is None:
            return False
        days = [date.fromisoformat(d) for d in dates]
        return all(self.date_from <= d <= self.date_to for d in days)


def default_path() -> Path:
    return Path(os.environ.get(ENV_ACKNOWLEDGEMENTS) or DEFAULT_PATH)


def load(path: Path | None = None) -> list[Acknowledgement]:
    """The entries of the file ([] when it does not exist); AcknowledgementError if malformed."""
    path = Path(path) if path is not None else default_path()
    if not path.exists():
        return []
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise AcknowledgementError(f"{path}: not valid YAML ({problem})") from exc
    return parse(document, str(path))


def parse(document: Any, where: str = "acknowledgements") -> list[Acknowledgement]:
    """Check the shape of a loaded document and return its entries."""
    if document is None:
        return []
    if not isinstance(document, Mapping) or set(document) - {"acknowledgements"}:
        raise AcknowledgementError(
            f"{where}: expected one key `acknowledgements` holding a list of entries"
        )
    entries = document.get("acknowledgements") or []
    if not isinstance(entries, list):
        raise AcknowledgementError(f"{where}: `acknowledgements` must be a list of entries")
    return [_entry(item, f"{where}: entry {i}") for i, item in enumerate(entries, start=1)]


def _entry(item: Any, where: str) -> Acknowledgement:
    if not isinstance(item, Mapping):
        raise AcknowledgementError(f"{where}: must be a mapping with expectation, reason, author")
    unknown = sorted(str(k) for k in set(item) - KEYS)
    if unknown:
        raise AcknowledgementError(
            f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(KEYS))})"
        )
    texts = {}
    for key in ("expectation", "reason", "author"):
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            raise AcknowledgementError(f"{where}: `{key}` must be a non-empty text")
        texts[key] = value.strip()
    has_range = "from" in item or "to" in item
    if has_range == ("batch" in item):
        raise AcknowledgementError(f"{where}: give either `from` and `to` (dates) or `batch`")
    if "batch" in item:
        return Acknowledgement(**texts, batch=_date(item["batch"], f"{where}: `batch`"))
    start = _date(item.get("from"), f"{where}: `from`")
    end = _date(item.get("to"), f"{where}: `to`")
    if end < start:
        raise AcknowledgementError(f"{where}: `to` {end} is before `from` {start}")
    return Acknowledgement(**texts, date_from=start, date_to=end)


def _date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise AcknowledgementError(f"{where} must be a YYYY-MM-DD date, got {value!r}") from None


class Ledger:
    """The acknowledgements of one run and how many failures each turned into a warning."""

    def __init__(self, entries: Sequence[Acknowledgement]) -> None:
        self.entries = list(entries)
        self.matched = [0] * len(self.entries)

    def apply(self, validation: LayerValidation, batch: date | None) -> None:
        """Mark the blocking failures an entry matches as acknowledged, in place (the
        validation keeps its identity: its Great Expectations results are keyed by it)."""
        for index, outcome in enumerate(validation.outcomes):
            if not outcome.blocks:
                continue
            for number, entry in enumerate(self.entries):
                if entry.matches(outcome.expectation, outcome.dates, batch):
                    validation.outcomes[index] = replace(outcome, acknowledged=entry.note())
                    self.matched[number] += 1
                    break

    def matches(self) -> list[tuple[Acknowledgement, int]]:
        return list(zip(self.entries, self.matched, strict=True))

    def unmatched(self) -> list[Acknowledgement]:
        return [entry for entry, n in self.matches() if n == 0]


def batch_date(validation: LayerValidation) -> date | None:
    """A run's batch: the newest received day of tracks its raw validation scanned."""
    days = validation.daily_volumes.get("tracks") or {}
    return date.fromisoformat(max(days)) if days else None
