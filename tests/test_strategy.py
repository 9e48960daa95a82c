"""effect_by_tier, roi, power_table, policy_value, experiment_from_log: checked against direct
statsmodels fits, closed forms and hand computations."""

from __future__ import annotations

import math

import matplotlib.figure
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from crmresearch.errors import DataError
from crmresearch.strategy import (
    effect_by_tier,
    experiment_from_log,
    policy_value,
    power_table,
    roi,
)


def make_experiment(n=2400, seed=0, effects=None):
    """Customer-level experiment with planted per-tier effects and a prognostic covariate."""
    effects = effects or {"A": 3.0, "B": 1.0, "C": 0.0}
    rng = np.random.default_rng(seed)
    tier = rng.choice(list(effects), n, p=[0.2, 0.3, 0.5])
    arm = rng.choice(["control", "treatment"], n)
    x = rng.normal(size=n)
    store = rng.integers(0, 60, n)
    y = 10 + 2 * x + (arm == "treatment") * pd.Series(tier).map(effects).to_numpy()
    y = y + rng.normal(0, 3, n)
    return pd.DataFrame(
        {"arm": arm, "tier": tier, "x": x, "store": store, "y": y, "buy": (y > 11).astype(int)}
    )


@pytest.fixture(scope="module")
def experiment():
    return make_experiment()


# ------------------------------------------------------------------ effect_by_tier vs statsmodels
def test_effects_equal_direct_statsmodels_hc2(experiment):
    res = effect_by_tier(experiment, treatment="arm", outcome="y", tier="tier")
    table = res.table.set_index("tier")
    assert list(table.index) == ["A", "B", "C", "overall"]
    for t in ["A", "B", "C", "overall"]:
        sub = experiment if t == "overall" else experiment[experiment["tier"] == t]
        fit = smf.ols("y ~ C(arm, Treatment('control'))", data=sub).fit(cov_type="HC2")
        name = "C(arm, Treatment('control'))[T.treatment]"
        assert table.loc[t, "effect"] == pytest.approx(fit.params[name], rel=1e-10)
        assert table.loc[t, "se"] == pytest.approx(fit.bse[name], rel=1e-10)
        lo, hi = fit.conf_int().loc[name]
        assert table.loc[t, "ci_low"] == pytest.approx(lo, rel=1e-10)
        assert table.loc[t, "ci_high"] == pytest.approx(hi, rel=1e-10)
        assert table.loc[t, "p_value"] == pytest.approx(fit.pvalues[name], rel=1e-8, abs=1e-300)
        # Independent closed form: difference in means, Neyman variance s_t^2/n_t + s_c^2/n_c.
        yt = sub.loc[sub["arm"] == "treatment", "y"]
        yc = sub.loc[sub["arm"] == "control", "y"]
        assert table.loc[t, "effect"] == pytest.approx(yt.mean() - yc.mean(), rel=1e-10)
        neyman = math.sqrt(yt.var() / len(yt) + yc.var() / len(yc))
        assert table.loc[t, "se"] == pytest.approx(neyman, rel=1e-10)
        assert table.loc[t, "n_treated"] == len(yt) and table.loc[t, "n_control"] == len(yc)
        assert table.loc[t, "control_mean"] == pytest.approx(yc.mean())
        assert table.loc[t, "relative_lift"] == pytest.approx((yt.mean() - yc.mean()) / yc.mean())


def test_holm_across_tiers_by_hand(experiment):
    res = effect_by_tier(experiment, treatment="arm", outcome="y", tier="tier")
    tiers = res.table[res.table["tier"] != "overall"]
    p = tiers["p_value"].to_numpy()
    order = np.argsort(p)
    m = len(p)
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    np.testing.assert_allclose(tiers["p_adjusted"].to_numpy(), adj, rtol=1e-12)
    overall = res.table[res.table["tier"] == "overall"].iloc[0]
    assert overall["p_adjusted"] == overall["p_value"]


