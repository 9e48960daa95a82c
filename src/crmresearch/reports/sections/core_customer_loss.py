"""The potential core-customer loss report: the four cells (served core, neglected core,
over-served, other) like for like, their churn and revenue at risk, the honest spend adjustment,
the core-share sensitivity, validated rising stars, manager lists and the baselines' validity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmresearch import _privacy
from crmresearch._format import (
    fmt_int,
    fmt_p,
    fmt_pct,
    is_missing,
    signed,
)
from crmresearch.reports import display as D
from crmresearch.reports.labels import currency
from crmresearch.reports.labels import money as fmt_money  # the report's currency
from crmresearch.reports.sections.core_loss_tables import (
    CHURN_COLUMNS,
    _problems_applicable,
    _recency_caveat,
    attribute_display,
    attribute_metrics,
    attribute_tables,
    effect_table,
    group_table,
    lists_text,
    neglected_list,
    out_of_time_table,
    overlap_table,
    points,
    rising_table,
    sensitivity_table,
    validity_table,
)
from crmresearch.reports.sections.customer_attributes import attribute_columns

__all__ = [
    "CoreLoss",
    "GROUP_FORMATS",
    "core_loss",
    "group_table",
    "effect_table",
    "neglected_list",
    "overlap_table",
    "sensitivity_table",
    "rising_table",
    "out_of_time_table",
    "rising_stars",
    "validity_table",
    "odds_ratio_interpretation",
    "show_schemes",
    "show_groups",
    "show_effects",
    "show_sensitivity",
    "show_lists",
    "lists_text",
    "show_neglected",
    "show_rising_and_problems",
    "show_validity",
    "attribute_tables",
    "show_by_attribute",
]

GROUP_FORMATS = {
    "share": fmt_pct,
    "churn rate": fmt_pct,
    "revenue before": fmt_money,
    "revenue after": fmt_money,
    "revenue at risk": fmt_money,
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
    sensitivity: Any = None
    rising_validation: Any = None
    baselines: Any = None
    lists: Any = None
    list_files: list = field(default_factory=list)
    #: True when the pseudonyms come from the firm's key file (``id_key``): stable across runs.
    stable_key: bool = False

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



def rising_stars(study, *, rise: float, rise_freq: str, rise_periods: int):
    """The index applied per period; rising stars vs peers of the same tier in the holdout
    (the study's own rule, :meth:`crmresearch.study.Study.rising_stars`)."""
    rv = study.rising_stars(rise=rise, freq=rise_freq, periods=rise_periods)
    rv.recency_caveat = _recency_caveat(study, rv.period_values, rv.period_tiers, rv.rising)
    return rv


def _clv_scores(study):
    """CLV, P(alive) and the fits' note of the study (:attr:`Study.customer_value`). When not
    estimable the CLV is all NaN (its top tier is empty, so the validity table shows it as not
    estimable), P(alive) is None and the note says "CLV not estimable: <reason>"."""
    value = study.customer_value
    return value.clv, value.p_alive, value.note


def _direction(indicator: str) -> int:
    """+1 when more of ``indicator`` is better for the firm, -1 for a cost (e.g. recency)."""
    from crmresearch.features import INDICATORS

    spec = INDICATORS.get(indicator)
    return int(getattr(spec, "direction", 1) or 1)


def _rolling_windows(study, n_windows: int, notes: dict, single: str, step_months: int = 2):
    """Refits of the whole study on calibration windows ending 0, 2, 4, ... months earlier, each
    judged on the following holdout of the same length (the Study builds every window). A
    window where a score cannot be formed (RFM quartiles of heavily tied data) leaves that
    scheme out for the window, with a note."""
    import warnings

    from crmresearch import compare
    from crmresearch.errors import DataError

    cal_end, hold_end = pd.Timestamp(study.calibration_end), pd.Timestamp(study.holdout_end)
    out = []
    for k in range(n_windows):
        shift = pd.DateOffset(months=step_months * k)
        end = (cal_end - shift).strftime("%Y-%m-%d")
        w = study.with_params(calibration_end=end, holdout_start="",
                              holdout_end=(hold_end - shift).strftime("%Y-%m-%d"))  # fmt: skip
        f = w.features
        scores = {"volume": f["monetary"], "index": w.composite,
                  "single": f[single] * _direction(single)}  # fmt: skip
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                scores["rfm"] = compare.rfm_score(f)
            for c in caught:
                notes.setdefault(str(c.message), []).append(end)
        except DataError as exc:
            notes.setdefault(f"RFM score left out ({exc})", []).append(end)
        clv_value, _p_alive, clv_note = _clv_scores(w)
        scores["clv"] = clv_value
        if clv_note:
            notes.setdefault(clv_note, []).append(end)
        out.append((end, scores, w.outcomes))
    return out



# ---------------------------------------------------------------------------- summary


def _metrics(result, sensitivity, rising, problems, validity, baselines, lists) -> dict:
    from crmresearch import loss

    g, c, vt = result.groups, result.comparison, validity.table
    vc = {str(k): float(v) for k, v in vt["value_capture"].items()}
    prec = {str(k): float(v) for k, v in vt["precision"].items()}
    cells = {k: {"customers": int(r["customers"]), "churn_rate": _f(r["churn_rate"]),
                 "churn_ci": [_f(r["churn_ci_low"]), _f(r["churn_ci_high"])],
                 "revenue_before": _f(r["revenue_before"]), "revenue_after": _f(r["revenue_after"]),
                 "revenue_at_risk": _f(r["revenue_at_risk"])} for k, r in g.iterrows()}  # fmt: skip
    return {
        "customers": int(result.n),
        "core_customers": int(result.core_customers),
        "core_share": float(result.core_share),
        "neglected_core": int(g.loc["neglected_core", "customers"]),
        "over_served": int(g.loc["over_served", "customers"]),
        "neglected_share_of_core": _f(result.neglected_share),
        "minimum_by_construction": _f(result.minimum_by_construction),
        "cells": cells,
        "churn_neglected_core": _f(g.loc["neglected_core", "churn_rate"]),
        "churn_served_core": _f(g.loc["served_core", "churn_rate"]),
        "churn_over_served": _f(g.loc["over_served", "churn_rate"]),
        "churn_other": _f(g.loc["other", "churn_rate"]),
        "risk_difference": _f(c["risk_difference"]),
        "risk_difference_ci": [_f(v) for v in c["risk_difference_ci"]],
        "risk_difference_p": _f(c["risk_difference_p"]),
        "risk_ratio": _f(c["risk_ratio"]),
        "p_value": _f(c["p_value"]),
        "odds_ratio_adjusted": _f(c["odds_ratio_adjusted"]),
        "odds_ratio_adjusted_ci": [_f(v) for v in c["odds_ratio_adjusted_ci"]],
        "odds_ratio_spline": _f(c["odds_ratio_spline"]),
        "odds_ratio_spline_ci": [_f(v) for v in c["odds_ratio_spline_ci"]],
        "spend_overlap_extrapolation": bool(result.adjustment.extrapolation),
        "band_risk_difference": _f(result.adjustment.band.get("risk_difference")),
        "band_risk_difference_ci": [_f(v) for v in result.adjustment.band.get(
            "risk_difference_ci", (float("nan"), float("nan")))],  # fmt: skip
        "revenue_at_risk_neglected_core": _f(g.loc["neglected_core", "revenue_at_risk"]),
        "revenue_lost_neglected_core": _f(g.loc["neglected_core", "revenue_lost"]),
        "revenue_lost_served_core": _f(g.loc["served_core", "revenue_lost"]),
        "sensitivity": loss.sensitivity_records(sensitivity),
        "rising_stars": int(len(rising.rising)),
        "rising_star_validation": rising.to_dict()["by_tier"],
        "problem_customers": int(len(problems)),
        "lists": {k: int(v) for k, v in lists.counts()["on_list"].items()},
        "id_key_fingerprint": lists.key_fingerprint,
        "validity": baselines.to_dict(),
        "precision_volume": prec.get("volume tiers"),
        "precision_index": prec.get("index tiers"),
        "value_capture_volume": vc.get("volume tiers"),
        "value_capture_index": vc.get("index tiers"),
    }


def _f(x) -> float | None:
    return None if is_missing(x) else float(x)


def _kpis(m: dict) -> list:
    return [
        (f"core customers (top {fmt_pct(m['core_share'])} by the index)", fmt_int(m["core_customers"])),
        ("neglected core / over-served", f"{fmt_int(m['neglected_core'])} / {fmt_int(m['over_served'])}"),
        ("holdout churn: neglected core vs served core",
         f"{fmt_pct(m['churn_neglected_core'], 0)} vs {fmt_pct(m['churn_served_core'], 0)}"),
        ("holdout churn: over-served", fmt_pct(m["churn_over_served"], 0)),
        ("rising stars in lower tiers", fmt_int(m["rising_stars"])),
    ]  # fmt: skip


#: Per metric of the validity table: its label and the words of a baseline that is above /
#: below / indistinguishable from the index (holdout churn: "more often" = the baseline's top
#: tier churns more, i.e. the index is better).
_VALIDITY_WORDS = {
    "precision": ("picks {} of next period's top customers", ("more", "fewer", "about as many")),
    "value_capture": ("captures {} next-period revenue", ("more", "less", "about as much")),
    "churn": ("churns {}", ("more often", "less often", "about as often")),
}
_VALIDITY_LABELS = {"precision": "precision", "value_capture": "value capture",
                    "churn": "holdout churn"}  # fmt: skip


def validity_verdict(d, lo, hi) -> int:
    """+1 / −1 when the paired-bootstrap CI of ``baseline − index`` lies above / below 0
    (the sign of ``d`` then agrees), 0 when it covers 0 or is missing."""
    if is_missing(lo) or is_missing(hi) or is_missing(d) or lo <= 0 <= hi:
        return 0
    return 1 if lo > 0 else -1


def validity_sentence(label: str, top: float, diffs) -> str:
    """One sentence: the top tier by ``label`` against the index's on precision, value capture
    and holdout churn, each worded from its paired-bootstrap CI, with the difference
    ``baseline − index`` (the validity table's sign) and its 95 % CI. ``diffs``: a mapping with
    ``diff_<metric>``, ``diff_<metric>_low`` and ``diff_<metric>_high`` (shares)."""
    clauses = []
    for m, (verb, (above, below, same)) in _VALIDITY_WORDS.items():
        d, lo, hi = diffs[f"diff_{m}"], diffs[f"diff_{m}_low"], diffs[f"diff_{m}_high"]
        word = {1: above, -1: below, 0: same}[validity_verdict(d, lo, hi)]
        clauses.append(f"{verb.format(word)} ({_VALIDITY_LABELS[m]} {points(d)}, 95 % CI "
                       f"{signed(100 * lo)} to {signed(100 * hi)})")  # fmt: skip
    share = fmt_pct(top, 0)
    return (f"Against the index's top {share}, the top {share} by {label} {clauses[0]}, "
            f"{clauses[1]} and {clauses[2]}.")


def _validity_findings(baselines) -> list[str]:
    """One sentence per baseline vs the index, following the sign and CI of each difference."""
    out = []
    t, d = baselines.table, baselines.differences
    for s, r in d.iterrows():
        if not t.loc[s].get("estimable", True):  # undersized top tier: no comparison
            out.append(f"{t.loc[s, 'label']}: not estimable on these data, so it is not "
                       "compared with the index (see the notes on the baselines).")  # fmt: skip
            continue
        out.append(validity_sentence(t.loc[s, "label"], baselines.top, r))
    return out


def core_loss(
    study,
    *,
    core_share: float | None = None,
    pseudonymize_ids: bool = True,
    id_key: str = "",
    lists_dir: str = "",
    n_boot: int = 500,
    seed: int = 0,
    rise: float = 10.0,
    rise_freq: str = "Q",
    rise_periods: int = 1,
    validity_top: float = 0.2,
    out_of_time_windows: int = 3,
) -> CoreLoss:
    """The four cells, sensitivity, adjustment, rising stars, lists, problems and validity.

    ``core_share`` None or 0 = like for like (the core has the size of the top volume tier).
    ``id_key``: path of the firm's key file (created with mode 0600 when missing) for pseudonyms
    that are the same in every run; empty = a new key per run. ``lists_dir``: folder for the
    complete lists (CSV with BOM and XLSX); empty = the folder the runner names in
    ``CRMRESEARCH_REPORT_DIR``, else none are written.
    """
    import os

    from crmresearch import compare, loss

    X, vol, top = study.features, study.volume_tiers, study.top_tier
    share = core_share or None
    key = _privacy.load_key(id_key) if id_key else _privacy.new_key()
    result = loss.potential_core_loss(
        study.composite, vol, study.outcomes, core_share=share, top_volume_tiers=(top,),
        revenue_before=X["monetary"], pseudonymize=pseudonymize_ids, id_key=key,
    )  # fmt: skip
    sensitivity = loss.core_share_sensitivity(
        study.composite, vol, study.outcomes, top_volume_tiers=(top,), revenue_before=X["monetary"]
    )
    comparison = compare.compare_schemes(
        vol.rename("volume tier"), study.index_tiers.rename("index tier"), value=X["monetary"]
    )
    rising = rising_stars(study, rise=rise, rise_freq=rise_freq, rise_periods=rise_periods)
    problems = loss.problem_customers(X)
    clv_value, p_alive, clv_note = _clv_scores(study)
    lists = result.customer_lists(rising=rising.rising, problems=problems, p_alive=p_alive,
                                  currency=currency())
    folder = lists_dir or os.environ.get("CRMRESEARCH_REPORT_DIR", "")
    list_files = [p.name for p in lists.write(folder)] if folder else []
    validity = compare.predictive_validity(
        {"volume tiers": vol, "index tiers": study.index_tiers},
        study.outcomes, top=validity_top, n_boot=n_boot, seed=seed,
    )  # fmt: skip
    single_name, single = compare.best_single_indicator(X, study.outcomes, top=validity_top)
    window_notes: dict[str, list[str]] = {}  # message -> windows (ends) it came from
    scores = {"volume": X["monetary"], "index": study.composite, "rfm": compare.rfm_score(X),
              "single": single}  # fmt: skip
    scores["clv"] = clv_value
    baselines = compare.baseline_validity(
        scores, study.outcomes, top=validity_top, n_boot=n_boot, seed=seed,
        labels={"volume": "calibration revenue (volume)", "index": "classification index",
                "rfm": "RFM score", "single": f"best single indicator: {single_name}",
                "clv": "CLV (BG/NBD + Gamma-Gamma)"},
        out_of_time=lambda: _rolling_windows(study, out_of_time_windows, window_notes,
                                                     single_name),
    )  # fmt: skip
    baselines.notes += [f"{m} (out of time, windows ending {', '.join(ends)})"
                        for m, ends in window_notes.items()]  # fmt: skip
    if clv_note and clv_note not in window_notes:
        baselines.notes.append(clv_note)
    metrics = _metrics(result, sensitivity, rising, problems, validity, baselines, lists)
    money = currency()
    findings = [*result.findings(currency=money), *rising.findings(currency=money)[:1],
                *_validity_findings(baselines)]
    return CoreLoss(
        metrics=metrics,
        kpis=_kpis(metrics),
        findings=findings,
        result=result,
        comparison=comparison,
        group_table=group_table(result),
        effect_table=effect_table(result),
        neglected_list=neglected_list(result),
        rising=rising.rising,
        rising_rule=rising.rule,
        problems=problems,
        validity=validity,
        validity_table=validity_table(baselines),
        core_share=result.core_share,
        pseudonymized=bool(pseudonymize_ids),
        adjusted_interpretation=" ".join(s for s in result.findings(currency=money) if "spend" in s),
        key=key,
        sensitivity=sensitivity,
        rising_validation=rising,
        baselines=baselines,
        lists=lists,
        list_files=list_files,
        stable_key=bool(id_key),
    )


# ---------------------------------------------------------------------------- sections


def show_schemes(cl: CoreLoss) -> None:
    """Section 1: volume tiers × index tiers."""
    counts = cl.comparison.counts.rename(
        index=lambda t: f"volume {t}", columns=lambda t: f"index {t}"
    )
    D.table(counts, caption="Customers: volume tier (rows) × index tier (columns)")
    D.show_figure(cl.comparison.plot_crosstab())


def show_groups(cl: CoreLoss) -> None:
    """Section 2: the four cells, their holdout churn and revenue."""
    r = cl.result
    D.table(cl.group_table, caption="The four cells: holdout churn and revenue",
            formats=GROUP_FORMATS)  # fmt: skip
    D.note(
        f"Core = top {fmt_int(r.core_customers)} customers by the index ({fmt_pct(r.core_share)}); "
        f"neglected share of the core {fmt_pct(r.neglected_share)}, minimum by construction "
        f"{fmt_pct(r.minimum_by_construction)}. Revenue at risk = calibration revenue of the "
        "cell's customers with no holdout purchase: an exposure estimate, not money already lost.",
        kind="info", title="Definitions.",
    )  # fmt: skip
    D.show_figure(r.plot_churn())
    D.show_figure(r.plot_revenue(currency=currency()))


def show_effects(cl: CoreLoss) -> None:
    """Section 3: the comparisons (one test per CI) and the honest spend adjustment."""
    D.table(cl.effect_table, caption="Comparisons of holdout churn", formats={"p-value": fmt_p})
    D.table(overlap_table(cl.result), caption="Calibration spend of the compared groups",
            formats={"in the other group's range": fmt_pct, "customers": fmt_int},
            default_digits=0)  # fmt: skip
    D.show_figure(cl.result.plot_overlap(currency=currency()))
    if cl.result.adjustment.extrapolation:
        D.note(cl.adjusted_interpretation, kind="warning", title="Spend adjustment extrapolates.")
    else:
        D.note(cl.adjusted_interpretation, kind="info", title="Adjusted for spend.")


def show_sensitivity(cl: CoreLoss) -> None:
    """Section 3b: how the finding depends on the core share."""
    from crmresearch import plots

    D.table(sensitivity_table(cl.sensitivity), caption="Core-share sensitivity",
            formats={"neglected share": fmt_pct, "minimum by construction": fmt_pct,
                     "p-value": fmt_p})  # fmt: skip
    D.show_figure(plots.core_share_sensitivity_plot(cl.sensitivity))


def show_lists(cl: CoreLoss) -> None:
    """Section 4: the manager lists (counts, treatments, overlaps; files when written)."""
    counts = cl.lists.counts().rename(columns={"on_list": "on list", "primary": "primary list"})
    overlaps = cl.lists.overlaps
    if not _problems_applicable(cl.problems):  # no "problem 0" row beside "not applicable"
        counts = counts.drop(index="problem", errors="ignore")
        overlaps = overlaps.drop(index="problem", columns="problem", errors="ignore")
    caption = "Customer lists: one primary list per customer"
    if not _problems_applicable(cl.problems):
        words = _missing_data_words(cl.problems.attrs.get("skipped_rules", []))
        caption += f" (no {words} data: problem list not applicable)"
    D.table(counts[["on list", "primary list", "treatment"]], caption=caption)
    D.table(overlaps, caption="Customers on two lists (diagonal: list size)")
    D.note(lists_text(cl), kind="info", title="Lists.")


def show_neglected(cl: CoreLoss) -> None:
    """A preview of the neglected-core list (the complete list is in the list files)."""
    nl = cl.neglected_list.copy()
    nl.index.name = cl.id_label
    money = {} if cl.pseudonymized else {"revenue before": fmt_money, "revenue after": fmt_money}
    n = len(cl.result.neglected)
    shown = (f"all {n:,} customers" if n <= len(nl) else
             f"first {len(nl):,} of {n:,} customers by index rank")  # fmt: skip
    where = " (complete list in the list files)" if cl.list_files and n > len(nl) else ""
    D.table(nl, caption=f"Neglected core: {shown}{where}", formats=money)


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
        D.note(f"No {_missing_data_words(skipped)} data: problem list not applicable.",
               kind="info", title="Problem customers.")  # fmt: skip
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
    """Section 5: rising stars against their peers in the holdout; problem customers."""
    rv = cl.rising_validation
    D.note(rv.rule, kind="info", title="Rising stars.")
    if getattr(rv, "recency_caveat", ""):
        D.note(rv.recency_caveat, kind="warning", title="Recent buyers.")
    D.table(rising_table(rv), caption=f"Rising stars ({len(cl.rising):,}) vs peers of the same "
            "index tier, holdout", formats={"p-value": fmt_p})  # fmt: skip
    for sentence in rv.findings(currency=currency()):
        D.note(sentence, kind="info")
    _show_problems(cl.problems)


def show_validity(cl: CoreLoss) -> None:
    """Section 6: baselines as same-size top tiers, paired-bootstrap differences, out of time."""
    b = cl.baselines
    D.table(cl.validity_table, caption=f"Top {fmt_pct(b.top, 0)} of each scheme, next period "
            f"(95 % bootstrap CIs, {b.n_boot} paired resamples)")  # fmt: skip
    oot = out_of_time_table(b)
    if oot is not None:
        D.table(oot, caption="Out of time: value capture when refitted on earlier calibration "
                "windows", formats={c: fmt_pct for c in ("mean", "sd", "min", "max")})  # fmt: skip
    if b.notes:
        D.note("; ".join(b.notes) + ".", kind="info", title="Notes on the baselines.")
    D.show_figure(cl.validity.plot_gain())


def show_by_attribute(study, cl: CoreLoss) -> None:
    """The four cells by each static customer attribute (``customers`` parameter); nothing
    without an attribute file. Counts also go to metrics.json under ``by_attribute``."""
    columns, left_out = attribute_columns(study.static_attributes)
    tables = attribute_tables(cl.result, study.static_attributes[columns])
    for column, table in tables.items():
        D.table(attribute_display(table), caption=f"The four cells by {column}: customers per "
                "cell and the neglected core's holdout churn with its Wilson 95 % CI",
                formats={CHURN_COLUMNS["neglected_churn_rate"]: fmt_pct},
                index_label=column, translate=False)  # attribute values are data  # fmt: skip
    if left_out:
        D.note(f"Not broken down: {', '.join(left_out)}.", kind="info", title="Attributes.")
    if tables:
        D.record("metrics", {"by_attribute": attribute_metrics(tables)})
