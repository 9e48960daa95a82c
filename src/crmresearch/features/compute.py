"""``customer_features`` and ``holdout_outcomes``: argument checks, indicator choice, attrs.

The engine (:mod:`crmresearch.features.engines`) does the aggregation; this module owns what
is the same for every engine: the window rules, which indicators the log's columns allow, the
dtypes of the result and the row accounting in ``attrs``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from crmresearch.errors import DataError
from crmresearch.features.engines import duckdb as duck
from crmresearch.features.registry import COUNT_INDICATORS, INDICATORS

__all__ = ["customer_features", "holdout_outcomes"]


def _as_date(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}={value!r} is not a date; give e.g. '1997-09-30'") from exc
    if pd.isna(ts):
        raise ValueError(f"{name} must be a date, got {value!r}")
    return ts.normalize()


def _requested_names(indicators: Sequence[str] | None) -> list[str]:
    if indicators is None:
        return list(INDICATORS)
    names = list(dict.fromkeys(indicators))
    unknown = [n for n in names if n not in INDICATORS]
    if unknown:
        raise ValueError(
            f"unknown indicator(s) {', '.join(unknown)}; choose from {', '.join(INDICATORS)}"
        )
    if not names:
        raise ValueError("indicators is empty; give at least one name or None for all")
    return names


def _choose(names: list[str], requested: bool, present: set[str], label: str):
    """(indicators the columns allow, {skipped name: reason}); a requested one missing raises."""
    skipped: dict[str, str] = {}
    chosen = []
    for name in names:
        missing = [c for c in INDICATORS[name].needs if c not in present]
        if missing and requested:
            raise DataError(
                f"{label}: indicator {name!r} needs column(s) {', '.join(missing)}, "
                "which the log does not have; add the column or do not request the indicator"
            )
        if missing:
            skipped[name] = f"column(s) {', '.join(missing)} absent"
        else:
            chosen.append(name)
    return chosen, skipped


def customer_features(
    log: Any,
    *,
    start: Any = None,
    end: Any,
    indicators: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Customer indicators over the window ``start <= date <= end`` (dates, both inclusive).

    Parameters
    ----------
    log : TransactionLog, DataFrame or path
        Canonical columns ``customer_id``, ``date``, ``amount`` and optionally ``quantity``,
        ``profit``, ``category``, ``channel``, ``due_date``, ``paid_date``. A path to a Parquet
        or CSV file is scanned by DuckDB directly (out of core; globs allowed for Parquet).
    start : date-like or None
        First day of the window (inclusive). ``None``: the first date in the log.
    end : date-like
        Last day of the window (inclusive); also the reference date for recency, tenure and
        payment status. Rows after ``end`` are never read.
    indicators : sequence of str, optional
        Names from :data:`INDICATORS`. ``None``: every indicator the log's columns allow; the
        others are skipped and listed in ``attrs["skipped"]``. An explicitly requested indicator
        whose column is absent raises :class:`DataError` naming the column.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), one row per customer with at least one transaction
        in the window, one column per indicator (in the order requested, else registry order).
        Count indicators are int64, the others float64. ``attrs``: ``window`` (start, end, days), ``rows`` (read, in_window,
        before_start, after_end), ``skipped`` {name: reason}, ``undefined`` {name: NaN count},
        ``notes`` (list of str).

    Notes
    -----
    Formulas are in ``INDICATORS[name].description``. With ``end`` = E, window start s and per
    customer c: recency = E - max d; frequency = #rows; purchase_days = #distinct d;
    monetary M = sum amount; avg_order_value = M / frequency; tenure = E - min d over the log
    up to E; active_months = #distinct (year, month); regularity_cv = sd/mean of gaps between
    distinct dates; spend_trend = (R2 - R1) / (|R1| + |R2|).

    The aggregation is one DuckDB group-by over the rows up to ``end``. For windows up to
    1024 days it also gathers each customer's purchase dates as bitmasks (one 128-bit
    ``bit_or`` per 128 days); purchase days, active months, recency and the gap statistics are
    then computed from the bits in numpy. Longer windows use the sorted list of each
    customer's distinct dates instead (same values, slower).

    Examples
    --------
    >>> X = customer_features(load_cdnow(), end="1997-09-30")  # doctest: +SKIP
    """
    end_ts = _as_date(end, "end")
    start_ts = None if start is None else _as_date(start, "start")
    if start_ts is not None and start_ts > end_ts:
        raise ValueError(f"start {start_ts:%Y-%m-%d} is after end {end_ts:%Y-%m-%d}")
    requested = indicators is not None
    names = _requested_names(indicators)

    with duck.DuckDBSource(log) as src:
        present = set(src.columns)
        label = src.label
        chosen, skipped = _choose(names, requested, present, label)
        rows = duck.row_accounting(src, start_ts, end_ts)
        window_start = start_ts if start_ts is not None else rows.pop("first_date")
        rows.pop("first_date", None)
        if window_start is None:  # nothing on or before end
            window_start = end_ts
        result = duck.features_frame(src, chosen, window_start, end_ts, start_ts is not None)
    return _finish(
        result,
        chosen=chosen,
        skipped=skipped,
        requested=requested,
        present=present,
        rows=rows,
        window_start=window_start,
        end_ts=end_ts,
        start_given=start_ts is not None,
        label=label,
    )


