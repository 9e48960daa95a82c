"""What :func:`make_crm_data` returns: :class:`SyntheticCRM` and its :class:`SyntheticTruth`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class SyntheticTruth:
    """The planted truth behind one :func:`make_crm_data` draw.

    Attributes
    ----------
    factors : DataFrame
        Latent factors per customer (index ``customer_id``; columns ``value``, ``loyalty``,
        ``credit_risk``), each standard normal with correlation ``factor_correlation``.
    factor_correlation : DataFrame
        Population correlation of the latent factors.
    loadings : DataFrame
        Planted loadings, indicators x factors: least-squares pattern coefficients of each
        standardized, transformed calibration indicator (``log_indicators`` through
        ``log1p``) on the standardized true factors of this draw. ``loadings.attrs`` records
        the customers used and, per indicator, those excluded for an undefined value (e.g.
        ``regularity_cv`` with fewer than 3 purchase days).
    indicators, log_indicators : list of str
        The planted indicator set (``features`` names) and which of them take ``log1p``.
    customer_parameters : DataFrame
        The per-customer generating parameters: ``order_rate`` (orders/year),
        ``gap_shape`` (gamma shape of inter-order gaps), ``mean_quantity``, ``unit_price``
        (median), ``margin`` (mean margin rate), ``late_probability``, ``mean_days_late``,
        ``p_no_order_if_active`` (exact probability of no base holdout order if not defected).
    latent_value_index : Series
        ``value + loyalty - 0.5 credit_risk`` (the planted definition of a customer's worth).
    high_value : Series (bool)
        Top ``core_share`` of customers by ``latent_value_index``.
    neglected : Series (bool)
        ``high_value`` and not in the firm's top volume tier (``tier != "A"``).
    defection_probability : Series
        Probability of defecting at the holdout start (no base-process holdout orders):
        ``expit(base_logit - 0.5 loyalty + 0.4 credit_risk) + neglect_effect * neglected``.
    defected : Series (bool)
        The realized defection.
    churn_probability : Series
        Exact probability of no holdout purchase under the customer's assigned arm:
        ``(p_defect + (1 - p_defect) P0) * exp(-campaign_lambda)`` where ``P0`` is the
        probability that an active customer's renewal process has no order in the holdout.
    churn_probability_control : Series
        The same without the campaign (the arm-free churn probability).
    campaign_effects : DataFrame
        Indexed by tier ``A``/``B``/``C``: ``purchases`` (expected extra holdout orders per
        treated customer, = lambda_t) and ``revenue`` (= lambda_t x mean campaign order value).
    rollout_effect : float
        Expected extra revenue per rolled-out customer and calendar month from the programme
        start to ``rollout_end``.
    rollout_end : Timestamp
        Last day on which the roll-out effect applies (``calibration_end``).
    rollout_periods : tuple of Timestamp
        ``(start, calibration_end)``: the monthly panel on which the roll-out estimand holds
        (12 months; the holdout adds defection and the campaign, whose effects differ by
        region through value, so holdout months are not parallel across cohorts).
    start, calibration_end, holdout_start, holdout_end, campaign_start : Timestamp
        Period dates (inclusive).
    params : dict
        Every argument of the call (after defaults).
    """

    factors: pd.DataFrame
    factor_correlation: pd.DataFrame
    loadings: pd.DataFrame
    indicators: list[str]
    log_indicators: list[str]
    customer_parameters: pd.DataFrame
    latent_value_index: pd.Series
    high_value: pd.Series
    neglected: pd.Series
    defection_probability: pd.Series
    defected: pd.Series
    churn_probability: pd.Series
    churn_probability_control: pd.Series
    campaign_effects: pd.DataFrame
    rollout_effect: float
    rollout_end: pd.Timestamp
    rollout_periods: tuple[pd.Timestamp, pd.Timestamp]
    start: pd.Timestamp
    calibration_end: pd.Timestamp
    holdout_start: pd.Timestamp
    holdout_end: pd.Timestamp
    campaign_start: pd.Timestamp
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class SyntheticCRM:
    """One synthetic CRM world: ``transactions``, ``customers``, ``campaign``, ``rollout``, ``truth``.

    ``transactions`` is a :class:`crmresearch.data.TransactionLog` (all optional columns
    present; returns are negative amounts with NaT due/paid dates). ``customers`` holds static
    (``customer_id``, ``region``, ``industry``, ``signup_date``) and dynamic attributes as of
    the calibration end (``status``, ``payment_terms_days``, ``credit_limit``); the field
    types are in ``customers.attrs["field_types"]``. ``campaign``: ``customer_id``, ``arm``,
    ``start``, ``tier``. ``rollout``: ``customer_id``, ``start`` (NaT = never treated).
    """

    transactions: Any
    customers: pd.DataFrame
    campaign: pd.DataFrame
    rollout: pd.DataFrame
    truth: SyntheticTruth

    def __repr__(self) -> str:
        t = self.truth
        return (
            f"SyntheticCRM(customers={len(self.customers):,}, "
            f"transactions={len(self.transactions.frame):,}, seed={t.params['seed']}, "
            f"calibration={t.start:%Y-%m-%d}..{t.calibration_end:%Y-%m-%d}, "
            f"holdout={t.holdout_start:%Y-%m-%d}..{t.holdout_end:%Y-%m-%d})"
        )
