"""The segment-value report: tiers and revenue, tier profiles, the index and its robustness,
schemes, migration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmresearch._format import fmt_int, fmt_num, fmt_p, fmt_pct, kmo_label, p_equals
from crmresearch.reports import display as D
from crmresearch.reports.labels import label, label_with_unit
from crmresearch.reports.labels import money as fmt_money  # the report's currency
from crmresearch.study import volume_scheme

__all__ = [
    "SegmentValue",
    "segment_value",
    "tier_table",
    "profile_tables",
    "scheme_agreement",
    "migration_tables",
    "revenue_for_concentration",
    "holdout_tiers",
    "show_tiers",
    "show_profiles",
    "show_index_structure",
    "show_schemes",
    "show_migration",
    "IndexRobustness",
    "index_robustness",
    "show_index_robustness",
]


@dataclass
class SegmentValue:
    """Tables, figures' inputs, summary numbers and sentences of the segment-value report."""

    metrics: dict
    kpis: list
    findings: list
    tier_table: pd.DataFrame
    tier_formats: dict
    lorenz_values: dict
    profiles: Any
    profile_means: pd.DataFrame
    profile_tests: pd.DataFrame
    test_formats: dict
    comparison: Any
    crosstab: pd.DataFrame
    agreement: pd.DataFrame
    agreement_formats: dict
    migration: Any
    migration_table: pd.DataFrame
    migration_rates: pd.DataFrame
    rate_formats: dict


def _tier_names(tiers_: pd.Series) -> list[str]:
    return [str(c) for c in tiers_.cat.categories]


def revenue_for_concentration(study) -> pd.Series:
    """Calibration net revenue with negative values counted as 0 (Gini/Lorenz need x ≥ 0)."""
    return study.features["monetary"].clip(lower=0)


def holdout_tiers(study) -> pd.Series:
    """The volume rule applied to holdout revenue of the customers who bought in the holdout.

    Customers without a holdout purchase get no tier (shown as *inactive* by the migration).
    """
    revenue = study.outcomes["revenue"].where(study.outcomes["purchases"] > 0)
    held = volume_scheme(revenue.dropna(), study.tier_scheme, study.tier_shares)
    return held.reindex(study.features.index)


def tier_table(study) -> tuple[pd.DataFrame, dict]:
    """Customers, net revenue and shares per volume tier, with the columns' formats."""
    vol, revenue = study.volume_tiers, study.features["monetary"]
    counts = vol.value_counts(sort=False).reindex(vol.cat.categories)
    rev = revenue.groupby(vol, observed=False).sum().reindex(vol.cat.categories)
    out = pd.DataFrame(
        {
            "customers": counts.astype("int64"),
            "share of customers": counts / counts.sum(),
            "net revenue": rev,
            "share of revenue": rev / revenue.sum(),
            "revenue per customer": rev / counts,
        }
    )
    out.index = pd.Index(_tier_names(vol), name="tier")
    formats = {
        "share of customers": fmt_pct,
        "share of revenue": fmt_pct,
        "net revenue": fmt_money,
        "revenue per customer": lambda v: fmt_money(v, 2),
    }
    return out, formats


def profile_tables(study):
    """Tier profiles: mean indicators per tier, Kruskal–Wallis and pairwise Mann–Whitney p."""
    from crmresearch import compare

    lang = study.language
    profiles = compare.tier_profiles(study.features, study.volume_tiers)
    means = profiles.means.copy()
    means.columns = [label_with_unit(c, lang) for c in means.columns]
    means = means.T
    means.index.name = "indicator"
    kr = profiles.kruskal.copy()
    tests = pd.DataFrame({"H": kr["H"], "df": kr["df"].astype("int64"), "p (Holm)": kr["p_holm"]})
    # Pairwise Mann-Whitney tests (Holm within indicator): one column per pair of tiers.
    pw = profiles.pairwise
    if len(pw):
        pairs = pw.assign(pair=pw["tier_a"].astype(str) + " vs " + pw["tier_b"].astype(str))
        wide = pairs.pivot(index="indicator", columns="pair", values="p_holm")
        wide = wide.reindex(index=kr.index, columns=list(dict.fromkeys(pairs["pair"])))
        for col in wide.columns:
            tests[f"p {col}"] = wide[col]
    tests.index = [label(c, lang) for c in kr.index]
    tests.index.name = "indicator"
    test_formats = {
        "H": lambda v: fmt_num(v, 1),
        **{c: fmt_p for c in tests.columns if str(c).startswith("p ")},
    }
    return profiles, means, tests, test_formats