def _finish(
    result: pd.DataFrame,
    *,
    chosen: list[str],
    skipped: dict[str, str],
    requested: bool,
    present: set[str],
    rows: dict,
    window_start: pd.Timestamp,
    end_ts: pd.Timestamp,
    start_given: bool,
    label: str,
) -> pd.DataFrame:
    """Index, the conditional return_rate, dtypes, column order and attrs of the result."""
    notes: list[str] = []
    result["customer_id"] = result["customer_id"].astype("str")
    result = result.set_index("customer_id")
    returns_total = result.pop("_returned_total").sum() if "_returned_total" in result else None
    if "return_rate" in chosen and not requested and not returns_total:
        result = result.drop(columns="return_rate")
        chosen.remove("return_rate")
        skipped["return_rate"] = "no returns (negative amounts) in the window"
    if "monthly_volume" in chosen and "quantity" not in present:
        notes.append("monthly_volume counts orders per month (the log has no quantity column)")
    for name in chosen:
        if name in COUNT_INDICATORS:
            result[name] = result[name].astype("int64")
        else:
            result[name] = result[name].astype("float64")
    result = result[chosen]
    result.attrs = {
        # Plain strings and ints, so that the attrs survive to_parquet (JSON metadata).
        "window": {
            "start": f"{window_start:%Y-%m-%d}",
            "end": f"{end_ts:%Y-%m-%d}",
            "days": int((end_ts - window_start).days) + 1,
            "start_given": start_given,
        },
        "rows": rows,
        "skipped": skipped,
        "undefined": {c: int(n) for c, n in result.isna().sum().items() if n},
        "notes": notes,
        "source": label,
    }
    return result


def holdout_outcomes(log: Any, *, start: Any, end: Any, customers: Iterable) -> pd.DataFrame:
    """Purchases, net revenue and churn of ``customers`` in the holdout ``start <= date <= end``.

    Parameters
    ----------
    log : TransactionLog, DataFrame or path
        As for :func:`customer_features`.
    start, end : date-like
        Holdout window, both inclusive.
    customers : iterable of str
        The customers to report on (e.g. the index of the calibration features). Every one gets
        a row, including those without any holdout transaction.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` in the order given: ``purchases`` (int64, rows in the
        window, returns included), ``revenue`` (float64, sum of amount, 0.0 without rows),
        ``churned`` (bool, ``purchases == 0``). ``attrs["rows"]``: rows in the window that
        belong to other customers (``other_customers``) and to the given ones.

    Notes
    -----
    R equivalent: ``log |> filter(between(date, start, end)) |> count(customer_id)`` joined
    onto the customer list with zeros filled.
    """
    start_ts, end_ts = _as_date(start, "start"), _as_date(end, "end")
    if start_ts > end_ts:
        raise ValueError(f"start {start_ts:%Y-%m-%d} is after end {end_ts:%Y-%m-%d}")
    index = pd.Index(
        pd.Series(list(customers), dtype="object").astype("str"), name="customer_id", dtype="str"
    )
    if index.has_duplicates:
        dup = index[index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"customers has duplicates, e.g. {dup}; pass each customer once")
    with duck.DuckDBSource(log) as src:
        counts = duck.holdout_counts(src, start_ts, end_ts)
    counts["customer_id"] = counts["customer_id"].astype("str")
    counts = counts.set_index("customer_id")
    known = counts.index.isin(index)
    out = pd.DataFrame(index=index)
    out["purchases"] = counts["purchases"].reindex(index).fillna(0).astype("int64")
    out["revenue"] = counts["revenue"].reindex(index).fillna(0.0).astype("float64")
    out["churned"] = out["purchases"].eq(0)
    out.attrs = {
        "window": {"start": f"{start_ts:%Y-%m-%d}", "end": f"{end_ts:%Y-%m-%d}"},
        "rows": {
            "given_customers": int(counts.loc[known, "purchases"].sum()),
            "other_customers": int(counts.loc[~known, "purchases"].sum()),
        },
    }
    return out
