"""Potential core-customer loss: valuable customers the volume scheme neglects, and their churn.

The firm tiers customers by sales volume (e.g. ABC on calibration revenue) and serves the top
volume tier(s) best. The classification index ranks customers by overall value. A customer in
the top ``core_share`` by the index is *core*; a core customer outside the top volume tier(s) is
*neglected core* - valuable but not treated as such. If neglected core customers churn more in
the holdout than the *served core*, the volume scheme is losing core customers.

- :func:`potential_core_loss` -> :class:`CoreLossResult` (groups, churn, revenue lost, risk
  ratio/difference with CIs, two-proportion z-test, logistic regression, neglected-core list).
- :func:`problem_customers` - credit-risk / problem list with the reasons per customer.
- :func:`pseudonymize_ids` - keyed-HMAC pseudonyms (``crmresearch._privacy``) for lists.
"""

from crmresearch._stats import wilson_ci
from crmresearch.loss.core import (  # noqa: F401  (GROUPS, NEGLECTED_LINE_START: used by cli)
    GROUPS,
    NEGLECTED_LINE_START,
    CoreLossResult,
    potential_core_loss,
    pseudonymize_ids,
)
from crmresearch.loss.problems import (
    DEFAULT_PROBLEM_RULES,
    LAPSING_RULE,
    ProblemRule,
    problem_customers,
)

__all__ = [
    "potential_core_loss",
    "CoreLossResult",
    "problem_customers",
    "ProblemRule",
    "DEFAULT_PROBLEM_RULES",
    "LAPSING_RULE",
    "pseudonymize_ids",
    "wilson_ci",
]
