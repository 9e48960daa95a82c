"""Tiers: exact membership against independent numpy/pandas computations and documented edge cases."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from crmresearch import tiers as T
from crmresearch.errors import DataError


def _ids(n):
    return pd.Index([f"c{i:04d}" for i in range(n)], name="customer_id")


@pytest.fixture
def distinct():
    rng = np.random.default_rng(7)
    idx = _ids(200)
    # shuffled, distinct values so ranks are unambiguous
    return pd.Series(rng.permutation(200).astype(float) * 1.5 + 3, index=idx, name="monetary")


def _top_k_ids(values: pd.Series, k: int) -> set:
    order = np.argsort(-values.to_numpy(), kind="stable")
    return set(values.index[order[:k]])


# ------------------------------------------------------------------ abc
def test_abc_membership_matches_sorted_positions(distinct):
    t = T.abc(distinct)
    n = len(distinct)
    assert list(t.cat.categories) == ["A", "B", "C"] and t.cat.ordered
    assert t.index.equals(distinct.index)
    a_ids = _top_k_ids(distinct, int(np.floor(0.05 * n)))
    ab_ids = _top_k_ids(distinct, int(np.floor(0.20 * n)))
    assert set(t[t == "A"].index) == a_ids
    assert set(t[t.isin(["A", "B"])].index) == ab_ids
    assert (t == "C").sum() == n - len(ab_ids)
    assert "5%" in t.attrs["rule"] and t.attrs["scheme"] == "abc" and t.attrs["n_missing"] == 0


def test_abc_exact_share_boundary_is_inclusive():
    # 20 customers: 5 % = exactly 1 customer in A despite floating point (0.05 * 20)
    x = pd.Series(np.arange(20.0), index=_ids(20))
    t = T.abc(x)
    assert T.tier_counts(t).tolist() == [1, 3, 16, 0]
    assert t.iloc[19] == "A" and t.iloc[18] == "B" and t.iloc[15] == "C"


def test_abc_ties_stay_together_in_lower_tier():
    # 20 customers, the two best tie: A can hold 1, so both fall to B
    x = pd.Series([100.0, 100.0] + list(range(18)), index=_ids(20))
    t = T.abc(x)
    assert t.iloc[0] == t.iloc[1] == "B"
    assert (t == "A").sum() == 0
    # a tie group never splits across tiers
    y = pd.Series(np.repeat([5.0, 4.0, 3.0, 2.0], 5), index=_ids(20))
    ty = T.abc(y, shares=(0.3, 0.3, 0.4))
    for v in (5.0, 4.0, 3.0, 2.0):
        assert ty[y == v].nunique() == 1
    # 30 % of 20 = 6; the top tie group (5 customers) fits, the next (ranks 6-10) does not
    assert (ty == "A").sum() == 5 and (ty == "B").sum() == 5 and (ty == "C").sum() == 10


def test_abc_all_equal_values_all_bottom():
    t = T.abc(pd.Series(7.0, index=_ids(50)))
    assert (t == "C").all()


def test_abc_nan_kept_and_counted():
    x = pd.Series([5.0, np.nan, 3.0, np.nan, 1.0] * 4, index=_ids(20))
    t = T.abc(x)
    assert len(t) == 20
    assert t.isna().sum() == 8 == t.attrs["n_missing"]
    assert t[x.isna()].isna().all()
    # shares over the 12 customers with a value: A floor(0.6) = 0, B floor(2.4) = 2 -> a tie of 4
    # fives cannot fit: all 12 in C
    assert (t.dropna() == "C").all()
    counts = T.tier_counts(t)
    assert counts["<NA>"] == 8 and counts.sum() == 20


def test_abc_fewer_customers_than_tiers():
    t = T.abc(pd.Series([3.0, 1.0], index=_ids(2)))
    assert t.tolist() == ["C", "C"]
    assert list(t.cat.categories) == ["A", "B", "C"]  # empty tiers kept as categories
    assert T.abc(pd.Series([], dtype=float)).empty


def test_single_tier_and_custom_labels(distinct):
    t = T.abc(distinct, shares=(1.0,), labels=["all"])
    assert (t == "all").all()
    q = T.quantiles(distinct, q=1)
    assert (q == "Q1").all()


def test_abc_input_errors():
    with pytest.raises(ValueError, match="sum to 1"):
        T.abc(pd.Series([1.0, 2.0]), shares=(0.5, 0.4))
    with pytest.raises(ValueError, match="labels"):
        T.abc(pd.Series([1.0, 2.0]), labels=["A", "B"])
    with pytest.raises(DataError, match="numeric"):
        T.abc(pd.Series(["a", "b"]))
    with pytest.raises(DataError, match="duplicate customer id"):
        T.abc(pd.Series([1.0, 2.0], index=["x", "x"]))
    with pytest.raises(DataError, match="infinite"):
        T.abc(pd.Series([1.0, np.inf]))


# ------------------------------------------------------------------ quantiles
def test_quantiles_equal_pandas_qcut_on_distinct_values(distinct):
    t = T.quantiles(distinct, q=4)
    ref = pd.qcut(distinct, 4, labels=["Q4", "Q3", "Q2", "Q1"])  # qcut: lowest bin first
    assert (t.astype(str) == ref.astype(str)).all()
    assert T.tier_counts(t).tolist() == [50, 50, 50, 50, 0]


def test_quantiles_custom_shares():
    x = pd.Series(np.arange(10.0), index=_ids(10))
    t = T.quantiles(x, q=[0.1, 0.4, 0.5], labels=["top", "mid", "low"])
    assert T.tier_counts(t).tolist() == [1, 4, 5, 0]


# ------------------------------------------------------------------ pareto
def test_pareto_matches_cumulative_share(distinct):
    t = T.pareto(distinct)
    order = np.argsort(-distinct.to_numpy(), kind="stable")
    sorted_vals = distinct.to_numpy()[order]
    cum = np.cumsum(sorted_vals) / sorted_vals.sum()
    expected = np.where(cum <= 0.80, "A", np.where(cum <= 0.95, "B", "C"))
    got = t.to_numpy()[order].astype(str)
    assert (got == expected).all()


def test_pareto_hand_example_and_edges():
    x = pd.Series([50.0, 30.0, 10.0, 5.0, 5.0], index=list("abcde"))
    # cumulative shares 0.5, 0.8, 0.9, 1.0, 1.0 (the tie of fives ends at 1.0)
    assert T.pareto(x).tolist() == ["A", "A", "B", "C", "C"]
    assert (T.pareto(pd.Series([0.0, 0.0, 0.0])) == "C").all()  # total 0: last tier
    assert (T.pareto(pd.Series([4.0, 4.0, 4.0, 4.0])) == "C").all()  # all equal: one tie group
    with pytest.raises(DataError, match="negative"):
        T.pareto(pd.Series([1.0, -2.0]))
    t = T.pareto(pd.Series([1.0, np.nan]))
    assert t.isna().sum() == 1 and t.attrs["n_missing"] == 1


# ------------------------------------------------------------------ grades
def test_monthly_volume_grades_boundaries_inclusive_upper():
    v = pd.Series([0.0, 0.5, 1.0, 1.0001, 2.0, 3.9, 4.0, 7.0, 9.99, 10.0, 14.0, 14.5, 20.0, 20.01,
                   np.nan])  # fmt: skip
    g = T.grades(v, T.MONTHLY_VOLUME_GRADES)
    assert g.tolist()[:-1] == ["<=1", "<=1", "<=1", "1-2", "1-2", "2-4", "2-4", "4-7", "7-10",
                               "7-10", "10-14", "14-20", "14-20", ">20"]  # fmt: skip
    assert pd.isna(g.iloc[-1]) and g.attrs["n_missing"] == 1
    assert len(g.cat.categories) == 8 and g.cat.categories[0] == ">20"
    # independent: pandas.cut with right-closed bins, reversed labels
    edges = [-np.inf, *T.MONTHLY_VOLUME_GRADES.edges, np.inf]
    ref = pd.cut(v, edges, right=True, labels=list(reversed(T.MONTHLY_VOLUME_GRADES.labels)))
    assert (g.iloc[:-1].astype(str) == ref.iloc[:-1].astype(str)).all()


def test_grades_all_equal_and_errors():
    g = T.grades(pd.Series([3.0] * 5), edges=[1, 5], labels=["hi", "mid", "lo"])
    assert (g == "mid").all()
    with pytest.raises(ValueError, match="increasing"):
        T.grades(pd.Series([1.0]), edges=[5, 1])
    with pytest.raises(ValueError, match="labels"):
        T.grades(pd.Series([1.0]), edges=[1, 5], labels=["a", "b"])


# ------------------------------------------------------------------ value matrix
def test_value_matrix_quadrants_credit_and_nan():
    idx = list("abcdef")
    cur = pd.Series([10, 9, 1, 2, 8, np.nan], index=idx, dtype=float)
    pot = pd.Series([10, 1, 9, 2, 8, 5], index=idx, dtype=float)
    # 5 customers with both values; high = top floor(0.5 * n) of each axis
    vm = T.value_matrix(cur, pot)
    # current: n=5 -> top 2 high (a, b); potential: n=6 -> top 3 high (a, c, e)
    assert vm.tolist()[:5] == ["core", "general", "potential", "problem", "potential"]
    assert pd.isna(vm["f"])
    credit = pd.Series([True, False, False, False, False, False], index=idx)
    vm2 = T.value_matrix(cur, pot, credit_fail=credit)
    assert vm2["a"] == "problem" and vm2["b"] == "general"
    assert list(vm.cat.categories) == ["core", "potential", "general", "problem"]
    with pytest.raises(DataError, match="different customers"):
        T.value_matrix(cur, pot.iloc[:3])


# ------------------------------------------------------------------ RFM (PyMC-Marketing)
def _pymc_style_rfm(log: pd.DataFrame, end: pd.Timestamp) -> pd.DataFrame:
    """Independent re-implementation of pymc_marketing.clv.utils.rfm_segments from transactions."""
    per_day = log.groupby(["customer_id", "date"])["amount"].sum().reset_index()
    g = per_day.groupby("customer_id")
    df = pd.DataFrame(
        {
            "recency": (end - g["date"].max()).dt.days.astype(float),
            "frequency": g.size().astype(float),
            "monetary_value": g["amount"].mean(),
        }
    )
    for q, col, rev in (("r", "recency", True), ("f", "frequency", False),
                        ("m", "monetary_value", False)):  # fmt: skip
        for n in (5, 4, 3):
            labels = list(range(n - 1, 0, -1)) if rev else list(range(1, n))
            try:
                df[q] = pd.qcut(df[col], q=4, labels=labels, duplicates="drop").astype(str)
                break
            except ValueError:
                continue
    df["score"] = df["r"] + df["f"] + df["m"]
    seg = pd.Series("Other", index=df.index)
    for name, scores in T.DEFAULT_RFM_SEGMENTS.items():
        seg[df["score"].isin(scores)] = name
    df["segment"] = seg
    return df


def test_rfm_segments_reproduce_pymc_marketing_scoring():
    rng = np.random.default_rng(3)
    n_rows = 1500
    log = pd.DataFrame(
        {
            "customer_id": rng.choice([f"c{i:03d}" for i in range(300)], n_rows),
            "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 360, n_rows), "D"),
            "amount": rng.gamma(2.0, 30.0, n_rows).round(2),
        }
    )
    end = pd.Timestamp("2024-12-31")
    ref = _pymc_style_rfm(log, end)
    # features as customer_features defines them (recency_days, purchase_days, monetary)
    g = log.groupby("customer_id")
    feats = pd.DataFrame(
        {
            "recency_days": (end - g["date"].max()).dt.days,
            "purchase_days": g["date"].nunique(),
            "monetary": g["amount"].sum(),
        }
    )
    seg = T.rfm_segments(feats)
    sc = T.rfm_scores(feats)
    assert (sc["rfm_score"].astype(str) == ref["score"].reindex(feats.index)).all()
    assert (seg.astype(str) == ref["segment"].reindex(feats.index)).all()
    assert list(seg.cat.categories) == [*T.DEFAULT_RFM_SEGMENTS, "Other"]
    assert (seg == "Premium Customer").sum() > 0 and (seg == "Inactive Customer").sum() > 0


def test_rfm_hand_scores_and_custom_config():
    # 8 customers, distinct values: quartiles of 2 each
    feats = pd.DataFrame(
        {
            "recency_days": [1, 2, 3, 4, 5, 6, 7, 8],  # low recency = best = 4
            "purchase_days": [4, 4, 3, 3, 2, 2, 1, 1],  # ties within quartiles
            # mean spend per purchase day 80, 70, ..., 10
            "monetary": [320, 280, 180, 150, 80, 60, 20, 10],
        },
        index=list("abcdefgh"),
    )
    sc = T.rfm_scores(feats)
    assert sc["rfm_score"].tolist() == ["444", "444", "333", "333", "222", "222", "111", "111"]
    seg = T.rfm_segments(feats)
    assert (
        seg.tolist()
        == ["Premium Customer"] * 4 + ["At Risk Customer"] * 2 + ["Inactive Customer"] * 2
    )
    custom = T.rfm_segments(feats, {"best": ["444"], "worst": ["111"]})
    assert custom.tolist() == ["best", "best"] + ["Other"] * 4 + ["worst", "worst"]
    with pytest.raises(ValueError, match="both"):
        T.rfm_segments(feats, {"x": ["444"], "y": ["444"]})


def test_rfm_heavy_ties_warn_and_nan_kept():
    feats = pd.DataFrame(
        {
            "recency_days": np.arange(12.0),
            "purchase_days": [1] * 9 + [2, 3, 3],  # heavy ties -> only 2 frequency bins
            "monetary": np.arange(12.0) + 1,
        },
        index=_ids(12),
    )
    feats.loc["c0003", "monetary"] = np.nan
    with pytest.warns(UserWarning, match="will not exceed 2"):
        seg = T.rfm_segments(feats)
    assert pd.isna(seg["c0003"]) and seg.attrs["n_missing"] == 1
    assert seg.notna().sum() == 11
    with pytest.raises(DataError, match="recency_days"):
        T.rfm_segments(feats.drop(columns="recency_days"))
    # a single bin (all but two tied) cannot be scored, as in PyMC-Marketing: clear error
    feats["purchase_days"] = [1] * 10 + [2, 3]
    with pytest.raises(DataError, match="cannot form quartiles"):
        T.rfm_segments(feats)


# ------------------------------------------------------------------ clusters
def test_clusters_recover_blobs_ordered_by_composite():
    rng = np.random.default_rng(0)
    centres = np.array([[5.0, 5.0], [0.0, 0.0], [-5.0, -5.0]])
    truth = np.repeat([0, 1, 2], 40)
    X = pd.DataFrame(centres[truth] + rng.normal(0, 0.3, (120, 2)), index=_ids(120),
                     columns=["F1", "F2"])  # fmt: skip
    t = T.clusters(X, k=3, seed=1, n_init=3)
    assert list(t.cat.categories) == ["K1", "K2", "K3"]
    # K1 = highest mean composite (row sum) = blob 0
    assert (t.cat.codes.to_numpy() == truth).all()
    # composite given explicitly reverses the order
    t_rev = T.clusters(X, k=3, seed=1, composite=-X.sum(axis=1), n_init=3)
    assert (t_rev.cat.codes.to_numpy() == 2 - truth).all()
    # deterministic given the seed
    assert t.equals(T.clusters(X, k=3, seed=1, n_init=3))


def test_clusters_nan_rows_and_too_few_customers():
    X = pd.DataFrame({"F1": [0.0, 1.0, np.nan, 10.0], "F2": [0.0, 1.0, 2.0, 10.0]},
                     index=list("abcd"))  # fmt: skip
    t = T.clusters(X, k=2, seed=0)
    assert pd.isna(t["c"]) and t.attrs["n_missing"] == 1
    assert t["d"] == "K1" and t["a"] == t["b"] == "K2"
    with pytest.raises(DataError, match="lower k"):
        T.clusters(X, k=4)


def test_no_warnings_on_clean_input(distinct):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        T.abc(distinct)
        T.pareto(distinct)
        T.quantiles(distinct, 5)