def test_ancova_and_cluster_equal_statsmodels(experiment):
    res = effect_by_tier(experiment, treatment="arm", outcome="y", tier="tier", covariates=["x"])
    sub = experiment[experiment["tier"] == "B"]
    fit = smf.ols("y ~ C(arm) + x", data=sub).fit(cov_type="HC2")
    row = res.table.set_index("tier").loc["B"]
    assert row["effect"] == pytest.approx(fit.params["C(arm)[T.treatment]"], rel=1e-10)
    assert row["se"] == pytest.approx(fit.bse["C(arm)[T.treatment]"], rel=1e-10)
    # the covariate explains variance: the ANCOVA SE is clearly smaller than the unadjusted one
    plain = effect_by_tier(experiment, treatment="arm", outcome="y", tier="tier")
    assert row["se"] < 0.85 * plain.table.set_index("tier").loc["B", "se"]

    res_c = effect_by_tier(experiment, treatment="arm", outcome="y", tier="tier", cluster="store")
    for t in ["A", "overall"]:
        sub = experiment if t == "overall" else experiment[experiment["tier"] == t]
        fit = smf.ols("y ~ C(arm)", data=sub).fit(
            cov_type="cluster", cov_kwds={"groups": sub["store"].to_numpy()}
        )
        row = res_c.table.set_index("tier").loc[t]
        assert row["effect"] == pytest.approx(fit.params["C(arm)[T.treatment]"], rel=1e-10)
        assert row["se"] == pytest.approx(fit.bse["C(arm)[T.treatment]"], rel=1e-10)
    assert res_c.cov_type == "cluster"


def test_heterogeneity_wald_equals_statsmodels(experiment):
    res = effect_by_tier(experiment, treatment="arm", outcome="y", tier="tier")
    fit = smf.ols("y ~ C(arm) * C(tier)", data=experiment).fit(cov_type="HC2")
    names = list(fit.params.index)
    R = np.array([[1.0 if n == c else 0.0 for n in names] for c in names if ":" in c])
    w = fit.wald_test(R, use_f=False, scalar=True)
    h = res.heterogeneity.iloc[0]
    assert h["chi2"] == pytest.approx(float(w.statistic), rel=1e-8)
    assert h["df"] == 2
    assert h["p_value"] == pytest.approx(float(w.pvalue), rel=1e-6, abs=1e-300)
    assert h["p_value"] < 1e-6  # planted effects 3 / 1 / 0 differ

    # no planted heterogeneity: the test does not reject at this seed
    flat = make_experiment(seed=3, effects={"A": 1.0, "B": 1.0, "C": 1.0})
    assert (
        effect_by_tier(flat, treatment="arm", outcome="y", tier="tier").heterogeneity.iloc[0][
            "p_value"
        ]
        > 0.05
    )


def test_binary_outcome_is_risk_difference(experiment):
    frame = experiment.assign(buy=experiment["buy"].astype(bool))
    res = effect_by_tier(frame, treatment="arm", outcome="buy", tier="tier")
    assert res.binary
    a = frame[frame["tier"] == "A"]
    rd = a.loc[a.arm == "treatment", "buy"].mean() - a.loc[a.arm == "control", "buy"].mean()
    assert res.table.set_index("tier").loc["A", "effect"] == pytest.approx(rd, rel=1e-12)


def test_dataframe_like_access_and_summary(experiment):
    res = effect_by_tier(experiment, treatment="arm", outcome="y", tier="tier")
    assert len(res) == 4  # three tiers + overall
    assert list(res["tier"]) == ["A", "B", "C", "overall"]
    for col in ["tier", "n_treated", "n_control", "control_mean", "effect", "se", "ci_low",
                "ci_high", "p_value", "p_adjusted", "relative_lift", "arm"]:  # fmt: skip
        assert col in res.columns
    text = res.summary()
    assert "Heterogeneity" in text and "overall" in text
    fig = res.plot_forest()
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_no_tier_gives_overall_only(experiment):
    res = effect_by_tier(experiment, treatment="arm", outcome="y")
    assert list(res["tier"]) == ["overall"]
    assert len(res.heterogeneity) == 0


