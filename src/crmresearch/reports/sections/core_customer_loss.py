"""The potential core-customer loss report: neglected core, churn, revenue lost, rising stars,
problem customers and the two schemes' predictive validity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmresearch import _privacy
from crmresearch._format import (
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_pct,
    is_missing,
    p_equals,
    signed,
)
from crmresearch.reports import display as D
from crmresearch.reports.labels import money as fmt_money  # the report's currency

__all__ = [
    "CoreLoss",
    "GROUP_FORMATS",
    "core_loss",
    "group_table",
    "effect_table",
    "neglected_list",
    "rising_stars",
    "validity_table",
    "odds_ratio_interpretation",
    "show_schemes",
    "show_groups",
    "show_effects",
    "show_neglected",
    "show_rising_and_problems",
    "show_validity",
]

_GROUP_NAMES = {
    "neglected_core": "neglected core",
    "served_core": "served core",
    "other": "other customers",
}

GROUP_FORMATS = {
    "share": fmt_pct,
    "churn rate": fmt_pct,
    "revenue before": fmt_money,
    "revenue lost": fmt_money,
    "share lost": fmt_pct,
}


@dataclass
class CoreLoss:
    """Results, tables and summary of the potential core-customer loss report."""

    metrics: dict
    kpis: list
    findings: list
    result: Any
    comparison: Any
    group_table: pd.DataFrame
    effect_table: pd.DataFrame
    neglected_list: pd.DataFrame
    rising: pd.DataFrame
    rising_rule: str
    problems: pd.DataFrame
    validity: Any
    validity_table: pd.DataFrame
    core_share: float = 0.2
    pseudonymized: bool = True
    #: One sentence on what the spend-adjusted odds ratio means (from its 95 % CI).
    adjusted_interpretation: str = ""
    #: Key of this run's pseudonyms: every customer list of the report uses it (never shown).
    key: bytes = field(default=b"", repr=False)

    def pseudonyms(self, ids) -> list:
        """``ids`` as shown in this report: keyed pseudonyms, or the ids when switched off."""
        return _privacy.pseudonymize(ids, self.key) if self.pseudonymized else list(ids)

    @property
    def id_label(self) -> str:
        return "customer (pseudonym)" if self.pseudonymized else "customer id"


def odds_ratio_interpretation(ci: Sequence[float], top_tier: str) -> str:
    """What the spend-adjusted odds ratio of churn says, read off its 95 % CI.

    CI covers 1: being outside the top volume tier adds nothing once calibration spend is held
    fixed, so the neglected core's higher raw churn goes with its lower spend. CI above 1: the
    association persists after adjusting for spend; below 1: the neglected core churns less than
    served-core customers of the same spend.
    """
    lo, hi = float(ci[0]), float(ci[1])
    if is_missing(lo) or is_missing(hi):
        return "The adjusted odds ratio could not be estimated."
    if lo <= 1 <= hi:
        return (
            f"Once calibration spend is held fixed, being outside tier {top_tier} is not associated "
            "with more churn: the higher churn of the neglected core goes with its lower spend."
        )
    if lo > 1:
        return (
            f"The association persists after adjusting for calibration spend: at the same spend, "
            f"customers outside tier {top_tier} churn more often."
        )
    return (
        f"After adjusting for calibration spend, customers outside tier {top_tier} churn less "
        "often than served-core customers of the same spend."
    )


# ---------------------------------------------------------------------------- tables


def group_table(result) -> pd.DataFrame:
    """Customers, churn (with its Wilson CI) and revenue per group."""
    g = result.groups
    out = pd.DataFrame(
        {
            "customers": g["customers"].astype("int64"),
            "share": g["share"],
            "churn rate": g["churn_rate"],
            "churn 95 % CI": [
                f"{fmt_pct(lo)} – {fmt_pct(hi)}"
                for lo, hi in zip(g["churn_ci_low"], g["churn_ci_high"], strict=True)
            ],
            "revenue before": g["revenue_before"],
            "revenue lost": g["revenue_lost"],
            "share lost": g["revenue_lost_share"],
        }
    )
    out.index = pd.Index([_GROUP_NAMES.get(i, i) for i in g.index], name="group")
    return out


def _points(x) -> str:
    return f"{signed(100 * x)} pts"


def effect_table(result) -> pd.DataFrame:
    """Risk difference, risk ratio and spend-adjusted odds ratio of churn with CIs and p."""
    c = result.comparison
    rd_lo, rd_hi = c["risk_difference_ci"]
    return pd.DataFrame(
        {
            "estimate": [
                _points(c["risk_difference"]),
                fmt_num(c["risk_ratio"], 2),
                fmt_num(c["odds_ratio"], 2),
            ],
            "95 % CI": [
                f"{signed(100 * rd_lo)} to {signed(100 * rd_hi)} pts",
                f"{c['risk_ratio_ci'][0]:.2f} to {c['risk_ratio_ci'][1]:.2f}",
                f"{c['odds_ratio_ci'][0]:.2f} to {c['odds_ratio_ci'][1]:.2f}",
            ],
            "p-value": [c["p_value"], c["p_value"], c["odds_ratio_p_value"]],
            "method": [
                "difference of churn rates, two-proportion z-test",
                "ratio of churn rates (neglected / served)",
                f"logistic regression, controlling for log calibration revenue (n = {c['logit_n']:,})",
            ],
        },
        index=pd.Index(
            ["risk difference", "risk ratio", "odds ratio (adjusted)"],
            name="neglected vs served core",
        ),
    )


def neglected_list(result, rows: int = 15) -> pd.DataFrame:
    """The first ``rows`` neglected-core customers by index (raw ids: pseudonymized on show)."""
    nl = result.neglected.head(rows).copy()
    return nl.rename(
        columns={
            "index_value": "index (0–100)",
            "index_rank": "index rank",
            "volume_tier": "volume tier",
            "revenue_before": "revenue before",
            "revenue_after": "revenue after",
        }
    )


def _period_text(period: Any) -> str:
    """A period label in words: 1997Q3 → "1997 Q3", 1997-09 → "Sep 1997"."""
    if isinstance(period, pd.Period):
        if period.freqstr.startswith("Q"):
            return f"{period.year} Q{period.quarter}"
        if period.freqstr.startswith("M"):
            return f"{period:%b %Y}"
    return str(period)


def _rising_rule_text(values: pd.DataFrame, tiers_: pd.DataFrame, rise: float, periods: int) -> str:
    """The rising-star rule of ``compare.rising_stars`` in plain words."""
    last, first = values.columns[-1], values.columns[max(-1 - periods, -values.shape[1])]
    top = tiers_[last].cat.categories[0]
    return (
        f"outside index tier {top} in {_period_text(last)} and index up by ≥ {rise:g} points "
        f"since {_period_text(first)}"
    )


def rising_stars(study, *, rise: float, rise_freq: str, rise_periods: int):
    """The index applied per period; lower-tier customers whose index climbed (and the rule)."""
    from crmresearch import compare

    X = study.features
    tiers_by_period, values = compare.reclassify(
        study.log,
        freq=rise_freq,
        scheme="abc",
        index=study.configured_index,
        start=study.calibration_start or X.attrs.get("window", {}).get("start"),
        end=study.calibration_end,
        return_values=True,
        shares=tuple((study.volume_tiers.value_counts(sort=False) / len(X)).to_numpy()),
    )
    rising = compare.rising_stars(values, tiers_by_period, rise=rise, periods=rise_periods)
    return rising, _rising_rule_text(values, tiers_by_period, rise, rise_periods)


def validity_table(validity) -> pd.DataFrame:
    """Precision, recall and value capture (bootstrap CIs) of each scheme's top tier."""
    vt = validity.table
    cells = {
        m.replace("_", " "): [
            f"{fmt_pct(v)} ({fmt_pct(lo)} – {fmt_pct(hi)})"
            for v, lo, hi in zip(vt[m], vt[m + "_low"], vt[m + "_high"], strict=True)
        ]
        for m in ("precision", "recall", "value_capture")
    }
    return pd.DataFrame(
        {"predicted top": vt["predicted_top"].astype("int64"), **cells},
        index=pd.Index([str(i) for i in vt.index], name="scheme (top tier)"),
    )


