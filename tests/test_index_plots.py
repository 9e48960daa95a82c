"""Figures of the classification index: content, not just that they render."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from crmresearch import plots
from crmresearch.index import ClassificationIndex

matplotlib.use("Agg")


def _fitted():
    rng = np.random.default_rng(3)
    f = rng.standard_normal((500, 2))
    L = np.array([[0.9, 0], [0.8, 0.1], [0.7, 0], [0, 0.8], [0.1, 0.7], [0, 0.6]])
    X = pd.DataFrame(f @ L.T + 0.5 * rng.standard_normal((500, 6)), columns=list("abcdef"))
    return ClassificationIndex("parallel", varimax="max").fit(X), X


def test_scree_has_eigenvalues_parallel_line_and_title():
    idx, _ = _fitted()
    fig = idx.plot_scree()
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    observed = lines["observed eigenvalues"].get_ydata()
    np.testing.assert_allclose(observed, idx.eigenvalues_)
    parallel = next(v for k, v in lines.items() if k.startswith("parallel analysis"))
    np.testing.assert_allclose(parallel.get_ydata(), idx.parallel_.threshold)
    # retained factors are exactly those above the parallel line
    assert (observed > parallel.get_ydata()).sum() == idx.n_factors_ == 2
    assert ax.get_title() and "eigenvalue" in ax.get_ylabel()


def test_loadings_heatmap_shows_sorted_loadings():
    idx, _ = _fitted()
    fig = idx.plot_loadings()
    ax = fig.axes[0]
    data = ax.images[0].get_array()
    table = idx.loadings_table(blank=None).drop(columns="h2")
    np.testing.assert_allclose(np.asarray(data), table.to_numpy())
    assert [t.get_text() for t in ax.get_yticklabels()] == list(table.index)


def test_composite_distribution_counts_every_customer():
    idx, X = _fitted()
    c = idx.composite(X)
    fig = plots.composite_distribution(c)
    ax = fig.axes[0]
    assert sum(p.get_height() for p in ax.patches) == len(c)
    cuts = [line.get_xdata()[0] for line in ax.get_lines()]
    np.testing.assert_allclose(sorted(cuts), c.quantile([0.2, 0.4, 0.6, 0.8]))
    assert "customers" in ax.get_ylabel()
