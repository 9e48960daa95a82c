"""Rising stars in plain words, checked against what they did next (the holdout).

A *rising star* is a customer who is not (yet) in the top index tier at the end of the last
calibration period but whose index value rose by at least ``rise`` points over the last
``periods`` periods (:func:`crmresearch.compare.rising_stars`). Whether the rule finds anything
worth a manager's time is an empirical question: :func:`validate_rising_stars` compares the
rising stars' holdout churn and revenue with their *peers* - customers of the same index tier
whose index did not rise as much.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from crmresearch._format import fmt_int, fmt_money, fmt_pct, p_text, signed
from crmresearch._stats import MIN_GROUP_SIZE, risk_difference_score
from crmresearch.compare.dynamics import rising_stars
from crmresearch.errors import DataError

__all__ = ["validate_rising_stars", "RisingStarValidation", "rising_star_rule"]


def _period_words(p) -> str:
    if isinstance(p, pd.Period):
        if p.freqstr.startswith("Q"):
            return f"{p.year} Q{p.quarter}"
        if p.freqstr.startswith("M"):
            return f"{p:%b %Y}"
    return str(p)


def rising_star_rule(values: pd.DataFrame, tiers: pd.DataFrame, rise: float, periods: int = 1,
                     top_tiers: Sequence[str] | None = None) -> str:  # fmt: skip
    """The rising-star rule in plain words for a report."""
    last, first = values.columns[-1], values.columns[-1 - periods]
    cats = list(tiers[last].cat.categories)
    tops = list(top_tiers) if top_tiers is not None else cats[:1]
    return (
        f"A rising star is a customer who at the end of {_period_words(last)} is not in the top "
        f"index tier ({', '.join(map(str, tops))}) but whose classification index rose by at least "
        f"{rise:g} points since the end of {_period_words(first)}. Peers are the customers of the "
        "same index tier whose index rose less."
    )


@dataclass
class RisingStarValidation:
    """Result of :func:`validate_rising_stars`.

    ``table``: one row per index tier holding rising stars: ``n_rising``, ``n_peers``,
    ``churn_rising``, ``churn_peers``, ``risk_difference`` with ``ci_low``/``ci_high`` and
    ``p_value`` (one score test), mean holdout revenue ``revenue_rising``/``revenue_peers``,
    ``revenue_difference`` with ``revenue_ci_low``/``revenue_ci_high`` and ``revenue_p_value``
    (one Welch t-test). ``rising``: the rising-star table (raw ids).
    """

    table: pd.DataFrame
    rising: pd.DataFrame
    rule: str
    alpha: float = 0.05
    notes: list[str] = field(default_factory=list)

    def findings(self, currency: str = "$") -> list[str]:
        """One sentence per tier, following the sign and CI of each difference; money with
        ``currency``. Tiers with fewer than ``MIN_GROUP_SIZE`` rising stars or peers get a
        "too few to compare" sentence instead of a verdict."""
        out = []
        level = int(round(100 * (1 - self.alpha)))

        def money(x):
            return fmt_money(x, symbol=currency)

        for tier, r in self.table.iterrows():
            if r["n_peers"] == 0 or r["n_rising"] == 0:
                out.append(f"Index tier {tier}: no peers to compare the rising stars with.")
                continue
            if min(r["n_rising"], r["n_peers"]) < MIN_GROUP_SIZE:
                out.append(
                    f"Index tier {tier}: {fmt_int(r['n_rising'])} rising stars and "
                    f"{fmt_int(r['n_peers'])} peers churned at {fmt_pct(r['churn_rising'])} vs "
                    f"{fmt_pct(r['churn_peers'])}; too few to compare (at least "
                    f"{MIN_GROUP_SIZE} customers per group are needed), so no difference is claimed."
                )
                continue
            lo, hi = r["ci_low"], r["ci_high"]
            if math.isfinite(lo) and (lo > 0 or hi < 0):
                verdict = ("more" if r["risk_difference"] > 0 else "less") + " often"
                verdict = f"churned {verdict} than their peers"
            else:
                verdict = "did not churn clearly differently from their peers"
            out.append(
                f"Index tier {tier}: the {fmt_int(r['n_rising'])} rising stars {verdict} "
                f"({fmt_pct(r['churn_rising'])} vs {fmt_pct(r['churn_peers'])} of "
                f"{fmt_int(r['n_peers'])}; difference {signed(100 * r['risk_difference'])} points, "
                f"{level} % CI {signed(100 * lo)} to {signed(100 * hi)}, {p_text(r['p_value'])}) "
                f"and brought {money(r['revenue_rising'])} vs {money(r['revenue_peers'])} "
                f"per customer in the holdout (difference {money(r['revenue_difference'])}, "
                f"{level} % CI {money(r['revenue_ci_low'])} to "
                f"{money(r['revenue_ci_high'])}, Welch {p_text(r['revenue_p_value'])})."
            )
        return out

    def summary(self) -> str:
        t = self.table
        lines = [f"Rising stars: {len(self.rising):,} customers", self.rule, ""]
        if len(t):
            shown = t[["n_rising", "n_peers", "churn_rising", "churn_peers", "risk_difference",
                       "ci_low", "ci_high", "p_value", "revenue_difference"]].copy()  # fmt: skip
            shown.index = [str(i) for i in shown.index]
            lines.append(shown.round(4).to_string())
            lines.append("")
        return "\n".join(lines + self.findings() + [f"note: {n}" for n in self.notes])

    def to_dict(self) -> dict:
        def py(v):
            if isinstance(v, (np.integer,)):
                return int(v)
            if isinstance(v, (float, np.floating)):
                return float(v) if np.isfinite(v) else None
            return v

        return {
            "rule": self.rule,
            "n_rising": int(len(self.rising)),
            "by_tier": {str(t): {k: py(v) for k, v in row.items()} for t, row in self.table.iterrows()},
            "findings": self.findings(),
            "notes": list(self.notes),
        }  # fmt: skip


def _score(a, n1, c, n0, alpha):
    """Churn difference with the score CI and the p of the same score test (see
    :func:`crmresearch._stats.risk_difference_score`)."""
    return risk_difference_score(a, n1, c, n0, alpha)


def validate_rising_stars(values: pd.DataFrame, tiers: pd.DataFrame, outcomes: pd.DataFrame, *,
                          rise: float, periods: int = 1, top_tiers: Sequence[str] | None = None,
                          alpha: float = 0.05) -> RisingStarValidation:  # fmt: skip
    """Rising stars vs peers of the same index tier: holdout churn and revenue.

    Parameters
    ----------
    values, tiers : DataFrame
        Customer x period index values and index tiers (``reclassify(..., index=configured
        index, return_values=True)``).
    outcomes : DataFrame
        Holdout ``churned`` and ``revenue`` per customer.
    rise, periods, top_tiers : the rising-star rule (:func:`rising_stars`).

    Notes
    -----
    Peers = customers whose last-period tier equals the rising star's tier, with an index value
    at both ends, not rising stars. Churn: risk difference with the Miettinen-Nurminen score CI and the
    p-value of the same score test; revenue: difference of mean holdout revenue, Welch t-test and its CI
    (``scipy.stats.ttest_ind(equal_var=False)``). R: ``t.test(x, y)``.
    """
    for col in ("churned", "revenue"):
        if col not in outcomes.columns:
            raise DataError(f"validate_rising_stars: outcomes lack column {col!r}")
    rising = rising_stars(values, tiers, rise=rise, periods=periods, top_tiers=top_tiers)
    last, first = values.columns[-1], values.columns[-1 - periods]
    now = tiers[last].reindex(values.index)
    known = values[first].notna() & values[last].notna() & now.notna()
    is_rising = values.index.isin(rising.index)
    out = outcomes.reindex(values.index)
    has_outcome = out["churned"].notna()
    notes = []
    n_no = int((known & ~has_outcome).sum())
    if n_no:
        notes.append(f"{n_no} customers without a holdout outcome left out of the comparison")
    rows = {}
    for tier in now.cat.categories:
        if tier not in set(rising["tier"].astype(str)):
            continue
        m_tier = known & has_outcome & (now == tier)
        r_m, p_m = m_tier & is_rising, m_tier & ~is_rising
        ch = out["churned"].astype("boolean")
        a, n1 = int(ch[r_m].sum()), int(r_m.sum())
        c, n0 = int(ch[p_m].sum()), int(p_m.sum())
        rd, lo, hi, p = _score(a, n1, c, n0, alpha)
        y1 = out.loc[r_m, "revenue"].to_numpy(dtype=float)
        y0 = out.loc[p_m, "revenue"].to_numpy(dtype=float)
        if n1 >= 2 and n0 >= 2 and (y1.var() > 0 or y0.var() > 0):
            t = stats.ttest_ind(y1, y0, equal_var=False)
            ci = t.confidence_interval(1 - alpha)
            rev = (y1.mean() - y0.mean(), float(ci.low), float(ci.high), float(t.pvalue))
        else:
            rev = (y1.mean() - y0.mean() if n1 and n0 else np.nan, np.nan, np.nan, np.nan)
        rows[tier] = {
            "n_rising": n1, "n_peers": n0,
            "churn_rising": a / n1 if n1 else np.nan, "churn_peers": c / n0 if n0 else np.nan,
            "risk_difference": rd, "ci_low": lo, "ci_high": hi, "p_value": p,
            "revenue_rising": y1.mean() if n1 else np.nan,
            "revenue_peers": y0.mean() if n0 else np.nan,
            "revenue_difference": rev[0], "revenue_ci_low": rev[1], "revenue_ci_high": rev[2],
            "revenue_p_value": rev[3],
        }  # fmt: skip
    table = pd.DataFrame.from_dict(rows, orient="index")
    if len(table):
        table = table.astype({"n_rising": "int64", "n_peers": "int64"})
    table.index.name = "index_tier"
    rule = rising_star_rule(values, tiers, rise, periods, top_tiers)
    return RisingStarValidation(table, rising, rule, alpha, notes)
