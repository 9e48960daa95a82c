"""factor_analyzer compatibility: every use of factor_analyzer 0.5.1, and every work-around for it.

factor_analyzer is used where it is right: its minres/ML objective and optimiser
(``_fit_factor_analysis``) and the oblimin ``Rotator`` (a port of GPArotation's GPFoblq). The
rest is computed in this package, for these measured faults (checked against R psych 2.2.9):

* ``FactorAnalyzer.fit``/``transform`` call scikit-learn's ``check_array(force_all_finite=...)``,
  removed in scikit-learn 1.8 → ``TypeError``. We never call them: :func:`fit_common_factors`
  calls the optimiser on a correlation matrix, a path that does not touch ``check_array``.
  ``tests/test_index.py::test_upstream_factor_analyzer_fit_still_broken`` (strict xfail)
  starts to XPASS, and so fails, when upstream fixes this: then use ``FactorAnalyzer.fit``.
* Its ``method="principal"`` is a randomized SVD (≈ 2e-3 off) → exact PCA with ``numpy.linalg.eigh``
  (``extraction.py``).
* Its varimax stops after 500 steps where R allows 1000, and its promax has no ``stats::promax``
  variant → both are ported from R in ``rotation.py``.
* ``phi_`` is not re-ordered when loadings are sorted; oblique communalities and variance use the
  pattern only (psych: ``diag(LΦLᵀ)``, ``diag(ΦLᵀL)``); ``transform`` standardizes with ddof = 0
  (psych: ddof = 1) → computed in ``estimator.py``.
* ``calculate_kmo``/``calculate_bartlett_sphericity`` silently give wrong values for a correlation
  matrix (they expect raw data) → ``adequacy.py``.
"""

from __future__ import annotations

import warnings

import numpy as np


def fit_common_factors(r: np.ndarray, n_factors: int, method: str) -> tuple[np.ndarray, dict]:
    """Unrotated minres / ML loadings like psych::fa (SMC start, bounds 0.005–1, L-BFGS-B).

    Returns ``(loadings, {"converged": bool, "messages": [str]})``.
    """
    from factor_analyzer import FactorAnalyzer

    fa = FactorAnalyzer(
        n_factors=n_factors, rotation=None, method=method, use_smc=True, bounds=(0.005, 1)
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # the objective writes into its argument's diagonal: give it a copy
        loadings = fa._fit_factor_analysis(r.copy())
    messages = [str(w.message) for w in caught if "converge" in str(w.message).lower()]
    return np.asarray(loadings, dtype=float), {"converged": not messages, "messages": messages}


def oblimin(loadings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Direct oblimin (gamma = 0, no Kaiser normalization) as ``GPArotation::oblimin(L)``, which
    ``psych::fa(rotate = "oblimin")`` calls; returns (pattern, Φ)."""
    from factor_analyzer import Rotator

    rot = Rotator(method="oblimin", normalize=False, max_iter=1000)
    pattern = np.asarray(rot.fit_transform(loadings), dtype=float)
    return pattern, np.asarray(rot.phi_, dtype=float)
