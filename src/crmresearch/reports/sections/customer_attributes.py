"""Customer attributes (region, industry, store type …) in the reports: which static
attributes are broken down, and the volume-tier profiles by attribute (segment-value report).
The four cells by attribute are in :mod:`.core_loss_tables` (``loss.cells_by_attribute``)."""

from __future__ import annotations

import pandas as pd

from crmresearch._format import fmt_pct
from crmresearch.reports import display as D

__all__ = ["MAX_ATTRIBUTE_VALUES", "attribute_columns", "tier_attribute_tables",
           "tier_attribute_metrics", "show_tier_attributes"]  # fmt: skip

#: An attribute with more distinct values than this is not broken down (a table per id-like
#: field would be as long as the customer list).
MAX_ATTRIBUTE_VALUES = 30


def attribute_columns(static: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The static attributes worth a breakdown, and what is left out with the reason: dates
    (e.g. sign-up date) and fields with more than :data:`MAX_ATTRIBUTE_VALUES` values."""
    kept, left_out = [], []
    for column in static.columns:
        values = static[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            left_out.append(f"{column} (a date)")
        elif values.nunique() > MAX_ATTRIBUTE_VALUES:
            left_out.append(f"{column} ({values.nunique():,} values)")
        else:
            kept.append(column)
    return kept, left_out


def tier_attribute_tables(study) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Volume-tier profiles by each static customer attribute (``customers`` parameter):
    per attribute value, customers per tier and the share of the tier they make up (each
    tier's shares add up to 100 %); customers without a row in the file are counted as
    "(no attribute row)". Also returns the attributes left out (dates, id-like fields)."""
    from crmresearch.loss import NO_ATTRIBUTE_ROW

    static = study.static_attributes
    columns, left_out = attribute_columns(static)
    tiers = study.volume_tiers
    out = {}
    for column in columns:
        values = static[column].reindex(tiers.index).astype("string").fillna(NO_ATTRIBUTE_ROW)
        counts = pd.crosstab(values.rename(column), tiers.rename("tier"))
        counts["all"] = counts.sum(axis=1)
        shares = counts / counts.sum(axis=0)
        table = pd.DataFrame(index=counts.index)
        for tier in counts.columns:
            table[f"{tier}: customers"] = counts[tier].astype("int64")
            table[f"{tier}: share"] = shares[tier]
        out[column] = table
    return out, left_out


def show_tier_attributes(study) -> None:
    """Tier profiles by static customer attribute; nothing without an attribute file."""
    tables, left_out = tier_attribute_tables(study)
    for column, table in tables.items():
        shares = {c: fmt_pct for c in table.columns if c.endswith(": share")}
        D.table(table, caption=f"Volume tiers by {column}: customers and share of the tier",
                formats=shares, index_label=column, translate=False)  # values: data  # fmt: skip
    if left_out:
        D.note(f"Not broken down: {', '.join(left_out)}.", kind="info", title="Attributes.")
    if tables:
        D.record("metrics", {"tiers_by_attribute": tier_attribute_metrics(tables)})


def tier_attribute_metrics(tables: dict[str, pd.DataFrame]) -> dict:
    """metrics.json's ``tiers_by_attribute``: attribute -> value -> tier (and "all") ->
    customers."""
    suffix = ": customers"
    return {column: {str(value): {c[: -len(suffix)]: int(n) for c, n in row.items()
                                  if c.endswith(suffix)} for value, row in table.iterrows()}
            for column, table in tables.items()}  # fmt: skip
