"""The strategy-effectiveness report: schemes as targeting policies on the holdout, and a
randomized campaign's effects per tier, ROI, targeting policies and power."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from crmresearch._format import fmt_int, fmt_num, fmt_p, fmt_pct, p_equals, signed
from crmresearch.reports import display as D
from crmresearch.reports.labels import money as fmt_money  # the report's currency

__all__ = [
    "CAMPAIGN_COVARIATES",
    "Strategy",
    "Campaign",
    "strategy_effectiveness",
    "targeting",
    "campaign_study",
    "analyse_campaign",
    "effects_table",
    "roi_view",
    "power_view",
    "show_summary",
    "show_targeting",
    "show_campaign_effects",
    "show_roi",
    "show_policies",
    "show_power",
]

#: Pre-period covariates of the campaign analysis (ANCOVA effects, doubly robust policy values).
CAMPAIGN_COVARIATES = ("monetary", "frequency")


@dataclass
class Campaign:
    """The randomized campaign's analysis: effects per tier, ROI, policies, power."""

    study: Any
    is_separate: bool
    frame: pd.DataFrame
    effects: Any
    churn_effects: Any
    effects_table: pd.DataFrame
    churn_table: pd.DataFrame
    heterogeneity: pd.DataFrame
    planted: pd.DataFrame
    roi: pd.DataFrame
    policies: Any
    policy_table: pd.DataFrame
    power: pd.DataFrame

    @property
    def source(self):
        return self.study.source


@dataclass
class Strategy:
    """Results, tables and summary of the strategy-effectiveness report."""

    metrics: dict
    kpis: list
    findings: list
    targeting: Any
    targeting_table: pd.DataFrame
    budget: float = 0.2
    margin: float = 0.3
    cost_per_customer: float = 5.0
    campaign: Campaign | None = field(default=None)

    # Names of the single-object layout before the split (notebooks of earlier versions).
    @property
    def frame(self):
        return None if self.campaign is None else self.campaign.frame

    @property
    def campaign_is_separate(self) -> bool:
        return self.campaign is not None and self.campaign.is_separate


# ---------------------------------------------------------------------------- targeting


def targeting(study, *, budget: float, n_boot: int, seed: int):
    """Top ``budget`` by volume vs by index as targeting policies judged on the holdout."""
    from crmresearch import compare, tiers

    X, share = study.features, (budget, 1 - budget)
    targets = {
        "top by volume": tiers.abc(X["monetary"], shares=share, labels=("target", "other")),
        "top by index": tiers.abc(study.composite, shares=share, labels=("target", "other")),
    }
    result = compare.predictive_validity(
        targets, study.outcomes, top=budget, n_boot=n_boot, seed=seed
    )
    tt = result.table
    cells = {
        m.replace("_", " "): [
            f"{fmt_pct(v)} ({fmt_pct(lo)} – {fmt_pct(hi)})"
            for v, lo, hi in zip(tt[m], tt[m + "_low"], tt[m + "_high"], strict=True)
        ]
        for m in ("precision", "value_capture")
    }
    table = pd.DataFrame(
        {"customers targeted": tt["predicted_top"].astype("int64"), **cells},
        index=pd.Index([str(i) for i in tt.index], name="policy"),
    )
    return result, table


# ---------------------------------------------------------------------------- campaign


def effects_table(effects, planted: pd.Series | None = None, *, money: bool) -> pd.DataFrame:
    """An effect-by-tier result for reading: money or percentage points, CIs, Holm p."""
    t = effects.table
    fmt = (lambda v: fmt_money(v, 2)) if money else (lambda v: f"{signed(v * 100)} pts")
    out = pd.DataFrame(
        {
            "treated": t["n_treated"].astype("int64").to_numpy(),
            "control": t["n_control"].astype("int64").to_numpy(),
            "control mean": [fmt_money(v, 2) if money else fmt_pct(v) for v in t["control_mean"]],
            "effect": [fmt(v) for v in t["effect"]],
            "95 % CI": [
                f"{fmt(lo)} to {fmt(hi)}" for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)
            ],
            "p (Holm)": [fmt_p(p) for p in t["p_adjusted"]],
        },
        index=pd.Index([str(x) for x in t["tier"]], name="tier"),
    )
    if planted is not None:
        out["planted effect"] = [fmt(planted.get(str(x), float("nan"))) for x in t["tier"]]
    return out


def campaign_study(study, *, campaign_customers: int, seed: int):
    """The study holding the campaign: the data's own when synthetic, else a separate
    synthetic world (real logs such as CDNOW carry no campaign) with the same index settings."""
    from crmresearch.study import Study, load_source

    if study.source.is_synthetic:
        return study, False
    source = load_source("synthetic", n_customers=campaign_customers, seed=seed)
    params = replace(
        study.params, calibration_start="", calibration_end="", holdout_start="", holdout_end=""
    )
    return Study(source, params), True


