"""The Gamma-Gamma model of the value of repeat purchases (Colombo & Jiang 1999; Fader,
Hardie & Lee 2005)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import gammaln

from crmresearch._format import fmt_int, fmt_num
from crmresearch.clv._base import MLEModel
from crmresearch.clv.data import check_rfm
from crmresearch.errors import DataError

__all__ = ["GammaGammaModel"]


class GammaGammaModel(MLEModel):
    r"""Gamma-Gamma model of mean repeat-purchase value, fitted by maximum likelihood.

    A customer's purchase values are Gamma(p, ν) (shape p, rate ν); across customers
    ν ~ Gamma(q, γ). For a customer with ``x ≥ 1`` repeat purchases of mean value
    :math:`m_x` the likelihood is (Fader & Hardie 2013, eq. 3)

    .. math::

        f(m_x \mid p, q, \gamma, x) = \frac{\Gamma(px + q)}{\Gamma(px)\Gamma(q)}
        \frac{\gamma^q\, m_x^{px - 1}\, x^{px}}{(\gamma + m_x x)^{px + q}}.

    Customers without repeat purchases carry no information and are left out (counted in
    ``n_excluded_``); so are those whose mean repeat value is not positive (e.g. net returns),
    with a warning. Spend is assumed independent of the purchase process.

    Attributes
    ----------
    params_ : Series ``p``, ``q``, ``gamma``; se_, log_likelihood_, n_customers_ (used),
    n_excluded_ (dict of reasons), converged_.

    References
    ----------
    Colombo, R. & Jiang, W. (1999). A stochastic RFM model. *Journal of Interactive Marketing*
    13(3), 2–12. Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using
    iso-value curves for customer base analysis. *Journal of Marketing Research* 42(4),
    415–430. Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value.
    http://brucehardie.com/notes/025/. R: ``CLVTools::gg``; Python: lifetimes'
    ``GammaGammaFitter``, PyMC-Marketing's ``GammaGammaModel``.
    """

    param_names = ("p", "q", "gamma")
    title = "Gamma-Gamma spend model (Fader, Hardie & Lee 2005)"

    def _neg_log_likelihood(self, log_params, x, m) -> float:
        p, q, g = np.exp(log_params)
        px = p * x
        ll = (
            gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
            + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(g + m * x)
        )  # fmt: skip
        return -float(ll.sum())

    def _starts(self, x, m) -> list[np.ndarray]:
        # p = 1, q = 2, γ = mean spend gives the observed mean spend γp/(q − 1); starting at
        # all ones instead can wander along the p → ∞, γ → 0 ridge when spends are large
        return [np.log([1.0, 2.0, float(np.mean(m))]), np.zeros(3)]

    def fit(self, frequency, monetary_value) -> GammaGammaModel:
        """Fit on repeat purchases ``frequency`` and their mean value ``monetary_value``."""
        (x,) = check_rfm(frequency)
        m = np.asarray(monetary_value, dtype=float)
        if m.shape != x.shape:
            raise DataError("frequency and monetary_value must have the same length")
        repeat = x > 0
        bad = repeat & ~(np.isfinite(m) & (m > 0))
        self.n_excluded_ = {
            "no repeat purchase": int((~repeat).sum()),
            "mean value ≤ 0": int(bad.sum()),
        }
        if bad.any():
            warnings.warn(
                f"{int(bad.sum())} customer(s) with repeat purchases have a mean repeat value ≤ 0 "
                "(e.g. net returns) and are left out of the Gamma-Gamma fit",
                UserWarning,
                stacklevel=2,
            )
        use = repeat & ~bad
        if use.sum() < 3:  # data, not a parameter: DataError (a ValueError)
            raise DataError(
                f"need at least 3 customers with repeat purchases, got {int(use.sum())}"
            )
        self.n_customers_ = int(use.sum())
        self.frequency_monetary_correlation_ = float(np.corrcoef(x[use], m[use])[0, 1])
        self._maximize(x[use], m[use])
        return self

    def expected_spend(self, frequency, monetary_value):
        r"""Expected mean value of a customer's future purchases (FHL 2005, eq. 5):

        .. math::

            E[M \mid p, q, \gamma, m_x, x] = \frac{(\gamma + m_x x)\,p}{px + q - 1}
            = \frac{q - 1}{px + q - 1}\frac{\gamma p}{q - 1} + \frac{px}{px + q - 1} m_x,

        a weighted mean of the population mean ``γp/(q − 1)`` and the customer's own mean;
        ``x = 0`` gives the population mean. Needs q > 1.
        """
        self._check_fitted()
        p, q, g = (self.params_[n] for n in self.param_names)
        if q <= 1:
            raise ValueError(f"q = {q:.3f} ≤ 1: the mean spend γp/(q − 1) does not exist")
        (x,) = check_rfm(frequency)
        m = np.where(x > 0, np.asarray(monetary_value, dtype=float), 0.0)
        value = (g + m * x) * p / (p * x + q - 1)
        if isinstance(frequency, pd.Series):
            return pd.Series(value, index=frequency.index, name="expected_spend")
        return float(value) if np.ndim(value) == 0 else value

    def population_mean_spend(self) -> float:
        """``γp / (q − 1)``: the mean purchase value across customers."""
        self._check_fitted()
        p, q, g = (self.params_[n] for n in self.param_names)
        return float(g * p / (q - 1)) if q > 1 else float("nan")

    def _extra_lines(self) -> list[str]:
        excluded = ", ".join(f"{k}: {fmt_int(v)}" for k, v in self.n_excluded_.items() if v)
        return [
            "",
            f"mean purchase value across customers γp/(q−1) = {fmt_num(self.population_mean_spend(), 2)}",
            f"correlation of frequency and mean value (model assumes none): "
            f"{fmt_num(self.frequency_monetary_correlation_, 3)}",
            f"left out: {excluded or 'none'}",
        ]
