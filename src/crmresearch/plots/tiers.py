"""Figures for tiers and scheme comparison: crosstab heatmap, Lorenz curves, migration, gains."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from crmresearch._stats import gini_coefficient, lorenz_points
from crmresearch.plots.style import TIER_COLORS, new_figure

__all__ = ["scheme_crosstab", "lorenz_curves", "migration_heatmap", "gain_curves", "tier_sizes"]


def _heatmap(ax, table: pd.DataFrame, annot: pd.DataFrame, cmap: str = "Blues", vmax=None):
    data = table.to_numpy(dtype=float)
    im = ax.imshow(np.nan_to_num(data), cmap=cmap, vmin=0, vmax=vmax, aspect="auto")
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns], rotation=30, ha="right")
    ax.set_yticks(range(table.shape[0]), [str(r) for r in table.index])
    finite = data[np.isfinite(data)]
    thresh = (finite.max() if finite.size else 0) * 0.6
    for i in range(table.shape[0]):
        for j in range(table.shape[1]):
            v = data[i, j]
            ax.text(
                j, i, annot.iat[i, j], ha="center", va="center", fontsize=8,
                color="white" if np.isfinite(v) and v > thresh else "black",
            )  # fmt: skip
    return im


def _tier_axis(name) -> str:
    """Axis label of a tier scheme: "index tier" stays, "volume" becomes "volume (tier)"."""
    name = str(name)
    return name if name.rstrip().endswith("tier") else f"{name} (tier)"


def _num(x, digits: int = 2) -> str:
    """A number for a title, minus sign U+2212."""
    return f"{x:.{digits}f}".replace("-", "\u2212")


def scheme_crosstab(
    counts,
    share_table: pd.DataFrame | str | None = None,
    *,
    shares: str = "row",
    kappa: float = float("nan"),
    ari: float = float("nan"),
    ax=None,
):
    """Heatmap of a scheme crosstab: colour = a share per cell, annotation = count and percent.

    Parameters
    ----------
    counts : DataFrame
        Customers per cell, scheme a tiers as rows (``index.name`` = scheme a), scheme b as
        columns (``columns.name`` = scheme b).
    share_table : DataFrame
        The share drawn per cell: row shares (``shares="row"``), column shares (``"col"``) or
        value shares (``"value"``).
    kappa, ari : float
        Agreement statistics for the title.

    A :class:`~crmresearch.compare.SchemeComparison` passed as ``counts`` (older call style) is
    drawn by its own ``plot_crosstab(shares=...)``, which passes the plain tables here.
    """
    if hasattr(counts, "plot_crosstab"):
        return counts.plot_crosstab(shares=shares, ax=ax)
    if shares not in ("row", "col", "value"):
        raise ValueError("shares must be 'row', 'col' or 'value'")
    if share_table is None:
        raise ValueError("scheme_crosstab: give the share table to colour the cells by")
    table = share_table
    if ax is None:
        k = max(table.shape)
        fig, ax = new_figure(width=min(2.5 + 0.8 * table.shape[1], 10), height=min(2 + 0.5 * k, 8))
    else:
        fig = ax.figure
    annot = pd.DataFrame(
        [[f"{int(c):,}\n{s * 100:.0f}%" if np.isfinite(s) else f"{int(c):,}"
          for c, s in zip(crow, srow, strict=True)]
         for crow, srow in zip(counts.to_numpy(), table.to_numpy(), strict=True)]
    )  # fmt: skip
    im = _heatmap(ax, table, annot, vmax=1.0 if shares != "value" else None)
    label = {
        "row": "share of row (0-1)",
        "col": "share of column (0-1)",
        "value": "share of total value (0-1)",
    }
    fig.colorbar(im, ax=ax, label=label[shares])
    name_a, name_b = counts.index.name or "a", counts.columns.name or "b"
    ax.set_xlabel(_tier_axis(name_b))
    ax.set_ylabel(_tier_axis(name_a))
    n = int(np.asarray(counts).sum())
    ax.set_title(f"{name_a} vs {name_b}: κ = {_num(kappa)}, ARI = {_num(ari)} (n = {n:,})")
    return fig


def lorenz_curves(curves: Mapping, gini: Mapping[str, float] | None = None, ax=None):
    """Lorenz curves with their Gini coefficients in the legend.

    Parameters
    ----------
    curves : mapping name -> DataFrame or Series
        Each a Lorenz curve (``customer_share``, ``value_share`` columns, e.g. from
        :func:`crmresearch.compare.lorenz`) or a Series of non-negative values, whose curve and
        Gini are then computed here (``crmresearch._stats.lorenz_points``/``gini_coefficient``).
    gini : mapping name -> float, optional
        Gini per curve (needed for curves given as DataFrames; shown in the legend).
    """
    if ax is None:
        fig, ax = new_figure(width=5.5, height=5.0)
    else:
        fig = ax.figure
    ax.plot([0, 100], [0, 100], color="grey", lw=0.8, ls="--", label="equality")
    gini = dict(gini or {})
    for i, (name, c) in enumerate(curves.items()):
        if isinstance(c, pd.DataFrame):
            xs, ys = c["customer_share"].to_numpy(), c["value_share"].to_numpy()
            g = gini.get(name, float("nan"))
        else:
            values = pd.Series(c).to_numpy(dtype=float)
            xs, ys = lorenz_points(values)
            g = gini.get(name, gini_coefficient(values))
        ax.plot(
            xs * 100, ys * 100,
            color=TIER_COLORS[(2 * i) % len(TIER_COLORS)] if i < 4 else None,
            label=f"{name} (Gini {g:.3f})",
        )  # fmt: skip
    ax.set_xlabel("customers, poorest first (cumulative %)")
    ax.set_ylabel("value (cumulative %)")
    ax.set_title("Lorenz curves: value concentration")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.legend(loc="upper left")
    return fig


def migration_heatmap(
    counts,
    row_shares: pd.DataFrame | None = None,
    *,
    upgrade_rate: float = float("nan"),
    stay_rate: float = float("nan"),
    downgrade_rate: float = float("nan"),
    n_both: int | None = None,
    ax=None,
):
    """Heatmap of a tier migration matrix (row shares coloured, counts annotated).

    ``counts``/``row_shares``: tiers before as rows, after as columns; the rates and ``n_both``
    (customers tiered in both periods) go into the title. A
    :class:`~crmresearch.compare.Migration` passed as ``counts`` is drawn by its
    ``plot_heatmap()``.
    """
    if hasattr(counts, "plot_heatmap"):
        return counts.plot_heatmap(ax=ax)
    if row_shares is None:
        with np.errstate(invalid="ignore", divide="ignore"):
            row_shares = counts.div(counts.sum(axis=1), axis=0)
    # Rows nobody starts from (e.g. "inactive" before) are all empty: leave them out; the
    # columns stay, so "inactive" after is still shown.
    keep = counts.sum(axis=1).to_numpy() > 0
    counts, table = counts.loc[keep], row_shares.loc[keep]
    if ax is None:
        k = table.shape[0]
        fig, ax = new_figure(width=min(3 + 0.8 * k, 10), height=min(2 + 0.55 * k, 8))
    else:
        fig = ax.figure
    annot = pd.DataFrame(
        [[f"{int(c):,}\n{s * 100:.0f}%" if np.isfinite(s) else f"{int(c):,}"
          for c, s in zip(crow, srow, strict=True)]
         for crow, srow in zip(counts.to_numpy(), table.to_numpy(), strict=True)]
    )  # fmt: skip
    im = _heatmap(ax, table, annot, cmap="Greens", vmax=1.0)
    fig.colorbar(im, ax=ax, label="share of row (0-1)")
    ax.set_xlabel("tier after")
    ax.set_ylabel("tier before")
    n = int(counts.to_numpy().sum()) if n_both is None else int(n_both)
    ax.set_title(
        f"Tier migration: up {upgrade_rate:.1%}, stay {stay_rate:.1%}, "
        f"down {downgrade_rate:.1%} (n = {n:,})"
    )
    return fig


def gain_curves(gain: Mapping[str, pd.DataFrame], *, outcome: str = "revenue", n=None, ax=None):
    """Gain curves: cumulative outcome share against customer share, tiers added best first.

    ``gain``: scheme name -> DataFrame with ``customer_share``, ``value_share`` and ``tier``
    (first row the origin), as in ``PredictiveValidity.gain``; ``n`` customers for the title.
    A :class:`~crmresearch.compare.PredictiveValidity` passed as ``gain`` is drawn by its
    ``plot_gain()``.
    """
    if hasattr(gain, "plot_gain"):
        return gain.plot_gain(ax=ax)
    if ax is None:
        fig, ax = new_figure(width=6.0, height=4.0)
    else:
        fig = ax.figure
    ax.plot([0, 100], [0, 100], color="grey", lw=0.8, ls="--", label="random")
    # Schemes with the same tier sizes share x positions: label one below-right of its
    # points and the next above-left, so the tier letters do not sit on top of each other.
    offsets = [((5, -11), "left"), ((-5, 5), "right")]
    for k, (name, g) in enumerate(gain.items()):
        line = ax.plot(
            g["customer_share"] * 100, g["value_share"] * 100, marker="o", label=str(name)
        )
        xytext, ha = offsets[k % len(offsets)]
        for _, row in g.iloc[1:].iterrows():
            ax.annotate(
                str(row["tier"]), (row["customer_share"] * 100, row["value_share"] * 100),
                textcoords="offset points", xytext=xytext, ha=ha, fontsize=7,
                color=line[0].get_color(),
            )  # fmt: skip
    ax.set_xlabel("customers in the tiers so far, best tier first (cumulative %)")
    ax.set_ylabel(f"next-period {outcome} captured (cumulative %)")
    ax.set_title("Gain curves by scheme" + (f" (n = {int(n):,})" if n is not None else ""))
    ax.set_xlim(0, 100)
    ax.legend(loc="lower right")
    return fig


def tier_sizes(tiers: pd.Series, value: pd.Series | None = None, ax=None):
    """Bar chart of customers per tier (and value share per tier when ``value`` is given)."""
    counts = tiers.value_counts(sort=False).reindex(tiers.cat.categories, fill_value=0)
    if ax is None:
        fig, ax = new_figure()
    else:
        fig = ax.figure
    x = np.arange(len(counts))
    share = counts / max(counts.sum(), 1) * 100
    width = 0.4 if value is not None else 0.7
    ax.bar(x - (width / 2 if value is not None else 0), share, width, label="customers",
           color=TIER_COLORS[1])  # fmt: skip
    if value is not None:
        v = value.reindex(tiers.index).fillna(0).groupby(tiers, observed=False).sum()
        v = v.reindex(counts.index).fillna(0)
        ax.bar(x + width / 2, v / v.sum() * 100, width, label="value", color=TIER_COLORS[3])
        ax.legend()
    ax.set_xticks(x, [str(c) for c in counts.index], rotation=30, ha="right")
    ax.set_xlabel("tier")
    ax.set_ylabel("share (%)")
    ax.set_title(f"{tiers.name or 'tiers'}: customers per tier (n = {int(counts.sum()):,})")
    return fig
