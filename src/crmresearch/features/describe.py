"""Per-indicator summary table of a feature frame."""

from __future__ import annotations

import pandas as pd

from crmresearch.features.registry import INDICATORS

__all__ = ["describe_features"]


def describe_features(features: pd.DataFrame) -> pd.DataFrame:
    """Per-indicator summary: labels, unit, direction, count, missing, mean, sd, min, quartiles, max.

    ``sd`` uses ddof=1 (like R's ``sd``). R equivalent: ``psych::describe``.
    """
    rows = []
    for col in features.columns:
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
    return pd.DataFrame(rows).set_index("indicator")
