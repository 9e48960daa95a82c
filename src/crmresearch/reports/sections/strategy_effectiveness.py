"""The strategy-effectiveness report: a real randomized campaign's effects per arm, outcome and
tier, ROI, targeting policies and power (Hillstrom by default, or the user's own campaign); the
classification schemes' reach on the data's holdout; a synthetic method check in the appendix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmresearch._format import MINUS, fmt_int, fmt_money, fmt_num, fmt_p, fmt_pct, p_text, signed
from crmresearch.reports import display as D
from crmresearch.reports import labels
from crmresearch.reports.sections.strategy_campaign import (
    _JOIN,
    CampaignInput,
    MethodCheck,
    _check_metrics,
    load_campaign,
    method_check,
    show_method_check,
    show_targeting,
    targeting,
    title_lines,
)

__all__ = [
    "CampaignInput",
    "MethodCheck",
    "Strategy",
    "load_campaign",
    "method_check",
    "strategy_effectiveness",
    "targeting",
    "reproducibility",
    "show_title",
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
    study: Any = None  # the transaction log's study (section 7; a campaign table's outcomes)


def _pct2(x) -> str:
    return fmt_pct(x, 2)


def _money(x, digits=2, a=None) -> str:
    """Money in the campaign's currency (Hillstrom: $), else the report's ``currency``."""
    symbol = a.currency if a is not None else labels.currency()
    return fmt_money(x, digits, symbol).replace(MINUS, MINUS + _JOIN)


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
    """Every sentence names its tier scheme (volume tier A and index tier A are different
    customers); where the schemes disagree, the library's statement says so."""
    from crmresearch.strategy import scheme_label

    het = a.heterogeneity
    by = " or ".join(f"by {scheme_label(s)}" for s in a.schemes)
    differ = het[het["differ"]]
    if differ.empty:
        return (
            f"No evidence that the effects differ {by} in any of the {len(het)} arm × outcome "
            f"× tier-scheme tests (smallest Holm-adjusted {p_text(het['p_adjusted'].min())}); "
            "the tiers' effects cannot be ranked, so no tier is named best."
        )
    f = a.tier_findings.merge(het, on=["scheme", "arm", "outcome"])
    f = f[f["differ"]]
    rest = het[~het["differ"]]
    tail = (
        f" None of the other {len(rest)} arm × outcome × tier-scheme tests finds evidence that "
        f"the effects differ (smallest Holm-adjusted {p_text(rest['p_adjusted'].min())})."
        if len(rest) else ""
    )  # fmt: skip
    return " ".join(f["statement"].tolist()) + tail


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
    vt = result.table  # the core-customer-loss report's validity numbers (same function)
    metrics = {
        "customers": int(len(study.features)),
        "budget_share": budget,
        "value_capture_top_by_index": float(vt.loc["index", "value_capture"]),
        "value_capture_top_by_volume": float(vt.loc["volume", "value_capture"]),
        "precision_top_by_index": float(vt.loc["index", "precision"]),
        "precision_top_by_volume": float(vt.loc["volume", "precision"]),
    }
    out = Strategy(
        metrics=metrics, kpis=[], findings=[], campaign=None, analysis=None, targeting=result,
        targeting_table=table, check=None, budget=budget, margin=margin,
        cost_per_customer=cost_per_customer, study=study,
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
        metrics["campaign_rows"] = camp.rows()
        out.kpis = _kpis(a)
        out.findings = [_arm_finding(a, arm) for arm in a.arms] + [_tier_finding(a)]
        for arm in a.arms:
            out.findings += [s for s in (_roi_finding(a, arm), _policy_finding(a, arm)) if s]
        reach = _reach_finding(a)
        if reach:
            out.findings.append(reach)
    if method_check_customers:
        out.check = method_check(n_customers=method_check_customers, seed=seed)
        metrics["method_check"] = _check_metrics(out.check)
    return out


# ---------------------------------------------------------------------------- sections


def show_title(se: Strategy, report) -> None:
    """The title block: the campaign's data (file, SHA-256, arms, window, rows) — the headline
    numbers are the campaign's; the transaction log is named where it is used (section 7, and
    as the outcome source of a campaign table)."""
    from crmresearch.reports.context import holdout_coverage, rows_line, subtitle

    title = str(report.params.get("title") or "Strategy effectiveness")
    study = report.study
    if se.analysis is None:  # no campaign: the report is section 7 on the log alone
        D.title_block(title, subtitle(study), rows_line(study))
        truncated = holdout_coverage(study)
        if truncated:
            D.note(truncated, kind="warning", title="Truncated holdout.")
        return
    line, detail = title_lines(se.campaign, se.analysis)
    if se.campaign.uses_log:
        detail += f" · outcomes from {subtitle(study)}; {rows_line(study)}"
    D.title_block(title, line, detail)


def reproducibility(report, se: Strategy) -> None:
    """The manifest, with the campaign file by basename and SHA-256 and its row counts."""
    extra = se.campaign.facts() if se.campaign is not None else {}
    D.manifest(report.public_params(), report.source, **report.manifest_facts(), **extra)


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
        formats={o: (lambda v, o=o: _value(a, o, v)) for o in a.outcomes},
        index_label="arm",
    )
    r = se.campaign.rows()
    if r["rejected"]:
        D.note(
            f"{fmt_int(r['rejected'])} of {fmt_int(r['read'])} rows have a missing arm, outcome "
            "or tier; each is left out of the analyses that need the missing value (the counts "
            "per arm and outcome are in the effects tables).",
            kind="warning",
        )


