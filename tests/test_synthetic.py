"""make_crm_data: determinism, schema, accounting identities and the planted structure.

Every planted mechanism is checked numerically with plain pandas/numpy against the truth:
the campaign effects per tier (exactly, through common random numbers, and by a
difference in means), the churn probabilities (calibration of the exact formula), the neglect
effect, late payment rising with the credit factor, and the roll-out effect (two-way fixed
effects by double demeaning).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

import crmresearch.datasets.synthetic as synthetic
from crmresearch.datasets import make_crm_data
from crmresearch.errors import DataError  # noqa: F401  (DataError is a ValueError)

CANONICAL = [
    "customer_id",
    "date",
    "amount",
    "quantity",
    "profit",
    "category",
    "channel",
    "due_date",
    "paid_date",
]


@pytest.fixture(scope="module")
def crm():
    return make_crm_data(3000, seed=11)


def holdout_outcomes(crm) -> pd.DataFrame:
    t = crm.truth
    tx = crm.transactions.frame
    h = tx.loc[(tx["date"] >= t.holdout_start) & (tx["date"] <= t.holdout_end)]
    ids = crm.customers["customer_id"]
    out = pd.DataFrame(index=pd.Index(ids, name="customer_id"))
    out["purchases"] = h.groupby("customer_id").size().reindex(ids, fill_value=0).to_numpy()
    out["revenue"] = (
        h.groupby("customer_id")["amount"].sum().reindex(ids, fill_value=0.0).to_numpy()
    )
    out["churned"] = out["purchases"].eq(0)
    return out


def calibration_revenue(crm) -> pd.Series:
    t = crm.truth
    tx = crm.transactions.frame
    c = tx.loc[(tx["date"] >= t.start) & (tx["date"] <= t.calibration_end)]
    return c.groupby("customer_id")["amount"].sum()


# ---------------------------------------------------------------------------------------------
# determinism and API


def test_same_seed_gives_identical_frames_and_truth():
    a = make_crm_data(600, seed=5)
    b = make_crm_data(600, seed=5)
    pd.testing.assert_frame_equal(a.transactions.frame, b.transactions.frame)
    pd.testing.assert_frame_equal(a.customers, b.customers)
    pd.testing.assert_frame_equal(a.campaign, b.campaign)
    pd.testing.assert_frame_equal(a.rollout, b.rollout)
    pd.testing.assert_frame_equal(a.truth.factors, b.truth.factors)
    pd.testing.assert_frame_equal(a.truth.loadings, b.truth.loadings)
    pd.testing.assert_series_equal(a.truth.churn_probability, b.truth.churn_probability)
    c = make_crm_data(600, seed=6)
    assert not a.truth.factors.equals(c.truth.factors)
    assert len(a.transactions.frame) != len(
        c.transactions.frame
    ) or not a.transactions.frame.equals(c.transactions.frame)


def test_datasets_reexports_the_generator():
    import crmresearch.datasets as datasets

    assert datasets.make_crm_data is synthetic.make_crm_data
    assert datasets.SyntheticCRM is synthetic.SyntheticCRM


def test_generates_5000_customers_quickly():
    start = time.perf_counter()
    make_crm_data(5000, seed=0)
    elapsed = time.perf_counter() - start
    # ~0.5 s on an idle 2-core machine; generous bound for a loaded CI box
    assert elapsed < 5.0, elapsed


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_customers": 5}, "n_customers"),
        ({"seed": 1.5}, "seed"),
        ({"neglect_effect": 1.2}, "neglect_effect"),
        ({"campaign_effects": {"A": 0.1, "B": 0.2}}, "campaign_effects"),
        ({"campaign_effects": {"A": -1, "B": 0, "C": 0}}, "campaign_effects"),
        ({"rollout_starts": {"North": "2023-03-15"}}, "first day of a month"),
        ({"rollout_starts": {"Atlantis": "2023-03-01"}}, "unknown region"),
        ({"rollout_effect": -5}, "rollout_effect"),
        ({"calibration_end": "2022-06-30"}, "calibration_end"),
    ],
)
def test_bad_parameters_raise_value_error_naming_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_crm_data(**{"n_customers": 100, **kwargs})


# ---------------------------------------------------------------------------------------------
# schema and accounting identities


def test_transaction_log_schema(crm):
    from crmresearch.data import TransactionLog

    log = crm.transactions
    assert isinstance(log, TransactionLog)
    f = log.frame
    assert list(f.columns) == CANONICAL
    assert log.n_read == log.n_accepted == len(f) and log.n_rejected == 0
    assert f["customer_id"].dtype == "str" and f["category"].dtype == "str"
    for col in ("date", "due_date", "paid_date"):
        assert f[col].dtype == "datetime64[ns]"
        assert (f[col].dropna() == f[col].dropna().dt.normalize()).all()  # day precision
    assert f[["customer_id", "date", "amount", "quantity", "profit"]].notna().all().all()
    t = crm.truth
    assert f["date"].min() >= t.start and f["date"].max() <= t.holdout_end
    assert set(f["category"]) <= set(synthetic.CATEGORIES)
    assert set(f["channel"]) <= set(synthetic.CHANNELS)
    # sorted by customer then date
    key = list(zip(f["customer_id"], f["date"], strict=True))
    assert key == sorted(key)


def test_returns_are_negative_credit_notes_within_their_window(crm):
    f = crm.transactions.frame
    ret = f["amount"] < 0
    assert 0.02 < ret.mean() < 0.08  # ~5 % of base orders are returned
    assert (f.loc[ret, "quantity"] < 0).all() and (f.loc[ret, "profit"] <= 0).all()
    assert f.loc[ret, ["due_date", "paid_date"]].isna().all().all()  # no invoice on a return
    assert f.loc[~ret, ["due_date", "paid_date"]].notna().all().all()
    assert (f.loc[~ret, "quantity"] >= 1).all()
    # a return never exceeds what was bought: net amount, quantity, profit >= 0 per window
    t = crm.truth
    for lo, hi in ((t.start, t.calibration_end), (t.holdout_start, t.holdout_end)):
        w = f.loc[(f["date"] >= lo) & (f["date"] <= hi)]
        net = w.groupby("customer_id")[["amount", "quantity", "profit"]].sum()
        assert (net >= -1e-9).all().all()


def test_invoices_follow_payment_terms_and_margins_are_plausible(crm):
    f = crm.transactions.frame
    inv = f.loc[f["amount"] > 0].merge(crm.customers, on="customer_id")
    terms = (inv["due_date"] - inv["date"]).dt.days
    assert (terms == inv["payment_terms_days"]).all()
    assert (inv["paid_date"] >= inv["date"]).all()
    margin = inv["profit"] / inv["amount"]
    assert margin.between(0.0, 0.71).all()
    assert 0.2 < margin.mean() < 0.3


def test_customers_table_static_and_dynamic_fields(crm):
    c = crm.customers
    assert list(c["customer_id"]) == sorted(c["customer_id"]) and c["customer_id"].is_unique
    assert c.attrs["field_types"] == {
        "customer_id": "static",
        "region": "static",
        "industry": "static",
        "signup_date": "static",
        "status": "dynamic",
        "payment_terms_days": "dynamic",
        "credit_limit": "dynamic",
    }
    assert (c["signup_date"] < crm.truth.start).all()
    assert set(c["status"]) <= {"active", "lapsing", "dormant"}
    assert set(c["payment_terms_days"]) <= {14, 30, 60}
    assert (c["credit_limit"] > 0).all()
    # status = days since the last calibration transaction
    f = crm.transactions.frame
    last = f.loc[f["date"] <= crm.truth.calibration_end].groupby("customer_id")["date"].max()
    days = (crm.truth.calibration_end - last.reindex(c["customer_id"])).dt.days.to_numpy()
    expected = np.where(days <= 90, "active", np.where(days <= 180, "lapsing", "dormant"))
    assert (c["status"].to_numpy() == expected).all()


def test_every_customer_buys_in_the_calibration_window(crm):
    revenue = calibration_revenue(crm)
    assert len(revenue) == len(crm.customers)


def test_period_dates(crm):
    t = crm.truth
    assert t.start == pd.Timestamp("2023-01-01")
    assert t.calibration_end == pd.Timestamp("2023-12-31")
    assert t.holdout_start == t.campaign_start == pd.Timestamp("2024-01-01")
    assert t.holdout_end == pd.Timestamp("2024-06-30")
    assert (crm.campaign["start"] == t.campaign_start).all()


# ---------------------------------------------------------------------------------------------
# latent factors and credit


def test_factor_correlation_matches_the_planted_matrix(crm):
    r = crm.truth.factors.corr().to_numpy()
    # SE of a correlation at n = 3000 is about 0.018
    np.testing.assert_allclose(r, synthetic.FACTOR_CORRELATION, atol=0.06)
    np.testing.assert_allclose(crm.truth.factors.std(), 1.0, atol=0.05)


def test_late_payment_rises_with_the_credit_factor(crm):
    f = crm.transactions.frame
    inv = f.loc[(f["amount"] > 0) & (f["date"] <= crm.truth.calibration_end)]
    late = (inv["paid_date"] > inv["due_date"]).groupby(inv["customer_id"]).mean()
    overdue = (
        (inv["paid_date"] - inv["due_date"])
        .dt.days.clip(lower=0)
        .groupby(inv["customer_id"])
        .mean()
    )
    credit = crm.truth.factors["credit_risk"].reindex(late.index)
    quintile = pd.qcut(credit, 5, labels=False)
    by_q = late.groupby(quintile).mean()
    assert by_q.is_monotonic_increasing and by_q.iloc[-1] > 2.5 * by_q.iloc[0], by_q
    assert overdue.groupby(quintile).mean().is_monotonic_increasing
    # the realized share matches the planted per-customer probability
    p = crm.truth.customer_parameters["late_probability"].reindex(late.index)
    n_inv = inv.groupby("customer_id").size()
    expected = (p * n_inv).sum()
    se = np.sqrt((p * (1 - p) * n_inv).sum())
    observed = (late * n_inv).sum()
    assert abs(observed - expected) < 4 * se, (observed, expected, se)


def test_order_rate_and_value_follow_loyalty_and_value(crm):
    f = crm.transactions.frame
    cal = f.loc[f["date"] <= crm.truth.calibration_end]
    orders = cal.loc[cal["amount"] > 0].groupby("customer_id").size()
    value = cal.loc[cal["amount"] > 0].groupby("customer_id")["amount"].mean()
    fac = crm.truth.factors.reindex(orders.index)
    assert np.corrcoef(np.log(orders), fac["loyalty"])[0, 1] > 0.6
    assert np.corrcoef(np.log(value), fac["value"])[0, 1] > 0.6
    assert abs(np.corrcoef(np.log(value), fac["credit_risk"])[0, 1]) < 0.08


# ---------------------------------------------------------------------------------------------
# churn


def test_churned_customers_make_no_holdout_purchase(crm):
    out = holdout_outcomes(crm)
    t = crm.truth
    control = (crm.campaign["arm"] == "control").to_numpy()
    defected = t.defected.to_numpy()
    # a defector makes no base-process holdout purchase; only campaign orders can reach them
    assert (out["purchases"].to_numpy()[defected & control] == 0).all()
    assert 0.05 < t.defection_probability.mean() < 0.3


def test_churn_probability_is_calibrated(crm):
    """Observed churn (no holdout row) matches the exact churn probability, overall and by decile."""
    out = holdout_outcomes(crm)
    p = crm.truth.churn_probability.reindex(out.index).to_numpy()
    churned = out["churned"].to_numpy()
    assert abs(churned.sum() - p.sum()) < 4 * np.sqrt((p * (1 - p)).sum())
    decile = pd.qcut(p, 5, labels=False, duplicates="drop")
    for d in np.unique(decile):
        m = decile == d
        assert abs(churned[m].sum() - p[m].sum()) < 4 * np.sqrt((p[m] * (1 - p[m])).sum()) + 1, d


def _neglect_groups(crm):
    """Top 20 % by a plain-PCA value index, split by the top-5 % calibration-volume tier."""
    f = crm.transactions.frame
    t = crm.truth
    cal = f.loc[f["date"] <= t.calibration_end]
    g = cal.groupby("customer_id")
    monetary = g["amount"].sum()
    X = pd.DataFrame(
        {
            "frequency": np.log1p(g.size()),
            "active_months": cal.assign(m=cal["date"].dt.to_period("M"))
            .groupby("customer_id")["m"]
            .nunique(),
            "avg_order_value": monetary / g.size(),
            "margin_rate": g["profit"].sum() / monetary,
            "profit": np.log1p(g["profit"].sum().clip(lower=0)),
        }
    ).dropna()
    Z = (X - X.mean()) / X.std()
    w, v = np.linalg.eigh(np.corrcoef(Z.to_numpy(), rowvar=False))
    top = np.argsort(w)[::-1][:2]
    scores = Z.to_numpy() @ v[:, top]
    index = pd.Series(scores @ (w[top] / w[top].sum()), index=X.index)
    if np.corrcoef(index, monetary.loc[X.index])[0, 1] < 0:
        index = -index
    core = index.rank(ascending=False, method="first") <= 0.2 * len(index)
    volume_a = monetary.rank(ascending=False, method="first") <= 0.05 * len(monetary)
    volume_a = volume_a.reindex(index.index)
    churned = holdout_outcomes(crm)["churned"].reindex(index.index)
    neglected, served = core & ~volume_a, core & volume_a
    return churned[neglected], churned[served]


def _two_proportion_z(a: pd.Series, b: pd.Series) -> float:
    pa, pb = a.mean(), b.mean()
    pooled = (a.sum() + b.sum()) / (len(a) + len(b))
    se = np.sqrt(pooled * (1 - pooled) * (1 / len(a) + 1 / len(b)))
    return (pa - pb) / se


@pytest.mark.parametrize("seed", [0, 7])
def test_neglected_core_churns_more_only_when_planted(seed):
    planted = make_crm_data(5000, seed=seed)
    neglected, served = _neglect_groups(planted)
    assert len(neglected) > 500 and len(served) > 150
    assert neglected.mean() - served.mean() > 0.05
    assert _two_proportion_z(neglected, served) > 3

    none = make_crm_data(5000, seed=seed, neglect_effect=0.0)
    neglected0, served0 = _neglect_groups(none)
    assert _two_proportion_z(neglected0, served0) < 1.96
    # common random numbers: the worlds differ only in who of the neglected defects
    changed = planted.truth.defected != none.truth.defected
    assert changed.any() and planted.truth.neglected[changed].all()
    assert (planted.truth.defected[changed]).all()
    pd.testing.assert_frame_equal(planted.truth.factors, none.truth.factors)


def test_neglected_is_high_value_outside_volume_tier_a(crm):
    t = crm.truth
    tier = crm.campaign.set_index("customer_id")["tier"]
    expected = t.high_value & (tier.reindex(t.high_value.index) != "A")
    pd.testing.assert_series_equal(t.neglected, expected.rename("neglected"))
    assert t.high_value.mean() == pytest.approx(0.2, abs=1e-3)
    top = t.latent_value_index.rank(ascending=False, method="first") <= 0.2 * len(t.high_value)
    assert (top == t.high_value).all()
    # defection = documented base model + neglect_effect for the neglected only
    from scipy.special import expit, logit

    f = t.factors
    base = expit(logit(0.12) - 0.5 * f["loyalty"] + 0.4 * f["credit_risk"])
    extra = t.defection_probability - base
    np.testing.assert_allclose(extra[t.neglected], t.params["neglect_effect"], atol=1e-12)
    np.testing.assert_allclose(extra[~t.neglected], 0.0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# campaign


def test_campaign_arm_and_tier(crm):
    c = crm.campaign
    assert list(c.columns) == ["customer_id", "arm", "start", "tier"]
    share = (c["arm"] == "treatment").mean()
    assert abs(share - 0.5) < 4 * np.sqrt(0.25 / len(c))
    # tier = the firm's volume tier by calibration net revenue: A top 5 %, B next 15 %, C rest
    revenue = calibration_revenue(crm).reindex(c["customer_id"]).to_numpy()
    rank = pd.Series(-revenue).rank(method="first").to_numpy()
    n = len(c)
    expected = np.where(rank <= 0.05 * n, "A", np.where(rank <= 0.20 * n, "B", "C"))
    assert (c["tier"].astype(str).to_numpy() == expected).all()
    counts = c["tier"].value_counts()
    assert (counts["A"], counts["B"]) == (150, 450)


def test_campaign_effects_truth_table():
    crm = make_crm_data(200, seed=1, campaign_effects={"A": 0.5, "B": 0.0, "C": 2.0})
    e = crm.truth.campaign_effects
    assert list(e.index) == ["A", "B", "C"]
    np.testing.assert_allclose(e["purchases"], [0.5, 0.0, 2.0])
    v = synthetic.CAMPAIGN_ORDER_VALUE
    np.testing.assert_allclose(e["revenue"], [0.5 * v["A"], 0.0, 2.0 * v["C"]])


def test_campaign_extra_orders_are_exactly_the_planted_effect():
    """Common random numbers: the same seed with all effects zero differs only by the extras."""
    n = 12000
    on = make_crm_data(n, seed=3)
    off = make_crm_data(n, seed=3, campaign_effects={"A": 0.0, "B": 0.0, "C": 0.0})
    t = on.truth
    fo, ff = on.transactions.frame, off.transactions.frame
    pd.testing.assert_frame_equal(
        fo.loc[fo["date"] <= t.calibration_end].reset_index(drop=True),
        ff.loc[ff["date"] <= t.calibration_end].reset_index(drop=True),
    )
    diff = (
        holdout_outcomes(on)[["purchases", "revenue"]]
        - holdout_outcomes(off)[["purchases", "revenue"]]
    )
    arm = on.campaign.set_index("customer_id")["arm"]
    tier = on.campaign.set_index("customer_id")["tier"].astype(str)
    assert (diff.loc[arm == "control"].abs().to_numpy() < 1e-6).all()
    treated = diff.loc[arm == "treatment"]
    assert (treated["purchases"] >= 0).all()
    for t_name, row in t.campaign_effects.iterrows():
        d = treated.loc[tier.loc[treated.index] == t_name]
        for col in ("purchases", "revenue"):
            se = d[col].std(ddof=1) / np.sqrt(len(d))
            assert abs(d[col].mean() - row[col]) < 4 * se, (t_name, col, d[col].mean(), row[col])


def test_difference_in_means_per_tier_is_near_the_planted_effect():
    crm = make_crm_data(12000, seed=22, campaign_effects={"A": 2.0, "B": 1.5, "C": 1.0})
    out = holdout_outcomes(crm).join(crm.campaign.set_index("customer_id")[["arm", "tier"]])
    for tier, row in crm.truth.campaign_effects.iterrows():
        g = out.loc[out["tier"] == tier]
        for col in ("purchases", "revenue"):
            tr = g.loc[g["arm"] == "treatment", col]
            co = g.loc[g["arm"] == "control", col]
            effect = tr.mean() - co.mean()
            se = np.sqrt(tr.var() / len(tr) + co.var() / len(co))
            assert abs(effect - row[col]) < 4 * se, (tier, col, effect, row[col], se)
            if tier == "C":
                assert effect > 2 * se  # detectable where the tier is large


# ---------------------------------------------------------------------------------------------
# roll-out


def _monthly_panel(crm) -> pd.DataFrame:
    t = crm.truth
    f = crm.transactions.frame
    cal = f.loc[f["date"] <= t.rollout_end]
    months = pd.period_range(t.start, t.rollout_end, freq="M")
    ids = crm.customers["customer_id"]
    rev = (
        cal.assign(month=cal["date"].dt.to_period("M"))
        .groupby(["customer_id", "month"])["amount"]
        .sum()
        .reindex(pd.MultiIndex.from_product([ids, months], names=["customer_id", "month"]))
        .fillna(0.0)
    )
    panel = rev.rename("revenue").reset_index()
    start = crm.rollout.set_index("customer_id")["start"]
    s = start.reindex(panel["customer_id"]).dt.to_period("M").to_numpy()
    panel["treated"] = [(not pd.isna(x)) and m >= x for x, m in zip(s, panel["month"], strict=True)]
    return panel


def _twfe(panel: pd.DataFrame) -> tuple[float, float]:
    """Two-way FE estimate by double demeaning (exact on a balanced panel), cluster-robust SE."""
    y = panel["revenue"].to_numpy(dtype=float)
    d = panel["treated"].to_numpy(dtype=float)

    def demean(v):
        s = pd.Series(v)
        return (
            v
            - s.groupby(panel["customer_id"].to_numpy()).transform("mean").to_numpy()
            - s.groupby(panel["month"].to_numpy()).transform("mean").to_numpy()
            + v.mean()
        )

    yt, dt = demean(y), demean(d)
    beta = (dt @ yt) / (dt @ dt)
    resid = yt - beta * dt
    score = pd.Series(dt * resid).groupby(panel["customer_id"].to_numpy()).sum().to_numpy()
    se = np.sqrt((score**2).sum()) / (dt @ dt)
    return beta, se


def test_rollout_is_staggered_by_region_and_non_random(crm):
    r = crm.rollout.merge(crm.customers[["customer_id", "region"]], on="customer_id")
    for region, start in synthetic.ROLLOUT_STARTS.items():
        assert (r.loc[r["region"] == region, "start"] == pd.Timestamp(start)).all()
    assert r.loc[r["region"] == "West", "start"].isna().all()
    # non-random: the first region's customers are worth more than the never-treated
    v = crm.truth.factors["value"]
    north = v[r.set_index("customer_id")["region"] == "North"].mean()
    west = v[r.set_index("customer_id")["region"] == "West"].mean()
    assert north - west > 0.3


@pytest.mark.parametrize("effect", [60.0, 0.0])
def test_twfe_recovers_the_planted_rollout_effect(effect):
    crm = make_crm_data(4000, seed=8, rollout_effect=effect)
    assert crm.truth.rollout_effect == effect
    beta, se = _twfe(_monthly_panel(crm))
    assert abs(beta - effect) < 4 * se, (beta, se)
    if effect:
        assert beta > 3 * se


def test_rollout_extras_exact_by_common_random_numbers():
    on = make_crm_data(4000, seed=9, rollout_effect=60.0)
    off = make_crm_data(4000, seed=9, rollout_effect=0.0)
    p_on, p_off = _monthly_panel(on), _monthly_panel(off)
    extra = p_on["revenue"] - p_off["revenue"]
    treated = p_on["treated"].to_numpy()
    assert (extra[~treated].abs() < 1e-6).all()  # nothing before the start or never treated
    d = extra[treated]
    assert abs(d.mean() - 60.0) < 4 * d.std(ddof=1) / np.sqrt(len(d))


def test_strategy_diff_in_diff_recovers_the_rollout_effect_with_flat_pretrends():
    strategy = pytest.importorskip("crmresearch.strategy")
    if not hasattr(strategy, "diff_in_diff"):
        pytest.skip("crmresearch.strategy.diff_in_diff not available yet")
    crm = make_crm_data(3000, seed=12)
    t = crm.truth
    res = strategy.diff_in_diff(crm.transactions, crm.rollout, periods=t.rollout_periods)
    row = res.table.set_index("tier").loc["overall"]
    beta, se = _twfe(_monthly_panel(crm))
    assert row["effect"] == pytest.approx(beta, rel=1e-6)  # same estimator, independent code
    assert abs(row["effect"] - t.rollout_effect) < 4 * row["se"]
    assert (res.pretrend["p_value"] > 0.001).all()


def test_custom_windows_move_every_date():
    crm = make_crm_data(
        300, seed=2, start="2020-03-15", calibration_end="2020-09-30", holdout_end="2020-12-31"
    )
    t = crm.truth
    assert (t.start, t.calibration_end) == (pd.Timestamp("2020-03-15"), pd.Timestamp("2020-09-30"))
    assert t.holdout_start == t.campaign_start == pd.Timestamp("2020-10-01")
    f = crm.transactions.frame
    assert f["date"].min() >= t.start and f["date"].max() <= t.holdout_end
    assert len(calibration_revenue(crm)) == 300
    # default roll-out cohorts keep their offsets; those past the calibration end are dropped
    assert t.params["rollout_starts"] == {"North": "2020-06-01", "East": "2020-08-01"}
    assert set(crm.rollout["start"].dropna()) == {
        pd.Timestamp("2020-06-01"),
        pd.Timestamp("2020-08-01"),
    }


def test_same_seed_gives_the_data_of_the_pre_package_generator():
    """Seed contract across refactors: the SHA-256 of the frames (as CSV text) equals the value
    computed with the generator before it moved into ``crmresearch.datasets.synthetic``."""
    import hashlib

    crm = make_crm_data(300, seed=3)
    parts = [
        crm.transactions.frame.to_csv(index=False),
        crm.customers.to_csv(index=False),
        crm.campaign.to_csv(index=False),
        crm.rollout.to_csv(index=False),
        crm.truth.loadings.to_csv(),
        crm.truth.churn_probability.to_csv(),
    ]
    digest = hashlib.sha256("".join(parts).encode()).hexdigest()
    assert digest == "2429ec88e2e22ee582486b1736e55d2ee85200a2bb4513a09e8b248b680b9e5a"
