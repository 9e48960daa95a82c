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
import pyarrow as pa

from crmresearch.errors import DataError
from crmresearch.features.daymask import day_mask_indicators
from crmresearch.features.engines.passes import (
    PassColumns,
    customer_passes,
    customer_ranges,
    drop_partitions,
    partition_rows,
)
from crmresearch.features.registry import INDICATORS, REQUIRED_COLUMNS
from crmresearch.features.spec import (
    DUCKDB,
    SCALED_COLUMNS,
    customer_outputs,
    overdue_sql,
    scaled,
    string,
    value,
)

__all__ = ["DuckDBSource", "features_frame", "features_sql"]


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
        self._tmpdir = tempfile.mkdtemp(prefix="crmresearch-duckdb-")
        self.scratch = Path(self._tmpdir)  # DuckDB's spill folder; also the passes' row files
        self.con = None
        try:  # the temporary folder goes whatever fails while opening (issue 13)
            self._open(log)
        except BaseException:
            self.close()
            raise

    def _open(self, log: Any) -> None:
        import duckdb

        self.con = duckdb.connect(
            config={
                "temp_directory": self._tmpdir,
                "threads": os.cpu_count() or 1,
                "memory_limit": _duckdb_memory_limit(),
            }
        )
        # Insertion order is irrelevant for group-bys; dropping it lets DuckDB stream and spill.
        self.con.execute("SET preserve_insertion_order = false")
        # DuckDB draws its own progress bar on stdout after 2 s; ours goes to stderr
        # (crmresearch.features.progress reads query_progress(), which needs the bar enabled).
        try:
            self.con.execute("SET enable_progress_bar_print = false")
            self.con.execute("SET enable_progress_bar = true")
        except duckdb.Error:
            # in Jupyter DuckDB draws the bar with ipywidgets and, without them, refuses to
            # change the setting: it then draws nothing and our lines show no percentage
            pass
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
        suffix = path.suffix.lower()
        if suffix in (".parquet", ".csv", ".txt", ".gz") and not any(
            ch in str(path) for ch in "*?["
        ):
            if not path.exists():
                self.close()
                raise FileNotFoundError(f"{path}: no such file")
        if suffix == ".parquet":
            scan = f"read_parquet({string(path)})"
        elif suffix in (".csv", ".txt", ".gz"):
            scan = f"read_csv({string(path)}, types={{'customer_id': 'VARCHAR'}})"
        else:
            self.close()
            raise DataError(
                f"{path}: unsupported file type {suffix!r}; give a .parquet or .csv file with "
                "canonical columns, or read it with crmresearch.data.read_transactions first"
            )
        self.con.execute(f"CREATE VIEW src AS SELECT * FROM {scan}")

    # -- the interface shared with SparkSource ------------------------------------------------
    view = "src"
    dialect = DUCKDB
    stage: str | None = None  # e.g. "pass 2 of 8 over the customers", shown with progress
    key_count_from_metadata = True  # count(customer_id) of a Parquet file reads no ids

    def progress(self) -> str | None:
        """The running query's progress as text (DuckDB's estimate), or None."""
        try:
            pct = self.con.query_progress()
        except Exception:  # noqa: BLE001 - progress is best effort, never fatal
            return None
        scan = f"{pct:.0f} % of the scan" if pct is not None and pct >= 0 else None
        if self.stage:
            return f"{self.stage}, {scan}" if scan else self.stage
        return scan

    def fetch_one(self, sql: str) -> dict:
        cursor = self.con.execute(sql)
        names = [c[0] for c in cursor.description]
        rows = cursor.fetchall()  # all: the connection then has no unfinished result
        return dict(zip(names, rows[0], strict=True)) if rows else {}

    def to_pandas(self, sql: str) -> pd.DataFrame:
        self.con.complete()  # the earlier execute() results, so that sql() may run
        return self.con.sql(sql).to_arrow_table().to_pandas()

    def distinct_values(self, column: str, end: pd.Timestamp, limit: int) -> list[str] | None:
        """Sorted distinct non-null values up to ``end``, or None when there are more than limit."""
        rows = self.con.execute(
            f"SELECT DISTINCT CAST({column} AS VARCHAR) FROM src WHERE {column} IS NOT NULL "
            f"AND CAST(date AS DATE) <= {_sql_date(end)} LIMIT {int(limit) + 1}"
        ).fetchall()
        values = sorted(r[0] for r in rows)
        return None if len(values) > limit else values

    def register_codes(self, column: str, values: list[str]) -> str:
        name = f"codes_{column}"
        frame = pd.DataFrame(
            {"value": pd.Series(values, dtype="object"), "code": range(len(values))}
        )
        self.con.register(name, frame.astype({"code": "int32"}))
        return name

    def release_memory(self) -> None:
        """Hand DuckDB's cached buffers back to the system (between a result and numpy work).

        DuckDB keeps the memory of a finished query for the next one; lowering the limit for
        a moment evicts it (10 M rows: 1.2 GB -> 0.4 GB resident before the bitmask decode).
        """
        limit = self.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        self.con.execute("SET memory_limit = '16MB'")
        self.con.execute(f"SET memory_limit = '{limit}'")

    def close(self) -> None:
        try:
            if self.con is not None:
                self.con.close()
        finally:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _sql_date(ts: pd.Timestamp) -> str:
    return f"DATE '{ts:%Y-%m-%d}'"