def _effects_view(a, outcome: str, scheme: str) -> pd.DataFrame:
    from crmresearch.strategy import label_text

    eff = a.tier_effects(outcome, None, scheme)
    return pd.DataFrame(
        {
            "tier": [label_text(x) for x in eff["tier"]],
            "treated": eff["n_treated"].astype("int64").to_numpy(),
            "control": eff["n_control"].astype("int64").to_numpy(),
            "control mean": [_value(a, outcome, v) for v in eff["control_mean"]],
            "effect": [_effect(a, outcome, v) for v in eff["effect"]],
            "95 % CI": [
                _ci(a, outcome, lo, hi)
                for lo, hi in zip(eff["ci_low"], eff["ci_high"], strict=True)
            ],  # fmt: skip
            "p": [fmt_p(p) for p in eff["p_value"]],
            "p (Holm)": [fmt_p(p) for p in eff["p_adjusted"]],
        },
        index=pd.Index([label_text(x) for x in eff["arm"]], name="arm"),  # left-aligned labels
    )


def show_effects(se: Strategy, scheme_number: int = 1) -> None:
    """Section 2: effects per tier for each outcome (the first or second tier scheme)."""
    a = se.analysis
    if a is None:
        return
    from crmresearch.strategy import scheme_label

    schemes = list(a.schemes)
    if len(schemes) < scheme_number:
        D.note(f"No tier scheme number {scheme_number} in this campaign.", kind="info")
        return
    scheme = schemes[scheme_number - 1]
    n_tests = int((a.effects["scheme"] == scheme).sum() - len(a.arms) * len(a.outcomes))
    for outcome in a.outcomes:
        D.table(_effects_view(a, outcome, scheme),
                caption=f"Effect on {outcome} by {scheme_label(scheme)} ('{scheme}'); Holm over "
                f"all {n_tests} per-tier tests of this scheme")  # fmt: skip
        D.show_figure(a.plot_forest(outcome, scheme=scheme,
                                    title=f"Effect on {outcome} by {scheme_label(scheme)}"))  # fmt: skip


def show_heterogeneity(se: Strategy) -> None:
    """Section 3: do effects differ by tier? (a best tier only where the test rejects)."""
    a = se.analysis
    if a is None:
        return
    from crmresearch.strategy import label_text, scheme_label

    h = a.heterogeneity.merge(a.tier_findings, on=["scheme", "arm", "outcome"])
    view = pd.DataFrame(
        {
            "arm": [label_text(x) for x in h["arm"]],
            "outcome": h["outcome"].to_numpy(),
            "χ²": [fmt_num(v, 2) for v in h["chi2"]],
            "df": h["df"].astype("int64").to_numpy(),
            "p": [fmt_p(v) for v in h["p_value"]],
            "p (Holm)": [fmt_p(v) for v in h["p_adjusted"]],
            "best tier": [
                f"{scheme_label(sc)} {b}" if isinstance(b, str) else "none (no evidence)"
                for sc, b in zip(h["scheme"], h["best_tier"], strict=True)
            ],  # fmt: skip
        },
        index=pd.Index([scheme_label(x) for x in h["scheme"]], name="tier scheme"),
    )
    D.table(view, caption="Joint test that the effect is the same in every tier of a scheme")
    for statement in h.loc[h["differ"], "statement"]:
        D.note(statement, kind="info")


