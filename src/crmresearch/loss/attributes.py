"""The four cells broken down by a customer attribute (region, industry, store type …)."""

from __future__ import annotations

import pandas as pd

from crmresearch._stats import wilson_ci
from crmresearch.loss.core import GROUPS

__all__ = ["NO_ATTRIBUTE_ROW", "cells_by_attribute"]

#: The value shown for customers that have no row in the attribute file.
NO_ATTRIBUTE_ROW = "(no attribute row)"


def cells_by_attribute(result, attributes: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Customers per cell and the neglected core's holdout churn, per value of each attribute.

    Parameters
    ----------
    result : CoreLossResult
        From :func:`potential_core_loss`; its ``customers`` table (cell and churn per customer).
    attributes : DataFrame
        One column per attribute, indexed by customer id (e.g. ``Study.static_attributes``);
        customers missing from it are counted under ``"(no attribute row)"``, never dropped.

    Returns
    -------
    dict
        Attribute name -> table with one row per value: ``customers`` (all cells), one column
        per cell (:data:`GROUPS` order), ``neglected_churn_rate`` = churned / customers of
        the neglected core with that value and its 95 % Wilson interval
        ``neglected_churn_low`` / ``neglected_churn_high`` (NaN where the value has no
        neglected core). Every table's counts add up to all analysed customers.

    Notes
    -----
    The interval is the one of the overall rates (:func:`crmresearch._stats.wilson_ci`; R
    ``prop.test(x, n, correct = FALSE)``): a value with a handful of neglected customers gets
    a wide one, so a manager does not act on a rate that five customers make.
    """
    cells = result.customers  # raw ids, in memory only
    neglected = cells["group"] == "neglected_core"
    out = {}
    for column in attributes.columns:
        values = attributes[column].reindex(cells.index)
        values = values.astype("string").fillna(NO_ATTRIBUTE_ROW).rename(column)
        table = pd.crosstab(values, cells["group"]).reindex(columns=list(GROUPS), fill_value=0)
        table.insert(0, "customers", table.sum(axis=1))
        churned = cells.loc[neglected, "churned"].astype(int).groupby(values[neglected])
        counts = churned.agg(["sum", "size"]).reindex(table.index)
        table["neglected_churn_rate"] = counts["sum"] / counts["size"]
        bounds = [
            wilson_ci(int(k), int(n)) if n == n else (float("nan"), float("nan"))
            for k, n in zip(counts["sum"], counts["size"], strict=True)
        ]
        table["neglected_churn_low"] = [lo for lo, _ in bounds]
        table["neglected_churn_high"] = [hi for _, hi in bounds]
        table.columns.name = None
        out[column] = table
    return out
