"""Names for factors, from their salient indicators; the single-indicator factor diagnostic."""

from __future__ import annotations

import pandas as pd

from crmresearch.index._common import SALIENT_LOADING

__all__ = ["name_factors", "single_indicator_factors"]


def indicator_label(column: str, labels: dict, directions: dict) -> str:
    label = labels.get(column, column)
    return f"{label} (reversed)" if directions.get(column, 1) < 0 else label


def name_factors(pattern: pd.DataFrame, labels: dict, directions: dict) -> list[str]:
    """Name each factor after its salient indicators (pattern loading ≥ SALIENT_LOADING).

    Rule: the indicators whose loading on the factor is ≥ 0.40 *and* whose main (largest
    |loading|) factor is this one, highest first, at most two; if no indicator has its main
    loading here, the (at most two) highest with loading ≥ 0.40; if none reaches 0.40, the
    single highest-loading indicator. So a cross-loading that belongs to another factor
    (e.g. 0.25 here, 0.42 there) never names this factor.
    """
    main = pattern.abs().idxmax(axis=1)  # each indicator's main factor
    names = []
    for f in pattern.columns:
        col = pattern[f].sort_values(ascending=False, kind="stable")
        salient = col[col >= SALIENT_LOADING]
        own = [c for c in salient.index if main[c] == f]
        top = own[:2] or list(salient.index[:2]) or [col.index[0]]
        names.append(" / ".join(indicator_label(c, labels, directions) for c in top))
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out


def single_indicator_factors(pattern: pd.DataFrame, factor_names: list[str]) -> list[str]:
    """Warnings for factors on which only one indicator loads saliently.

    Such a factor is that indicator (plus noise), not a common factor: it carries weight in
    the composite without any shared variance.
    """
    if pattern.shape[1] < 2:
        return []
    out = []
    for f, name in zip(pattern.columns, factor_names, strict=True):
        col = pattern[f]
        salient = col[col.abs() >= SALIENT_LOADING]
        if len(salient) == 1:
            c = salient.index[0]
            out.append(
                f"factor {f} ({name}) is defined by a single indicator: {c} (loading "
                f"{salient.iloc[0]:.2f}; no other |loading| ≥ {SALIENT_LOADING:.2f}); it is "
                "not a common factor — retain fewer factors or add indicators that measure "
                "the same construct"
            )
    return out
