"""Strategy analysis of one randomized campaign: every arm × outcome × tier in one result.

:func:`campaign_analysis` runs, for each treatment arm against control and each outcome, the
per-tier effects (:func:`effect_by_tier`, HC2), Holm across tiers and outcomes, the heterogeneity
test, ROI with tier totals reconciled to the overall, targeting-policy values with paired CIs of
their differences (:func:`policy_contrasts`), the reach of each targeting rule (labelled as reach)
and the minimum detectable effect per tier (:func:`power_table`). :func:`campaign_experiment`
(``campaign_table``) builds the customer-level table from a campaign table (customer_id, arm,
start date) and a transaction log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crmresearch.errors import DataError
from crmresearch.strategy._campaign_parts import (
    _analyse_arms,
    _findings,
    _policies,
    _policy_rules,
    _reach_rows,
    _roi_table,
)
from crmresearch.strategy._common import (
    _find_control,
    _ordered_levels,
    _require_columns,
    label_text,
)

__all__ = ["CampaignAnalysis", "campaign_analysis"]
_ROLES = (
    "arm",
    "outcomes",
    "tier",
    "index_tier",
    "index_score",
    "volume_score",
    "revenue",
    "customer_id",
    "start",
)


def _apply_columns(columns: Mapping[str, Any] | None, given: dict) -> dict:
    """``columns`` maps a role (arm, outcomes, tier, ...) to the frame's column name(s)."""
    if not columns:
        return given
    unknown = sorted(set(columns) - set(_ROLES))
    if unknown:
        raise DataError(f"columns has unknown role(s) {unknown}; known roles: {', '.join(_ROLES)}")
    out = dict(given)
    out.update({k: v for k, v in columns.items() if k in given})
    return out


