"""Synthetic CRM data with planted truth: ``make_crm_data``.

A B2B distributor's customer base over one calibration year and a half-year holdout. Three
latent customer factors (``value``, ``loyalty``, ``credit_risk``) generate every transaction:
when a customer orders (a gamma renewal process whose rate and regularity rise with loyalty),
what an order is worth and earns (value), how late invoices are paid (credit risk). On top of
this base world the generator plants what the later analyses must find:

* the factor structure of the customer indicators (``truth.loadings``);
* a per-customer holdout churn probability with a **neglect** effect: valuable customers
  (latent top 20 %) outside the firm's top volume tier defect more (``truth.neglected``);
* a randomized holdout campaign with **tier-specific additive effects** that are exact in
  expectation (``truth.campaign_effects``);
* a staggered, non-randomized regional roll-out with a constant additive effect on monthly
  revenue and flat pre-trends (``truth.rollout_effect``).

The full model (equations, defaults, what each analysis should find) is documented in
``data/synthetic.md``; ``crmresearch.datasets`` re-exports :func:`make_crm_data`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

__all__ = [
    "CAMPAIGN_EFFECTS",
    "CAMPAIGN_ORDER_VALUE",
    "FACTORS",
    "PLANTED_INDICATORS",
    "LOG_INDICATORS",
    "ROLLOUT_STARTS",
    "SyntheticCRM",
    "SyntheticTruth",
    "make_crm_data",
]

FACTORS = ("value", "loyalty", "credit_risk")

#: Correlations between the latent factors (value, loyalty, credit_risk).
FACTOR_CORRELATION = np.array(
    [
        [1.00, 0.20, 0.00],
        [0.20, 1.00, -0.20],
        [0.00, -0.20, 1.00],
    ]
)

#: Calibration-window indicators whose factor structure is planted, in ``features`` names.
# monetary is left out on purpose: log monetary = log frequency + log avg_order_value (and
# log profit = log monetary + log margin_rate) makes the correlation matrix near-singular.
PLANTED_INDICATORS = (
    "frequency",
    "active_months",
    "regularity_cv",
    "quantity",
    "avg_order_value",
    "margin_rate",
    "profit",
    "late_payment_rate",
    "days_overdue",
)
#: Indicators on which the loadings hold after ``log1p`` (the others are used raw).
LOG_INDICATORS = ("frequency", "quantity", "profit", "days_overdue")

#: Default campaign effect: expected extra holdout orders per treated customer, by volume tier.
CAMPAIGN_EFFECTS = {"A": 0.2, "B": 0.6, "C": 1.0}
#: Default mean value of one campaign order, by tier (currency units; no returns on them).
CAMPAIGN_ORDER_VALUE = {"A": 900.0, "B": 500.0, "C": 250.0}
#: Default roll-out: first day of the programme per region; regions not listed never get it.
ROLLOUT_STARTS = {
    "North": "2023-03-01",
    "East": "2023-05-01",
    "Central": "2023-07-01",
    "South": "2023-09-01",
}

REGIONS = ("North", "East", "Central", "South", "West")
# Region choice depends on value (logit slope per region): North/East customers are worth more,
# so a naive roll-out comparison is biased while difference-in-differences is not.
_REGION_BASE = np.array([0.0, 0.0, 0.0, 0.0, 0.0])
_REGION_VALUE_SLOPE = np.array([0.6, 0.3, 0.0, -0.3, -0.3])
INDUSTRIES = ("retail", "manufacturing", "construction", "healthcare", "hospitality", "education")
CATEGORIES = ("consumables", "office", "it_hardware", "software", "furniture", "services")
CHANNELS = ("sales_rep", "web", "phone", "edi")

_DAY = np.timedelta64(1, "D")


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


def make_crm_data(
    n_customers: int = 5000,
    seed: int = 0,
    *,
    start: str = "2023-01-01",
    calibration_end: str = "2023-12-31",
    holdout_end: str = "2024-06-30",
    neglect_effect: float = 0.20,
    core_share: float = 0.20,
    campaign_effects: dict[str, float] | None = None,
    campaign_order_value: dict[str, float] | None = None,
    treatment_share: float = 0.5,
    rollout_effect: float = 60.0,
    rollout_order_value: float = 300.0,
    rollout_starts: dict[str, str] | None = None,
    base_churn: float = 0.12,
    return_probability: float = 0.05,
) -> SyntheticCRM:
    """Generate a synthetic CRM world with planted factors, neglect churn and strategy effects.

    Parameters
    ----------
    n_customers : int
        Customers in the base (each buys at least once in the calibration window).
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed and arguments give identical
        frames (the draw order is fixed; see ``data/synthetic.md``).
    start, calibration_end, holdout_end : str
        Calibration window ``start..calibration_end`` and holdout window
        ``calibration_end + 1 day..holdout_end`` (inclusive dates). The campaign starts on
        the holdout's first day.
    neglect_effect : float
        Added to the defection probability of neglected customers (latent top
        ``core_share`` by worth, outside volume tier A). 0 = their churn follows the base
        model only. Must be in [0, 1).
    core_share : float
        Share of customers that are ``high_value`` on the latent scale.
    campaign_effects : dict, optional
        Expected extra holdout orders per treated customer by tier, default
        :data:`CAMPAIGN_EFFECTS` ``{"A": 0.2, "B": 0.6, "C": 1.0}``; zeros allowed.
    campaign_order_value : dict, optional
        Mean value of one campaign order per tier, default :data:`CAMPAIGN_ORDER_VALUE`.
    treatment_share : float
        Bernoulli probability of the ``treatment`` arm.
    rollout_effect : float
        Expected extra net revenue per rolled-out customer and month (>= 0).
    rollout_order_value : float
        Mean value of one roll-out order (the effect is delivered as
        ``Poisson(rollout_effect / rollout_order_value)`` extra orders per month).
    rollout_starts : dict, optional
        Region -> first day of the programme (a month start within the calibration window),
        default :data:`ROLLOUT_STARTS` (for other windows: the same offsets of 2, 4, 6, 8
        months after the first month start, dropping those past ``calibration_end``);
        regions not listed are never treated.
    base_churn : float
        Defection probability of an average customer (loyalty = credit_risk = 0).
    return_probability : float
        Probability that a base order is (partly) returned.

    Returns
    -------
    SyntheticCRM

    Notes
    -----
    Latent factors ``F = (value, loyalty, credit_risk) ~ N(0, R)``; per customer (``e_k``
    independent N(0, 1) noise): order rate ``exp(log 12 + 0.6 loyalty + 0.25 e1)`` per year,
    gamma gap shape ``exp(log 1.5 + 0.6 loyalty + 0.2 e2)`` (CV of gaps = shape^-1/2),
    mean quantity ``1 + exp(log 2 + 0.45 value + 0.15 e3)`` (an order has
    ``1 + Poisson(mean - 1)`` units), median unit price ``exp(log 70 + 0.3 value + 0.1 e4)``
    (lognormal per order, sigma 0.35), margin ``0.25 + 0.05 value + 0.02 e5`` (+ N(0, 0.04)
    per order, clipped to [0.01, 0.7]), late-payment probability
    ``expit(logit 0.15 + 1.1 credit_risk + 0.15 e6)``, days late
    ``1 + floor(Gamma(1.5, exp(log 12 + 0.5 credit_risk) / 1.5))``. Full equations, the
    planted structure and what each analysis should find: ``data/synthetic.md``.

    Examples
    --------
    >>> from crmresearch.datasets import make_crm_data
    >>> crm = make_crm_data(2000, seed=1)
    >>> crm.truth.campaign_effects.loc["C", "purchases"]
    np.float64(1.0)
    """
    p = _check_params(
        n_customers=n_customers,
        seed=seed,
        start=start,
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        neglect_effect=neglect_effect,
        core_share=core_share,
        campaign_effects=campaign_effects,
        campaign_order_value=campaign_order_value,
        treatment_share=treatment_share,
        rollout_effect=rollout_effect,
        rollout_order_value=rollout_order_value,
        rollout_starts=rollout_starts,
        base_churn=base_churn,
        return_probability=return_probability,
    )
    # Independent child streams per mechanism: worlds that differ only in one mechanism's
    # parameters (neglect, campaign, roll-out) share every other draw (common random numbers).
    streams = np.random.default_rng(seed).spawn(7)
    rng, rng_cal, rng_roll, rng_defect, rng_hold, rng_arm, rng_camp = streams
    n = p["n_customers"]
    t0 = pd.Timestamp(p["start"])
    cal_end = pd.Timestamp(p["calibration_end"])
    hold_start = cal_end + pd.Timedelta(days=1)
    hold_end = pd.Timestamp(p["holdout_end"])
    cal_days = (cal_end - t0).days + 1
    hold_days = (hold_end - hold_start).days + 1

    ids = np.char.add("C", np.char.zfill(np.arange(1, n + 1).astype(str), 6)).astype(object)
    idx = pd.Index(ids, name="customer_id", dtype="str")

    # --- latent factors and customer parameters (draw order is part of the seed contract) ---
    chol = np.linalg.cholesky(FACTOR_CORRELATION)
    F = rng.standard_normal((n, 3)) @ chol.T
    value, loyalty, credit = F[:, 0], F[:, 1], F[:, 2]
    e = rng.standard_normal((n, 6))
    order_rate = np.exp(np.log(12.0) + 0.6 * loyalty + 0.25 * e[:, 0])  # orders per year
    gap_shape = np.exp(np.log(1.5) + 0.6 * loyalty + 0.2 * e[:, 1])
    mean_quantity = 1.0 + np.exp(np.log(2.0) + 0.45 * value + 0.15 * e[:, 2])
    unit_price = np.exp(np.log(70.0) + 0.3 * value + 0.1 * e[:, 3])
    margin = 0.25 + 0.05 * value + 0.02 * e[:, 4]
    late_prob = special.expit(special.logit(0.15) + 1.1 * credit + 0.15 * e[:, 5])
    mean_days_late = np.exp(np.log(12.0) + 0.5 * credit)
    mean_gap = 365.0 / order_rate  # days

    region_logits = _REGION_BASE[None, :] + value[:, None] * _REGION_VALUE_SLOPE[None, :]
    region = _categorical(rng, special.softmax(region_logits, axis=1))
    industry = rng.integers(0, len(INDUSTRIES), n)
    tenure_years = np.minimum(
        np.exp(np.log(3.0) + 0.3 * loyalty + 0.6 * rng.standard_normal(n)), 20
    )
    signup = (t0 - pd.to_timedelta(np.round(tenure_years * 365.25) + 1, unit="D")).values
    cat_pref = rng.dirichlet(np.full(len(CATEGORIES), 0.6), n)
    chan_pref = rng.dirichlet(np.full(len(CHANNELS), 0.8), n)

    terms = np.where(value > 0.8, 60, 30)
    terms = np.where(credit > 1.2, 14, terms)

    def finish(stream, lines, offset, invoiced):
        return _finish_lines(stream, lines, offset, invoiced, terms, late_prob, mean_days_late)

    # --- calibration orders: stationary gamma renewal, conditioned on >= 1 order ---
    cal_owner, cal_t = _renewal(rng_cal, mean_gap, gap_shape, cal_days, at_least_one=True)
    base_cal = _order_lines(
        rng_cal, cal_owner, cal_t, mean_quantity, unit_price, margin, cat_pref, chan_pref
    )
    # Returns of calibration base orders (booked in the calibration window).
    cal_returns = _returns(rng_cal, base_cal, p["return_probability"], cal_days)
    parts = [finish(rng_cal, base_cal, 0, True), finish(rng_cal, cal_returns, 0, False)]

    # --- roll-out extras within the calibration year (region cohorts; constant monthly effect) ---
    starts_map = {r: pd.Timestamp(s) for r, s in p["rollout_starts"].items()}
    region_names = np.array(REGIONS, dtype=object)[region]
    rollout_start = pd.Series(
        [starts_map.get(r, pd.NaT) for r in region_names], index=idx, dtype="datetime64[ns]"
    )
    ro_owner, ro_t = _rollout_orders(
        rng_roll, rollout_start.values, t0, cal_end, p["rollout_effect"] / p["rollout_order_value"]
    )
    ro_amount = np.round(rng_roll.gamma(4.0, p["rollout_order_value"] / 4.0, ro_owner.size), 2)
    ro_lines = _extra_lines(
        rng_roll, ro_owner, ro_t, ro_amount, unit_price, margin, cat_pref, chan_pref
    )
    parts.append(finish(rng_roll, ro_lines, 0, True))

    # --- the firm's volume tier at the campaign start: calibration net revenue ---
    cal_revenue = np.zeros(n)
    for q in parts:
        cal_revenue += np.bincount(q["owner"], q["amount"], n)
    tier = _volume_tier(cal_revenue)

    # --- latent worth, neglect and holdout defection ---
    worth = value + loyalty - 0.5 * credit
    k_core = int(round(p["core_share"] * n))
    high_value = np.zeros(n, dtype=bool)
    high_value[np.argsort(-worth, kind="stable")[:k_core]] = True
    neglected = high_value & (tier != "A")
    p_base = special.expit(special.logit(p["base_churn"]) - 0.5 * loyalty + 0.4 * credit)
    p_defect = np.minimum(p_base + p["neglect_effect"] * neglected, 1.0)
    defected = rng_defect.random(n) < p_defect

    # --- holdout base orders: renewal restarts in equilibrium; defectors' rows are dropped ---
    # (drawn for everyone first, so that worlds differing only in who defects share all draws)
    ho_owner, ho_t = _renewal(rng_hold, mean_gap, gap_shape, hold_days, at_least_one=False)
    base_ho = _order_lines(
        rng_hold, ho_owner, ho_t, mean_quantity, unit_price, margin, cat_pref, chan_pref
    )
    ho_returns = _returns(rng_hold, base_ho, p["return_probability"], hold_days)
    for lines, invoiced in ((base_ho, True), (ho_returns, False)):
        q = finish(rng_hold, lines, cal_days, invoiced)
        keep = ~defected[q["owner"]]
        parts.append({k: v[keep] for k, v in q.items()})

    # --- campaign: Bernoulli arm, extra Poisson(lambda_tier) orders for the treated ---
    treated = rng_arm.random(n) < p["treatment_share"]
    lam = np.array([p["campaign_effects"][t] for t in tier])
    cval = np.array([p["campaign_order_value"][t] for t in tier])
    n_extra = rng_camp.poisson(np.where(treated, lam, 0.0))
    cp_owner = np.repeat(np.arange(n), n_extra)
    cp_t = rng_camp.integers(0, hold_days, cp_owner.size) + rng_camp.random(cp_owner.size)
    cp_amount = np.round(rng_camp.gamma(4.0, cval[cp_owner] / 4.0), 2)
    cp_lines = _extra_lines(
        rng_camp, cp_owner, cp_t, cp_amount, unit_price, margin, cat_pref, chan_pref
    )
    parts.append(finish(rng_camp, cp_lines, cal_days, True))

    # --- one frame sorted by customer, then day (within a day: block order above) ---
    cols = {k: np.concatenate([q[k] for q in parts]) for k in parts[0]}
    order = np.argsort(cols["owner"] * (cal_days + hold_days + 1) + cols["day"], kind="stable")
    cols = {k: v[order] for k, v in cols.items()}
    tx = _transaction_frame(cols, ids, t0)

    from crmresearch.data import TransactionLog

    log = TransactionLog(tx, source=f"make_crm_data(n_customers={n}, seed={seed})")

    # --- customers (static + dynamic as of calibration end) ---
    in_cal = cols["day"] < cal_days
    last_cal = np.full(n, -1, dtype=np.int64)
    oc, dc = cols["owner"][in_cal], cols["day"][in_cal]
    is_last = np.r_[oc[1:] != oc[:-1], True]  # rows are sorted by customer, day
    last_cal[oc[is_last]] = dc[is_last]
    days_since = (cal_days - 1) - last_cal
    status = np.where(days_since <= 90, "active", np.where(days_since <= 180, "lapsing", "dormant"))
    monthly = order_rate / 12.0 * mean_quantity * unit_price * np.exp(0.35**2 / 2)
    credit_limit = np.round(monthly * terms / 30.0 * 2.0 * np.where(credit > 1.2, 0.5, 1.0), -2)
    customers = pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="str"),
            "region": pd.array(region_names, dtype="str"),
            "industry": pd.array(np.array(INDUSTRIES, dtype=object)[industry], dtype="str"),
            "signup_date": pd.DatetimeIndex(signup).as_unit("ns"),
            "status": pd.array(status, dtype="str"),
            "payment_terms_days": terms.astype("int64"),
            "credit_limit": np.maximum(credit_limit, 100.0),
        }
    )
    customers.attrs["field_types"] = {
        "customer_id": "static",
        "region": "static",
        "industry": "static",
        "signup_date": "static",
        "status": "dynamic",
        "payment_terms_days": "dynamic",
        "credit_limit": "dynamic",
    }
    customers.attrs["as_of"] = cal_end

    campaign = pd.DataFrame(
        {
            "customer_id": pd.array(ids, dtype="str"),
            "arm": pd.array(np.where(treated, "treatment", "control"), dtype="str"),
            "start": pd.Series(hold_start, index=range(n)).astype("datetime64[ns]"),
            "tier": pd.Categorical(tier, categories=["A", "B", "C"], ordered=True),
        }
    )
    rollout = pd.DataFrame(
        {"customer_id": pd.array(ids, dtype="str"), "start": rollout_start.to_numpy()}
    )

    # --- truth ---
    k = (hold_days / mean_gap) * gap_shape  # h / theta with theta = mean_gap / shape
    p0 = special.gammaincc(gap_shape + 1.0, k) - (hold_days / mean_gap) * special.gammaincc(
        gap_shape, k
    )
    p0 = np.clip(p0, 0.0, 1.0)
    churn_control = p_defect + (1.0 - p_defect) * p0
    churn = churn_control * np.exp(-np.where(treated, lam, 0.0))

    factors = pd.DataFrame(F, index=idx, columns=list(FACTORS))
    loadings = _planted_loadings(cols, in_cal, factors, t0, cal_days - 1)
    eff = pd.DataFrame(
        {
            "purchases": [float(p["campaign_effects"][t]) for t in "ABC"],
            "revenue": [
                float(p["campaign_effects"][t]) * float(p["campaign_order_value"][t]) for t in "ABC"
            ],
        },
        index=pd.Index(["A", "B", "C"], name="tier"),
    )
    truth = SyntheticTruth(
        factors=factors,
        factor_correlation=pd.DataFrame(FACTOR_CORRELATION, index=FACTORS, columns=FACTORS),
        loadings=loadings,
        indicators=list(PLANTED_INDICATORS),
        log_indicators=list(LOG_INDICATORS),
        customer_parameters=pd.DataFrame(
            {
                "order_rate": order_rate,
                "gap_shape": gap_shape,
                "mean_quantity": mean_quantity,
                "unit_price": unit_price,
                "margin": margin,
                "late_probability": late_prob,
                "mean_days_late": mean_days_late,
                "p_no_order_if_active": p0,
            },
            index=idx,
        ),
        latent_value_index=pd.Series(worth, index=idx, name="latent_value_index"),
        high_value=pd.Series(high_value, index=idx, name="high_value"),
        neglected=pd.Series(neglected, index=idx, name="neglected"),
        defection_probability=pd.Series(p_defect, index=idx, name="defection_probability"),
        defected=pd.Series(defected, index=idx, name="defected"),
        churn_probability=pd.Series(churn, index=idx, name="churn_probability"),
        churn_probability_control=pd.Series(
            churn_control, index=idx, name="churn_probability_control"
        ),
        campaign_effects=eff,
        rollout_effect=float(p["rollout_effect"]),
        rollout_end=cal_end,
        rollout_periods=(t0, cal_end),
        start=t0,
        calibration_end=cal_end,
        holdout_start=hold_start,
        holdout_end=hold_end,
        campaign_start=hold_start,
        params=p,
    )
    return SyntheticCRM(log, customers, campaign, rollout, truth)


# ----------------------------------------------------------------------------------------
# helpers


def _check_params(**p) -> dict[str, Any]:
    n = p["n_customers"]
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 20:
        raise ValueError(f"n_customers must be an integer >= 20, got {n!r}")
    p["n_customers"] = int(n)
    if isinstance(p["seed"], bool) or not isinstance(p["seed"], (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {p['seed']!r}")
    p["seed"] = int(p["seed"])
    t0, ce, he = (pd.Timestamp(p[k]) for k in ("start", "calibration_end", "holdout_end"))
    if not t0 < ce < he:
        raise ValueError(
            f"need start < calibration_end < holdout_end, got {t0:%Y-%m-%d}, {ce:%Y-%m-%d}, "
            f"{he:%Y-%m-%d}"
        )
    for k in ("start", "calibration_end", "holdout_end"):
        p[k] = f"{pd.Timestamp(p[k]):%Y-%m-%d}"
    if not 0.0 <= p["neglect_effect"] < 1.0:
        raise ValueError(f"neglect_effect must be in [0, 1), got {p['neglect_effect']!r}")
    if not 0.0 < p["core_share"] < 1.0:
        raise ValueError(f"core_share must be in (0, 1), got {p['core_share']!r}")
    if not 0.0 < p["treatment_share"] < 1.0:
        raise ValueError(f"treatment_share must be in (0, 1), got {p['treatment_share']!r}")
    if not 0.0 < p["base_churn"] < 1.0:
        raise ValueError(f"base_churn must be in (0, 1), got {p['base_churn']!r}")
    if not 0.0 <= p["return_probability"] < 1.0:
        raise ValueError(f"return_probability must be in [0, 1), got {p['return_probability']!r}")
    for name, default in (
        ("campaign_effects", CAMPAIGN_EFFECTS),
        ("campaign_order_value", CAMPAIGN_ORDER_VALUE),
    ):
        given = dict(default if p[name] is None else p[name])
        unknown = set(given) - {"A", "B", "C"}
        missing = {"A", "B", "C"} - set(given)
        if unknown or missing:
            raise ValueError(
                f"{name} needs exactly the tiers A, B, C; missing {sorted(missing)}, "
                f"unknown {sorted(unknown)}"
            )
        for t, v in given.items():
            if not np.isfinite(v) or v < 0 or (name == "campaign_order_value" and v <= 0):
                raise ValueError(
                    f"{name}[{t!r}] must be a finite number >= 0 (> 0 for values), got {v!r}"
                )
        p[name] = {t: float(given[t]) for t in "ABC"}
    if not np.isfinite(p["rollout_effect"]) or p["rollout_effect"] < 0:
        raise ValueError(f"rollout_effect must be >= 0, got {p['rollout_effect']!r}")
    if not p["rollout_order_value"] > 0:
        raise ValueError(f"rollout_order_value must be > 0, got {p['rollout_order_value']!r}")
    if p["rollout_starts"] is None:
        # default cohorts keep their offsets (2, 4, 6, 8 months after the first month start on
        # or after `start`) when the windows move; cohorts past the calibration end are dropped
        first = t0 if t0.day == 1 else t0 + pd.offsets.MonthBegin(1)
        starts = {}
        for region, default in ROLLOUT_STARTS.items():
            offset = (pd.Timestamp(default).year - 2023) * 12 + pd.Timestamp(default).month - 1
            ts = first + pd.DateOffset(months=offset)
            if ts <= ce:
                starts[region] = ts
    else:
        starts = dict(p["rollout_starts"])
    for region, s in starts.items():
        if region not in REGIONS:
            raise ValueError(f"rollout_starts: unknown region {region!r}; regions are {REGIONS}")
        ts = pd.Timestamp(s)
        if ts.day != 1 or not t0 < ts <= ce:
            raise ValueError(
                f"rollout_starts[{region!r}] = {s!r} must be the first day of a month after "
                f"start and within the calibration window (flat pre-period needed)"
            )
        starts[region] = f"{ts:%Y-%m-%d}"
    p["rollout_starts"] = starts
    p["rollout_effect"] = float(p["rollout_effect"])
    p["rollout_order_value"] = float(p["rollout_order_value"])
    return p


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category index per row of a probability matrix (inverse CDF, vectorized)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), probs.shape[1] - 1)


def _renewal(rng, mean_gap, shape, horizon, *, at_least_one):
    """Event times in [0, horizon) of a stationary gamma renewal process per customer.

    The first event comes after a forward-recurrence time ``U * Gamma(shape + 1, theta)``
    (the equilibrium distribution), so the process is stationary from time 0 and
    ``P(no event in [0, h)) = Q(k + 1, h/theta) - h/(k theta) Q(k, h/theta)``. With
    ``at_least_one`` the customers without an event are redrawn until they have one.
    """
    n = mean_gap.size
    theta = mean_gap / shape
    owners, times = [], []
    todo = np.arange(n)
    while todo.size:
        t = rng.random(todo.size) * rng.gamma(shape[todo] + 1.0, theta[todo])
        got = []
        alive = t < horizon
        cur_idx, cur_t = todo[alive], t[alive]
        while cur_idx.size:
            owners.append(cur_idx)
            times.append(cur_t)
            got.append(cur_idx)
            cur_t = cur_t + rng.gamma(shape[cur_idx], theta[cur_idx])
            alive = cur_t < horizon
            cur_idx, cur_t = cur_idx[alive], cur_t[alive]
        if not at_least_one:
            break
        has = np.zeros(n, dtype=bool)
        if got:
            has[np.concatenate(got)] = True
        todo = todo[~has[todo]]
    if not owners:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(owners).astype(np.int64), np.concatenate(times)


def _rollout_orders(rng, starts, t0, cal_end, monthly_rate):
    """Extra roll-out orders: Poisson(monthly_rate) per treated customer and full month."""
    months = pd.date_range(t0, cal_end, freq="MS")
    has = ~np.isnat(starts)
    owners, times = [], []
    if monthly_rate <= 0 or not has.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    for m in months:
        m_end = m + pd.offsets.MonthEnd(0)
        on = np.flatnonzero(has & (starts <= m.to_datetime64()))
        if not on.size:
            continue
        k = rng.poisson(monthly_rate, on.size)
        o = np.repeat(on, k)
        ndays = (m_end - m).days + 1
        owners.append(o)
        times.append((m - t0).days + rng.integers(0, ndays, o.size) + rng.random(o.size))
    if not owners:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(owners).astype(np.int64), np.concatenate(times)


def _order_lines(rng, owner, t, mean_quantity, unit_price, margin, cat_pref, chan_pref):
    """Base orders: quantity, lognormal unit price, amount, margin, category, channel."""
    m = owner.size
    qty = 1.0 + rng.poisson(mean_quantity[owner] - 1.0)
    price = unit_price[owner] * np.exp(0.35 * rng.standard_normal(m))
    amount = np.round(qty * price, 2)
    rate = np.clip(margin[owner] + 0.04 * rng.standard_normal(m), 0.01, 0.7)
    return {
        "owner": owner,
        "t": t,
        "amount": amount,
        "quantity": qty,
        "profit": np.round(amount * rate, 2),
        "category": _categorical(rng, cat_pref[owner]),
        "channel": _categorical(rng, chan_pref[owner]),
    }


def _extra_lines(rng, owner, t, amount, unit_price, margin, cat_pref, chan_pref):
    """Campaign / roll-out orders with given amounts (never returned)."""
    qty = np.maximum(1.0, np.round(amount / unit_price[owner]))
    return {
        "owner": owner,
        "t": t,
        "amount": amount,
        "quantity": qty,
        "profit": np.round(amount * np.clip(margin[owner], 0.01, 0.7), 2),
        "category": _categorical(rng, cat_pref[owner]),
        "channel": _categorical(rng, chan_pref[owner]),
    }


def _returns(rng, lines, prob, horizon):
    """Returns of base orders: full (70 %) or half, 1-21 days later, same window."""
    hit = rng.random(lines["owner"].size) < prob
    frac = np.where(rng.random(hit.sum()) < 0.7, 1.0, 0.5)
    lag = rng.integers(1, 22, hit.sum())
    t = np.minimum(np.floor(lines["t"][hit]) + lag, horizon - 1)
    return {
        "owner": lines["owner"][hit],
        "t": t,
        "amount": -np.round(lines["amount"][hit] * frac, 2),
        "quantity": -np.ceil(lines["quantity"][hit] * frac),
        "profit": -np.round(lines["profit"][hit] * frac, 2),
        "category": lines["category"][hit],
        "channel": lines["channel"][hit],
    }


def _finish_lines(rng, lines, offset, invoiced, terms, late_prob, mean_days_late):
    """Integer day (since ``start``), due and paid day (-1 = none) for a block of lines.

    Invoices: due = day + payment terms; paid late with the customer's probability by
    ``1 + floor(Gamma(1.5, mean_days_late / 1.5))`` days, else up to 10 days early.
    Returns (credit notes) carry no invoice.
    """
    o = lines["owner"]
    m = o.size
    day = offset + np.floor(lines["t"]).astype(np.int64)
    if invoiced:
        due = day + terms[o]
        late = rng.random(m) < late_prob[o]
        days_late = 1 + np.floor(rng.gamma(1.5, mean_days_late[o] / 1.5)).astype(np.int64)
        early = rng.integers(0, 11, m)
        paid = np.where(late, due + days_late, np.maximum(due - early, day))
    else:
        due = np.full(m, -1, dtype=np.int64)
        paid = due.copy()
    return {
        "owner": o.astype(np.int64),
        "day": day,
        "amount": lines["amount"].astype(float),
        "quantity": lines["quantity"].astype(float),
        "profit": lines["profit"].astype(float),
        "category": lines["category"].astype(np.int64),
        "channel": lines["channel"].astype(np.int64),
        "due": due,
        "paid": paid,
    }


def _strings(codes: np.ndarray, labels) -> pd.Series:
    """``labels[codes]`` as pandas' default string dtype, via Arrow (5x faster than objects)."""
    import pyarrow as pa

    dictionary = pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32)), pa.array([str(x) for x in labels], pa.string())
    )
    return pd.Series(
        pd.array(
            dictionary.cast(pa.large_string()), dtype=pd.StringDtype("pyarrow", na_value=np.nan)
        )
    )


