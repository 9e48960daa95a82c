"""Acceptance on the real CDNOW log: the index fits on the window ending 1997-09-30."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from crmresearch.index import ClassificationIndex, bartlett_sphericity, kmo


@pytest.fixture(scope="module")
def cdnow_matrix():
    from crmresearch.datasets import load_cdnow
    from crmresearch.features import customer_features, load_config

    features = customer_features(load_cdnow(), end="1997-09-30")
    config = load_config("ecommerce")
    present = [c for c in config.indicators if c in features.columns]
    X = (
        features[present]
        .astype("float64")
        .fillna({c: v for c, v in config.fill.items() if c in present})
    )
    logs = [c for c in config.log_transform if c in present]
    return features, X, logs


def test_cdnow_index_fits_and_scores_every_customer(cdnow_matrix):
    features, X, logs = cdnow_matrix
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idx = ClassificationIndex(log_transform=logs).fit(X)
    # every customer active by 1997-09-30 (all CDNOW customers joined by 1997-03-25)
    assert len(X) == 23_570 == idx.n_obs_
    composite = idx.composite(X)
    assert composite.notna().all() and composite.index.equals(features.index)
    # adequacy is reported and equals a recomputation from the prepared matrix
    prepared = X.copy()
    for c in logs:
        prepared[c] = np.sign(prepared[c]) * np.log1p(prepared[c].abs())
    for c, d in idx.directions_.items():
        prepared[c] = prepared[c] * d
    R = prepared.corr()
    assert idx.kmo_ == pytest.approx(kmo(R)[0], abs=1e-10)
    assert idx.bartlett_["chi2"] == pytest.approx(bartlett_sphericity(R, len(X))["chi2"], rel=1e-9)
    assert idx.kmo_ > 0.6 and idx.bartlett_["p_value"] < 1e-10
    # indicators with low individual adequacy are named in a warning (MSA from the anti-image)
    low = sorted(c for c, v in kmo(R)[1].items() if v < 0.5)
    assert low == ["avg_order_value", "tenure_days"]
    msa_warnings = [w for w in idx.warnings_ if w.startswith("MSA < 0.5")]
    assert len(msa_warnings) == 1 and all(c in msa_warnings[0] for c in low)
    # cost indicators point the right way and the composite tracks revenue and recency
    assert idx.directions_["recency_days"] == -1
    assert np.corrcoef(composite, features["monetary"])[0, 1] > 0.3
    assert np.corrcoef(composite, features["recency_days"])[0, 1] < 0
    assert 2 <= idx.n_factors_ <= 5
    text = idx.summary()
    for needle in ("KMO =", "Bartlett", "Total variance explained", "Composite index: C =",
                   "Reversed (cost) indicators: ", "Log-transformed: monetary"):  # fmt: skip
        assert needle in text
    assert len(max(text.splitlines(), key=len)) <= 110  # fits a terminal / report column


def test_cdnow_factor_names_follow_main_loadings_and_lone_tenure_is_warned(cdnow_matrix):
    from crmresearch.features import apply_config

    features, _, _ = cdnow_matrix
    X = apply_config(features, "ecommerce")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idx = ClassificationIndex().fit(X)
    load = idx.loadings_
    f_tenure = load.loc["tenure_days"].abs().idxmax()
    # irregularity cross-loads on tenure's factor below 0.40 and belongs to another factor
    assert load.loc["regularity_cv", f_tenure] < 0.40
    assert load.loc["regularity_cv"].abs().idxmax() != f_tenure
    names = dict(zip(load.columns, idx.factor_names_, strict=True))
    assert "irregularity" not in names[f_tenure].lower()
    assert names[f_tenure] == "Tenure (length of cooperation)"
    # ... and tenure alone forms that factor: warned, naming factor and indicator
    lone = [w for w in idx.warnings_ if "single indicator" in w]
    assert len(lone) == 1
    assert f"factor {f_tenure} (Tenure" in lone[0] and "single indicator: tenure_days" in lone[0]
