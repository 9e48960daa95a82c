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
