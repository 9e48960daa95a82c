"""Figures for potential core-customer loss: churn by group with CIs, revenue lost."""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter

from crmresearch.plots.style import GROUP_COLORS, new_figure

__all__ = ["churn_by_group", "revenue_lost"]


def _signed(x: float) -> str:
    """+10.3 / −2.0 (minus sign U+2212, as in the report text)."""
    return f"{x + 0.0:+.1f}".replace("-", "\u2212")


_LABELS = {"neglected_core": "neglected core", "served_core": "served core", "other": "other"}


def churn_by_group(result, ax=None):
    """Holdout churn rate per group with Wilson 95 % CIs (a :class:`~crmresearch.loss.CoreLossResult`)."""
    g = result.groups
    if ax is None:
        fig, ax = new_figure(width=6.0, height=3.6)
    else:
        fig = ax.figure
    x = np.arange(len(g))
    rate = g["churn_rate"].to_numpy() * 100
    lo = g["churn_ci_low"].to_numpy() * 100
    hi = g["churn_ci_high"].to_numpy() * 100
    colors = [GROUP_COLORS.get(i, "#7f8c8d") for i in g.index]
    ax.bar(x, np.nan_to_num(rate), color=colors, width=0.6)
    ax.errorbar(
        x, np.nan_to_num(rate), yerr=[np.nan_to_num(rate - lo), np.nan_to_num(hi - rate)],
        fmt="none", ecolor="black", capsize=5, lw=1,
    )  # fmt: skip
    for xi, r, n in zip(x, rate, g["customers"], strict=True):
        ax.annotate(f"{r:.1f}%\nn = {int(n):,}", (xi, 0), xytext=(0, 4), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8, color="white")  # fmt: skip
    ax.set_xticks(x, [_LABELS.get(i, i) for i in g.index])
    ax.set_ylabel("holdout churn rate (%, 95% CI)")
    ax.set_xlabel("customer group")
    c = result.comparison
    ax.set_title(
        f"Churn by group: neglected \u2212 served = {_signed(c['risk_difference'] * 100)} pts "
        f"[{_signed(c['risk_difference_ci'][0] * 100)}, {_signed(c['risk_difference_ci'][1] * 100)}]"
    )
    ax.set_ylim(0, max(100, np.nanmax(hi) if np.isfinite(hi).any() else 100))
    return fig


def revenue_lost(result, ax=None):
    """Calibration revenue per group and the part belonging to customers who churned."""
    g = result.groups
    if ax is None:
        fig, ax = new_figure(width=6.0, height=3.6)
    else:
        fig = ax.figure
    x = np.arange(len(g))
    ax.bar(x, g["revenue_before"], width=0.6, color="#d5d8dc", label="revenue before (calibration)")
    ax.bar(x, g["revenue_lost"], width=0.6,
           color=[GROUP_COLORS.get(i, "#7f8c8d") for i in g.index],
           label="of which: customers who churned")  # fmt: skip
    ax.set_xticks(x, [_LABELS.get(i, i) for i in g.index])
    ax.set_ylabel("net revenue ($)")
    ax.yaxis.set_major_formatter(
        FuncFormatter(lambda v, _pos: f"\u2212${-v:,.0f}" if v < 0 else f"${v:,.0f}")
    )
    ax.set_xlabel("customer group")
    ax.set_title("Revenue at stake: calibration revenue of churned customers")
    ax.legend()
    return fig
