"""Aligned inputs of the loss analysis: checks, exclusion counts, per-group table, lists."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmresearch import tiers as _tiers
from crmresearch._stats import wilson_ci
from crmresearch.errors import DataError


@dataclass
class _Inputs:
    """The analysed customers: aligned inputs and the exclusion counts (nothing dropped silently)."""

    index_values: pd.Series
    tier: pd.Series
    churned: np.ndarray
    rb: np.ndarray  # calibration revenue
    ra: np.ndarray  # holdout revenue
    excluded: dict
    n: int


def _aligned_inputs(index_values, volume_tier, outcomes, revenue_before, tops) -> _Inputs:
    """Check and align the four inputs on the index's customers; count every exclusion."""
    idx = _tiers._as_values(index_values, "index_values")
    vt = volume_tier if isinstance(volume_tier, pd.Series) else pd.Series(volume_tier)
    if "churned" not in outcomes.columns:
        raise DataError(
            "outcomes lack column 'churned'; compute them with "
            "crmresearch.features.holdout_outcomes(log, start=..., end=..., customers=...)"
        )
    if revenue_before is None:
        if "revenue_before" not in outcomes.columns:
            raise DataError(
                "potential_core_loss needs calibration revenue: pass revenue_before="
                "features['monetary'] (or add a 'revenue_before' column to outcomes)"
            )
        revenue_before = outcomes["revenue_before"]
    rev = _tiers._as_values(revenue_before, "revenue_before")
    if isinstance(vt.dtype, pd.CategoricalDtype):
        unknown = [t for t in tops if t not in list(vt.cat.categories)]
        if unknown:
            raise DataError(
                f"top_volume_tiers {unknown} are not tiers of volume_tier "
                f"({list(vt.cat.categories)})"
            )
    ids = idx.index
    excluded = {"no_index_value": int(idx.isna().sum())}
    keep = idx.notna()
    aligned = {}
    for reason, series in (
        ("no_volume_tier", vt),
        ("no_outcome", outcomes["churned"]),
        ("no_revenue_before", rev),
    ):
        aligned[reason] = series.reindex(ids)
        miss = keep & aligned[reason].isna()
        excluded[reason] = int(miss.sum())
        keep &= ~miss
    extra = {
        "volume_tier_without_index": int((~vt.index.isin(ids)).sum()),
        "outcome_without_index": int((~outcomes.index.isin(ids)).sum()),
    }
    excluded.update({k: v for k, v in extra.items() if v})
    n = int(keep.sum())
    if n == 0:
        raise DataError(
            "potential_core_loss: no customer has an index value, a volume tier, an outcome and "
            "calibration revenue; check that the four inputs share customer ids"
        )
    iv = idx[keep]
    ra = (
        outcomes["revenue"].reindex(iv.index).fillna(0.0).to_numpy()
        if "revenue" in outcomes.columns
        else np.full(n, np.nan)
    )
    return _Inputs(
        index_values=iv,
        tier=aligned["no_volume_tier"][keep].astype("object").astype(str),
        churned=aligned["no_outcome"][keep].astype(bool).to_numpy(),
        rb=aligned["no_revenue_before"][keep].to_numpy(),
        ra=ra,
        excluded=excluded,
        n=n,
    )


def _group_table(group, names, churned, rb, ra, alpha, run_rate: float = 1.0) -> pd.DataFrame:
    """One row per group code (position in ``names``): counts, churn + CI, revenue, at risk."""
    n = len(group)
    rows = []
    for g in range(len(names)):
        m = group == g
        ng, xg = int(m.sum()), int(churned[m].sum())
        lo, hi = wilson_ci(xg, ng, alpha)
        before = float(rb[m].sum())
        stopped = float(rb[m & churned].sum())
        rows.append(
            {
                "customers": ng,
                "share": ng / n,
                "churned": xg,
                "churn_rate": xg / ng if ng else float("nan"),
                "churn_ci_low": lo,
                "churn_ci_high": hi,
                "revenue_before": before,
                "revenue_after": float(ra[m].sum()),
                "revenue_at_risk": stopped * run_rate,
                "revenue_at_risk_share": stopped / before if before else float("nan"),
                # older names of the same calibration-window amount (kept for existing readers)
                "revenue_lost": stopped,
                "revenue_lost_share": stopped / before if before else float("nan"),
            }
        )
    return pd.DataFrame(rows, index=pd.Index(list(names), name="group"))


def _customer_list(member, iv, tier, churned, rb, ra) -> pd.DataFrame:
    """The customers of one group, best index rank first (raw ids; pseudonymized by the caller)."""
    ranks = iv.rank(ascending=False, method="min").astype(int)
    return pd.DataFrame(
        {
            "index_value": iv.to_numpy()[member],
            "index_rank": ranks.to_numpy()[member],
            "volume_tier": tier.to_numpy()[member],
            "revenue_before": rb[member],
            "churned": churned[member],
            "revenue_after": ra[member],
        },
        index=iv.index[member],
    ).sort_values("index_rank", kind="mergesort")


