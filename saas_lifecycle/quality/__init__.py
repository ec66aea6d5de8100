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

    @property
    def blocks(self) -> bool:
        return self.severity == "error" and not self.success


@dataclass(frozen=True)
class LayerValidation:
    """Every outcome of one layer's suite."""

    layer: Layer
    outcomes: list[ExpectationOutcome]

    @property
    def blocking_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.blocks]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.severity == "warn" and not o.success]
