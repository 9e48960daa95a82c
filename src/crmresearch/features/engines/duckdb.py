"""The DuckDB engine: the log as a DuckDB view and the one customer group-by that computes it.

All SQL of the single-machine path is built here. The aggregation plan is described in
:func:`features_sql`; the day-level indicators of short windows come back as bitmasks that
:mod:`crmresearch.features.daymask` decodes in numpy.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from crmresearch.errors import DataError
from crmresearch.features.daymask import day_mask_indicators
from crmresearch.features.registry import DAYS_PER_MONTH, INDICATORS, REQUIRED_COLUMNS

__all__ = ["DuckDBSource", "features_frame", "features_sql", "holdout_counts"]


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


class DuckDBSource:
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


def _sql_date(ts: pd.Timestamp) -> str:
    return f"DATE '{ts:%Y-%m-%d}'"


def row_accounting(src: DuckDBSource, start: pd.Timestamp | None, end: pd.Timestamp) -> dict:
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


def _distinct_bitmask_types(
    src: DuckDBSource, names: list[str], end: pd.Timestamp
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


@dataclass
class _Query:
    """The pieces of the one aggregation query, filled in order by the builders below.

    ``cols``: the inner projection over ``src``; ``derived``: per-row expressions over those
    columns; ``aggs``: the customer aggregates (name -> SQL); ``out``: the final expressions
    over the aggregates (indicator or ``_helper`` name -> SQL).
    """

    need: set[str]
    present: set[str]
    s: pd.Timestamp
    e: pd.Timestamp
    start_given: bool
    bitmask_types: dict[str, tuple[str, int]]
    day_segments: int
    cols: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)
    aggs: dict[str, str] = field(default_factory=dict)
    out: dict[str, str] = field(default_factory=dict)
    bit_shift: dict[str, int] = field(default_factory=dict)
    shared_bits: bool = False

    @property
    def E(self) -> str:  # noqa: N802 - the SQL literal of the end date
        return _sql_date(self.e)

    @property
    def S(self) -> str:  # noqa: N802 - the SQL literal of the window start
        return _sql_date(self.s)

    @property
    def n_days(self) -> int:
        return int((self.e - self.s).days) + 1

    @property
    def masks(self) -> bool:
        return self.day_segments > 0

    def w(self, cond: str | None = None) -> str:
        """FILTER clause: the window (when ``start`` is given) and ``cond``."""
        parts = [p for p in (f"d >= {self.S}" if self.start_given else None, cond) if p]
        return f" FILTER (WHERE {' AND '.join(parts)})" if parts else ""


def _projection(q: _Query) -> None:
    """Inner projection: casts, value bits for category/channel, overdue days, day bits."""
    q.cols += ["CAST(customer_id AS VARCHAR) AS customer_id", "CAST(date AS DATE) AS d", "amount"]
    used = {c for n in q.need for c in INDICATORS[n].needs}
    if "monthly_volume" in q.need:
        used.add("quantity")  # its numerator when the log has quantities
    q.cols += [c for c in ("quantity", "profit") if c in used & q.present]
    # category and channel: one bit per distinct value, both in one UBIGINT when they fit
    types = q.bitmask_types
    bit_cols = [c for c in ("category", "channel") if c in used & q.present and c in types]
    if sum(types[c][1] for c in bit_cols) <= 64:
        shift = 0
        for c in bit_cols:
            q.bit_shift[c] = shift
            shift += types[c][1]
    else:
        q.bit_shift = {c: 0 for c in bit_cols}
    q.shared_bits = len(bit_cols) == 2 and q.bit_shift["channel"] > 0
    bit_exprs = {}
    for c in bit_cols:
        code = f"enum_code(CAST({c} AS VARCHAR)::{types[c][0]})"
        bit_exprs[c] = f"coalesce(1::UBIGINT << ({code} + {q.bit_shift[c]}), 0)"
    if q.shared_bits:
        q.cols.append(f"{bit_exprs['category']} | {bit_exprs['channel']} AS value_bit")
    else:
        q.cols += [f"{expr} AS {c}_bit" for c, expr in bit_exprs.items()]
    for c in ("category", "channel"):
        if c in used & q.present and c not in types:
            q.cols.append(c)
    if q.need & {"late_payment_rate", "days_overdue"}:
        q.cols += ["CAST(due_date AS DATE) AS due", "CAST(paid_date AS DATE) AS paid"]
        # Days overdue as of `end` (NULL: no invoice, or not yet due and unpaid = unknown);
        # a payment recorded after `end` is not known yet. Late <=> overdue > 0.
        E = q.E
        q.derived.append(
            f"CASE WHEN due IS NULL THEN NULL "
            f"WHEN paid <= {E} THEN greatest(paid - due, 0) "
            f"WHEN due < {E} THEN {E} - due END AS overdue"
        )
    if q.masks:
        # day offset from the window start split into (128-day segment, bit within it); rows
        # before `start` get a negative segment and so match no segment filter
        S = q.S
        q.derived.append(f"CAST(d - {S} AS INTEGER) >> 7 AS seg")
        q.derived.append(f"1::UHUGEINT << CAST(CAST(d - {S} AS INTEGER) & 127 AS UHUGEINT) AS bit")


def _money_aggregates(q: _Query) -> None:
    """Counts, revenue, first/last dates, quantity, monthly volume, trend, profit, returns.

    Every aggregate costs about as much as the hashing itself, so what can be derived is
    derived (first-half revenue = revenue - second half; gross sales = revenue + returns).
    """
    need, w, E, S = q.need, q.w, q.E, q.S
    aggs, out = q.aggs, q.out
    aggs["n_rows"] = f"count(*){w()}"
    aggs["revenue"] = f"sum(amount){w()}"
    if not q.masks and "recency_days" in need:
        aggs["last_d"] = f"max(d){w()}"
    if (q.start_given or not q.masks) and need & {"tenure_days", "monthly_volume"}:
        aggs["first_ever"] = "min(d)"
    out.update(
        {
            "recency_days": f"{E} - last_d",
            "frequency": "n_rows",
            "tenure_days": f"{E} - first_ever",
            "monetary": "revenue",
            "avg_order_value": "revenue / n_rows",
        }
    )
    if q.masks:
        # recency and (without `start`) tenure come from the day bits
        out.pop("recency_days")
        if not q.start_given:
            out.pop("tenure_days")
    if "quantity" in need or ("monthly_volume" in need and "quantity" in q.present):
        aggs["qty"] = f"sum(quantity){w()}"
        out["quantity"] = "qty"
    if "monthly_volume" in need:
        volume = "qty" if "quantity" in q.present else "n_rows"
        if q.masks and not q.start_given:
            out["_monthly_volume_numerator"] = volume  # divided once the first date is known
        else:
            exposure = f"({E} - greatest(first_ever, {S}) + 1) / {DAYS_PER_MONTH!r}"
            out["monthly_volume"] = f"{volume} / greatest({exposure}, 1.0)"
    if "spend_trend" in need:
        # d is in the second half when 2 * (d - s) >= n_days, i.e. d >= s + ceil(n_days / 2)
        second_half = _sql_date(q.s + pd.Timedelta(days=-(-q.n_days // 2)))
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


def _distinct_aggregates(q: _Query) -> None:
    """Category breadth and channel count (value bits or count DISTINCT) and payment status."""
    need, w, aggs, out = q.need, q.w, q.aggs, q.out
    if q.shared_bits:
        aggs["value_bits"] = f"coalesce(bit_or(value_bit){w()}, 0)"
    for column, indicator in (("category", "category_breadth"), ("channel", "channel_count")):
        if indicator not in need:
            continue
        if column in q.bitmask_types:
            if q.shared_bits:
                n_values, shift = q.bitmask_types[column][1], q.bit_shift[column]
                low = (1 << n_values) - 1
                out[indicator] = f"bit_count((value_bits >> {shift}) & {low}::UBIGINT)"
                continue
            aggs[indicator] = f"coalesce(bit_count(bit_or({column}_bit){w()}), 0)"
        else:
            aggs[indicator] = f"count(DISTINCT {column}){w()}"
        out[indicator] = indicator
    if need & {"late_payment_rate", "days_overdue"}:
        # avg skips the NULLs (no invoice / status unknown): share late and mean days overdue
        # over the invoices of known status, exact for integers
        aggs["late_share"] = f"avg(CAST(overdue > 0 AS INTEGER)){w()}"
        aggs["overdue_mean"] = f"avg(overdue){w()}"
        out["late_payment_rate"] = "late_share"
        out["days_overdue"] = "overdue_mean"


def _day_aggregates(q: _Query) -> None:
    """Purchase days, active months and gap CV: day bitmasks, or month bits and a day list."""
    need, w, aggs, out, s, e, S = q.need, q.w, q.aggs, q.out, q.s, q.e, q.S
    if q.masks:
        full = (1 << 64) - 1
        for k in range(q.day_segments):
            aggs[f"dm{k}"] = f"bit_or(bit) FILTER (WHERE seg = {k})"
            out[f"_dm{k}_lo"] = f"CAST(coalesce(dm{k}, 0) & {full}::UHUGEINT AS UBIGINT)"
            out[f"_dm{k}_hi"] = f"CAST(coalesce(dm{k}, 0) >> 64 AS UBIGINT)"
        return
    if "active_months" in need:
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
    if need & {"purchase_days", "regularity_cv"}:
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


def _assemble(q: _Query) -> str:
    """The query text from the filled pieces."""
    select = [
        f"{expr} AS {name}"
        for name, expr in q.out.items()
        if name in q.need or name.startswith("_")
    ]
    agg_sql = ",\n           ".join(f"{expr} AS {name}" for name, expr in q.aggs.items())
    sql = f"""