def scheme_agreement(study):
    """Volume tiers × index tiers: the comparison, its crosstab, agreement table, same share."""
    from crmresearch import compare

    comparison = compare.compare_schemes(
        study.volume_tiers.rename("volume tier"),
        study.index_tiers.rename("index tier"),
        value=study.features["monetary"],
    )
    crosstab = comparison.counts.copy()
    crosstab.index = [f"volume {i}" for i in crosstab.index]
    crosstab.columns = [f"index {c}" for c in crosstab.columns]
    counts = comparison.counts.to_numpy()
    same = float(np.trace(counts) / counts.sum())
    # Each statistic printed in its own convention (share, coefficient, test statistic, p).
    values = [
        fmt_pct(same),
        fmt_num(comparison.kappa, 3),
        fmt_num(comparison.ari, 3),
        f"{comparison.chi2:,.1f} (df {comparison.chi2_df})",
        fmt_p(comparison.chi2_p),
    ]
    names = [
        "same tier (share)",
        "weighted Cohen's κ",
        "adjusted Rand index",
        "chi-square",
        "p-value",
    ]
    agreement = pd.DataFrame({"value": values}, index=pd.Index(names, name="statistic"))
    return comparison, crosstab, agreement, same


def migration_tables(study):
    """Calibration tier → holdout tier shares, movement rates, and the top tier's fates."""
    from crmresearch import compare

    names = _tier_names(study.volume_tiers)
    migration = compare.migration_matrix(study.volume_tiers, holdout_tiers(study))
    # Rows nobody starts from (no customer is "inactive" in the calibration period) are empty:
    # left out; the columns stay, so "inactive" in the holdout is still shown.
    mig = migration.row_shares.loc[migration.counts.sum(axis=1).to_numpy() > 0].copy()
    mig.index = [f"{i}" for i in mig.index]
    mig.index.name = "calibration tier"
    mig.columns = [str(c) for c in mig.columns]
    rates = pd.DataFrame(
        {"value": [migration.stay_rate, migration.upgrade_rate, migration.downgrade_rate]},
        index=pd.Index(
            ["stayed in tier", "moved up", "moved down"],
            name="among customers tiered in both periods",
        ),
    )
    top = names[0]
    top_stay = float(mig.loc[top, top]) if top in mig.columns else float("nan")
    inactive_col = [c for c in mig.columns if c not in names]
    top_inactive = float(mig.loc[top, inactive_col[0]]) if inactive_col else float("nan")
    return migration, mig, rates, top_stay, top_inactive


def _variance_explained(idx) -> float:
    if "cumulative" in idx.variance_:
        return float(idx.variance_["cumulative"].iloc[-1])
    return float(idx.variance_.iloc[-1, -1])


