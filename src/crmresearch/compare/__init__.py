"""Compare customer classification schemes; concentration; profiles; dynamic classification.

- :func:`compare_schemes` - crosstab of two tierings with agreement (Cohen's kappa, adjusted Rand
  index), chi-square test and value share per cell (:class:`SchemeComparison`).
- :func:`lorenz`, :func:`gini` - value concentration.
- :func:`tier_profiles` - indicator means/medians per tier, Kruskal-Wallis, Holm-adjusted
  pairwise Mann-Whitney tests (:class:`TierProfiles`).
- :func:`reclassify`, :func:`migration_matrix`, :func:`rising_stars` - tiers per period and how
  customers move between them.
- :func:`predictive_validity` - how well each scheme's top tier captures next period's top
  customers and revenue, with bootstrap CIs (:class:`PredictiveValidity`).

Tier Series follow the :mod:`crmresearch.tiers` convention: ordered categoricals, best tier first.
"""

from __future__ import annotations

from crmresearch.compare.dynamics import Migration, migration_matrix, reclassify, rising_stars
from crmresearch.compare.profiles import TierProfiles, tier_profiles
from crmresearch.compare.rising import RisingStarValidation, rising_star_rule, validate_rising_stars
from crmresearch.compare.schemes import (
    SchemeComparison,
    adjusted_rand,
    cohen_kappa,
    compare_schemes,
    gini,
    lorenz,
    plot_lorenz,
)
from crmresearch.compare.validity import (
    BASELINES,
    BaselineValidity,
    PredictiveValidity,
    baseline_validity,
    best_single_indicator,
    predictive_validity,
    rfm_score,
)

__all__ = [
    "compare_schemes",
    "SchemeComparison",
    "cohen_kappa",
    "adjusted_rand",
    "lorenz",
    "gini",
    "plot_lorenz",
    "tier_profiles",
    "TierProfiles",
    "reclassify",
    "migration_matrix",
    "Migration",
    "rising_stars",
    "predictive_validity",
    "PredictiveValidity",
    "baseline_validity",
    "BaselineValidity",
    "BASELINES",
    "best_single_indicator",
    "rfm_score",
    "validate_rising_stars",
    "RisingStarValidation",
    "rising_star_rule",
]
