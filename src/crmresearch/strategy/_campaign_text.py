"""Text of :meth:`CampaignAnalysis.summary`: every sentence computed from the estimate it states."""

from __future__ import annotations

import pandas as pd

from crmresearch._format import fmt_int, fmt_money, fmt_num, fmt_p, fmt_pct, p_text, signed
from crmresearch.strategy._common import label_text

__all__ = ["campaign_summary", "effect_text", "ci_text"]


def effect_text(value, kind: str, currency: str = "$", digits: int = 2) -> str:
    """An effect in its unit: percentage points for a 0/1 outcome, money/number otherwise."""
    if kind == "rate":
        return f"{signed(100 * float(value), digits)} pp"
    if currency:
        return fmt_money(value, digits, currency) if value == value else fmt_num(value)
    return signed(value, digits)


def ci_text(low, high, kind: str, currency: str = "$") -> str:
    return f"{effect_text(low, kind, currency)} to {effect_text(high, kind, currency)}"


def _effects_block(res, scheme: str) -> list[str]:
    eff = res.effects[res.effects["scheme"] == scheme]
    level = fmt_num(100 * (1 - res.alpha), 0)
    lines = [f"Effects by tier ('{scheme}'; {level} % CIs; Holm over all per-tier tests):"]
    rows = []
    for r in eff.itertuples():
        kind = res.outcome_kinds.get(r.outcome, "amount")
        cur = res.currency if r.outcome == res.revenue else ""
        rows.append(
            {
                "outcome": r.outcome,
                "arm": label_text(r.arm),
                "tier": label_text(r.tier),
                "treated": fmt_int(r.n_treated),
                "control": fmt_int(r.n_control),
                "control mean": fmt_pct(r.control_mean, 2)
                if kind == "rate"
                else fmt_num(r.control_mean, 2),
                "effect": effect_text(r.effect, kind, cur),
                "CI": ci_text(r.ci_low, r.ci_high, kind, cur),
                "p": fmt_p(r.p_value),
                "p Holm": fmt_p(r.p_adjusted),
            }
        )
    lines.append(pd.DataFrame(rows).to_string(index=False))
    return lines


def _combined_block(res) -> list[str]:
    lines = [
        "How tier results add up: 'tiers combined' = size-weighted sum of the tier effects "
        "(weights = treated customers per tier); 'overall' = pooled difference in means. They "
        "differ only by the chance imbalance of the tier mix between arms:"
    ]
    for r in res.combined.itertuples():
        kind = res.outcome_kinds.get(r.outcome, "amount")
        cur = res.currency if r.outcome == res.revenue else ""
        lines.append(
            f"  {r.scheme}, {label_text(r.arm)}, {r.outcome}: tiers combined "
            f"{effect_text(r.weighted_effect, kind, cur, 3)}, overall "
            f"{effect_text(r.pooled_effect, kind, cur, 3)} (difference "
            f"{effect_text(r.difference, kind, cur, 3)})"
        )
    return lines


def _roi_block(res) -> list[str]:
    if res.roi is None or len(res.roi) == 0:
        return ["ROI: not computed (give revenue, margin and cost_per_customer)."]
    cur = res.currency
    lines = [
        f"ROI on '{res.revenue}' (margin {fmt_pct(res.margin) if res.margin is not None else 'per tier'}, "
        f"cost per treated customer {fmt_money(res.cost_per_customer, 2, cur) if res.cost_per_customer is not None else 'per tier'}); "
        "the 'tiers combined' total is the sum of the tier totals; no break-even cost where the "
        "effect is ≤ 0:"
    ]
    rows = []
    for r in res.roi.itertuples():
        rows.append(
            {
                "arm": label_text(r.arm),
                "tier": label_text(r.tier),
                "treated": fmt_int(r.n_treated),
                "profit / customer": fmt_money(r.profit_per_customer, 2, cur),
                "CI": f"{fmt_money(r.profit_ci_low, 2, cur)} to {fmt_money(r.profit_ci_high, 2, cur)}",
                "total profit": fmt_money(r.total_profit, 0, cur),
                "break-even cost": fmt_money(r.break_even_cost, 2, cur)
                if r.has_break_even
                else "none (effect ≤ 0)",
            }
        )
    lines.append(pd.DataFrame(rows).to_string(index=False))
    return lines


