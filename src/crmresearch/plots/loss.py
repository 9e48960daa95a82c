"""Figures for potential core-customer loss: churn by group with CIs, revenue by group.

Every function takes plain tables (the ``groups`` DataFrame of a
:class:`~crmresearch.loss.CoreLossResult` and numbers); the result's ``plot_*`` methods pass them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from crmresearch.plots.style import GROUP_COLORS, new_figure

__all__ = ["churn_by_group", "revenue_lost", "spend_overlap", "core_share_sensitivity_plot"]


def _signed(x: float) -> str:
    """+10.3 / −2.0 (minus sign U+2212, as in the report text)."""
    return f"{x + 0.0:+.1f}".replace("-", "\u2212")


_LABELS = {
    "neglected_core": "neglected core",
    "served_core": "served core",
    "over_served": "over-served",
    "other": "other",
}


def _error_bars(rate: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Non-negative lower/upper error lengths (0 for an empty group or a 0 % / 100 % rate, where
    rounding can put the Wilson bound a hair on the wrong side of the rate)."""
    below = np.clip(np.nan_to_num(rate - lo, nan=0.0), 0.0, None)
    above = np.clip(np.nan_to_num(hi - rate, nan=0.0), 0.0, None)
    return np.vstack([below, above])


def churn_by_group(
    groups: pd.DataFrame,
    *,
    risk_difference: float | None = None,
    risk_difference_ci: tuple[float, float] | None = None,
    ax=None,
):
    """Holdout churn rate per group with Wilson 95 % CIs.

    Parameters
    ----------
    groups : DataFrame
        One row per group (index = group name) with ``customers``, ``churn_rate``,
        ``churn_ci_low``, ``churn_ci_high`` (shares 0-1).
    risk_difference, risk_difference_ci : float, (float, float), optional
        Neglected minus served core (shares), shown in the title.

    A :class:`~crmresearch.loss.CoreLossResult` passed as ``groups`` is drawn by its own
    ``plot_churn()``.
    """
    if hasattr(groups, "plot_churn"):
        return groups.plot_churn(ax=ax)
    g = groups
    if ax is None:
        fig, ax = new_figure(width=6.0, height=3.6)
    else:
        fig = ax.figure
    x = np.arange(len(g))
    rate = g["churn_rate"].to_numpy(dtype=float) * 100
    lo = g["churn_ci_low"].to_numpy(dtype=float) * 100
    hi = g["churn_ci_high"].to_numpy(dtype=float) * 100
    colors = [GROUP_COLORS.get(i, "#7f8c8d") for i in g.index]
    ax.bar(x, np.nan_to_num(rate), color=colors, width=0.6)
    ax.errorbar(x, np.nan_to_num(rate), yerr=_error_bars(rate, lo, hi), fmt="none",
                ecolor="black", capsize=5, lw=1)  # fmt: skip
    for xi, r, n in zip(x, rate, g["customers"], strict=True):
        label = f"{r:.1f}%\nn = {int(n):,}" if np.isfinite(r) else f"n = {int(n):,}"
        ax.annotate(label, (xi, 0), xytext=(0, 4), textcoords="offset points", ha="center",
                    va="bottom", fontsize=8, color="white" if np.isfinite(r) and r > 8 else "black")  # fmt: skip
    ax.set_xticks(x, [_LABELS.get(i, i) for i in g.index])
    ax.set_ylabel("holdout churn rate (%, 95% CI)")
    ax.set_xlabel("customer group")
    if risk_difference is not None and np.isfinite(risk_difference):
        ci = risk_difference_ci or (float("nan"), float("nan"))
        ax.set_title(
            f"Churn by group: neglected \u2212 served = {_signed(risk_difference * 100)} pts "
            f"[{_signed(ci[0] * 100)}, {_signed(ci[1] * 100)}]"
        )
    else:
        ax.set_title("Churn by group (no neglected vs served comparison possible)")
    top = np.nanmax(hi) if np.isfinite(hi).any() else 100
    ax.set_ylim(0, max(100, top))
    return fig


