"""Honest spend adjustment of the neglected-vs-served comparison.

Within the core, "neglected" means "calibration spend below the top volume tier's cut": the two
groups barely share any spend level, so an odds ratio "adjusted for spend" compares customers
the data never show side by side - it extrapolates the spend curve of one group into the range
of the other. This module shows how much the groups overlap, fits a flexible (spline) spend
adjustment, and compares churn locally in a band of spend around the volume cut, where both
groups exist. When the overlap is thin it says so (``extrapolation = True``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmresearch.loss._comparison import _py, _two_group_stats, logit_odds_ratio

__all__ = ["SpendAdjustment", "spend_adjustment", "spend_overlap"]

#: Below this share of customers inside the other group's spend range, an adjusted estimate is
#: called an extrapolation (a common-support rule of thumb; the table shows the actual shares).
THIN_OVERLAP = 0.10

_QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)


def spend_overlap(spend: np.ndarray, group_a: np.ndarray, group_b: np.ndarray,
                  names: tuple[str, str] = ("neglected_core", "served_core")) -> pd.DataFrame:  # fmt: skip
    """Distribution of calibration spend in two groups and their common support.

    Returns one row per group: ``customers``, spend quantiles ``min p05 p25 median p75 p95 max``
    and ``share_in_other_range`` = share of the group's customers whose spend lies within
    ``[min, max]`` of the other group (0 = no common support at all).
    """
    rows = {}
    ranges = {}
    for name, m in zip(names, (group_a, group_b), strict=True):
        x = np.asarray(spend, dtype=float)[np.asarray(m, dtype=bool)]
        ranges[name] = (x.min(), x.max()) if len(x) else (np.nan, np.nan)
        q = np.quantile(x, _QUANTILES) if len(x) else np.full(len(_QUANTILES), np.nan)
        rows[name] = {"customers": int(len(x)),
                      **dict(zip(("min", "p05", "p25", "median", "p75", "p95", "max"), q, strict=True))}  # fmt: skip
    for name, other in ((names[0], names[1]), (names[1], names[0])):
        m = np.asarray(group_a if name == names[0] else group_b, dtype=bool)
        x = np.asarray(spend, dtype=float)[m]
        lo, hi = ranges[other]
        rows[name]["share_in_other_range"] = (
            float(((x >= lo) & (x <= hi)).mean()) if len(x) and np.isfinite(lo) else float("nan")
        )
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "group"
    return out


@dataclass
class SpendAdjustment:
    """Result of :func:`spend_adjustment` (neglected vs served core).

    Attributes
    ----------
    overlap : DataFrame
        :func:`spend_overlap` of the two groups.
    extrapolation : bool
        True when fewer than :data:`THIN_OVERLAP` of either group lie in the other's spend range:
        any spend-adjusted estimate then rests on the model's extrapolation, not on comparable
        customers.
    spline : dict
        Logistic regression ``churn ~ neglected + natural spline(log(1 + spend), df)`` over the core:
        ``odds_ratio``, ``odds_ratio_ci``, ``odds_ratio_p_value`` (Wald CI and p of the same
        coefficient), ``df``, ``n``.
    band : dict
        Local comparison among core customers whose spend lies within a factor ``band_factor`` of
        the volume cut (``cut / f <= spend <= cut * f``): ``low``, ``high``, ``cut``,
        ``n_neglected``, ``n_served``, churn rates, ``risk_difference`` with the score CI and
        the p of the same score test.
    """

    overlap: pd.DataFrame
    extrapolation: bool
    spline: dict
    band: dict
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "overlap": {g: {k: _py(v) for k, v in row.items()} for g, row in self.overlap.iterrows()},
            "extrapolation": bool(self.extrapolation),
            "spline": {k: _py(v) for k, v in self.spline.items()},
            "band": {k: _py(v) for k, v in self.band.items()},
            "notes": list(self.notes),
        }  # fmt: skip


def _spline_basis(x: np.ndarray, df: int) -> pd.DataFrame:
    """Natural cubic regression spline basis of ``x`` (patsy ``cr(x, df)``, knots at quantiles)."""
    import patsy

    basis = patsy.dmatrix(f"cr(x, df={df}) - 1", {"x": x}, return_type="dataframe")
    # cr() spans the intercept; drop one column so the model keeps its own constant
    basis = basis.iloc[:, 1:]
    basis.columns = [f"spline_{i + 1}" for i in range(basis.shape[1])]
    return basis


def spend_adjustment(churned, neglected, spend, core, volume_cut: float, *, alpha: float = 0.05,
                     spline_df: int = 4, band_factor: float = 1.5) -> SpendAdjustment:  # fmt: skip
    """Overlap, spline-adjusted odds ratio and the local band comparison (see the module text).

    Parameters
    ----------
    churned, neglected, spend, core : arrays over the analysed customers
        Holdout churn, neglected-core flag, calibration spend, core flag.
    volume_cut : float
        The lowest calibration spend inside the top volume tier(s).
    spline_df : int
        Degrees of freedom of the natural cubic spline of ``log(1 + max(spend, 0))``.
    band_factor : float
        Band around the cut: ``cut / band_factor <= spend <= cut * band_factor``.
    """
    churned = np.asarray(churned, dtype=bool)
    neglected = np.asarray(neglected, dtype=bool)
    core = np.asarray(core, dtype=bool)
    spend = np.asarray(spend, dtype=float)
    served = core & ~neglected
    notes: list[str] = []
    overlap = spend_overlap(spend, neglected, served)
    shares = overlap["share_in_other_range"].to_numpy(dtype=float)
    extrapolation = bool(not np.isfinite(shares).all() or shares.min() < THIN_OVERLAP)
    # --- flexible adjustment over the core
    x = np.log1p(np.clip(spend[core], 0, None))
    spline = {"odds_ratio": float("nan"), "odds_ratio_ci": (float("nan"), float("nan")),
              "odds_ratio_p_value": float("nan"), "df": int(spline_df), "n": int(core.sum())}  # fmt: skip
    if core.sum() > spline_df + 3 and len(np.unique(x)) > spline_df + 1:
        try:
            basis = _spline_basis(x, spline_df)
        except Exception as exc:  # too few distinct values for the knots
            notes.append(f"spline adjustment not possible: {type(exc).__name__}: {exc}")
        else:
            res, _summary, note = logit_odds_ratio(churned[core], neglected[core], basis, alpha)
            spline.update(res)
            if note:
                notes.append("spline adjustment: " + note)
    else:
        notes.append("spline adjustment not possible: too few core customers or spend values")
    # --- local comparison around the volume cut
    band = {"cut": float(volume_cut), "band_factor": float(band_factor)}
    if np.isfinite(volume_cut) and volume_cut > 0:
        low, high = volume_cut / band_factor, volume_cut * band_factor
        in_band = core & (spend >= low) & (spend <= high)
        a_m, b_m = in_band & neglected, in_band & served
        a, n1, c, n0 = int(churned[a_m].sum()), int(a_m.sum()), int(churned[b_m].sum()), int(b_m.sum())
        st = _two_group_stats(a, n1, c, n0, alpha)
        band.update({
            "low": low, "high": high, "n_neglected": n1, "n_served": n0,
            "churn_neglected": a / n1 if n1 else float("nan"),
            "churn_served": c / n0 if n0 else float("nan"),
            "risk_difference": st["risk_difference"],
            "risk_difference_ci": st["risk_difference_ci"],
            "risk_difference_p": st["risk_difference_p"],
        })  # fmt: skip
        if min(n1, n0) < 30:
            notes.append(
                f"band around the volume cut holds {n1} neglected and {n0} served core customers: "
                "too few for a precise local comparison"
            )
    else:
        notes.append("no positive volume cut: no local comparison")
        band.update({"low": math.nan, "high": math.nan, "n_neglected": 0, "n_served": 0,
                     "churn_neglected": math.nan, "churn_served": math.nan,
                     "risk_difference": math.nan, "risk_difference_ci": (math.nan, math.nan),
                     "risk_difference_p": math.nan})  # fmt: skip
    if extrapolation:
        notes.append(
            "neglected and served core share almost no calibration spend range (share inside the "
            f"other group's range: {shares[0]:.1%} / {shares[1]:.1%}); a spend-adjusted odds ratio "
            "extrapolates and is not evidence at equal spend"
        )
    return SpendAdjustment(overlap, extrapolation, spline, band, notes)
