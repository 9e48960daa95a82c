"""Figures for the classification index: scree with parallel analysis, loadings, composite.

Plain data in (arrays, DataFrames, numbers), a matplotlib ``Figure`` out; the index computes
what to draw (``ClassificationIndex.plot_scree`` / ``plot_loadings``) and calls these.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from crmresearch.plots.style import TIER_COLORS, new_figure

__all__ = ["scree", "loadings_heatmap", "composite_distribution"]


def scree(eigenvalues, threshold, *, n_retained: int, quantile: float = 0.95, n_iter: int):
    """Scree plot: eigenvalues, Kaiser line (1) and the parallel-analysis threshold.

    Parameters
    ----------
    eigenvalues : array-like, observed eigenvalues in decreasing order.
    threshold : array-like, the parallel-analysis threshold per component (same length).
    n_retained : number of factors retained (a vertical line after it).
    quantile, n_iter : of the parallel analysis, for the legend.
    """
    eig = np.asarray(eigenvalues, dtype=float)
    threshold = np.asarray(threshold, dtype=float)
    x = np.arange(1, len(eig) + 1)
    fig, ax = new_figure()
    ax.plot(x, eig, "o-", color=TIER_COLORS[0], label="observed eigenvalues")
    ax.plot(
        x,
        threshold,
        "--",
        color="#c0392b",
        label=f"parallel analysis ({quantile:.0%} of {n_iter} random sets)",
    )
    ax.axhline(1.0, color="#7f8c8d", lw=0.8, ls=":", label="Kaiser criterion (1)")
    ax.axvline(n_retained + 0.5, color="#aab7b8", lw=0.8)
    ax.set_xticks(x)
    ax.set_xlabel("component (number)")
    ax.set_ylabel("eigenvalue (variance, indicators)")
    ax.set_title(f"Scree plot: {n_retained} factor(s) retained")
    ax.legend(frameon=False)
    return fig


def loadings_heatmap(table: pd.DataFrame, *, factor_names=None, title: str = "Factor loadings"):
    """Heatmap of a loadings table (rows = indicators as they should be labelled, columns =
    factors), values annotated; ``factor_names`` are written under the factor columns."""
    k = table.shape[1]
    # Factor names are long ("Active months / Recency (reversed)"): wrap them under each column
    # so that neighbouring labels never overlap.
    names = list(factor_names) if factor_names is not None else [""] * k
    wrapped = ["\n".join(textwrap.wrap(str(n), width=18)) for n in names]
    n_lines = max((w.count("\n") + 1 for w in wrapped), default=1)
    fig, ax = new_figure(
        width=max(4.5, 1.5 * k + 3.5), height=max(3.0, 0.35 * len(table) + 1.2 + 0.12 * n_lines)
    )
    values = table.to_numpy(dtype=float)
    im = ax.imshow(values, cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8,
                color="white" if abs(v) > 0.6 else "black")  # fmt: skip
    ax.set_yticks(range(len(table)), [str(c) for c in table.index])
    xlabels = [f"{f}\n{n}" if n else str(f) for f, n in zip(table.columns, wrapped, strict=True)]
    ax.set_xticks(range(k), xlabels, fontsize=7)
    ax.set_xlabel("factor")
    ax.set_ylabel("indicator")
    ax.set_title(title)
    fig.colorbar(im, ax=ax, label="loading (correlation units)")
    return fig


def composite_distribution(values, *, bins: int = 50, quintiles: bool = True):
    """Histogram of composite index values (a Series from ``ClassificationIndex.composite``)."""
    values = pd.Series(values).dropna()
    fig, ax = new_figure()
    ax.hist(values.to_numpy(), bins=bins, color=TIER_COLORS[1], edgecolor="white", lw=0.3)
    if quintiles and len(values) >= 5:
        for q in values.quantile([0.2, 0.4, 0.6, 0.8]):
            ax.axvline(q, color="#c0392b", lw=0.8, ls="--")
    ax.set_xlabel("composite index (score units; higher = more valuable)")
    ax.set_ylabel("customers (count)")
    title = f"Composite index distribution (n = {len(values):,})"
    ax.set_title(title + (", dashed: quintile cut-offs" if quintiles else ""))
    return fig
