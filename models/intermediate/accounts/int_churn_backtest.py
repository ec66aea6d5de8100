"""The churn model's backtest on time: one row per run (METRICS.md, churn_model_evaluation).

The `backtest` fit of int_churn_model_fit (trained on the examples whose outcome month is
before the last complete month) scores the examples whose outcome month is the last
complete month, with the stored means, scales and coefficients; the baseline scores the same
examples by 100 - the account's health score at the month end. Metrics that need both label
values (auc, average precision) are null when the test rows have one; all are null without
test rows or without a backtest model.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

FEATURE_PREFIX = "feature_"
INTERCEPT = "intercept"


def _probabilities(test: pd.DataFrame, fit: pd.DataFrame) -> np.ndarray:
    """The logistic score of each test row from the stored coefficients."""
    weights = fit.set_index("feature_name")
    logit = np.full(len(test), float(weights.loc[INTERCEPT, "coefficient"]))
    for name, row in weights.drop(index=INTERCEPT).iterrows():
        values = test[FEATURE_PREFIX + str(name)].to_numpy(dtype=np.float64)
        logit += row["coefficient"] * (values - row["feature_mean"]) / row["feature_scale"]
    return 1.0 / (1.0 + np.exp(-logit))


def _precision_at_top_decile(test: pd.DataFrame, scores: np.ndarray) -> float:
    """Churn share among the top tenth (rounded up) by score; ties by account_id."""
    ranked = test.assign(score=scores).sort_values(["score", "account_id"], ascending=[False, True])
    top = ranked.head(math.ceil(len(ranked) / 10))
    return float(top["churned_next_month"].mean())


EVALUATION_COLUMNS = [
    "as_of_date",
    "test_outcome_month",
    "train_examples",
    "test_examples",
    "test_churn_rate",
    "auc",
    "average_precision",
    "brier_score",
    "precision_at_top_decile",
    "baseline_auc",
    "model_version",
]


def model(dbt, session):  # noqa: ANN001, ANN201 (dbt's Python model signature)
    dbt.config(materialized="table")
    examples = dbt.ref("int_churn_examples").df()
    fits = dbt.ref("int_churn_model_fit").df()
    as_of_rows = dbt.ref("int_as_of").df()
    # Nothing built yet, or no date to judge from (`dbt build --empty`): no evaluation.
    if as_of_rows.empty or as_of_rows["as_of_date"].isna().all():
        return pd.DataFrame(columns=EVALUATION_COLUMNS)
    as_of = pd.Timestamp(as_of_rows["as_of_date"].iloc[0])

    last_complete = (as_of + pd.Timedelta(days=1)).to_period("M").to_timestamp() - pd.DateOffset(
        months=1
    )
    known = examples[examples["churned_next_month"].notna()].copy()
    outcome_month = pd.to_datetime(known["month"]) + pd.DateOffset(months=1)
    test = known[outcome_month == last_complete]
    labels = test["churned_next_month"].astype(bool).to_numpy()
    fit = fits[fits["model_role"] == "backtest"]

    row: dict[str, object] = {
        "as_of_date": as_of.date(),
        "test_outcome_month": last_complete.date(),
        "train_examples": int((outcome_month < last_complete).sum()),
        "test_examples": len(test),
        "test_churn_rate": float(labels.mean()) if len(test) else None,
        "auc": None,
        "average_precision": None,
        "brier_score": None,
        "precision_at_top_decile": None,
        "baseline_auc": None,
        "model_version": fit["model_version"].iloc[0] if len(fit) else None,
    }
    both_labels = np.unique(labels).size == 2
    if len(test) and both_labels:
        row["baseline_auc"] = float(roc_auc_score(labels, test["baseline_score"]))
    if len(test) and len(fit):
        scores = _probabilities(test, fit)
        row["brier_score"] = float(brier_score_loss(labels, scores))
        row["precision_at_top_decile"] = _precision_at_top_decile(test, scores)
        if both_labels:
            row["auc"] = float(roc_auc_score(labels, scores))
            row["average_precision"] = float(average_precision_score(labels, scores))
    return pd.DataFrame([row], columns=EVALUATION_COLUMNS)
