"""Helpers shared by every tier scheme: value coercion, the rank rule, ordered categoricals."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from crmresearch.errors import DataError

_TOL = 1e-9  # floating tolerance on cumulative shares (0.05 * 20 must give exactly 1 customer)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _as_values(values, name: str = "values") -> pd.Series:
    """Coerce to a float Series; keep the index; reject non-numeric input with a clear message."""
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise DataError(
                f"{name}: expected one column of values, got a DataFrame with {values.shape[1]} "
                "columns; pass a single column, e.g. features['monetary']"
            )
        values = values.iloc[:, 0]
    if not isinstance(values, pd.Series):
        values = pd.Series(values)
    try:
        out = pd.to_numeric(values, errors="raise").astype("float64")
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{name} ({values.name!r}): values must be numeric ({exc}); convert the column first"
        ) from None
    if np.isinf(out.to_numpy()).any():
        n_inf = int(np.isinf(out.to_numpy()).sum())
        raise DataError(
            f"{name} ({values.name!r}): {n_inf} infinite value(s); replace them with NaN or a "
            "finite number before tiering"
        )
    if out.index.has_duplicates:
        dup = out.index[out.index.duplicated()][0]
        raise DataError(
            f"{name}: index has duplicate customer id {dup!r}; tiers need one row per customer"
        )
    return out


def _ordered(codes: np.ndarray, labels: Sequence[str], index: pd.Index) -> pd.Series:
    """Build an ordered categorical Series from integer codes (-1 = NaN)."""
    cat = pd.Categorical.from_codes(codes.astype(int), categories=list(labels), ordered=True)
    return pd.Series(cat, index=index)


def _finish(tiers: pd.Series, *, name: str, scheme: str, rule: str, n_missing: int) -> pd.Series:
    tiers.name = name
    tiers.attrs["scheme"] = scheme
    tiers.attrs["rule"] = rule
    tiers.attrs["n_missing"] = int(n_missing)
    return tiers


def _worst_rank(values: pd.Series) -> pd.Series:
    """Rank 1 = largest value; ties share the worst (largest) rank of their group."""
    return values.rank(ascending=False, method="max")


def _rank_tiers(values: pd.Series, cum_shares: Sequence[float]) -> np.ndarray:
    """Codes 0..k-1 from cumulative customer shares; the last tier takes the rest; NaN -> -1."""
    valid = values.notna()
    n = int(valid.sum())
    codes = np.full(len(values), -1, dtype=int)
    if n == 0:
        return codes
    ranks = _worst_rank(values[valid]).to_numpy()
    cutoffs = [math.floor(c * n + _TOL) for c in cum_shares[:-1]]
    # searchsorted(side="left") on ranks: tier j holds cutoffs[j-1] < rank <= cutoffs[j]
    valid_codes = np.searchsorted(np.asarray(cutoffs, dtype=float), ranks, side="left")
    codes[valid.to_numpy()] = valid_codes
    return codes


def _numbers(values) -> str:
    """Numbers for a message, as a user typed them: "0.5, 0.6" (not np.float64 reprs)."""
    return ", ".join(f"{float(v):g}" for v in np.ravel(values))


def _check_shares(shares: Sequence[float], what: str) -> np.ndarray:
    arr = np.asarray(shares, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{what}: give at least one share, e.g. (0.05, 0.15, 0.80)")
    if (arr <= 0).any():
        raise ValueError(f"{what}: every share must be > 0, got {_numbers(arr)}")
    if not math.isclose(arr.sum(), 1.0, abs_tol=1e-6):
        raise ValueError(f"{what}: shares must sum to 1, got {_numbers(arr)} (sum {arr.sum():g})")
    return arr


def _check_labels(labels: Sequence[str] | None, k: int, default: Sequence[str]) -> list[str]:
    labels = list(default if labels is None else labels)
    if len(labels) != k:
        raise ValueError(f"labels: need {k} labels (best first), got {len(labels)}: {labels}")
    if len(set(labels)) != k:
        raise ValueError(f"labels must be distinct, got {labels}")
    return [str(x) for x in labels]


def tier_counts(tiers: pd.Series) -> pd.Series:
    """Customers per tier, best tier first, with a final ``"<NA>"`` row counting missing tiers."""
    counts = tiers.value_counts(sort=False, dropna=True)
    counts = counts.reindex(tiers.cat.categories, fill_value=0)
    counts.loc["<NA>"] = int(tiers.isna().sum())
    counts.name = "customers"
    return counts
