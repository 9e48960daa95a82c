"""Potential core-customer loss: four cells of index core x top volume tier, their holdout
churn and revenue, and the comparisons between them."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import numpy as np
import pandas as pd

from crmresearch import tiers as _tiers
from crmresearch._privacy import key_fingerprint, pseudonymize
from crmresearch.loss._comparison import _logit, _two_group_stats
from crmresearch.loss._inputs import _aligned_inputs, _customer_list, _group_table
from crmresearch.loss.adjust import spend_adjustment
from crmresearch.loss.result import NEGLECTED_LINE_START, REVENUE_AT_RISK, CoreLossResult

__all__ = ["potential_core_loss", "GROUPS", "COMPARISONS",
           "NEGLECTED_LINE_START", "REVENUE_AT_RISK", "CoreLossResult"]  # fmt: skip

#: The four cells: index core x top volume tier(s).
GROUPS = ("served_core", "neglected_core", "over_served", "other")
#: Pairs compared (first minus second).
COMPARISONS = {
    "neglected_vs_served": ("neglected_core", "served_core"),
    "over_served_vs_served": ("over_served", "served_core"),
    "neglected_vs_over_served": ("neglected_core", "over_served"),
}

def _as_key(key) -> bytes:
    """An id key as bytes: a key from ``crmresearch._privacy.load_key`` or a secret text."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not key:
        raise ValueError("pseudonyms need a non-empty key (crmresearch._privacy.load_key(path))")
    return bytes(key)


def _pseudonym_index(ids, key) -> pd.Index:
    """Keyed-HMAC pseudonyms ``C-<10 hex>`` of ``ids`` (:func:`crmresearch._privacy.pseudonymize`).

    ``key``: bytes (a key file from ``_privacy.load_key``) or a secret text. The same key gives
    the same pseudonym for the same id, so lists can be joined across runs; without the key the
    ids cannot be recovered by hashing candidate ids.
    """
    return pd.Index(pseudonymize(ids, _as_key(key)), name="customer_pseudonym")


