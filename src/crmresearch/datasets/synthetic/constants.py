"""Defaults and fixed structure of the synthetic CRM world (factor correlation, planted
indicators, campaign and roll-out defaults, regions, industries, categories, channels)."""

from __future__ import annotations

import numpy as np

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
