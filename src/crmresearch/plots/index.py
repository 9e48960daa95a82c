"""Figures for the classification index: scree with parallel analysis, loadings, composite."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from crmresearch.plots.style import TIER_COLORS, new_figure

__all__ = ["scree", "loadings_heatmap", "composite_distribution"]


def scree(index, *, n_iter: int | None = None, seed: int | None = None):
    """Scree plot: eigenvalues, Kaiser line (1) and the parallel-analysis threshold.

    Uses the fitted ``parallel_`` result when the index retained factors by parallel analysis,
    otherwise runs :func:`crmresearch.index.parallel_analysis` on the fitted correlation matrix
    (PC eigenvalues; the index's seed unless ``seed`` is given).
    """
    from crmresearch.index import parallel_analysis

    pa = index.parallel_
    if pa is None or pa.kind != "pc":
        pa = parallel_analysis(
            index.correlation_,
            index.n_obs_,
            kind="pc",
            n_iter=n_iter or index.parallel_iter,
            seed=index.seed if seed is None else seed,
        )
    eig = index.eigenvalues_
    x = np.arange(1, len(eig) + 1)
    fig, ax = new_figure()
    ax.plot(x, eig.to_numpy(), "o-", color=TIER_COLORS[0], label="observed eigenvalues")
    ax.plot(
        x,
        pa.threshold.to_numpy(),
        "--",
        color="#c0392b",
        label=f"parallel analysis ({pa.quantile:.0%} of {pa.n_iter} random sets)",
    )
    ax.axhline(1.0, color="#7f8c8d", lw=0.8, ls=":", label="Kaiser criterion (1)")
    ax.axvline(index.n_factors_ + 0.5, color="#aab7b8", lw=0.8)
    ax.set_xticks(x)
    ax.set_xlabel("component (number)")
    ax.set_ylabel("eigenvalue (variance, indicators)")
    ax.set_title(f"Scree plot: {index.n_factors_} factor(s) retained")
    ax.legend(frameon=False)
    return fig


def loadings_heatmap(index, *, sort: bool = True, labels: bool = True):
    """Heatmap of the (pattern) loadings, items grouped by their main factor, values annotated."""
    table = index.loadings_table(sort=sort, blank=None).drop(columns="h2")
    names = [index.labels_.get(c, c) for c in table.index] if labels else list(table.index)
    k = table.shape[1]
    # Factor names are long ("Active months / Recency (reversed)"): wrap them under each column
    # so that neighbouring labels never overlap.
    wrapped = ["\n".join(textwrap.wrap(str(n), width=18)) for n in index.factor_names_]
    n_lines = max((w.count("\n") + 1 for w in wrapped), default=1)
    fig, ax = new_figure(
        width=max(4.5, 1.5 * k + 3.5), height=max(3.0, 0.35 * len(table) + 1.2 + 0.12 * n_lines)
    )
    im = ax.imshow(table.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
    for (i, j), v in np.ndenumerate(table.to_numpy()):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8,
                color="white" if abs(v) > 0.6 else "black")  # fmt: skip
    ax.set_yticks(range(len(table)), names)
    xlabels = [f"{f}\n{n}" for f, n in zip(table.columns, wrapped, strict=True)]
    ax.set_xticks(range(k), xlabels, fontsize=7)
    ax.set_xlabel("factor")
    ax.set_ylabel("indicator")
    rot = index.rotation or "unrotated"
    ax.set_title(f"Factor loadings ({index.method}, {rot})")
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