def potential_core_loss(
    index_values,
    volume_tier,
    outcomes: pd.DataFrame,
    core_share: float | None = None,
    top_volume_tiers: Sequence[str] = ("A",),
    *,
    revenue_before=None,
    run_rate: float = 1.0,
    pseudonymize: bool = True,
    id_key: bytes | None = None,
    salt: str | None = None,
    alpha: float = 0.05,
    spline_df: int = 4,
    band_factor: float = 1.5,
) -> CoreLossResult:
    """Core customers the volume tiers neglect, those they over-serve, and their holdout churn.

    Parameters
    ----------
    index_values : Series
        Classification-index composite per customer (higher = more valuable), calibration period.
    volume_tier : Series
        The firm's volume tiers (e.g. ``tiers.abc(features["monetary"])``).
    outcomes : DataFrame
        Holdout outcomes (:func:`crmresearch.features.holdout_outcomes`): ``churned`` (bool) and
        ``revenue``. May carry ``revenue_before``.
    core_share : float, optional
        Share of customers that are *core* (top by index; rank rule of
        :func:`crmresearch.tiers.abc`: ties stay together, outside the core if they straddle
        it). Default ``None``: **like for like**, the core has as many customers as the top
        volume tier(s), so ``neglected_core`` and ``over_served`` have the same size (up to ties)
        and the neglected share is not forced by the sizes. With a larger share, at least
        ``minimum_by_construction`` of the core must fall outside the top tier(s).
    top_volume_tiers : sequence of str
        Volume tiers that receive core treatment.
    revenue_before : Series, optional
        Calibration-period net revenue per customer (e.g. ``features["monetary"]``); default
        ``outcomes["revenue_before"]``. Required.
    run_rate : float
        Factor applied to revenue at risk (e.g. holdout length / calibration length to express
        it per holdout window); default 1 = per calibration window.
    pseudonymize : bool
        Index the lists by keyed-HMAC pseudonyms (default) or raw ids (``False``).
    id_key : bytes, optional
        The firm's id key (:func:`crmresearch._privacy.load_key`): the same key gives the same
        pseudonyms in every run. Default a fresh random key per call.
    salt : str, optional
        Older name: a secret text used as the key when ``id_key`` is not given.
    alpha : float
        1 - confidence level.
    spline_df, band_factor : see :func:`crmresearch.loss.adjust.spend_adjustment`.

    Returns
    -------
    CoreLossResult

    Notes
    -----
    Customers analysed = those with an index value, a volume tier, an outcome and calibration
    revenue; the others are counted in ``excluded`` by reason. With ``n_g`` customers in cell g,
    ``x_g`` of them churned:

    - ``churn_rate = x_g / n_g`` with a Wilson CI;
    - ``revenue_at_risk = run_rate * sum revenue_before`` over the cell's churned customers
      (:data:`REVENUE_AT_RISK`); ``revenue_after = sum`` of holdout revenue;
    - risk difference ``p1 - p0``, Miettinen-Nurminen score CI and the p of the same score test
      (``_stats.risk_difference_score``; valid at 0 %/100 % churn; findings claim nothing for a
      group under 10 customers); risk ratio ``p1/p0``, CI ``exp(log RR +- z sqrt(1/a - 1/n1 +
      1/c - 1/n0))`` (0.5 added when a count is 0; = statsmodels ``method="log"``); the pooled
      two-proportion z-test (``z``, ``p_value``) is kept as the test of equal churn;
    - logistic regressions over core customers: ``logit P(churn) = b0 + b1 neglected + f(s)``
      with ``s = log(1 + max(revenue_before, 0))`` and ``f`` linear (``odds_ratio``, also named
      ``odds_ratio_adjusted``) or a
      natural cubic spline (``odds_ratio_spline``); Wald CI and p of ``b1``. Inside the core,
      neglected means spend below the volume cut, so the groups hardly overlap in ``s``:
      ``adjustment`` shows the overlap and a local comparison around the cut.

    R: ``PropCIs::diffscoreci(a, n1, c, n0, 0.95)`` (score CI); ``prop.test(c(a, c), c(n1, n0),
    correct = FALSE)`` (pooled z); ``glm(churned ~ neglected +
    splines::ns(log1p(revenue), 4), family = binomial)``; ``epitools::riskratio``.
    """
    if core_share is not None and not 0 < core_share < 1:
        raise ValueError(f"core_share must be in (0, 1) or None (like for like), got {core_share}")
    tops = tuple(str(t) for t in top_volume_tiers)
    d = _aligned_inputs(index_values, volume_tier, outcomes, revenue_before, tops)
    iv, tier, churned, rb, ra, n = d.index_values, d.tier, d.churned, d.rb, d.ra, d.n
    top = tier.isin(tops).to_numpy()
    n_top = int(top.sum())
    share = n_top / n if core_share is None else float(core_share)
    core = _tiers._rank_tiers(iv, [share, 1.0]) == 0
    served, neglected = core & top, core & ~top
    over = ~core & top  # the rest (neither core nor top) is "other"
    group = np.select([served, neglected, over], [0, 1, 2], default=3)
    groups = _group_table(group, GROUPS, churned, rb, ra, alpha, run_rate)
    notes: list[str] = []
    comparisons = _comparison_table(groups, alpha)
    comparison, lsummary, more = _neglected_vs_served(groups, churned, neglected, core, rb, alpha)
    notes += more
    volume_cut = float(rb[top].min()) if n_top else float("nan")
    adjustment = spend_adjustment(churned, neglected, rb, core, volume_cut, alpha=alpha,
                                  spline_df=spline_df, band_factor=band_factor)  # fmt: skip
    # the linear-spend odds ratio is "the" adjusted one (metrics key odds_ratio_adjusted)
    comparison["odds_ratio_adjusted"] = comparison["odds_ratio"]
    comparison["odds_ratio_adjusted_ci"] = comparison["odds_ratio_ci"]
    comparison["odds_ratio_adjusted_p_value"] = comparison["odds_ratio_p_value"]
    comparison["odds_ratio_spline"] = adjustment.spline["odds_ratio"]
    comparison["odds_ratio_spline_ci"] = adjustment.spline["odds_ratio_ci"]
    comparison["odds_ratio_spline_p_value"] = adjustment.spline["odds_ratio_p_value"]
    notes += adjustment.notes
    if (rb < 0).any():
        notes.append(
            f"{int((rb < 0).sum())} customers have negative calibration revenue (returns); they "
            "count as 0 in the logistic regression covariate"
        )
    k_core = int(core.sum())
    if core_share is None and k_core < n_top:
        notes.append(
            f"ties in the index at the core boundary: core {k_core:,} < top volume tier(s) "
            f"{n_top:,}, so over-served exceeds neglected by {n_top - k_core:,}"
        )
    key = id_key if id_key is not None else (salt.encode("utf-8") if salt else None)
    list_key = key if key is not None else secrets.token_bytes(32)
    lists, customers = _lists(d, group, neglected, over, pseudonymize, list_key)
    return CoreLossResult(
        groups=groups,
        comparison=comparison,
        comparisons=comparisons,
        adjustment=adjustment,
        neglected=lists["neglected"],
        over_served=lists["over_served"],
        core_share=share,
        core_share_requested=core_share,
        core_customers=k_core,
        top_volume_customers=n_top,
        neglected_share=int(neglected.sum()) / k_core if k_core else float("nan"),
        minimum_by_construction=max(0, k_core - n_top) / k_core if k_core else float("nan"),
        top_volume_tiers=tops,
        n=n,
        excluded=d.excluded,
        pseudonymized=bool(pseudonymize),
        run_rate=float(run_rate),
        alpha=alpha,
        customers=customers,
        id_key_fingerprint=key_fingerprint(_as_key(key)) if key is not None else None,
        logit_summary=lsummary,
        notes=notes,
        _key=list_key,
    )


