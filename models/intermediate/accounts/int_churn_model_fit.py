"""The churn model's fits: one row per model role, feature and run (plus an intercept row).

Two logistic regressions are fitted on int_churn_examples (METRICS.md, churn_risk_scores
and churn_model_evaluation):
- `backtest`: the examples whose outcome month (m + 1) is before the last complete month;
  churn_model_evaluation scores the examples whose outcome month is the last complete month;
- `final`: every example with a known outcome; churn_risk_scores applies it to the as_of month.

Features are standardized with the training rows' mean and population standard deviation,
and the stored mean, scale and coefficient give every score exactly (churn_risk_scores
computes them in SQL from this table), so a score can be explained later. The fit is
deterministic: lbfgs has no randomness, the seed is pinned by var churn_model_seed for any
solver that would use it, and model_version hashes the library version, seed, features and
training rows. A role with fewer than two label values in its training rows has no model
and no rows here.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression

FEATURE_PREFIX = "feature_"
INTERCEPT = "intercept"
# Inverse L2 strength. Training sets are small (hundreds of examples, tens of churns on the
# demo data), so the coefficients are shrunk hard: chosen on generated datasets of four
# seeds, not on any one run's backtest.
REGULARIZATION = 0.03


def _model_version(train: pd.DataFrame, features: list[str], seed: int) -> str:
    """A short hash of everything the fit depends on: same input, same version."""
    digest = hashlib.sha256()
    digest.update(f"sklearn={sklearn.__version__};seed={seed};".encode())
    digest.update(";".join(features).encode())
    ordered = train.sort_values(["account_id", "month"])
    rows = ordered[["account_id", "month", "churned_next_month", *features]]
    digest.update(pd.util.hash_pandas_object(rows, index=False).values.tobytes())
    return digest.hexdigest()[:16]


def _fit(train: pd.DataFrame, features: list[str], seed: int, role: str) -> pd.DataFrame:
    labels = train["churned_next_month"].astype(bool).to_numpy()
    if np.unique(labels).size < 2:
        return pd.DataFrame()
    values = train[features].to_numpy(dtype=np.float64)
    means = values.mean(axis=0)
    scales = values.std(axis=0)
    scales = np.where(scales > 0, scales, 1.0)  # a constant feature is left as it is
    model = LogisticRegression(C=REGULARIZATION, solver="lbfgs", max_iter=1000, random_state=seed)
    model.fit((values - means) / scales, labels)
    names = [name.removeprefix(FEATURE_PREFIX) for name in features]
    frame = pd.DataFrame(
        {
            "feature_name": [INTERCEPT, *names],
            "feature_mean": [0.0, *means],
            "feature_scale": [1.0, *scales],
            "coefficient": [float(model.intercept_[0]), *model.coef_[0]],
        }
    )
    frame["model_role"] = role
    frame["model_version"] = _model_version(train, features, seed)
    frame["train_examples"] = len(train)
    frame["train_churn_rate"] = float(labels.mean())
    frame["first_example_month"] = train["month"].min()
    frame["last_example_month"] = train["month"].max()
    frame["seed"] = seed
    frame["library_version"] = f"scikit-learn {sklearn.__version__}"
    return frame


FIT_COLUMNS = [
    "model_role",
    "model_version",
    "feature_name",
    "feature_mean",
    "feature_scale",
    "coefficient",
    "train_examples",
    "train_churn_rate",
    "first_example_month",
    "last_example_month",
    "seed",
    "library_version",
]


def model(dbt, session):  # noqa: ANN001, ANN201 (dbt's Python model signature)
    dbt.config(materialized="table")
    seed = int(dbt.config.get("churn_model_seed"))
    # One row order whatever order the engine returns them in, so the floating-point sums of
    # the fit are the same for the same input (an incremental build equals a full refresh).
    examples = dbt.ref("int_churn_examples").df().sort_values(["account_id", "month"])
    as_of_rows = dbt.ref("int_as_of").df()
    # Nothing built yet, or no date to judge from (`dbt build --empty`): no fit.
    if as_of_rows.empty or as_of_rows["as_of_date"].isna().all():
        return pd.DataFrame(columns=FIT_COLUMNS)
    as_of = as_of_rows["as_of_date"].iloc[0]
    features = sorted(c for c in examples.columns if c.startswith(FEATURE_PREFIX))

    known = examples[examples["churned_next_month"].notna()].copy()
    known["month"] = pd.to_datetime(known["month"])
    # The last complete month: the latest month whose last day is on or before as_of_date.
    as_of = pd.Timestamp(as_of)
    last_complete = (as_of + pd.Timedelta(days=1)).to_period("M").to_timestamp() - pd.DateOffset(
        months=1
    )
    outcome_month = known["month"] + pd.DateOffset(months=1)
    fits = [
        _fit(known[outcome_month < last_complete], features, seed, "backtest"),
        _fit(known, features, seed, "final"),
    ]
    result = pd.concat([f for f in fits if not f.empty] or [pd.DataFrame(columns=FIT_COLUMNS)])
    return result[FIT_COLUMNS].reset_index(drop=True)
