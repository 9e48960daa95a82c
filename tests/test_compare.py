"""compare: agreement statistics vs scikit-learn/scipy/statsmodels, concentration, dynamics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import adjusted_rand_score, cohen_kappa_score
from statsmodels.stats.multitest import multipletests

from crmresearch import compare as C
from crmresearch import tiers as T
from crmresearch.errors import DataError
from test_loss_score import score_reference  # brute-force score CI (tests/test_loss_score.py)


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(11)
    n = 400
    idx = pd.Index([f"c{i:04d}" for i in range(n)], name="customer_id")
    value = pd.Series(rng.gamma(1.2, 80.0, n), index=idx, name="monetary")
    other = pd.Series(np.log(value.to_numpy()) + rng.normal(0, 0.7, n), index=idx, name="index")
    return value, other


def test_kappa_ari_chi2_match_references(pair):
    value, other = pair
    a = T.quantiles(value, 4).rename("volume")
    b = T.quantiles(other, 4).rename("index")
    r = C.compare_schemes(a, b, value=value)
    ca, cb = a.cat.codes.to_numpy(), b.cat.codes.to_numpy()
    assert r.kappa == pytest.approx(
        cohen_kappa_score(ca, cb, weights="linear", labels=list(range(4))), abs=1e-12
    )
    assert r.kappa_weights == "linear"
    assert r.ari == pytest.approx(adjusted_rand_score(ca, cb), abs=1e-12)
    chi2, p, dof, _ = stats.chi2_contingency(r.counts.to_numpy(), correction=False)
    assert r.chi2 == pytest.approx(chi2, rel=1e-12)
    assert r.chi2_p == pytest.approx(p, rel=1e-9)
    assert r.chi2_df == dof
    assert r.cramers_v == pytest.approx(np.sqrt(chi2 / (len(a) * 3)), rel=1e-12)
    # crosstab equals pandas.crosstab; shares and value shares from a plain pivot
    ref = pd.crosstab(a, b, dropna=False)
    assert (r.counts.to_numpy() == ref.to_numpy()).all()
    assert np.allclose(r.row_shares.sum(axis=1), 1.0)
    assert np.allclose(r.col_shares.sum(axis=0), 1.0)
    pivot = value.groupby([a, b], observed=False).sum().unstack() / value.sum()
    assert np.allclose(r.value_share.to_numpy(), pivot.to_numpy())
    assert r.agreement == pytest.approx(np.trace(ref.to_numpy()) / len(a))
    text = r.summary()
    assert "Cohen's kappa" in text and f"{r.kappa:.4f}" in text


def test_unordered_and_unequal_schemes(pair):
    value, other = pair
    a = T.abc(value)
    vm = T.value_matrix(value, other)
    r = C.compare_schemes(a, vm)
    assert np.isnan(r.kappa) and any("kappa not defined" in n for n in r.notes)
    assert r.ari == pytest.approx(adjusted_rand_score(a.cat.codes, vm.cat.codes), abs=1e-12)
    # unordered categories of equal size: unweighted kappa
    u1 = pd.Series(pd.Categorical(np.where(value > value.median(), "x", "y")), index=value.index)
    u2 = pd.Series(pd.Categorical(np.where(other > other.median(), "x", "y")), index=value.index)
    r2 = C.compare_schemes(u1, u2)
    assert r2.kappa_weights is None
    assert r2.kappa == pytest.approx(cohen_kappa_score(u1.cat.codes, u2.cat.codes), abs=1e-12)


def test_compare_counts_excluded_and_empty_categories():
    idx = list("abcdef")
    a = T.abc(pd.Series([6, 5, 4, 3, 2, np.nan], index=idx, dtype=float), shares=(0.4, 0.6))
    b = T.abc(pd.Series([6, 5, 4, 3, 2, 1], index=idx, dtype=float), shares=(0.4, 0.6))
    r = C.compare_schemes(a, b.drop("e"))
    assert r.n_excluded == 2 and r.n == 4  # f: NaN tier in a; e: absent from b
    # empty categories stay in the table; chi-square drops them (scipy would divide by 0)
    single = T.abc(pd.Series([1.0, 1.0, 1.0], index=list("abc")))
    r2 = C.compare_schemes(single, single)
    assert r2.counts.shape == (3, 3) and np.isnan(r2.chi2)
    assert r2.ari == 1.0 == adjusted_rand_score([2, 2, 2], [2, 2, 2])


def test_gini_and_lorenz_against_definitions(pair):
    value, _ = pair
    x = value.to_numpy()
    mad = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert C.gini(value) == pytest.approx(mad, rel=1e-12)
    lc = C.lorenz(value)
    assert len(lc) == len(x) + 1
    assert lc.iloc[0].tolist() == [0.0, 0.0] and lc.iloc[-1].tolist() == pytest.approx([1, 1])
    # Gini = 1 - 2 * area under the Lorenz curve (trapezoids)
    area = np.trapezoid(lc["value_share"], lc["customer_share"])
    assert C.gini(value) == pytest.approx(1 - 2 * area, rel=1e-9)
    assert C.gini(pd.Series([5.0] * 10)) == pytest.approx(0.0)
    assert C.gini(pd.Series([0.0] * 9 + [7.0])) == pytest.approx(0.9)  # (n - 1) / n
    assert C.gini(pd.Series([0.0, 0.0])) == 0.0
    with pytest.raises(DataError, match="negative"):
        C.gini(pd.Series([1.0, -1.0]))
    with pytest.raises(DataError, match="missing"):
        C.lorenz(pd.Series([1.0, np.nan]))


def test_tier_profiles_against_scipy(pair):
    value, other = pair
    tiers = T.quantiles(value, 3)
    feats = pd.DataFrame({"monetary": value, "index": other})
    prof = C.tier_profiles(feats, tiers)
    ref_means = feats.groupby(tiers, observed=False).mean()
    assert np.allclose(prof.means.to_numpy(), ref_means.to_numpy())
    assert np.allclose(prof.medians.to_numpy(), feats.groupby(tiers, observed=False).median())
    groups = [other[tiers == t] for t in tiers.cat.categories]
    h, p = stats.kruskal(*groups)
    assert prof.kruskal.loc["index", "H"] == pytest.approx(h)
    assert prof.kruskal.loc["index", "p_value"] == pytest.approx(p)
    pw = prof.pairwise[prof.pairwise["indicator"] == "index"]
    raw = [stats.mannwhitneyu(groups[i], groups[j]).pvalue for i, j in [(0, 1), (0, 2), (1, 2)]]
    assert pw["p_value"].to_numpy() == pytest.approx(raw)
    assert pw["p_holm"].to_numpy() == pytest.approx(multipletests(raw, method="holm")[1])
    assert prof.counts.tolist() == [133, 133, 134]  # floor(n/3), floor(2n/3) cut-offs
    assert "Kruskal" in prof.summary()


def test_migration_matrix_hand_example():
    cats = pd.CategoricalDtype(["A", "B", "C"], ordered=True)
    before = pd.Series(["A", "B", "C", "C", "B", None], index=list("uvwxyz"), dtype=cats)
    after = pd.Series(["B", "A", "C", None, "B", "C"], index=list("uvwxyz"), dtype=cats)
    m = C.migration_matrix(before, after)
    assert m.n_both == 4
    assert (m.upgrade_rate, m.downgrade_rate, m.stay_rate) == (0.25, 0.25, 0.5)
    assert m.entered == 1 and m.lapsed == 1
    assert m.counts.loc["A", "B"] == 1 and m.counts.loc["C", "inactive"] == 1
    assert m.counts.loc["inactive", "C"] == 1 and m.counts.to_numpy().sum() == 6
    m2 = C.migration_matrix(before, after, inactive_label=None)
    assert m2.counts.shape == (3, 3) and m2.n_excluded == 2
    with pytest.raises(DataError, match="same scheme"):
        C.migration_matrix(before, T.abc(pd.Series([1.0], index=["u"]), shares=(1.0,)))


@pytest.fixture
def small_log():
    rows = [
        ("a", "2024-01-05", 100.0), ("a", "2024-01-20", 50.0), ("b", "2024-01-10", 10.0),
        ("c", "2024-02-01", 500.0), ("a", "2024-02-03", 5.0), ("b", "2024-03-01", 300.0),
        ("c", "2024-03-15", 1.0), ("d", "2024-03-20", 40.0),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).assign(
        date=lambda d: pd.to_datetime(d["date"])
    )


def test_reclassify_volume_per_month(small_log):
    tiers, values = C.reclassify(small_log, "M", scheme="quantiles", q=2, return_values=True)
    p = pd.period_range("2024-01", "2024-03", freq="M")
    assert list(tiers.columns) == list(p)
    exp = pd.DataFrame(
        {p[0]: [150.0, 10.0, np.nan, np.nan], p[1]: [5.0, 0.0, 500.0, np.nan],
         p[2]: [0.0, 300.0, 1.0, 40.0]},
        index=pd.Index(["a", "b", "c", "d"], name="customer_id"),
    )  # fmt: skip
    pd.testing.assert_frame_equal(values.loc[exp.index], exp, check_names=False)
    # January: 2 known customers, a (150) top half; March: b top of 4 with d 2nd
    assert tiers.loc["a", p[0]] == "Q1" and tiers.loc["b", p[0]] == "Q2"
    assert pd.isna(tiers.loc["c", p[0]])
    assert tiers.loc["b", p[2]] == "Q1" and tiers.loc["d", p[2]] == "Q1"
    assert tiers.loc["a", p[2]] == "Q2"
    m = C.migration_matrix(tiers[p[0]], tiers[p[1]])
    assert m.entered == 1 and m.n_both == 2
    stars = C.rising_stars(values, tiers, rise=100, periods=2)
    # b rose 10 -> 300 but is top now; nobody else rose >= 100 and is outside Q1
    assert stars.empty
    stars2 = C.rising_stars(values, tiers, rise=-1000, periods=1, top_tiers=[])
    assert set(stars2.index) == {"a", "b", "c"}  # d has no February value
    assert stars2.attrs["n_missing"] == 1
    assert stars2["rise"].is_monotonic_decreasing


def test_reclassify_with_an_index_uses_features(small_log):
    class MonetaryIndex:  # stands in for a fitted ClassificationIndex
        def composite(self, X):
            return X["monetary"].rename("composite")

    tiers, values = C.reclassify(
        small_log, "M", scheme="abc", index=MonetaryIndex(), shares=(0.5, 0.5),
        return_values=True,
    )  # fmt: skip
    p = values.columns
    # cumulative window: monetary up to the end of each month
    assert values.loc["a", p[1]] == 155.0 and values.loc["c", p[2]] == 501.0
    assert pd.isna(values.loc["d", p[1]])
    assert tiers.loc["c", p[2]] == "A" and tiers.loc["b", p[2]] == "A"
    # with the index system's preparation (ecommerce logs monetary) applied per period
    _, logged = C.reclassify(small_log, "M", scheme="abc", index=MonetaryIndex(),
                             config="ecommerce", shares=(0.5, 0.5), return_values=True)  # fmt: skip
    assert logged.loc["a", p[1]] == pytest.approx(np.log1p(155.0))
    with pytest.raises(ValueError, match="window"):
        C.reclassify(small_log, "M", index=MonetaryIndex(), window="rolling")


def test_predictive_validity_hand_example():
    idx = list("abcdefghij")
    outcome = pd.DataFrame({"revenue": [100, 90, 80, 0, 0, 0, 0, 0, 5, 5]}, index=idx, dtype=float)
    cats = pd.CategoricalDtype(["top", "rest"], ordered=True)
    s1 = pd.Series(["top", "top", "rest", "top"] + ["rest"] * 6, index=idx, dtype=cats)
    pv = C.predictive_validity({"s1": s1}, outcome, top=0.2, n_boot=200, seed=1)
    row = pv.table.loc["s1"]
    # actual top 20 % = a, b; predicted = a, b, d
    assert row["precision"] == pytest.approx(2 / 3)
    assert row["recall"] == pytest.approx(1.0)
    assert row["value_capture"] == pytest.approx(190 / 280)
    assert row["precision_low"] <= row["precision"] <= row["precision_high"]
    g = pv.gain["s1"]
    assert g["customer_share"].tolist() == pytest.approx([0.0, 0.3, 1.0])
    assert g["value_share"].tolist() == pytest.approx([0.0, 190 / 280, 1.0])
    assert "precision" in pv.summary()


# ------------------------------------------------------------------ issue 10: rising stars
def _rising_world(n=6000, seed=2):
    rng = np.random.default_rng(seed)
    idx = pd.Index([f"r{i:04d}" for i in range(n)], name="customer_id")
    p = pd.period_range("2024Q1", "2024Q2", freq="Q")
    v0 = rng.uniform(0, 80, n)
    v1 = v0 + rng.normal(0, 8, n)
    values = pd.DataFrame({p[0]: v0, p[1]: v1}, index=idx)
    tiers = pd.DataFrame({q: T.abc(values[q]) for q in p}, index=idx)
    # planted: customers whose index rose by 10+ churn less and buy more
    rose = (v1 - v0) >= 10
    churned = rng.random(n) < np.where(rose, 0.2, 0.5)
    revenue = np.where(churned, 0.0, rng.gamma(2, 50, n) * np.where(rose, 2.0, 1.0))
    outcomes = pd.DataFrame({"churned": churned, "revenue": revenue}, index=idx)
    return values, tiers, outcomes


def test_validate_rising_stars_vs_plain_pandas_and_scipy():
    from statsmodels.stats.proportion import test_proportions_2indep

    values, tiers, outcomes = _rising_world()
    v = C.validate_rising_stars(values, tiers, outcomes, rise=10, periods=1)
    last = values.columns[-1]
    rose = (values[last] - values[values.columns[0]]) >= 10
    now = tiers[last]
    assert "not in the top index tier (A)" in v.rule and "at least 10 points" in v.rule
    assert set(v.rising.index) == set(rose[rose & (now != "A")].index)
    for tier, row in v.table.iterrows():
        r_m = rose & (now == tier)
        p_m = ~rose & (now == tier)
        ch, y = outcomes["churned"], outcomes["revenue"]
        assert row["n_rising"] == r_m.sum() and row["n_peers"] == p_m.sum()
        assert row["churn_rising"] == pytest.approx(ch[r_m].mean())
        a, n1, c, n0 = int(ch[r_m].sum()), int(r_m.sum()), int(ch[p_m].sum()), int(p_m.sum())
        _, lo, hi, _ = score_reference(a, n1, c, n0)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), abs=2e-6)
        assert row["p_value"] == pytest.approx(
            test_proportions_2indep(a, n1, c, n0, method="score").pvalue, rel=1e-9)  # fmt: skip
        t = stats.ttest_ind(y[r_m], y[p_m], equal_var=False)
        assert row["revenue_p_value"] == pytest.approx(t.pvalue, rel=1e-9)
        assert row["revenue_difference"] == pytest.approx(y[r_m].mean() - y[p_m].mean())
    # the planted effect is found and stated in the direction of the estimate
    b = v.table.loc["B"]
    assert b["ci_high"] < 0 and b["revenue_ci_low"] > 0
    text = [s for s in v.findings() if s.startswith("Index tier B")][0]
    assert "churned less often than their peers" in text
    assert v.to_dict()["by_tier"]["B"]["n_rising"] == int(b["n_rising"])


# ------------------------------------------------------------------ issue 10: baselines
def _validity_world(n=2000, seed=5):
    rng = np.random.default_rng(seed)
    idx = pd.Index([f"v{i:05d}" for i in range(n)], name="customer_id")
    worth = rng.gamma(1.0, 100.0, n)
    revenue = worth * rng.lognormal(0, 0.3, n)
    outcomes = pd.DataFrame({"revenue": revenue, "churned": rng.random(n) < 1 / (1 + worth / 50)},
                            index=idx)  # fmt: skip
    scores = {
        "index": pd.Series(worth + rng.normal(0, 10, n), index=idx),
        "volume": pd.Series(worth + rng.normal(0, 60, n), index=idx),
        "rfm": pd.Series(np.round(worth / 50), index=idx),  # heavy ties
    }
    return scores, outcomes


def test_baseline_validity_same_size_tiers_and_paired_bootstrap():
    scores, outcomes = _validity_world()
    v = C.baseline_validity(scores, outcomes, top=0.2, n_boot=400, seed=3)
    n = len(outcomes)
    assert (v.table["k"] == 400).all()  # same size for every scheme, ties broken at random
    y, ch = outcomes["revenue"], outcomes["churned"]
    actual = y.rank(ascending=False, method="first") <= 400  # no ties in continuous revenue
    for s in ("index", "volume"):
        top = scores[s].rank(ascending=False, method="first") <= 400
        row = v.table.loc[s]
        assert row["precision"] == pytest.approx((top & actual).sum() / 400)
        assert row["value_capture"] == pytest.approx(y[top].sum() / y.sum())
        assert row["churn"] == pytest.approx(ch[top].mean())
        assert row["precision_low"] < row["precision"] < row["precision_high"]
    d = v.differences.loc["volume"]
    assert d["diff_value_capture"] == pytest.approx(
        v.table.loc["volume", "value_capture"] - v.table.loc["index", "value_capture"])  # fmt: skip
    # the noisier score is worse, and the paired CI of the difference says so
    assert d["diff_value_capture_high"] < 0 and d["diff_precision_high"] < 0
    # paired CIs of a difference are narrower than the unpaired sum of the two half-widths
    half = lambda s, m: (v.table.loc[s, m + "_high"] - v.table.loc[s, m + "_low"]) / 2  # noqa: E731
    assert (d["diff_value_capture_high"] - d["diff_value_capture_low"]) / 2 < (
        half("volume", "value_capture") + half("index", "value_capture"))  # fmt: skip
    out = v.to_dict()
    assert set(out) == {"index", "volume", "rfm"}
    assert out["volume"]["value_capture_minus_index_ci"][1] < 0
    assert n == v.n


def test_baseline_validity_out_of_time_spread_and_helpers():
    scores, outcomes = _validity_world()
    windows = [(f"w{i}", *_validity_world(seed=10 + i)) for i in range(3)]
    v = C.baseline_validity(scores, outcomes, n_boot=50, out_of_time=lambda: windows)
    per = v.out_of_time[(v.out_of_time["scheme"] == "index")]["value_capture"]
    assert len(per) == 3
    assert v.spread.loc[("index", "value_capture"), "std"] == pytest.approx(per.std())
    assert v.to_dict()["index"]["out_of_time"]["value_capture"]["max"] == pytest.approx(per.max())
    f = pd.DataFrame({"recency_days": [5.0, 50, 500, 20], "purchase_days": [9.0, 3, 1, 5],
                      "monetary": [900.0, 300, 50, 400]}, index=list("abcd"))  # fmt: skip
    name, vals = C.best_single_indicator(
        f, pd.DataFrame({"revenue": [100.0, 10, 0, 50]}, index=list("abcd")), top=0.25)
    assert name == "recency_days" and vals["a"] == -5.0  # a cost: oriented so higher = better
    rs = C.rfm_score(pd.concat([f] * 10).set_axis([f"{i}{j}" for j in range(10) for i in "abcd"]))
    assert rs.notna().all() and rs.idxmax().startswith("a")


def test_reclassify_refuses_an_index_without_composite(small_log):
    with pytest.raises(TypeError, match="composite"):
        C.reclassify(small_log, "M", index=object())