# ------------------------------------------------------------------ any experiment table
def test_hand_built_multi_arm_table_with_other_names():
    rng = np.random.default_rng(11)
    n = 1800
    seg = rng.choice(["gold", "silver", "bronze"], n)
    grp = rng.choice(["A0", "promo", "visit"], n)
    lift = {"promo": 5.0, "visit": 12.0, "A0": 0.0}
    spend = 50 + pd.Series(grp).map(lift).to_numpy() + rng.normal(0, 10, n)
    frame = pd.DataFrame({"grp": grp, "segment": seg, "spend": spend})
    with pytest.raises(DataError, match="control="):
        effect_by_tier(frame, treatment="grp", outcome="spend", tier="segment")
    res = effect_by_tier(frame, treatment="grp", outcome="spend", tier="segment", control="A0")
    assert len(res) == 8  # 3 segments × 2 arms + 2 overall rows
    assert set(res["arm"]) == {"promo", "visit"}
    t = res.table.set_index(["tier", "arm"])
    # every (segment, arm) effect equals the difference in means and covers the planted lift
    for s in ["gold", "silver", "bronze"]:
        sub = frame[frame.segment == s]
        for a in ["promo", "visit"]:
            d = sub.loc[sub.grp == a, "spend"].mean() - sub.loc[sub.grp == "A0", "spend"].mean()
            assert t.loc[(s, a), "effect"] == pytest.approx(d, rel=1e-10)
            assert t.loc[(s, a), "ci_low"] < lift[a] < t.loc[(s, a), "ci_high"]
    # three-arm model per tier: equals statsmodels with both dummies
    fit = smf.ols("spend ~ C(grp, Treatment('A0'))", frame[frame.segment == "gold"]).fit(
        cov_type="HC2"
    )
    assert t.loc[("gold", "visit"), "se"] == pytest.approx(
        fit.bse["C(grp, Treatment('A0'))[T.visit]"], rel=1e-10
    )
    assert res.heterogeneity.iloc[0]["df"] == 4  # 2 arms × (3 - 1) segments


@pytest.mark.parametrize(
    ("labels", "control"), [([0, 1], 0), ([False, True], False), (["Control", "T"], "Control")]
)
def test_control_autodetect(labels, control):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"g": rng.choice(labels, 200), "y": rng.normal(size=200)})
    res = effect_by_tier(frame, treatment="g", outcome="y")
    assert res.control == control


# ------------------------------------------------------------------ bad input
def test_errors_are_clear(experiment):
    with pytest.raises(DataError, match="outcome column 'nope'"):
        effect_by_tier(experiment, treatment="arm", outcome="nope")
    with pytest.raises(DataError, match="tier column 'segment'"):
        effect_by_tier(experiment, treatment="arm", outcome="y", tier="segment")
    with pytest.raises(DataError, match="only one arm"):
        effect_by_tier(experiment.assign(arm="control"), treatment="arm", outcome="y")
    with pytest.raises(DataError, match="not numeric"):
        effect_by_tier(experiment, treatment="arm", outcome="tier")
    with pytest.raises(DataError, match="control arm 'placebo'"):
        effect_by_tier(experiment, treatment="arm", outcome="y", control="placebo")


def test_tier_without_control_is_skipped_and_reported(experiment):
    frame = experiment[~((experiment["tier"] == "A") & (experiment["arm"] == "control"))]
    res = effect_by_tier(frame, treatment="arm", outcome="y", tier="tier")
    assert list(res["tier"]) == ["B", "C", "overall"]
    assert list(res.skipped["tier"]) == ["A"]
    assert "0 control" in res.skipped.iloc[0]["reason"]
    assert "Skipped" in res.summary()
    # heterogeneity uses the two estimable tiers only
    assert res.heterogeneity.iloc[0]["n_tiers"] == 2