def _check_outcomes(frame: pd.DataFrame, outcomes: Sequence[str]) -> None:
    for col in outcomes:
        values = frame[col]
        if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
            continue
        numeric = pd.to_numeric(values, errors="coerce")
        bad = numeric.isna() & values.notna()
        first = frame.index[np.flatnonzero(bad.to_numpy())[0]] if bad.any() else None
        where = f"; first at row {first}: {values.loc[first]!r}" if first is not None else ""
        raise DataError(
            f"outcome column {col!r} is not numeric (dtype {values.dtype}; "
            f"{int(bad.sum())} non-numeric values{where}); convert it to numbers, or 0/1 for a "
            "yes/no outcome"
        )


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------
@dataclass
class CampaignAnalysis:
    """Result of :func:`campaign_analysis` (all tables long: one row per arm × outcome × ...).

    Attributes
    ----------
    effects : DataFrame
        ``scheme``, ``outcome``, ``arm``, ``tier`` (tiers, then ``overall`` = pooled difference
        in means) and the columns of :func:`effect_by_tier`; ``p_adjusted`` is Holm over all
        per-tier tests of a scheme (arms × outcomes × tiers); the ``overall`` rows are adjusted
        over arms × outcomes.
    combined : DataFrame
        Per scheme × arm × outcome: the pooled effect and the size-weighted sum of the tier
        effects (weights = treated customers per tier) with its SE, and their difference.
    heterogeneity : DataFrame
        Joint Wald test of the arm × tier interactions per scheme × arm × outcome, ``p_adjusted``
        Holm over the arms × outcomes of a scheme, and ``differ`` (adjusted p < alpha).
    tier_findings : DataFrame
        ``best_tier`` only where ``differ``; ``statement`` says what the test supports.
    roi : DataFrame
        Per arm: :func:`roi` on the revenue outcome for each tier of the first scheme, a
        ``tiers combined`` row (its totals are the sum of the tier totals) and the pooled
        ``overall`` row.
    policy_values, policy_differences : DataFrame
        Per arm × outcome: values of the targeting rules and paired differences
        (:func:`policy_contrasts`).
    reach : DataFrame
        Share of each outcome in the control arm held by the customers a rule targets. Reach
        says who holds the value, not what targeting them would change.
    mde : DataFrame
        Minimum detectable effect per scheme × arm × outcome × tier (power 0.8).
    skipped : DataFrame
        ``scheme``, ``arm``, ``outcome``, ``tier``, ``reason``: combinations not estimated.
    excluded : DataFrame
        ``outcome``, ``reason``, ``rows``: rows left out of an outcome's analysis (missing values).
    """

    effects: pd.DataFrame
    combined: pd.DataFrame
    heterogeneity: pd.DataFrame
    tier_findings: pd.DataFrame
    roi: pd.DataFrame
    policy_values: pd.DataFrame
    policy_differences: pd.DataFrame
    reach: pd.DataFrame
    mde: pd.DataFrame
    skipped: pd.DataFrame
    excluded: pd.DataFrame
    arm: str
    control: Any
    arms: list
    outcomes: list[str]
    schemes: dict[str, str]
    revenue: str | None
    margin: float | None
    cost_per_customer: float | None
    budget: float
    alpha: float
    n_customers: int
    outcome_kinds: dict[str, str] = field(default_factory=dict)  # "rate" (0/1) or "amount"
    currency: str = "$"

    def summary(self) -> str:
        """Readable text of the whole analysis (see ``crmresearch.strategy._campaign_text``)."""
        from crmresearch.strategy._campaign_text import campaign_summary

        return campaign_summary(self)

    def __str__(self) -> str:
        return self.summary()

    def tier_effects(self, outcome: str, arm: Any = None, scheme: str | None = None):
        """The effects rows of one outcome (and arm, scheme), as a table for :func:`forest_plot`."""
        scheme = scheme or next(iter(self.schemes))
        sel = (self.effects["scheme"] == scheme) & (self.effects["outcome"] == outcome)
        if arm is not None:
            sel &= self.effects["arm"].map(label_text) == label_text(arm)
        if not sel.any():
            raise DataError(
                f"no effects for outcome {outcome!r}, arm {arm!r}, scheme {scheme!r}; outcomes "
                f"{self.outcomes}, arms {[label_text(a) for a in self.arms]}, schemes "
                f"{list(self.schemes)}"
            )
        return self.effects.loc[sel].reset_index(drop=True)

    def plot_forest(self, outcome: str, arm: Any = None, scheme: str | None = None, **kwargs):
        """Forest plot of one outcome's tier effects; see :func:`crmresearch.plots.forest_plot`."""
        from crmresearch.plots.strategy import forest_plot

        kwargs.setdefault("outcome", outcome)
        kwargs.setdefault("alpha", self.alpha)
        if self.outcome_kinds.get(outcome) == "rate":  # drawn in percentage points
            kwargs.setdefault("scale", 100.0)
            kwargs.setdefault("unit", "percentage points")
        elif outcome == self.revenue:
            kwargs.setdefault("unit", self.currency)
        return forest_plot(self.tier_effects(outcome, arm, scheme), **kwargs)

    def plot_policy_values(self, outcome: str, arm: Any, **kwargs):
        """Values of the targeting rules for one arm and outcome with their CIs."""
        from crmresearch.plots.strategy import policy_value_plot

        pv = self.policy_values
        sel = (pv["outcome"] == outcome) & (pv["arm"].map(label_text) == label_text(arm))
        kwargs.setdefault("outcome", outcome)
        return policy_value_plot(pv.loc[sel].reset_index(drop=True), **kwargs)


@dataclass
class _Inputs:
    arm: str
    outcomes: list[str]
    control: Any
    treated: list
    schemes: dict[str, str]  # a tier scheme is named by its column
    index_score: str | None
    volume_score: str | None
    revenue: str | None
    kinds: dict[str, str]


