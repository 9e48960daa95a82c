"""Shared input checks of the comparison modules."""

from __future__ import annotations

import pandas as pd

from crmresearch.errors import DataError


def _as_tiers(t, name: str) -> pd.Series:
    if not isinstance(t, pd.Series):
        t = pd.Series(t)
    if not isinstance(t.dtype, pd.CategoricalDtype):
        # plain labels: keep first-seen order only if sortable labels are not available
        t = t.astype("category")
    if t.index.has_duplicates:
        raise DataError(f"{name}: duplicate customer ids in the index; one row per customer")
    return t
