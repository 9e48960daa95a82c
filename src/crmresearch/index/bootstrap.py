"""Stability of a fitted index under resampling of customers."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone

from crmresearch.index.rotation import tucker_congruence

__all__ = ["BootstrapResult", "bootstrap"]


@dataclass
class BootstrapResult:
    """Stability of a fitted index under resampling of customers (see ``ClassificationIndex.bootstrap``).

    Attributes
    ----------
    loadings_ci : DataFrame
        One row per (indicator, factor): ``estimate``, ``ci_low``, ``ci_high`` (percentile),
        ``boot_se``.
    congruence : DataFrame
        Tucker congruence of each bootstrap factor with the original (rows = replicates).
    tier_stability : float
        Mean share of customers whose composite quintile in a replicate equals the original one.
    n_boot, seed
    """

    loadings_ci: pd.DataFrame
    congruence: pd.DataFrame
    tier_stability: float
    tier_stability_per_replicate: pd.Series
    n_boot: int
    seed: int | None

    def summary(self) -> str:
        cong = self.congruence.agg(["mean", "min"]).T
        lines = [
            f"Bootstrap of the classification index ({self.n_boot} replicates, seed {self.seed})",
            "Tucker congruence with the original factors (≥ 0.95 = same factor):",
            cong.round(3).to_string(),
            f"Share of customers in the same composite quintile: {self.tier_stability:.3f}",
        ]
        return "\n".join(lines)


def _quintile(values: np.ndarray) -> np.ndarray:
    ranks = stats.rankdata(values, method="ordinal")
    return np.ceil(ranks / len(values) * 5).astype(int)


def _matched(base: np.ndarray, L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replicate loadings re-ordered and sign-aligned to ``base`` (Hungarian assignment on
    |Tucker congruence|), and the congruence of each matched pair."""
    k = base.shape[1]
    c = tucker_congruence(base, L)
    rows, cols = linear_sum_assignment(-np.abs(c))
    perm = cols[np.argsort(rows)]
    sgn = np.sign(c[np.arange(k), perm])
    sgn[sgn == 0] = 1
    return L[:, perm] * sgn, np.abs(c[np.arange(k), perm])


def bootstrap(
    index, X: pd.DataFrame, n_boot: int = 200, seed: int | None = 0, ci: float = 0.95
) -> BootstrapResult:
    """Resample customers with replacement, refit with the same settings and ``n_factors_``.

    Each replicate's factors are matched to the original ones (Hungarian assignment on
    |Tucker congruence|) and sign-aligned; percentile CIs of the loadings, congruence per
    factor, and the share of customers (of ``X``) whose composite quintile is unchanged.
    """
    template = clone(index).set_params(n_factors=index.n_factors_, directions=index.directions_)
    base = index.loadings_.to_numpy()
    k = index.n_factors_
    rng = np.random.default_rng(seed)
    original_tier = _quintile(index.composite(X).to_numpy())
    n = len(X)
    draws = np.empty((n_boot,) + base.shape)
    cong = np.empty((n_boot, k))
    stable = np.empty(n_boot)
    for b in range(n_boot):
        sample = X.iloc[rng.integers(0, n, n)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = clone(template).fit(sample)
            draws[b], cong[b] = _matched(base, rep.loadings_.to_numpy())
            stable[b] = np.mean(_quintile(rep.composite(X).to_numpy()) == original_tier)
    alpha = (1 - ci) / 2
    lo = np.quantile(draws, alpha, axis=0)
    hi = np.quantile(draws, 1 - alpha, axis=0)
    se = draws.std(0, ddof=1)
    rows = [
        (item, f, base[i, j], lo[i, j], hi[i, j], se[i, j])
        for i, item in enumerate(index.columns_)
        for j, f in enumerate(index.loadings_.columns)
    ]
    ci_frame = pd.DataFrame(
        rows, columns=["indicator", "factor", "estimate", "ci_low", "ci_high", "boot_se"]
    )
    return BootstrapResult(
        loadings_ci=ci_frame,
        congruence=pd.DataFrame(cong, columns=index.loadings_.columns),
        tier_stability=float(stable.mean()),
        tier_stability_per_replicate=pd.Series(stable, name="tier_stability"),
        n_boot=n_boot,
        seed=seed,
    )
