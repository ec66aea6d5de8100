"""The churn model's dbt Python models, run on hand-made examples without dbt (issue 16).

int_churn_model_fit and int_churn_backtest are loaded from their files and given a stand-in
for dbt's `dbt` object: the test checks that the backtest splits on time, that fitting is
deterministic and versioned by its input, and that the backtest's metrics are those of the
stored coefficients.
"""

from __future__ import annotations

import importlib.util
from datetime import date
from types import ModuleType, SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from saas_lifecycle import settings

MODELS = settings.REPO_ROOT / "models" / "intermediate" / "accounts"
AS_OF = date(2025, 5, 20)  # the last complete month is April 2025


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, MODELS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeConfig(SimpleNamespace):
    """dbt.config(...) sets configs (ignored here); dbt.config.get(key) reads them."""

    def __call__(self, **_: object) -> None:
        return None


class FakeDbt:
    """What the models use of dbt's object: ref(name).df() and config."""

    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        self.frames = frames
        self.config = FakeConfig(get=lambda key: {"churn_model_seed": 7}[key])

    def ref(self, name: str) -> SimpleNamespace:
        return SimpleNamespace(df=lambda: self.frames[name].copy())


def examples() -> pd.DataFrame:
    """Accounts at four month ends; usage lower before churn, with exceptions (noise)."""
    rng = np.random.default_rng(3)
    rows = []
    for month in (date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)):
        for account in range(40):
            churned = bool(rng.random() < 0.3)
            usage = rng.normal(3.0 if churned else 6.0, 2.0)
            rows.append(
                {
                    "account_id": f"acc_{account:03d}",
                    "month": month,
                    # April's outcome (May) is not over at as_of: unknown.
                    "churned_next_month": None if month == date(2025, 4, 1) else churned,
                    "is_scoring_row": month == date(2025, 4, 1),
                    "baseline_score": 100.0 - 10.0 * usage + rng.normal(0, 25.0),
                    "feature_usage": usage,
                    "feature_noise": rng.normal(),
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    as_of = pd.DataFrame({"as_of_date": [AS_OF]})
    return {"int_churn_examples": examples(), "int_as_of": as_of}


def fit(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return load("int_churn_model_fit").model(FakeDbt(frames), None)


def test_backtest_trains_only_on_outcomes_before_the_last_complete_month(
    frames: dict[str, pd.DataFrame],
) -> None:
    fits = fit(frames)
    backtest = fits[fits["model_role"] == "backtest"]
    final = fits[fits["model_role"] == "final"]
    # Outcome months Feb and Mar for the backtest (April's is the test), Feb..Apr for final.
    assert set(backtest["train_examples"]) == {80}
    assert set(final["train_examples"]) == {120}
    assert set(backtest["last_example_month"].astype(str).str[:10]) == {"2025-02-01"}
    assert set(final["last_example_month"].astype(str).str[:10]) == {"2025-03-01"}
    assert set(fits["feature_name"]) == {"intercept", "usage", "noise"}
    usage = final.set_index("feature_name").loc["usage", "coefficient"]
    assert usage < 0  # more usage, less churn: the signal was found


def test_fitting_is_deterministic_and_versioned_by_its_input(
    frames: dict[str, pd.DataFrame],
) -> None:
    first, second = fit(frames), fit(frames)
    pd.testing.assert_frame_equal(first, second)
    changed = dict(frames)
    altered = frames["int_churn_examples"].copy()
    altered.loc[0, "feature_usage"] += 1.0
    changed["int_churn_examples"] = altered
    other = fit(changed)
    assert set(other["model_version"]) != set(first["model_version"])
    assert set(first["library_version"]) == {"scikit-learn 1.9.1"}


def test_backtest_scores_the_last_complete_month_with_the_stored_coefficients(
    frames: dict[str, pd.DataFrame],
) -> None:
    fits = fit(frames)
    row = (
        load("int_churn_backtest")
        .model(FakeDbt({**frames, "int_churn_model_fit": fits}), None)
        .iloc[0]
    )
    assert str(row["test_outcome_month"]) == "2025-04-01"
    assert (row["train_examples"], row["test_examples"]) == (80, 40)
    test = frames["int_churn_examples"]
    test = test[test["month"] == date(2025, 3, 1)]
    labels = test["churned_next_month"].astype(bool)
    weights = fits[fits["model_role"] == "backtest"].set_index("feature_name")
    logit = weights.loc["intercept", "coefficient"]
    for name in ("usage", "noise"):
        w = weights.loc[name]
        logit = (
            logit
            + w["coefficient"] * (test[f"feature_{name}"] - w["feature_mean"]) / w["feature_scale"]
        )
    probability = 1 / (1 + np.exp(-logit))
    assert row["auc"] == pytest.approx(roc_auc_score(labels, probability), abs=1e-12)
    assert row["baseline_auc"] == pytest.approx(
        roc_auc_score(labels, test["baseline_score"]), abs=1e-12
    )
    assert row["test_churn_rate"] == pytest.approx(labels.mean())
    assert row["model_version"] == weights["model_version"].iloc[0]


@pytest.mark.parametrize(
    ("auc", "baseline", "warns"),
    [(0.61, 0.64, True), (0.64, 0.64, True), (0.70, 0.54, False), (None, 0.6, False)],
)
def test_the_run_warns_naming_both_aucs_when_the_model_does_not_beat_the_baseline(
    auc: float | None, baseline: float, warns: bool
) -> None:
    import duckdb

    from saas_lifecycle.runner import churn_model_warning

    with duckdb.connect() as con:
        assert churn_model_warning(con) is None  # not served (a Spark build): no warning
        con.execute("create schema marts")
        con.execute("create table marts.churn_model_evaluation (auc double, baseline_auc double)")
        con.execute("insert into marts.churn_model_evaluation values (?, ?)", [auc, baseline])
        warning = churn_model_warning(con)
    if warns:
        assert warning is not None
        assert f"{auc:.4f}" in warning and f"{baseline:.4f}" in warning
    else:
        assert warning is None