def _heterogeneity_table(het: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "χ²": het["chi2"].to_numpy(),
            "df": het["df"].astype("int64").to_numpy(),
            "p-value": het["p_value"].to_numpy(),
        },
        index=pd.Index(["treatment × tier interactions"], name="Wald test"),
    )


def _policy_rules(budget: float) -> dict[str, str]:
    return {
        "treat nobody": "nobody",
        "treat everyone": "everyone",
        f"random {fmt_pct(budget, 0)}": "random",
        f"top {fmt_pct(budget, 0)} by volume": "monetary",
        f"top {fmt_pct(budget, 0)} by index": "index_score",
    }


def _policy_table(policies) -> pd.DataFrame:
    pt = policies.table
    return pd.DataFrame(
        {
            "share treated": [fmt_pct(v, 0) for v in pt["share_treated"]],
            "revenue per customer": [fmt_money(v, 2) for v in pt["value"]],
            "95 % CI": [
                f"{fmt_money(lo, 2)} – {fmt_money(hi, 2)}"
                for lo, hi in zip(pt["ci_low"], pt["ci_high"], strict=True)
            ],
        },
        index=pd.Index([str(r) for r in pt["rule"]], name="targeting rule"),
    )


def analyse_campaign(
    study, *, budget: float, campaign_customers: int, margin: float, cost_per_customer: float,
    n_boot: int, seed: int,
) -> Campaign:  # fmt: skip
    """Effects per tier (ANCOVA), ROI, targeting policies (doubly robust) and power."""
    from crmresearch import strategy

    cstudy, separate = campaign_study(study, campaign_customers=campaign_customers, seed=seed)
    syn = cstudy.source.synthetic
    truth = syn.truth
    frame = strategy.experiment_from_log(
        syn.transactions, syn.campaign,
        pre=(truth.start, truth.calibration_end), post=(truth.holdout_start, truth.holdout_end),
    )  # fmt: skip
    frame["index_score"] = frame["customer_id"].map(cstudy.composite).astype("float64")
    # Revenue is heavy-tailed: adjusting for pre-period spend and orders (ANCOVA) removes the
    # chance imbalance that makes unadjusted tier effects erratic. Customers without pre-period
    # activity have spent nothing, hence 0.
    frame = frame.fillna({c: 0.0 for c in CAMPAIGN_COVARIATES})
    covariates = list(CAMPAIGN_COVARIATES)
    effects = strategy.effect_by_tier(
        frame, treatment="arm", outcome="revenue", tier="tier", covariates=covariates
    )
    churn_effects = strategy.effect_by_tier(frame, treatment="arm", outcome="churned", tier="tier")
    planted = truth.campaign_effects["revenue"].rename(index=str)
    policies = strategy.policy_value(
        frame.fillna({"index_score": 0.0}), _policy_rules(budget), treatment="arm",
        outcome="revenue", covariates=covariates, budget=budget, n_boot=n_boot, seed=seed,
    )  # fmt: skip
    return Campaign(
        study=cstudy,
        is_separate=separate,
        frame=frame,
        effects=effects,
        churn_effects=churn_effects,
        effects_table=effects_table(effects, planted, money=True),
        churn_table=effects_table(churn_effects, None, money=False),
        heterogeneity=_heterogeneity_table(effects.heterogeneity),
        planted=planted.to_frame(),
        roi=strategy.roi(effects, margin=margin, cost_per_customer=cost_per_customer),
        policies=policies,
        policy_table=_policy_table(policies),
        power=strategy.power_table(frame, treatment="arm", outcome="revenue", tier="tier"),
    )


# ---------------------------------------------------------------------------- summary


def _targeting_summary(n_customers: int, budget: float, vc: dict):
    metrics = {
        "customers": int(n_customers),
        "budget_share": budget,
        "value_capture_top_by_index": vc.get("top by index"),
        "value_capture_top_by_volume": vc.get("top by volume"),
    }
    findings = [
        f"Targeting the top {fmt_pct(budget, 0)} of customers by the index would reach "
        f"{fmt_pct(vc.get('top by index'))} of next-period revenue, against "
        f"{fmt_pct(vc.get('top by volume'))} when targeting by sales volume."
    ]
    kpis = [
        (f"holdout revenue reached, top {fmt_pct(budget, 0)} by index", fmt_pct(vc.get("top by index"))),
        (f"holdout revenue reached, top {fmt_pct(budget, 0)} by volume", fmt_pct(vc.get("top by volume"))),
    ]  # fmt: skip
    return metrics, kpis, findings


