"""The result object of :func:`crmresearch.loss.potential_core_loss`."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from crmresearch._format import p_text
from crmresearch.loss._comparison import _py
from crmresearch.loss.adjust import SpendAdjustment

# The summary line about the neglected-core list starts so (the CLI swaps in its own wording).
NEGLECTED_LINE_START = "neglected core: "

REVENUE_AT_RISK = (
    "calibration-window net revenue of the group's customers who made no purchase in the "
    "holdout, times run_rate: the revenue these customers would bring in a future window of "
    "run_rate calibration lengths at their past pace if they stay gone (an exposure estimate, "
    "not money already lost; revenue_after is what the group actually brought in the holdout)"
)


@dataclass
class CoreLossResult:
    """Result of :func:`potential_core_loss`.

    Attributes
    ----------
    groups : DataFrame
        Four cells, indexed ``served_core`` (core and top volume tier), ``neglected_core`` (core,
        not top volume tier), ``over_served`` (top volume tier, not core), ``other``:
        ``customers``, ``share`` (of all analysed customers), ``churned``, ``churn_rate``,
        ``churn_ci_low``/``churn_ci_high`` (Wilson), ``revenue_before`` (calibration revenue),
        ``revenue_after`` (holdout revenue), ``revenue_at_risk`` (see :data:`REVENUE_AT_RISK`),
        ``revenue_at_risk_share`` (of revenue_before), ``revenue_lost``/``revenue_lost_share``
        (older names: the same amount at run_rate 1).
    comparison : dict
        Neglected vs served core: ``risk_difference`` with ``risk_difference_ci`` and
        ``risk_difference_p`` (one test: the Miettinen-Nurminen score test; the CI is its inversion), ``risk_ratio`` (+ log CI), ``z``
        and ``p_value`` (pooled two-proportion z-test of equal churn), ``odds_ratio`` (+ CI, p:
        logit with linear log spend; the same as ``odds_ratio_adjusted``), ``odds_ratio_spline``
        (+ CI, p: logit with a natural
        spline of log spend), ``logit_n``.
    comparisons : DataFrame
        One row per pair (``neglected_vs_served``, ``over_served_vs_served``,
        ``neglected_vs_over_served``): churn of both, ``risk_difference``, ``ci_low``,
        ``ci_high``, ``p_value`` (score test, the test of the CI), ``risk_ratio``.
    adjustment : SpendAdjustment
        Spend overlap, spline adjustment, local band comparison, ``extrapolation`` flag.
    neglected, over_served : DataFrame
        The two lists (``index_value``, ``index_rank``, ``volume_tier``, ``revenue_before``,
        ``churned``, ``revenue_after``), indexed by pseudonym unless raw ids were requested.
        Files for managers come from :func:`crmresearch.loss.customer_lists` (no index column).
    core_share : float
        Core share used (the top volume tiers' share when not requested).
    core_share_requested : float or None
    minimum_by_construction : float
        Smallest possible neglected share of the core given the two sizes:
        ``max(0, core - top volume) / core``.
    neglected_share : float
        Observed neglected share of the core.
    """

    groups: pd.DataFrame
    comparison: dict
    comparisons: pd.DataFrame
    adjustment: SpendAdjustment
    neglected: pd.DataFrame
    over_served: pd.DataFrame
    core_share: float
    core_share_requested: float | None
    core_customers: int
    top_volume_customers: int
    neglected_share: float
    minimum_by_construction: float
    top_volume_tiers: tuple[str, ...]
    n: int
    excluded: dict
    pseudonymized: bool
    run_rate: float = 1.0
    alpha: float = 0.05
    customers: pd.DataFrame = field(default=None, repr=False)  # raw ids: never exported
    id_key_fingerprint: str | None = None
    logit_summary: str = ""
    notes: list[str] = field(default_factory=list)
    _key: bytes | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ export
    def definitions(self) -> dict:
        tops = ", ".join(self.top_volume_tiers)
        size = (
            f"as many customers as volume tier(s) {tops} ({self.core_share:.1%})"
            if self.core_share_requested is None
            else f"the requested {self.core_share:.0%}"
        )
        return {
            "core": f"top customers by the classification index: {size}",
            "served_core": f"core customers in volume tier(s) {tops}",
            "neglected_core": f"core customers outside volume tier(s) {tops}",
            "over_served": f"volume tier(s) {tops} customers outside the core",
            "other": "neither core nor top volume tier",
            "churned": "no purchase in the holdout window",
            "revenue_before": "calibration-period net revenue of the group",
            "revenue_after": "holdout-period net revenue of the group",
            "revenue_at_risk": REVENUE_AT_RISK,
            "minimum_by_construction": "smallest neglected share of the core that the sizes of "
            "the core and the top volume tier(s) allow",
        }

    def to_dict(self, include_list: bool = False) -> dict:
        """JSON-ready dict (never the key or raw ids; lists only when asked, pseudonymized)."""
        d = {
            "definition": self.definitions(),
            "n": self.n,
            "excluded": self.excluded,
            "core_share": self.core_share,
            "core_share_requested": self.core_share_requested,
            "core_customers": self.core_customers,
            "top_volume_customers": self.top_volume_customers,
            "neglected_share": _py(self.neglected_share),
            "minimum_by_construction": _py(self.minimum_by_construction),
            "groups": {g: {k: _py(v) for k, v in row.items()} for g, row in self.groups.iterrows()},
            "comparison": {k: _py(v) for k, v in self.comparison.items()},
            "comparisons": {
                name: {k: _py(v) for k, v in row.items()} for name, row in self.comparisons.iterrows()
            },
            "adjustment": self.adjustment.to_dict(),
            "n_neglected": int(len(self.neglected)),
            "n_over_served": int(len(self.over_served)),
            "pseudonymized": self.pseudonymized,
            "id_key_fingerprint": self.id_key_fingerprint,
            "findings": self.findings(),
            "notes": list(self.notes),
        }
        if include_list:
            d["neglected"] = [
                {"id": str(i), **{k: _py(v) for k, v in row.items()}}
                for i, row in self.neglected.iterrows()
            ]
        return d

    def headline(self) -> pd.DataFrame:
        """The four cells for humans: customers, share, churn + CI, revenue before/after/at risk."""
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
                "revenue after": g["revenue_after"].round(2),
                "revenue at risk": g["revenue_at_risk"].round(2),
            }
        )

    def findings(self, language: str = "en", currency: str = "$") -> list[str]:
        """Finding sentences generated from the estimates (direction, size, CI), money with
        ``currency``; see :func:`crmresearch.loss.findings.core_loss_findings`."""
        from crmresearch.loss.findings import core_loss_findings

        return core_loss_findings(self, language=language, currency=currency)

    def summary(self, currency: str = "$") -> str:
        """Plain-text result: cells, comparisons, findings (money with ``currency``), notes."""
        c = self.comparison
        tops = ", ".join(self.top_volume_tiers)
        ci = c["risk_difference_ci"]
        lines = [
            "Potential core-customer loss",
            f"core = top {self.core_customers:,} customers by the classification index "
            f"({self.core_share:.1%}); top volume tier(s) {tops}: {self.top_volume_customers:,}",
            f"neglected share of the core {self.neglected_share:.1%} (minimum by construction "
            f"{self.minimum_by_construction:.1%})",
            f"customers analysed: {self.n:,}"
            + (f"; excluded: {self.excluded}" if any(self.excluded.values()) else ""),
            "",
            self.headline().to_string(
                formatters={
                    "customers": "{:,}".format,
                    "revenue before": "{:,.2f}".format,
                    "revenue after": "{:,.2f}".format,
                    "revenue at risk": "{:,.2f}".format,
                }
            ),
            "",
            "Neglected vs served core (holdout churn):",
            f"  risk difference {c['risk_difference']:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}], "
            f"score test z = {c['risk_difference_z']:.3f}, {p_text(c['risk_difference_p'])}",
            f"  risk ratio {c['risk_ratio']:.3f} "
            f"[{c['risk_ratio_ci'][0]:.3f}, {c['risk_ratio_ci'][1]:.3f}]",
            f"  logistic regression (churn ~ neglected + log1p(revenue_before), n = "
            f"{c['logit_n']:,}): odds ratio {c['odds_ratio']:.3f} "
            f"[{c['odds_ratio_ci'][0]:.3f}, {c['odds_ratio_ci'][1]:.3f}], "
            f"{p_text(c['odds_ratio_p_value'])}",
            f"  spline of log spend (df {self.adjustment.spline['df']}): odds ratio "
            f"{c['odds_ratio_spline']:.3f} [{c['odds_ratio_spline_ci'][0]:.3f}, "
            f"{c['odds_ratio_spline_ci'][1]:.3f}], {p_text(c['odds_ratio_spline_p_value'])}"
            + ("  (extrapolation: the groups barely share a spend range)"
               if self.adjustment.extrapolation else ""),  # fmt: skip
            "revenue at risk = calibration revenue of customers with no holdout purchase "
            f"(x {self.run_rate:g}); an exposure estimate, not revenue already lost",
            f"{NEGLECTED_LINE_START}{len(self.neglected):,} customers (listed in .neglected, "
            + ("pseudonymized ids)" if self.pseudonymized else "raw ids)"),
            "",
            *self.findings(currency=currency),
        ]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        c = self.comparison
        return (
            f"CoreLossResult(n={self.n}, core={self.core_customers}, "
            f"neglected={int(self.groups.loc['neglected_core', 'customers'])}, "
            f"over_served={int(self.groups.loc['over_served', 'customers'])}, "
            f"risk_difference={c['risk_difference']:+.3f})"
        )

    # ------------------------------------------------------------------ lists and plots
    def customer_lists(self, **kwargs):
        """Manager lists from this result; see :func:`crmresearch.loss.customer_lists` (the
        result's id key is used unless ``id_key`` is given)."""
        from crmresearch.loss.lists import customer_lists

        kwargs.setdefault("id_key", self._key)
        return customer_lists(self, **kwargs)

    def plot_churn(self, ax=None):
        """Churn rate by cell with Wilson CIs; see :func:`crmresearch.plots.churn_by_group`."""
        from crmresearch.plots.loss import churn_by_group

        c = self.comparison
        return churn_by_group(
            self.groups,
            risk_difference=c.get("risk_difference"),
            risk_difference_ci=c.get("risk_difference_ci"),
            ax=ax,
        )

    def plot_revenue(self, ax=None, currency: str = "$"):
        """Calibration revenue per cell and the part at risk; see
        :func:`crmresearch.plots.revenue_lost`."""
        from crmresearch.plots.loss import revenue_lost

        return revenue_lost(
            self.groups, part="revenue_at_risk", currency=currency,
            part_label="of which: at risk (customers with no holdout purchase)",
            title="Revenue at risk: calibration revenue of customers who did not return", ax=ax,
        )  # fmt: skip

    def plot_overlap(self, ax=None, currency: str = "$"):
        """Calibration spend of neglected vs served core (common support); see
        :func:`crmresearch.plots.spend_overlap`."""
        from crmresearch.plots.loss import spend_overlap

        c = self.customers
        groups = {
            name: c.loc[c["group"] == name, "revenue_before"].to_numpy()
            for name in ("neglected_core", "served_core", "over_served")
        }
        return spend_overlap(groups, cut=self.adjustment.band.get("cut"), ax=ax, currency=currency)