def _policy_block(res) -> list[str]:
    level = fmt_num(100 * (1 - res.alpha), 0)
    lines = [
        f"Targeting policies (value = mean outcome per customer if the rule chose who gets the "
        f"arm; paired differences, {level} % CIs):"
    ]
    for r in res.policy_differences.itertuples():
        kind = res.outcome_kinds.get(r.outcome, "amount")
        cur = res.currency if r.outcome == res.revenue else ""
        lines.append(
            f"  {label_text(r.arm)}, {r.outcome}: {r.rule_a} − {r.rule_b} = "
            f"{effect_text(r.difference, kind, cur, 3)} "
            f"({ci_text(r.ci_low, r.ci_high, kind, cur)}; {p_text(r.p_value)})"
        )
    return lines


def _reach_block(res) -> list[str]:
    if len(res.reach) == 0:
        return []
    lines = [
        "Reach (NOT an effect): share of each outcome in the control arm held by the customers "
        "a rule targets:"
    ]
    for r in res.reach.itertuples():
        lines.append(
            f"  {r.rule}: reach {fmt_pct(r.reach)} of {r.outcome} "
            f"({fmt_pct(r.share_targeted)} of control customers targeted)"
        )
    return lines


def _mde_block(res) -> list[str]:
    if len(res.mde) == 0:
        return []
    lines = [
        f"Minimum detectable effect per tier (two-sided, alpha {fmt_num(res.alpha, 2)}, "
        "power 80 %):"
    ]
    rows = []
    for r in res.mde.itertuples():
        kind = res.outcome_kinds.get(r.outcome, "amount")
        cur = res.currency if r.outcome == res.revenue else ""
        rows.append(
            {
                "scheme": r.scheme,
                "arm": label_text(r.arm),
                "outcome": r.outcome,
                "tier": label_text(r.tier),
                "MDE": effect_text(r.mde, kind, cur),
            }
        )
    lines.append(pd.DataFrame(rows).to_string(index=False))
    return lines


def campaign_summary(res) -> str:
    arms = ", ".join(f"'{label_text(a)}'" for a in res.arms)
    lines = [
        f"Campaign analysis: {fmt_int(res.n_customers)} customers; arm column '{res.arm}', "
        f"control '{label_text(res.control)}', treated arms {arms}; outcomes "
        f"{', '.join(res.outcomes)}; tier schemes {', '.join(res.schemes) or 'none'}.",
        "",
    ]
    for scheme in res.schemes:
        lines += _effects_block(res, scheme) + [""]
    lines.append("Heterogeneity (do effects differ by tier?):")
    lines += [f"  [{r.scheme}] {r.statement}" for r in res.tier_findings.itertuples()]
    lines.append("")
    if res.schemes:
        lines += _combined_block(res) + [""]
    lines += _roi_block(res) + [""]
    lines += _policy_block(res) + [""]
    lines += _reach_block(res) + [""]
    lines += _mde_block(res)
    if len(res.skipped):
        lines += ["", "Skipped (reported, not estimated):"]
        lines += [
            f"  {r.scheme}, arm '{label_text(r.arm)}', {r.outcome}, tier '{label_text(r.tier)}': "
            f"{r.reason}"
            for r in res.skipped.itertuples()
        ]
    if len(res.excluded):
        lines += ["", "Excluded rows:"]
        lines += [
            f"  arm '{label_text(r.arm)}', {r.outcome}: {r.rows} rows, {r.reason}"
            for r in res.excluded.itertuples()
        ]
    return "\n".join(lines).rstrip() + "\n"