# Up to this many values a CASE over the string is cheaper than the ENUM cast (DuckDB
# evaluates it once per dictionary entry of a Parquet column; measured 0.17 s vs 0.46 s per
# 10 M rows for 12 values); beyond, the ENUM lookup is.
CASE_MAX_VALUES = 16


def _distinct_bitmask_types(
    src: DuckDBSource, names: list[str], end: pd.Timestamp
) -> dict[str, tuple[str, int, tuple[str, ...] | None]]:
    """ENUM types (name, number of values, the values when few) for category/channel.

    Only columns with at most 64 values; the others are counted with ``count(DISTINCT ...)``.

    ``count(DISTINCT x)`` over a million groups costs about three plain group-bys in DuckDB;
    OR-ing one bit per value (``bit_or(1 << code)``) and counting bits is one. The values (in
    code order) are returned when there are at most :data:`CASE_MAX_VALUES`.
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
        values = [
            r[0]
            for r in src.con.execute(f"SELECT unnest(enum_range(NULL::{type_name}))").fetchall()
        ]
        if len(values) <= 64:
            few = tuple(values) if len(values) <= CASE_MAX_VALUES else None
            types[column] = (type_name, len(values), few)
    return types


def _value_bit(column: str, type_name: str, values: tuple[str, ...] | None, shift: int) -> str:
    """The UBIGINT with the bit of the row's value set (0 for NULL)."""
    if values is None:
        code = f"enum_code(CAST({column} AS VARCHAR)::{type_name})"
        return f"coalesce(1::UBIGINT << ({code} + {shift}), 0)"
    whens = " ".join(
        f"WHEN {string(v)} THEN {1 << (k + shift)}::UBIGINT" for k, v in enumerate(values)
    )
    return f"CASE CAST({column} AS VARCHAR) {whens} ELSE 0::UBIGINT END"


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
    """The pieces of the one-pass aggregation query, filled in order by the builders below.

    ``cols``: the inner projection over ``src``; ``derived``: per-row expressions over those
    columns; ``aggs``: the customer aggregates, named as the stage-2 blocks of
    :func:`crmresearch.features.spec.customer_outputs` (name -> SQL); ``out``: the final
    expressions (indicator or ``_helper`` name -> SQL).
    """

    need: set[str]
    present: set[str]
    s: pd.Timestamp
    e: pd.Timestamp
    start_given: bool
    exact: dict[str, bool]
    bitmask_types: dict[str, tuple[str, int, tuple[str, ...] | None]]
    day_segments: int
    cols: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)
    aggs: dict[str, str] = field(default_factory=dict)
    out: dict[str, str] = field(default_factory=dict)
    bit_shift: dict[str, int] = field(default_factory=dict)
    shared_bits: bool = False
    rows_from: str | None = None  # a FROM source of rows already projected (a pass)

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


