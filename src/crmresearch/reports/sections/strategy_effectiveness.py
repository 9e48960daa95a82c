"""The strategy-effectiveness report: a real randomized campaign's effects per arm, outcome and
tier, ROI, targeting policies and power (Hillstrom by default, or the user's own campaign); the
classification schemes' reach on the data's holdout; a synthetic method check in the appendix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmresearch._format import fmt_int, fmt_money, fmt_num, fmt_p, fmt_pct, p_text, signed
from crmresearch.reports import display as D
from crmresearch.reports import labels
from crmresearch.reports.sections.strategy_campaign import (
    CampaignInput,
    MethodCheck,
    load_campaign,
    method_check,
    targeting,
)

__all__ = [
    "CampaignInput",
    "MethodCheck",
    "Strategy",
    "load_campaign",
    "method_check",
    "strategy_effectiveness",
    "targeting",
    "show_summary",
    "show_campaign",
    "show_effects",
    "show_heterogeneity",
    "show_roi",
    "show_policies",
    "show_power",
    "show_targeting",
    "show_method_check",
]


# ---------------------------------------------------------------------------- the report


@dataclass
class Strategy:
    """Everything the strategy-effectiveness notebook shows."""

    metrics: dict
    kpis: list
    findings: list
    campaign: CampaignInput | None
    analysis: Any  # strategy.CampaignAnalysis
    targeting: Any
    targeting_table: pd.DataFrame
    check: MethodCheck | None
    budget: float = 0.2
    margin: float = 0.3
    cost_per_customer: float = 0.1
    notes: list[str] = field(default_factory=list)


def _pct2(x) -> str:
    return fmt_pct(x, 2)


def _money(x, digits=2, a=None) -> str:
    return fmt_money(x, digits, a.currency if a is not None else "$")


def _effect(a, outcome, value, digits=2) -> str:
    if a.outcome_kinds.get(outcome) == "rate":
        return f"{signed(100 * value, digits)} pp"
    if outcome == a.revenue:
        return _money(value, digits, a)
    return signed(value, digits)


def _value(a, outcome, value) -> str:
    """A level (not a difference): a rate as a percentage, money with its symbol."""
    if a.outcome_kinds.get(outcome) == "rate":
        return fmt_pct(value, 2)
    if outcome == a.revenue:
        return _money(value, 3, a)
    return fmt_num(value, 3)


def _ci(a, outcome, lo, hi) -> str:
    return f"{_effect(a, outcome, lo)} to {_effect(a, outcome, hi)}"


def _verb(lo, hi) -> str:
    if lo > 0:
        return "raised"
    if hi < 0:
        return "lowered"
    return "did not detectably change"


def _overall(a, arm, outcome):
    eff = a.tier_effects(outcome, arm)
    return eff[eff["tier"].astype(str) == "overall"].iloc[0]


def _arm_finding(a, arm) -> str:
    from crmresearch.strategy import label_text

    parts = []
    for outcome in a.outcomes:
        r = _overall(a, arm, outcome)
        what = "per customer" if a.outcome_kinds.get(outcome) != "rate" else ""
        parts.append(
            f"{_verb(r['ci_low'], r['ci_high'])} {outcome} by {_effect(a, outcome, r['effect'])} "
            f"{what} (95 % CI {_ci(a, outcome, r['ci_low'], r['ci_high'])})".replace("  ", " ")
        )
    return f"{label_text(arm)} (against {label_text(a.control)}): " + "; ".join(parts) + "."


def _tier_finding(a) -> str:
    het = a.heterogeneity
    differ = het[het["differ"]]
    if differ.empty:
        return (
            f"No evidence that the effects differ by tier in any of the {len(het)} arm × outcome "
            f"× tier-scheme tests (smallest Holm-adjusted {p_text(het['p_adjusted'].min())}); "
            "the tiers' effects cannot be ranked, so no tier is named best."
        )
    f = a.tier_findings.merge(het, on=["scheme", "arm", "outcome"])
    f = f[f["differ"]]
    return " ".join(f["statement"].tolist())


def _roi_finding(a, arm) -> str | None:
    from crmresearch.strategy import label_text

    if a.roi is None or len(a.roi) == 0:
        return None
    r = a.roi[a.roi["arm"] == arm].set_index(a.roi.loc[a.roi["arm"] == arm, "tier"].astype(str))
    o = r.loc["overall"]
    pays = (
        "it pays" if o["profit_ci_low"] > 0
        else "it loses money" if o["profit_ci_high"] < 0
        else "it cannot be told from break-even"
    )  # fmt: skip
    return (
        f"{label_text(arm)} at the assumed margin {fmt_pct(a.margin, 0)} and "
        f"{_money(a.cost_per_customer, 2, a)} per treated customer: incremental profit "
        f"{_money(o['total_profit'], 0, a)} (95 % CI {_money(o['total_profit_ci_low'], 0, a)} to "
        f"{_money(o['total_profit_ci_high'], 0, a)}): {pays}."
    )


def _policy_finding(a, arm) -> str | None:
    from crmresearch.strategy import label_text

    d = a.policy_differences
    d = d[(d["arm"] == arm) & (d["outcome"] == (a.revenue or a.outcomes[0]))]
    d = d[d["rule_a"].str.contains("by index") & d["rule_b"].str.contains("by volume")]
    if d.empty:
        return None
    r = d.iloc[0]
    outcome = r["outcome"]
    verdict = (
        "the index targets better" if r["ci_low"] > 0
        else "volume targets better" if r["ci_high"] < 0
        else "no detectable difference"
    )  # fmt: skip
    return (
        f"{label_text(arm)}: sending to the {r['rule_a']} instead of the {r['rule_b']} "
        f"changes {outcome} by {_effect(a, outcome, r['difference'], 3)} per customer (paired 95 % "
        f"CI {_ci(a, outcome, r['ci_low'], r['ci_high'])}): {verdict}."
    )


def _reach_finding(a) -> str | None:
    if len(a.reach) == 0:
        return None
    outcome = a.revenue or a.outcomes[0]
    r = a.reach[a.reach["outcome"] == outcome]
    parts = [f"the {x.rule} hold {fmt_pct(x.reach)}" for x in r.itertuples()]
    return (
        f"Reach, not an effect: of the {outcome} in the control arm, " + " and ".join(parts) + "."
    )


def _kpis(a) -> list[tuple[str, str]]:
    from crmresearch.strategy import label_text

    out = []
    money_outcome = a.revenue or a.outcomes[-1]
    for arm in a.arms[:2]:
        r = _overall(a, arm, money_outcome)
        out.append(
            (
                f"{label_text(arm)}: effect on {money_outcome} per customer (95 % CI "
                f"{_ci(a, money_outcome, r['ci_low'], r['ci_high'])})",
                _effect(a, money_outcome, r["effect"]),
            )
        )
    het = a.heterogeneity
    out.append(
        (
            f"of {len(het)} tests find effects differing by tier (Holm, α {fmt_num(a.alpha, 2)})",
            fmt_int(int(het["differ"].sum())),
        )
    )
    if a.roi is not None and len(a.roi):
        arm = a.arms[0]
        o = a.roi[(a.roi["arm"] == arm) & (a.roi["tier"].astype(str) == "overall")].iloc[0]
        out.append(
            (
                f"{label_text(arm)}: incremental profit (assumed margin {fmt_pct(a.margin, 0)}, "
                f"cost {_money(a.cost_per_customer, 2, a)})",
                _money(o["total_profit"], 0, a),
            )
        )
    return out[:5]


def _metrics(a, camp: CampaignInput) -> dict:
    from crmresearch.strategy import label_text

    eff = a.effects
    effects = {}
    for r in eff.itertuples():
        cell = effects.setdefault(r.scheme, {}).setdefault(label_text(r.arm), {})
        cell.setdefault(r.outcome, {})[label_text(r.tier)] = {
            "effect": float(r.effect), "ci": [float(r.ci_low), float(r.ci_high)],
            "p_value": float(r.p_value), "p_holm": float(r.p_adjusted),
            "n_treated": int(r.n_treated), "n_control": int(r.n_control),
        }  # fmt: skip
    het = {
        f"{r.scheme}|{label_text(r.arm)}|{r.outcome}": {
            "p_value": float(r.p_value), "p_holm": float(r.p_adjusted), "differ": bool(r.differ)
        }
        for r in a.heterogeneity.itertuples()
    }  # fmt: skip
    pol = [
        {"arm": label_text(r.arm), "outcome": r.outcome, "a": r.rule_a, "b": r.rule_b,
         "difference": float(r.difference), "ci": [float(r.ci_low), float(r.ci_high)]}
        for r in a.policy_differences.itertuples()
    ]  # fmt: skip
    return {
        "campaign": camp.name,
        "campaign_sha256": camp.sha256,
        "campaign_synthetic": False,
        "campaign_customers": int(a.n_customers),
        "campaign_arms": [label_text(x) for x in a.arms],
        "campaign_control": label_text(a.control),
        "campaign_outcomes": list(a.outcomes),
        "campaign_effects": effects,
        "heterogeneity": het,
        "best_tiers": {
            f"{r.scheme}|{label_text(r.arm)}|{r.outcome}": r.best_tier
            for r in a.tier_findings.itertuples()
            if isinstance(r.best_tier, str)
        },  # fmt: skip
        "policy_differences": pol,
        "reach": [
            {"rule": r.rule, "outcome": r.outcome, "reach": float(r.reach)}
            for r in a.reach.itertuples()
        ],
    }


def strategy_effectiveness(
    study, *, campaign: str = "hillstrom", campaign_columns: Mapping[str, Any] | None = None,
    control: str = "", campaign_post_days: int = 90, budget: float = 0.2, margin: float = 0.3,
    cost_per_customer: float = 0.1, method_check_customers: int = 3000, n_boot: int = 500,
    seed: int = 0, alpha: float = 0.05,
) -> Strategy:  # fmt: skip
    """The campaign analysis (real data), reach on the data's holdout, the synthetic check."""
    from crmresearch import strategy

    result, table = targeting(study, budget=budget, n_boot=n_boot, seed=seed)
    vc = {str(k): float(v) for k, v in result.table["value_capture"].items()}
    metrics = {
        "customers": int(len(study.features)),
        "budget_share": budget,
        "value_capture_top_by_index": vc.get("top by index"),
        "value_capture_top_by_volume": vc.get("top by volume"),
    }
    out = Strategy(
        metrics=metrics, kpis=[], findings=[], campaign=None, analysis=None, targeting=result,
        targeting_table=table, check=None, budget=budget, margin=margin,
        cost_per_customer=cost_per_customer,
    )  # fmt: skip
    if campaign != "none":
        camp = load_campaign(campaign, columns=campaign_columns, control=control, study=study,
                             post_days=campaign_post_days)  # fmt: skip
        a = strategy.campaign_analysis(
            camp.frame, **camp.kwargs, margin=margin, cost_per_customer=cost_per_customer,
            budget=budget, alpha=alpha, currency=camp.currency or labels.currency(),
        )  # fmt: skip
        out.campaign, out.analysis = camp, a
        metrics.update(_metrics(a, camp))
        out.kpis = _kpis(a)
        out.findings = [_arm_finding(a, arm) for arm in a.arms] + [_tier_finding(a)]
        for arm in a.arms:
            out.findings += [s for s in (_roi_finding(a, arm), _policy_finding(a, arm)) if s]
        reach = _reach_finding(a)
        if reach:
            out.findings.append(reach)
    if method_check_customers:
        out.check = method_check(n_customers=method_check_customers, seed=seed)
        metrics["method_check"] = {
            "synthetic": True,
            "customers": out.check.customers,
            "all_covered": out.check.all_covered,
            "tiers": {
                r.tier: {
                    "planted": r.planted,
                    "estimate": float(r.estimate),
                    "ci": [float(r.ci_low), float(r.ci_high)],
                }
                for r in out.check.table.itertuples()
            },  # fmt: skip
        }
    return out


