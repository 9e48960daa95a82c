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


#: Fewest customers per group for which a churn comparison is stated as a finding.
MIN_GROUP_SIZE = 10


def _mn_restricted(a: int, n1: int, c: int, n0: int, d: float) -> tuple[float, float]:
    """MLE of ``(p1, p0)`` under ``p1 - p0 = d`` (Farrington-Manning cubic, Miettinen-Nurminen
    1985 appendix), with the arccos argument clipped against rounding near the bounds."""
    if d == 0:
        pooled = (a + c) / (n1 + n0)
        return pooled, pooled
    n, m = n1 + n0, a + c
    t3 = n
    t2 = (n1 + 2 * n0) * d - n - m
    t1 = (n0 * d - n - 2 * c) * d + m
    t0 = c * d * (1 - d)
    q = (t2 / (3 * t3)) ** 3 - t1 * t2 / (6 * t3**2) + t0 / (2 * t3)
    r = math.copysign(math.sqrt(max((t2 / (3 * t3)) ** 2 - t1 / (3 * t3), 0.0)), q)
    if r == 0:
        p0 = -t2 / (3 * t3)
    else:
        ang = (math.pi + math.acos(min(1.0, max(-1.0, q / r**3)))) / 3
        p0 = 2 * r * math.cos(ang) - t2 / (3 * t3)
    p0 = min(max(p0, max(0.0, -d)), min(1.0, 1.0 - d))
    return p0 + d, p0


def risk_difference_score(a: int, n1: int, c: int, n0: int, alpha: float = 0.05):
    """Difference of two proportions ``p1 - p0 = a/n1 - c/n0`` with the Miettinen-Nurminen score
    CI and the p-value of the SAME score test (the CI is the set of ``d0`` the test keeps).

    ``z(d0) = (p1 - p0 - d0) / sqrt(V(d0))``, ``V(d0) = (~p1 (1 - ~p1) / n1 + ~p0 (1 - ~p0) / n0)
    * n / (n - 1)`` with ``(~p1, ~p0)`` the MLE restricted to ``p1 - p0 = d0``; p =
    ``2 (1 - Phi(|z(0)|))``; the CI solves ``p(d0) = alpha`` on both sides of the estimate
    (-1 or +1 when the test keeps every value up to it). Unlike Wald it stays valid with 0 % or
    100 % in a group and for tiny groups. Returns ``(rd, ci_low, ci_high, p)``; NaNs when a
    group is empty; p = 1 when nobody varies and the estimate is 0 (0/n1 vs 0/n0, all vs all).

    References: Miettinen & Nurminen (1985), Stat Med 4:213-226. The p-value equals statsmodels
    ``test_proportions_2indep(..., compare="diff", method="score")`` (``value = 0``). The CI is
    not taken from ``confint_proportions_2indep(method="score")``: statsmodels 0.14 has
    ``count0`` for ``nobs0`` in the linear coefficient of the cubic (statsmodels issue #10269),
    so its restricted MLE is wrong for ``d0 != 0``, and its root search fails at 0 % / 100 %
    cells; this function uses the corrected cubic (checked against a direct numerical MLE).
    R: ``PropCIs::diffscoreci`` / ``DescTools::BinomDiffCI(method = "mn")``.
    """
    from scipy.optimize import brentq
    from scipy.stats import norm

    nan = float("nan")
    if n1 == 0 or n0 == 0:
        return nan, nan, nan, nan
    rd = a / n1 - c / n0
    n = n1 + n0

    def p_at(d0: float) -> float:
        q1, q0 = _mn_restricted(a, n1, c, n0, d0)
        var = (q1 * (1 - q1) / n1 + q0 * (1 - q0) / n0) * n / (n - 1)
        diff = rd - d0
        if var <= 0:
            return 1.0 if abs(diff) < 1e-12 else 0.0
        return float(2 * norm.sf(abs(diff) / math.sqrt(var)))

    def bound(end: float) -> float:
        if abs(end - rd) < 1e-12 or p_at(end) >= alpha:
            return end
        lo, hi = sorted((rd, end))
        return float(brentq(lambda d: p_at(d) - alpha, lo, hi, xtol=1e-10))

    return rd, bound(-1.0), bound(1.0), p_at(0.0)