def _summary(study, *, tiers_, gini, comparison, same, migration, top_stay, top_inactive):
    """metrics.json, the summary cards and the finding sentences (one set of numbers)."""
    X, idx = study.features, study.index
    top = _tier_names(study.volume_tiers)[0]
    explained = _variance_explained(idx)
    top_cust = float(tiers_["share of customers"].iloc[0])
    top_rev = float(tiers_["share of revenue"].iloc[0])
    metrics = {
        "customers": int(len(X)),
        "net_revenue": float(X["monetary"].sum()),
        "top_tier": top,
        "top_tier_customer_share": top_cust,
        "top_tier_revenue_share": top_rev,
        "gini_revenue": float(gini),
        "kmo": float(idx.kmo_),
        "bartlett_p": float(idx.bartlett_["p_value"]),
        "n_factors": int(idx.n_factors_),
        "variance_explained": explained,
        "kappa_volume_vs_index": float(comparison.kappa),
        "ari_volume_vs_index": float(comparison.ari),
        "same_tier_share": same,
        "migration_stay_rate": float(migration.stay_rate),
        "top_tier_stay_share": top_stay,
        "top_tier_inactive_share": top_inactive,
    }
    kpis = [
        ("customers analysed", fmt_int(len(X))),
        (f"revenue from tier {top} ({fmt_pct(top_cust, 0)} of customers)", fmt_pct(top_rev)),
        ("Gini of revenue", fmt_num(gini, 2)),
        ("index factors / variance explained", f"{idx.n_factors_} / {fmt_pct(explained, 0)}"),
        ("same tier by volume and by index", fmt_pct(same)),
    ]
    findings = [
        f"Tier {top} — {fmt_pct(top_cust)} of customers — brings {fmt_pct(top_rev)} of calibration "
        f"net revenue; revenue is {'highly ' if gini >= 0.6 else ''}concentrated (Gini {gini:.2f}).",
        f"The classification index keeps {idx.n_factors_} factors ({'; '.join(idx.factor_names_)}) that "
        f"explain {fmt_pct(explained)} of the indicators' variance; sampling adequacy is "
        f"{kmo_label(idx.kmo_)} (KMO {idx.kmo_:.2f}).",
        f"Volume tiers and index tiers put {fmt_pct(same)} of customers in the same tier "
        f"(weighted κ {comparison.kappa:.2f}): {fmt_pct(1 - same)} are valued differently by the index "
        "than by their sales volume.",
        f"Of tier {top}, {fmt_pct(top_stay)} were again in tier {top} in the holdout and "
        f"{fmt_pct(top_inactive)} bought nothing; overall {fmt_pct(migration.stay_rate)} of active "
        "customers stayed in their tier.",
    ]
    return metrics, kpis, findings


def segment_value(study) -> SegmentValue:
    """Everything the segment-value report shows, from library calls on ``study``."""
    from crmresearch import compare

    tiers_, tier_formats = tier_table(study)
    conc = revenue_for_concentration(study)
    gini = compare.gini(conc)
    profiles, means, tests, test_formats = profile_tables(study)
    comparison, crosstab, agreement, same = scheme_agreement(study)
    migration, mig, rates, top_stay, top_inactive = migration_tables(study)
    metrics, kpis, findings = _summary(
        study, tiers_=tiers_, gini=gini, comparison=comparison, same=same, migration=migration,
        top_stay=top_stay, top_inactive=top_inactive,
    )  # fmt: skip
    return SegmentValue(
        metrics=metrics,
        kpis=kpis,
        findings=findings,
        tier_table=tiers_,
        tier_formats=tier_formats,
        lorenz_values={"calibration net revenue": conc},
        profiles=profiles,
        profile_means=means,
        profile_tests=tests,
        test_formats=test_formats,
        comparison=comparison,
        crosstab=crosstab,
        agreement=agreement,
        agreement_formats={},  # already formatted
        migration=migration,
        migration_table=mig,
        migration_rates=rates,
        rate_formats={"value": fmt_pct},
    )


# ---------------------------------------------------------------------------- sections


def show_tiers(study, sv: SegmentValue) -> None:
    """Section 1: customers and revenue per tier, tier sizes, Lorenz curve."""
    from crmresearch import plots

    rule = study.volume_tiers.attrs.get("rule", "")
    D.table(sv.tier_table, caption=f"Volume tiers ({rule})", formats=sv.tier_formats)
    D.show_figure(plots.tier_sizes(study.volume_tiers, study.features["monetary"]))
    D.show_figure(plots.lorenz_curves(sv.lorenz_values))


def show_profiles(sv: SegmentValue) -> None:
    """Section 2: mean indicators per tier and the tests across and between tiers."""
    D.table(sv.profile_means, caption="Mean indicator value per volume tier", default_digits=2)
    D.table(
        sv.profile_tests,
        caption="Kruskal–Wallis test across tiers and pairwise Mann–Whitney tests "
        "(p-values, Holm-adjusted)",
        formats=sv.test_formats,
    )


def _adequacy_table(idx) -> pd.DataFrame:
    b = idx.bartlett_
    values = [
        f"{idx.kmo_:.3f} ({kmo_label(idx.kmo_)})",
        f"χ² = {b['chi2']:,.1f}, df = {int(b['df'])}, p {p_equals(b['p_value'])}",
        f"{idx.n_factors_} ({idx.n_factors})",
        f"{idx.method}, rotation {idx.rotation or 'none'}",
        f"{idx.n_obs_:,}",
    ]
    names = ["KMO", "Bartlett's test of sphericity", "factors retained (rule)", "extraction",
             "customers"]  # fmt: skip
    return pd.DataFrame(
        {"value": values}, index=pd.Index(names, name="sampling adequacy and extraction")
    )