def _neglected_vs_served(groups, churned, neglected, core, rb, alpha):
    """Neglected vs served core: two-group statistics and the linear-spend logit."""
    notes: list[str] = []
    cnt = groups["customers"]
    a, n1 = int(groups.loc["neglected_core", "churned"]), int(cnt["neglected_core"])
    c, n0 = int(groups.loc["served_core", "churned"]), int(cnt["served_core"])
    comparison = _two_group_stats(a, n1, c, n0, alpha)
    if n1 == 0 or n0 == 0:
        notes.append(
            "neglected or served core is empty: no comparison (the volume tiers and the index "
            "agree completely on the core, or the core is entirely outside the top volume tiers)"
        )
    if (a == 0 or c == 0) and n1 and n0:
        notes.append("a zero churn count: risk ratio uses the 0.5 (Haldane-Anscombe) correction")
    lres, lsummary, lnote = _logit(churned[core], neglected[core], rb[core], alpha)
    comparison.update(lres)
    comparison["logit_n"] = int(core.sum())
    if lnote:
        notes.append(lnote)
    return comparison, lsummary, notes


def _lists(d, group, neglected, over, pseudonymize: bool, key: bytes):
    """The neglected and over-served lists (pseudonymized unless asked otherwise) and the
    per-customer table with raw ids that the manager lists are built from (never exported)."""
    iv, tier, churned, rb, ra = d.index_values, d.tier, d.churned, d.rb, d.ra
    lists = {}
    for name, member in (("neglected", neglected), ("over_served", over)):
        lst = _customer_list(member, iv, tier, churned, rb, ra)
        if pseudonymize:
            lst.index = _pseudonym_index(lst.index, key)
        else:
            lst.index.name = "customer_id"
        lists[name] = lst
    ranks = iv.rank(ascending=False, method="min").astype(int)
    customers = pd.DataFrame(
        {"group": np.asarray(GROUPS, dtype=object)[group], "volume_tier": tier.to_numpy(),
         "index_rank": ranks.to_numpy(), "revenue_before": rb, "revenue_after": ra,
         "churned": churned},
        index=pd.Index(iv.index, name="customer_id"),
    )  # fmt: skip
    return lists, customers


def _comparison_table(groups: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Churn of each compared pair: risk difference with the CI and p of one score test."""
    rows = {}
    for name, (g1, g0) in COMPARISONS.items():
        a, n1 = int(groups.loc[g1, "churned"]), int(groups.loc[g1, "customers"])
        c, n0 = int(groups.loc[g0, "churned"]), int(groups.loc[g0, "customers"])
        st = _two_group_stats(a, n1, c, n0, alpha)
        rows[name] = {
            "group": g1, "reference": g0, "n_group": n1, "n_reference": n0,
            "churn_group": a / n1 if n1 else float("nan"),
            "churn_reference": c / n0 if n0 else float("nan"),
            "risk_difference": st["risk_difference"],
            "ci_low": st["risk_difference_ci"][0], "ci_high": st["risk_difference_ci"][1],
            "p_value": st["risk_difference_p"], "risk_ratio": st["risk_ratio"],
        }  # fmt: skip
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "comparison"
    return out
