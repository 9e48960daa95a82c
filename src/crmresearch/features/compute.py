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
from crmresearch.features import progress, spec
from crmresearch.features.engines import duckdb as duck
from crmresearch.features.registry import COUNT_INDICATORS, INDICATORS

__all__ = ["ENGINES", "customer_features", "holdout_outcomes", "open_source"]

ENGINES = ("duckdb", "spark")


def open_source(log: Any, engine: str = "duckdb", spark: Any = None):
    """The log as a view of the chosen engine (a context manager; closes the view/connection).

    ``engine="duckdb"``: a TransactionLog, DataFrame or Parquet/CSV path in an embedded DuckDB.
    ``engine="spark"``: additionally a Spark DataFrame, a Delta directory or a table name, in
    ``spark`` (default: the active SparkSession, else a new local one). Without PySpark the
    Spark engine raises ImportError naming ``pip install "crmresearch[spark]"``.
    """
    if engine == "duckdb":
        if spark is not None:
            raise ValueError('spark= is only used with engine="spark"')
        return duck.DuckDBSource(log)
    if engine == "spark":
        from crmresearch.features.engines.spark import SparkSource

        return SparkSource(log, spark)
    raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")


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
    engine: str = "duckdb",
    spark: Any = None,
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
    engine : {"duckdb", "spark"}
        ``"duckdb"`` (default): embedded, single machine. ``"spark"``: the same definitions as
        Spark SQL in ``spark`` (a SparkSession; default the active one); ``log`` may then also
        be a Spark DataFrame, a Parquet/Delta path or a table name (``db.transactions``).
        Integers and cent-based money are identical in both engines.
    spark : SparkSession, optional
        Only with ``engine="spark"``.

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

    Every indicator is defined once from exact building blocks in two stages (customer-day,
    then customer; :mod:`crmresearch.features.spec`): counts, day offsets, sums of integer
    cents when every amount has at most two decimals (else double sums), integer gap sums and
    bit sets. Spark runs that two-stage query. DuckDB computes the same blocks in one group-by
    over the rows up to ``end`` and, for windows up to 1024 days, gathers each customer's
    purchase days as bitmasks (one 128-bit ``bit_or`` per 128 days) decoded in numpy; longer
    windows run the two-stage query. Logs over 20 M rows run in passes over ranges of customer
    ids so that the aggregation state fits in memory. The results are
    bit-identical across paths for integers and cent money (``tests/test_features_spark.py``).
    Long aggregations report progress on stderr (:mod:`crmresearch.features.progress`).

    Examples
    --------
    >>> X = customer_features(load_cdnow(), end="1997-09-30")  # doctest: +SKIP
    """
    return _customer_features(
        log, start=start, end=end, indicators=indicators, engine=engine, spark=spark
    )


def _customer_features(
    log: Any,
    *,
    start: Any = None,
    end: Any,
    indicators: Sequence[str] | None = None,
    engine: str = "duckdb",
    spark: Any = None,
    portable: bool = False,
) -> pd.DataFrame:
    """:func:`customer_features`; ``portable=True`` runs the two-stage query also on DuckDB."""
    end_ts = _as_date(end, "end")
    start_ts = None if start is None else _as_date(start, "start")
    if start_ts is not None and start_ts > end_ts:
        raise ValueError(f"start {start_ts:%Y-%m-%d} is after end {end_ts:%Y-%m-%d}")
    requested = indicators is not None
    names = _requested_names(indicators)

    with open_source(log, engine, spark) as src:
        present = set(src.columns)
        label = src.label
        chosen, skipped = _choose(names, requested, present, label)
        rows, first_date, exact = row_accounting(src, start_ts, end_ts)
        window_start = start_ts if start_ts is not None else first_date
        if window_start is None:  # nothing on or before end
            window_start = end_ts
        with progress.report(src, f"customer features ({rows['read']:,} rows)", rows["read"]):
            result = window_frame(
                src, chosen, window_start, end_ts, start_ts is not None, exact, portable
            )
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


def row_accounting(src, start: pd.Timestamp | None, end: pd.Timestamp):
    """(rows by fate, first date up to end, {column: summed in exact cents}); bad keys raise.

    Rows with a missing key must not vanish silently, so they stop the computation.
    """
    # DuckDB counts missing ids from Parquet metadata; the pass then need not read the ids
    separate = getattr(src, "key_count_from_metadata", False)
    missing_keys = 0
    if separate:
        keys = src.fetch_one(spec.key_count_sql(src.view))
        missing_keys = int(keys["n"]) - int(keys["n_key"])
    acc = src.fetch_one(
        spec.row_accounting_sql(
            src.view, src.columns, start, end, src.dialect, check_key=not separate
        )
    )
    n, bad, after, n_before = (int(acc[k] or 0) for k in ("n", "bad", "n_after", "n_before"))
    if separate and missing_keys:  # the exact number of bad rows for the message
        sql = spec.row_accounting_sql(src.view, src.columns, start, end, src.dialect)
        bad = int(src.fetch_one(sql)["bad"])
    if bad:
        raise DataError(
            f"{src.label}: {bad} row(s) have a missing customer_id/date/amount or a non-finite "
            "amount; validate the log with crmresearch.data.read_transactions (it rejects such "
            "rows with a reason) and pass the TransactionLog"
        )
    rows = {
        "read": n,
        "in_window": n - after - n_before,
        "before_start": n_before,
        "after_end": after,
    }
    first = acc["first_date"]
    exact = {c: int(acc[f"inexact_{c}"]) == 0 for c in spec.SCALED_COLUMNS if c in src.columns}
    return rows, None if first is None else pd.Timestamp(first), exact


def window_frame(src, chosen, window_start, end, start_given, exact, portable=False):
    """The engine's raw result: ``customer_id``, indicators, ``_`` helpers, sorted by id."""
    if isinstance(src, duck.DuckDBSource) and not portable:
        frame = duck.features_frame(src, chosen, window_start, end, start_given, exact)
        if frame is not None:
            return frame
    sql = spec.portable_sql(
        src.view,
        chosen,
        set(src.columns),
        window_start,
        end,
        start_given,
        exact,
        src.dialect,
        _value_codes(src, chosen, end),
    )
    frame = src.to_pandas(sql)
    return frame.sort_values("customer_id", kind="stable", ignore_index=True)


def _value_codes(src, chosen, end) -> spec.ValueCodes | None:
    """Bit positions for category/channel values while they fit in one BIGINT together."""
    views, sizes, total = {}, {}, 0
    for column, indicator in (("category", "category_breadth"), ("channel", "channel_count")):
        if indicator not in chosen:
            continue
        values = src.distinct_values(column, end, spec.MAX_VALUE_BITS - total)
        if values is None:
            continue
        views[column] = src.register_codes(column, values)
        sizes[column] = len(values)
        total += len(values)
    return spec.ValueCodes(views, sizes) if views else None


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


def holdout_outcomes(
    log: Any,
    *,
    start: Any,
    end: Any,
    customers: Iterable,
    engine: str = "duckdb",
    spark: Any = None,
) -> pd.DataFrame:
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
    engine, spark
        As for :func:`customer_features`.

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
    with open_source(log, engine, spark) as src:
        counts = src.to_pandas(spec.holdout_sql(src.view, start_ts, end_ts, src.dialect))
    # exact cents when every amount in the window has at most two decimals
    if counts["inexact"].sum() == 0:
        counts["revenue"] = counts["revenue_cents"].astype("float64") / 100
    else:
        counts["revenue"] = counts["revenue_double"].astype("float64")
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