# ---------------------------------------------------------------------------- sections


def show_summary(se: Strategy) -> None:
    """Executive summary: the campaign's real-data numbers only."""
    if se.analysis is None:
        D.executive_summary(
            [("campaign", "none")],
            ["No campaign analysed (campaign = 'none'); sections 1–6 are empty."],
            se.metrics,
        )
        return
    D.executive_summary(se.kpis, se.findings, se.metrics)
    D.note(f"Campaign: {se.campaign.name}. {se.campaign.description}", kind="info")


def show_campaign(se: Strategy) -> None:
    """Section 1: the campaign: customers per arm and tier, outcome means."""
    a = se.analysis
    if a is None:
        D.note("No campaign section: campaign = 'none'.", kind="info")
        return
    from crmresearch.strategy import label_text

    frame, kw = se.campaign.frame, se.campaign.kwargs
    arm = kw["arm"] if "arm" in kw else a.arm
    rows = frame.groupby(frame[a.arm].map(label_text), sort=True)
    means = rows[a.outcomes].mean()
    table = pd.DataFrame({"customers": rows.size().astype("int64")}).join(means)
    D.table(
        table,
        caption=f"Customers and mean outcomes per arm ('{arm}' column)",
        formats={
            o: (_pct2 if a.outcome_kinds.get(o) == "rate" else "{:,.3f}") for o in a.outcomes
        },  # fmt: skip
        index_label="arm",
    )


