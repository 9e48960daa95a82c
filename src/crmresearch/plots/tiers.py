"""Figures for tiers and scheme comparison: crosstab heatmap, Lorenz curves, migration, gains."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

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


def scheme_crosstab(comparison, shares: str = "row", ax=None):
    """Heatmap of a :class:`~crmresearch.compare.SchemeComparison` crosstab.

    Colour = row share (``shares="row"``), column share (``"col"``) or value share
    (``"value"``); each cell shows the count and the percentage.
    """
    table = {"row": comparison.row_shares, "col": comparison.col_shares,
             "value": comparison.value_share}.get(shares)  # fmt: skip
    if table is None:
        raise ValueError("shares must be 'row', 'col' or 'value' (value needs value= in compare)")
    if ax is None:
        k = max(table.shape)
        fig, ax = new_figure(width=min(2.5 + 0.8 * table.shape[1], 10), height=min(2 + 0.5 * k, 8))
    else:
        fig = ax.figure
    annot = pd.DataFrame(
        [[f"{int(c):,}\n{s * 100:.0f}%" if np.isfinite(s) else f"{int(c):,}"
          for c, s in zip(crow, srow, strict=True)]
         for crow, srow in zip(comparison.counts.to_numpy(), table.to_numpy(), strict=True)]
    )  # fmt: skip
    im = _heatmap(ax, table, annot, vmax=1.0 if shares != "value" else None)
    label = {
        "row": "share of row (0-1)",
        "col": "share of column (0-1)",
        "value": "share of total value (0-1)",
    }
    fig.colorbar(im, ax=ax, label=label[shares])
    ax.set_xlabel(_tier_axis(comparison.name_b))
    ax.set_ylabel(_tier_axis(comparison.name_a))
    ax.set_title(
        f"{comparison.name_a} vs {comparison.name_b}: κ = {_num(comparison.kappa)}, "
        f"ARI = {_num(comparison.ari)} (n = {comparison.n:,})"
    )
    return fig


def lorenz_curves(values: Mapping[str, pd.Series], ax=None):
    """Lorenz curves of several non-negative value Series (e.g. revenue vs index 0-100), with Gini."""
    from crmresearch.compare import gini, lorenz

    if ax is None:
        fig, ax = new_figure(width=5.5, height=5.0)
    else:
        fig = ax.figure
    ax.plot([0, 100], [0, 100], color="grey", lw=0.8, ls="--", label="equality")
    for i, (name, v) in enumerate(values.items()):
        curve = lorenz(v)
        ax.plot(
            curve["customer_share"] * 100, curve["value_share"] * 100,
            color=TIER_COLORS[(2 * i) % len(TIER_COLORS)] if i < 4 else None,
            label=f"{name} (Gini {gini(v):.3f})",
        )  # fmt: skip
    ax.set_xlabel("customers, poorest first (cumulative %)")
    ax.set_ylabel("value (cumulative %)")
    ax.set_title("Lorenz curves: value concentration")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.legend(loc="upper left")
    return fig


def migration_heatmap(migration, ax=None):
    """Heatmap of a :class:`~crmresearch.compare.Migration` (row shares, counts annotated)."""
    counts = migration.counts
    # Rows nobody starts from (e.g. "inactive" before) are all empty: leave them out; the
    # columns stay, so "inactive" after is still shown.
    keep = counts.sum(axis=1).to_numpy() > 0
    counts, table = counts.loc[keep], migration.row_shares.loc[keep]
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
    ax.set_title(
        f"Tier migration: up {migration.upgrade_rate:.1%}, stay {migration.stay_rate:.1%}, "
        f"down {migration.downgrade_rate:.1%} (n = {migration.n_both:,})"
    )
    return fig


def gain_curves(validity, ax=None):
    """Gain curves of :func:`~crmresearch.compare.predictive_validity`: tiers added best first."""
    if ax is None:
        fig, ax = new_figure(width=6.0, height=4.0)
    else:
        fig = ax.figure
    ax.plot([0, 100], [0, 100], color="grey", lw=0.8, ls="--", label="random")
    # Schemes with the same tier sizes share x positions: label one below-right of its
    # points and the next above-left, so the tier letters do not sit on top of each other.
    offsets = [((5, -11), "left"), ((-5, 5), "right")]
    for k, (name, g) in enumerate(validity.gain.items()):
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
    ax.set_ylabel(f"next-period {validity.outcome} captured (cumulative %)")
    ax.set_title(f"Gain curves by scheme (n = {validity.n:,})")
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