def _transaction_frame(cols, ids, t0) -> pd.DataFrame:
    base = np.datetime64(t0.to_datetime64(), "D").astype("datetime64[ns]")

    def dates(days):
        out = base + days * _DAY
        out[days < 0] = np.datetime64("NaT")
        return out

    return pd.DataFrame(
        {
            "customer_id": _strings(cols["owner"], ids),
            "date": dates(cols["day"]),
            "amount": cols["amount"],
            "quantity": cols["quantity"],
            "profit": cols["profit"],
            "category": _strings(cols["category"], CATEGORIES),
            "channel": _strings(cols["channel"], CHANNELS),
            "due_date": dates(cols["due"]),
            "paid_date": dates(cols["paid"]),
        }
    )


def _volume_tier(revenue: np.ndarray) -> np.ndarray:
    """A = top 5 % by calibration net revenue, B = next 15 %, C = rest (ties: lower id first)."""
    n = revenue.size
    order = np.lexsort((np.arange(n), -revenue))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    n_a = int(round(0.05 * n))
    n_b = int(round(0.20 * n)) - n_a
    return np.where(rank < n_a, "A", np.where(rank < n_a + n_b, "B", "C")).astype(object)


def _indicator_arrays(cols, mask, n, t0, end_day) -> pd.DataFrame:
    """Planted indicators (untransformed) from the rows in ``mask``, with numpy only.

    Definitions as in :func:`crmresearch.features.customer_features`: frequency = rows,
    quantity = net units, avg_order_value = net amount / frequency, active_months = distinct (year, month),
    regularity_cv = sd/mean (ddof=1) of gaps between distinct purchase dates (>= 2 gaps,
    else NaN), profit = net profit, margin_rate = profit / net amount (NaN if <= 0),
    late_payment_rate = share of invoices of known status at the window end E (rows with a
    due date, paid by E or due before E) with p > due, where p = paid date if <= E else E;
    days_overdue = mean over the same invoices of max(p - due, 0) days.
    """
    o, d = cols["owner"][mask], cols["day"][mask]
    freq = np.bincount(o, minlength=n).astype(float)
    money = np.bincount(o, cols["amount"][mask], n)
    units = np.bincount(o, cols["quantity"][mask], n)
    profit = np.bincount(o, cols["profit"][mask], n)
    with np.errstate(invalid="ignore", divide="ignore"):
        aov = money / freq
        margin = np.where(money > 0, profit / money, np.nan)
    # distinct (customer, day) and (customer, month) pairs; rows are sorted by customer, day
    key = o * 100_000 + d
    first = np.r_[True, key[1:] != key[:-1]]
    uo, ud = o[first], d[first]
    day_month = pd.date_range(t0, periods=int(d.max()) + 1 if d.size else 1, freq="D")
    month_of = (day_month.year * 12 + day_month.month).to_numpy()[ud]
    mkey = uo * 100_000 + month_of
    new_month = np.r_[True, mkey[1:] != mkey[:-1]]
    active_months = np.bincount(uo[new_month], minlength=n).astype(float)
    same = np.r_[False, uo[1:] == uo[:-1]]
    gap = np.diff(ud, prepend=0).astype(float)[same]
    go = uo[same]
    ng = np.bincount(go, minlength=n)
    s1 = np.bincount(go, gap, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / ng
        var = (np.bincount(go, gap**2, n) - ng * mean**2) / (ng - 1)
        cv = np.where(ng >= 2, np.sqrt(np.maximum(var, 0.0)) / mean, np.nan)
    # Payment status as of the window end E (as features does): a payment after E is not
    # known yet; an invoice counts when paid by E or already due before E.
    E = end_day
    due, paid = cols["due"], cols["paid"]
    paid_known = np.where((paid >= 0) & (paid <= E), paid, -1)
    inv = mask & (due >= 0) & ((paid_known >= 0) | (due < E))
    io = cols["owner"][inv]
    seen = np.where(paid_known[inv] >= 0, paid_known[inv], E)
    over = (seen - due[inv]).astype(float)
    n_inv = np.bincount(io, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        late = np.where(n_inv > 0, np.bincount(io, (over > 0).astype(float), n) / n_inv, np.nan)
        overdue = np.where(n_inv > 0, np.bincount(io, np.maximum(over, 0.0), n) / n_inv, np.nan)
    out = pd.DataFrame(
        {
            "frequency": freq,
            "active_months": active_months,
            "regularity_cv": cv,
            "quantity": units,
            "avg_order_value": aov,
            "margin_rate": margin,
            "profit": profit,
            "late_payment_rate": late,
            "days_overdue": overdue,
        }
    )
    return out[list(PLANTED_INDICATORS)]


def _planted_loadings(cols, mask, factors, t0, end_day) -> pd.DataFrame:
    """Pattern coefficients of the standardized transformed indicators on the true factors."""
    X = _indicator_arrays(cols, mask, len(factors), t0, end_day)
    X.index = factors.index
    X[list(LOG_INDICATORS)] = np.log1p(X[list(LOG_INDICATORS)])
    complete = X.notna().all(axis=1).to_numpy()
    Xc = X.to_numpy()[complete]
    Z = (Xc - Xc.mean(0)) / Xc.std(0, ddof=1)
    Fc = factors.to_numpy()[complete]
    Fz = (Fc - Fc.mean(0)) / Fc.std(0, ddof=1)
    coef, *_ = np.linalg.lstsq(Fz, Z, rcond=None)
    out = pd.DataFrame(coef.T, index=list(PLANTED_INDICATORS), columns=list(FACTORS))
    out.index.name = "indicator"
    out.attrs["customers_used"] = int(complete.sum())
    out.attrs["customers_excluded"] = {
        name: int(X[name].isna().sum()) for name in X.columns if X[name].isna().any()
    }
    return out
