"""Figures for tiers, comparison and loss: they draw the numbers of the result objects."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from crmresearch import compare as C  # noqa: E402
from crmresearch import loss as L  # noqa: E402
from crmresearch import plots  # noqa: E402
from crmresearch import tiers as T  # noqa: E402


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(4)
    n = 300
    idx = pd.Index([f"c{i}" for i in range(n)])
    rev = pd.Series(rng.gamma(1, 100, n), index=idx, name="monetary")
    ind = pd.Series(np.log1p(rev.to_numpy()) + rng.normal(0, 1, n), index=idx, name="index")
    out = pd.DataFrame({"churned": rng.random(n) < 0.3, "revenue": rev.to_numpy() * 0.8},
                       index=idx)  # fmt: skip
    return rev, ind, out


def _check(fig):
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    return ax


def test_all_figures_exported_and_labelled(data):
    rev, ind, out = data
    for name in ("scheme_crosstab", "lorenz_curves", "migration_heatmap", "gain_curves",
                 "tier_sizes", "churn_by_group", "revenue_lost"):  # fmt: skip
        assert name in plots.__all__
    a, b = T.abc(rev), T.abc(ind)
    cmp = C.compare_schemes(a, b, value=rev)
    ax = _check(cmp.plot_crosstab())
    # the heatmap shows the row shares; annotations carry the counts
    assert np.allclose(ax.images[0].get_array(), cmp.row_shares.to_numpy())
    assert str(cmp.counts.iloc[2, 2]) in [t.get_text().split("\n")[0] for t in ax.texts]
    _check(plots.scheme_crosstab(cmp, shares="value"))
    ax = _check(plots.lorenz_curves({"revenue": rev, "index": ind - ind.min()}))
    assert f"{C.gini(rev):.3f}" in ax.get_legend().get_texts()[1].get_text()
    ax = _check(C.migration_matrix(a, b).plot_heatmap())
    pv = C.predictive_validity({"abc": a, "index": b}, out, n_boot=50)
    ax = _check(pv.plot_gain())
    line = ax.lines[1]
    assert np.allclose(line.get_ydata(), pv.gain["abc"]["value_share"] * 100)
    _check(plots.tier_sizes(a, rev))
    res = L.potential_core_loss(ind, a, out, revenue_before=rev)
    ax = _check(res.plot_churn())
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx(list(res.groups["churn_rate"] * 100))
    ax = _check(res.plot_revenue())
    assert [p.get_height() for p in ax.patches[: len(res.groups)]] == pytest.approx(
        list(res.groups["revenue_before"])
    )
    import matplotlib.pyplot as plt

    plt.close("all")
