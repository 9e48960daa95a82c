"""Small helpers shared by the index modules: matrix input, safe inverse, BLAS threads, signs."""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd

METHODS = ("pc", "minres", "ml")
ROTATIONS = (None, "varimax", "promax", "oblimin")
OBLIQUE = ("promax", "oblimin")
# A "salient" loading (Stevens; Hair et al.: |loading| ≥ 0.40 is important): factors are named
# after, and judged by, these. The loadings table blanks only below 0.30 so more is visible.
SALIENT_LOADING = 0.40
# Kaiser (1974): an indicator whose measure of sampling adequacy is below 0.5 is "unacceptable".
MSA_CUT = 0.5


class IndexWarning(UserWarning):
    """A diagnostic about the factor solution (adequacy, Heywood case, convergence, sample size)."""


def as_corr(R) -> tuple[np.ndarray, list[str]]:
    """A correlation matrix as (array, names); unnamed columns become ``x1, x2, ...``."""
    if isinstance(R, pd.DataFrame):
        return R.to_numpy(dtype=float), [str(c) for c in R.columns]
    arr = np.asarray(R, dtype=float)
    return arr, [f"x{i + 1}" for i in range(arr.shape[1])]


def safe_inverse(r: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(r)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(r)


def single_thread_blas():
    # p × p problems (p ≈ 10–30) gain nothing from BLAS threads and lose a lot on a busy
    # machine (measured 3.5× slower L-BFGS-B with 2 threads under load).
    try:
        from threadpoolctl import threadpool_limits  # ships with scikit-learn
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def rows_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for tall ``a`` (n × p) and small ``b``, computed as ``(bᵀ aᵀ)ᵀ``.

    Same numbers; on a busy 2-core machine threaded BLAS took 0.56 s for 1 M × 12 @ 12 × 3 in
    the ``a @ b`` orientation and 0.05 s in this one.
    """
    if b.ndim == 1:
        return b @ a.T
    return (b.T @ a.T).T


def col_signs(m: np.ndarray) -> np.ndarray:
    """+1/−1 per column so that each column sums to a positive number (psych's sign rule)."""
    s = np.sign(m.sum(0))
    s[s == 0] = 1
    return s


def signed_log(x: np.ndarray) -> np.ndarray:
    # log1p that also accepts net negative amounts (returns): sign(x)·log(1 + |x|)
    return np.sign(x) * np.log1p(np.abs(x))