# indicators the numpy decoder of the day bitmasks computes (tenure and monthly volume only
# without `start`: then the first window day is the first purchase)
_MASK_INDICATORS = {"recency_days", "purchase_days", "active_months", "regularity_cv"}
_MASK_FIRST_DAY = {"tenure_days", "monthly_volume"}


def _projection(q: _Query) -> None:
    """Inner projection: casts, cents, value bits for category/channel, overdue, day bits."""
    q.cols += ["CAST(customer_id AS VARCHAR) AS customer_id", "CAST(date AS DATE) AS d"]
    used = {c for n in q.need for c in INDICATORS[n].needs} | {"amount"}
    if "monthly_volume" in q.need:
        used.add("quantity")  # its numerator when the log has quantities
    for c in SCALED_COLUMNS:
        if c in used & q.present:
            q.cols.append(f"{scaled(c, q.exact.get(c, False))} AS {c}")
    # category and channel: one bit per distinct value, both in one UBIGINT when they fit
    types = q.bitmask_types
    bit_cols = [c for c in ("category", "channel") if c in used & q.present and c in types]
    q.shared_bits = bool(bit_cols) and sum(types[c][1] for c in bit_cols) <= 64
    shift = 0
    for c in bit_cols:
        q.bit_shift[c] = shift if q.shared_bits else 0
        shift += types[c][1]
    bit_exprs = {c: _value_bit(c, types[c][0], types[c][2], q.bit_shift[c]) for c in bit_cols}
    if q.shared_bits:
        q.cols.append(" | ".join(bit_exprs.values()) + " AS value_bit")
    else:
        q.cols += [f"{expr} AS {c}_bit" for c, expr in bit_exprs.items()]
    for c in ("category", "channel"):
        if c in used & q.present and c not in types:
            q.cols.append(c)
    if q.need & {"late_payment_rate", "days_overdue"}:
        q.cols.append(f"{overdue_sql(q.e, DUCKDB)} AS overdue")
    if q.masks:
        # day offset from the window start split into (128-day segment, bit within it); rows
        # before `start` get a negative segment and so match no segment filter
        S = q.S
        q.derived.append(f"CAST(d - {S} AS INTEGER) >> 7 AS seg")
        q.derived.append(f"1::UHUGEINT << CAST(CAST(d - {S} AS INTEGER) & 127 AS UHUGEINT) AS bit")