def show_index_structure(study) -> None:
    """Section 3: adequacy, variance table, loadings, composite weights, the index's warnings."""
    idx, lang = study.index, study.language
    D.table(_adequacy_table(idx))
    D.show_warnings(study.index_warnings, title="Index warnings:")
    vt = idx.variance_table()
    keep = vt.iloc[: max(idx.n_factors_ + 2, 4)].copy()
    keep.columns = [f"{a.split(' ')[0].capitalize()}: {b_}" for a, b_ in keep.columns]
    keep.index = [str(i) for i in keep.index]
    keep.index.name = "component"
    D.table(keep, caption="Total variance explained (first components)", default_digits=2)
    lt = idx.loadings_table()
    lt.index = [label(c, lang) for c in lt.index]
    lt.index.name = "indicator"
    lt.columns = [*[f"F{i + 1}" for i in range(lt.shape[1] - 1)], "communality"]
    D.table(
        lt, caption="Rotated loadings (|loading| < 0.30 blank) and communalities", default_digits=2
    )
    weights = pd.DataFrame(
        {
            "factor": list(idx.factor_names_),
            "weight in composite": idx.composite_weights_.to_numpy(),
        },
        index=pd.Index([f"F{i + 1}" for i in range(idx.n_factors_)], name="factor"),
    )
    D.table(
        weights,
        caption="Composite index weights (share of explained variance)",
        formats={"weight in composite": lambda v: fmt_num(v, 3)},
    )
    D.show_figure(idx.plot_scree())
    D.show_figure(idx.plot_loadings())


def show_schemes(sv: SegmentValue) -> None:
    """Section 4: volume tiers × index tiers and how well they agree."""
    from crmresearch import plots

    D.table(sv.crosstab, caption="Customers: volume tier (rows) × index tier (columns)")
    D.table(sv.agreement, caption="Agreement between the schemes", formats=sv.agreement_formats)
    D.show_figure(plots.scheme_crosstab(sv.comparison))


def show_migration(sv: SegmentValue) -> None:
    """Section 5: where the calibration tiers end up in the holdout."""
    from crmresearch import plots

    D.table(
        sv.migration_table,
        caption="Share of each calibration tier (rows) by holdout tier (columns)",
        formats={c: fmt_pct for c in sv.migration_table.columns},
    )
    D.table(sv.migration_rates, caption="Movement between tiers", formats=sv.rate_formats)
    D.show_figure(plots.migration_heatmap(sv.migration))


# ---------------------------------------------------------------------------- index robustness


@dataclass
class IndexRobustness:
    """How much the index depends on chance and on weak indicators (issue 10, item 9)."""

    top_tier: str
    top_share: float
    bootstrap: Any
    refit: Any
    retention_table: pd.DataFrame
    factor_count_table: pd.DataFrame
    weights_table: pd.DataFrame
    msa_table: pd.DataFrame
    refit_table: pd.DataFrame
    imputed_table: pd.DataFrame
    metrics: dict
    findings: list


def _retention_table(idx) -> pd.DataFrame:
    pa = idx.parallel_
    shown = min(len(idx.eigenvalues_), idx.n_factors_ + 2)
    frame = pd.DataFrame({"observed eigenvalue": idx.eigenvalues_.iloc[:shown]})
    if pa is not None and pa.kind == "pc":
        frame["mean of random data"] = pa.simulated_mean.iloc[:shown]
        frame[f"{fmt_pct(pa.quantile, 0)} threshold"] = pa.threshold.iloc[:shown]
    frame["retained"] = ["yes" if i <= idx.n_factors_ else "no" for i in frame.index]
    frame.index = pd.Index([str(i) for i in frame.index], name="component")
    return frame


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _factors(n: int) -> str:
    return f"{n} factor" if n == 1 else f"{n} factors"


