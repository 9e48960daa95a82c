"""diff_in_diff / make_panel: equal to a statsmodels dummy regression, recovers planted effects,
flat pre-trends when none are planted, detects planted anticipation."""

from __future__ import annotations

import math

import matplotlib.figure
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from crmresearch.errors import DataError
from crmresearch.strategy import diff_in_diff, make_panel

MONTHS = pd.period_range("2024-01", "2025-06", freq="M")  # 18 months


def make_rollout(n=2000, seed=0, effects=None, anticipation=0.0, never_share=0.4, sd=30.0):
    """Transactions (one per customer-month, day 10) and a staggered roll-out table.

    Revenue = customer level + common trend + noise + effect after the customer's start month
    (+ ``anticipation`` in the two months before it).
    """
    effects = effects or {"A": 20.0, "B": 10.0, "C": 0.0}
    rng = np.random.default_rng(seed)
    T = len(MONTHS)
    ids = np.array([f"c{i:05d}" for i in range(n)])
    tier = rng.choice(list(effects), n)
    start = rng.integers(4, 15, n).astype(float)
    start[rng.random(n) < never_share] = np.nan
    level = rng.gamma(2.0, 50.0, n)
    t_idx = np.arange(T)[None, :]
    y = level[:, None] + 3.0 * t_idx + rng.normal(0, sd, (n, T))
    on = ~np.isnan(start)[:, None] & (t_idx >= np.nan_to_num(start, nan=99)[:, None])
    y += on * pd.Series(tier).map(effects).to_numpy()[:, None]
    pre = ~np.isnan(start)[:, None] & (t_idx >= np.nan_to_num(start, nan=99)[:, None] - 2) & ~on
    y += pre * anticipation
    tx = pd.DataFrame(
        {
            "customer_id": np.repeat(ids, T),
            "date": np.tile(MONTHS.to_timestamp() + pd.Timedelta(days=9), n),
            "amount": y.ravel(),
        }
    )
    starts = [MONTHS[int(s)].to_timestamp() if not np.isnan(s) else pd.NaT for s in start]
    rollout = pd.DataFrame({"customer_id": ids, "start": starts, "tier": tier})
    return tx, rollout


PERIODS = ("2024-01-01", "2025-06-30")


def test_panel_is_balanced_and_sums_revenue():
    tx, ro = make_rollout(n=30, seed=1)
    tx = tx.drop(index=[0, 5])  # two customer-months without purchases -> zero revenue
    extra = pd.DataFrame(
        {
            "customer_id": ["c00000", "zzz"],
            "date": pd.to_datetime(["2023-12-31", "2024-03-03"]),
            "amount": [1.0, 2.0],
        }  # fmt: skip
    )
    panel = make_panel(pd.concat([tx, extra]), ro, periods=PERIODS, tier="tier")
    assert len(panel) == 30 * 18
    assert panel.attrs["n_transactions_outside_periods"] == 1
    assert panel.attrs["n_transactions_not_in_rollout"] == 1
    manual = tx.groupby("customer_id")["amount"].sum()
    np.testing.assert_allclose(
        panel.groupby("customer_id")["revenue"].sum().to_numpy(), manual.to_numpy(), rtol=1e-12
    )
    assert panel.loc[0, "revenue"] == 0.0 and panel.loc[0, "purchases"] == 0
    # treated indicator switches on at the start month
    r = ro.dropna(subset=["start"]).iloc[0]
    sub = panel[panel.customer_id == r.customer_id]
    first_on = sub.loc[sub.treated == 1, "period"].min()
    assert first_on == r.start.to_period("M")


def test_twfe_equals_statsmodels_dummy_regression():
    tx, ro = make_rollout(n=60, seed=2)
    res = diff_in_diff(tx, ro, periods=PERIODS)
    panel = res.panel.assign(period_s=lambda d: d["period"].astype(str))
    fit = smf.ols("revenue ~ treated + C(customer_id) + C(period_s)", data=panel).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(panel["customer_id"])[0]}
    )
    row = res.table.set_index("tier").loc["overall"]
    assert row["effect"] == pytest.approx(fit.params["treated"], rel=1e-9)
    # statsmodels counts the N customer dummies in K; we do not (they are nested in clusters):
    nobs, T = len(panel), 18
    k_full, k_ours = len(fit.params), 1 + T
    se_sm_rescaled = fit.bse["treated"] * math.sqrt((nobs - k_full) / (nobs - k_ours))
    assert row["se"] == pytest.approx(se_sm_rescaled, rel=1e-8)

    # event study: the lag-0 coefficient equals the dummy regression with the same binned dummies
    rel = panel["rel_period"].clip(-3, 3)
    for k in [-3, -2, 0, 1, 2, 3]:
        panel[f"e{k + 3}"] = (rel == k).astype(float)
    fit_es = smf.ols(
        "revenue ~ e0 + e1 + e3 + e4 + e5 + e6 + C(customer_id) + C(period_s)", data=panel
    ).fit()
    es = res.event_study.set_index(["tier", "rel_period"])
    for k in [-3, -2, 0, 3]:
        assert es.loc[("overall", k), "effect"] == pytest.approx(
            fit_es.params[f"e{k + 3}"], rel=1e-8, abs=1e-8
        )
    assert es.loc[("overall", -1), "effect"] == 0.0


