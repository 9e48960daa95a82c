"""Per-indicator summary table of a feature frame."""

from __future__ import annotations

import pandas as pd

from crmresearch.features.registry import INDICATORS

__all__ = ["attribute_columns", "describe_features"]


def attribute_columns(features: pd.DataFrame) -> list[str]:
    """The columns of ``features`` that are not indicators: the customer attributes joined to
    it (``features.attrs["attributes"]``, set by ``crmresearch features --customers``) and any
    other column that is neither a registered indicator nor numeric (text such as 区域, 行业)."""
    joined = set(features.attrs.get("attributes", ()))
    return [
        c
        for c in features.columns
        if c in joined
        or (c not in INDICATORS and not pd.api.types.is_numeric_dtype(features[c].dtype))
    ]


def describe_features(features: pd.DataFrame) -> pd.DataFrame:
    """Per-indicator summary: labels, unit, direction, count, missing, mean, sd, min, quartiles, max.

    Only indicators are described: attribute columns (see :func:`attribute_columns`, e.g. a
    text column 区域 joined from a customer file) are left out. ``sd`` uses ddof=1 (like R's
    ``sd``). R equivalent: ``psych::describe``.
    """
    rows = []
    skip = set(attribute_columns(features))
    for col in (c for c in features.columns if c not in skip):
        values = features[col].astype("float64")
        ind = INDICATORS.get(col)
        q = values.quantile([0.25, 0.5, 0.75])
        rows.append(
            {
                "indicator": col,
                "label_en": ind.label_en if ind else col,
                "label_zh": ind.label_zh if ind else "",
                "unit": ind.unit if ind else "",
                "direction": ind.direction if ind else 0,
                "count": int(values.notna().sum()),
                "missing": int(values.isna().sum()),
                "mean": values.mean(),
                "sd": values.std(ddof=1),
                "min": values.min(),
                "q25": q.loc[0.25],
                "median": q.loc[0.5],
                "q75": q.loc[0.75],
                "max": values.max(),
            }
        )
    if not rows:
        return pd.DataFrame(columns=_COLUMNS).rename_axis("indicator")
    return pd.DataFrame(rows).set_index("indicator")


_COLUMNS = ("label_en", "label_zh", "unit", "direction", "count", "missing", "mean", "sd", "min",
            "q25", "median", "q75", "max")  # fmt: skip
