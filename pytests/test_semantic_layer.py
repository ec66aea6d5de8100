"""The MetricFlow semantic layer: its configs validate, and its KPIs equal the marts.

`mf` reads the semantic manifest from `<project>/target/` whatever DBT_TARGET_PATH says, so
the test builds a copy of the dbt project in its tmp dir (with its own target/, logs/ and
DuckDB file) and runs `mf` there, never touching the repository's own artefacts.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import duckdb
import pytest

from saas_lifecycle import settings

TINY = {"users": 200, "days": 75, "seed": 5, "start": date(2025, 1, 1)}
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests")
TIMEOUT_SECONDS = 600
BIN = Path(sys.executable).parent
# MetricFlow divides in double precision, the marts in DuckDB's own order of operations.
TOLERANCE = 1e-9


def run(args: list[str], project: Path) -> subprocess.CompletedProcess[str]:
    """A dbt or mf command in the project copy; fails the test with its output on error."""
    done = subprocess.run(
        args,
        cwd=project,
        env={**os.environ, **project_environ(project)},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done


def project_environ(project: Path) -> dict[str, str]:
    return {
        "DBT_PROFILES_DIR": str(project),
        settings.ENV_RAW_DIR: str(project / "raw"),
        settings.ENV_TARGET: settings.DEFAULT_TARGET,
        settings.ENV_STATE_DATABASE: str(project / "lifecycle.duckdb"),
        settings.ENV_DUCKDB_TEMP_DIR: str(project / "duckdb_tmp"),
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the dbt project with every seed and model built on a tiny dataset."""
    from saas_lifecycle.generate import generate

    copy = tmp_path_factory.mktemp("semantic")
    for name in PROJECT_FILES:
        source = settings.REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        else:
            shutil.copy2(source, copy / name)
    generate(copy / "raw", **TINY)
    # Models and seeds only: the data tests run in the other end-to-end tests.
    run([str(BIN / "dbt"), "build", "--resource-type", "seed", "--resource-type", "model"], copy)
    return copy


def mf_query(project: Path, metrics: list[str], grain: str) -> dict[date, dict[str, float | None]]:
    """`mf query` by metric_time at `grain`, as {period start: {metric: value}}."""
    out = project / f"query_{grain}.csv"
    run(
        [
            str(BIN / "mf"),
            "query",
            "--metrics",
            ",".join(metrics),
            "--group-by",
            f"metric_time__{grain}",
            "--csv",
            str(out),
        ],
        project,
    )
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        date.fromisoformat(row[f"metric_time__{grain}"][:10]): {
            metric: float(row[metric]) if row[metric] != "" else None for metric in metrics
        }
        for row in rows
    }


def mart_rows(project: Path, sql: str) -> dict[date, dict[str, float | None]]:
    """{period start: {column: value}} of a query whose first column is the period."""
    with duckdb.connect(str(project / "lifecycle.duckdb"), read_only=True) as con:
        cursor = con.execute(sql)
        names = [column[0] for column in cursor.description]
        return {
            row[0]: {
                n: None if v is None else float(v) for n, v in zip(names[1:], row[1:], strict=True)
            }
            for row in cursor.fetchall()
        }


def assert_same(
    semantic: Mapping[date, Mapping[str, float | None]],
    mart: Mapping[date, Mapping[str, float | None]],
    columns: Mapping[str, str],
) -> None:
    """Every metric equals its mart column on every period of the mart."""
    assert mart, "the mart is empty: nothing to compare"
    for period, values in mart.items():
        assert period in semantic, f"{period} missing from the mf query"
        for metric, column in columns.items():
            got, want = semantic[period][metric], values[column]
            if want is None:
                assert got is None, f"{metric} on {period}: {got}, mart {column} is null"
            else:
                assert got is not None and math.isclose(got, want, rel_tol=TOLERANCE), (
                    f"{metric} on {period}: {got} != mart {column} {want}"
                )


@pytest.mark.e2e
def test_validate_configs_passes_with_warehouse_checks(project: Path) -> None:
    done = run([str(BIN / "mf"), "validate-configs"], project)
    # Semantics first, then every semantic model, dimension, entity, measure and metric is
    # queried on the built warehouse.
    assert "Successfully validated the semantics of built manifest" in done.stdout
    assert "Successfully validated metrics against data warehouse" in done.stdout
    assert "ERRORS: 0" in done.stdout and "Breaking issues" not in done.stdout


@pytest.mark.e2e
def test_daily_kpis_equal_active_users_daily(project: Path) -> None:
    metrics = ["daily_active_users", "monthly_active_users", "stickiness"]
    semantic = mf_query(project, metrics, "day")
    mart = mart_rows(project, "select date, dau, mau, stickiness from marts.active_users_daily")
    assert len(mart) > 60
    assert_same(
        semantic,
        mart,
        {"daily_active_users": "dau", "monthly_active_users": "mau", "stickiness": "stickiness"},
    )


