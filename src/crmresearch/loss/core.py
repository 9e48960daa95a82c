"""Potential core-customer loss: the groups, their holdout churn and revenue, the comparison."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmresearch import tiers as _tiers
from crmresearch._format import p_text
from crmresearch._privacy import pseudonymize
from crmresearch._stats import wilson_ci
from crmresearch.errors import DataError
from crmresearch.loss._comparison import _logit, _py, _two_group_stats

GROUPS = ("neglected_core", "served_core", "other")


def _as_key(key) -> bytes:
    """An id key as bytes: a key from ``crmresearch._privacy.load_key`` or a secret text."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not key:
        raise ValueError("pseudonyms need a non-empty key (crmresearch._privacy.load_key(path))")
    return bytes(key)


def pseudonymize_ids(ids, key) -> pd.Index:
    """Keyed-HMAC pseudonyms ``C-<10 hex>`` of ``ids`` (:func:`crmresearch._privacy.pseudonymize`).

    ``key``: bytes (a key file from ``_privacy.load_key``) or a secret text. The same key gives
    the same pseudonym for the same id, so lists can be joined across runs; without the key the
    ids cannot be recovered by hashing candidate ids.
    """
    return pd.Index(pseudonymize(ids, _as_key(key)), name="customer_pseudonym")


# The summary line about the neglected-core list starts so (the CLI swaps in its own wording).
NEGLECTED_LINE_START = "neglected core: "


@dataclass
class CoreLossResult:
    """Result of :func:`potential_core_loss`.

    Attributes
    ----------
    groups : DataFrame
        Indexed ``neglected_core``, ``served_core``, ``other``: ``customers``, ``share`` (of all
        analysed customers), ``churned``, ``churn_rate``, ``churn_ci_low``/``churn_ci_high``
        (Wilson 95 %), ``revenue_before`` (calibration revenue of the group), ``revenue_after``
        (holdout revenue), ``revenue_lost`` (calibration revenue of the group's churned
        customers), ``revenue_lost_share`` (= revenue_lost / revenue_before).
    comparison : dict
        Neglected vs served core: ``risk_ratio`` (+ ``_ci``), ``risk_difference`` (+ ``_ci``),
        ``z``, ``p_value`` (two-proportion z-test), ``odds_ratio`` (+ ``_ci``, ``_p_value``) from
        the logistic regression, ``logit_n``.
    neglected : DataFrame
        The neglected-core list: ``index_value``, ``index_rank``, ``volume_tier``,
        ``revenue_before``, ``churned``, ``revenue_after``; indexed by pseudonym unless raw ids
        were requested.
    """

    groups: pd.DataFrame
    comparison: dict
    neglected: pd.DataFrame
    core_share: float
    top_volume_tiers: tuple[str, ...]
    n: int
    excluded: dict
    pseudonymized: bool
    logit_summary: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self, include_list: bool = False) -> dict:
        """JSON-ready dict (the salt is never included)."""
        d = {
            "definition": {
                "core": f"top {self.core_share:.0%} of customers by the classification index",
                "neglected_core": "core customers not in volume tier(s) "
                + ", ".join(self.top_volume_tiers),
                "served_core": "core customers in volume tier(s) "
                + ", ".join(self.top_volume_tiers),
                "churned": "no purchase in the holdout window",
                "revenue_before": "calibration-period net revenue of the group",
                "revenue_lost": "calibration-period net revenue of the group's churned customers",
            },
            "n": self.n,
            "excluded": self.excluded,
            "groups": {g: {k: _py(v) for k, v in row.items()} for g, row in self.groups.iterrows()},
            "comparison": {k: _py(v) for k, v in self.comparison.items()},
            "n_neglected": int(len(self.neglected)),
            "pseudonymized": self.pseudonymized,
            "notes": list(self.notes),
        }
        if include_list:
            d["neglected"] = [
                {"id": str(i), **{k: _py(v) for k, v in row.items()}}
                for i, row in self.neglected.iterrows()
            ]
        return d

    def headline(self) -> pd.DataFrame:
        """The comparison table for humans: customers, share, churn rate, revenue before/lost."""
        g = self.groups
        return pd.DataFrame(
            {
                "customers": g["customers"].astype(int),
                "share %": (g["share"] * 100).round(1),
                "churn %": (g["churn_rate"] * 100).round(1),
                "churn 95% CI": [
                    f"[{lo * 100:.1f}, {hi * 100:.1f}]"
                    for lo, hi in zip(g["churn_ci_low"], g["churn_ci_high"], strict=True)
                ],
                "revenue before": g["revenue_before"].round(2),
                "revenue lost": g["revenue_lost"].round(2),
                "lost %": (g["revenue_lost_share"] * 100).round(1),
            }
        )

    def summary(self) -> str:
        c = self.comparison
        lines = [
            "Potential core-customer loss",
            f"core = top {self.core_share:.0%} by the classification index; served = core in "
            f"volume tier(s) {', '.join(self.top_volume_tiers)}; neglected = core elsewhere",
            f"customers analysed: {self.n:,}"
            + (f"; excluded: {self.excluded}" if any(self.excluded.values()) else ""),
            "",
            self.headline().to_string(
                formatters={
                    "customers": "{:,}".format,
                    "revenue before": "{:,.2f}".format,
                    "revenue lost": "{:,.2f}".format,
                }
            ),
            "",
            "Neglected vs served core (holdout churn):",
            f"  risk difference {c['risk_difference']:+.3f} "
            f"[{c['risk_difference_ci'][0]:+.3f}, {c['risk_difference_ci'][1]:+.3f}]",
            f"  risk ratio {c['risk_ratio']:.3f} "
            f"[{c['risk_ratio_ci'][0]:.3f}, {c['risk_ratio_ci'][1]:.3f}]",
            f"  two-proportion z = {c['z']:.3f}, {p_text(c['p_value'])}",
            f"  logistic regression (churn ~ neglected + log1p(revenue_before), n = "
            f"{c['logit_n']:,}): odds ratio {c['odds_ratio']:.3f} "
            f"[{c['odds_ratio_ci'][0]:.3f}, {c['odds_ratio_ci'][1]:.3f}], "
            f"{p_text(c['odds_ratio_p_value'])}",
            "revenue lost = calibration revenue of churned customers (not annualized)",
            f"{NEGLECTED_LINE_START}{len(self.neglected):,} customers (listed in .neglected, "
            + ("pseudonymized ids)" if self.pseudonymized else "raw ids)"),
        ]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        c = self.comparison
        return (
            f"CoreLossResult(n={self.n}, neglected={int(self.groups.loc['neglected_core', 'customers'])}, "
            f"risk_difference={c['risk_difference']:+.3f})"
        )

    def plot_churn(self, ax=None):
        """Churn rate by group with Wilson 95 % CIs; see :func:`crmresearch.plots.churn_by_group`."""
        from crmresearch.plots.loss import churn_by_group

        c = self.comparison
        return churn_by_group(
            self.groups,
            risk_difference=c.get("risk_difference"),
            risk_difference_ci=c.get("risk_difference_ci"),
            ax=ax,
        )

    def plot_revenue(self, ax=None):
        """Revenue before and lost by group; see :func:`crmresearch.plots.revenue_lost`."""
        from crmresearch.plots.loss import revenue_lost

        return revenue_lost(self.groups, ax=ax)


