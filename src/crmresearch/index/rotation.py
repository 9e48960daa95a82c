"""Rotations as R does them: varimax (``stats::varimax``), promax (``stats::promax`` or psych's
Kaiser-normalized variant) and oblimin (GPArotation, via the factor_analyzer layer); Tucker
congruence to match factors."""

from __future__ import annotations

import numpy as np

from crmresearch.index._factor_analyzer import oblimin

__all__ = ["rotate", "tucker_congruence", "rotation_stopped_early"]


def tucker_congruence(a, b) -> np.ndarray:
    """Tucker's congruence coefficient between the columns of two loading matrices.

    ``φ(x, y) = Σ xᵢyᵢ / √(Σ xᵢ² · Σ yᵢ²)``; returns the (k_a, k_b) matrix.
    ≥ 0.95: factors are equal; 0.85–0.94: fair similarity (Lorenzo-Seva & ten Berge, 2006).
    R: ``psych::factor.congruence(a, b)``.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    num = a.T @ b
    den = np.sqrt(np.outer((a**2).sum(0), (b**2).sum(0)))
    return num / den


def _varimax(x: np.ndarray, rule: str = "r"):
    """Varimax with Kaiser normalization by R's SVD iteration; returns (loadings, rotation).

    ``rule="r"``: R ``stats::varimax(x, normalize = TRUE, eps = 1e-5)`` — stop when the sum of
    singular values (a surrogate of the criterion) gains < 1e-5 relatively, at most 1000 steps.
    With two nearly tied factors (unrotated axes near the criterion's minimum) that surrogate
    stalls and R stops far from the maximum. ``rule="max"``: Kaiser's (1958) pairwise planar
    rotations with the closed-form optimal angle, swept until no angle exceeds 1e-12 — reaches
    the maximum in a few sweeps from any start.
    """
    if rule == "max":
        return _varimax_pairwise(x)
    eps, max_iter = 1e-5, 1000
    k = x.shape[1]
    sc = np.sqrt((x**2).sum(1))
    xn = x / sc[:, None]
    p = xn.shape[0]
    T = np.eye(k)
    d = 0.0
    for _ in range(max_iter):
        z = xn @ T
        B = xn.T @ (z**3 - z * ((z**2).sum(0) / p))
        u, sv, vt = np.linalg.svd(B)
        T = u @ vt
        d_past, d = d, sv.sum()
        if d < d_past * (1 + eps):
            break
    return (xn @ T) * sc[:, None], T


def _varimax_pairwise(x: np.ndarray, tol: float = 1e-12, max_sweeps: int = 500):
    """Kaiser-normalized varimax by pairwise rotations (Kaiser 1958; Harman 1976, ch. 14)."""
    k = x.shape[1]
    sc = np.sqrt((x**2).sum(1))
    z = x / sc[:, None]
    p = z.shape[0]
    T = np.eye(k)
    for _ in range(max_sweeps):
        largest = 0.0
        for i in range(k - 1):
            for j in range(i + 1, k):
                a, b = z[:, i], z[:, j]
                u, v = a**2 - b**2, 2 * a * b
                A, B = u.sum(), v.sum()
                num = 2 * (u @ v) - 2 * A * B / p
                den = (u @ u - v @ v) - (A**2 - B**2) / p
                phi = np.arctan2(num, den) / 4
                largest = max(largest, abs(phi))
                c, s = np.cos(phi), np.sin(phi)
                R = np.array([[c, -s], [s, c]])
                z[:, [i, j]] = z[:, [i, j]] @ R
                T[:, [i, j]] = T[:, [i, j]] @ R
        if largest < tol:
            break
    return z * sc[:, None], T


def _promax(x: np.ndarray, m: int = 4, kaiser: bool = False, rule: str = "r"):
    """Promax: R ``stats::promax`` (``kaiser=False``, used by ``psych::principal``) or psych's
    ``kaiser(f, rotate = "Promax")`` (``kaiser=True``, used by ``psych::fa``): rows are
    normalized to unit length around the whole rotation. Returns (pattern, Φ)."""
    h = np.sqrt((x**2).sum(1))[:, None] if kaiser else 1.0
    xv, T = _varimax(x / h, rule=rule)
    q = xv * np.abs(xv) ** (m - 1)
    u = np.linalg.lstsq(xv, q, rcond=None)[0]
    u = u @ np.diag(np.sqrt(np.diag(np.linalg.inv(u.T @ u))))
    ui = np.linalg.inv(T @ u)
    phi = ui @ ui.T
    s = np.sqrt(np.diag(phi))
    return (xv @ u) * h, phi / np.outer(s, s)


def rotate(loadings: np.ndarray, rotation: str | None, method: str, rule: str = "r"):
    """Rotate like psych; returns (pattern, Φ). ``rule`` is the varimax stopping rule."""
    k = loadings.shape[1]
    if rotation is None or k < 2:
        return loadings.copy(), np.eye(k)
    if rotation == "varimax":
        return _varimax(loadings, rule=rule)[0], np.eye(k)
    if rotation == "promax":
        return _promax(loadings, kaiser=method != "pc", rule=rule)
    # oblimin: psych calls GPArotation::oblimin(L) (normalize = FALSE, gamma = 0); factor_analyzer's
    # Rotator ports GPArotation's GPFoblq and agrees with it (tests/test_index_reference.py).
    return oblimin(loadings)


def rotation_stopped_early(loadings, rotation, method, rule) -> float:
    """Largest loading change if the rotation's varimax step is iterated to its maximum."""
    if rotation not in ("varimax", "promax") or loadings.shape[1] < 2 or rule == "max":
        return 0.0
    a, _ = rotate(loadings, rotation, method, "r")
    b, _ = rotate(loadings, rotation, method, "max")
    tc = np.abs(tucker_congruence(a, b))
    perm = tc.argmax(1)
    return float(np.abs(np.abs(a) - np.abs(b[:, perm])).max())