def test_missing_values_are_counted_not_silently_dropped(experiment):
    frame = experiment.copy()
    frame.loc[frame.index[:7], "y"] = np.nan
    frame.loc[frame.index[10:13], "arm"] = None
    res = effect_by_tier(frame, treatment="arm", outcome="y", tier="tier")
    assert res.excluded.set_index("reason")["rows"].to_dict() == {
        "missing 'arm'": 3,
        "missing 'y'": 7,
    }
    assert res.n_rows == len(frame) - 10
    overall = res.table.set_index("tier").loc["overall"]
    assert overall["n_treated"] + overall["n_control"] == len(frame) - 10


# ------------------------------------------------------------------ roi
def test_roi_by_hand():
    effects = pd.DataFrame(
        {
            "tier": ["A", "B"],
            "effect": [100.0, 20.0],
            "ci_low": [60.0, -10.0],
            "ci_high": [140.0, 50.0],
            "n_treated": [10, 200],
        }  # fmt: skip
    )
    out = roi(effects, margin={"A": 0.3, "B": 0.5}, cost_per_customer=12.0).set_index("tier")
    assert out.loc["A", "break_even_cost"] == pytest.approx(30.0)
    assert out.loc["A", "profit_per_customer"] == pytest.approx(18.0)
    assert out.loc["A", "profit_ci_low"] == pytest.approx(0.3 * 60 - 12)
    assert out.loc["A", "total_profit"] == pytest.approx(180.0)
    assert out.loc["B", "profit_per_customer"] == pytest.approx(-2.0)
    assert out.loc["B", "break_even_ci_low"] == pytest.approx(-5.0)
    assert out.loc["B", "roi"] == pytest.approx(-2.0 / 12)
    with pytest.raises(DataError, match="margin has no value"):
        roi(effects, margin={"A": 0.3}, cost_per_customer=1.0)


# ------------------------------------------------------------------ power
def test_power_table_equals_statsmodels_and_closed_form():
    out = power_table({"A": (400, 400), "B": (100, 300)}, baseline=0.2, effect=0.08)
    out = out.set_index("tier")
    for t, (n1, n0) in {"A": (400, 400), "B": (100, 300)}.items():
        h = NormalIndPower().solve_power(None, nobs1=n1, alpha=0.05, power=0.8, ratio=n0 / n1)
        assert out.loc[t, "mde_effect_size"] == pytest.approx(h, rel=1e-8)
        # closed form (the far tail is negligible): h = (z_{.975} + z_{.8}) sqrt(1/n1 + 1/n0)
        z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
        assert h == pytest.approx(z * math.sqrt(1 / n1 + 1 / n0), rel=1e-4)
        p1 = math.sin(math.asin(math.sqrt(0.2)) + h / 2) ** 2
        assert out.loc[t, "mde"] == pytest.approx(p1 - 0.2, rel=1e-8)
        assert proportion_effectsize(0.2 + out.loc[t, "mde"], 0.2) == pytest.approx(h, rel=1e-8)
        es = proportion_effectsize(0.28, 0.2)
        n_req = NormalIndPower().solve_power(es, nobs1=None, alpha=0.05, power=0.8, ratio=1.0)
        assert out.loc[t, "n_treated_required"] == math.ceil(n_req)
        # n per arm for equal arms: 2 (z_a + z_b)^2 / h^2 / 2 ... i.e. (z/h)^2 * 2
        assert n_req == pytest.approx(2 * (z / es) ** 2, rel=1e-3)
        assert out.loc[t, "power_at_n"] == pytest.approx(
            NormalIndPower().power(es, nobs1=n1, alpha=0.05, ratio=n0 / n1), rel=1e-10
        )