def revenue_lost(groups: pd.DataFrame, *, part: str = "revenue_lost", part_label: str | None = None,
                 title: str | None = None, ax=None, currency: str = "$"):  # fmt: skip
    """Calibration revenue per group and the part given by column ``part`` (default: revenue of
    the customers who churned).

    ``groups``: one row per group with ``revenue_before`` and ``part``. A
    :class:`~crmresearch.loss.CoreLossResult` passed as ``groups`` is drawn by its
    ``plot_revenue()``.
    """
    if hasattr(groups, "plot_revenue"):
        return groups.plot_revenue(ax=ax, currency=currency)
    g = groups
    if ax is None:
        fig, ax = new_figure(width=6.0, height=3.6)
    else:
        fig = ax.figure
    x = np.arange(len(g))
    ax.bar(x, g["revenue_before"], width=0.6, color="#d5d8dc", label="revenue before (calibration)")
    ax.bar(x, g[part], width=0.6, color=[GROUP_COLORS.get(i, "#7f8c8d") for i in g.index],
           label=part_label or "of which: customers who churned")  # fmt: skip
    ax.set_xticks(x, [_LABELS.get(i, i) for i in g.index])
    ax.set_ylabel(f"net revenue ({currency})")
    ax.yaxis.set_major_formatter(
        FuncFormatter(lambda v, _pos: f"\u2212{currency}{-v:,.0f}" if v < 0 else f"{currency}{v:,.0f}")
    )
    ax.set_xlabel("customer group")
    ax.set_title(title or "Revenue at stake: calibration revenue of churned customers")
    ax.legend(loc="upper left", fontsize="small")
    return fig


def spend_overlap(groups, *, cut: float | None = None, ax=None, currency: str = "$"):
    """Calibration spend per group on a log axis (box plots): how far the groups overlap.

    ``groups``: mapping group name -> array of calibration spend; ``cut``: the volume cut drawn
    as a line (the lowest spend inside the top volume tier).
    """
    if ax is None:
        fig, ax = new_figure(width=6.0, height=3.4)
    else:
        fig = ax.figure
    names = [k for k, v in groups.items() if len(v)]
    data = [np.clip(np.asarray(groups[k], dtype=float), 0.01, None) for k in names]
    if data:
        bp = ax.boxplot(data, orientation="horizontal", whis=(5, 95), showfliers=False, patch_artist=True)
        for patch, name in zip(bp["boxes"], names, strict=True):
            patch.set_facecolor(GROUP_COLORS.get(name, "#7f8c8d"))
            patch.set_alpha(0.6)
        ax.set_yticks(range(1, len(names) + 1), [_LABELS.get(k, k) for k in names])
    ax.set_xscale("log")
    if cut is not None and np.isfinite(cut) and cut > 0:
        ax.axvline(cut, color="black", lw=1, ls="--", label=f"volume cut {currency}{cut:,.0f}")
        ax.legend(loc="lower right", fontsize="small")
    ax.set_xlabel(f"calibration net revenue ({currency}, log scale; box 25-75 %, whiskers 5-95 %)")
    ax.set_ylabel("customer group")
    ax.set_title("Calibration spend by group: common support of the comparison")
    return fig


def core_share_sensitivity_plot(table: pd.DataFrame, ax=None):
    """Risk difference (neglected - served core, with CI) and neglected share against the core
    share; ``table`` as from :func:`crmresearch.loss.core_share_sensitivity`."""
    if ax is None:
        fig, ax = new_figure(width=6.5, height=3.8)
    else:
        fig = ax.figure
    t = table.sort_values("core_share")
    x = t["core_share"].to_numpy(dtype=float) * 100
    rd = t["risk_difference"].to_numpy(dtype=float) * 100
    lo = t["ci_low"].to_numpy(dtype=float) * 100
    hi = t["ci_high"].to_numpy(dtype=float) * 100
    ax.errorbar(x, rd, yerr=_error_bars(rd, lo, hi), fmt="o-", color=GROUP_COLORS["neglected_core"],
                capsize=4, label="churn difference, neglected \u2212 served (pts, 95% CI)")  # fmt: skip
    ax.axhline(0, color="grey", lw=0.8, ls="--")
    ax2 = ax.twinx()
    ax2.plot(x, t["neglected_share"] * 100, "s:", color="#1f618d", label="neglected share of core (%)")
    ax2.plot(x, t["minimum_by_construction"] * 100, "^:", color="#aab7b8",
             label="minimum by construction (%)")  # fmt: skip
    ax2.set_ylim(0, 100)
    ax2.set_ylabel("share of the core (%)")
    if "equal_size" in t.columns and t["equal_size"].any():
        xe = float(t.loc[t["equal_size"], "core_share"].iloc[0]) * 100
        ax.axvline(xe, color="black", lw=0.8, ls=":")
    ax.set_xlabel("core share (% of customers; dotted line: core = size of top volume tier)")
    ax.set_ylabel("churn difference (percentage points)")
    ax.set_title("Sensitivity of the neglected-core finding to the core share")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize="x-small", loc="upper center", ncol=2,
              bbox_to_anchor=(0.5, -0.22), frameon=False)  # fmt: skip
    return fig
