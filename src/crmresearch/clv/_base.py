"""Maximum-likelihood machinery shared by the CLV models: fit on log parameters with scipy,
standard errors from the observed information, a plain-text summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from crmresearch._format import fmt_int, fmt_num

__all__ = ["MLEModel"]


def _hessian(f, x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function (on log parameters: ``step`` is relative)."""
    k = len(x)
    h = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            e_i, e_j = np.eye(k)[i] * step, np.eye(k)[j] * step
            h[i, j] = h[j, i] = (
                f(x + e_i + e_j) - f(x + e_i - e_j) - f(x - e_i + e_j) + f(x - e_i - e_j)
            ) / (4 * step * step)
    return h


def _newton_gain(grad: np.ndarray, hess: np.ndarray) -> float:
    """½ gᵀH⁻¹g: the log-likelihood a Newton step could still gain (inf when ``hess`` is not
    positive definite: the point is not a strict maximum, or the Hessian is not finite)."""
    if not np.isfinite(grad).all() or not np.isfinite(hess).all():
        return float("inf")
    try:
        chol = np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return float("inf")
    w = np.linalg.solve(chol, grad)
    return float(0.5 * w @ w)


class MLEModel(BaseEstimator):
    r"""Base of the CLV models: subclasses define ``param_names``, ``_neg_log_likelihood``.

    Parameters
    ----------
    tol : float
        Convergence tolerance of the optimiser (gradient norm on the log parameters).
    max_iter : int
        Iteration limit of each optimiser pass.

    Attributes
    ----------
    params_ : Series (parameter estimates), se_ : Series (asymptotic standard errors),
    log_likelihood_ : float, n_customers_ : int, converged_ : bool, message_ : str (scipy's
    message, for information only), gradient_norm_ : float, newton_gain_ : float (see Notes),
    estimable_ : bool (False when the fit failed or went to the boundary of the parameter space),
    problem_ : str (why not estimable, "" otherwise). A fit that is not estimable also warns
    (``UserWarning`` "... not estimable: <reason>").

    Notes
    -----
    **Convergence** is judged at the optimum that is kept, never from scipy's success flag or
    message (BFGS often stops with "Desired error not necessarily achieved due to precision
    loss" at an optimum that is as good as the arithmetic allows, and whether it says so
    depends on a few rows of data). With :math:`g` the gradient and :math:`H` the Hessian of
    :math:`-\ell` on the log parameters :math:`z = \log\theta` at the kept optimum (central
    differences), the fit is converged when the Hessian is positive definite and the
    log-likelihood one more Newton step could still gain,

    .. math::

        \Delta_{\mathrm{N}} = \tfrac12\, g^\top H^{-1} g ,

    is below ``converge_gain`` = 1e-6. :math:`\Delta_{\mathrm{N}}` is in log-likelihood units:
    free of the parameters' scale (time unit, currency) and of what ``n`` does to the size of
    :math:`g`, unlike a raw gradient threshold. ``gradient_norm_`` is :math:`\max_j |g_j|`.

    **Estimable** is decided in this order: a non-finite likelihood or estimate; a problem the
    model itself detects (``_identification_problem``; the BG/NBD dropout process); a
    log-parameter beyond ``±boundary_log`` (the estimate runs to 0 or infinity: the MLE does
    not exist); no convergence. The first that applies is ``problem_``.
    """

    #: log-parameter magnitude beyond which an estimate counts as "at the boundary" (e^±23 ≈
    #: 1e±10): the likelihood keeps rising towards 0 or infinity, the MLE does not exist.
    boundary_log = 23.0
    #: converged when half the Newton decrement, ½ gᵀH⁻¹g (the log-likelihood one more Newton
    #: step could gain), is below this (log-likelihood units; see Notes)
    converge_gain = 1e-6

    param_names: tuple[str, ...] = ()
    title = "model"

    def __init__(self, tol: float = 1e-10, max_iter: int = 10_000):
        self.tol = tol
        self.max_iter = max_iter

    def _neg_log_likelihood(self, log_params: np.ndarray, *data) -> float:  # pragma: no cover
        raise NotImplementedError

    def _starts(self, *data) -> list[np.ndarray]:
        """Starting log parameters; the best optimum over all starts is kept."""
        return [np.zeros(len(self.param_names))]  # every parameter = 1

    def _maximize(self, *data) -> None:
        def f(z):
            value = self._neg_log_likelihood(z, *data)
            return value if np.isfinite(value) else 1e300

        best, res = None, None
        for start in self._starts(*data):
            # Nelder-Mead finds the basin; BFGS then converges tightly in it
            rough = minimize(f, start, method="Nelder-Mead",
                             options={"maxiter": self.max_iter, "xatol": 1e-8, "fatol": 1e-10})  # fmt: skip
            tight = minimize(
                f, rough.x, method="BFGS", options={"gtol": self.tol, "maxiter": self.max_iter}
            )
            for candidate in (tight, rough):
                if best is None or candidate.fun < best.fun:
                    best, res = candidate, tight
        self.params_ = pd.Series(np.exp(best.x), index=list(self.param_names), name="estimate")
        self.log_likelihood_ = float(-best.fun)
        # convergence from the kept optimum itself, not from scipy's flag or message (Notes)
        grad = np.array(
            [(f(best.x + d) - f(best.x - d)) / 2e-6 for d in np.eye(len(best.x)) * 1e-6]
        )
        hess = _hessian(f, best.x)
        self.gradient_norm_ = float(np.abs(grad).max())
        self.newton_gain_ = _newton_gain(grad, hess)
        self.converged_ = bool(self.newton_gain_ < self.converge_gain)
        self.message_ = str(res.message)
        try:
            cov = np.linalg.inv(hess)
            se_log = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
        except np.linalg.LinAlgError:
            se_log = np.full(len(best.x), np.nan)
        self._se_log = pd.Series(se_log, index=self.params_.index)
        # delta method: se(θ) = θ · se(log θ)
        self.se_ = (self.params_ * self._se_log).rename("se")
        self.problem_ = self._fit_problem(best.x, *data)
        self.estimable_ = not self.problem_
        if self.problem_:
            import warnings

            warnings.warn(f"{self.title.split(' (')[0]} not estimable: {self.problem_}",
                          UserWarning, stacklevel=3)  # fmt: skip

    def _fit_problem(self, log_params: np.ndarray, *data) -> str:
        """Why the fit cannot be used ("" when it can): no convergence, a non-finite
        likelihood or estimate, or parameters at the boundary (the MLE does not exist)."""
        if not np.isfinite(self.log_likelihood_) or not np.isfinite(log_params).all():
            return "the likelihood or an estimate is not finite"
        problem = self._identification_problem(log_params, *data)
        if problem:
            return problem
        at_edge = [n for n, z in zip(self.param_names, log_params, strict=True)
                   if abs(z) > self.boundary_log]  # fmt: skip
        if at_edge:
            shown = ", ".join(f"{n} = {self.params_[n]:.3g}" for n in at_edge)
            return (f"the estimates run to the boundary of the parameter space ({shown}); the "
                    "data do not identify the model")  # fmt: skip
        if not self.converged_:
            return f"the optimiser did not converge ({self.message_})"
        return ""

    def _identification_problem(self, log_params: np.ndarray, *data) -> str:
        """A model's own check that the data identify it ("" when they do); checked before
        the generic boundary and convergence rules so that its reason is the one given."""
        return ""

    def _check_fitted(self) -> None:
        check_is_fitted(self, "params_", msg="this %(name)s is not fitted yet; call fit(...) first")

    def confidence_intervals(self, level: float = 0.95) -> pd.DataFrame:
        """Wald intervals on the log scale, back-transformed: ``θ · exp(± z · se(log θ))``."""
        from scipy.stats import norm

        self._check_fitted()
        z = norm.ppf(0.5 + level / 2)
        return pd.DataFrame(
            {
                "estimate": self.params_,
                "se": self.se_,
                "ci_low": self.params_ * np.exp(-z * self._se_log),
                "ci_high": self.params_ * np.exp(z * self._se_log),
            }
        )

    def _extra_lines(self) -> list[str]:
        return []

    def summary(self) -> str:
        """Estimates with standard errors and 95 % intervals, log-likelihood, customers."""
        self._check_fitted()
        table = self.confidence_intervals()
        width = max(len(n) for n in table.index)
        lines = [
            self.title,
            "=" * len(self.title),
            f"customers: {fmt_int(self.n_customers_)}   log-likelihood: "
            f"{fmt_num(self.log_likelihood_, 2)}   converged: {'yes' if self.converged_ else 'no'}",
            "",
            f"{'':{width}}  {'estimate':>10} {'se':>10} {'95% CI':>22}",
        ]
        for name, row in table.iterrows():
            ci = f"[{fmt_num(row['ci_low'], 4)}, {fmt_num(row['ci_high'], 4)}]"
            lines.append(
                f"{name:{width}}  {fmt_num(row['estimate'], 4):>10} {fmt_num(row['se'], 4):>10} {ci:>22}"
            )
        return "\n".join(lines + self._extra_lines())