# ---------------------------------------------------------------------------- summary


def _metrics(result, rising, problems, validity) -> dict:
    g, c, vt = result.groups, result.comparison, validity.table
    n_neg = int(g.loc["neglected_core", "customers"])
    n_core = n_neg + int(g.loc["served_core", "customers"])
    vc = {str(k): float(v) for k, v in vt["value_capture"].items()}
    prec = {str(k): float(v) for k, v in vt["precision"].items()}
    return {
        "customers": int(result.n),
        "core_customers": n_core,
        "neglected_core": n_neg,
        "neglected_share_of_core": n_neg / n_core if n_core else float("nan"),
        "churn_neglected_core": float(g.loc["neglected_core", "churn_rate"]),
        "churn_served_core": float(g.loc["served_core", "churn_rate"]),
        "churn_other": float(g.loc["other", "churn_rate"]),
        "risk_difference": float(c["risk_difference"]),
        "risk_difference_ci": [float(v) for v in c["risk_difference_ci"]],
        "risk_ratio": float(c["risk_ratio"]),
        "p_value": float(c["p_value"]),
        "odds_ratio_adjusted": float(c["odds_ratio"]),
        "revenue_lost_neglected_core": float(g.loc["neglected_core", "revenue_lost"]),
        "revenue_lost_served_core": float(g.loc["served_core", "revenue_lost"]),
        "rising_stars": int(len(rising)),
        "problem_customers": int(len(problems)),
        "precision_volume": prec.get("volume tiers"),
        "precision_index": prec.get("index tiers"),
        "value_capture_volume": vc.get("volume tiers"),
        "value_capture_index": vc.get("index tiers"),
    }