def test_power_table_continuous_from_frame(experiment):
    out = power_table(experiment, treatment="arm", outcome="y", tier="tier", effect=1.0)
    out = out.set_index("tier")
    a = experiment[experiment.tier == "A"]
    nt, nc = int((a.arm == "treatment").sum()), int((a.arm == "control").sum())
    sd = a["y"].std()
    d = TTestIndPower().solve_power(None, nobs1=nt, alpha=0.05, power=0.8, ratio=nc / nt)
    assert out.loc["A", "sd"] == pytest.approx(sd)
    assert out.loc["A", "mde"] == pytest.approx(d * sd, rel=1e-8)
    assert out.loc["A", "baseline"] == pytest.approx(a.loc[a.arm == "control", "y"].mean())
    n1 = TTestIndPower().solve_power(1.0 / sd, nobs1=None, alpha=0.05, power=0.8, ratio=nc / nt)
    assert out.loc["A", "n_treated_required"] == math.ceil(n1)
    # smaller tier -> larger MDE
    assert out.loc["A", "mde"] > out.loc["C", "mde"]


# ------------------------------------------------------------------ policy value
def test_policy_value_hand_computed_ipw():
    frame = pd.DataFrame(
        {
            "t": [1, 1, 0, 0, 1, 0, 1, 0],
            "y": [5.0, 3.0, 2.0, 4.0, 7.0, 1.0, 0.0, 6.0],
            "score": [8, 7, 6, 5, 4, 3, 2, 1],
        }
    )
    res = policy_value(
        frame,
        {"top": "score", "all": "everyone", "none": "nobody", "rand": "random"},
        treatment="t",
        outcome="y",
        budget=0.5,
        n_boot=200,
    )
    v = res.table.set_index("rule")["value"]
    # e = 0.5; top-4 by score = rows 0..3 treated: treated rows 0, 1 count with weight 2, control
    # rows 5, 7 (outside top-4) count with weight 2.
    assert v["top"] == pytest.approx((5 + 3) * 2 / 8 + (1 + 6) * 2 / 8)
    assert v["all"] == pytest.approx(np.mean([5, 3, 7, 0]))
    assert v["none"] == pytest.approx(np.mean([2, 4, 1, 6]))
    assert v["rand"] == pytest.approx(0.5 * v["all"] + 0.5 * v["none"])
    # explicit propensity gives the Horvitz–Thompson sum with those weights
    res2 = policy_value(frame, {"top": "score"}, treatment="t", outcome="y", budget=4,
                        propensity=0.4, n_boot=50)  # fmt: skip
    assert res2.table["value"].iloc[0] == pytest.approx((8 / 0.4 + 7 / 0.6) / 8)


def test_policy_value_recovers_planted_truth():
    rng = np.random.default_rng(5)
    n = 20_000
    x = rng.uniform(size=n)
    t = rng.integers(0, 2, n)
    y = 1 + rng.normal(0, 1, n) + t * 2 * x  # effect 2x: worth targeting high x
    frame = pd.DataFrame({"t": t, "y": y, "x": x, "noise": rng.uniform(size=n)})
    res = policy_value(
        frame,
        {
            "by_x": "x",
            "by_noise": "noise",
            "random": "random",
            "everyone": "everyone",
            "nobody": "nobody",
        },  # fmt: skip
        treatment="t",
        outcome="y",
        budget=0.3,
        n_boot=300,
    )
    tab = res.table.set_index("rule")
    truth = {"by_x": 1 + (1 - 0.7**2), "by_noise": 1 + 0.3, "random": 1.3, "everyone": 2.0,
             "nobody": 1.0}  # fmt: skip
    for rule, v in truth.items():
        assert tab.loc[rule, "ci_low"] < v < tab.loc[rule, "ci_high"], rule
    assert tab.loc["by_x", "gain_ci_low"] > tab.loc["random", "gain_ci_high"] - 0.1
    assert tab.loc["by_x", "value"] > tab.loc["random", "value"] + 0.1
    # which score targets better: index-like x against an uninformative score
    diff = res.compare("by_x", "by_noise")
    assert diff["difference"] == pytest.approx(
        tab.loc["by_x", "value"] - tab.loc["by_noise", "value"]
    )
    assert 0 < diff["ci_low"] < 0.21 < diff["ci_high"]  # truth 1.51 - 1.30
    assert diff["p_value"] < 0.01
    with pytest.raises(DataError, match="no rule"):
        res.compare("by_x", "nope")
    assert isinstance(res.plot_policy_values(), matplotlib.figure.Figure)


