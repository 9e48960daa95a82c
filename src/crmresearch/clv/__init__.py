"""Customer lifetime value: buy-till-you-die models fitted by maximum likelihood (scipy).

``rfm_summary`` turns a transaction log into frequency / recency / T / monetary value;
:class:`BetaGeoModel` (BG/NBD) forecasts purchases and P(alive); :class:`GammaGammaModel`
forecasts the value per purchase; :func:`customer_lifetime_value` combines the two;
:func:`customer_value` is the recipe the reports and the CLI share (fit both, CLV, P(alive)).
The likelihoods are closed form, so no sampler is needed: on the CDNOW 1/10 sample the
estimates equal Fader, Hardie & Lee's (2005) (``tests/test_clv.py``).
"""

from __future__ import annotations

from crmresearch.clv.beta_geo import BetaGeoModel
from crmresearch.clv.data import TIME_UNITS, holdout_length, holdout_purchases, rfm_summary
from crmresearch.clv.gamma_gamma import GammaGammaModel
from crmresearch.clv.value import CustomerValue, customer_lifetime_value, customer_value

__all__ = [
    "rfm_summary",
    "holdout_purchases",
    "holdout_length",
    "TIME_UNITS",
    "BetaGeoModel",
    "GammaGammaModel",
    "customer_lifetime_value",
    "customer_value",
    "CustomerValue",
]