def _effects_view(a, outcome: str, scheme: str) -> pd.DataFrame:
    from crmresearch.strategy import label_text

    eff = a.tier_effects(outcome, None, scheme)
    rate = a.outcome_kinds.get(outcome) == "rate"
    return pd.DataFrame(
        {
            "arm": [label_text(x) for x in eff["arm"]],
            "tier": [label_text(x) for x in eff["tier"]],
            "treated": eff["n_treated"].astype("int64").to_numpy(),
            "control": eff["n_control"].astype("int64").to_numpy(),
            "control mean": [fmt_pct(v, 2) if rate else fmt_num(v, 2) for v in eff["control_mean"]],
            "effect": [_effect(a, outcome, v) for v in eff["effect"]],
            "95 % CI": [
                _ci(a, outcome, lo, hi)
                for lo, hi in zip(eff["ci_low"], eff["ci_high"], strict=True)
            ],  # fmt: skip
            "p": [fmt_p(p) for p in eff["p_value"]],
            "p (Holm)": [fmt_p(p) for p in eff["p_adjusted"]],
        }
    )


def show_effects(se: Strategy, scheme_number: int = 1) -> None:
    """Section 2: effects per tier for each outcome (the first or second tier scheme)."""
    a = se.analysis
    if a is None:
        return
    schemes = list(a.schemes)
    if len(schemes) < scheme_number:
        D.note(f"No tier scheme number {scheme_number} in this campaign.", kind="info")
        return
    scheme = schemes[scheme_number - 1]
    for outcome in a.outcomes:
        D.table(_effects_view(a, outcome, scheme), index=False,
                caption=f"Effect on {outcome} by tier ('{scheme}'); Holm over all "
                f"{int((a.effects['scheme'] == scheme).sum() - len(a.arms) * len(a.outcomes))} "
                "per-tier tests")  # fmt: skip
        D.show_figure(a.plot_forest(outcome, scheme=scheme, title=f"Effect on {outcome} by tier"))