def test_policy_value_errors():
    frame = pd.DataFrame({"t": [0, 1, 0, 1], "y": [1.0, 2, 3, 4], "s": [1, 2, 3, 4]})
    with pytest.raises(DataError, match="needs a budget"):
        policy_value(frame, {"s": "s"}, treatment="t", outcome="y")
    with pytest.raises(DataError, match="score column 'zz'"):
        policy_value(frame, {"z": "zz"}, treatment="t", outcome="y", budget=0.5)


# ------------------------------------------------------------------ experiment_from_log
def test_experiment_from_log_by_hand():
    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "a", "c", "c", "z"],
            "date": pd.to_datetime(
                [
                    "2024-01-05",
                    "2024-02-01",
                    "2024-03-01",
                    "2024-04-10",
                    "2024-04-02",
                    "2024-05-01",
                    "2024-04-03",
                ]  # fmt: skip
            ),
            "amount": [10.0, 20.0, 5.0, 30.0, 7.0, -2.0, 99.0],
        }
    )
    campaign = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "arm": ["treatment", "control", "treatment"],
            "tier": ["A", "B", "B"],
        }  # fmt: skip
    )
    out = experiment_from_log(
        log, campaign, pre=("2024-01-01", "2024-03-31"), post=("2024-04-01", "2024-06-30")
    )
    out = out.set_index("customer_id")
    assert list(out.index) == ["a", "b", "c"]
    assert out["pre_active"].to_dict() == {"a": True, "b": True, "c": False}
    assert out.loc["a", "frequency"] == 2 and out.loc["a", "monetary"] == pytest.approx(30.0)
    assert np.isnan(out.loc["c", "monetary"])  # kept, not dropped
    assert out["purchases"].to_dict() == {"a": 1, "b": 0, "c": 2}
    assert out["revenue"].to_dict() == pytest.approx({"a": 30.0, "b": 0.0, "c": 5.0})
    assert out["churned"].to_dict() == {"a": False, "b": True, "c": False}
    assert out.attrs["n_no_pre_activity"] == 1
    assert out.attrs["n_log_customers_not_in_campaign"] == 1  # "z"
    with pytest.raises(DataError, match="duplicated customer_id"):
        experiment_from_log(
            log, pd.concat([campaign, campaign.iloc[:1]]), pre=("2024-01-01", "2024-03-31"),
            post=("2024-04-01", "2024-06-30"),
        )  # fmt: skip


def test_holm_matches_statsmodels_multipletests():
    from statsmodels.stats.multitest import multipletests

    from crmresearch._stats import holm

    rng = np.random.default_rng(0)
    for size in (1, 3, 8):  # multipletests runs gc.collect() per call: keep this loop short
        p = rng.uniform(0, 0.2, size)
        np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-12)


def test_power_curve_passes_080_at_the_mde():
    from crmresearch.plots import power_curve_plot

    table = power_table({"A": (200, 200), "B": (800, 800)}, sd=10.0)
    fig = power_curve_plot(table)
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    for line, (_, row) in zip(ax.get_lines()[:2], table.iterrows(), strict=True):
        x, y = line.get_data()
        assert np.interp(row["mde"], x, y) == pytest.approx(0.8, abs=0.01)