@dataclass
class _Inputs:
    """The analysed customers: aligned inputs and the exclusion counts (nothing dropped silently)."""

    index_values: pd.Series
    tier: pd.Series
    churned: np.ndarray
    rb: np.ndarray  # calibration revenue
    ra: np.ndarray  # holdout revenue
    excluded: dict
    n: int


def _aligned_inputs(index_values, volume_tier, outcomes, revenue_before, tops) -> _Inputs:
    """Check and align the four inputs on the index's customers; count every exclusion."""
    idx = _tiers._as_values(index_values, "index_values")
    vt = volume_tier if isinstance(volume_tier, pd.Series) else pd.Series(volume_tier)
    if "churned" not in outcomes.columns:
        raise DataError(
            "outcomes lack column 'churned'; compute them with "
            "crmresearch.features.holdout_outcomes(log, start=..., end=..., customers=...)"
        )
    if revenue_before is None:
        if "revenue_before" not in outcomes.columns:
            raise DataError(
                "potential_core_loss needs calibration revenue: pass revenue_before="
                "features['monetary'] (or add a 'revenue_before' column to outcomes)"
            )
        revenue_before = outcomes["revenue_before"]
    rev = _tiers._as_values(revenue_before, "revenue_before")
    if isinstance(vt.dtype, pd.CategoricalDtype):
        unknown = [t for t in tops if t not in list(vt.cat.categories)]
        if unknown:
            raise DataError(
                f"top_volume_tiers {unknown} are not tiers of volume_tier "
                f"({list(vt.cat.categories)})"
            )
    ids = idx.index
    excluded = {"no_index_value": int(idx.isna().sum())}
    keep = idx.notna()
    aligned = {}
    for reason, series in (
        ("no_volume_tier", vt),
        ("no_outcome", outcomes["churned"]),
        ("no_revenue_before", rev),
    ):
        aligned[reason] = series.reindex(ids)
        miss = keep & aligned[reason].isna()
        excluded[reason] = int(miss.sum())
        keep &= ~miss
    extra = {
        "volume_tier_without_index": int((~vt.index.isin(ids)).sum()),
        "outcome_without_index": int((~outcomes.index.isin(ids)).sum()),
    }
    excluded.update({k: v for k, v in extra.items() if v})
    n = int(keep.sum())
    if n == 0:
        raise DataError(
            "potential_core_loss: no customer has an index value, a volume tier, an outcome and "
            "calibration revenue; check that the four inputs share customer ids"
        )
    iv = idx[keep]
    ra = (
        outcomes["revenue"].reindex(iv.index).fillna(0.0).to_numpy()
        if "revenue" in outcomes.columns
        else np.full(n, np.nan)
    )
    return _Inputs(
        index_values=iv,
        tier=aligned["no_volume_tier"][keep].astype("object").astype(str),
        churned=aligned["no_outcome"][keep].astype(bool).to_numpy(),
        rb=aligned["no_revenue_before"][keep].to_numpy(),
        ra=ra,
        excluded=excluded,
        n=n,
    )