def _parallel_sentence(idx) -> str:
    pa = idx.parallel_
    k = idx.n_factors_
    if pa is None:
        return f"The number of factors ({k}) was set by the rule “{idx.n_factors}”, not by parallel analysis."
    kind = "eigenvalues" if pa.kind == "pc" else "reduced-matrix eigenvalues"
    obs, thr = pa.observed.iloc[k - 1], pa.threshold.iloc[k - 1]
    text = (
        f"Parallel analysis with {fmt_int(pa.n_iter)} simulated data sets retains {_factors(k)}: the "
        f"{_ordinal(k)} {kind[:-1]} ({fmt_num(obs, 3)}) exceeds the {fmt_pct(pa.quantile, 0)} quantile of random data "
        f"({fmt_num(thr, 3)}) by {fmt_num(obs - thr, 3)}"
    )
    if k < len(pa.observed):
        nxt, nthr = pa.observed.iloc[k], pa.threshold.iloc[k]
        text += f"; the next one ({fmt_num(nxt, 3)}) stays below its threshold ({fmt_num(nthr, 3)})"
    return text + "."


def _weights_table(boot, idx, lang) -> pd.DataFrame:
    w = boot.indicator_weights_ci.copy()
    w.index = [label(c, lang) for c in w.index]
    w.index.name = "indicator"
    return w[["estimate", "ci_low", "ci_high"]].rename(
        columns={
            "estimate": "weight in composite",
            "ci_low": "95% CI low",
            "ci_high": "95% CI high",
        }
    )


def _refit_table(idx, refit, top) -> pd.DataFrame:
    rows = {"indicators": [fmt_int(len(idx.columns_))], "factors": [str(idx.n_factors_)],
            "KMO": [fmt_num(idx.kmo_, 3)]}  # fmt: skip
    columns = ["all indicators"]
    if refit.reduced is not None:
        red = refit.reduced
        rows["indicators"].append(fmt_int(len(red.columns_)))
        rows["factors"].append(str(red.n_factors_))
        rows["KMO"].append(fmt_num(red.kmo_, 3))
        columns.append("without MSA < 0.5")
    frame = pd.DataFrame(rows, index=columns).T
    frame.index.name = "index"
    if refit.reduced is not None:
        frame.loc[f"tier {top} members that change"] = [
            "–",
            f"{fmt_int(refit.n_changed)} of {fmt_int(refit.n_top)} ({fmt_pct(refit.changed_share)})",
        ]
        frame.loc["rank correlation with the full index"] = [
            "1",
            fmt_num(refit.rank_correlation, 3),
        ]
    return frame


def _robustness_findings(idx, boot, refit, imputed, fills, top) -> list:
    lo, hi = boot.interval(boot.top_tier_changed)
    dist = boot.n_factors_distribution
    found = [
        _parallel_sentence(idx),
        f"In {fmt_int(boot.n_boot)} bootstrap resamples of the customers the same rule retains "
        f"{_factors(idx.n_factors_)} in {fmt_pct(boot.n_factors_stability)} of resamples"
        + (
            ""
            if len(dist) == 1
            else f" (otherwise {', '.join(f'{k}: {fmt_pct(v)}' for k, v in dist.items() if k != idx.n_factors_)})"
        )
        + f"; per resample {fmt_pct(boot.top_tier_changed.mean())} of customers change their tier-{top} "
        f"membership (95 % interval {fmt_pct(lo)} to {fmt_pct(hi)}) and "
        f"{fmt_pct(boot.top_tier_retained.mean())} of tier {top} stays in it.",
    ]
    if refit.reduced is None:
        found.append("No indicator has a measure of sampling adequacy (MSA) below 0.5.")
    else:
        low = ", ".join(f"{label(c)} (MSA {fmt_num(v, 2)})" for c, v in refit.dropped.items())
        found.append(
            f"Indicators with MSA below 0.5: {low}. Refitted without them, the index keeps "
            f"{_factors(refit.reduced.n_factors_)} and {fmt_int(refit.n_changed)} of the "
            f"{fmt_int(refit.n_top)} tier-{top} customers ({fmt_pct(refit.changed_share)}) change."
        )
    for c, share in imputed[imputed > 0].items():
        fill = fills.get(c)
        value = "" if fill is None else f" with the value {fmt_num(fill, 2)}"
        found.append(
            f"{label(c)} is undefined and imputed{value} for {fmt_pct(share)} of customers."
        )
    return found