def test_recovers_planted_effect_per_tier_with_flat_pretrends():
    tx, ro = make_rollout(n=3000, seed=3)
    res = diff_in_diff(tx, ro, periods=PERIODS, tier="tier")
    tab = res.table.set_index("tier")
    for tier, truth in {"A": 20.0, "B": 10.0, "C": 0.0}.items():
        assert tab.loc[tier, "ci_low"] < truth < tab.loc[tier, "ci_high"], tier
    # overall: the customer-weighted mean of the planted effects
    treated = ro.dropna(subset=["start"])
    assert tab.loc["overall", "effect"] == pytest.approx(10.0, abs=4 * tab.loc["overall", "se"])
    assert len(treated) == tab.loc["overall", "n_treated"]
    pt = res.pretrend.set_index("tier")
    assert (pt["p_value"] > 0.05).all(), pt
    es = res.event_study.set_index(["tier", "rel_period"])
    for k in [0, 1, 2, 3]:
        lo, hi = es.loc[("A", k), ["ci_low", "ci_high"]]
        assert lo < 20.0 < hi
    fig = res.plot_event_study()
    assert isinstance(fig, matplotlib.figure.Figure)
    assert fig.axes[0].get_xlabel() and fig.axes[0].get_title()
    assert "Pre-trend" in res.summary()


def test_detects_planted_anticipation_in_leads():
    tx, ro = make_rollout(n=3000, seed=4, anticipation=15.0)
    res = diff_in_diff(tx, ro, periods=PERIODS)
    assert res.pretrend.set_index("tier").loc["overall", "p_value"] < 1e-3
    es = res.event_study.set_index(["tier", "rel_period"])
    # anticipation lifts k = -2 and -1; against the reference k = -1 the binned lead k <= -3 is
    # about -15 and lead -2 about 0
    assert es.loc[("overall", -3), "ci_low"] < -15.0 < es.loc[("overall", -3), "ci_high"]
    assert es.loc[("overall", -2), "ci_low"] < 0.0 < es.loc[("overall", -2), "ci_high"]


def test_did_fast_on_5000_by_18():
    import time

    tx, ro = make_rollout(n=5000, seed=5)
    t0 = time.perf_counter()
    diff_in_diff(tx, ro, periods=PERIODS, tier="tier")
    assert time.perf_counter() - t0 < 10.0  # ~1 s unloaded; generous for a shared CI box


def test_did_errors():
    tx, ro = make_rollout(n=20, seed=6)
    with pytest.raises(DataError, match="rollout"):
        diff_in_diff(tx, ro.drop(columns="start"), periods=PERIODS)
    with pytest.raises(DataError, match="at least two periods"):
        diff_in_diff(tx, ro, periods=("2024-01-01", "2024-01-31"))
    with pytest.raises(DataError, match="outcome"):
        diff_in_diff(tx, ro, periods=PERIODS, outcome="profit")


def test_recovers_synthetic_crm_rollout_effect():
    """The package generator's staggered roll-out (+rollout_effect revenue per month)."""
    try:
        from crmresearch.datasets import make_crm_data
    except ImportError:
        try:
            from crmresearch.synthetic import make_crm_data
        except ImportError:
            pytest.skip("crmresearch.datasets.make_crm_data is not available yet")
    crm = make_crm_data(2000, seed=0)
    truth = crm.truth
    tier = crm.campaign.set_index("customer_id")["tier"]
    res = diff_in_diff(
        crm.transactions, crm.rollout, periods=(truth.start, truth.rollout_end), tier=tier
    )
    tab = res.table.set_index("tier")
    assert tab.loc["overall", "ci_low"] < truth.rollout_effect < tab.loc["overall", "ci_high"]
    assert tab.loc["overall", "p_value"] < 1e-4
    assert tab.loc["overall", "n_treated"] == crm.rollout["start"].notna().sum()
    for t in ["A", "B", "C"]:  # the planted effect is the same in every tier
        assert tab.loc[t, "ci_low"] < truth.rollout_effect < tab.loc[t, "ci_high"], t
    assert res.pretrend.set_index("tier").loc["overall", "p_value"] > 0.05