def test_synthetic_campaign_end_to_end_with_ancova():
    """make_crm_data -> experiment_from_log -> effect_by_tier (ANCOVA) -> roi, planted truth."""
    try:
        from crmresearch.datasets import make_crm_data
    except ImportError:
        try:
            from crmresearch.synthetic import make_crm_data
        except ImportError:
            pytest.skip("crmresearch.datasets.make_crm_data is not available yet")
    crm = make_crm_data(3000, seed=0)
    truth = crm.truth
    frame = experiment_from_log(
        crm.transactions,
        crm.campaign,
        pre=(truth.start, truth.calibration_end),
        post=(truth.holdout_start, truth.holdout_end),
    )
    assert len(frame) == len(crm.campaign)
    assert frame.attrs["n_no_pre_activity"] == int((~frame["pre_active"]).sum())
    frame["monetary0"] = frame["monetary"].fillna(0.0)
    frame["frequency0"] = frame["frequency"].fillna(0.0)
    plain = effect_by_tier(frame, treatment="arm", outcome="revenue", tier="tier")
    adjusted = effect_by_tier(
        frame,
        treatment="arm",
        outcome="revenue",
        tier="tier",
        covariates=["monetary0", "frequency0"],
    )
    p, a = plain.table.set_index("tier"), adjusted.table.set_index("tier")
    for t in ["A", "B", "C"]:
        planted = truth.campaign_effects.loc[t, "revenue"]
        assert a.loc[t, "ci_low"] < planted < a.loc[t, "ci_high"], t
        assert a.loc[t, "se"] < p.loc[t, "se"]  # pre-period revenue is prognostic
    profit = roi(adjusted, margin=0.3, cost_per_customer=20.0).set_index("tier")
    assert profit.loc["C", "break_even_cost"] == pytest.approx(0.3 * a.loc["C", "effect"])


def test_policy_value_doubly_robust_by_hand_and_planted():
    rng = np.random.default_rng(9)
    n = 4000
    x = rng.uniform(size=n)
    z = rng.normal(size=n)  # prognostic pre-period covariate
    t = rng.integers(0, 2, n)
    y = 1 + 3 * z + rng.normal(0, 1, n) + t * 2 * x
    frame = pd.DataFrame({"t": t, "y": y, "x": x, "z": z})
    rules = {"by_x": "x", "everyone": "everyone", "nobody": "nobody"}
    dr = policy_value(frame, rules, treatment="t", outcome="y", budget=0.3, covariates=["z"],
                      n_boot=300)  # fmt: skip
    ipw = policy_value(frame, rules, treatment="t", outcome="y", budget=0.3, n_boot=300)
    # by hand: arm-wise OLS outcome models (statsmodels), e = share treated, AIPW formula
    m1 = smf.ols("y ~ z", frame[frame.t == 1]).fit().predict(frame).to_numpy()
    m0 = smf.ols("y ~ z", frame[frame.t == 0]).fit().predict(frame).to_numpy()
    e = t.mean()
    pi = np.zeros(n)
    pi[np.argsort(-x, kind="stable")[:1200]] = 1
    psi = pi * m1 + (1 - pi) * m0 + t * pi * (y - m1) / e + (1 - t) * (1 - pi) * (y - m0) / (1 - e)
    d = dr.table.set_index("rule")
    assert d.loc["by_x", "value"] == pytest.approx(psi.mean(), rel=1e-9)
    truth = {"by_x": 1 + (1 - 0.7**2), "everyone": 2.0, "nobody": 1.0}
    for rule, v in truth.items():
        assert d.loc[rule, "ci_low"] < v < d.loc[rule, "ci_high"], rule
    # the covariate removes outcome noise: narrower intervals than plain IPW (0.71x at this seed)
    i = ipw.table.set_index("rule")
    assert (d.loc["by_x", "ci_high"] - d.loc["by_x", "ci_low"]) < 0.8 * (
        i.loc["by_x", "ci_high"] - i.loc["by_x", "ci_low"]
    )
