"""Figures for strategy effectiveness: forest plot, event study, policy values, power curves.

Each function takes plain data (a DataFrame and labels); the result objects of
``crmresearch.strategy`` compute what to draw and call these (``TierEffects.plot_forest()``,
``DiDResult.plot_event_study()``, ``PolicyValues.plot_policy_values()``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmresearch.plots.style import TIER_COLORS, new_figure

__all__ = ["forest_plot", "event_study_plot", "policy_value_plot", "power_curve_plot"]


def _table(data) -> pd.DataFrame:
    # A result object that still arrives here (older notebooks) is drawn from its ``.table``.
    return data.table if hasattr(data, "table") else pd.DataFrame(data)


def forest_plot(
    table,
    *,
    outcome: str = "outcome",
    alpha: float = 0.05,
    title: str | None = None,
    unit: str | None = None,
    scale: float = 1.0,
):
    """Per-tier effects with confidence intervals (one row per tier × arm, overall last).

    Parameters
    ----------
    table : DataFrame with ``tier``, ``arm``, ``effect``, ``ci_low``, ``ci_high`` (e.g.
        ``effect_by_tier(...).table``; ``TierEffects.plot_forest()`` passes it).
    outcome : outcome name for the axis label and title.
    alpha : 1 − confidence level of the intervals (for the axis label).
    unit : label of the outcome unit for the x axis.
    scale : factor applied to effects and CIs before drawing (100: rates as percentage points).
    """
    if hasattr(table, "table"):  # a TierEffects from an older caller
        outcome, alpha = table.outcome, table.alpha
    table = _table(table)
    arms = list(dict.fromkeys(table["arm"]))
    labels = [
        f"{t}" if len(arms) == 1 else f"{t} · {a}"
        for t, a in zip(table["tier"], table["arm"], strict=True)
    ]
    fig, ax = new_figure(7.0, max(2.5, 0.45 * len(table) + 1.4))
    ypos = np.arange(len(table))[::-1]
    # one colour per tier (the same in every arm), from the darker end of the palette
    tiers = [t for t in dict.fromkeys(map(str, table["tier"])) if t != "overall"]
    palette = TIER_COLORS[:3] if len(tiers) <= 3 else TIER_COLORS
    for y, row in zip(ypos, table.itertuples(), strict=True):
        overall = str(row.tier) == "overall"
        color = "black" if overall else palette[tiers.index(str(row.tier)) % len(palette)]
        effect, low, high = scale * row.effect, scale * row.ci_low, scale * row.ci_high
        ax.errorbar(
            effect,
            y,
            xerr=[[effect - low], [high - effect]],
            fmt="D" if overall else "o",
            color=color,
            capsize=3,
            markersize=7 if overall else 6,
        )
    ax.axvline(0, color="grey", lw=1, ls="--")
    ax.set_yticks(ypos, labels)
    level = int(round(100 * (1 - alpha)))
    ax.set_xlabel(f"effect on {outcome} ({unit or 'outcome units'} per customer), {level} % CI")
    ax.set_ylabel("tier")
    ax.set_title(title or f"Strategy effect by tier: {outcome}")
    return fig


def event_study_plot(
    event_study,
    *,
    freq: str = "M",
    outcome: str = "revenue",
    tier=None,
    title: str | None = None,
):
    """Event-study leads and lags (relative period, reference −1) with CIs, per tier.

    Parameters
    ----------
    event_study : DataFrame with ``tier``, ``rel_period``, ``effect``, ``ci_low``, ``ci_high``
        (``diff_in_diff(...).event_study``; ``DiDResult.plot_event_study()`` passes it).
    freq, outcome : period alias and outcome name for the axis labels.
    tier : one tier label or a list; default all tiers in the table (overall in black).
    """
    if hasattr(event_study, "event_study"):  # a DiDResult from an older caller
        freq, outcome = event_study.freq, event_study.outcome
        event_study = event_study.event_study
    es = event_study
    tiers = list(dict.fromkeys(es["tier"]))
    if tier is not None:
        tiers = [tier] if not isinstance(tier, (list, tuple)) else list(tier)
    fig, ax = new_figure()
    width = 0.8 / max(1, len(tiers))
    for i, t in enumerate(tiers):
        sub = es[es["tier"] == t].sort_values("rel_period")
        x = sub["rel_period"].to_numpy() + (i - (len(tiers) - 1) / 2) * width
        color = "black" if str(t) == "overall" else TIER_COLORS[i % len(TIER_COLORS)]
        ax.errorbar(
            x,
            sub["effect"],
            yerr=[sub["effect"] - sub["ci_low"], sub["ci_high"] - sub["effect"]],
            fmt="o-",
            capsize=2,
            color=color,
            label=str(t),
        )
    ax.axhline(0, color="grey", lw=1, ls="--")
    ax.axvline(-0.5, color="grey", lw=1, ls=":")
    ax.set_xlabel(f"periods relative to roll-out ({freq}; −1 = reference)")
    ax.set_ylabel(f"effect on {outcome} per customer and period")
    ax.set_title(title or "Event study: leads (pre-trends) and lags")
    ax.legend(title="tier", fontsize="small")
    return fig


def policy_value_plot(table, *, outcome: str = "outcome", title: str | None = None):
    """Estimated value (mean outcome per customer) of each targeting rule with bootstrap CIs.

    Parameters
    ----------
    table : DataFrame with ``rule``, ``value``, ``ci_low``, ``ci_high`` (``policy_value(...).table``;
        ``PolicyValues.plot_policy_values()`` passes it).
    outcome : outcome name for the axis label.
    """
    if hasattr(table, "table"):  # a PolicyValues from an older caller
        outcome = table.outcome
    table = _table(table)
    fig, ax = new_figure(7.0, max(2.5, 0.45 * len(table) + 1.4))
    ypos = np.arange(len(table))[::-1]
    ax.errorbar(
        table["value"],
        ypos,
        xerr=[table["value"] - table["ci_low"], table["ci_high"] - table["value"]],
        fmt="o",
        color=TIER_COLORS[1],
        capsize=3,
    )
    ax.set_yticks(ypos, [str(r) for r in table["rule"]])
    ax.set_xlabel(f"expected {outcome} per customer under the rule (IPW)")
    ax.set_ylabel("targeting rule")
    ax.set_title(title or "Value of targeting rules")
    return fig


def power_curve_plot(
    sizes,
    *,
    sd: float = 1.0,
    alpha: float = 0.05,
    effects=None,
    ratio: float = 1.0,
    title: str | None = None,
):
    """Power against effect size for each tier's sample size (two-sided t test).

    Parameters
    ----------
    sizes : mapping tier -> n treated (control = ``ratio`` × n treated), or the output of
        ``strategy.power_table`` (uses its ``n_treated``/``n_control`` and ``sd``).
    sd : outcome SD (absolute effects on the x axis are divided by it).
    effects : grid of absolute effects (default 0 … 2·MDE of the smallest tier).
    """
    from statsmodels.stats.power import TTestIndPower

    if isinstance(sizes, pd.DataFrame):
        sds = sizes["sd"] if "sd" in sizes.columns else pd.Series(sd, index=sizes.index)
        rows = [
            (r["tier"], int(r["n_treated"]), int(r["n_control"]), float(s) if s == s else sd)
            for (_, r), s in zip(sizes.iterrows(), sds, strict=True)
        ]
    else:
        rows = [(k, int(v), int(round(v * ratio)), sd) for k, v in dict(sizes).items()]
    analysis = TTestIndPower()
    if effects is None:
        n_min = min(r[1] for r in rows)
        d_max = 2 * analysis.solve_power(None, nobs1=n_min, alpha=alpha, power=0.8, ratio=ratio)
        effects = np.linspace(0, d_max * max(r[3] for r in rows), 60)
    effects = np.asarray(effects, dtype=float)
    fig, ax = new_figure()
    for i, (t, nt, nc, s) in enumerate(rows):
        pw = analysis.power(effects / s, nobs1=nt, alpha=alpha, ratio=nc / nt)
        ax.plot(effects, pw, color=TIER_COLORS[i % len(TIER_COLORS)], label=f"{t} (n={nt}+{nc})")
    ax.axhline(0.8, color="grey", lw=1, ls="--")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("true effect (outcome units per customer)")
    ax.set_ylabel("power (probability of p < α)")
    ax.set_title(title or f"Power by tier (two-sided, α = {alpha:g})")
    ax.legend(title="tier", fontsize="small")
    return fig