def _kpis(m: dict) -> list:
    return [
        (
            f"neglected core customers ({fmt_pct(m['neglected_share_of_core'], 0)} of the core)",
            fmt_int(m["neglected_core"]),
        ),
        (
            "holdout churn: neglected vs served core",
            f"{fmt_pct(m['churn_neglected_core'], 0)} vs {fmt_pct(m['churn_served_core'], 0)}",
        ),
        ("revenue of churned neglected-core customers", fmt_money(m["revenue_lost_neglected_core"])),
        ("rising stars in lower tiers", fmt_int(m["rising_stars"])),
    ]


def _findings(m: dict, c: dict, *, core_share: float, top: str, adjusted: str) -> list:
    lo, hi = c["risk_difference_ci"]
    significant = lo > 0 or hi < 0
    direction = "more" if c["risk_difference"] > 0 else "less"
    churn_neg, churn_srv = m["churn_neglected_core"], m["churn_served_core"]
    return [
        f"{fmt_int(m['neglected_core'])} of the {fmt_int(m['core_customers'])} most valuable customers by the index "
        f"(top {fmt_pct(core_share, 0)}) are outside volume tier {top}, i.e. not treated as key accounts.",
        f"They churned {direction} often in the holdout than the served core ({fmt_pct(churn_neg)} vs "
        f"{fmt_pct(churn_srv)}; difference {signed(c['risk_difference'] * 100)} pts, 95 % CI "
        f"{signed(lo * 100)} to {signed(hi * 100)} pts), which is "
        + ("statistically significant." if significant else "not statistically significant."),
        f"Adjusted for calibration revenue, the odds ratio of churn for the neglected core is "
        f"{c['odds_ratio']:.2f} (95 % CI {c['odds_ratio_ci'][0]:.2f}–{c['odds_ratio_ci'][1]:.2f}, "
        f"p {p_equals(c['odds_ratio_p_value'])}). " + adjusted,
        f"Churned neglected-core customers had brought {fmt_money(m['revenue_lost_neglected_core'])} "
        "in the calibration period.",
        f"The index's top tier captures {fmt_pct(m['value_capture_index'])} of next-period revenue vs "
        f"{fmt_pct(m['value_capture_volume'])} for the volume scheme's top tier (precision "
        f"{fmt_pct(m['precision_index'])} vs {fmt_pct(m['precision_volume'])}).",
    ]


def core_loss(
    study,
    *,
    core_share: float = 0.2,
    pseudonymize_ids: bool = True,
    n_boot: int = 500,
    seed: int = 0,
    rise: float = 10.0,
    rise_freq: str = "Q",
    rise_periods: int = 1,
) -> CoreLoss:
    """Neglected core, churn and revenue lost, rising stars, problem customers, validity."""
    from crmresearch import compare, loss

    X, vol, top = study.features, study.volume_tiers, study.top_tier
    # Raw ids here; every list is pseudonymized when shown, with one key per run, so the same
    # customer has the same pseudonym in every list of the report.
    result = loss.potential_core_loss(
        study.composite, vol, study.outcomes, core_share=core_share, top_volume_tiers=(top,),
        revenue_before=X["monetary"], pseudonymize=False,
    )  # fmt: skip
    comparison = compare.compare_schemes(
        vol.rename("volume tier"), study.index_tiers.rename("index tier"), value=X["monetary"]
    )
    rising, rising_rule = rising_stars(
        study, rise=rise, rise_freq=rise_freq, rise_periods=rise_periods
    )
    problems = loss.problem_customers(X)
    validity = compare.predictive_validity(
        {"volume tiers": vol, "index tiers": study.index_tiers},
        study.outcomes, top=core_share, n_boot=n_boot, seed=seed,
    )  # fmt: skip
    metrics = _metrics(result, rising, problems, validity)
    adjusted = odds_ratio_interpretation(result.comparison["odds_ratio_ci"], top)
    findings = _findings(
        metrics, result.comparison, core_share=core_share, top=top, adjusted=adjusted
    )
    return CoreLoss(
        metrics=metrics,
        kpis=_kpis(metrics),
        findings=findings,
        result=result,
        comparison=comparison,
        group_table=group_table(result),
        effect_table=effect_table(result),
        neglected_list=neglected_list(result),
        rising=rising,
        rising_rule=rising_rule,
        problems=problems,
        validity=validity,
        validity_table=validity_table(validity),
        core_share=core_share,
        pseudonymized=bool(pseudonymize_ids),
        adjusted_interpretation=adjusted,
        key=_privacy.new_key(),
    )


