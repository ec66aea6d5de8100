"""Data-quality gates: Great Expectations suites for the raw, staging and marts layers.

The interface the guarded run (runner.py) uses; the implementation lives in the modules of
this package. Row-level checks run in DuckDB SQL and only small frames (profiles,
aggregates, samples) reach pandas and Great Expectations, so memory stays bounded whatever
the size of the raw data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Layer = Literal["raw", "staging", "marts"]
Severity = Literal["error", "warn"]
LAYERS: tuple[Layer, ...] = ("raw", "staging", "marts")


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one expectation of one layer's suite."""

    layer: Layer
    expectation: str  # stable name, e.g. "tracks.event_id.null_share"
    severity: Severity  # error blocks the run, warn is reported
    success: bool
    observed_value: str  # human-readable, e.g. "0.0031 (max 0.001)"
    sample_failing_rows: list[dict[str, Any]] = field(default_factory=list)  # at most 5
    # What it judges: a raw table (tracks) or a dbt model (stg_product__tracks, dim_users);
    # "" when unknown. impact.held_back_marts maps it to the marts it feeds.
    relation: str = ""
    # The days (YYYY-MM-DD) a failure is about, when it is about days (a gap day).
    dates: tuple[str, ...] = ()
    # "<reason> (<author>)" when an operator acknowledged this failure (acknowledgements.py):
    # it then publishes as a warning instead of blocking.
    acknowledged: str | None = None

    @property
    def blocks(self) -> bool:
        return self.severity == "error" and not self.success and self.acknowledged is None


@dataclass(frozen=True)
class LayerValidation:
    """Every outcome of one layer's suite."""

    layer: Layer
    outcomes: list[ExpectationOutcome]
    # Raw layer: received day -> rows of tracks in the batch this run scanned; recorded in
    # the audit tables so later runs judge their batch against them without re-reading.
    daily_volumes: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.blocks]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        """Failed warn expectations, and acknowledged error ones."""
        return [o for o in self.outcomes if not o.success and not o.blocks]

    @property
    def acknowledged(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.acknowledged is not None]