def show_heterogeneity(se: Strategy) -> None:
    """Section 3: do effects differ by tier? (a best tier only where the test rejects)."""
    a = se.analysis
    if a is None:
        return
    from crmresearch.strategy import label_text

    h = a.heterogeneity.merge(a.tier_findings, on=["scheme", "arm", "outcome"])
    view = pd.DataFrame(
        {
            "tier scheme": h["scheme"].to_numpy(),
            "arm": [label_text(x) for x in h["arm"]],
            "outcome": h["outcome"].to_numpy(),
            "χ²": [fmt_num(v, 2) for v in h["chi2"]],
            "df": h["df"].astype("int64").to_numpy(),
            "p": [fmt_p(v) for v in h["p_value"]],
            "p (Holm)": [fmt_p(v) for v in h["p_adjusted"]],
            "best tier": [
                b if isinstance(b, str) else "none (no evidence)" for b in h["best_tier"]
            ],
        }
    )
    D.table(view, index=False, caption="Joint test that the effect is the same in every tier")


def show_roi(se: Strategy) -> None:
    """Section 4: ROI per tier; the tiers' totals and the pooled overall."""
    a = se.analysis
    if a is None or a.roi is None or len(a.roi) == 0:
        return
    from crmresearch.strategy import label_text

    r = a.roi
    view = pd.DataFrame(
        {
            "arm": [label_text(x) for x in r["arm"]],
            "tier": [label_text(x) for x in r["tier"]],
            "treated": r["n_treated"].astype("int64").to_numpy(),
            "profit per customer": [_money(v, 2, a) for v in r["profit_per_customer"]],
            "95 % CI": [
                f"{_money(lo, 2, a)} to {_money(hi, 2, a)}"
                for lo, hi in zip(r["profit_ci_low"], r["profit_ci_high"], strict=True)
            ],  # fmt: skip
            "total profit": [_money(v, 0, a) for v in r["total_profit"]],
            "break-even cost": [
                _money(v, 2, a) if ok else "none (effect ≤ 0)"
                for v, ok in zip(r["break_even_cost"], r["has_break_even"], strict=True)
            ],  # fmt: skip
        }
    )
    D.table(view, index=False, caption=f"ROI on {a.revenue} at the assumed margin "
            f"{fmt_pct(a.margin, 0)} and {_money(a.cost_per_customer, 2, a)} per treated "
            "customer")  # fmt: skip


