"""The :class:`ClassificationIndex` estimator: indicators → adequacy → retained factors →
rotated loadings → factor scores → composite index.

Numbers agree with R ``psych`` 2.2.9 (``tests/r/reference.R``; tolerance 1e-3, in practice
≤ 1e-5): ``method="pc"`` with ``psych::principal``, ``"minres"``/``"ml"`` with ``psych::fa``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from crmresearch.errors import DataError
from crmresearch.index._common import (
    METHODS,
    MSA_CUT,
    ROTATIONS,
    IndexWarning,
    as_corr,
    col_signs,
    rows_dot,
    single_thread_blas,
)
from crmresearch.index.adequacy import bartlett_sphericity, kmo, low_msa
from crmresearch.index.bootstrap import bootstrap as run_bootstrap
from crmresearch.index.extraction import extract
from crmresearch.index.naming import name_factors, single_indicator_factors
from crmresearch.index.persistence import from_dict, load, save, to_dict
from crmresearch.index.preparation import (
    Prep,
    check_collinear,
    imputed_shares,
    missing_policy,
    moments,
    prepare,
    to_matrix,
)
from crmresearch.index.retention import (
    DEFAULT_PARALLEL_ITER,
    n_by_rule,
    parallel_analysis,
)
from crmresearch.index.rotation import rotate, rotation_stopped_early
from crmresearch.index.tables import loadings_table, summary_text, variance_table

__all__ = ["ClassificationIndex"]

_NOT_FITTED = "this %(name)s is not fitted yet; call fit(X) first"


class ClassificationIndex(BaseEstimator):
    """Factor-analytic customer classification index (a scikit-learn estimator).

    Parameters
    ----------
    n_factors : int, "kaiser", "parallel" or float in (0, 1)
        Factors to retain: a number; eigenvalues > 1 (Kaiser); Horn's parallel analysis
        (PC eigenvalues for ``method="pc"``, reduced-matrix eigenvalues for minres/ml, like
        psych's ``ncomp``/``nfact``); or the smallest number reaching that cumulative share of
        variance.
    method : "pc", "minres" or "ml"
        Exact principal components (SPSS "principal components", ``psych::principal``) or
        common-factor minres/ML (``psych::fa``).
    rotation : None, "none", "varimax", "promax" or "oblimin"
        The rotation used is stored in ``rotation_`` ("none" → None); the parameter is kept.
    score_method : "regression" (Thurstone) or "bartlett"
    weights : "rotated" or "initial"
        Composite weights: each factor's share of the rotated SS loadings, or of the unrotated
        eigenvalues (SPSS "initial eigenvalues").
    directions : dict, optional
        ``{indicator: +1 | -1}``; overrides ``crmresearch.features.INDICATORS``. Cost indicators
        (−1, e.g. ``recency_days``, ``return_rate``) are reversed before the analysis so that
        every indicator points to "more valuable".
    log_transform : list of str, optional
        Indicators to transform with ``sign(x)·log(1+|x|)`` first (skewed money/count columns).
    missing : None, "listwise" or "pairwise"
        NaNs raise a ``DataError`` unless you choose: drop incomplete rows (counted and warned),
        or pairwise correlations (rows with NaN get NaN scores).
    parallel_iter, seed : parallel-analysis simulation size and seed.
    varimax : "r" or "max"
        Stopping rule of the varimax step (also inside promax): ``"r"`` as R's
        ``stats::varimax`` and therefore psych (default, for agreement with R); ``"max"``
        iterates to the criterion's maximum. With "r", a warning says when the maximum would move
        a loading by more than 0.01 (R's rule stalls when two factors are nearly tied).

    Attributes
    ----------
    imputed_share_ (share of rows imputed per indicator before fitting, from
    ``X.attrs["filled"]`` as ``crmresearch.features.apply_config`` records it; NaN after
    ``fit_correlation``), kmo_, msa_, low_msa_ (indicators with MSA < 0.5), bartlett_, determinant_, eigenvalues_,
    n_factors_, rotation_, loadings_ (pattern), structure_, phi_, communalities_, uniquenesses_,
    variance_, score_coefficients_, composite_weights_, factor_names_, correlation_, n_obs_,
    warnings_, parallel_ (if used), mean_, scale_ (ddof = 1), n_excluded_.

    Notes
    -----
    Factors are ordered by explained variance (oblique: ``diag(Φ LᵀL)`` as psych) and each
    factor is signed so that its loadings sum to a positive number (psych's rule: the larger
    loadings are positive). Oblique communalities are ``diag(L Φ Lᵀ)``.
    ``BaseEstimator`` is inherited for parameter handling only (``get_params``, ``set_params``,
    ``sklearn.base.clone``); ``fit`` never changes a parameter.
    """

    def __init__(
        self,
        n_factors="parallel",
        method: str = "pc",
        rotation: str | None = "varimax",
        score_method: str = "regression",
        weights: str = "rotated",
        *,
        directions: dict | None = None,
        log_transform: list[str] | tuple[str, ...] | None = None,
        missing: str | None = None,
        parallel_iter: int = DEFAULT_PARALLEL_ITER,
        seed: int | None = 0,
        varimax: str = "r",
    ):
        self.n_factors = n_factors
        self.method = method
        self.rotation = rotation
        self.score_method = score_method
        self.weights = weights
        self.directions = directions
        self.log_transform = log_transform
        self.missing = missing
        self.parallel_iter = parallel_iter
        self.seed = seed
        self.varimax = varimax

    # -- parameters ------------------------------------------------------------------------
    def _used_rotation(self) -> str | None:
        """The rotation parameter as used: "none" means None."""
        return None if self.rotation in (None, "none") else self.rotation

    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {self.method!r}")
        if self._used_rotation() not in ROTATIONS:
            raise ValueError(f"rotation must be one of {ROTATIONS}, got {self.rotation!r}")
        if self.score_method not in ("regression", "bartlett"):
            raise ValueError(
                f"score_method must be 'regression' or 'bartlett', got {self.score_method!r}"
            )
        if self.weights not in ("rotated", "initial"):
            raise ValueError(f"weights must be 'rotated' or 'initial', got {self.weights!r}")
        if self.varimax not in ("r", "max"):
            raise ValueError(f"varimax must be 'r' or 'max', got {self.varimax!r}")
        if self.missing not in (None, "listwise", "pairwise"):
            raise ValueError(
                f"missing must be None, 'listwise' or 'pairwise', got {self.missing!r}"
            )
        nf = self.n_factors
        ok = (
            nf in ("kaiser", "parallel")
            or (isinstance(nf, (int, np.integer)) and not isinstance(nf, bool) and nf >= 1)
            or (isinstance(nf, float) and 0 < nf < 1)
        )
        if not ok:
            raise ValueError(
                "n_factors must be a positive int, 'kaiser', 'parallel' or a cumulative-variance "
                f"target in (0, 1); got {nf!r}"
            )

    # -- preparing the data ------------------------------------------------------------------
    def _set_prep(self, prep: Prep) -> None:
        self.rotation_ = self._used_rotation()
        self.columns_ = prep.columns
        self.directions_ = prep.directions
        self.log_columns_ = prep.log_columns
        self.labels_ = prep.labels
        self._warnings: list[str] = []

    def _prep(self) -> Prep:
        return Prep(self.columns_, self.directions_, self.log_columns_, self.labels_)

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y=None) -> ClassificationIndex:
        """Fit on raw indicators (rows = customers, columns = indicators)."""
        self._check_params()
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X, dtype=float))
            X.columns = [f"x{i + 1}" for i in range(X.shape[1])]
        columns = [str(c) for c in X.columns]
        X = X.set_axis(columns, axis=1)
        if len(columns) < 3:
            raise DataError(
                f"need at least 3 indicators for a factor analysis, got {len(columns)}: {columns}"
            )
        self._set_prep(prepare(columns, self.directions, self.log_transform))
        self.imputed_share_ = imputed_shares(X, columns)
        arr, complete, self.n_excluded_, note = missing_policy(
            X, to_matrix(X, self._prep()), columns, self.missing
        )
        if note:
            self._warn(note)
        n, p = arr.shape
        if n <= p:
            raise DataError(
                f"too few rows: {n} complete row(s) for {p} indicators; a factor analysis needs "
                f"more rows than indicators (at least {5 * p} recommended)"
            )
        self.mean_, self.scale_, r = moments(arr, columns, complete)
        self._fit_matrix(r, n, columns)
        filled = arr if complete else np.where(np.isfinite(arr), arr, self.mean_.to_numpy())
        self._fit_composite(arr, self._scores(filled))
        self._emit()
        return self

    def fit_correlation(self, R, n_obs: int) -> ClassificationIndex:
        """Fit on a correlation matrix (no scores: there are no customers to score)."""
        self._check_params()
        r, columns = as_corr(R)
        if r.ndim != 2 or r.shape[0] != r.shape[1]:
            raise DataError(f"correlation matrix must be square, got shape {r.shape}")
        if not np.allclose(r, r.T, atol=1e-8) or not np.allclose(np.diag(r), 1, atol=1e-6):
            raise DataError("not a correlation matrix: it must be symmetric with a unit diagonal")
        if np.isnan(r).any():
            raise DataError("correlation matrix contains NaN")
        if len(columns) < 3:
            raise DataError(f"need at least 3 indicators, got {len(columns)}")
        if n_obs <= len(columns):
            raise DataError(f"n_obs = {n_obs} must exceed the number of indicators {len(columns)}")
        prep = prepare(columns, self.directions, self.log_transform)
        prep.directions = {c: 1 for c in columns}  # a matrix is analysed as given
        prep.log_columns = []
        self._set_prep(prep)
        self.imputed_share_ = pd.Series(np.nan, index=columns, name="imputed_share")
        self.n_excluded_ = 0
        self.mean_ = None
        self.scale_ = None
        self._fit_matrix(r, int(n_obs), columns)
        self.composite_sign_ = 1.0
        self.composite_range_ = None
        self._emit()
        return self

    def _warn(self, message: str) -> None:
        self._warnings.append(message)

    def _emit(self) -> None:
        self.warnings_ = list(self._warnings)
        for message in self.warnings_:
            warnings.warn(message, IndexWarning, stacklevel=3)

    def _fit_matrix(self, r: np.ndarray, n_obs: int, columns: list[str]) -> None:
        p = len(columns)
        check_collinear(r, columns)
        self.correlation_ = pd.DataFrame(r, index=columns, columns=columns)
        self.n_obs_ = int(n_obs)
        eig = np.sort(np.linalg.eigvalsh(r))[::-1]
        if eig[-1] <= 0:
            self._warn(
                f"the correlation matrix is not positive definite (smallest eigenvalue "
                f"{eig[-1]:.3g}; typical of pairwise correlations): KMO and Bartlett are unreliable"
            )
        self.eigenvalues_ = pd.Series(eig, index=pd.RangeIndex(1, p + 1, name="component"))
        self.determinant_ = float(np.linalg.det(r))
        self.kmo_, self.msa_ = kmo(self.correlation_)
        self.low_msa_ = low_msa(self.msa_)
        self.bartlett_ = bartlett_sphericity(r, n_obs)
        self._warn_adequacy(n_obs, p)
        with single_thread_blas():
            self._fit_factors(r, n_obs, columns)

    def _warn_adequacy(self, n_obs: int, p: int) -> None:
        if self.kmo_ < 0.5:
            self._warn(
                f"KMO = {self.kmo_:.3f} < 0.5: sampling adequacy is unacceptable; the indicators "
                "share too little variance for a factor analysis"
            )
        elif self.kmo_ < 0.6:
            self._warn(f"KMO = {self.kmo_:.3f} < 0.6: sampling adequacy is miserable (Kaiser 1974)")
        # Per-indicator adequacy (anti-image diagonal): an indicator with MSA < 0.5 shares too
        # little with the others to belong in the same factor model (psych: KMO()$MSAi).
        if self.low_msa_:
            items = ", ".join(f"{c} ({self.msa_[c]:.2f})" for c in self.low_msa_)
            self._warn(
                f"MSA < {MSA_CUT} for {items}: these indicators share little variance with the "
                "others; consider dropping them from the index system"
            )
        if self.bartlett_["p_value"] > 0.05:
            self._warn(
                f"Bartlett's test p = {self.bartlett_['p_value']:.3g} > 0.05: the correlation "
                "matrix is not distinguishable from identity"
            )
        if n_obs < 5 * p:
            self._warn(
                f"n = {n_obs:,} < 5 × {p} indicators: the solution may be unstable (rule of thumb "
                "is at least 5 customers per indicator)"
            )

    def _extract_and_rotate(self, r: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Unrotated loadings (stored) and the rotated (pattern, Φ), with convergence warnings."""
        unrotated, info = extract(r, k, self.method)
        self.converged_ = bool(info["converged"])
        if not info["converged"]:
            self._warn(f"{self.method} extraction did not converge ({'; '.join(info['messages'])})")
        unrotated = unrotated * col_signs(unrotated)
        self.unrotated_loadings_ = pd.DataFrame(
            unrotated, index=self.columns_, columns=[f"F{i + 1}" for i in range(k)]
        )
        self.initial_ss_ = (unrotated**2).sum(0)
        pattern, phi = rotate(unrotated, self.rotation_, self.method, self.varimax)
        shortfall = rotation_stopped_early(unrotated, self.rotation_, self.method, self.varimax)
        if shortfall > 0.01:
            self.converged_ = False
            self._warn(
                f"{self.rotation_} rotation stopped before the varimax maximum (R's stopping "
                f"rule, as psych); loadings would change by up to {shortfall:.3f}. Factors of "
                "nearly equal size rotate slowly: pass varimax='max' to iterate to the maximum "
                "(the solution then differs from R/psych by that much)"
            )
        # order by explained variance, sign so each factor's loadings sum positive (psych)
        ss = np.diag(phi @ pattern.T @ pattern)
        order = np.argsort(-ss, kind="stable")
        pattern = pattern[:, order]
        phi = phi[np.ix_(order, order)]
        signs = col_signs(pattern)
        return pattern * signs, phi * np.outer(signs, signs)

    def _fit_factors(self, r: np.ndarray, n_obs: int, columns: list[str]) -> None:
        p = len(columns)
        self.parallel_ = None
        k = int(min(max(self._retain(r, n_obs), 1), p))
        self.n_factors_ = k
        pattern, phi = self._extract_and_rotate(r, k)
        names = [f"F{i + 1}" for i in range(k)]
        self.loadings_ = pd.DataFrame(pattern, index=columns, columns=names)
        self.phi_ = pd.DataFrame(phi, index=names, columns=names)
        self.structure_ = pd.DataFrame(pattern @ phi, index=columns, columns=names)
        h2 = np.diag(pattern @ phi @ pattern.T)
        self.communalities_ = pd.Series(h2, index=columns, name="communality")
        self.uniquenesses_ = pd.Series(1 - h2, index=columns, name="uniqueness")
        vx = np.diag(phi @ pattern.T @ pattern)
        self.variance_ = pd.DataFrame(
            {"ss_loadings": vx, "proportion": vx / p, "cumulative": np.cumsum(vx) / p},
            index=names,
        )
        # minres/ML bound uniquenesses below at 0.005 (psych): a bound hit is a Heywood case
        heywood = h2 >= 0.995 - 1e-6
        if self.method != "pc" and heywood.any():
            items = [c for c, h in zip(columns, heywood, strict=True) if h]
            self._warn(
                f"Heywood case: communality ≥ 1 (uniqueness ≈ 0) for {items}; the {self.method} "
                "solution is improper — retain fewer factors or drop those indicators"
            )
        self._set_score_coefficients(r, pattern, phi, h2, names)
        # composite weights: share of rotated SS loadings, or of the retained eigenvalues
        base = vx if self.weights == "rotated" else self.eigenvalues_.to_numpy()[:k]
        self.composite_weights_ = pd.Series(base / base.sum(), index=names, name="weight")
        self.factor_names_ = name_factors(self.loadings_, self.labels_, self.directions_)
        for message in single_indicator_factors(self.loadings_, self.factor_names_):
            self._warn(message)

    def _set_score_coefficients(self, r, pattern, phi, h2, names) -> None:
        # regression (Thurstone): W = R⁻¹S; Bartlett: W = U⁻²L(LᵀU⁻²L)⁻¹
        structure = pattern @ phi
        try:
            w_reg = np.linalg.solve(r, structure)
        except np.linalg.LinAlgError:
            w_reg = np.linalg.pinv(r) @ structure
        inv_u2 = np.diag(1 / np.maximum(1 - h2, 1e-12))
        w_bart = inv_u2 @ pattern @ np.linalg.pinv(pattern.T @ inv_u2 @ pattern)
        self._coefs = {
            "regression": pd.DataFrame(w_reg, index=self.columns_, columns=names),
            "bartlett": pd.DataFrame(w_bart, index=self.columns_, columns=names),
        }
        self.score_coefficients_ = self._coefs[self.score_method]

    def _retain(self, r: np.ndarray, n_obs: int) -> int:
        if self.n_factors == "parallel":
            kind = "pc" if self.method == "pc" else "fa"
            self.parallel_ = parallel_analysis(
                r, n_obs, kind=kind, n_iter=self.parallel_iter, seed=self.seed
            )
            return self.parallel_.n_suggested
        return n_by_rule(self.eigenvalues_.to_numpy(), self.n_factors)

    def _fit_composite(self, arr: np.ndarray, scores: np.ndarray) -> None:
        raw = rows_dot(scores, self.composite_weights_.to_numpy())
        ok = np.isfinite(raw)
        if "monetary" in self.columns_:
            j = self.columns_.index("monetary")
            ref = arr[:, j] * self.directions_["monetary"]
            self.composite_sign_rule_ = "correlates positively with net revenue (monetary)"
        else:
            # row mean of the standardized indicators, as one matrix-vector product
            scale = self.scale_.to_numpy()
            filled = np.where(np.isfinite(arr), arr, self.mean_.to_numpy())
            ref = (rows_dot(filled, 1 / scale) - (self.mean_.to_numpy() / scale).sum()) / len(scale)
            self.composite_sign_rule_ = (
                "correlates positively with the mean of the standardized, direction-adjusted "
                "indicators (no monetary column)"
            )
        keep = ok & np.isfinite(ref)
        c = np.corrcoef(raw[keep], ref[keep])[0, 1] if keep.sum() > 2 else 1.0
        self.composite_sign_ = -1.0 if c < 0 else 1.0
        signed = raw[ok] * self.composite_sign_
        self.composite_range_ = (float(signed.min()), float(signed.max()))

    # -- scoring -------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        check_is_fitted(self, "loadings_", msg=_NOT_FITTED)

    def _scores(self, arr: np.ndarray, method: str | None = None) -> np.ndarray:
        if self.mean_ is None:
            raise ValueError(
                "this index was fitted on a correlation matrix: there are no indicator means and "
                "standard deviations to score customers with; fit it on raw indicators"
            )
        # F = ((X − μ)/σ) W = X (W/σ) − (μ/σ) W: one pass over the data, no standardized copy
        w = self._coefs[method or self.score_method].to_numpy()
        scale = self.scale_.to_numpy()
        w_raw = w / scale[:, None]
        return rows_dot(arr, w_raw) - (self.mean_.to_numpy() / scale) @ w

    def transform(self, X: pd.DataFrame, method: str | None = None) -> pd.DataFrame:
        """Factor scores: ``F = Z W`` with Z standardized by the fitted means and SDs (ddof = 1).

        ``method``: "regression" (Thurstone, ``W = R⁻¹ S``) or "bartlett"
        (``W = U⁻² L (Lᵀ U⁻² L)⁻¹`` with ``U² = 1 − diag(L Φ Lᵀ)``), as
        ``psych::factor.scores``. Rows with a missing indicator get NaN (warned, counted).
        """
        self._check_fitted()
        method = method or self.score_method
        if method not in ("regression", "bartlett"):
            raise ValueError(f"method must be 'regression' or 'bartlett', got {method!r}")
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X, dtype=float), columns=self.columns_)
        arr = to_matrix(X, self._prep())
        scores = self._scores(arr, method)
        bad = ~np.isfinite(arr).all(1)
        if bad.any():
            warnings.warn(
                f"{int(bad.sum())} row(s) have missing indicators and get NaN scores "
                f"(first: {', '.join(map(str, X.index[bad][:5]))})",
                IndexWarning,
                stacklevel=2,
            )
            scores[bad] = np.nan
        return pd.DataFrame(scores, index=X.index, columns=self.loadings_.columns)

    def composite(self, X: pd.DataFrame, scale: str | None = None) -> pd.Series:
        """Composite index ``C = s · Σ wᵢ Fᵢ`` (higher = more valuable).

        ``wᵢ`` = ``composite_weights_``; ``s`` = ±1 chosen at fit so that C correlates positively
        with net revenue (``monetary``) when that indicator is present, otherwise with the mean of
        the standardized direction-adjusted indicators (``composite_sign_rule_``).
        ``scale="0-100"`` maps the fitted customers' min..max onto 0..100 (clipped for new data
        outside that range).
        """
        self._check_fitted()
        if scale not in (None, "0-100"):
            raise ValueError(f"scale must be None or '0-100', got {scale!r}")
        scores = self.transform(X)
        weights = self.composite_weights_.to_numpy()
        c = rows_dot(scores.to_numpy(), weights) * self.composite_sign_
        if scale == "0-100":
            lo, hi = self.composite_range_
            c = np.clip((c - lo) / (hi - lo) * 100, 0, 100)
        return pd.Series(c, index=X.index, name="composite")

    def fit_transform(self, X: pd.DataFrame, y=None) -> pd.DataFrame:
        return self.fit(X).transform(X)

    # -- tables, text, persistence, stability ---------------------------------------------------
    def variance_table(self) -> pd.DataFrame:
        """SPSS "Total Variance Explained" (see ``index.tables.variance_table``)."""
        self._check_fitted()
        return variance_table(self)

    def loadings_table(self, sort: bool = True, blank: float | None = 0.3) -> pd.DataFrame:
        """Pattern loadings with communalities, grouped by main factor; ``|λ| < blank`` blank."""
        self._check_fitted()
        return loadings_table(self, sort=sort, blank=blank)

    def summary(self) -> str:
        """Readable report: adequacy, retention, variance, loadings, weights, warnings."""
        self._check_fitted()
        return summary_text(self)

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        shown = ("n_factors", "method", "rotation", "score_method", "weights")
        params = self.get_params(deep=False)
        return f"ClassificationIndex({', '.join(f'{k}={params[k]!r}' for k in shown)})"

    def to_dict(self) -> dict:
        """The fitted index as JSON-able values (``from_dict`` restores it)."""
        self._check_fitted()
        return to_dict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ClassificationIndex:
        return from_dict(cls, d)

    def save(self, path):
        """Write the fitted index as JSON (atomically); ``load`` restores it to score identically."""
        self._check_fitted()
        return save(self, path)

    @classmethod
    def load(cls, path) -> ClassificationIndex:
        """Read an index written by :meth:`save`."""
        return load(cls, path)

    def bootstrap(
        self,
        X: pd.DataFrame,
        n_boot: int = 200,
        seed: int | None = 0,
        ci: float = 0.95,
        *,
        top_share: float = 0.2,
    ):
        """Stability under resampling of customers: loadings, number of factors, composite
        weights, top-tier membership (``crmresearch.index.bootstrap.bootstrap``)."""
        self._check_fitted()
        return run_bootstrap(self, X, n_boot=n_boot, seed=seed, ci=ci, top_share=top_share)

    # -- figures (computed here, drawn by crmresearch.plots.index from plain data) ---------------
    def plot_scree(self, *, n_iter: int | None = None, seed: int | None = None):
        """Scree plot with Kaiser's line and the parallel-analysis threshold.

        Uses the fitted ``parallel_`` when the index retained factors by PC parallel analysis,
        otherwise runs :func:`~crmresearch.index.parallel_analysis` on ``correlation_`` (PC
        eigenvalues; the index's seed unless ``seed`` is given).
        """
        from crmresearch.plots.index import scree

        self._check_fitted()
        pa = self.parallel_
        if pa is None or pa.kind != "pc":
            pa = parallel_analysis(
                self.correlation_,
                self.n_obs_,
                kind="pc",
                n_iter=n_iter or self.parallel_iter,
                seed=self.seed if seed is None else seed,
            )
        return scree(
            self.eigenvalues_.to_numpy(),
            pa.threshold.to_numpy(),
            n_retained=self.n_factors_,
            quantile=pa.quantile,
            n_iter=pa.n_iter,
        )

    def plot_loadings(self, *, sort: bool = True, labels: bool = True):
        """Heatmap of the pattern loadings, items grouped by their main factor."""
        from crmresearch.plots.index import loadings_heatmap

        self._check_fitted()
        table = self.loadings_table(sort=sort, blank=None).drop(columns="h2")
        if labels:
            table.index = [self.labels_.get(c, c) for c in table.index]
        return loadings_heatmap(
            table,
            factor_names=self.factor_names_,
            title=f"Factor loadings ({self.method}, {self.rotation_ or 'unrotated'})",
        )
