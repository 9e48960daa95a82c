"""Tier profiles: indicator means/medians per tier, Kruskal-Wallis and pairwise tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from crmresearch._stats import holm
from crmresearch.compare._common import _as_tiers
from crmresearch.errors import DataError


# --------------------------------------------------------------------------------------------
# tier profiles
# --------------------------------------------------------------------------------------------
@dataclass
class TierProfiles:
    """Result of :func:`tier_profiles`."""

    means: pd.DataFrame  # tiers x indicators
    medians: pd.DataFrame
    counts: pd.Series
    kruskal: pd.DataFrame  # per indicator: H, df, p_value, p_holm
    pairwise: pd.DataFrame  # indicator, tier_a, tier_b, U, p_value, p_holm
    n_excluded: int

    def summary(self) -> str:
        return "\n".join(
            [
                f"Tier profiles ({int(self.counts.sum())} customers; {self.n_excluded} without tier "
                "excluded)",
                "",
                "Customers per tier:",
                self.counts.to_string(),
                "",
                "Means:",
                self.means.round(3).to_string(),
                "",
                "Medians:",
                self.medians.round(3).to_string(),
                "",
                "Kruskal-Wallis across tiers (Holm over indicators):",
                self.kruskal.round(4).to_string(),
            ]
        )


def tier_profiles(features: pd.DataFrame, tiers, *, indicators: Sequence[str] | None = None):
    """Mean and median of each indicator per tier with Kruskal-Wallis and pairwise tests.

    Parameters
    ----------
    features : DataFrame
        Customers x indicators (numeric columns are used unless ``indicators`` is given).
    tiers : Series
        Tiers for the same customers.

    Returns
    -------
    TierProfiles
        ``means``/``medians`` (tiers x indicators), ``kruskal`` (per indicator ``H``, ``df``,
        ``p_value``, ``p_holm`` = Holm-adjusted over indicators) and ``pairwise`` (every pair of
        non-empty tiers per indicator: two-sided Mann-Whitney ``U`` of the first tier,
        ``p_value``, ``p_holm`` = Holm-adjusted within the indicator's family of pairs).

    Notes
    -----
    Customers without a tier are excluded and counted; NaN indicator values are skipped per
    indicator. Tests need at least two non-empty tiers; otherwise NaN.
    R: ``kruskal.test(x ~ tier)``; ``pairwise.wilcox.test(x, tier, p.adjust.method = "holm")``.
    """
    t = _as_tiers(tiers, "tiers").reindex(features.index)
    n_excluded = int(t.isna().sum())
    cols = list(indicators) if indicators is not None else [
        c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])
        and not pd.api.types.is_bool_dtype(features[c])
    ]  # fmt: skip
    missing = [c for c in cols if c not in features.columns]
    if missing:
        raise DataError(f"tier_profiles: features lack column(s) {missing}")
    data = features.loc[t.notna(), cols].astype("float64")
    tt = t[t.notna()]
    grouped = data.groupby(tt, observed=False)
    means = grouped.mean()
    medians = grouped.median()
    counts = tt.value_counts(sort=False).reindex(t.cat.categories, fill_value=0)
    counts.name = "customers"
    kw_rows, pair_rows = [], []
    for col in cols:
        groups = {lab: data.loc[tt == lab, col].dropna().to_numpy() for lab in t.cat.categories}
        groups = {k: v for k, v in groups.items() if len(v) > 0}
        if len(groups) >= 2 and len(np.unique(np.concatenate(list(groups.values())))) > 1:
            h, p = stats.kruskal(*groups.values())
        else:
            h, p = float("nan"), float("nan")
        kw_rows.append({"indicator": col, "H": h, "df": len(groups) - 1, "p_value": p})
        fam = []
        for la, lb in combinations(groups.keys(), 2):
            xa, xb = groups[la], groups[lb]
            if len(np.unique(np.concatenate([xa, xb]))) > 1:
                u, pu = stats.mannwhitneyu(xa, xb, alternative="two-sided")
            else:
                u, pu = float("nan"), float("nan")
            fam.append({"indicator": col, "tier_a": la, "tier_b": lb, "U": u, "p_value": pu})
        adj = holm([r["p_value"] for r in fam])  # NaN p-values stay NaN, not counted
        for r, a_ in zip(fam, adj, strict=True):
            r["p_holm"] = a_
        pair_rows += fam
    kruskal = pd.DataFrame(kw_rows).set_index("indicator")
    kruskal["p_holm"] = holm(kruskal["p_value"].to_numpy(dtype=float))
    pairwise = pd.DataFrame(
        pair_rows, columns=["indicator", "tier_a", "tier_b", "U", "p_value", "p_holm"]
    )
    return TierProfiles(means, medians, counts, kruskal, pairwise, n_excluded)