def _group_table(group, churned, rb, ra, alpha) -> pd.DataFrame:
    """One row per group code (position in :data:`GROUPS`): counts, churn + CI, revenue."""
    n = len(group)
    rows = []
    for g in range(len(GROUPS)):
        m = group == g
        ng, xg = int(m.sum()), int(churned[m].sum())
        lo, hi = wilson_ci(xg, ng, alpha)
        before = float(rb[m].sum())
        lost = float(rb[m & churned].sum())
        rows.append(
            {
                "customers": ng,
                "share": ng / n,
                "churned": xg,
                "churn_rate": xg / ng if ng else float("nan"),
                "churn_ci_low": lo,
                "churn_ci_high": hi,
                "revenue_before": before,
                "revenue_after": float(ra[m].sum()),
                "revenue_lost": lost,
                "revenue_lost_share": lost / before if before else float("nan"),
            }
        )
    return pd.DataFrame(rows, index=pd.Index(GROUPS, name="group"))


def _customer_list(member, iv, tier, churned, rb, ra) -> pd.DataFrame:
    """The customers of one group, best index rank first (raw ids; pseudonymized by the caller)."""
    ranks = iv.rank(ascending=False, method="min").astype(int)
    return pd.DataFrame(
        {
            "index_value": iv.to_numpy()[member],
            "index_rank": ranks.to_numpy()[member],
            "volume_tier": tier.to_numpy()[member],
            "revenue_before": rb[member],
            "churned": churned[member],
            "revenue_after": ra[member],
        },
        index=iv.index[member],
    ).sort_values("index_rank", kind="mergesort")


