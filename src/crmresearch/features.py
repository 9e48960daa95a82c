"""Customer indicators from a transaction log, aggregated in DuckDB.

One row per customer active in a window, one column per indicator (see :data:`INDICATORS`).
All SQL of the package's aggregation lives in this module, so the same definitions can later run
on a cluster engine unchanged in meaning.

Window rules
------------
* ``start`` and ``end`` are calendar dates, both **inclusive**: a transaction dated ``d`` is in the
  window when ``start <= d <= end``. Times of day are dropped (``date`` is cast to ``DATE``).
* ``start=None`` means "from the beginning of the log": the window starts on the earliest date
  in the log up to ``end`` (that date is used for ``spend_trend``'s halves).
* A customer is *active* when they have at least one row (any amount, also a return or a zero
  amount) in the window. Only active customers get a row.
* Rows after ``end`` are never used (no look-ahead). Rows before ``start`` are used for exactly
  one indicator, ``tenure_days`` (the relationship began before the window).

Every excluded row is counted in ``result.attrs["rows"]``; indicators that could not be computed
are listed with the reason in ``result.attrs["skipped"]``; undefined values (NaN) are counted per
indicator in ``result.attrs["undefined"]``.

References
----------
Fader, P. S., Hardie, B. G. S., & Lee, K. L. (2005). RFM and CLV: Using iso-value curves for
customer base analysis. *Journal of Marketing Research*, 42(4), 415-430.
Hughes, A. M. (1994). *Strategic Database Marketing*. Probus (RFM).
R equivalent: ``dplyr::group_by(customer_id) |> summarise(...)`` over the filtered log.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmresearch.errors import DataError

__all__ = [
    "INDICATORS",
    "Indicator",
    "IndexConfig",
    "apply_config",
    "customer_features",
    "describe_features",
    "holdout_outcomes",
    "load_config",
    "available_configs",
]

REQUIRED_COLUMNS = ("customer_id", "date", "amount")
OPTIONAL_COLUMNS = ("quantity", "profit", "category", "channel", "due_date", "paid_date")
# Average Gregorian month, used to turn days of exposure into months.
DAYS_PER_MONTH = 365.2425 / 12


@dataclass(frozen=True)
class Indicator:
    """One customer indicator: what it means, which columns it needs, which way is better."""

    name: str
    label_en: str
    label_zh: str
    direction: int  # +1 benefit (more is better for the firm), -1 cost (less is better)
    needs: tuple[str, ...]  # canonical columns beyond customer_id
    unit: str
    description: str  # the precise formula


_IND = [
    Indicator(
        "recency_days",
        "Recency",
        "最近购买间隔",
        -1,
        ("date",),
        "days",
        "end - (last transaction date in the window), in days; 0 = bought on the end date.",
    ),
    Indicator(
        "frequency",
        "Frequency (orders)",
        "购买频次",
        +1,
        ("date",),
        "orders",
        "Number of transaction rows in the window (an order = a row; returns and zero amounts "
        "count as rows).",
    ),
    Indicator(
        "purchase_days",
        "Purchase days",
        "购买天数",
        +1,
        ("date",),
        "days",
        "Number of distinct transaction dates in the window.",
    ),
    Indicator(
        "monetary",
        "Monetary (net revenue)",
        "消费金额",
        +1,
        ("date", "amount"),
        "currency",
        "Net revenue: sum(amount) over the window's rows, returns (negative amounts) included.",
    ),
    Indicator(
        "avg_order_value",
        "Average order value",
        "平均订单金额",
        +1,
        ("date", "amount"),
        "currency/order",
        "monetary / frequency.",
    ),
    Indicator(
        "quantity",
        "Quantity",
        "购买数量",
        +1,
        ("date", "quantity"),
        "units",
        "sum(quantity) over the window's rows (returned units, if negative, net out).",
    ),
    Indicator(
        "tenure_days",
        "Tenure (length of cooperation)",
        "合作时长",
        +1,
        ("date",),
        "days",
        "end - (first transaction date of the customer in the whole log up to end), in days. "
        "History before `start` counts: the relationship began then.",
    ),
    Indicator(
        "active_months",
        "Active months",
        "活跃月数",
        +1,
        ("date",),
        "months",
        "Number of distinct calendar months (year, month) with at least one transaction in "
        "the window.",
    ),
    Indicator(
        "monthly_volume",
        "Average monthly volume",
        "月均购买量",
        +1,
        ("date",),
        "units/month",
        "sum(quantity) / exposure_months, where exposure_months = max(1, (end - max(window "
        "start, first transaction date) + 1) / 30.436875): the volume per month the customer "
        "was in the window since their first purchase, at least one month so that brand-new "
        "customers are not inflated. Without a quantity column the numerator is frequency "
        "(orders/month) and attrs['notes'] says so.",
    ),
    Indicator(
        "regularity_cv",
        "Purchase irregularity (CV of gaps)",
        "购买间隔变异系数",
        -1,
        ("date",),
        "ratio",
        "Coefficient of variation of the gaps (days) between consecutive distinct purchase "
        "dates in the window: sd(gaps, ddof=1) / mean(gaps). NaN with fewer than 2 gaps (fewer "
        "than 3 purchase days); counted in attrs['undefined']. 0 = perfectly regular; an index "
        "config may fill NaN with 1.0 (the CV of memoryless/Poisson purchasing).",
    ),
    Indicator(
        "spend_trend",
        "Spend trend",
        "消费趋势",
        +1,
        ("date", "amount"),
        "ratio",
        "(R2 - R1) / (|R1| + |R2|), where R1, R2 = net revenue in the first and second half of "
        "the window [s, end] (s = start, or the log's first date when start is None); a date d "
        "is in the second half when 2 * (d - s) >= (end - s + 1) days. Range [-1, 1]; 0 when "
        "R1 = R2 = 0.",
    ),
    Indicator(
        "profit",
        "Profit",
        "利润",
        +1,
        ("date", "profit"),
        "currency",
        "sum(profit) over the window's rows.",
    ),
    Indicator(
        "margin_rate",
        "Margin rate",
        "毛利率",
        +1,
        ("date", "amount", "profit"),
        "ratio",
        "sum(profit) / sum(amount) over the window's rows; NaN when net revenue <= 0.",
    ),
    Indicator(
        "return_rate",
        "Return rate",
        "退货率",
        -1,
        ("date", "amount"),
        "ratio",
        "Returned share of gross sales: sum(-amount | amount < 0) / sum(amount | amount > 0) "
        "over the window's rows; NaN when gross sales are 0. Skipped (unless requested) when "
        "the window holds no negative amount at all, since it would be 0 for everyone.",
    ),
    Indicator(
        "category_breadth",
        "Category breadth",
        "品类广度",
        +1,
        ("date", "category"),
        "categories",
        "Number of distinct non-missing categories in the window's rows.",
    ),
    Indicator(
        "channel_count",
        "Channel count",
        "渠道数",
        +1,
        ("date", "channel"),
        "channels",
        "Number of distinct non-missing channels in the window's rows.",
    ),
    Indicator(
        "late_payment_rate",
        "Late-payment rate",
        "逾期付款率",
        -1,
        ("date", "due_date", "paid_date"),
        "ratio",
        "Share of the window's invoices (rows with a due_date) that were paid late, judged as "
        "of `end`: a payment dated after `end` is treated as not yet made. An invoice is late "
        "when paid after its due date, or unpaid at `end` with due_date < end; it is on time "
        "when paid on or before its due date. Invoices not yet due and unpaid at `end` are "
        "excluded (status unknown). NaN without any invoice of known status.",
    ),
    Indicator(
        "days_overdue",
        "Mean days overdue",
        "平均逾期天数",
        -1,
        ("date", "due_date", "paid_date"),
        "days",
        "Mean over the same invoices of max(0, p - due_date), p = paid_date if paid by `end`, "
        "else `end` (days overdue so far). NaN without any invoice of known status.",
    ),
]
INDICATORS: dict[str, Indicator] = {ind.name: ind for ind in _IND}
"""Registry of customer indicators, in the canonical column order of the result."""

_COUNT_INDICATORS = {
    "recency_days", "frequency", "purchase_days", "tenure_days", "active_months",
    "category_breadth", "channel_count",
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Input: TransactionLog, DataFrame or path -> a DuckDB relation name
# --------------------------------------------------------------------------------------------
def _duckdb_memory_limit() -> str:
    """DuckDB's working-memory cap: ``CRMRESEARCH_DUCKDB_MEMORY`` or min(3 GB, RAM / 4).

    Beyond it the group-by spills to a temporary directory instead of growing; the cap leaves
    room for the result frame in Python (for 10 M customers about as large again).
    """
    configured = os.environ.get("CRMRESEARCH_DUCKDB_MEMORY")
    if configured:
        return configured
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "3GB"
    return f"{max(256, min(3000, ram // 4 // 10**6))}MB"


class _Source:
    """Opens one DuckDB connection and exposes the log as the view ``src``."""

    def __init__(self, log: Any):
        import duckdb

        self._tmpdir = tempfile.mkdtemp(prefix="crmresearch-duckdb-")
        self.con = duckdb.connect(
            config={
                "temp_directory": self._tmpdir,
                "threads": os.cpu_count() or 1,
                "memory_limit": _duckdb_memory_limit(),
            }
        )
        # Insertion order is irrelevant for group-bys; dropping it lets DuckDB stream and spill.
        self.con.execute("SET preserve_insertion_order = false")
        self.label = "DataFrame"
        if hasattr(log, "frame") and isinstance(log.frame, pd.DataFrame):
            self.label = str(getattr(log, "source", "TransactionLog"))
            log = log.frame
        if isinstance(log, pd.DataFrame):
            self._register_frame(log)
        elif isinstance(log, (str, os.PathLike)):
            self._register_path(Path(log))
        else:
            self.close()
            raise TypeError(
                f"log must be a TransactionLog, a DataFrame or a path to a Parquet/CSV file, "
                f"not {type(log).__name__}"
            )
        self.columns = [r[0] for r in self.con.execute("DESCRIBE src").fetchall()]
        missing = [c for c in REQUIRED_COLUMNS if c not in self.columns]
        if missing:
            self.close()
            raise DataError(
                f"{self.label}: missing required column(s) {', '.join(missing)}; the log needs "
                f"{', '.join(REQUIRED_COLUMNS)} (map your names with "
                f"read_transactions(..., columns={{'your_name': 'customer_id', ...}}))"
            )

    def _register_frame(self, frame: pd.DataFrame) -> None:
        for col in ("date", "due_date", "paid_date"):
            if col in frame.columns and not pd.api.types.is_datetime64_any_dtype(frame[col]):
                self.close()
                raise DataError(
                    f"{self.label}: column {col!r} has dtype {frame[col].dtype}, expected "
                    "datetime64; parse dates first (crmresearch.data.read_transactions does)"
                )
        # Registered, not copied: DuckDB scans the pandas/Arrow buffers in place.
        self.con.register("src", frame)

    def _register_path(self, path: Path) -> None:
        self.label = str(path)
        quoted = str(path).replace("'", "''")
        suffix = path.suffix.lower()
        if suffix in (".parquet", ".csv", ".txt", ".gz") and not any(
            ch in str(path) for ch in "*?["
        ):
            if not path.exists():
                self.close()
                raise FileNotFoundError(f"{path}: no such file")
        if suffix == ".parquet":
            scan = f"read_parquet('{quoted}')"
        elif suffix in (".csv", ".txt", ".gz"):
            scan = f"read_csv('{quoted}', types={{'customer_id': 'VARCHAR'}})"
        else:
            self.close()
            raise DataError(
                f"{path}: unsupported file type {suffix!r}; give a .parquet or .csv file with "
                "canonical columns, or read it with crmresearch.data.read_transactions first"
            )
        self.con.execute(f"CREATE VIEW src AS SELECT * FROM {scan}")

    def close(self) -> None:
        try:
            self.con.close()
        finally:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _as_date(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}={value!r} is not a date; give e.g. '1997-09-30'") from exc
    if pd.isna(ts):
        raise ValueError(f"{name} must be a date, got {value!r}")
    return ts.normalize()


def _sql_date(ts: pd.Timestamp) -> str:
    return f"DATE '{ts:%Y-%m-%d}'"


def _row_accounting(src: _Source, start: pd.Timestamp | None, end: pd.Timestamp) -> dict:
    """Count rows by fate and refuse rows with missing keys (they must not vanish silently)."""
    before = f"count(*) FILTER (WHERE CAST(date AS DATE) < {_sql_date(start)})" if start else "0"
    n, bad, after, n_before, first = src.con.execute(
        f"""
        SELECT count(*),
               count(*) FILTER (WHERE customer_id IS NULL OR date IS NULL OR amount IS NULL
                                OR NOT isfinite(amount)),
               count(*) FILTER (WHERE CAST(date AS DATE) > {_sql_date(end)}),
               {before},
               min(CAST(date AS DATE)) FILTER (WHERE CAST(date AS DATE) <= {_sql_date(end)})
        FROM src
        """
    ).fetchone()
    if bad:
        raise DataError(
            f"{src.label}: {bad} row(s) have a missing customer_id/date/amount or a non-finite "
            "amount; validate the log with crmresearch.data.read_transactions (it rejects such "
            "rows with a reason) and pass the TransactionLog"
        )
    return {
        "read": int(n),
        "in_window": int(n - after - n_before),
        "before_start": int(n_before),
        "after_end": int(after),
        "first_date": None if first is None else pd.Timestamp(first),  # popped by the caller
    }


# --------------------------------------------------------------------------------------------
# customer_features
# --------------------------------------------------------------------------------------------
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
    if requested:
        names = list(dict.fromkeys(indicators))
        unknown = [n for n in names if n not in INDICATORS]
        if unknown:
            raise ValueError(
                f"unknown indicator(s) {', '.join(unknown)}; choose from {', '.join(INDICATORS)}"
            )
        if not names:
            raise ValueError("indicators is empty; give at least one name or None for all")
    else:
        names = list(INDICATORS)

    with _Source(log) as src:
        present = set(src.columns)
        skipped: dict[str, str] = {}
        chosen = []
        for name in names:
            missing = [c for c in INDICATORS[name].needs if c not in present]
            if missing and requested:
                raise DataError(
                    f"{src.label}: indicator {name!r} needs column(s) {', '.join(missing)}, "
                    "which the log does not have; add the column or do not request the indicator"
                )
            if missing:
                skipped[name] = f"column(s) {', '.join(missing)} absent"
            else:
                chosen.append(name)
        rows = _row_accounting(src, start_ts, end_ts)
        window_start = start_ts if start_ts is not None else rows.pop("first_date")
        rows.pop("first_date", None)
        notes: list[str] = []
        if window_start is None:  # nothing on or before end
            window_start = end_ts
        bitmask_types = _distinct_bitmask_types(src, chosen, end_ts)
        n_days = int((end_ts - window_start).days) + 1
        day_segments = _day_mask_segments(chosen, n_days)
        sql = _features_sql(
            chosen,
            present,
            window_start,
            end_ts,
            start_ts is not None,
            bitmask_types,
            day_segments,
        )
        # Arrow, then pandas without the bitmask columns: fewer copies than .df() of them all
        src.con.complete()  # the earlier execute() results, so that sql() may run
        table = src.con.sql(sql).to_arrow_table()
    masks = []
    if day_segments:
        mask_names = [f"_dm{k}_{half}" for k in range(day_segments) for half in ("lo", "hi")]
        masks = [table.column(name) for name in mask_names]
        table = table.drop_columns(mask_names)
    result = table.to_pandas()
    del table
    if day_segments:
        _day_mask_indicators(result, masks, window_start, end_ts, set(chosen), start_ts is not None)
        del masks

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
        if name in _COUNT_INDICATORS:
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
            "start_given": start_ts is not None,
        },
        "rows": rows,
        "skipped": skipped,
        "undefined": {c: int(n) for c, n in result.isna().sum().items() if n},
        "notes": notes,
        "source": src.label,
    }
    return result


def _distinct_bitmask_types(
    src: _Source, names: list[str], end: pd.Timestamp
) -> dict[str, tuple[str, int]]:
    """ENUM types (name, number of values) for category/channel with at most 64 values.

    Columns with more values are counted with ``count(DISTINCT ...)`` instead.

    ``count(DISTINCT x)`` over a million groups costs about three plain group-bys in DuckDB;
    OR-ing one bit per value (``bit_or(1 << enum_code)``) and counting bits is one.
    """
    types = {}
    for column, indicator in (("category", "category_breadth"), ("channel", "channel_count")):
        if indicator not in names:
            continue
        type_name = f"crm_{column}_t"
        src.con.execute(
            f"CREATE TYPE {type_name} AS ENUM (SELECT DISTINCT CAST({column} AS VARCHAR) "
            f"FROM src WHERE {column} IS NOT NULL AND CAST(date AS DATE) <= {_sql_date(end)})"
        )
        n_values = src.con.execute(f"SELECT len(enum_range(NULL::{type_name}))").fetchone()[0]
        if n_values <= 64:
            types[column] = (type_name, int(n_values))
    return types


# Windows up to this many days use per-customer day bitmasks (one 128-bit bit_or per 128-day
# segment); longer ones gather each customer's sorted distinct dates as a list (exact, slower).
DAY_MASK_MAX_SEGMENTS = 8
_SEGMENT_BITS = 128


def _day_mask_segments(names: Sequence[str], n_days: int) -> int:
    """Number of 128-day bitmask segments for the window, 0 = use the list fallback."""
    if not set(names) & {"purchase_days", "regularity_cv", "active_months"}:
        return 0
    n_seg = -(-n_days // _SEGMENT_BITS)
    return n_seg if n_seg <= DAY_MASK_MAX_SEGMENTS else 0


def _features_sql(
    names: list[str],
    present: set[str],
    s: pd.Timestamp,
    e: pd.Timestamp,
    start_given: bool,
    bitmask_types: dict[str, tuple[str, int]] | None = None,
    day_segments: int = 0,
) -> str:
    """Build the one aggregation query for ``names`` (all SQL of the module is built here).

    Plan: one customer group-by over the rows up to ``end`` computes every aggregate. Its cost
    is dominated by updating each aggregate's state at a random place in the hash table, so
    aggregates are few and, where possible, filtered to the rows that matter.

    With ``day_segments`` > 0 the customer's distinct window dates come back as bitmasks (bit
    p of ``_dm{k}_lo``/``_dm{k}_hi`` = day offset 128 k + p from the window start, resp. + 64),
    one filtered ``bit_or`` per 128-day segment; recency, first date (without ``start``),
    purchase days, active months and the gap CV are then computed from the bits in numpy
    (:func:`_day_mask_indicators`). Otherwise (long windows) the sorted list of the customer's
    distinct window dates is gathered in the same group-by (exact, about twice as slow).
    """
    bitmask_types = bitmask_types or {}
    E, S = _sql_date(e), _sql_date(s)
    n_days = int((e - s).days) + 1
    need = set(names)
    masks = day_segments > 0

    def w(cond: str | None = None) -> str:
        parts = [p for p in (f"d >= {S}" if start_given else None, cond) if p]
        return f" FILTER (WHERE {' AND '.join(parts)})" if parts else ""

    cols = ["CAST(customer_id AS VARCHAR) AS customer_id", "CAST(date AS DATE) AS d", "amount"]
    used = {c for n in need for c in INDICATORS[n].needs}
    if "monthly_volume" in need:
        used.add("quantity")  # its numerator when the log has quantities
    cols += [c for c in ("quantity", "profit") if c in used & present]
    # category and channel: one bit per distinct value, both in one UBIGINT when they fit
    bit_cols = [c for c in ("category", "channel") if c in used & present and c in bitmask_types]
    bit_shift = {}
    if sum(bitmask_types[c][1] for c in bit_cols) <= 64:
        shift = 0
        for c in bit_cols:
            bit_shift[c] = shift
            shift += bitmask_types[c][1]
    else:
        bit_shift = {c: 0 for c in bit_cols}
    shared_bits = len(bit_cols) == 2 and bit_shift["channel"] > 0
    bit_exprs = {}
    for c in bit_cols:
        code = f"enum_code(CAST({c} AS VARCHAR)::{bitmask_types[c][0]})"
        bit_exprs[c] = f"coalesce(1::UBIGINT << ({code} + {bit_shift[c]}), 0)"
    if shared_bits:
        cols.append(f"{bit_exprs['category']} | {bit_exprs['channel']} AS value_bit")
    else:
        cols += [f"{expr} AS {c}_bit" for c, expr in bit_exprs.items()]
    for c in ("category", "channel"):
        if c in used & present and c not in bitmask_types:
            cols.append(c)
    credit = bool(need & {"late_payment_rate", "days_overdue"})
    derived = []  # computed once per row from the casts of the inner projection
    if credit:
        cols += ["CAST(due_date AS DATE) AS due", "CAST(paid_date AS DATE) AS paid"]
        # Days overdue as of `end` (NULL: no invoice, or not yet due and unpaid = unknown);
        # a payment recorded after `end` is not known yet. Late <=> overdue > 0.
        derived.append(
            f"CASE WHEN due IS NULL THEN NULL "
            f"WHEN paid <= {E} THEN greatest(paid - due, 0) "
            f"WHEN due < {E} THEN {E} - due END AS overdue"
        )
    if masks:
        # day offset from the window start split into (128-day segment, bit within it); rows
        # before `start` get a negative segment and so match no segment filter
        derived.append(f"CAST(d - {S} AS INTEGER) >> 7 AS seg")
        derived.append(f"1::UHUGEINT << CAST(CAST(d - {S} AS INTEGER) & 127 AS UHUGEINT) AS bit")

    # Every aggregate costs about as much as the hashing itself, so derive what can be derived
    # (first-half revenue = revenue - second half; gross sales = revenue + returns).
    aggs = {"n_rows": f"count(*){w()}", "revenue": f"sum(amount){w()}"}
    if not masks and "recency_days" in need:
        aggs["last_d"] = f"max(d){w()}"
    if (start_given or not masks) and need & {"tenure_days", "monthly_volume"}:
        aggs["first_ever"] = "min(d)"
    out = {
        "recency_days": f"{E} - last_d",
        "frequency": "n_rows",
        "tenure_days": f"{E} - first_ever",
        "monetary": "revenue",
        "avg_order_value": "revenue / n_rows",
    }
    if masks:
        # recency and (without `start`) tenure come from the day bits
        out.pop("recency_days")
        if not start_given:
            out.pop("tenure_days")
    if "quantity" in need or ("monthly_volume" in need and "quantity" in present):
        aggs["qty"] = f"sum(quantity){w()}"
        out["quantity"] = "qty"
    if "monthly_volume" in need:
        volume = "qty" if "quantity" in present else "n_rows"
        if masks and not start_given:
            out["_monthly_volume_numerator"] = volume  # divided once the first date is known
        else:
            exposure = f"({E} - greatest(first_ever, {S}) + 1) / {DAYS_PER_MONTH!r}"
            out["monthly_volume"] = f"{volume} / greatest({exposure}, 1.0)"
    if "spend_trend" in need:
        # d is in the second half when 2 * (d - s) >= n_days, i.e. d >= s + ceil(n_days / 2)
        second_half = _sql_date(s + pd.Timedelta(days=-(-n_days // 2)))
        aggs["rev2"] = f"coalesce(sum(amount){w(f'd >= {second_half}')}, 0)"
        out["spend_trend"] = (
            "CASE WHEN abs(revenue - rev2) + abs(rev2) = 0 THEN 0.0 "
            "ELSE (2 * rev2 - revenue) / (abs(revenue - rev2) + abs(rev2)) END"
        )
    if "profit" in need or "margin_rate" in need:
        aggs["profit_sum"] = f"sum(profit){w()}"
        out["profit"] = "profit_sum"
        out["margin_rate"] = "CASE WHEN revenue > 0 THEN profit_sum / revenue END"
    if "return_rate" in need:
        # only the few negative rows update this aggregate
        aggs["returned"] = f"coalesce(-sum(amount){w('amount < 0')}, 0)"
        out["return_rate"] = (
            "CASE WHEN revenue + returned > 0 THEN returned / (revenue + returned) END"
        )
        out["_returned_total"] = "returned"
    if shared_bits:
        aggs["value_bits"] = f"coalesce(bit_or(value_bit){w()}, 0)"
    for column, indicator in (("category", "category_breadth"), ("channel", "channel_count")):
        if indicator in need:
            if column in bitmask_types:
                if shared_bits:
                    n_values, shift = bitmask_types[column][1], bit_shift[column]
                    low = (1 << n_values) - 1
                    out[indicator] = f"bit_count((value_bits >> {shift}) & {low}::UBIGINT)"
                    continue
                aggs[indicator] = f"coalesce(bit_count(bit_or({column}_bit){w()}), 0)"
            else:
                aggs[indicator] = f"count(DISTINCT {column}){w()}"
            out[indicator] = indicator
    if credit:
        # avg skips the NULLs (no invoice / status unknown): share late and mean days overdue
        # over the invoices of known status, exact for integers
        aggs["late_share"] = f"avg(CAST(overdue > 0 AS INTEGER)){w()}"
        aggs["overdue_mean"] = f"avg(overdue){w()}"
        out["late_payment_rate"] = "late_share"
        out["days_overdue"] = "overdue_mean"
    day_level = bool(need & {"purchase_days", "regularity_cv"})
    if masks:
        full = (1 << 64) - 1
        for k in range(day_segments):
            aggs[f"dm{k}"] = f"bit_or(bit) FILTER (WHERE seg = {k})"
            out[f"_dm{k}_lo"] = f"CAST(coalesce(dm{k}, 0) & {full}::UHUGEINT AS UBIGINT)"
            out[f"_dm{k}_hi"] = f"CAST(coalesce(dm{k}, 0) >> 64 AS UBIGINT)"
    elif "active_months" in need:
        first_month = s.year * 12 + s.month
        n_months = e.year * 12 + e.month - first_month + 1
        # Calendar arithmetic per row (year(), month()) is slow; look the month up by day offset
        # in a constant list instead (greatest(): FILTER drops pre-window rows only afterwards).
        days = pd.date_range(s, e, freq="D")
        month_index = (days.year * 12 + days.month - first_month).to_numpy()
        offset = f"greatest(CAST(d - {S} AS INTEGER), 0) + 1"
        if n_months <= 64:  # one bit per calendar month of the window
            bits = ", ".join(str(1 << int(m)) for m in month_index)
            aggs["n_months"] = f"bit_count(bit_or(([{bits}]::UBIGINT[])[{offset}]){w()})"
        else:
            index = ", ".join(str(int(m)) for m in month_index)
            aggs["n_months"] = f"count(DISTINCT ([{index}]::INTEGER[])[{offset}]){w()}"
        out["active_months"] = "n_months"
    if day_level and not masks:
        # The customer's distinct window dates (days since the window start) as a sorted list,
        # gathered in the same group-by: no DISTINCT pass, no window sort, no join. The gap
        # moments come from inner products of the list shifted by one (exact in float64 for
        # integer days), so sd/mean needs no per-element lambda.
        aggs["days"] = f"list_sort(list_distinct(list(CAST(d - {S} AS DOUBLE)){w()}))"
        out["purchase_days"] = "len(days)"
        out["regularity_cv"] = (
            "CASE WHEN len(days) >= 3 THEN sqrt(greatest(0, (len(days) - 1) * "
            "(list_inner_product(nxt, nxt) - 2 * list_inner_product(nxt, prv) "
            "+ list_inner_product(prv, prv)) - (days[-1] - days[1]) ** 2) "
            "/ ((len(days) - 1) * (len(days) - 2))) / ((days[-1] - days[1]) / (len(days) - 1)) END"
        )

    select = [
        f"{expr} AS {name}" for name, expr in out.items() if name in need or name.startswith("_")
    ]
    agg_sql = ",\n           ".join(f"{expr} AS {name}" for name, expr in aggs.items())
    sql = f"""
