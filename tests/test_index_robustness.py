"""Index robustness (issue 10, item 9): parallel-analysis size, bootstrap stability of the
number of factors, weights and top-tier membership, low-MSA refit, imputed shares.

Planted truth: ``make_crm_data`` plants three factors behind its indicators; a copy with each
column permuted independently has none. Numbers are checked by recomputing them directly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from crmresearch._format import fmt_pct
from crmresearch.datasets import make_crm_data
from crmresearch.features import apply_config, customer_features
from crmresearch.index import (
    ClassificationIndex,
    IndexWarning,
    kmo,
    parallel_analysis,
    refit_without_low_msa,
    tucker_congruence,
)

N_BOOT = 40


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def crm():
    return make_crm_data(2000, seed=0)


@pytest.fixture(scope="module")
def planted(crm):
    t = crm.truth
    raw = customer_features(
        crm.transactions, start=t.start, end=t.calibration_end, indicators=t.indicators
    )
    X = raw[t.indicators].dropna()
    idx = quiet(ClassificationIndex(log_transform=t.log_indicators).fit, X)
    return X, idx, quiet(idx.bootstrap, X, n_boot=N_BOOT, seed=0)


@pytest.fixture(scope="module")
def noise(crm, planted):
    X, _, _ = planted
    rng = np.random.default_rng(0)
    shuffled = X.apply(lambda c: rng.permutation(c.to_numpy()))  # same margins, no factors
    idx = quiet(ClassificationIndex(log_transform=crm.truth.log_indicators).fit, shuffled)
    return shuffled, idx, quiet(idx.bootstrap, shuffled, n_boot=N_BOOT, seed=0)


def test_parallel_analysis_uses_100_simulations_by_default():
    assert ClassificationIndex().parallel_iter == 100
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.standard_normal((300, 5)), columns=list("abcde"))
    assert parallel_analysis(X.corr(), 300).n_iter == 100
    idx = quiet(ClassificationIndex().fit, X)
    assert idx.parallel_.n_iter == 100
    assert "100 simulations" in idx.summary()


def test_bootstrap_recovers_the_planted_number_of_factors(crm, planted):
    X, idx, res = planted
    assert idx.n_factors_ == res.n_factors == crm.truth.loadings.shape[1] == 3
    assert res.n_factors_distribution.sum() == pytest.approx(1)
    assert res.n_factors_stability >= 0.9
    assert (res.congruence.min() > 0.95).all()
    # each replicate's factors are the planted ones (congruence with truth.loadings, matched)
    sign = np.array([idx.directions_[c] for c in crm.truth.indicators], dtype=float)
    truth = crm.truth.loadings.to_numpy() * sign[:, None]
    fitted = idx.loadings_.loc[crm.truth.indicators].to_numpy()
    assert (np.abs(tucker_congruence(fitted, truth)).max(0) > 0.95).all()


def test_bootstrap_of_noise_scatters_the_number_of_factors(noise, planted):
    _, _, res = noise
    assert res.n_factors_stability < planted[2].n_factors_stability
    assert (res.n_factors_distribution > 0).sum() >= 2


def test_weights_intervals_cover_estimates_and_are_tight_only_with_structure(planted, noise):
    _, idx, res = planted
    for table in (res.weights_ci, res.indicator_weights_ci):
        assert (
            (table["ci_low"] <= table["estimate"]) & (table["estimate"] <= table["ci_high"])
        ).all()
    np.testing.assert_allclose(res.weights_ci["estimate"], idx.composite_weights_)
    # indicator weight = coefficient of the standardized indicator in C: recompute C from it
    X = planted[0].copy()
    X[idx.log_columns_] = np.log1p(X[idx.log_columns_])  # the index's prepared indicators
    X = X * pd.Series(idx.directions_)
    std = ((X - idx.mean_) / idx.scale_)[idx.columns_].to_numpy()
    np.testing.assert_allclose(
        std @ res.indicator_weights_ci["estimate"].to_numpy(), idx.composite(planted[0]), atol=1e-9
    )
    width = (res.indicator_weights_ci["ci_high"] - res.indicator_weights_ci["ci_low"]).mean()
    noisy = noise[2].indicator_weights_ci
    assert width < (noisy["ci_high"] - noisy["ci_low"]).mean() / 5


def test_top_tier_changes_recomputed_for_the_first_replicate(planted):
    X, idx, res = planted
    rng = np.random.default_rng(0)  # the bootstrap's seed: replicate 0 is its first draw
    sample = X.iloc[rng.integers(0, len(X), len(X))]
    rep = quiet(
        clone(idx).set_params(n_factors=idx.n_factors_, directions=idx.directions_).fit, sample
    )
    n_top = round(0.2 * len(X))
    before = set(idx.composite(X).nlargest(n_top).index)
    after = set(rep.composite(X).nlargest(n_top).index)
    assert res.top_tier_changed.iloc[0] == pytest.approx(len(before ^ after) / len(X))
    assert res.top_tier_retained.iloc[0] == pytest.approx(len(before & after) / n_top)
    # every replicate's top tier has n_top members
    assert res.top_tier_frequency.sum() == pytest.approx(n_top)
    assert res.top_tier_ever_changed >= res.top_tier_changed.max()


def test_top_tier_is_stable_with_structure_and_not_without(planted, noise):
    res, null = planted[2], noise[2]
    assert res.top_tier_changed.mean() < 0.05 and res.top_tier_retained.mean() > 0.9
    assert null.top_tier_changed.mean() > 4 * res.top_tier_changed.mean()
    assert null.rank_correlation.mean() < res.rank_correlation.mean()


def test_bootstrap_is_deterministic_and_summary_is_plain_text(planted):
    X, idx, res = planted
    again = quiet(idx.bootstrap, X, n_boot=N_BOOT, seed=0)
    pd.testing.assert_series_equal(again.top_tier_changed, res.top_tier_changed)
    pd.testing.assert_frame_equal(again.indicator_weights_ci, res.indicator_weights_ci)
    text = res.summary()
    for needle in ("Number of factors", "replicates: 3:", "Composite weights", "Top tier (top 20"):
        assert needle in text
    assert "np.float64" not in text and "array(" not in text and "dtype" not in text
    with pytest.raises(ValueError, match="top_share"):
        idx.bootstrap(X, n_boot=5, top_share=1.5)


def test_fixed_number_of_factors_has_no_retention_spread(planted):
    X, idx, _ = planted
    fixed = quiet(clone(idx).set_params(n_factors=2).fit, X)
    res = quiet(fixed.bootstrap, X, n_boot=5, seed=1)
    assert res.n_factors_distribution.to_dict() == {2: 1.0}
    assert "fixed by the user" in res.summary()


def test_refit_without_low_msa_on_synthetic_features_matches_recomputation(crm):
    t = crm.truth
    features = customer_features(crm.transactions, start=t.start, end=t.calibration_end)
    result = refit_without_low_msa(features, "ecommerce", top_share=0.2)
    Z = apply_config(features, "ecommerce")
    full = quiet(ClassificationIndex().fit, Z)
    # MSA recomputed from the prepared, direction-adjusted correlation matrix
    _, msa = kmo(full.correlation_)
    expected = sorted(c for c, v in msa.items() if v < 0.5)
    assert sorted(result.dropped.index) == expected == sorted(full.low_msa_) != []
    keep = [c for c in Z.columns if c not in expected]
    reduced = quiet(ClassificationIndex().fit, Z[keep])
    pd.testing.assert_series_equal(result.composite_reduced, reduced.composite(Z[keep]))
    n_top = round(0.2 * len(Z))
    before = set(full.composite(Z).nlargest(n_top).index)
    after = set(reduced.composite(Z[keep]).nlargest(n_top).index)
    assert result.n_top == n_top and result.n_changed == len(before - after)
    assert result.changed_share == pytest.approx(len(before - after) / n_top)
    assert f"{result.n_changed:,} members change" in result.summary()


def test_refit_without_low_msa_planted_suppressor_and_clean_data():
    rng = np.random.default_rng(0)
    n = 3000
    f = rng.standard_normal((n, 2))
    L = np.array([[0.9, 0], [0.8, 0], [0.7, 0], [0, 0.85], [0, 0.75], [0, 0.65]])
    X = pd.DataFrame(
        f @ L.T + 0.5 * rng.standard_normal((n, 6)), columns=["a1", "a2", "a3", "b1", "b2", "b3"]
    )
    clean = refit_without_low_msa(X, _config(list(X.columns)))
    assert clean.reduced is None and clean.n_changed == 0 and clean.dropped.empty
    assert "nothing to refit" in clean.summary()
    # z = a1 − a2 + small noise is almost a linear combination: its partial correlations with
    # a1 and a2 are near ±1, its zero-order ones small, so its MSA is near 0 (planted)
    Y = X.assign(z=X["a1"] - X["a2"] + 0.3 * rng.standard_normal(n))
    res = refit_without_low_msa(Y, _config(list(Y.columns)), index=ClassificationIndex(2))
    assert res.dropped.index[0] == "z" and res.dropped.iloc[0] < 0.2
    assert "z" not in res.reduced.columns_


def _config(columns):
    from crmresearch.features import IndexConfig

    return IndexConfig(
        name="test",
        description="",
        dimensions={"loyalty": tuple(columns)},
        indicators=tuple(columns),
    )


def test_imputed_share_is_a_fitted_attribute_and_stated(crm):
    t = crm.truth
    features = customer_features(crm.transactions, start=t.start, end=t.calibration_end)
    Z = apply_config(features, "ecommerce")
    idx = quiet(ClassificationIndex().fit, Z)
    # recomputed: the share of customers whose indicator was undefined before filling
    expected = features[list(Z.columns)].isna().mean()
    assert expected["regularity_cv"] > 0
    np.testing.assert_allclose(idx.imputed_share_, expected.to_numpy(), atol=1e-15)
    line = next(x for x in idx.summary().splitlines() if x.startswith("Imputed before fitting"))
    assert f"regularity_cv {fmt_pct(expected['regularity_cv'])}" in line
    # rows dropped after filling: the recorded count no longer fits, so the share is unknown
    subset = Z.iloc[: int(features["regularity_cv"].isna().sum()) - 1]
    sub = quiet(ClassificationIndex(3).fit, subset)
    assert np.isnan(sub.imputed_share_["regularity_cv"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IndexWarning)
        back = ClassificationIndex.from_dict(idx.to_dict())
    pd.testing.assert_series_equal(back.imputed_share_, idx.imputed_share_)
