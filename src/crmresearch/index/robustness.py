"""Does the index depend on indicators that do not belong in it? Refit without the indicators
whose measure of sampling adequacy is below 0.5 and count who changes tier."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone

from crmresearch._format import fmt_int, fmt_num, fmt_pct
from crmresearch.features import IndexConfig, apply_config, load_config
from crmresearch.index._common import MSA_CUT
from crmresearch.index.estimator import ClassificationIndex

__all__ = ["LowMsaRefit", "refit_without_low_msa"]


@dataclass
class LowMsaRefit:
    """The index with all indicators beside the index refitted without those with MSA < cut.

    Attributes
    ----------
    dropped : Series
        The dropped indicators and their MSA in the full fit (lowest first); empty when none.
    full, reduced : ClassificationIndex
        The fitted indexes; ``reduced`` is ``None`` when nothing was dropped.
    composite_full, composite_reduced : Series
        Composite per customer (``reduced``: ``None`` when nothing was dropped).
    top_share : float
        The top tier is the top ``top_share`` of customers by composite (``n_top`` customers).
    n_top, n_changed : int
        Top-tier size and how many of its members are not in the reduced index's top tier
        (the same number of customers enter it: both tiers have ``n_top`` members).
    changed_share : float
        ``n_changed / n_top``.
    rank_correlation : float
        Spearman correlation of the two composites (NaN when nothing was dropped).
    cut : float
    """

    dropped: pd.Series
    full: ClassificationIndex
    reduced: ClassificationIndex | None
    composite_full: pd.Series
    composite_reduced: pd.Series | None
    top_share: float
    n_top: int
    n_changed: int
    changed_share: float
    rank_correlation: float
    cut: float

    def summary(self) -> str:
        head = f"Refit without indicators with MSA < {fmt_num(self.cut, 2)}"
        if self.reduced is None:
            return f"{head}: none is below the cut; nothing to refit."
        dropped = ", ".join(f"{c} (MSA {fmt_num(v, 2)})" for c, v in self.dropped.items())
        return "\n".join(
            [
                head,
                f"  dropped: {dropped}",
                f"  factors: {self.full.n_factors_} with all {len(self.full.columns_)} "
                f"indicators, {self.reduced.n_factors_} with {len(self.reduced.columns_)}",
                f"  KMO: {fmt_num(self.full.kmo_, 3)} → {fmt_num(self.reduced.kmo_, 3)}",
                f"  top tier (top {fmt_pct(self.top_share, 0)}, {fmt_int(self.n_top)} customers): "
                f"{fmt_int(self.n_changed)} members change ({fmt_pct(self.changed_share)})",
                f"  rank correlation of the two composites: {fmt_num(self.rank_correlation, 3)}",
            ]
        )


def _top(values: pd.Series, n_top: int) -> pd.Index:
    order = np.argsort(-values.to_numpy(), kind="stable")
    return values.index[order[:n_top]]


def refit_without_low_msa(
    features: pd.DataFrame,
    config: IndexConfig | str = "ecommerce",
    *,
    index: ClassificationIndex | None = None,
    top_share: float = 0.2,
    cut: float = MSA_CUT,
) -> LowMsaRefit:
    """Fit the index on the index system ``config``, then again without every indicator whose
    measure of sampling adequacy (``msa_``) is below ``cut``; compare their top tiers.

    Parameters
    ----------
    features : DataFrame
        Customer indicators (``crmresearch.features.customer_features``); the index system's
        fill values and log transforms are applied here (``apply_config``).
    config : IndexConfig or name of a bundled system
    index : ClassificationIndex, optional
        The (unfitted) settings to use for both fits (cloned; default ``ClassificationIndex()``).
    top_share : float
        The top tier compared is the top ``top_share`` of customers by composite
        (``n_top = round(top_share · n)``; ties broken by order).
    cut : float
        Kaiser's (1974) lower bound 0.5 for an acceptable MSA by default.

    Returns
    -------
    LowMsaRefit
        ``n_changed`` of the ``n_top`` top-tier members of the full index are outside the
        reduced index's top tier.

    Notes
    -----
    Each indicator's MSA is ``Σ_{i≠j} r_ij² / (Σ_{i≠j} r_ij² + Σ_{i≠j} p_ij²)`` with ``p`` the
    partial correlations (:func:`crmresearch.index.kmo`); R: ``psych::KMO(R)$MSAi``. The
    number of factors is re-chosen by ``index.n_factors`` on the reduced set.
    """
    if not 0 < top_share < 1:
        raise ValueError(f"top_share must be in (0, 1), got {top_share!r}")
    if not isinstance(config, IndexConfig):
        config = load_config(config)
    template = ClassificationIndex() if index is None else index
    X = apply_config(features, config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = clone(template).fit(X)
        composite_full = full.composite(X)
    dropped = full.msa_[full.msa_ < cut].sort_values(kind="stable")
    n_top = int(round(top_share * len(X)))
    if dropped.empty:
        return LowMsaRefit(
            dropped, full, None, composite_full, None, top_share, n_top, 0, 0.0, np.nan, cut
        )
    keep = [c for c in X.columns if c not in dropped.index]
    if len(keep) < 3:
        raise ValueError(
            f"dropping {list(dropped.index)} (MSA < {cut}) leaves {len(keep)} indicator(s); a "
            "factor analysis needs at least 3"
        )
    reduced_X = X[keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reduced = clone(template).fit(reduced_X)
        composite_reduced = reduced.composite(reduced_X)
    before = _top(composite_full, n_top)
    after = _top(composite_reduced, n_top)
    n_changed = int(len(before.difference(after)))
    rho = float(stats.spearmanr(composite_full, composite_reduced)[0])
    return LowMsaRefit(
        dropped=dropped,
        full=full,
        reduced=reduced,
        composite_full=composite_full,
        composite_reduced=composite_reduced,
        top_share=top_share,
        n_top=n_top,
        n_changed=n_changed,
        changed_share=n_changed / n_top if n_top else 0.0,
        rank_correlation=rho,
        cut=cut,
    )