WITH base AS (
    SELECT *{"".join(", " + x for x in derived)}
    FROM (SELECT {", ".join(cols)} FROM src WHERE CAST(date AS DATE) <= {E})
)"""
    sep = ",\n       "
    shifted = (
        ", list_slice(days, 2, len(days)) AS nxt, list_slice(days, 1, len(days) - 1) AS prv"
        if day_level and not masks
        else ""
    )
    sql += f""",
cust AS (
    SELECT customer_id,
           {agg_sql}
    FROM base
    GROUP BY customer_id
    HAVING count(*){w()} > 0
),
cust2 AS (SELECT *{shifted} FROM cust)
SELECT customer_id{sep}{sep.join(select)}
FROM cust2
ORDER BY customer_id"""
    return sql


# Per byte value: number of set bits, and the positions of the set bits (padded with 0).
_BYTE_POPCOUNT = np.array([bin(v).count("1") for v in range(256)], dtype=np.int64)
_BYTE_BITS = np.array(
    [[p for p in range(8) if v >> p & 1] + [0] * (8 - bin(v).count("1")) for v in range(256)],
    dtype=np.int64,
)


def _day_mask_indicators(
    result: pd.DataFrame,
    masks: list,
    s: pd.Timestamp,
    e: pd.Timestamp,
    need: set[str],
    start_given: bool,
    chunk: int = 500_000,
) -> None:
    """Day-level indicators from the bitmask columns ``masks`` into ``result`` (in place).

    ``masks``: Arrow UBIGINT columns ``_dm0_lo, _dm0_hi, _dm1_lo, ...`` aligned with the rows
    of ``result`` (bit p of ``_dm{k}_lo`` = day offset 128 k + p, of ``_dm{k}_hi`` = + 64).

    The set bits of a customer's masks are the day offsets (from the window start ``s``) on
    which they bought, in increasing order. From them: purchase_days = number of bits;
    recency = e - s - last offset; first date = s + first offset (the customer's first
    transaction when there is no ``start``); active_months = number of distinct calendar
    months among the offsets; regularity_cv = sd(gaps, ddof=1) / mean(gaps) from integer sums
    of the gaps and squared gaps (exact). Customers are processed in chunks to bound memory.
    """
    n = len(result)
    n_days = int((e - s).days) + 1
    first_month = s.year * 12 + s.month
    days = pd.date_range(s, periods=len(masks) * 64, freq="D")
    month_of_offset = (days.year * 12 + days.month - first_month).to_numpy().astype(np.int64)
    words = np.empty((min(n, chunk), len(masks)), dtype=np.uint64)
    n_dates = np.zeros(n, dtype=np.int64)
    first = np.zeros(n, dtype=np.int64)
    last = np.zeros(n, dtype=np.int64)
    n_months = np.zeros(n, dtype=np.int64)
    n_gaps = np.zeros(n, dtype=np.int64)
    gap_sum = np.zeros(n, dtype=np.int64)
    gap_sq_sum = np.zeros(n, dtype=np.int64)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        for j, column in enumerate(masks):
            words[: hi - lo, j] = column.slice(lo, hi - lo).to_numpy()
        # little-endian words: byte b of a row holds day offsets 8 b .. 8 b + 7
        by = words[: hi - lo].view(np.uint8)
        row, col = np.nonzero(by)
        value = by[row, col]
        count = _BYTE_POPCOUNT[value]
        which = np.repeat(np.arange(len(value)), count)
        rank = np.arange(len(which)) - np.repeat(np.cumsum(count) - count, count)
        offset = col[which] * 8 + _BYTE_BITS[value[which], rank]
        row = row[which]  # sorted by row, then offset
        m = hi - lo
        n_dates[lo:hi] = np.bincount(row, minlength=m)
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        ends = np.r_[starts[1:], len(row)] - 1
        first[lo + row[starts]] = offset[starts]
        last[lo + row[ends]] = offset[ends]
        month = month_of_offset[offset]
        new_month = np.r_[True, (row[1:] != row[:-1]) | (month[1:] != month[:-1])]
        n_months[lo:hi] = np.bincount(row[new_month], minlength=m)
        same = row[1:] == row[:-1]
        gap = (offset[1:] - offset[:-1])[same]
        gap_row = row[1:][same]
        n_gaps[lo:hi] = np.bincount(gap_row, minlength=m)
        gap_sum[lo:hi] = np.bincount(gap_row, weights=gap, minlength=m).astype(np.int64)
        gap_sq_sum[lo:hi] = np.bincount(gap_row, weights=gap * gap, minlength=m).astype(np.int64)
    if (n_dates == 0).any() or (last >= n_days).any():
        raise RuntimeError("day bitmasks inconsistent with the window; please report this")
    span = (e - s).days
    if "recency_days" in need:
        result["recency_days"] = span - last
    if not start_given:
        first_ever = first
        if "tenure_days" in need:
            result["tenure_days"] = span - first
        if "_monthly_volume_numerator" in result:
            exposure = (span - first_ever + 1) / DAYS_PER_MONTH
            result["monthly_volume"] = result.pop("_monthly_volume_numerator") / np.maximum(
                exposure, 1.0
            )
    if "purchase_days" in need:
        result["purchase_days"] = n_dates
    if "active_months" in need:
        result["active_months"] = n_months
    if "regularity_cv" in need:
        with np.errstate(invalid="ignore", divide="ignore"):
            # sd^2 = (k sum g^2 - (sum g)^2) / (k (k - 1)) with k gaps, integers exact
            k = n_gaps.astype(np.float64)
            numerator = (n_gaps * gap_sq_sum - gap_sum * gap_sum).astype(np.float64)
            sd = np.sqrt(np.maximum(numerator, 0) / (k * (k - 1)))
            cv = sd / (gap_sum / k)
        result["regularity_cv"] = np.where(n_gaps >= 2, cv, np.nan)


# --------------------------------------------------------------------------------------------
# holdout_outcomes
# --------------------------------------------------------------------------------------------
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
    with _Source(log) as src:
        counts = src.con.execute(
            f"""
            SELECT CAST(customer_id AS VARCHAR) AS customer_id, count(*) AS purchases,
                   sum(amount) AS revenue
            FROM src
            WHERE CAST(date AS DATE) BETWEEN {_sql_date(start_ts)} AND {_sql_date(end_ts)}
            GROUP BY 1
            """
        ).df()
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


# --------------------------------------------------------------------------------------------
# Index systems (YAML configs)
# --------------------------------------------------------------------------------------------
DIMENSIONS = ("contribution", "loyalty", "activity", "credit", "tenure")


@dataclass(frozen=True)
class IndexConfig:
    """An index system: which indicators, grouped into dimensions, and how to prepare them.

    Attributes
    ----------
    name : str
    description : str
    dimensions : dict[str, tuple[str, ...]]
        Dimension name -> indicator names (each indicator in exactly one dimension).
    indicators : tuple[str, ...]
        All indicators in dimension order.
    log_transform : tuple[str, ...]
        Skewed amounts/counts to transform with sign(x) * log1p(|x|) before factor analysis.
    fill : dict[str, float]
        Value that replaces an undefined (NaN) indicator, with the reason in the YAML comments.
    path : str
    """

    name: str
    description: str
    dimensions: dict[str, tuple[str, ...]]
    indicators: tuple[str, ...]
    log_transform: tuple[str, ...] = ()
    fill: dict[str, float] = field(default_factory=dict)
    path: str = ""


def available_configs() -> list[str]:
    """Names of the bundled index systems (``ecommerce`` is the default)."""
    folder = resources.files("crmresearch") / "configs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_config(name_or_path: str | os.PathLike = "ecommerce") -> IndexConfig:
    """Load a bundled index system by name (``ecommerce``, ``retail``, ``bank``) or a YAML file.

    Raises
    ------
    ValueError
        Unknown name, unknown indicator, an indicator in two dimensions, an unknown dimension,
        or ``log_transform``/``fill`` naming an indicator that is not in the system.
    """
    import yaml

    text_name = str(name_or_path)
    if re.fullmatch(r"[A-Za-z0-9_\-]+", text_name) and not text_name.endswith((".yaml", ".yml")):
        resource = resources.files("crmresearch") / "configs" / f"{text_name}.yaml"
        if not resource.is_file():
            raise ValueError(
                f"unknown index system {text_name!r}; choose from {', '.join(available_configs())} "
                "or give a path to a .yaml file"
            )
        text, where = resource.read_text(encoding="utf-8"), f"{text_name}.yaml"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such index-system file")
        text, where = path.read_text(encoding="utf-8"), str(path)
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict) or "dimensions" not in raw:
        raise ValueError(f"{where}: expected a mapping with 'name' and 'dimensions'")
    dims: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for dim, items in (raw.get("dimensions") or {}).items():
        if dim not in DIMENSIONS:
            raise ValueError(f"{where}: unknown dimension {dim!r}; use {', '.join(DIMENSIONS)}")
        items = tuple(items or ())
        for item in items:
            if item not in INDICATORS:
                raise ValueError(
                    f"{where}: unknown indicator {item!r} in dimension {dim!r}; choose from "
                    f"{', '.join(INDICATORS)}"
                )
            if item in seen:
                raise ValueError(f"{where}: {item!r} is in both {seen[item]!r} and {dim!r}")
            seen[item] = dim
        dims[dim] = items
    indicators = tuple(seen)
    if not indicators:
        raise ValueError(f"{where}: the index system lists no indicators")
    log_transform = tuple(raw.get("log_transform") or ())
    fill = {k: float(v) for k, v in (raw.get("fill") or {}).items()}
    for key, names in (("log_transform", log_transform), ("fill", tuple(fill))):
        stray = [n for n in names if n not in seen]
        if stray:
            raise ValueError(f"{where}: {key} names {stray} that are not in any dimension")
    return IndexConfig(
        name=str(raw.get("name", Path(where).stem)),
        description=str(raw.get("description", "")).strip(),
        dimensions=dims,
        indicators=indicators,
        log_transform=log_transform,
        fill=fill,
        path=where,
    )


def apply_config(features: pd.DataFrame, config: IndexConfig | str) -> pd.DataFrame:
    """The index system's input matrix: its indicators present in ``features``, filled, logged.

    Steps: keep the config's indicators that ``features`` has (the rest go to
    ``attrs["skipped"]``); replace NaN by ``config.fill`` values (counts in ``attrs["filled"]``);
    apply sign(x) * log1p(|x|) to ``config.log_transform`` columns. Rows that still hold a
    NaN are kept and counted in ``attrs["undefined"]`` for the caller to handle.
    """
    if not isinstance(config, IndexConfig):
        config = load_config(config)
    keep = [c for c in config.indicators if c in features.columns]
    skipped = {c: "not in the features" for c in config.indicators if c not in features.columns}
    skipped.update({k: v for k, v in features.attrs.get("skipped", {}).items() if k in skipped})
    out = features[keep].astype("float64")
    filled = {}
    for col, value in config.fill.items():
        if col in out.columns and out[col].isna().any():
            filled[col] = int(out[col].isna().sum())
            out[col] = out[col].fillna(value)
    for col in config.log_transform:
        if col in out.columns:
            out[col] = np.sign(out[col]) * np.log1p(out[col].abs())
    out.attrs = {
        **{k: v for k, v in features.attrs.items() if k in ("window", "rows", "source")},
        "config": config.name,
        "skipped": skipped,
        "filled": filled,
        "undefined": {c: int(n) for c, n in out.isna().sum().items() if n},
    }
    return out


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
