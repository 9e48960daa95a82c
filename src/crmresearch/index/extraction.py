"""Unrotated loadings: exact principal components, or common factors by minres / ML."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from crmresearch.index._common import safe_inverse
from crmresearch.index._factor_analyzer import fit_common_factors

__all__ = ["extract", "principal_components", "minres_with_gradient"]


def principal_components(r: np.ndarray, n_factors: int) -> np.ndarray:
    """Loadings of the first ``n_factors`` principal components: ``V_k √λ_k`` (exact ``eigh``,
    as ``psych::principal``; factor_analyzer's randomized SVD is ≈ 2e-3 off)."""
    vals, vecs = np.linalg.eigh(r)
    order = np.argsort(vals)[::-1]
    vals = np.maximum(vals[order], np.finfo(float).eps)
    return vecs[:, order[:n_factors]] * np.sqrt(vals[:n_factors])


def extract(r: np.ndarray, n_factors: int, method: str) -> tuple[np.ndarray, dict]:
    """Unrotated loadings for ``method`` in ``pc``, ``minres``, ``ml``; returns
    ``(loadings, {"converged": bool, "messages": [...]})``."""
    if method == "pc":
        return principal_components(r, n_factors), {"converged": True, "messages": []}
    return _extract_common(r, n_factors, method)


def _extract_common(r: np.ndarray, n_factors: int, method: str) -> tuple[np.ndarray, dict]:
    # one name to patch in tests (a non-converging optimiser is hard to provoke on purpose)
    return fit_common_factors(r, n_factors, method)


def minres_with_gradient(r: np.ndarray, n_factors: int) -> np.ndarray:
    """psych's minres (``fac``: lower-triangle residual SS, gradient ``FAgr.minres``).

    factor_analyzer's optimiser uses finite differences (p + 1 eigendecompositions per step);
    parallel analysis fits hundreds of one-factor models, so it uses this analytic-gradient
    version instead. Same minimiser: tests compare its values with ``fa.parallel``'s.
    """
    p = r.shape[0]
    tril = np.tril_indices(p, -1)

    def loadings_for(psi):
        s = r.copy()
        np.fill_diagonal(s, 1 - psi)
        vals, vecs = np.linalg.eigh(s)
        vals, vecs = vals[::-1][:n_factors], vecs[:, ::-1][:, :n_factors]
        return vecs * np.sqrt(np.maximum(vals, 100 * np.finfo(float).eps))

    def objective(psi):
        L = loadings_for(psi)
        resid = (r - L @ L.T)[tril]
        return float(resid @ resid)

    def gradient(psi):
        L = loadings_for(psi)
        return (L**2).sum(1) + psi - 1

    smc = 1 - 1 / np.diag(safe_inverse(r))
    start = np.clip(1 - smc, 0.005, 1)
    res = minimize(objective, start, jac=gradient, method="L-BFGS-B", bounds=[(0.005, 1)] * p)
    return loadings_for(res.x)
