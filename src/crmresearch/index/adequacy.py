"""Sampling adequacy of a correlation matrix: Kaiser–Meyer–Olkin (overall and per item) and
Bartlett's test of sphericity."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from crmresearch.index._common import MSA_CUT, as_corr, safe_inverse

__all__ = ["kmo", "bartlett_sphericity", "low_msa"]


def kmo(R) -> tuple[float, pd.Series]:
    """Kaiser–Meyer–Olkin measure of sampling adequacy, overall and per item (MSA).

    ``MSA_j = Σ_{i≠j} r_ij² / (Σ_{i≠j} r_ij² + Σ_{i≠j} p_ij²)`` and
    ``KMO = Σ_{i≠j} r_ij² / (Σ_{i≠j} r_ij² + Σ_{i≠j} p_ij²)`` over all pairs, where
    ``p_ij = -R⁻¹_ij / √(R⁻¹_ii R⁻¹_jj)`` is the partial (anti-image) correlation.

    Parameters
    ----------
    R : DataFrame or array, (p, p) correlation matrix.

    Returns
    -------
    (float, Series) overall KMO and MSA per item.

    References
    ----------
    Kaiser, H. F. (1970). A second generation little jiffy. *Psychometrika* 35, 401–415.
    R: ``psych::KMO(R)`` (``$MSA``, ``$MSAi``). Unlike ``factor_analyzer.calculate_kmo`` this is
    correct for a correlation matrix (that function expects raw data).
    """
    r, names = as_corr(R)
    inv = safe_inverse(r)
    with np.errstate(invalid="ignore"):  # a non-positive-definite R gives NaN, not a crash
        d = np.sqrt(np.diag(inv))
        partial = -inv / np.outer(d, d)
    off = ~np.eye(len(r), dtype=bool)
    r2 = np.where(off, r**2, 0.0)
    p2 = np.where(off, partial**2, 0.0)
    msa = r2.sum(0) / (r2.sum(0) + p2.sum(0))
    overall = r2.sum() / (r2.sum() + p2.sum())
    return float(overall), pd.Series(msa, index=names, name="msa")


def low_msa(msa: pd.Series, cut: float = MSA_CUT) -> list[str]:
    """Indicators whose measure of sampling adequacy is below ``cut`` (Kaiser 1974: < 0.5 is
    unacceptable), lowest first. ``msa`` is the per-item Series of :func:`kmo`."""
    return list(msa[msa < cut].sort_values(kind="stable").index)


def bartlett_sphericity(R, n_obs: int) -> dict:
    """Bartlett's test that the correlation matrix is an identity matrix.

    ``χ² = −(n − 1 − (2p + 5)/6) · ln|R|``, ``df = p(p − 1)/2``.

    Returns
    -------
    dict with ``chi2``, ``df``, ``p_value``.

    References
    ----------
    Bartlett, M. S. (1951). The effect of standardization on a χ² approximation in factor
    analysis. *Biometrika* 38, 337–344. R: ``psych::cortest.bartlett(R, n = n_obs)``.
    """
    r, _ = as_corr(R)
    p = r.shape[0]
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0:
        return {"chi2": float("nan"), "df": p * (p - 1) // 2, "p_value": float("nan")}
    chi2 = -(n_obs - 1 - (2 * p + 5) / 6) * logdet
    df = p * (p - 1) // 2
    return {"chi2": float(chi2), "df": int(df), "p_value": float(stats.chi2.sf(chi2, df))}