def _campaign_metrics(c: Campaign, budget: float) -> dict:
    et = c.effects.table.set_index(c.effects.table["tier"].astype(str))
    overall, by_tier = et.loc["overall"], et.drop(index="overall")
    rt = c.roi.set_index(c.roi["tier"].astype(str))
    pt = c.policies.table
    pvals = dict(zip(pt["rule"].astype(str), pt["value"].astype(float), strict=True))
    het = c.effects.heterogeneity
    return {
        "campaign_synthetic": True,
        "campaign_customers": int(len(c.frame)),
        "effect_overall_revenue": float(overall["effect"]),
        "effect_overall_ci": [float(overall["ci_low"]), float(overall["ci_high"])],
        "effect_by_tier_revenue": {str(k): float(v) for k, v in by_tier["effect"].items()},
        "heterogeneity_p": float(het["p_value"].iloc[0]) if len(het) else None,
        "best_tier": str(by_tier["effect"].idxmax()),
        "profit_overall": float(rt.loc["overall", "total_profit"]),
        "break_even_cost_overall": float(rt.loc["overall", "break_even_cost"]),
        "policy_value_top_by_index": pvals[f"top {fmt_pct(budget, 0)} by index"],
        "policy_value_top_by_volume": pvals[f"top {fmt_pct(budget, 0)} by volume"],
    }


def _campaign_summary(m: dict, c: Campaign, *, margin: float, cost_per_customer: float):
    et = c.effects.table.set_index(c.effects.table["tier"].astype(str))
    overall = et.loc["overall"]
    best = m["best_tier"]
    label_ = "synthetic campaign, simulated customers" if c.is_separate else "synthetic campaign"
    hp = m["heterogeneity_p"]
    # Name a "best" tier only when the tiers' effects can be told apart (Wald test p < 0.05).
    differ = hp is not None and hp < 0.05
    effect, lo, hi = overall["effect"], overall["ci_low"], overall["ci_high"]
    second = (
        (f"tier with the largest effect ({label_}; heterogeneity p {p_equals(hp)})",
         f"{best}: {fmt_money(et.loc[best, 'effect'], 2)}")
        if differ
        else (f"95 % CI of the overall effect ({label_})", f"{fmt_money(lo, 2)} to {fmt_money(hi, 2)}")
    )  # fmt: skip
    kpis = [
        (f"revenue effect per treated customer ({label_})", fmt_money(effect, 2)),
        second,
        ("incremental profit overall (synthetic)", fmt_money(m["profit_overall"])),
    ]
    findings = [
        f"In the SYNTHETIC randomized campaign ({fmt_int(len(c.frame))} customers), treatment raised holdout "
        f"revenue by {fmt_money(effect, 2)} per customer (95 % CI {fmt_money(lo, 2)} to "
        f"{fmt_money(hi, 2)}).",
        (
            f"The effects differ between tiers (heterogeneity p {p_equals(hp)}); "
            f"the effect was largest in tier {best}."
            if differ
            else "The effects cannot be told apart between tiers "
            + (f"(heterogeneity p {p_equals(hp)})." if hp is not None else "(no test available).")
        ),
        f"At a margin of {fmt_pct(margin, 0)} and {fmt_money(cost_per_customer, 2)} per treated customer, the "
        f"synthetic campaign's incremental profit is {fmt_money(m['profit_overall'])} overall.",
    ]
    return kpis, findings


def strategy_effectiveness(
    study,
    *,
    budget: float = 0.2,
    campaign: str = "synthetic",
    campaign_customers: int = 3000,
    margin: float = 0.3,
    cost_per_customer: float = 5.0,
    n_boot: int = 500,
    seed: int = 0,
) -> Strategy:
    """Schemes as targeting policies on the holdout; campaign effects, ROI, policies, power.

    ``campaign="none"`` skips the campaign part (sections 2–5 then say so).
    """
    result, table = targeting(study, budget=budget, n_boot=n_boot, seed=seed)
    vc = {str(k): float(v) for k, v in result.table["value_capture"].items()}
    metrics, kpis, findings = _targeting_summary(len(study.features), budget, vc)
    out = Strategy(
        metrics=metrics, kpis=kpis, findings=findings, targeting=result, targeting_table=table,
        budget=budget, margin=margin, cost_per_customer=cost_per_customer,
    )  # fmt: skip
    if campaign == "none":
        return out
    c = analyse_campaign(
        study, budget=budget, campaign_customers=campaign_customers, margin=margin,
        cost_per_customer=cost_per_customer, n_boot=n_boot, seed=seed,
    )  # fmt: skip
    metrics.update(_campaign_metrics(c, budget))
    more_kpis, more_findings = _campaign_summary(
        metrics, c, margin=margin, cost_per_customer=cost_per_customer
    )
    out.kpis = (kpis + more_kpis)[:5]
    out.findings = findings + more_findings
    out.campaign = c
    return out