def _inputs(frame, columns, arm, outcomes, control, tier, index_tier, index_score, volume_score,
            revenue) -> _Inputs:  # fmt: skip
    """Resolve the column roles and check the table: columns, numeric outcomes, two arms."""
    roles = _apply_columns(
        columns,
        {
            "arm": arm,
            "outcomes": outcomes,
            "tier": tier,
            "index_tier": index_tier,
            "index_score": index_score,
            "volume_score": volume_score,
            "revenue": revenue,
        },
    )
    arm, outcomes, revenue = roles["arm"], roles["outcomes"], roles["revenue"]
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if isinstance(outcomes, str):
        outcomes = [c.strip() for c in outcomes.split(",") if c.strip()]
    outcomes = list(outcomes or [])
    if not outcomes:
        raise DataError("give outcomes=[...]: the outcome columns to analyse")
    _require_columns(
        frame,
        {
            "arm": arm,
            "outcome": outcomes,
            "tier": roles["tier"],
            "index_tier": roles["index_tier"],
            "index_score": roles["index_score"],
            "volume_score": roles["volume_score"],
        },
    )
    _check_outcomes(frame, outcomes)
    arms = _ordered_levels(frame[arm])
    if len(arms) < 2:
        raise DataError(
            f"arm column {arm!r} has only one arm ({[label_text(a) for a in arms]}); a campaign "
            "needs a control arm and at least one treated arm"
        )
    control_label = _find_control(arms, control, arm)
    if revenue is None:
        revenue = next((o for o in outcomes if o.lower() in ("spend", "revenue")), None)
    elif revenue not in outcomes:
        raise DataError(f"revenue outcome {revenue!r} is not among outcomes {outcomes}")
    kinds = {}
    for o in outcomes:
        v = pd.to_numeric(frame[o], errors="coerce").dropna()
        kinds[o] = "rate" if bool(v.isin((0, 1)).all()) else "amount"
    scheme_cols = [c for c in (roles["tier"], roles["index_tier"]) if c]
    return _Inputs(
        arm=arm,
        outcomes=outcomes,
        control=control_label,
        treated=[a for a in arms if a != control_label],
        schemes={col: col for col in dict.fromkeys(scheme_cols)},
        index_score=roles["index_score"],
        volume_score=roles["volume_score"],
        revenue=revenue,
        kinds=kinds,
    )


