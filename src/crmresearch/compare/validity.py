"""Predictive validity of tier schemes on next-period outcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmresearch import tiers as _tiers
from crmresearch.compare._common import _as_tiers
from crmresearch.errors import DataError


# --------------------------------------------------------------------------------------------
# predictive validity
# --------------------------------------------------------------------------------------------
@dataclass
class PredictiveValidity:
    """Result of :func:`predictive_validity`."""

    table: pd.DataFrame  # scheme x metric (+ _low/_high CI columns)
    gain: dict[str, pd.DataFrame]
    top_share: float
    outcome: str
    n: int
    n_boot: int
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        cols = ["predicted_top", "precision", "recall", "value_capture"]
        t = self.table.copy()
        for m in ("precision", "recall", "value_capture"):
            t[m] = [
                f"{v:.3f} [{lo:.3f}, {hi:.3f}]"
                for v, lo, hi in zip(t[m], t[m + "_low"], t[m + "_high"], strict=True)
            ]
        return "\n".join(
            [
                f"Predictive validity: top {self.top_share:.0%} of customers by next-period "
                f"{self.outcome} (n = {self.n}; {self.n_boot} bootstrap resamples, 95% CI)",
                t[cols].to_string(),
                *[f"note: {x}" for x in self.notes],
            ]
        )

    def plot_gain(self, ax=None):
        from crmresearch.plots.tiers import gain_curves

        return gain_curves(self.gain, outcome=self.outcome, n=self.n, ax=ax)


def _gain_curve(codes: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Cumulative customer and value shares adding whole tiers, best first."""
    total = y.sum()
    rows = [{"tier_code": -1, "customer_share": 0.0, "value_share": 0.0}]
    n = len(y)
    cum_c, cum_v = 0, 0.0
    for c in np.unique(codes):
        m = codes == c
        cum_c += int(m.sum())
        cum_v += float(y[m].sum())
        rows.append(
            {
                "tier_code": int(c),
                "customer_share": cum_c / n,
                "value_share": cum_v / total if total else np.nan,
            }
        )
    return pd.DataFrame(rows)


def predictive_validity(
    scheme_tiers: Mapping[str, pd.Series] | pd.DataFrame,
    outcomes: pd.DataFrame | pd.Series,
    top: float = 0.2,
    *,
    outcome: str = "revenue",
    top_tiers: Mapping[str, Sequence[str]] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> PredictiveValidity:
    """How well each scheme's top tier captures next period's top customers and revenue.

    Parameters
    ----------
    scheme_tiers : mapping name -> tiers Series, or DataFrame of tier columns
        Tiers assigned in the calibration period.
    outcomes : DataFrame or Series
        Next-period outcome per customer (``outcomes[outcome]``, e.g. holdout ``revenue``).
    top : float
        Share of customers defining the *actual* top (by outcome; :func:`crmresearch.tiers.abc`
        rank rule, ties in the lower group).
    top_tiers : mapping name -> tiers, optional
        Which tiers count as a scheme's predicted top (default: its best category).
    n_boot, seed, ci : bootstrap settings (customers resampled with replacement; percentile CI).

    Returns
    -------
    PredictiveValidity
        ``table`` per scheme: ``predicted_top`` (count), ``precision`` = |P and T| / |P|,
        ``recall`` = |P and T| / |T|, ``value_capture`` = outcome of P / total outcome, and
        ``*_low``/``*_high`` CIs; ``gain`` per scheme (cumulative customer vs outcome share adding
        tiers best first).

    Notes
    -----
    Customers are those in ``outcomes`` with an outcome value; a customer missing a tier in a
    scheme is treated as not predicted top (counted in ``notes``). The actual-top flag is fixed
    on the full sample and carried with each customer into the resamples.
    """
    if isinstance(outcomes, pd.DataFrame):
        if outcome not in outcomes.columns:
            raise DataError(f"predictive_validity: outcomes lack column {outcome!r}")
        y = outcomes[outcome]
    else:
        y = outcomes
    y = _tiers._as_values(y, "outcome")
    n_nan = int(y.isna().sum())
    y = y.dropna()
    notes = []
    if n_nan:
        notes.append(f"{n_nan} customers without an outcome value excluded")
    if isinstance(scheme_tiers, pd.DataFrame):
        scheme_tiers = {c: scheme_tiers[c] for c in scheme_tiers.columns}
    if not scheme_tiers:
        raise ValueError("predictive_validity: give at least one scheme")
    n = len(y)
    actual_top = _tiers._rank_tiers(y, [top, 1.0]) == 0
    yv = y.to_numpy()
    total = yv.sum()
    rng = np.random.default_rng(seed)
    boot_idx = rng.integers(0, n, size=(n_boot, n)) if n_boot else None
    alpha = (1 - ci) / 2
    rows, gains = [], {}
    for name, t in scheme_tiers.items():
        t = _as_tiers(t, name).reindex(y.index)
        n_missing = int(t.isna().sum())
        if n_missing:
            notes.append(f"{name}: {n_missing} customers without a tier count as not predicted top")
        tops = list(top_tiers[name]) if top_tiers and name in top_tiers else [t.cat.categories[0]]
        pred = t.isin(tops).to_numpy()
        hit = pred & actual_top

        def metrics(idx=None, pred=pred, hit=hit):
            p_, h_, a_, v_ = (pred, hit, actual_top, yv) if idx is None else (
                pred[idx], hit[idx], actual_top[idx], yv[idx])  # fmt: skip
            npred, nact, tot = p_.sum(), a_.sum(), v_.sum()
            return (
                h_.sum() / npred if npred else np.nan,
                h_.sum() / nact if nact else np.nan,
                v_[p_].sum() / tot if tot else np.nan,
            )

        prec, rec, cap = metrics()
        row = {
            "scheme": name,
            "predicted_top": int(pred.sum()),
            "actual_top": int(actual_top.sum()),
            "precision": prec,
            "recall": rec,
            "value_capture": cap,
        }
        if n_boot:
            bs = np.array([metrics(b) for b in boot_idx], dtype=float)
            for j, m in enumerate(("precision", "recall", "value_capture")):
                col = bs[:, j][~np.isnan(bs[:, j])]
                row[m + "_low"] = float(np.quantile(col, alpha)) if len(col) else np.nan
                row[m + "_high"] = float(np.quantile(col, 1 - alpha)) if len(col) else np.nan
        else:
            for m in ("precision", "recall", "value_capture"):
                row[m + "_low"] = row[m + "_high"] = np.nan
        rows.append(row)
        codes = t.cat.codes.to_numpy().copy()
        codes[codes < 0] = len(t.cat.categories)  # untiered customers last
        g = _gain_curve(codes, yv)
        labels = [*t.cat.categories, "<NA>"]
        g["tier"] = ["(none)"] + [labels[c] for c in g["tier_code"].iloc[1:]]
        gains[name] = g
    table = pd.DataFrame(rows).set_index("scheme")
    if total <= 0:
        notes.append("total outcome is not positive: value capture is not meaningful")
    return PredictiveValidity(table, gains, top, outcome, n, int(n_boot), notes)
