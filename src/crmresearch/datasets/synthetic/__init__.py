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

Modules: ``constants`` (defaults, fixed structure), ``params`` (argument checks), ``mechanisms``
(order processes, lines, returns, payments), ``truth`` (planted loadings), ``results``
(``SyntheticCRM``, ``SyntheticTruth``), ``model`` (``make_crm_data`` and its stages).
"""

from crmresearch.datasets.synthetic.constants import (
    CAMPAIGN_EFFECTS,
    CAMPAIGN_ORDER_VALUE,
    CATEGORIES,
    CHANNELS,
    FACTOR_CORRELATION,
    FACTORS,
    INDUSTRIES,
    LOG_INDICATORS,
    PLANTED_INDICATORS,
    REGIONS,
    ROLLOUT_STARTS,
)
from crmresearch.datasets.synthetic.model import make_crm_data
from crmresearch.datasets.synthetic.results import SyntheticCRM, SyntheticTruth

__all__ = [
    "CAMPAIGN_EFFECTS",
    "CAMPAIGN_ORDER_VALUE",
    "CATEGORIES",
    "CHANNELS",
    "FACTOR_CORRELATION",
    "FACTORS",
    "INDUSTRIES",
    "LOG_INDICATORS",
    "PLANTED_INDICATORS",
    "REGIONS",
    "ROLLOUT_STARTS",
    "SyntheticCRM",
    "SyntheticTruth",
    "make_crm_data",
]