def index_robustness(study, *, n_boot: int = 200) -> IndexRobustness:
    """Parallel analysis, bootstrap stability and the low-MSA refit of the study's index."""
    from sklearn.base import clone

    from crmresearch.features import load_config
    from crmresearch.index import refit_without_low_msa

    idx, lang, top = study.index, study.language, study.top_tier
    top_share = float((study.index_tiers == top).mean())
    boot = idx.bootstrap(
        study.index_input, n_boot=n_boot, seed=study.params.seed, top_share=top_share
    )
    config = load_config(study.params.index_config)
    refit = refit_without_low_msa(study.features, config, index=clone(idx), top_share=top_share)
    imputed = idx.imputed_share_.fillna(0.0)
    msa = pd.DataFrame({"MSA": idx.msa_, "below 0.5": np.where(idx.msa_ < 0.5, "yes", "")})
    msa.index = [label(c, lang) for c in msa.index]
    msa.index.name = "indicator"
    imp = pd.DataFrame({"share of customers imputed": imputed[imputed > 0]})
    imp["fill value"] = [config.fill.get(c, np.nan) for c in imp.index]
    imp.index = [label(c, lang) for c in imp.index]
    imp.index.name = "indicator"
    counts = boot.n_factors_distribution.rename("share of resamples").to_frame()
    counts.index = [str(i) for i in counts.index]
    counts.index.name = "factors retained"
    lo, hi = boot.interval(boot.top_tier_changed)
    metrics = {
        "index_robustness": {
            "parallel_iter": None if idx.parallel_ is None else int(idx.parallel_.n_iter),
            "bootstrap_n": int(boot.n_boot),
            "n_factors_stability": boot.n_factors_stability,
            "top_tier_share": top_share,
            "top_tier_changed_mean": float(boot.top_tier_changed.mean()),
            "top_tier_changed_ci": [lo, hi],
            "top_tier_retained_mean": float(boot.top_tier_retained.mean()),
            "low_msa": {c: float(v) for c, v in refit.dropped.items()},
            "low_msa_refit_n_factors": None
            if refit.reduced is None
            else int(refit.reduced.n_factors_),
            "low_msa_refit_top_changed": int(refit.n_changed),
            "low_msa_refit_top_size": int(refit.n_top),
            "imputed_share": {c: float(v) for c, v in imputed.items() if v > 0},
        }
    }
    return IndexRobustness(
        top_tier=top,
        top_share=top_share,
        bootstrap=boot,
        refit=refit,
        retention_table=_retention_table(idx),
        factor_count_table=counts,
        weights_table=_weights_table(boot, idx, lang),
        msa_table=msa,
        refit_table=_refit_table(idx, refit, top),
        imputed_table=imp,
        metrics=metrics,
        findings=_robustness_findings(idx, boot, refit, imputed, config.fill, top),
    )


def show_index_robustness(rb: IndexRobustness) -> None:
    """Section 3.1: parallel analysis, bootstrap stability, low-MSA refit, imputed shares."""
    D.record("metrics", rb.metrics)
    for sentence in rb.findings:
        D.note(sentence, kind="info")
    D.table(rb.retention_table, caption="Parallel analysis: observed eigenvalues against random data",
            default_digits=3)  # fmt: skip
    D.table(rb.factor_count_table, caption="Factors the retention rule keeps in bootstrap resamples",
            formats={"share of resamples": fmt_pct})  # fmt: skip
    D.table(rb.weights_table, caption="Weight of each standardized indicator in the composite, "
            f"with bootstrap 95 % intervals ({fmt_int(rb.bootstrap.n_boot)} resamples)", default_digits=3)  # fmt: skip
    D.table(rb.msa_table, caption="Measure of sampling adequacy per indicator",
            formats={"MSA": lambda v: fmt_num(v, 2)})  # fmt: skip
    D.table(rb.refit_table, caption="The index with and without indicators of MSA < 0.5")
    if len(rb.imputed_table):
        D.table(rb.imputed_table, caption="Indicators imputed before fitting",
                formats={"share of customers imputed": fmt_pct, "fill value": lambda v: fmt_num(v, 2)})  # fmt: skip