# ---------------------------------------------------------------------------- views


def roi_view(roi_table: pd.DataFrame) -> pd.DataFrame:
    """ROI table for reading: money rounded, CIs as ranges."""
    r = roi_table
    return pd.DataFrame(
        {
            "treated": r["n_treated"].astype("int64").to_numpy(),
            "break-even cost per customer": [fmt_money(v, 2) for v in r["break_even_cost"]],
            "profit per customer": [fmt_money(v, 2) for v in r["profit_per_customer"]],
            "95 % CI": [
                f"{fmt_money(lo, 2)} – {fmt_money(hi, 2)}"
                for lo, hi in zip(r["profit_ci_low"], r["profit_ci_high"], strict=True)
            ],
            "total profit": [fmt_money(v) for v in r["total_profit"]],
        },
        index=pd.Index([str(t) for t in r["tier"]], name="tier"),
    )


def power_view(power: pd.DataFrame) -> pd.DataFrame:
    """Minimum detectable effect per tier for reading."""
    p = power
    return pd.DataFrame(
        {
            "treated": p["n_treated"].astype("int64").to_numpy(),
            "control": p["n_control"].astype("int64").to_numpy(),
            "minimum detectable effect": [fmt_money(v, 2) for v in p["mde"]],
            "relative to control mean": [fmt_pct(v) for v in p["mde_relative"]],
        },
        index=pd.Index([str(t) for t in p["tier"]], name="tier"),
    )


# ---------------------------------------------------------------------------- sections


def show_summary(se: Strategy) -> None:
    """The executive summary, with the synthetic-campaign warning when the data had none."""
    D.executive_summary(se.kpis, se.findings, se.metrics)
    if se.campaign_is_separate:
        D.note(
            "These data contain no campaign. Sections 2–5 use a SYNTHETIC randomized campaign "
            "with planted effects (crmresearch.datasets.make_crm_data) to show the method; their "
            "numbers are not findings about these customers.",
            kind="synthetic",
            title="Synthetic data.",
        )


def show_targeting(se: Strategy) -> None:
    """Section 1: schemes as targeting policies, judged on the holdout."""
    from crmresearch import plots

    D.table(
        se.targeting_table,
        caption=f"Targeting {fmt_pct(se.budget, 0)} of customers, judged on the holdout",
    )
    D.show_figure(plots.gain_curves(se.targeting))


def show_campaign_effects(se: Strategy) -> None:
    """Section 2: campaign effects per tier (revenue and churn), heterogeneity."""
    from crmresearch import plots

    c = se.campaign
    if c is None:
        D.note("No campaign section: campaign = 'none'.", kind="info")
        return
    D.note(
        "Synthetic campaign: simulated customers with planted effects, not observed data.",
        kind="synthetic",
        title="Synthetic data.",
    )
    D.table(c.effects_table, caption="Effect on holdout revenue per treated customer")
    D.show_figure(
        plots.forest_plot(
            c.effects,
            title="Campaign effect on holdout revenue by tier (synthetic)",
            unit="currency units",
        )
    )
    D.table(
        c.heterogeneity,
        caption="Do the effects differ between tiers?",
        formats={"χ²": lambda v: fmt_num(v, 2), "p-value": fmt_p},
    )
    D.table(c.churn_table, caption="Effect on holdout churn (percentage points)")


def show_roi(se: Strategy) -> None:
    """Section 3: return on investment per tier."""
    if se.campaign is None:
        return
    D.table(
        roi_view(se.campaign.roi),
        caption=f"ROI at margin {fmt_pct(se.margin, 0)} and cost "
        f"{fmt_money(se.cost_per_customer, 2)} per treated customer",
    )


def show_policies(se: Strategy) -> None:
    """Section 4: value of targeting rules in the campaign."""
    from crmresearch import plots

    if se.campaign is None:
        return
    D.table(se.campaign.policy_table, caption="Value of targeting rules")
    D.show_figure(
        plots.policy_value_plot(
            se.campaign.policies,
            title="Revenue per customer under each targeting rule (synthetic)",
        )
    )


def show_power(se: Strategy) -> None:
    """Section 5: minimum detectable effect per tier."""
    if se.campaign is None:
        return
    D.table(power_view(se.campaign.power), caption="Minimum detectable effect on holdout revenue")