# ---------------------------------------------------------------------------- sections


def show_schemes(cl: CoreLoss) -> None:
    """Section 1: volume tiers × index tiers."""
    from crmresearch import plots

    counts = cl.comparison.counts.rename(
        index=lambda t: f"volume {t}", columns=lambda t: f"index {t}"
    )
    D.table(counts, caption="Customers: volume tier (rows) × index tier (columns)")
    D.show_figure(plots.scheme_crosstab(cl.comparison))


def show_groups(cl: CoreLoss) -> None:
    """Section 2: the groups, their holdout churn and revenue."""
    from crmresearch import plots

    D.table(cl.group_table, caption="Groups, holdout churn and revenue", formats=GROUP_FORMATS)
    D.show_figure(plots.churn_by_group(cl.result))
    D.show_figure(plots.revenue_lost(cl.result))


def show_effects(cl: CoreLoss) -> None:
    """Section 3: is the neglected core more likely to churn (raw and adjusted for spend)?"""
    D.table(cl.effect_table, caption="Neglected vs served core", formats={"p-value": fmt_p})
    D.note(cl.adjusted_interpretation, kind="info", title="Adjusted for spend.")


def show_neglected(cl: CoreLoss) -> None:
    """The neglected-core customers with the highest index (pseudonymized unless switched off)."""
    nl = cl.neglected_list.copy()
    nl.index = pd.Index(cl.pseudonyms(nl.index), name=cl.id_label)
    D.table(
        nl,
        caption=f"Neglected core: {len(cl.result.neglected):,} customers, top 15 by index",
        formats={
            "index (0–100)": lambda v: fmt_num(v, 1),
            "revenue before": lambda v: fmt_money(v, 2),
            "revenue after": lambda v: fmt_money(v, 2),
        },
    )


def _missing_data_words(skipped: Sequence[str]) -> str:
    """What kind of data the skipped problem rules needed: "payment or return"."""
    kinds = []
    for rule in skipped:
        column = str(rule).split(" ")[0]
        if "pay" in column or "overdue" in column:
            kind = "payment"
        elif "return" in column:
            kind = "return"
        else:
            kind = column.replace("_", " ")
        if kind not in kinds:
            kinds.append(kind)
    return " or ".join(kinds) if kinds else "required"


def _show_problems(p: pd.DataFrame) -> None:
    applied = p.attrs.get("rules", [])
    skipped = p.attrs.get("skipped_rules", [])
    if not applied:
        D.note(
            f"not applicable: the data have no {_missing_data_words(skipped)} columns.",
            kind="info",
            title="Problem customers:",
        )
        return
    text = f"{len(p):,} of {p.attrs.get('n_checked', 0):,} customers fail at least one problem rule."
    if skipped:
        text += (
            " Rules not applied because the data lack their columns: "
            + "; ".join(map(str, skipped))
            + "."
        )
    D.note(text, kind="info", title="Problem customers.")
    if len(p):
        reasons = p["reasons"].str.split("; ").explode().value_counts()
        D.table(
            reasons.rename("customers").to_frame().rename_axis("reason"),
            caption="Problem customers by rule",
        )


def show_rising_and_problems(cl: CoreLoss) -> None:
    """Section 4: rising-star list and problem-customer summary with their rules."""
    rising = cl.rising.head(15).copy()
    rising.index = pd.Index(cl.pseudonyms(rising.index), name=cl.id_label)
    rising = rising.rename(
        columns={"value_before": "index before", "value_now": "index now", "rise": "rise (points)"}
    )
    D.table(
        rising,
        caption=f"Rising stars: {len(cl.rising):,} customers ({cl.rising_rule}); top 15",
        default_digits=1,
    )
    _show_problems(cl.problems)


def show_validity(cl: CoreLoss) -> None:
    """Section 5: predictive validity of the two schemes' top tiers."""
    from crmresearch import plots

    D.table(
        cl.validity_table,
        caption=f"Top {fmt_pct(cl.core_share, 0)} by holdout revenue as the target",
    )
    D.show_figure(plots.gain_curves(cl.validity))