# --------------------------------------------------------------------------------------------
# campaign_analysis
# --------------------------------------------------------------------------------------------
def campaign_analysis(
    frame: pd.DataFrame,
    *,
    arm: str = "arm",
    outcomes: Sequence[str] | str | None = None,
    control: Any = None,
    tier: str | None = None,
    index_tier: str | None = None,
    index_score: str | None = None,
    volume_score: str | None = None,
    revenue: str | None = None,
    margin: float | Mapping | None = None,
    cost_per_customer: float | Mapping | None = None,
    budget: float = 0.2,
    alpha: float = 0.05,
    columns: Mapping[str, Any] | None = None,
    covariates: Sequence[str] | None = None,
    currency: str = "$",
) -> CampaignAnalysis:
    r"""Strategy effectiveness of a randomized campaign, per arm, outcome and tier.

    For each treatment arm *a* against ``control`` and each outcome *y*:

    1. **Effects per tier** (:func:`effect_by_tier` on the customers of arm *a* and control):
       difference in means with HC2 SEs, normal CIs; Holm-adjusted p-values over every per-tier
       test of a tier scheme (arms × outcomes × tiers), the pooled ``overall`` rows over
       arms × outcomes.
    2. **Heterogeneity**: the joint Wald test that all arm × tier interactions are zero; Holm over
       arms × outcomes. A best tier is named only when the adjusted p < ``alpha``.
    3. **Tier totals reconciled**: the size-weighted sum of the tier effects
       :math:`\sum_t w_t \hat\tau_t` (:math:`w_t` = treated share in tier *t*, SE
       :math:`\sqrt{\sum_t w_t^2 \widehat{se}_t^2}`) is what the tier totals add up to; the pooled
       difference in means differs from it by the chance imbalance of the tier mix between arms
       (both are reported in ``combined``).
    4. **ROI** on the ``revenue`` outcome (:func:`roi`): margin × effect − cost per treated
       customer, per tier, ``tiers combined`` and pooled ``overall``; no break-even cost when the
       effect ≤ 0.
    5. **Targeting policies** (:func:`policy_contrasts`): treat the top ``budget`` share by
       ``index_score``, by ``volume_score``, a random ``budget`` share, everyone, nobody; values
       and paired differences with analytic SEs.
    6. **Reach**: share of each outcome in the control arm held by the customers each ranking
       rule targets — who holds the value, not an effect.
    7. **MDE** per tier (:func:`power_table`, two-sided, power 0.8).

    Parameters
    ----------
    frame : DataFrame
        One row per customer of a randomized experiment (any column names).
    arm : str
        Arm column (a control and at least one treated arm).
    outcomes : list of str
        Numeric or 0/1 outcome columns.
    control : label
        The control arm's label (default: the arm named "control", 0 or False).
    tier : str, optional
        The primary tier scheme (e.g. volume tiers) — ROI is computed on it.
    index_tier : str, optional
        A second tier scheme (e.g. index tiers); effects, heterogeneity and MDE are repeated.
    index_score, volume_score : str, optional
        Pre-treatment score columns the policy rules rank by.
    revenue : str, optional
        The money outcome for ROI (default: ``spend`` or ``revenue`` if among the outcomes).
    margin, cost_per_customer : float or {tier: float}
        Gross margin rate on incremental revenue and cost per treated customer (ROI is skipped
        when either is None).
    budget : float
        Share of customers a ranking rule treats.
    alpha : float
        Significance level (tests) and 1 − confidence level (intervals).
    columns : mapping, optional
        Role → column name overrides, e.g. ``{"arm": "group", "outcomes": ["rev"], "tier":
        "segment"}`` (roles: arm, outcomes, tier, index_tier, index_score, volume_score, revenue).
    covariates : list of str, optional
        Pre-treatment covariates for ANCOVA in the effects (not used by policies).
    currency : str
        Currency symbol of money outcomes and costs in ``summary()``.

    Returns
    -------
    CampaignAnalysis

    Raises
    ------
    DataError
        Missing columns, one arm only, an unknown control label, non-numeric outcomes.

    Notes
    -----
    Tier/arm combinations with fewer than two customers in an arm are listed in ``skipped`` and
    left out of the heterogeneity test and the MDE table, never a crash. R equivalent of one
    cell: ``estimatr::lm_robust(y ~ arm, data = subset(d, tier == t), se_type = "HC2")``;
    Holm: ``p.adjust(p, "holm")``.

    References
    ----------
    Imbens & Rubin (2015), *Causal Inference*, ch. 6–7, 9. Holm (1979), *Scand. J. Statist.* 6.
    Hillstrom (2008), *The MineThatData E-Mail Analytics and Data Mining Challenge*.
    """
    c = _inputs(frame, columns, arm, outcomes, control, tier, index_tier, index_score,
                volume_score, revenue)  # fmt: skip
    arm, outcomes, control_label, treated = c.arm, c.outcomes, c.control, c.treated
    schemes, revenue = c.schemes, c.revenue
    pieces = _analyse_arms(frame, arm, control_label, treated, outcomes, schemes, covariates, alpha)
    effects, heterogeneity, combined = pieces["effects"], pieces["het"], pieces["combined"]
    findings = _findings(heterogeneity, pieces["by_cell"], alpha)
    roi_table = _roi_table(pieces, schemes, revenue, margin, cost_per_customer, treated, alpha)
    rules, pairs = _policy_rules(c.index_score, c.volume_score, budget)
    values, diffs = _policies(
        frame, arm, control_label, treated, outcomes, rules, pairs, budget, alpha
    )
    rank_rules = {n: c for n, c in rules.items() if c not in ("random", "everyone", "nobody")}
    reach = pd.DataFrame(
        _reach_rows(frame, arm, control_label, outcomes, rank_rules, budget),
        columns=["rule", "outcome", "share_targeted", "reach"],
    )
    return CampaignAnalysis(
        effects=effects,
        combined=combined,
        heterogeneity=heterogeneity,
        tier_findings=findings,
        roi=roi_table,
        policy_values=values,
        policy_differences=diffs,
        reach=reach,
        mde=pieces["mde"],
        skipped=pieces["skipped"],
        excluded=pieces["excluded"],
        arm=arm,
        control=control_label,
        arms=treated,
        outcomes=outcomes,
        schemes=schemes,
        revenue=revenue,
        margin=margin if not isinstance(margin, Mapping) else None,
        cost_per_customer=cost_per_customer if not isinstance(cost_per_customer, Mapping) else None,
        budget=budget,
        alpha=alpha,
        n_customers=len(frame),
        outcome_kinds=c.kinds,
        currency=currency,
    )
