"""How the neglected-core finding depends on the core share."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["core_share_sensitivity", "DEFAULT_CORE_SHARES"]

DEFAULT_CORE_SHARES = (0.05, 0.10, 0.20, 0.30)

COLUMNS = [
    "core_share", "equal_size", "core_customers", "neglected", "neglected_share",
    "minimum_by_construction", "churn_neglected", "churn_served", "risk_difference", "ci_low",
    "ci_high", "p_value", "odds_ratio_adjusted", "odds_ratio_adjusted_ci_low",
    "odds_ratio_adjusted_ci_high", "odds_ratio_spline", "odds_ratio_spline_ci_low",
    "odds_ratio_spline_ci_high", "extrapolation",
]  # fmt: skip


def core_share_sensitivity(index_values, volume_tier, outcomes: pd.DataFrame,
                           shares: Sequence[float] = DEFAULT_CORE_SHARES,
                           top_volume_tiers: Sequence[str] = ("A",), *, revenue_before=None,
                           alpha: float = 0.05, include_equal_size: bool = True,
                           **kwargs) -> pd.DataFrame:  # fmt: skip
    """The neglected-vs-served comparison for several core shares, one row per share.

    Each row is :func:`crmresearch.loss.potential_core_loss` with that ``core_share``; the
    equal-size share (core = as many customers as the top volume tiers, ``equal_size = True``)
    is added unless ``include_equal_size=False``. A requested share giving a core of the same
    size is listed once, as the equal-size row (its ``same_as_share``).

    Returns
    -------
    DataFrame
        ``core_share``, ``equal_size``, ``core_customers``, ``neglected``, ``neglected_share``
        (of the core), ``minimum_by_construction`` (``max(0, core - top) / core``),
        ``churn_neglected``, ``churn_served``, ``risk_difference`` with ``ci_low``/``ci_high``
        and ``p_value`` (one score test), ``odds_ratio_adjusted`` (logit with linear log spend)
        and ``odds_ratio_spline`` (natural spline of log spend) with their CIs, ``extrapolation`` (spend overlap too thin for the adjusted estimate), sorted by
        core share.
    """
    from crmresearch.loss.core import potential_core_loss

    kwargs.setdefault("pseudonymize", False)  # lists are not needed here
    runs = [(float(s), False) for s in shares]
    if include_equal_size:
        runs.append((None, True))
    rows = []
    for share, equal in runs:
        r = potential_core_loss(index_values, volume_tier, outcomes, core_share=share,
                                top_volume_tiers=top_volume_tiers, revenue_before=revenue_before,
                                alpha=alpha, **kwargs)  # fmt: skip
        c = r.comparison
        g = r.groups
        rows.append({
            "core_share": r.core_share, "equal_size": equal, "core_customers": r.core_customers,
            "neglected": int(g.loc["neglected_core", "customers"]),
            "neglected_share": r.neglected_share,
            "minimum_by_construction": r.minimum_by_construction,
            "churn_neglected": g.loc["neglected_core", "churn_rate"],
            "churn_served": g.loc["served_core", "churn_rate"],
            "risk_difference": c["risk_difference"],
            "ci_low": c["risk_difference_ci"][0], "ci_high": c["risk_difference_ci"][1],
            "p_value": c["risk_difference_p"],
            "odds_ratio_adjusted": c["odds_ratio_adjusted"],
            "odds_ratio_adjusted_ci_low": c["odds_ratio_adjusted_ci"][0],
            "odds_ratio_adjusted_ci_high": c["odds_ratio_adjusted_ci"][1],
            "odds_ratio_spline": c["odds_ratio_spline"],
            "odds_ratio_spline_ci_low": c["odds_ratio_spline_ci"][0],
            "odds_ratio_spline_ci_high": c["odds_ratio_spline_ci"][1],
            "extrapolation": bool(r.adjustment.extrapolation),
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=COLUMNS)
    # a requested share whose core has as many customers as the equal-size core (e.g. 0.05
    # when tier A holds floor(0.05 n)) is the same comparison: list it once, as the equal-size
    # row, and say which requested share it also is (``same_as_share``)
    out["same_as_share"] = np.nan
    if out["equal_size"].any():
        eq = out.index[out["equal_size"]][0]
        dup = (out["core_customers"] == out.loc[eq, "core_customers"]) & ~out["equal_size"]
        if dup.any():
            out.loc[eq, "same_as_share"] = float(out.loc[dup, "core_share"].iloc[0])
        out = out[~dup]
    out = out.sort_values("core_share", kind="mergesort").reset_index(drop=True)
    out.attrs["alpha"] = alpha
    return out


def sensitivity_records(table: pd.DataFrame) -> list[dict]:
    """``metrics.json`` form: a list of dicts (NaN -> None)."""
    recs = []
    for row in table.to_dict(orient="records"):
        recs.append({k: (None if isinstance(v, float) and not np.isfinite(v) else
                         (bool(v) if isinstance(v, (bool, np.bool_)) else
                          (int(v) if isinstance(v, (np.integer,)) else
                           (float(v) if isinstance(v, (np.floating, float)) else v))))
                     for k, v in row.items()})  # fmt: skip
    return recs
