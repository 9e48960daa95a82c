"""Customer lifetime value from a BG/NBD purchase model and a Gamma-Gamma spend model."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from crmresearch.clv.beta_geo import BetaGeoModel
from crmresearch.clv.data import TIME_UNITS
from crmresearch.clv.gamma_gamma import GammaGammaModel

__all__ = ["customer_lifetime_value"]


def customer_lifetime_value(
    purchases: BetaGeoModel,
    spend: GammaGammaModel,
    summary: pd.DataFrame,
    *,
    months: int = 12,
    discount_rate: float = 0.01,
    margin: float = 1.0,
    time_unit: str | None = None,
) -> pd.Series:
    r"""Discounted expected value of each customer's purchases over the next ``months`` months.

    .. math::

        \mathrm{CLV}_i = m \cdot E[M_i] \sum_{k=1}^{K}
        \frac{E[Y_i(k u)] - E[Y_i((k-1) u)]}{(1 + d)^k}

    where :math:`E[Y_i(t)]` is the BG/NBD expected number of purchases in the next ``t`` time
    units given the customer's history (``purchases.expected_purchases``), :math:`E[M_i]` the
    Gamma-Gamma expected value per purchase (``spend.expected_spend``), ``u`` the time units
    per month, ``K = months``, ``d`` the monthly ``discount_rate`` (purchases in month k are
    discounted k months) and ``m`` the ``margin`` (1 = revenue; the gross margin rate gives
    profit). The same as lifetimes' ``customer_lifetime_value`` with ``freq`` equal to the
    time unit; spend is assumed independent of the purchase process (Gamma-Gamma assumption).

    Parameters
    ----------
    purchases, spend : fitted models.
    summary : DataFrame with ``frequency``, ``recency``, ``T``, ``monetary_value``
        (:func:`~crmresearch.clv.rfm_summary`; its ``attrs["time_unit"]`` is used unless
        ``time_unit`` is given).
    months : int ≥ 1, discount_rate : float ≥ 0 (per month), margin : float.

    Returns
    -------
    Series ``clv`` indexed like ``summary``; ``attrs["estimable"]`` is False (and
    ``attrs["problem"]`` says why, with a ``UserWarning`` "CLV not estimable: ...") when a
    model is not estimable or predictions are not finite.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves for
    customer base analysis. *Journal of Marketing Research* 42(4), 415–430.
    """
    if not isinstance(months, (int, np.integer)) or months < 1:
        raise ValueError(f"months must be a whole number ≥ 1, got {months!r}")
    if not discount_rate >= 0:
        raise ValueError(f"discount_rate must be ≥ 0 (per month), got {discount_rate!r}")
    unit = time_unit or summary.attrs.get("time_unit", "W")
    if unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNITS)}, got {unit!r}")
    per_month = TIME_UNITS["M"] / TIME_UNITS[unit]
    x, t_x, T = summary["frequency"], summary["recency"], summary["T"]
    value = spend.expected_spend(x, summary["monetary_value"]).to_numpy() * margin
    total = np.zeros(len(summary))
    previous = np.zeros(len(summary))
    for k in range(1, months + 1):
        cumulative = np.asarray(purchases.expected_purchases(k * per_month, x, t_x, T), dtype=float)
        total += (cumulative - previous) / (1 + discount_rate) ** k
        previous = cumulative
    out = pd.Series(value * total, index=summary.index, name="clv")
    problems = [f"{m.title.split(' (')[0]}: {m.problem_}" for m in (purchases, spend)
                if getattr(m, "problem_", "")]  # fmt: skip
    n_bad = int((~np.isfinite(out.to_numpy())).sum())
    if n_bad == len(out) and len(out):
        problems.append(f"the predictions are not finite for all {n_bad:,} customers")
    elif n_bad:
        problems.append(f"the predictions are not finite for {n_bad:,} of {len(out):,} customers")
    out.attrs["estimable"] = not problems
    out.attrs["problem"] = "; ".join(problems)
    if problems:
        warnings.warn(f"CLV not estimable: {out.attrs['problem']}", UserWarning, stacklevel=2)
    return out