def _aggregates(q: _Query) -> None:
    """The stage-2 blocks in one pass over the rows (customer-day sums are not needed here).

    Every aggregate costs about as much as the hashing itself, so what can be derived is
    derived (first-half revenue = revenue - second half; gross sales = revenue + returns).
    """
    need, w, S, aggs = q.need, q.w, q.S, q.aggs
    aggs["n_rows"] = f"count(*){w()}"
    aggs["revenue"] = f"sum(amount){w()}"
    if not q.masks and "recency_days" in need:
        aggs["last_off"] = f"CAST(max(d) - {S} AS INTEGER)"
    if (q.start_given or not q.masks) and need & _MASK_FIRST_DAY:
        aggs["first_off"] = f"CAST(min(d) - {S} AS INTEGER)"
    if "quantity" in q.present and need & {"quantity", "monthly_volume"}:
        aggs["qty"] = f"sum(quantity){w()}"
    if "spend_trend" in need:
        # d is in the second half when 2 * (d - s) >= n_days, i.e. d >= s + ceil(n_days / 2)
        second_half = _sql_date(q.s + pd.Timedelta(days=-(-q.n_days // 2)))
        aggs["rev2"] = f"coalesce(sum(amount){w(f'd >= {second_half}')}, 0)"
    if "profit" in q.present and need & {"profit", "margin_rate"}:
        aggs["profit_sum"] = f"sum(profit){w()}"
    if "return_rate" in need:
        # only the few negative rows update this aggregate
        aggs["returned"] = f"coalesce(-sum(amount){w('amount < 0')}, 0)"
    if q.shared_bits:
        aggs["value_bits"] = f"coalesce(bit_or(value_bit){w()}, 0)"
    for column, indicator in (("category", "category_breadth"), ("channel", "channel_count")):
        if indicator in need and not (q.shared_bits and column in q.bit_shift):
            if column in q.bitmask_types:
                aggs[indicator] = f"coalesce(bit_count(bit_or({column}_bit){w()}), 0)"
            else:
                aggs[indicator] = f"count(DISTINCT {column}){w()}"
    if need & {"late_payment_rate", "days_overdue"}:
        aggs["late"] = f"count(*){w('overdue > 0')}"
        aggs["known"] = f"count(overdue){w()}"
        aggs["overdue_sum"] = f"sum(overdue){w()}"
    if q.masks:
        full = (1 << 64) - 1
        for k in range(q.day_segments):
            aggs[f"dm{k}"] = f"bit_or(bit) FILTER (WHERE seg = {k})"
            q.out[f"_dm{k}_lo"] = f"CAST(coalesce(dm{k}, 0) & {full}::UHUGEINT AS UBIGINT)"
            q.out[f"_dm{k}_hi"] = f"CAST(coalesce(dm{k}, 0) >> 64 AS UBIGINT)"


def _outputs(q: _Query) -> None:
    """Indicator expressions: the shared definitions, minus what the day bitmasks give."""
    from_masks = set()
    if q.masks:
        from_masks = _MASK_INDICATORS | (set() if q.start_given else _MASK_FIRST_DAY)
    layout = None
    if q.shared_bits:
        layout = {c: (q.bit_shift[c], q.bitmask_types[c][1]) for c in q.bit_shift}
    q.out.update(
        customer_outputs(q.need - from_masks, q.present, q.exact, q.s, q.e, DUCKDB, layout)
    )
    if "monthly_volume" in from_masks & q.need:  # divided once the first date is known
        exact_q = q.exact.get("quantity", False)
        q.out["_monthly_volume_numerator"] = value("qty", exact_q) if "qty" in q.aggs else "n_rows"


def _rows_sql(q: _Query) -> str:
    """The projected rows of the log up to ``end`` (what the customer group-by reads)."""
    return f"SELECT {', '.join(q.cols)} FROM src WHERE CAST(date AS DATE) <= {q.E}"


def _assemble(q: _Query) -> str:
    """The query text from the filled pieces."""
    # customers with rows only before `start` have none in the window
    having = f"\n    HAVING count(*){q.w()} > 0" if q.start_given else ""
    select = [f"{expr} AS {name}" for name, expr in q.out.items()]
    agg_sql = ",\n           ".join(f"{expr} AS {name}" for name, expr in q.aggs.items())
    sep = ",\n       "
    return f"""
WITH base AS (
    SELECT *{"".join(", " + x for x in q.derived)}
    FROM ({q.rows_from or _rows_sql(q)})
),
cust AS (
    SELECT customer_id,
           {agg_sql}
    FROM base
    GROUP BY customer_id{having}
)
SELECT customer_id{sep}{sep.join(select)}
FROM cust
ORDER BY customer_id"""


def features_sql(
    names: list[str],
    present: set[str],
    s: pd.Timestamp,
    e: pd.Timestamp,
    start_given: bool,
    exact: dict[str, bool] | None = None,
    bitmask_types: dict[str, tuple[str, int, tuple[str, ...] | None]] | None = None,
    day_segments: int = 0,
    rows_from: str | None = None,
    rows_only: bool = False,
) -> str:
    """Build the one-pass aggregation query for ``names`` (the DuckDB fast path).

    ``rows_from``: a FROM source of rows already projected (a pass's partition); ``rows_only``:
    return just the projected rows (casts, cents, value bits), which the passes write once.

    Plan: one customer group-by over the rows up to ``end`` computes the stage-2 blocks of
    :mod:`crmresearch.features.spec` directly from the rows; the indicators are the shared
    :func:`~crmresearch.features.spec.customer_outputs`. Its cost is dominated by updating each
    aggregate's state at a random place in the hash table, so aggregates are few and, where
    possible, filtered to the rows that matter.

    With ``day_segments`` > 0 the customer's distinct window dates come back as bitmasks (bit
    p of ``_dm{k}_lo``/``_dm{k}_hi`` = day offset 128 k + p from the window start, resp. + 64),
    one filtered ``bit_or`` per 128-day segment; recency, first date (without ``start``),
    purchase days, active months and the gap CV are then computed from the bits in numpy
    (:func:`crmresearch.features.daymask.day_mask_indicators`) with the same integer blocks.
    """
    q = _Query(
        set(names), present, s, e, start_given, exact or {}, bitmask_types or {}, day_segments
    )
    q.rows_from = rows_from
    _projection(q)
    if rows_only:
        return _rows_sql(q)
    _aggregates(q)
    _outputs(q)
    return _assemble(q)


def features_frame(
    src: DuckDBSource,
    chosen: list[str],
    window_start: pd.Timestamp,
    end: pd.Timestamp,
    start_given: bool,
    exact: dict[str, bool],
) -> pd.DataFrame | None:
    """Run the fast path: ``customer_id``, the ``chosen`` indicators and ``_`` helpers.

    Returns None when the window is too long for day bitmasks and a day-level indicator is
    needed: the caller then runs the portable two-stage query (same numbers).
    """
    n_days = int((end - window_start).days) + 1
    day_segments = _day_mask_segments(chosen, n_days)
    if day_segments == 0 and set(chosen) & _MASK_INDICATORS - {"recency_days"}:
        return None
    bitmask_types = _distinct_bitmask_types(src, chosen, end)
    ranges = customer_ranges(src, customer_passes(src))
    present = set(src.columns)
    sources: list[str | None] = [None]  # one pass: straight from the log
    if len(ranges) > 1:
        rows = features_sql(
            chosen, present, window_start, end, start_given, exact, bitmask_types, rows_only=True
        )
        sources = partition_rows(src, rows, ranges)
    out = PassColumns(len(sources))
    for k, rows_from in enumerate(sources):
        if len(sources) > 1:
            src.stage = f"pass {k + 1} of {len(sources)} over the customers"
            if rows_from is None:  # no row in this range of ids
                continue
        sql = features_sql(
            chosen,
            present,
            window_start,
            end,
            start_given,
            exact,
            bitmask_types,
            day_segments,
            rows_from=rows_from,
        )
        # Arrow, then pandas without the bitmask columns: fewer copies than .df() of them all
        src.con.complete()  # the earlier execute() results, so that sql() may run
        table = src.con.sql(sql).to_arrow_table()
        src.release_memory()
        masks = []
        if day_segments:
            mask_names = [f"_dm{j}_{half}" for j in range(day_segments) for half in ("lo", "hi")]
            masks = [table.column(name) for name in mask_names]
            table = table.drop_columns(mask_names)
        ids = table.column("customer_id")
        # one numpy array a column (views of the Arrow buffers where there are no nulls)
        result = {
            name: table.column(name).to_numpy(zero_copy_only=False)
            for name in table.column_names
            if name != "customer_id"
        }
        del table
        if day_segments:
            day_mask_indicators(result, masks, window_start, end, set(chosen), start_given)
        del masks
        out.append(ids, result)
        del ids, result
        # Arrow's allocator keeps freed buffers (bitmasks, copied chunks) for reuse; handing
        # them back keeps the resident memory at what the result holds
        pa.default_memory_pool().release_unused()
    src.stage = None
    drop_partitions(src)
    return out.frame()
