"""Shared pytest configuration."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers that pyproject.toml does not list."""
    config.addinivalue_line(
        "markers",
        "spark: builds on a local Spark (dbt-spark session method, needs Java); deselect"
        " with -m 'not spark'",
    )


# The longest files first (measured with --durations), so that with pytest-xdist
# (`--dist loadfile`, scripts/test.sh) the last files to start are short ones and the
# workers finish together. Files not listed keep their order after these.
LONGEST_FIRST = (
    "test_spark_equivalence.py",
    "test_quality_gates_e2e.py",
    "test_marts_e2e.py",
    "test_orchestration.py",
    "test_incremental.py",
    "test_run_e2e.py",
    "test_report.py",
    "test_semantic_layer.py",
    "test_dbt_docs.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order the files longest first (a stable sort: tests keep their order in a file)."""

    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)