def potential_core_loss(
    index_values,
    volume_tier,
    outcomes: pd.DataFrame,
    core_share: float = 0.2,
    top_volume_tiers: Sequence[str] = ("A",),
    *,
    revenue_before=None,
    pseudonymize: bool = True,
    id_key: bytes | None = None,
    salt: str | None = None,
    alpha: float = 0.05,
) -> CoreLossResult:
    """Neglected core customers, their holdout churn and lost revenue vs the served core.

    Parameters
    ----------
    index_values : Series
        Classification-index composite per customer (higher = more valuable), calibration period.
    volume_tier : Series
        The firm's volume tiers (e.g. ``tiers.abc(features["monetary"])``).
    outcomes : DataFrame
        Holdout outcomes (:func:`crmresearch.features.holdout_outcomes`): ``churned`` (bool) and
        ``revenue``. May carry ``revenue_before``.
    core_share : float
        Share of customers that are *core*: the top ``core_share`` by index (rank rule of
        :func:`crmresearch.tiers.abc`: ties stay together, outside the core if they straddle it).
    top_volume_tiers : sequence of str
        Volume tiers that receive core treatment.
    revenue_before : Series, optional
        Calibration-period net revenue per customer (e.g. ``features["monetary"]``); default
        ``outcomes["revenue_before"]``. Required.
    pseudonymize : bool
        Index the neglected-core list by keyed-HMAC pseudonyms (default) or raw ids (``False``).
    id_key : bytes, optional
        The firm's id key (:func:`crmresearch._privacy.load_key`): the same key gives the same
        pseudonyms in every run. Default a fresh random key per call (pseudonyms then do not
        match across runs).
    salt : str, optional
        Older name: a secret text used as the key when ``id_key`` is not given.
    alpha : float
        1 - confidence level.

    Returns
    -------
    CoreLossResult

    Notes
    -----
    Customers analysed = those with an index value, a volume tier and an outcome; the others are
    counted in ``excluded`` by reason. With ``n_g`` customers in group g, ``x_g`` of them churned:

    - ``churn_rate = x_g / n_g`` with a Wilson CI;
    - ``revenue_before = sum revenue_before`` over the group;
    - ``revenue_lost = sum revenue_before`` over the group's *churned* customers: the calibration
      revenue of business that stopped (same window length as calibration, not annualized);
    - risk difference ``p1 - p0`` (neglected minus served) with Wald CI
      ``+- z sqrt(p1(1-p1)/n1 + p0(1-p0)/n0)``; risk ratio ``p1/p0`` with CI
      ``exp(log RR +- z sqrt(1/a - 1/n1 + 1/c - 1/n0))`` (0.5 added to the counts when one is 0);
      both equal ``statsmodels.stats.proportion.confint_proportions_2indep`` (``"wald"``/``"log"``);
    - two-proportion z-test: ``statsmodels proportions_ztest`` (pooled variance);
    - logistic regression over core customers: ``logit P(churn) = b0 + b1 neglected +
      b2 log(1 + max(revenue_before, 0))``; odds ratio ``exp(b1)`` with its Wald CI.

    R: ``prop.test(c(a, c), c(n1, n0), correct = FALSE)``; ``glm(churned ~ neglected +
    log1p(revenue), family = binomial)``; ``epitools::riskratio``.
    """
    if not 0 < core_share < 1:
        raise ValueError(f"core_share must be in (0, 1), got {core_share}")
    tops = tuple(str(t) for t in top_volume_tiers)
    d = _aligned_inputs(index_values, volume_tier, outcomes, revenue_before, tops)
    iv, tier, churned, rb, ra, n = d.index_values, d.tier, d.churned, d.rb, d.ra, d.n
    core = _tiers._rank_tiers(iv, [core_share, 1.0]) == 0
    served = core & tier.isin(tops).to_numpy()
    neglected = core & ~served
    group = np.where(neglected, 0, np.where(served, 1, 2))
    groups = _group_table(group, churned, rb, ra, alpha)
    notes = []
    a, n1 = (
        int(groups.loc["neglected_core", "churned"]),
        int(groups.loc["neglected_core", "customers"]),
    )
    c, n0 = int(groups.loc["served_core", "churned"]), int(groups.loc["served_core", "customers"])
    comparison = _two_group_stats(a, n1, c, n0, alpha)
    if n1 == 0 or n0 == 0:
        notes.append(
            "neglected or served core is empty: no comparison (the volume tiers and the index "
            "agree completely on the core, or the core is entirely outside the top volume tiers)"
        )
    if a == 0 or c == 0:
        notes.append("a zero churn count: risk ratio uses the 0.5 (Haldane-Anscombe) correction")
    lres, lsummary, lnote = _logit(churned[core], neglected[core], rb[core], alpha)
    comparison.update(lres)
    comparison["logit_n"] = int(core.sum())
    if lnote:
        notes.append(lnote)
    if (rb < 0).any():
        notes.append(
            f"{int((rb < 0).sum())} customers have negative calibration revenue (returns); they "
            "count as 0 in the logistic regression covariate"
        )
    nl = _customer_list(neglected, iv, tier, churned, rb, ra)
    if pseudonymize:
        key = id_key if id_key is not None else salt
        nl.index = pseudonymize_ids(nl.index, key if key else secrets.token_bytes(32))
    else:
        nl.index.name = "customer_id"
    return CoreLossResult(
        groups=groups,
        comparison=comparison,
        neglected=nl,
        core_share=core_share,
        top_volume_tiers=tops,
        n=n,
        excluded=d.excluded,
        pseudonymized=bool(pseudonymize),
        logit_summary=lsummary,
        notes=notes,
    )
