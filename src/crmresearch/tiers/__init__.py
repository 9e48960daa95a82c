"""Customer tiers: from a Series of values to an ordered categorical Series (best tier first).

Every function returns a ``pandas.Series`` of ordered ``Categorical`` dtype, aligned to the input
index, whose category order is *best tier first* (so ``cat.codes == 0`` is the top tier). Every
category is kept even when empty, so crosstabs and migration matrices always have the same shape.
The result records how it was made in ``.attrs``:

- ``attrs["rule"]``: one human-readable sentence for reports;
- ``attrs["scheme"]``: short scheme name (``"abc"``, ``"pareto"``, ...);
- ``attrs["n_missing"]``: customers whose value was missing (NaN) and therefore got a NaN tier.

Conventions shared by the rank-based schemes (``abc``, ``quantiles``, ``value_matrix``,
``pareto``):

- **NaN** values are never dropped: the customer stays in the result with a NaN tier and is counted
  in ``attrs["n_missing"]``. Shares are taken over the ``n`` customers with a value.
- **Ties** stay together: tied customers always get the same tier. A tie group that straddles a
  boundary goes to the *lower* tier (its members are ranked at the worst position of the group,
  ``rank(method="max")``), so a top tier never holds more than its nominal share of customers.
  Consequence: when all values are equal, every customer is in the bottom tier.
- **Few customers**: a tier holds the customers whose rank ``r`` (1 = best) satisfies
  ``r <= floor(cumulative_share * n)``; with fewer customers than tiers the top tiers are simply
  empty (e.g. ABC with 2 customers: A and B empty, both customers C).
- A single tier (``shares=(1.0,)``) puts everyone with a value in that tier.
"""

from __future__ import annotations

from crmresearch.tiers._base import (  # noqa: F401  (private helpers used by compare and loss)
    _as_values,
    _rank_tiers,
    tier_counts,
)
from crmresearch.tiers.rank import (
    MONTHLY_VOLUME_GRADES,
    GradeScheme,
    abc,
    grades,
    pareto,
    quantiles,
)
from crmresearch.tiers.segments import (
    DEFAULT_RFM_SEGMENTS,
    VALUE_MATRIX_LABELS,
    clusters,
    rfm_scores,
    rfm_segments,
    value_matrix,
)

__all__ = [
    "abc",
    "pareto",
    "quantiles",
    "grades",
    "GradeScheme",
    "MONTHLY_VOLUME_GRADES",
    "value_matrix",
    "VALUE_MATRIX_LABELS",
    "rfm_scores",
    "rfm_segments",
    "DEFAULT_RFM_SEGMENTS",
    "clusters",
    "tier_counts",
]