WITH base AS (
    SELECT *{"".join(", " + x for x in q.derived)}
    FROM (SELECT {", ".join(q.cols)} FROM src WHERE CAST(date AS DATE) <= {q.E})
)"""
    sep = ",\n       "
    shifted = (
        ", list_slice(days, 2, len(days)) AS nxt, list_slice(days, 1, len(days) - 1) AS prv"
        if "days" in q.aggs
        else ""
    )
    sql += f""",
cust AS (
    SELECT customer_id,
           {agg_sql}
    FROM base
    GROUP BY customer_id
    HAVING count(*){q.w()} > 0
),
cust2 AS (SELECT *{shifted} FROM cust)
SELECT customer_id{sep}{sep.join(select)}
FROM cust2
ORDER BY customer_id"""
    return sql


def features_sql(
    names: list[str],
    present: set[str],
    s: pd.Timestamp,
    e: pd.Timestamp,
    start_given: bool,
    bitmask_types: dict[str, tuple[str, int]] | None = None,
    day_segments: int = 0,
) -> str:
    """Build the one aggregation query for ``names`` (all SQL of the DuckDB path is built here).

    Plan: one customer group-by over the rows up to ``end`` computes every aggregate. Its cost
    is dominated by updating each aggregate's state at a random place in the hash table, so
    aggregates are few and, where possible, filtered to the rows that matter.

    With ``day_segments`` > 0 the customer's distinct window dates come back as bitmasks (bit
    p of ``_dm{k}_lo``/``_dm{k}_hi`` = day offset 128 k + p from the window start, resp. + 64),
    one filtered ``bit_or`` per 128-day segment; recency, first date (without ``start``),
    purchase days, active months and the gap CV are then computed from the bits in numpy
    (:func:`crmresearch.features.daymask.day_mask_indicators`). Otherwise (long windows) the
    sorted list of the customer's distinct window dates is gathered in the same group-by
    (exact, about twice as slow).
    """
    q = _Query(set(names), present, s, e, start_given, bitmask_types or {}, day_segments)
    _projection(q)
    _money_aggregates(q)
    _distinct_aggregates(q)
    _day_aggregates(q)
    return _assemble(q)


def features_frame(
    src: DuckDBSource,
    chosen: list[str],
    window_start: pd.Timestamp,
    end: pd.Timestamp,
    start_given: bool,
) -> pd.DataFrame:
    """Run the aggregation: a frame with ``customer_id``, the ``chosen`` indicators and helpers.

    Helper columns start with ``_`` (``_returned_total``); the caller sets the index, dtypes
    and attrs.
    """
    bitmask_types = _distinct_bitmask_types(src, chosen, end)
    n_days = int((end - window_start).days) + 1
    day_segments = _day_mask_segments(chosen, n_days)
    sql = features_sql(
        chosen, set(src.columns), window_start, end, start_given, bitmask_types, day_segments
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
        day_mask_indicators(result, masks, window_start, end, set(chosen), start_given)
    return result


def holdout_counts(src: DuckDBSource, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Rows and net revenue per customer with ``start <= date <= end``: customer_id, purchases,
    revenue."""
    return src.con.execute(
        f"""
        SELECT CAST(customer_id AS VARCHAR) AS customer_id, count(*) AS purchases,
               sum(amount) AS revenue
        FROM src
        WHERE CAST(date AS DATE) BETWEEN {_sql_date(start)} AND {_sql_date(end)}
        GROUP BY 1
        """
    ).df()