def show_roi(se: Strategy) -> None:
    """Section 4: ROI per tier; the tiers' totals and the pooled overall."""
    a = se.analysis
    if a is None or a.roi is None or len(a.roi) == 0:
        return
    from crmresearch.strategy import label_text, scheme_label

    r = a.roi
    view = pd.DataFrame(
        {
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
        },
        index=pd.Index([label_text(x) for x in r["arm"]], name="arm"),
    )
    D.table(view, caption=f"ROI on {a.revenue} by {scheme_label(next(iter(a.schemes)))} at the "
            f"assumed margin {fmt_pct(a.margin, 0)} and {_money(a.cost_per_customer, 2, a)} per "
            "treated customer")  # fmt: skip


def show_policies(se: Strategy) -> None:
    """Section 5: targeting rules (paired differences) and reach (labelled as reach); one pair
    of tables per outcome, so a heading never stands alone above a table that does not fit."""
    a = se.analysis
    if a is None:
        return
    from crmresearch.strategy import label_text

    v, d = a.policy_values, a.policy_differences
    for o in a.outcomes:
        vo, do = v[v["outcome"] == o], d[d["outcome"] == o]
        values = pd.DataFrame(
            {
                "rule": vo["rule"].to_numpy(),
                "value per customer": [_value(a, o, x) for x in vo["value"]],
                "95 % CI": [
                    f"{_value(a, o, lo)} to {_value(a, o, hi)}"
                    for lo, hi in zip(vo["ci_low"], vo["ci_high"], strict=True)
                ],  # fmt: skip
            },
            index=pd.Index([label_text(x) for x in vo["arm"]], name="arm"),
        )
        D.table(values, caption=f"{o}: value of each targeting rule (mean outcome per customer "
                "had the rule chosen who gets the arm)")  # fmt: skip
        view = pd.DataFrame(
            {
                "rule − rule": [f"{x} − {y}" for x, y in zip(do["rule_a"], do["rule_b"],
                                                               strict=True)],  # fmt: skip
                "difference per customer": [_effect(a, o, x, 3) for x in do["difference"]],
                "paired 95 % CI": [
                    _ci(a, o, lo, hi) for lo, hi in zip(do["ci_low"], do["ci_high"], strict=True)
                ],  # fmt: skip
                "p": [fmt_p(x) for x in do["p_value"]],
            },
            index=pd.Index([label_text(x) for x in do["arm"]], name="arm"),
        )
        D.table(view, caption=f"{o}: targeting rules compared on the same customers")
    r = a.reach
    if len(r):
        D.table(
            pd.DataFrame(
                {"outcome": r["outcome"].to_numpy(), "reach": [fmt_pct(x) for x in r["reach"]]},
                index=pd.Index(r["rule"].to_numpy(), name="rule"),
            ),
            caption="Reach (not an effect): share of each outcome in the control arm held by "
            "the customers a rule would target",
        )


def show_power(se: Strategy) -> None:
    """Section 6: minimum detectable effect per tier (one table per tier scheme)."""
    a = se.analysis
    if a is None or len(a.mde) == 0:
        return
    from crmresearch.strategy import label_text, scheme_label

    for scheme in a.schemes:
        m = a.mde[a.mde["scheme"] == scheme]
        view = pd.DataFrame(
            {
                "outcome": m["outcome"].to_numpy(),
                "tier": [label_text(x) for x in m["tier"]],
                "treated": m["n_treated"].astype("int64").to_numpy(),
                "control": m["n_control"].astype("int64").to_numpy(),
                "minimum detectable effect": [
                    _effect(a, o, x) for o, x in zip(m["outcome"], m["mde"], strict=True)
                ],  # fmt: skip
            },
            index=pd.Index([label_text(x) for x in m["arm"]], name="arm"),
        )
        D.table(view, caption=f"Smallest effect each {scheme_label(scheme)} could detect "
                "(power 80 %)")  # fmt: skip
