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
