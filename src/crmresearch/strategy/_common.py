"""Input checks shared by the strategy estimators: columns, numeric outcomes, arm labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmresearch.errors import DataError

OVERALL = "overall"
_CONTROL_CANDIDATES = ("control",)


def _require_columns(frame: pd.DataFrame, columns: Mapping[str, Any]) -> None:
    for role, name in columns.items():
        if name is None:
            continue
        names = [name] if isinstance(name, str) or not isinstance(name, Sequence) else list(name)
        for col in names:
            if col not in frame.columns:
                raise DataError(
                    f"{role} column {col!r} is not in the frame; available columns: "
                    f"{', '.join(map(str, frame.columns))}"
                )


def _numeric_outcome(values: pd.Series, name: str) -> tuple[np.ndarray, bool]:
    """Return the outcome as float64 and whether it is binary (only 0/1 values)."""
    if pd.api.types.is_bool_dtype(values):
        out = values.astype("float64").to_numpy()
    elif pd.api.types.is_numeric_dtype(values):
        out = values.astype("float64").to_numpy()
    else:
        raise DataError(
            f"outcome column {name!r} is not numeric (dtype {values.dtype}); convert it to numbers "
            "(e.g. revenue) or 0/1 / True/False for a binary outcome"
        )
    binary = bool(np.isin(out, (0.0, 1.0)).all())
    return out, binary


def _find_control(arms: Sequence, control: Any, column: str) -> Any:
    if control is not None:
        matches = [a for a in arms if a == control or str(a) == str(control)]
        if not matches:
            raise DataError(
                f"control arm {control!r} does not occur in treatment column {column!r}; "
                f"arms are {list(arms)}"
            )
        return matches[0]
    found = []
    for a in arms:
        if isinstance(a, str) and a.strip().lower() in _CONTROL_CANDIDATES:
            found.append(a)
        elif isinstance(a, (bool, np.bool_)) and not a:
            found.append(a)
        elif isinstance(a, (int, float, np.integer, np.floating)) and a == 0:
            found.append(a)
    if len(found) != 1:
        raise DataError(
            f"cannot tell which arm of treatment column {column!r} is the control among "
            f"{list(arms)}; pass control=LABEL (CLI: --control LABEL)"
        )
    return found[0]


def _ordered_levels(values: pd.Series) -> list:
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.dropna().unique())
        return [c for c in values.cat.categories if c in present]
    levels = list(pd.unique(values.dropna()))
    try:
        return sorted(levels)
    except TypeError:
        return sorted(levels, key=str)


def label_text(value: Any) -> str:
    """An arm or tier label as plain text (``0``, ``Mens E-Mail``; never ``np.int64(0)``)."""
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


def scheme_label(column: str) -> str:
    """A tier scheme named for sentences by its column: ``volume_tier`` → "volume tier",
    ``index_tier`` → "index tier", ``segment`` → "'segment' tier" (two schemes' tier A are
    different customers, so every heterogeneity sentence names its scheme)."""
    words = str(column).replace("_", " ").strip()
    if words.endswith(" tiers"):
        words = words[:-1]
    return words if words.endswith("tier") else f"'{column}' tier"
