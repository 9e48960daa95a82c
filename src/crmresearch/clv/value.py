"""Customer lifetime value from a BG/NBD purchase model and a Gamma-Gamma spend model."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmresearch.clv.beta_geo import BetaGeoModel
from crmresearch.clv.data import TIME_UNITS, rfm_summary
from crmresearch.clv.gamma_gamma import GammaGammaModel
from crmresearch.errors import DataError

__all__ = ["CustomerValue", "customer_lifetime_value", "customer_value"]


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


@dataclass(frozen=True)
class CustomerValue:
    """CLV and P(alive) per customer from :func:`customer_value`.

    ``clv``: Series (all NaN when not estimable); ``p_alive``: Series, or None when not
    estimable; ``note``: "CLV not estimable: <reason>" or the fits' warnings as one text ("" when
    none); ``estimable``: whether the numbers can be used.
    """

    clv: pd.Series
    p_alive: pd.Series | None
    note: str
    estimable: bool


def customer_value(
    log, calibration_end, *, months: int = 12, time_unit: str = "W"
) -> CustomerValue:
    """Fit BG/NBD and Gamma-Gamma on the log up to ``calibration_end``; CLV and P(alive).

    The one recipe the reports and the CLI share: :func:`rfm_summary` in weeks,
    :class:`BetaGeoModel` and :class:`GammaGammaModel` with default settings, then
    :func:`customer_lifetime_value` over ``months`` (revenue, 1 % a month discount) and
    ``BetaGeoModel.p_alive``. Data the models cannot take (no repeat purchases, no
    convergence, parameters at the boundary, non-finite predictions) never raise: the result
    says "not estimable" and why. R equivalent: ``BTYD::bgnbd.EstimateParameters`` and
    ``BTYD::spend.EstimateParameters``.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = rfm_summary(log, calibration_end=calibration_end, time_unit=time_unit)
        try:
            bg = BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
        except DataError as exc:  # data the model cannot take: say so
            return _not_estimable(s.index, f"BG/NBD purchase model: {exc}")
        try:
            gg = GammaGammaModel().fit(s["frequency"], s["monetary_value"])
        except DataError as exc:  # e.g. fewer than 3 repeat buyers
            return _not_estimable(s.index, f"Gamma-Gamma spend model: {exc}")
        value = customer_lifetime_value(bg, gg, s, months=months)
        p_alive = bg.p_alive(s["frequency"], s["recency"], s["T"])
    if not value.attrs.get("estimable", True):
        return _not_estimable(value.index, value.attrs["problem"])
    texts = list(dict.fromkeys(str(w.message) for w in caught))
    return CustomerValue(value, p_alive, "; ".join(f"CLV fit: {m}" for m in texts), True)


def _not_estimable(index: pd.Index, reason: str) -> CustomerValue:
    empty = pd.Series(float("nan"), index=index, name="clv")
    return CustomerValue(empty, None, f"CLV not estimable: {reason}", False)