def show_policies(se: Strategy) -> None:
    """Section 5: targeting rules (paired differences) and reach (labelled as reach)."""
    a = se.analysis
    if a is None:
        return
    from crmresearch.strategy import label_text

    v = a.policy_values
    values = pd.DataFrame(
        {
            "arm": [label_text(x) for x in v["arm"]],
            "outcome": v["outcome"].to_numpy(),
            "rule": v["rule"].to_numpy(),
            "value per customer": [
                _value(a, o, x) for o, x in zip(v["outcome"], v["value"], strict=True)
            ],  # fmt: skip
            "95 % CI": [
                f"{_value(a, o, lo)} to {_value(a, o, hi)}"
                for o, lo, hi in zip(v["outcome"], v["ci_low"], v["ci_high"], strict=True)
            ],  # fmt: skip
        }
    )
    D.table(values, index=False, caption="Value of each targeting rule (mean outcome per "
            "customer had the rule chosen who gets the arm)", max_rows=80)  # fmt: skip
    d = a.policy_differences
    view = pd.DataFrame(
        {
            "arm": [label_text(x) for x in d["arm"]],
            "outcome": d["outcome"].to_numpy(),
            "rule − rule": [f"{x} − {y}" for x, y in zip(d["rule_a"], d["rule_b"], strict=True)],
            "difference per customer": [
                _effect(a, o, v, 3) for o, v in zip(d["outcome"], d["difference"], strict=True)
            ],  # fmt: skip
            "paired 95 % CI": [
                _ci(a, o, lo, hi)
                for o, lo, hi in zip(d["outcome"], d["ci_low"], d["ci_high"], strict=True)
            ],  # fmt: skip
            "p": [fmt_p(v) for v in d["p_value"]],
        }
    )
    D.table(view, index=False, caption="Targeting rules compared on the same customers",
            max_rows=80)  # fmt: skip
    r = a.reach
    if len(r):
        D.table(
            pd.DataFrame(
                {
                    "rule": r["rule"].to_numpy(),
                    "outcome": r["outcome"].to_numpy(),
                    "reach": [fmt_pct(v) for v in r["reach"]],
                }
            ),  # fmt: skip
            index=False,
            caption="Reach (not an effect): share of each outcome in the control arm held by "
            "the customers a rule would target",
        )


def show_power(se: Strategy) -> None:
    """Section 6: minimum detectable effect per tier."""
    a = se.analysis
    if a is None or len(a.mde) == 0:
        return
    from crmresearch.strategy import label_text

    m = a.mde
    view = pd.DataFrame(
        {
            "tier scheme": m["scheme"].to_numpy(),
            "arm": [label_text(x) for x in m["arm"]],
            "outcome": m["outcome"].to_numpy(),
            "tier": [label_text(x) for x in m["tier"]],
            "treated": m["n_treated"].astype("int64").to_numpy(),
            "control": m["n_control"].astype("int64").to_numpy(),
            "minimum detectable effect": [
                _effect(a, o, v) for o, v in zip(m["outcome"], m["mde"], strict=True)
            ],  # fmt: skip
        }
    )
    D.table(view, index=False, caption="Smallest effect each tier could detect (power 80 %)",
            max_rows=80)  # fmt: skip


def show_targeting(se: Strategy) -> None:
    """Section 7: the schemes' reach on the transaction data's holdout (not an effect)."""
    D.table(
        se.targeting_table,
        caption=f"Targeting {fmt_pct(se.budget, 0)} of customers: reach of next-period revenue "
        "(who holds the value; not what a campaign would change)",
    )
    D.show_figure(se.targeting.plot_gain())


def show_method_check(se: Strategy) -> None:
    """Appendix: the synthetic method check (planted vs recovered)."""
    c = se.check
    if c is None:
        D.note("Method check not run (method_check_customers = 0).", kind="info")
        return
    D.note(
        f"SYNTHETIC data ({fmt_int(c.customers)} simulated customers, seed {c.seed}): a check "
        "that the method recovers planted effects. None of these numbers describe real customers.",
        kind="synthetic",
        title="Synthetic data.",
    )
    t = c.table
    view = pd.DataFrame(
        {
            "planted effect": [fmt_money(v, 2) for v in t["planted"]],
            "recovered": [fmt_money(v, 2) for v in t["estimate"]],
            "95 % CI": [
                f"{fmt_money(lo, 2)} to {fmt_money(hi, 2)}"
                for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)
            ],  # fmt: skip
            "planted inside CI": ["yes" if v else "no" for v in t["covered"]],
        },
        index=pd.Index(t["tier"], name="tier"),
    )
    D.table(view, caption="Method check: planted vs recovered revenue effect per tier (synthetic)")
    inside = int(t["covered"].sum())
    D.note(
        f"The planted effect lies inside the recovered 95 % CI in {inside} of {len(t)} tiers.",
        kind="synthetic",
    )
