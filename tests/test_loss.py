"""loss: groups vs plain pandas, CIs vs statsmodels, planted neglect, CDNOW acceptance, edge cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from crmresearch import loss as L
from crmresearch import tiers as T
from crmresearch.errors import DataError


# ------------------------------------------------------------------ hand-built inputs
@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(5)
    n = 1500
    idx = pd.Index([f"c{i:05d}" for i in range(n)], name="customer_id")
    revenue = pd.Series(rng.gamma(1.0, 120.0, n).round(2), index=idx, name="monetary")
    index_values = pd.Series(
        np.log1p(revenue.to_numpy()) + rng.normal(0, 1.0, n), index=idx, name="composite"
    )
    volume = T.abc(revenue)
    core = index_values.rank(ascending=False, method="max") <= math.floor(0.2 * n)
    neglected = core & (volume != "A")
    churned = rng.random(n) < np.where(neglected, 0.45, 0.2)
    outcomes = pd.DataFrame(
        {"purchases": (~churned).astype(int) * 3, "revenue": np.where(churned, 0.0, revenue * 0.6),
         "churned": churned},
        index=idx,
    )  # fmt: skip
    return index_values, volume, outcomes, revenue


def _reference_groups(index_values, volume, churned, revenue, core_share=0.2, tops=("A",)):
    """Plain pandas: core by rank, groups, churn, revenue before/lost."""
    n = len(index_values)
    rank = index_values.rank(ascending=False, method="max")
    core = rank <= math.floor(core_share * n + 1e-9)
    served = core & volume.astype(str).isin(tops)
    group = pd.Series("other", index=index_values.index)
    group[core & ~served] = "neglected_core"
    group[served] = "served_core"
    df = pd.DataFrame({"group": group, "churned": churned, "revenue": revenue})
    out = df.groupby("group").agg(
        customers=("churned", "size"), churned=("churned", "sum"), churn_rate=("churned", "mean"),
        revenue_before=("revenue", "sum"),
    )  # fmt: skip
    out["revenue_lost"] = df[df["churned"]].groupby("group")["revenue"].sum()
    out["share"] = out["customers"] / n
    return out.reindex(["neglected_core", "served_core", "other"])


def test_groups_equal_plain_pandas(world):
    index_values, volume, outcomes, revenue = world
    r = L.potential_core_loss(index_values, volume, outcomes, revenue_before=revenue)
    ref = _reference_groups(index_values, volume, outcomes["churned"], revenue)
    for col in ("customers", "churned", "churn_rate", "revenue_before", "revenue_lost", "share"):
        assert r.groups[col].to_numpy() == pytest.approx(ref[col].to_numpy(), rel=1e-12), col
    assert r.groups["customers"].sum() == len(index_values) == r.n
    assert (
        r.groups.loc["served_core", "customers"]
        == (volume == "A").sum()
        - ((volume == "A") & (index_values.rank(ascending=False, method="max") > 300)).sum()
    )
    # Wilson intervals as statsmodels computes them
    for g, row in r.groups.iterrows():
        lo, hi = proportion_confint(row["churned"], row["customers"], method="wilson")
        assert (row["churn_ci_low"], row["churn_ci_high"]) == pytest.approx((lo, hi), rel=1e-9), g
    assert list(r.groups.columns[:4]) == ["customers", "share", "churned", "churn_rate"]


def test_comparison_statistics_match_statsmodels(world):
    index_values, volume, outcomes, revenue = world
    r = L.potential_core_loss(index_values, volume, outcomes, revenue_before=revenue)
    g = r.groups
    a, n1 = int(g.loc["neglected_core", "churned"]), int(g.loc["neglected_core", "customers"])
    c, n0 = int(g.loc["served_core", "churned"]), int(g.loc["served_core", "customers"])
    cmp = r.comparison
    p1, p0 = a / n1, c / n0
    assert cmp["risk_difference"] == pytest.approx(p1 - p0)
    lo, hi = confint_proportions_2indep(a, n1, c, n0, method="wald", compare="diff")
    assert cmp["risk_difference_ci"] == pytest.approx((lo, hi), rel=1e-9)
    assert cmp["risk_ratio"] == pytest.approx(p1 / p0)
    lo, hi = confint_proportions_2indep(a, n1, c, n0, method="log", compare="ratio")
    assert cmp["risk_ratio_ci"] == pytest.approx((lo, hi), rel=1e-9)
    # pooled two-proportion z by hand
    pp = (a + c) / (n1 + n0)
    z = (p1 - p0) / math.sqrt(pp * (1 - pp) * (1 / n1 + 1 / n0))
    assert cmp["z"] == pytest.approx(z, rel=1e-9)
    # logistic regression via a different statsmodels route (GLM binomial) on the core
    core = index_values.rank(ascending=False, method="max") <= 300
    X = pd.DataFrame({"const": 1.0, "neglected": (core & (volume != "A"))[core].astype(float),
                      "lrev": np.log1p(revenue[core].clip(lower=0))})  # fmt: skip
    glm = sm.GLM(outcomes["churned"][core].astype(float), X, family=sm.families.Binomial()).fit()
    assert cmp["odds_ratio"] == pytest.approx(math.exp(glm.params["neglected"]), rel=1e-5)
    ci = np.exp(glm.conf_int().loc["neglected"].to_numpy())
    assert cmp["odds_ratio_ci"] == pytest.approx(tuple(ci), rel=1e-4)
    assert cmp["logit_n"] == int(core.sum())
    assert "risk difference" in r.summary() and "odds ratio" in r.summary()


def test_pseudonymized_list_by_default(world):
    index_values, volume, outcomes, revenue = world
    r1 = L.potential_core_loss(index_values, volume, outcomes, revenue_before=revenue, salt="s1")
    r2 = L.potential_core_loss(index_values, volume, outcomes, revenue_before=revenue, salt="s1")
    r3 = L.potential_core_loss(index_values, volume, outcomes, revenue_before=revenue, salt="s2")
    raw = L.potential_core_loss(index_values, volume, outcomes, revenue_before=revenue,
                                pseudonymize=False)  # fmt: skip
    assert r1.pseudonymized and not raw.pseudonymized
    assert not set(r1.neglected.index) & set(index_values.index)
    assert list(r1.neglected.index) == list(r2.neglected.index)
    assert not set(r1.neglected.index) & set(r3.neglected.index)
    assert set(raw.neglected.index) <= set(index_values.index)
    assert len(raw.neglected) == raw.groups.loc["neglected_core", "customers"]
    # the pseudonym is the keyed HMAC-SHA256 of the raw id (key = the secret), same row order
    import hashlib
    import hmac

    expected = [
        "C-" + hmac.new(b"s1", str(i).encode(), hashlib.sha256).hexdigest()[:10]
        for i in raw.neglected.index
    ]
    assert list(r1.neglected.index) == expected
    assert (raw.neglected["volume_tier"] != "A").all()
    d = r1.to_dict(include_list=True)
    text = json.dumps(d)
    secret = L.potential_core_loss(index_values, volume, outcomes, revenue_before=revenue,
                                   salt="pepper-7f3a")  # fmt: skip
    assert "pepper-7f3a" not in json.dumps(secret.to_dict(include_list=True))  # salt never written
    assert not any(i in text for i in raw.neglected.index[:20])
    # default salt is random per call: pseudonyms differ between runs
    r4 = L.potential_core_loss(index_values, volume, outcomes, revenue_before=revenue)
    r5 = L.potential_core_loss(index_values, volume, outcomes, revenue_before=revenue)
    assert list(r4.neglected.index) != list(r5.neglected.index)


def test_exclusions_counted_never_silent(world):
    index_values, volume, outcomes, revenue = world
    iv = index_values.copy()
    iv.iloc[:10] = np.nan
    out = outcomes.drop(outcomes.index[10:15])
    vt = volume.copy()
    vt.iloc[20:23] = np.nan
    r = L.potential_core_loss(iv, vt, out, revenue_before=revenue)
    assert r.excluded["no_index_value"] == 10
    assert r.excluded["no_outcome"] == 5
    assert r.excluded["no_volume_tier"] == 3
    assert r.n == len(iv) - 18 == r.groups["customers"].sum()
    with pytest.raises(DataError, match="revenue_before"):
        L.potential_core_loss(index_values, volume, outcomes)
    with pytest.raises(DataError, match="churned"):
        L.potential_core_loss(index_values, volume, outcomes.drop(columns="churned"),
                              revenue_before=revenue)  # fmt: skip
    with pytest.raises(DataError, match="top_volume_tiers"):
        L.potential_core_loss(index_values, volume, outcomes, revenue_before=revenue,
                              top_volume_tiers=("Z",))  # fmt: skip


# ------------------------------------------------------------------ edge cases
def _tiny(values, tiers=None, churn=None):
    idx = pd.Index([f"k{i}" for i in range(len(values))])
    iv = pd.Series(values, index=idx, dtype=float)
    vt = T.abc(iv) if tiers is None else pd.Series(tiers, index=idx, dtype="category")
    ch = np.arange(len(values)) % 2 == 0 if churn is None else np.asarray(churn)
    out = pd.DataFrame({"churned": ch, "revenue": 1.0}, index=idx)
    return iv, vt, out, pd.Series(10.0, index=idx)


def test_all_equal_index_values_no_core():
    iv, vt, out, rev = _tiny([3.0] * 30)
    r = L.potential_core_loss(iv, vt, out, revenue_before=rev)
    assert r.groups.loc["other", "customers"] == 30
    assert r.groups.loc[["neglected_core", "served_core"], "customers"].sum() == 0
    assert np.isnan(r.comparison["risk_difference"])
    assert any("empty" in n for n in r.notes)
    assert "risk difference" in r.summary()


def test_fewer_customers_than_core_slots_and_nan():
    iv, vt, out, rev = _tiny([5.0, 1.0, np.nan])
    r = L.potential_core_loss(iv, vt, out, revenue_before=rev)
    # 2 customers with an index value: floor(0.2 * 2) = 0 core customers
    assert r.n == 2 and r.excluded["no_index_value"] == 1
    assert r.groups.loc["other", "customers"] == 2


def test_single_volume_tier_everyone_served():
    iv, vt, out, rev = _tiny(np.arange(20.0), tiers=["A"] * 20)
    r = L.potential_core_loss(iv, vt, out, revenue_before=rev)
    assert r.groups.loc["served_core", "customers"] == 4
    assert r.groups.loc["neglected_core", "customers"] == 0 and r.neglected.empty


def test_zero_churn_in_a_group_uses_haldane_correction():
    # 100 customers: core 20; A = top 5 by index (volume tier by index here)
    churn = np.zeros(100, dtype=bool)
    iv, vt, out, rev = _tiny(np.arange(100.0)[::-1], churn=churn)
    churn2 = np.zeros(100, dtype=bool)
    churn2[5:20:2] = True  # neglected core: 8 of 15 churn, served: 0 of 5
    out["churned"] = churn2
    r = L.potential_core_loss(iv, vt, out, revenue_before=rev)
    assert r.comparison["risk_ratio"] == pytest.approx((8.5 / 16) / (0.5 / 6))
    assert any("Haldane" in n for n in r.notes)
    # nobody churned among the served core: the logit MLE does not exist -> NaN with a note
    assert np.isnan(r.comparison["odds_ratio"]) and any("separation" in n for n in r.notes)


# ------------------------------------------------------------------ problem customers
def test_problem_customers_rules_reasons_and_skips():
    f = pd.DataFrame(
        {"late_payment_rate": [0.5, 0.1, np.nan, 0.31], "days_overdue": [90.0, 0, 0, 10],
         "spend_trend": [0.0, -0.8, -0.2, 0.1]},
        index=["a", "b", "c", "d"],
    )  # fmt: skip
    p = L.problem_customers(f)
    assert list(p.index) == ["a", "d"]  # a lapse alone is not a default problem
    assert p.loc["a", "n_failed"] == 2
    assert p.loc["a", "reasons"] == "pays late on more than 30% of invoices; invoice more than " \
        "60 days overdue"  # fmt: skip
    assert p.attrs["skipped_rules"] == ["return_rate > 0.2"]
    lapsing = L.problem_customers(f, rules=[*L.DEFAULT_PROBLEM_RULES, L.LAPSING_RULE])
    assert list(lapsing.index) == ["a", "b", "d"]  # sorted by number of failed rules
    assert lapsing.loc["b", "reasons"] == "spend falling sharply (spend_trend < -0.5)"
    assert p.attrs["n_missing"]["late_payment_rate"] == 1 and "c" not in p.index
    custom = L.problem_customers(f, rules=[("days_overdue", ">=", 10, "overdue 10+ days")])
    assert list(custom.index) == ["a", "d"] and custom.attrs["n_checked"] == 4


# ------------------------------------------------------------------ synthetic acceptance
def _synthetic_loss(neglect_effect: float, seed: int = 0, n: int = 3000):
    from crmresearch.datasets import make_crm_data
    from crmresearch.features import apply_config, customer_features, holdout_outcomes
    from crmresearch.index import ClassificationIndex

    crm = make_crm_data(n, seed=seed, neglect_effect=neglect_effect)
    tr = crm.truth
    feats = customer_features(crm.transactions, start=tr.start, end=tr.calibration_end)
    X = apply_config(feats, "ecommerce")
    composite = ClassificationIndex(missing="listwise").fit(X).composite(X)
    outcomes = holdout_outcomes(
        crm.transactions, start=tr.holdout_start, end=tr.holdout_end, customers=feats.index
    )
    r = L.potential_core_loss(
        composite, T.abc(feats["monetary"]), outcomes, revenue_before=feats["monetary"],
        pseudonymize=False,
    )  # fmt: skip
    return r, crm


@pytest.mark.slow
def test_synthetic_planted_neglect_is_found():
    r, crm = _synthetic_loss(0.20)
    lo, hi = r.comparison["risk_difference_ci"]
    assert lo > 0, r.summary()
    assert r.comparison["risk_ratio_ci"][0] > 1
    # the customers we call neglected overlap the planted ones far beyond chance
    planted = crm.truth.neglected
    ours = planted.reindex(r.neglected.index)
    assert ours.mean() > 3 * planted.mean()


@pytest.mark.slow
def test_synthetic_without_neglect_finds_none():
    r, _ = _synthetic_loss(0.0)
    lo, hi = r.comparison["risk_difference_ci"]
    assert lo <= 0 <= hi, r.summary()


# ------------------------------------------------------------------ CDNOW acceptance
@pytest.fixture(scope="module")
def cdnow_inputs():
    from crmresearch.datasets import load_cdnow
    from crmresearch.features import apply_config, customer_features, holdout_outcomes
    from crmresearch.index import ClassificationIndex

    log = load_cdnow()
    feats = customer_features(log, end="1997-09-30")
    X = apply_config(feats, "ecommerce")
    composite = ClassificationIndex(missing="listwise").fit(X).composite(X)
    outcomes = holdout_outcomes(log, start="1997-10-01", end="1998-06-30", customers=feats.index)
    return log.frame, feats, composite, outcomes


def test_cdnow_equals_plain_pandas(cdnow_inputs):
    frame, feats, composite, outcomes = cdnow_inputs
    r = L.potential_core_loss(composite, T.abc(feats["monetary"]), outcomes,
                              revenue_before=feats["monetary"])  # fmt: skip
    # independent: plain pandas from the raw rows
    cal = frame[frame["date"] <= "1997-09-30"]
    hold = frame[(frame["date"] >= "1997-10-01") & (frame["date"] <= "1998-06-30")]
    monetary = cal.groupby("customer_id")["amount"].sum()
    n = len(monetary)
    assert n == 23570
    vrank = monetary.rank(ascending=False, method="max")
    volume = pd.Series(np.where(vrank <= math.floor(0.05 * n), "A",
                                np.where(vrank <= math.floor(0.20 * n), "B", "C")),
                       index=monetary.index)  # fmt: skip
    churned = ~monetary.index.isin(hold["customer_id"].unique())
    churned = pd.Series(churned, index=monetary.index)
    ref = _reference_groups(composite.reindex(monetary.index), volume, churned, monetary)
    for col in ("customers", "share", "churn_rate", "revenue_before", "revenue_lost"):
        assert r.groups[col].to_numpy() == pytest.approx(ref[col].to_numpy(), rel=1e-9), col
    # shape of the CDNOW result (documented in the report)
    assert (
        r.groups.loc["served_core", "customers"] + r.groups.loc["neglected_core", "customers"]
        == 4714
    )
    assert r.groups.loc["neglected_core", "churn_rate"] > r.groups.loc["served_core", "churn_rate"]
