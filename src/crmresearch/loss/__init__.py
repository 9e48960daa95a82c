"""Potential core-customer loss: valuable customers the volume scheme neglects, and their churn.

The firm tiers customers by sales volume (e.g. ABC on calibration revenue) and serves the top
volume tier(s) best. The classification index ranks customers by overall value. The top of the
index is the *core*. By default the core has as many customers as the top volume tier(s), so the
comparison is like for like: four cells - ``served_core`` (both schemes agree it is top),
``neglected_core`` (index top, volume not), ``over_served`` (volume top, index not) and
``other`` - with holdout churn, revenue before/after and revenue at risk.

- :func:`potential_core_loss` -> :class:`CoreLossResult` (cells, comparisons with one test per
  CI, honest spend adjustment, finding sentences, lists).
- :func:`core_share_sensitivity` - the finding for core shares 0.05 ... 0.30 and equal size.
- :func:`customer_lists` - complete manager lists with one primary list and a treatment each.
- :func:`problem_customers` - credit-risk / problem list with the reasons per customer.
- :func:`cells_by_attribute` - the four cells per value of each customer attribute.
Ids in lists are keyed-HMAC pseudonyms from :mod:`crmresearch._privacy`.
"""

from crmresearch.loss.adjust import SpendAdjustment, spend_adjustment, spend_overlap
from crmresearch.loss.attributes import NO_ATTRIBUTE_ROW, cells_by_attribute
from crmresearch.loss.core import (
    COMPARISONS,
    GROUPS,
    NEGLECTED_LINE_START,
    REVENUE_AT_RISK,
    CoreLossResult,
    potential_core_loss,
)
from crmresearch.loss.findings import core_loss_findings, difference_sentence
from crmresearch.loss.lists import (
    PRIORITY,
    TREATMENTS,
    CustomerLists,
    customer_lists,
    revenue_band,
)
from crmresearch.loss.problems import (
    DEFAULT_PROBLEM_RULES,
    LAPSING_RULE,
    ProblemRule,
    problem_customers,
)
from crmresearch.loss.sensitivity import core_share_sensitivity, sensitivity_records

__all__ = [
    "potential_core_loss",
    "CoreLossResult",
    "GROUPS",
    "COMPARISONS",
    "REVENUE_AT_RISK",
    "NEGLECTED_LINE_START",
    "core_share_sensitivity",
    "sensitivity_records",
    "spend_adjustment",
    "spend_overlap",
    "SpendAdjustment",
    "core_loss_findings",
    "difference_sentence",
    "customer_lists",
    "CustomerLists",
    "PRIORITY",
    "TREATMENTS",
    "revenue_band",
    "problem_customers",
    "ProblemRule",
    "DEFAULT_PROBLEM_RULES",
    "LAPSING_RULE",
    "cells_by_attribute",
    "NO_ATTRIBUTE_ROW",
]
