"""Customer indicators from a transaction log.

One row per customer active in a window, one column per indicator (see :data:`INDICATORS`).
Layout: :mod:`~crmresearch.features.registry` (the indicator definitions),
:mod:`~crmresearch.features.spec` (the one two-stage definition and its SQL dialects),
:mod:`~crmresearch.features.compute` (``customer_features``, ``holdout_outcomes``; engine
``"duckdb"`` or ``"spark"``), :mod:`~crmresearch.features.engines` (DuckDB fast path, Spark),
:mod:`~crmresearch.features.instats` (``FeatureTable``: correlation, scores and tiers inside the
engine), :mod:`~crmresearch.features.config` (index systems, bundled YAML in ``configs/``),
:mod:`~crmresearch.features.describe`, :mod:`~crmresearch.features.progress` (stderr).

Window rules
------------
* ``start`` and ``end`` are calendar dates, both **inclusive**: a transaction dated ``d`` is in the
  window when ``start <= d <= end``. Times of day are dropped (``date`` is cast to ``DATE``).
* ``start=None`` means "from the beginning of the log": the window starts on the earliest date
  in the log up to ``end`` (that date is used for ``spend_trend``'s halves).
* A customer is *active* when they have at least one row (any amount, also a return or a zero
  amount) in the window. Only active customers get a row.
* Rows after ``end`` are never used (no look-ahead). Rows before ``start`` are used for exactly
  one indicator, ``tenure_days`` (the relationship began before the window).

Every excluded row is counted in ``result.attrs["rows"]``; indicators that could not be computed
are listed with the reason in ``result.attrs["skipped"]``; undefined values (NaN) are counted per
indicator in ``result.attrs["undefined"]``.

References
----------
Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: Using iso-value curves for
customer base analysis. *Journal of Marketing Research*, 42(4), 415-430.
Hughes, A. M. (1994). *Strategic Database Marketing*. Probus (RFM).
R equivalent: ``dplyr::group_by(customer_id) |> summarise(...)`` over the filtered log.
"""

from crmresearch.features.compute import customer_features, holdout_outcomes
from crmresearch.features.config import (
    DIMENSIONS,
    IndexConfig,
    apply_config,
    available_configs,
    load_config,
)
from crmresearch.features.describe import describe_features
from crmresearch.features.instats import Correlation, FeatureTable, composite_sign
from crmresearch.features.registry import (
    DAYS_PER_MONTH,
    INDICATORS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    Indicator,
)

__all__ = [
    "DAYS_PER_MONTH",
    "DIMENSIONS",
    "INDICATORS",
    "Correlation",
    "FeatureTable",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "Indicator",
    "IndexConfig",
    "apply_config",
    "available_configs",
    "composite_sign",
    "customer_features",
    "describe_features",
    "holdout_outcomes",
    "load_config",
]
