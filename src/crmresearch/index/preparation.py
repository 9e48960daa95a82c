"""From a features table to the matrix the factor analysis sees: indicator directions and labels
from the registry, log transforms, the missing-value policy, means, SDs and correlations."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmresearch.errors import DataError
from crmresearch.features import INDICATORS
from crmresearch.index._common import signed_log

__all__ = ["Prep", "prepare", "to_matrix", "imputed_shares", "missing_policy", "moments"]


@dataclass
class Prep:
    columns: list[str]
    directions: dict[str, int]
    log_columns: list[str]
    labels: dict[str, str] = field(default_factory=dict)


def registry_entry(name: str) -> tuple[int, str]:
    """(direction, English label) of a registered indicator; (+1, name) for any other column."""
    spec = INDICATORS.get(name)
    if spec is None:
        return 1, name
    return (-1 if spec.direction < 0 else 1), spec.label_en


def prepare(columns: list[str], directions: dict | None, log_transform) -> Prep:
    """Directions (registry, overridden by ``directions``), log columns and labels."""
    signs = {c: registry_entry(c)[0] for c in columns}
    for c, d in (directions or {}).items():
        if c in signs:
            signs[c] = -1 if d < 0 else 1
    logs = [c for c in (log_transform or []) if c in columns]
    unknown = [c for c in (log_transform or []) if c not in columns]
    if unknown:
        raise ValueError(f"log_transform names columns not in the data: {unknown}")
    labels = {c: registry_entry(c)[1] for c in columns}
    return Prep(list(columns), signs, logs, labels)


def to_matrix(X: pd.DataFrame, prep: Prep) -> np.ndarray:
    """The (n, p) float matrix: logged where asked, cost indicators negated."""
    missing = [c for c in prep.columns if c not in X.columns]
    if missing:
        raise DataError(
            f"indicator column(s) {missing} missing from the data; the index was fitted on "
            f"{prep.columns}"
        )
    # column-major: each indicator is written contiguously (1 M rows: ~10× faster)
    arr = np.empty((len(X), len(prep.columns)), dtype=float, order="F")
    for j, c in enumerate(prep.columns):
        series = X[c]
        try:
            if not pd.api.types.is_float_dtype(series.dtype):
                series = pd.to_numeric(series, errors="raise")
            col = series.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"indicator column {c!r} is not numeric ({exc}); convert it or drop it"
            ) from None
        if c in prep.log_columns:
            col = signed_log(col)
        if prep.directions[c] < 0:
            np.negative(col, out=arr[:, j])
        else:
            arr[:, j] = col
    return arr


def imputed_shares(X: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Share of the rows of ``X`` whose value of each indicator was imputed before fitting.

    Read from ``X.attrs["filled"]`` (``{indicator: rows filled}``), which
    ``crmresearch.features.apply_config`` records when it replaces undefined values by the index
    system's ``fill`` values; 0 for an indicator not listed. A count larger than the rows of
    ``X`` means the record belongs to a larger table (rows were dropped after filling): that
    share is unknown and given as NaN rather than guessed.
    """
    filled = X.attrs.get("filled") or {}
    n = len(X)
    shares = {}
    for c in columns:
        count = int(filled.get(c, 0))
        shares[c] = np.nan if count > n else (count / n if n else 0.0)
    return pd.Series(shares, name="imputed_share", dtype=float)


def missing_policy(
    X: pd.DataFrame, arr: np.ndarray, columns: list[str], missing: str | None
) -> tuple[np.ndarray, bool, int, str | None]:
    """Apply ``missing``; returns (rows to analyse, complete?, rows excluded, warning or None).

    ``None`` raises a ``DataError`` naming counts per column and the first rows; "listwise"
    drops incomplete rows; "pairwise" keeps them (correlations computed pairwise).
    """
    finite = np.isfinite(arr)
    if finite.all():
        return arr, True, 0, None
    bad = (~finite).sum(0)
    where = ", ".join(f"{c}: {int(n)}" for c, n in zip(columns, bad, strict=True) if n)
    rows = np.flatnonzero(~finite.all(1))
    first = ", ".join(str(X.index[i]) for i in rows[:5])
    msg = (
        f"{int((~finite).sum())} missing/non-finite value(s) in {len(rows)} row(s) "
        f"(by column: {where}; first rows: {first})"
    )
    if missing is None:
        raise DataError(
            msg + '. Fill them, or choose missing="listwise" (drop those rows) or '
            'missing="pairwise" (pairwise correlations).'
        )
    if missing == "listwise":
        note = f"{msg}: excluded {len(rows)} row(s) (missing='listwise')"
        return arr[finite.all(1)], True, len(rows), note
    return arr, False, 0, f"{msg}: correlations computed pairwise (missing='pairwise')"


def moments(
    arr: np.ndarray, columns: list[str], complete: bool
) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """(means, SDs with ddof = 1, correlation matrix); a constant indicator is a ``DataError``."""
    n = len(arr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = arr.mean(0) if complete else np.nanmean(arr, axis=0)
        centered = arr - mean if complete else None
        if complete:
            scale = np.sqrt(np.einsum("ij,ij->j", centered, centered) / (n - 1))
        else:
            scale = np.nanstd(arr, axis=0, ddof=1)
    # relative test: the SD of a constant column in floating point can be ~1e-16, not 0
    tiny = 1e-12 * np.maximum(1.0, np.abs(mean))
    constant = [c for c, s, t in zip(columns, scale, tiny, strict=True) if not s > t]
    if constant:
        raise DataError(
            f"constant indicator(s) {constant}: zero variance, so no correlation exists; "
            "drop them from the index"
        )
    if not complete:  # missing="pairwise"
        r = pd.DataFrame(arr).corr().to_numpy()
        if np.isnan(r).any():
            raise DataError("some indicator pairs have no complete rows in common")
    else:
        r = (centered.T @ centered) / (n - 1) / np.outer(scale, scale)
        np.fill_diagonal(r, 1.0)
    return pd.Series(mean, index=columns), pd.Series(scale, index=columns), r


def check_collinear(r: np.ndarray, columns: list[str]) -> None:
    """``DataError`` naming a perfectly collinear pair or set of indicators."""
    p = len(columns)
    iu = np.triu_indices(p, 1)
    perfect = np.abs(r[iu]) > 1 - 1e-9
    if perfect.any():
        pairs = [
            f"{columns[i]} ~ {columns[j]}"
            for i, j, hit in zip(iu[0], iu[1], perfect, strict=True)
            if hit
        ]
        raise DataError(
            f"perfectly collinear indicator pair(s): {', '.join(pairs)}; keep one of each pair"
        )
    vals, vecs = np.linalg.eigh(r)
    if abs(vals[0]) < 1e-10 * p:  # exactly singular (a negative one is non-PD: warned)
        v = np.abs(vecs[:, 0])
        members = [columns[i] for i in np.flatnonzero(v > 0.1 * v.max())]
        raise DataError(
            f"indicators {members} are perfectly collinear (one is a linear combination of the "
            "others, e.g. monetary = frequency × avg_order_value); drop one of them"
        )
