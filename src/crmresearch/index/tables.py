"""Tables and the text summary of a fitted :class:`~crmresearch.index.ClassificationIndex`.

Functions of a fitted index (the estimator's ``variance_table``, ``loadings_table`` and
``summary`` methods call them); numbers are printed with :mod:`crmresearch._format`.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from crmresearch._format import fmt_int, fmt_num, fmt_pct, kmo_label, p_text
from crmresearch.index._common import OBLIQUE
from crmresearch.index.retention import retention_text

__all__ = ["variance_table", "loadings_table", "summary_text"]


def variance_table(idx) -> pd.DataFrame:
    """SPSS "Total Variance Explained": initial eigenvalues; extraction and rotation SS loadings.

    Each block has Total, % of Variance, Cumulative %. For an oblique rotation the rotation
    totals are ``diag(Φ LᵀL)`` (psych) and do not add up to the extraction total.
    """
    p = len(idx.columns_)
    k = idx.n_factors_
    eig = idx.eigenvalues_.to_numpy()

    def block(values, length):
        full = np.full(p, np.nan)
        full[:length] = values
        pct = full / p * 100
        return full, pct, np.where(np.isnan(full), np.nan, np.nancumsum(pct))

    blocks = {
        "Initial eigenvalues": block(eig, p),
        "Extraction sums of squared loadings": block(idx.initial_ss_, k),
        "Rotation sums of squared loadings": block(idx.variance_["ss_loadings"].to_numpy(), k),
    }
    if idx.rotation_ is None:
        del blocks["Rotation sums of squared loadings"]
    cols = {}
    for name, (tot, pct, cum) in blocks.items():
        cols[(name, "Total")] = tot
        cols[(name, "% of Variance")] = pct
        cols[(name, "Cumulative %")] = cum
    table = pd.DataFrame(cols, index=pd.RangeIndex(1, p + 1, name="Component"))
    table.columns = pd.MultiIndex.from_tuples(table.columns)
    return table


def loadings_table(idx, sort: bool = True, blank: float | None = 0.3) -> pd.DataFrame:
    """Pattern loadings with communalities; items grouped by their main factor (psych fa.sort).

    Loadings with ``|λ| < blank`` are shown as NaN (blank) for reading.
    """
    table = idx.loadings_.copy()
    if sort:
        main = table.abs().to_numpy().argmax(1)
        key = pd.DataFrame(
            {"main": main, "size": -table.abs().to_numpy().max(1)}, index=table.index
        )
        table = table.loc[key.sort_values(["main", "size"]).index]
    if blank:
        table = table.where(table.abs() >= blank)
    table["h2"] = idx.communalities_.loc[table.index]
    return table


def _short_variance_table(table: pd.DataFrame) -> str:
    short = {
        "Initial eigenvalues": "Initial",
        "Extraction sums of squared loadings": "Extraction SS",
        "Rotation sums of squared loadings": "Rotation SS",
    }
    sub = {"Total": "Total", "% of Variance": "% var", "Cumulative %": "cum %"}
    t = table.copy()
    t.columns = pd.MultiIndex.from_tuples([(short[a], sub[b]) for a, b in t.columns])
    return t.round(3).to_string(na_rep="")


def _wrap(text: str, indent: str = "  ", subsequent: str = "    ") -> str:
    return textwrap.fill(text, width=96, initial_indent=indent, subsequent_indent=subsequent)


def _header(idx) -> list[str]:
    rot = idx.rotation_ or "none"
    lines = [
        "Customer classification index",
        "=" * 30,
        f"Indicators: {len(idx.columns_)}   customers: {fmt_int(idx.n_obs_)}"
        + (f"   excluded (missing): {fmt_int(idx.n_excluded_)}" if idx.n_excluded_ else ""),
        f"Method: {idx.method}   rotation: {rot}   scores: {idx.score_method}   "
        f"weights: {idx.weights}",
    ]
    reversed_ = [c for c, d in idx.directions_.items() if d < 0]
    if reversed_:
        lines.append(textwrap.fill(f"Reversed (cost) indicators: {', '.join(reversed_)}", 96))
    if idx.log_columns_:
        lines.append(textwrap.fill(f"Log-transformed: {', '.join(idx.log_columns_)}", 96))
    imputed = getattr(idx, "imputed_share_", None)
    if imputed is not None and (imputed > 0).any():
        shares = ", ".join(f"{c} {fmt_pct(v)}" for c, v in imputed[imputed > 0].items())
        lines.append(textwrap.fill(f"Imputed before fitting (share of customers): {shares}", 96))
    return lines


def _adequacy(idx) -> list[str]:
    b = idx.bartlett_
    return [
        "Sampling adequacy",
        f"  KMO = {idx.kmo_:.3f} ({kmo_label(idx.kmo_)})",
        f"  Bartlett's test of sphericity: chi2 = {fmt_num(b['chi2'], 1)}, df = {b['df']}, "
        f"{p_text(b['p_value'])}",
        f"  Determinant of R = {idx.determinant_:.3g}",
        _wrap("MSA per indicator: " + ", ".join(f"{c} {v:.2f}" for c, v in idx.msa_.items())),
    ]


def summary_text(idx) -> str:
    """Readable report: adequacy, retention, variance, loadings, weights, warnings."""
    lines = _header(idx) + [""] + _adequacy(idx)
    lines += [
        "",
        f"Factors retained: {idx.n_factors_} ({retention_text(idx.n_factors, idx.parallel_)})",
        "",
        "Total variance explained",
        _short_variance_table(variance_table(idx)),
        "",
        "Loadings (pattern; |loading| < 0.30 blank)",
        loadings_table(idx).round(3).to_string(na_rep=""),
    ]
    if idx.rotation_ in OBLIQUE:
        lines += ["", "Factor correlations (Phi)", idx.phi_.round(3).to_string()]
    weights = pd.DataFrame({"name": idx.factor_names_, "weight": idx.composite_weights_.round(4)})
    lines += [
        "",
        "Composite index: C = "
        + " + ".join(f"{w:.3f}·{f}" for f, w in idx.composite_weights_.items()),
        weights.to_string(),
    ]
    if getattr(idx, "composite_sign_rule_", None):
        lines.append(f"Sign: {idx.composite_sign_rule_}.")
    lines += ["", "Warnings: " + ("none" if not idx.warnings_ else "")]
    lines += [_wrap(w, "  - ") for w in idx.warnings_]
    return "\n".join(lines)