@pytest.mark.e2e
def test_weekly_activation_equals_activation_cohorts(project: Path) -> None:
    semantic = mf_query(project, ["signups", "activation_rate"], "week")
    mart = mart_rows(
        project,
        "select signup_week, signups, activation_rate from marts.activation_cohorts"
        " where segment_type = 'all'",
    )
    assert len(mart) >= 10
    assert_same(semantic, mart, {"signups": "signups", "activation_rate": "activation_rate"})


@pytest.mark.e2e
def test_monthly_kpis_equal_revenue_conversion_and_nps_marts(project: Path) -> None:
    metrics = [
        "mrr",
        "starting_mrr",
        "net_revenue_retention",
        "trial_to_paid_conversion_rate",
        "nps",
    ]
    semantic = mf_query(project, metrics, "month")
    revenue = mart_rows(
        project,
        "select month, ending_mrr, starting_mrr, net_revenue_retention"
        " from marts.mrr_movements_monthly",
    )
    assert len(revenue) >= 3
    assert any(row["net_revenue_retention"] not in (None, 1.0) for row in revenue.values())
    assert_same(
        semantic,
        revenue,
        {
            "mrr": "ending_mrr",
            "starting_mrr": "starting_mrr",
            "net_revenue_retention": "net_revenue_retention",
        },
    )
    conversion = mart_rows(
        project,
        "select signup_month, conversion_rate from marts.conversion_cohorts"
        " where segment_type = 'all'",
    )
    assert_same(semantic, conversion, {"trial_to_paid_conversion_rate": "conversion_rate"})
    nps = mart_rows(project, "select month, nps from marts.nps_monthly where segment_type = 'all'")
    assert_same(semantic, nps, {"nps": "nps"})


def mf_query_by(
    project: Path, metrics: list[str], group_by: list[str]
) -> list[dict[str, str | float | None]]:
    """`mf query` grouped by any dimensions, as one dict per row (metric values as floats)."""
    out = project / f"query_{'_'.join(metrics)}.csv"
    args = [str(BIN / "mf"), "query", "--metrics", ",".join(metrics)]
    run([*args, "--group-by", ",".join(group_by), "--csv", str(out)], project)
    with out.open(newline="") as handle:
        return [
            {
                key: (float(value) if value != "" else None) if key in metrics else value
                for key, value in row.items()
            }
            for row in csv.DictReader(handle)
        ]


@pytest.mark.e2e
def test_arr_arpa_and_quick_ratio_equal_revenue_kpis_monthly(project: Path) -> None:
    metrics = ["arr", "arpa", "quick_ratio"]
    semantic = mf_query(project, metrics, "month")
    kpis = mart_rows(
        project, "select month, arr, arpa, quick_ratio from marts.revenue_kpis_monthly"
    )
    assert len(kpis) >= 3
    assert any(row["quick_ratio"] is not None for row in kpis.values())
    assert_same(semantic, kpis, {"arr": "arr", "arpa": "arpa", "quick_ratio": "quick_ratio"})


@pytest.mark.e2e
def test_cohort_nrr_equals_revenue_retention_cohorts(project: Path) -> None:
    rows = mf_query_by(
        project,
        ["cohort_net_mrr_retention"],
        ["metric_time__month", "revenue_cohort_period__months_since"],
    )
    semantic = {
        (
            str(row["metric_time__month"])[:10],
            int(str(row["revenue_cohort_period__months_since"])),
        ): row["cohort_net_mrr_retention"]
        for row in rows
    }
    with duckdb.connect(str(project / "lifecycle.duckdb"), read_only=True) as con:
        mart = con.execute(
            "select cast(cohort_month as varchar), months_since, net_mrr_retention"
            " from marts.revenue_retention_cohorts"
        ).fetchall()
    assert len(mart) >= 3 and any(m > 0 for _, m, _ in mart)
    assert set(semantic) == {(c, m) for c, m, _ in mart}
    for cohort, months_since, want in mart:
        got = semantic[(cohort, months_since)]
        assert (got is None) == (want is None), (cohort, months_since, got, want)
        if want is not None:
            assert math.isclose(float(got), want, rel_tol=TOLERANCE), (cohort, months_since)


@pytest.mark.e2e
def test_mrr_at_risk_equals_account_health(project: Path) -> None:
    semantic = mf_query(project, ["mrr_at_risk"], "day")
    health = mart_rows(
        project,
        "select as_of_date, sum(mrr_at_risk) as mrr_at_risk from marts.account_health"
        " group by as_of_date",
    )
    assert len(health) == 1
    assert_same(semantic, health, {"mrr_at_risk": "mrr_at_risk"})
