"""The generator :func:`make_crm_data`: one function that calls the stages below in a fixed
order (latent customers, calibration orders and roll-out, volume tiers, defection, holdout orders,
campaign, frames, truth). Each stage draws only from its own random stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from crmresearch.data import TransactionLog
from crmresearch.datasets.synthetic.constants import (
    _REGION_BASE,
    _REGION_VALUE_SLOPE,
    CATEGORIES,
    CHANNELS,
    FACTOR_CORRELATION,
    FACTORS,
    INDUSTRIES,
    LOG_INDICATORS,
    PLANTED_INDICATORS,
    REGIONS,
)
from crmresearch.datasets.synthetic.mechanisms import (
    _categorical,
    _extra_lines,
    _finish_lines,
    _order_lines,
    _renewal,
    _returns,
    _rollout_orders,
    _transaction_frame,
    _volume_tier,
)
from crmresearch.datasets.synthetic.params import _check_params
from crmresearch.datasets.synthetic.results import SyntheticCRM, SyntheticTruth
from crmresearch.datasets.synthetic.truth import _planted_loadings


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
    w = _Windows.from_params(p)
    c = _draw_customers(rng, p["n_customers"], w.t0)
    parts, rollout_start = _calibration_lines(rng_cal, rng_roll, c, p, w)

    # --- the firm's volume tier at the campaign start: calibration net revenue ---
    cal_revenue = np.zeros(c.n)
    for q in parts:
        cal_revenue += np.bincount(q["owner"], q["amount"], c.n)
    tier = _volume_tier(cal_revenue)
    fate = _defection(rng_defect, c, tier, p)

    parts += _holdout_lines(rng_hold, c, w, fate["defected"], p["return_probability"])
    treated, lam, campaign_lines = _campaign_lines(rng_arm, rng_camp, c, w, tier, p)
    parts.append(campaign_lines)

    # --- one frame sorted by customer, then day (within a day: block order above) ---
    cols = {k: np.concatenate([q[k] for q in parts]) for k in parts[0]}
    order = np.argsort(cols["owner"] * (w.cal_days + w.hold_days + 1) + cols["day"], kind="stable")
    cols = {k: v[order] for k, v in cols.items()}
    tx = _transaction_frame(cols, c.ids, w.t0)
    log = TransactionLog(tx, source=f"make_crm_data(n_customers={c.n}, seed={seed})")

    customers = _customer_table(c, cols, w)
    campaign = pd.DataFrame(
        {
            "customer_id": pd.array(c.ids, dtype="str"),
            "arm": pd.array(np.where(treated, "treatment", "control"), dtype="str"),
            "start": pd.Series(w.hold_start, index=range(c.n)).astype("datetime64[ns]"),
            "tier": pd.Categorical(tier, categories=["A", "B", "C"], ordered=True),
        }
    )
    rollout = pd.DataFrame(
        {"customer_id": pd.array(c.ids, dtype="str"), "start": rollout_start.to_numpy()}
    )
    truth = _truth(c, cols, w, p, fate, treated, lam)
    return SyntheticCRM(log, customers, campaign, rollout, truth)


# ----------------------------------------------------------------------------------------
# stages of the generator (called in this order; each draws only from its own stream)


@dataclass(frozen=True)
class _Windows:
    """Calibration and holdout windows as timestamps and day counts."""

    t0: pd.Timestamp
    cal_end: pd.Timestamp
    hold_start: pd.Timestamp
    hold_end: pd.Timestamp
    cal_days: int
    hold_days: int

    @classmethod
    def from_params(cls, p: dict[str, Any]) -> _Windows:
        t0 = pd.Timestamp(p["start"])
        cal_end = pd.Timestamp(p["calibration_end"])
        hold_start = cal_end + pd.Timedelta(days=1)
        hold_end = pd.Timestamp(p["holdout_end"])
        return cls(
            t0=t0,
            cal_end=cal_end,
            hold_start=hold_start,
            hold_end=hold_end,
            cal_days=(cal_end - t0).days + 1,
            hold_days=(hold_end - hold_start).days + 1,
        )


@dataclass(frozen=True)
class _Customers:
    """Latent factors and the generating parameters of every customer (arrays of length n)."""

    n: int
    ids: np.ndarray
    idx: pd.Index
    F: np.ndarray
    value: np.ndarray
    loyalty: np.ndarray
    credit: np.ndarray
    order_rate: np.ndarray
    gap_shape: np.ndarray
    mean_quantity: np.ndarray
    unit_price: np.ndarray
    margin: np.ndarray
    late_prob: np.ndarray
    mean_days_late: np.ndarray
    mean_gap: np.ndarray
    region: np.ndarray
    industry: np.ndarray
    signup: np.ndarray
    cat_pref: np.ndarray
    chan_pref: np.ndarray
    terms: np.ndarray

    def finish(self, stream, lines, offset, invoiced):
        """Invoices, due and paid dates of ``lines`` (see ``_finish_lines``)."""
        return _finish_lines(
            stream, lines, offset, invoiced, self.terms, self.late_prob, self.mean_days_late
        )

    def order_lines(self, stream, owner, t):
        return _order_lines(
            stream,
            owner,
            t,
            self.mean_quantity,
            self.unit_price,
            self.margin,
            self.cat_pref,
            self.chan_pref,
        )

    def extra_lines(self, stream, owner, t, amount):
        return _extra_lines(
            stream, owner, t, amount, self.unit_price, self.margin, self.cat_pref, self.chan_pref
        )


def _draw_customers(rng: np.random.Generator, n: int, t0: pd.Timestamp) -> _Customers:
    """Latent factors and customer parameters (draw order is part of the seed contract)."""
    ids = np.char.add("C", np.char.zfill(np.arange(1, n + 1).astype(str), 6)).astype(object)
    idx = pd.Index(ids, name="customer_id", dtype="str")
    chol = np.linalg.cholesky(FACTOR_CORRELATION)
    F = rng.standard_normal((n, 3)) @ chol.T
    value, loyalty, credit = F[:, 0], F[:, 1], F[:, 2]
    e = rng.standard_normal((n, 6))
    order_rate = np.exp(np.log(12.0) + 0.6 * loyalty + 0.25 * e[:, 0])  # orders per year
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
    return _Customers(
        n=n,
        ids=ids,
        idx=idx,
        F=F,
        value=value,
        loyalty=loyalty,
        credit=credit,
        order_rate=order_rate,
        gap_shape=np.exp(np.log(1.5) + 0.6 * loyalty + 0.2 * e[:, 1]),
        mean_quantity=1.0 + np.exp(np.log(2.0) + 0.45 * value + 0.15 * e[:, 2]),
        unit_price=np.exp(np.log(70.0) + 0.3 * value + 0.1 * e[:, 3]),
        margin=0.25 + 0.05 * value + 0.02 * e[:, 4],
        late_prob=special.expit(special.logit(0.15) + 1.1 * credit + 0.15 * e[:, 5]),
        mean_days_late=np.exp(np.log(12.0) + 0.5 * credit),
        mean_gap=365.0 / order_rate,  # days
        region=region,
        industry=industry,
        signup=signup,
        cat_pref=cat_pref,
        chan_pref=chan_pref,
        terms=terms,
    )


def _calibration_lines(rng_cal, rng_roll, c: _Customers, p, w: _Windows):
    """Calibration base orders with their returns, then the roll-out extras (region cohorts)."""
    # stationary gamma renewal, conditioned on >= 1 order
    cal_owner, cal_t = _renewal(rng_cal, c.mean_gap, c.gap_shape, w.cal_days, at_least_one=True)
    base_cal = c.order_lines(rng_cal, cal_owner, cal_t)
    # Returns of calibration base orders (booked in the calibration window).
    cal_returns = _returns(rng_cal, base_cal, p["return_probability"], w.cal_days)
    parts = [c.finish(rng_cal, base_cal, 0, True), c.finish(rng_cal, cal_returns, 0, False)]

    # roll-out extras within the calibration year (constant monthly effect)
    starts_map = {r: pd.Timestamp(s) for r, s in p["rollout_starts"].items()}
    region_names = np.array(REGIONS, dtype=object)[c.region]
    rollout_start = pd.Series(
        [starts_map.get(r, pd.NaT) for r in region_names], index=c.idx, dtype="datetime64[ns]"
    )
    ro_owner, ro_t = _rollout_orders(
        rng_roll,
        rollout_start.values,
        w.t0,
        w.cal_end,
        p["rollout_effect"] / p["rollout_order_value"],
    )
    ro_amount = np.round(rng_roll.gamma(4.0, p["rollout_order_value"] / 4.0, ro_owner.size), 2)
    ro_lines = c.extra_lines(rng_roll, ro_owner, ro_t, ro_amount)
    parts.append(c.finish(rng_roll, ro_lines, 0, True))
    return parts, rollout_start


def _defection(rng_defect, c: _Customers, tier: np.ndarray, p) -> dict[str, np.ndarray]:
    """Latent worth, the high-value core, neglect and the realized holdout defection."""
    worth = c.value + c.loyalty - 0.5 * c.credit
    k_core = int(round(p["core_share"] * c.n))
    high_value = np.zeros(c.n, dtype=bool)
    high_value[np.argsort(-worth, kind="stable")[:k_core]] = True
    neglected = high_value & (tier != "A")
    p_base = special.expit(special.logit(p["base_churn"]) - 0.5 * c.loyalty + 0.4 * c.credit)
    p_defect = np.minimum(p_base + p["neglect_effect"] * neglected, 1.0)
    defected = rng_defect.random(c.n) < p_defect
    return {
        "worth": worth,
        "high_value": high_value,
        "neglected": neglected,
        "p_defect": p_defect,
        "defected": defected,
    }


def _holdout_lines(rng_hold, c: _Customers, w: _Windows, defected, return_probability) -> list:
    """Holdout base orders: renewal restarts in equilibrium; defectors' rows are dropped.

    Drawn for everyone first, so that worlds differing only in who defects share all draws.
    """
    ho_owner, ho_t = _renewal(rng_hold, c.mean_gap, c.gap_shape, w.hold_days, at_least_one=False)
    base_ho = c.order_lines(rng_hold, ho_owner, ho_t)
    ho_returns = _returns(rng_hold, base_ho, return_probability, w.hold_days)
    parts = []
    for lines, invoiced in ((base_ho, True), (ho_returns, False)):
        q = c.finish(rng_hold, lines, w.cal_days, invoiced)
        keep = ~defected[q["owner"]]
        parts.append({k: v[keep] for k, v in q.items()})
    return parts


def _campaign_lines(rng_arm, rng_camp, c: _Customers, w: _Windows, tier, p):
    """Bernoulli arm; the treated get Poisson(lambda_tier) extra holdout orders."""
    treated = rng_arm.random(c.n) < p["treatment_share"]
    lam = np.array([p["campaign_effects"][t] for t in tier])
    cval = np.array([p["campaign_order_value"][t] for t in tier])
    n_extra = rng_camp.poisson(np.where(treated, lam, 0.0))
    cp_owner = np.repeat(np.arange(c.n), n_extra)
    cp_t = rng_camp.integers(0, w.hold_days, cp_owner.size) + rng_camp.random(cp_owner.size)
    cp_amount = np.round(rng_camp.gamma(4.0, cval[cp_owner] / 4.0), 2)
    cp_lines = c.extra_lines(rng_camp, cp_owner, cp_t, cp_amount)
    return treated, lam, c.finish(rng_camp, cp_lines, w.cal_days, True)


def _customer_table(c: _Customers, cols, w: _Windows) -> pd.DataFrame:
    """Static attributes and dynamic ones as of the calibration end, with their field tags."""
    in_cal = cols["day"] < w.cal_days
    last_cal = np.full(c.n, -1, dtype=np.int64)
    oc, dc = cols["owner"][in_cal], cols["day"][in_cal]
    is_last = np.r_[oc[1:] != oc[:-1], True]  # rows are sorted by customer, day
    last_cal[oc[is_last]] = dc[is_last]
    days_since = (w.cal_days - 1) - last_cal
    status = np.where(days_since <= 90, "active", np.where(days_since <= 180, "lapsing", "dormant"))
    monthly = c.order_rate / 12.0 * c.mean_quantity * c.unit_price * np.exp(0.35**2 / 2)
    credit_limit = np.round(monthly * c.terms / 30.0 * 2.0 * np.where(c.credit > 1.2, 0.5, 1.0), -2)
    region_names = np.array(REGIONS, dtype=object)[c.region]
    customers = pd.DataFrame(
        {
            "customer_id": pd.array(c.ids, dtype="str"),
            "region": pd.array(region_names, dtype="str"),
            "industry": pd.array(np.array(INDUSTRIES, dtype=object)[c.industry], dtype="str"),
            "signup_date": pd.DatetimeIndex(c.signup).as_unit("ns"),
            "status": pd.array(status, dtype="str"),
            "payment_terms_days": c.terms.astype("int64"),
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
    customers.attrs["as_of"] = w.cal_end
    return customers


def _truth(c: _Customers, cols, w: _Windows, p, fate, treated, lam) -> SyntheticTruth:
    """Everything planted: factors, loadings, churn probabilities, campaign and roll-out effects."""
    hold_days = w.hold_days
    k = (hold_days / c.mean_gap) * c.gap_shape  # h / theta with theta = mean_gap / shape
    p0 = special.gammaincc(c.gap_shape + 1.0, k) - (hold_days / c.mean_gap) * special.gammaincc(
        c.gap_shape, k
    )
    p0 = np.clip(p0, 0.0, 1.0)
    p_defect = fate["p_defect"]
    churn_control = p_defect + (1.0 - p_defect) * p0
    churn = churn_control * np.exp(-np.where(treated, lam, 0.0))

    idx = c.idx
    in_cal = cols["day"] < w.cal_days
    factors = pd.DataFrame(c.F, index=idx, columns=list(FACTORS))
    loadings = _planted_loadings(cols, in_cal, factors, w.t0, w.cal_days - 1)
    effects, values = p["campaign_effects"], p["campaign_order_value"]
    eff = pd.DataFrame(
        {
            "purchases": [float(effects[t]) for t in "ABC"],
            "revenue": [float(effects[t]) * float(values[t]) for t in "ABC"],
        },
        index=pd.Index(["A", "B", "C"], name="tier"),
    )
    parameters = pd.DataFrame(
        {
            "order_rate": c.order_rate,
            "gap_shape": c.gap_shape,
            "mean_quantity": c.mean_quantity,
            "unit_price": c.unit_price,
            "margin": c.margin,
            "late_probability": c.late_prob,
            "mean_days_late": c.mean_days_late,
            "p_no_order_if_active": p0,
        },
        index=idx,
    )
    return SyntheticTruth(
        factors=factors,
        factor_correlation=pd.DataFrame(FACTOR_CORRELATION, index=FACTORS, columns=FACTORS),
        loadings=loadings,
        indicators=list(PLANTED_INDICATORS),
        log_indicators=list(LOG_INDICATORS),
        customer_parameters=parameters,
        latent_value_index=pd.Series(fate["worth"], index=idx, name="latent_value_index"),
        high_value=pd.Series(fate["high_value"], index=idx, name="high_value"),
        neglected=pd.Series(fate["neglected"], index=idx, name="neglected"),
        defection_probability=pd.Series(p_defect, index=idx, name="defection_probability"),
        defected=pd.Series(fate["defected"], index=idx, name="defected"),
        churn_probability=pd.Series(churn, index=idx, name="churn_probability"),
        churn_probability_control=pd.Series(
            churn_control, index=idx, name="churn_probability_control"
        ),
        campaign_effects=eff,
        rollout_effect=float(p["rollout_effect"]),
        rollout_end=w.cal_end,
        rollout_periods=(w.t0, w.cal_end),
        start=w.t0,
        calibration_end=w.cal_end,
        holdout_start=w.hold_start,
        holdout_end=w.hold_end,
        campaign_start=w.hold_start,
        params=p,
    )
