"""Small statistics shared by several analysis modules (one implementation each)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["holm", "wilson_ci"]


def holm(p) -> np.ndarray:
    """Holm step-down adjusted p-values; NaN entries are left NaN and not counted.

    ``p_(i) adjusted = max_{j <= i} min(1, (m - j + 1) p_(j))`` over the sorted p-values.
    Equals ``statsmodels.stats.multitest.multipletests(p, method="holm")[1]`` (which runs a full
    ``gc.collect()`` per call, slow inside loops). R: ``p.adjust(p, method = "holm")``.

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian
    Journal of Statistics* 6(2), 65–70.
    """
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m:
        order = ok[np.argsort(p[ok], kind="stable")]
        scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
        out[order] = np.maximum.accumulate(scaled)
    return out


def wilson_ci(count: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a proportion.

    ``(p + z²/2n ± z √(p(1−p)/n + z²/4n²)) / (1 + z²/n)``. Equals
    ``statsmodels.stats.proportion.proportion_confint(method="wilson")``; R:
    ``prop.test(x, n, correct = FALSE)$conf.int``. ``(nan, nan)`` when ``n == 0``.
    """
    if n == 0:
        return (float("nan"), float("nan"))
    from scipy.stats import norm

    z = norm.ppf(1 - alpha / 2)
    p = count / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def lorenz_points(x) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve of non-negative values: (customer share, value share), poorest first.

    ``L(i/n) = Σ_{k≤i} x_(k) / Σ x`` for ``i = 0..n`` with ``x_(1) ≤ … ≤ x_(n)``; all-zero values
    give the equality line. No input checks (callers validate). R: ``ineq::Lc(x)``.
    """
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    total = x.sum()
    cum = np.concatenate([[0.0], np.cumsum(x)])
    share = cum / total if total > 0 else np.linspace(0, 1, n + 1)
    return np.arange(n + 1) / n, share


def gini_coefficient(x) -> float:
    """Population Gini of non-negative values: ``2 Σ i x_(i) / (n Σ x) − (n + 1) / n``.

    All-zero values give 0. No input checks (callers validate). R: ``ineq::Gini(x, corr = FALSE)``.
    """
    x = np.sort(np.asarray(x, dtype=float))
    n = len(x)
    total = x.sum()
    if n == 0 or total == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(2.0 * (i * x).sum() / (n * total) - (n + 1.0) / n)
