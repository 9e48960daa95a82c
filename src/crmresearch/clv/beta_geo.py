"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import betaln, gammaln, hyp2f1

from crmresearch._format import fmt_num
from crmresearch.clv._base import MLEModel
from crmresearch.clv.data import check_rfm
from crmresearch.errors import DataError

__all__ = ["BetaGeoModel"]


class BetaGeoModel(MLEModel):
    r"""Beta-geometric / negative binomial distribution (BG/NBD) model, fitted by maximum
    likelihood.

    While active, a customer buys as a Poisson process with rate λ; after each purchase they
    become inactive with probability p. Across customers λ ~ Gamma(r, α) (shape r, rate α) and
    p ~ Beta(a, b). For a customer with ``x`` repeat purchases, the last at ``t_x``, observed
    for ``T`` (the :func:`~crmresearch.clv.rfm_summary` columns ``frequency``, ``recency``,
    ``T``) the likelihood is (FHL 2005, eq. 6)

    .. math::

        L = \frac{B(a, b + x)}{B(a, b)} \frac{\Gamma(r + x)\,\alpha^r}{\Gamma(r)(\alpha + T)^{r + x}}
          + \delta_{x>0}\,\frac{B(a + 1, b + x - 1)}{B(a, b)}
            \frac{\Gamma(r + x)\,\alpha^r}{\Gamma(r)(\alpha + t_x)^{r + x}}.

    Parameters are estimated on the log scale (all four are positive) with Nelder-Mead then
    BFGS; standard errors come from the numerical Hessian (delta method).

    Attributes
    ----------
    params_ : Series ``r``, ``alpha``, ``a``, ``b``; se_, log_likelihood_, n_customers_,
    converged_, estimable_, problem_ (:class:`~crmresearch.clv._base.MLEModel`);
    mean_dropout_ : float, :math:`E[p] = a/(a+b)`; dropout_gain_ : float, :math:`\Delta_p`
    below.

    Notes
    -----
    **The dropout process must be identified.** As :math:`a \to 0` (for any ``b``, which the
    data then no longer pin down and which drifts to large values) or :math:`b \to \infty`,
    Beta(a, b) puts all its mass at p = 0: the model becomes the NBD without dropout,

    .. math::

        L_0 = \frac{\Gamma(r + x)\,\alpha^r}{\Gamma(r)(\alpha + T)^{r + x}},

    and P(alive) = 1 for every customer. When the likelihood rises towards that limit the MLE
    of (a, b) does not exist; the optimiser stops somewhere on the ridge (a = 1e-6 or 1e-27,
    b = 1e4 or 1e21, with or without scipy's "precision loss" message, depending on a few
    rows). The fit is therefore **not estimable** when either scale-free measure says it cannot
    be told from no dropout:

    .. math::

        E[p] = \frac{a}{a + b} < 10^{-6}
        \quad\text{or}\quad
        \Delta_p = \ell(\hat r, \hat\alpha, \hat a, \hat b)
                  - \sum_i \log L_{0,i}(\hat r, \hat\alpha) < 10^{-3}

    (``min_mean_dropout``, ``min_dropout_gain``). E[p] is a probability per purchase (free of
    the time unit); a customer would need about a million purchases to be expected to drop
    out. :math:`\Delta_p` is the log-likelihood the dropout process adds at the fitted
    purchase rates (a likelihood-ratio statistic of :math:`2\Delta_p < 0.002`). On data
    with a real dropout process both are far from their thresholds (CDNOW: E[p] = 0.25,
    :math:`\Delta_p` ≈ 279; weak but real dropout in synthetic logs: E[p] ≈ 4e-4 to 2e-3,
    :math:`\Delta_p` ≈ 1.5 to 1.9); on the ridge both are far below them (E[p] ≲ 1e-10,
    :math:`\Delta_p` ≲ 1e-6).
    ``problem_`` then reads "the data do not identify the dropout process (a = …, b = …,
    E[p] = …): P(alive) would be 1 for everyone", and :func:`~crmresearch.clv.customer_value`
    returns not estimable with that reason.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy way:
    an alternative to the Pareto/NBD model. *Marketing Science* 24(2), 275–284.
    R: ``BTYD::bgnbd.EstimateParameters``, ``CLVTools::bgnbd``; Python: lifetimes'
    ``BetaGeoFitter``, PyMC-Marketing's ``BetaGeoModel``.
    """

    param_names = ("r", "alpha", "a", "b")
    title = "BG/NBD model (Fader, Hardie & Lee 2005)"
    #: E[p] = a/(a+b) below this: the dropout process is not identified (Notes)
    min_mean_dropout = 1e-6
    #: log-likelihood gain of the dropout process over no dropout below this: not identified
    min_dropout_gain = 1e-3

    @staticmethod
    def _log_likelihoods(params, x, t_x, T) -> np.ndarray:
        r, alpha, a, b = params
        common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            dropped = betaln(a + 1, b + x - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x)
        dropped = np.where(x > 0, dropped, -np.inf)
        return common + np.logaddexp(alive, dropped)

    def _neg_log_likelihood(self, log_params, x, t_x, T) -> float:
        return -float(self._log_likelihoods(np.exp(log_params), x, t_x, T).sum())

    @staticmethod
    def _no_dropout_log_likelihood(r, alpha, x, T) -> float:
        """log-likelihood of the a → 0 limit (NBD, nobody drops out) at the given r, α."""
        return float(
            (gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + T)).sum()
        )

    def _identification_problem(self, log_params, x, t_x, T) -> str:
        r, alpha, a, b = np.exp(log_params)
        self.mean_dropout_ = float(a / (a + b))
        self.dropout_gain_ = self.log_likelihood_ - self._no_dropout_log_likelihood(r, alpha, x, T)
        if self.mean_dropout_ < self.min_mean_dropout or self.dropout_gain_ < self.min_dropout_gain:
            return (
                f"the data do not identify the dropout process (a = {a:.3g}, b = {b:.3g}, "
                f"E[p] = {self.mean_dropout_:.2g}): P(alive) would be 1 for everyone"
            )
        return ""

    def _starts(self, x, t_x, T) -> list[np.ndarray]:
        # all ones, and r = a = b = 1 with α matching the mean purchase rate (r/α ≈ x̄ / T̄)
        rate_scale = float(np.mean(T) / max(np.mean(x), 1e-3))
        return [np.zeros(4), np.log([1.0, rate_scale, 1.0, 1.0])]

    def fit(self, frequency, recency, T) -> BetaGeoModel:
        """Fit on repeat purchases ``frequency``, ``recency`` and ``T`` (same time unit)."""
        x, t_x, tt = check_rfm(frequency, recency, T)
        if len(x) < 4:
            raise DataError(f"need at least 4 customers to estimate 4 parameters, got {len(x)}")
        self.n_customers_ = int(len(x))
        self.repeat_purchases_ = int(x.sum())
        self._maximize(x, t_x, tt)
        return self

    def _params(self):
        self._check_fitted()
        return tuple(self.params_[n] for n in self.param_names)

    def _wrap(self, values, like) -> pd.Series | float:
        if isinstance(like, pd.Series):
            return pd.Series(values, index=like.index)
        values = np.asarray(values, dtype=float)
        return float(values) if values.ndim == 0 else values

    def expected_purchases(self, t, frequency, recency, T):
        r"""Expected purchases in the next ``t`` time units given the history (FHL 2005, eq. 10):

        .. math::

            E[Y(t) \mid x, t_x, T] = \frac{a + b + x - 1}{a - 1}
            \frac{1 - \left(\frac{\alpha + T}{\alpha + T + t}\right)^{r + x}
                  {}_2F_1\!\left(r + x, b + x; a + b + x - 1; \frac{t}{\alpha + T + t}\right)}
                 {1 + \delta_{x>0} \frac{a}{b + x - 1}
                  \left(\frac{\alpha + T}{\alpha + t_x}\right)^{r + x}}.
        """
        r, alpha, a, b = self._params()
        x, t_x, tt = check_rfm(frequency, recency, T)
        t = np.asarray(t, dtype=float)
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + tt + t))
        numerator = (
            (a + b + x - 1) / (a - 1) * (1 - ((alpha + tt) / (alpha + tt + t)) ** (r + x) * hyp)
        )
        return self._wrap(numerator / self._dropout_odds(x, t_x, tt), frequency)

    def _dropout_odds(self, x, t_x, tt) -> np.ndarray:
        r, alpha, a, b = self._params()
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = a / (b + x - 1) * ((alpha + tt) / (alpha + t_x)) ** (r + x)
        return 1 + np.where(x > 0, ratio, 0.0)

    def p_alive(self, frequency, recency, T):
        r"""Probability that the customer is still active at ``T``:

        .. math::

            P(\text{alive} \mid x, t_x, T) = \left(1 + \delta_{x>0} \frac{a}{b + x - 1}
            \left(\frac{\alpha + T}{\alpha + t_x}\right)^{r + x}\right)^{-1}

        (FHL 2005, appendix; a customer without repeat purchases is alive with probability 1
        under the BG/NBD assumption that dropout happens only right after a purchase).
        """
        x, t_x, tt = check_rfm(frequency, recency, T)
        return self._wrap(1 / self._dropout_odds(x, t_x, tt), frequency)

    def expected_purchases_new_customer(self, t):
        r"""Expected repeat purchases by time ``t`` of a customer just acquired (FHL 2005, eq. 9):
        :math:`\frac{a + b - 1}{a - 1}\left[1 - \left(\frac{\alpha}{\alpha + t}\right)^r
        {}_2F_1\!\left(r, b; a + b - 1; \frac{t}{\alpha + t}\right)\right]`."""
        r, alpha, a, b = self._params()
        t = np.asarray(t, dtype=float)
        value = (
            (a + b - 1)
            / (a - 1)
            * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
        )
        return float(value) if value.ndim == 0 else value

    def _extra_lines(self) -> list[str]:
        r, alpha, a, b = self._params()
        return [
            "",
            f"mean purchase rate while active E[λ] = r/α = {fmt_num(r / alpha, 4)} per time unit; "
            f"mean dropout probability E[p] = a/(a+b) = {fmt_num(a / (a + b), 4)}",
            f"repeat purchases in the calibration data: {self.repeat_purchases_:,}",
        ]
