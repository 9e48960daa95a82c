"""One definition of every indicator: exact building blocks in two stages, two SQL dialects.

Stage 1 groups the log's rows up to ``end`` by (customer, day); stage 2 groups those
customer-days by customer. Every building block is exact and independent of summation order:

* counts, day offsets ``off`` = days from the window start ``s`` (``datediff``; rows before a
  given ``start`` have ``off < 0`` and only feed tenure), distinct-day counts (= stage-1 rows);
* money and quantities as sums of integer hundredths (cents) when every value of the column has
  at most two decimals (``round(x * 100) / 100 = x``, checked by :func:`row_accounting_sql`),
  otherwise as double sums (then equal across engines only to rounding, ~1e-15 relative);
* integer gap sums: the gaps between consecutive purchase days come from ``lag`` over the
  customer's days; sum of gaps = last - first day, sum of squared gaps an integer sum;
* distinct months and categories/channels as bit sets (``bit_or`` of one bit per value, up to
  63 values; otherwise ``count(DISTINCT)``).

:func:`customer_outputs` turns the stage-2 blocks into the indicators with the same floating
operations in every engine, so DuckDB and Spark give bit-identical integers and cent-based
money. :func:`portable_sql` writes the whole two-stage query for a :class:`Dialect`
(:data:`DUCKDB` or :data:`SPARK`); the single-machine DuckDB fast path
(:mod:`crmresearch.features.engines.duckdb`) computes the same blocks in one pass and reuses
:func:`customer_outputs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from crmresearch.features.registry import DAYS_PER_MONTH, INDICATORS

__all__ = [
    "DUCKDB",
    "SPARK",
    "Dialect",
    "customer_outputs",
    "holdout_sql",
    "key_count_sql",
    "portable_sql",
    "row_accounting_sql",
]

SCALED_COLUMNS = ("amount", "quantity", "profit")  # summed in integer hundredths when exact
MAX_VALUE_BITS = 63  # distinct values (months, categories) kept as bits of one signed BIGINT
_EXACT_LIMIT = "1e13"  # |x| below this: x * 100 fits a BIGINT with room for 10^5 rows' sums


@dataclass(frozen=True)
class Dialect:
    """The few spellings in which DuckDB SQL and Spark SQL differ."""

    name: str
    string_type: str

    def date(self, ts: pd.Timestamp) -> str:
        return f"DATE '{ts:%Y-%m-%d}'"

    def days(self, a: str, b: str) -> str:
        """Whole days from date ``a`` to date ``b`` (b - a), an integer."""
        if self.name == "spark":
            return f"datediff({b}, {a})"
        return f"date_diff('day', {a}, {b})"

    def bit(self, k: str) -> str:
        """The BIGINT with only bit ``k`` set."""
        if self.name == "spark":
            return f"shiftleft(CAST(1 AS BIGINT), {k})"
        return f"(CAST(1 AS BIGINT) << {k})"

    def shift_right(self, x: str, k: int) -> str:
        if self.name == "spark":
            return f"shiftright({x}, {k})"
        return f"({x} >> {k})"

    def by_customer(self) -> str:
        """Clause that hash-partitions the rows by customer once (Spark: ``DISTRIBUTE BY``).

        Every later step (the customer-day aggregate, the gap window, the customer aggregate)
        is clustered by customer, so Spark shuffles the rows once instead of three times.
        """
        return " DISTRIBUTE BY customer_id" if self.name == "spark" else ""

    def broadcast(self, aliases: Sequence[str]) -> str:
        """Hint to broadcast the small code tables (Spark; DuckDB needs none)."""
        if self.name == "spark" and aliases:
            return f"/*+ BROADCAST({', '.join(aliases)}) */ "
        return ""

    def finite(self, x: str) -> str:
        if self.name == "spark":
            return f"(NOT isnan({x}) AND abs({x}) < CAST('Infinity' AS DOUBLE))"
        return f"isfinite({x})"


DUCKDB = Dialect("duckdb", "VARCHAR")
SPARK = Dialect("spark", "STRING")


def double(value: float) -> str:
    """A DOUBLE literal both engines read identically (Spark reads bare decimals as DECIMAL)."""
    return f"CAST({float(value)!r} AS DOUBLE)"


def string(text: str) -> str:
    """A DuckDB string literal of ``text`` (a value or path from the data: quotes doubled)."""
    return "'" + str(text).replace("'", "''") + "'"


def exact_check(column: str) -> str:
    """SQL condition: ``column`` is NULL or has at most two decimals (and fits in cents)."""
    return (
        f"({column} IS NULL OR (abs({column}) < {_EXACT_LIMIT} "
        f"AND round({column} * 100) / 100 = {column}))"
    )


def scaled(column: str, exact: bool) -> str:
    """The column as summed: integer hundredths when ``exact``, else the double itself."""
    return f"CAST(round({column} * 100) AS BIGINT)" if exact else f"CAST({column} AS DOUBLE)"


def value(total: str, exact: bool) -> str:
    """A sum of :func:`scaled` values back in the column's unit (one correct rounding)."""
    return f"(CAST({total} AS DOUBLE) / 100)" if exact else total


def ratio(num: str, den: str) -> str:
    """num / den in double; both are exact integers or doubles of the same unit."""
    return f"(CAST({num} AS DOUBLE) / CAST({den} AS DOUBLE))"


# --------------------------------------------------------------------------------------------
# row accounting and holdout (shared by every engine)
# --------------------------------------------------------------------------------------------
def row_accounting_sql(
    view: str,
    columns: Sequence[str],
    start: pd.Timestamp | None,
    end: pd.Timestamp,
    d: Dialect,
    check_key: bool = True,
) -> str:
    """One pass: rows read, bad keys, after end, before start, first date, non-cent values.

    Result columns: ``n bad after before first_date`` and ``inexact_<col>`` for each of
    :data:`SCALED_COLUMNS` present (rows up to ``end`` whose value has more than two decimals).
    ``check_key=False`` leaves a missing ``customer_id`` out of ``bad`` (reading the ids costs
    a third of the pass; the caller then counts them with :func:`key_count_sql`).
    """
    date, E = "CAST(date AS DATE)", d.date(end)
    key = "customer_id IS NULL OR " if check_key else ""
    before = f"count(*) FILTER (WHERE {date} < {d.date(start)})" if start is not None else "0"
    checks = "".join(
        f",\n       count(*) FILTER (WHERE {date} <= {E} AND NOT {exact_check(c)}) AS inexact_{c}"
        for c in SCALED_COLUMNS
        if c in columns
    )
    return f"""
SELECT count(*) AS n,
       count(*) FILTER (WHERE {key}date IS NULL OR amount IS NULL
                        OR NOT {d.finite("amount")}) AS bad,
       count(*) FILTER (WHERE {date} > {E}) AS n_after,
       {before} AS n_before,
       min({date}) FILTER (WHERE {date} <= {E}) AS first_date{checks}
FROM {view}"""


def key_count_sql(view: str) -> str:
    """Rows and non-missing customer ids (DuckDB answers both from Parquet metadata)."""
    return f"SELECT count(*) AS n, count(customer_id) AS n_key FROM {view}"


def holdout_sql(view: str, start: pd.Timestamp, end: pd.Timestamp, d: Dialect) -> str:
    """Rows, exact cent revenue, double revenue and non-cent rows per customer in the window."""
    cents = "CAST(round(amount * 100) AS BIGINT)"
    return f"""
SELECT CAST(customer_id AS {d.string_type}) AS customer_id, count(*) AS purchases,
       sum(CASE WHEN {exact_check("amount")} THEN {cents} ELSE 0 END) AS revenue_cents,
       sum(CAST(amount AS DOUBLE)) AS revenue_double,
       count(*) FILTER (WHERE NOT {exact_check("amount")}) AS inexact
FROM {view}
WHERE CAST(date AS DATE) BETWEEN {d.date(start)} AND {d.date(end)}
GROUP BY CAST(customer_id AS {d.string_type})"""


# --------------------------------------------------------------------------------------------
# stage 2 -> indicators (shared by the portable query and the DuckDB fast path)
# --------------------------------------------------------------------------------------------
def customer_outputs(
    need: set[str],
    present: set[str],
    exact: Mapping[str, bool],
    s: pd.Timestamp,
    e: pd.Timestamp,
    d: Dialect,
    value_bits: Mapping[str, tuple[int, int]] | None = None,
) -> dict[str, str]:
    """Indicator expressions over the stage-2 blocks.

    Blocks (columns of the customer table): ``n_rows n_days first_off last_off first_win
    revenue rev2 returned qty profit_sum n_gaps gap_sq month_bits | n_months value_bits |
    category_breadth channel_count late known overdue_sum``; money blocks are integer hundredths
    where ``exact[col]``. ``value_bits``: column -> (bit shift, number of values) of
    category/channel inside ``value_bits``. Helper outputs start with ``_``.
    """
    span = int((e - s).days)
    amt, qty_exact = exact.get("amount", False), exact.get("quantity", False)
    n_months = e.year * 12 + e.month - (s.year * 12 + s.month) + 1
    out = {
        "recency_days": f"{span} - last_off",
        "frequency": "n_rows",
        "purchase_days": "n_days",
        "monetary": value("revenue", amt),
        # cents / (100 n): one rounding of the exact mean
        "avg_order_value": ratio("revenue", "100 * n_rows") if amt else "revenue / n_rows",
        "tenure_days": f"{span} - first_off",
        "active_months": ("bit_count(month_bits)" if n_months <= MAX_VALUE_BITS else "n_months"),
        "regularity_cv": (
            "CASE WHEN n_gaps >= 2 THEN "
            "sqrt(CAST(greatest(n_gaps * gap_sq - (last_off - first_win) * (last_off - first_win), "
            "0) AS DOUBLE) / CAST(n_gaps * (n_gaps - 1) AS DOUBLE)) "
            "/ (CAST(last_off - first_win AS DOUBLE) / n_gaps) END"
        ),
        "spend_trend": (
            f"CASE WHEN abs(revenue - rev2) + abs(rev2) = 0 THEN {double(0.0)} "
            f"ELSE {ratio('2 * rev2 - revenue', 'abs(revenue - rev2) + abs(rev2)')} END"
        ),
        "_returned_total": value("returned", amt),
    }
    if "quantity" in present:
        out["quantity"] = value("qty", qty_exact)
    volume = out.get("quantity", "n_rows")
    exposure = f"CAST({span} - greatest(first_off, 0) + 1 AS DOUBLE) / {double(DAYS_PER_MONTH)}"
    out["monthly_volume"] = f"{volume} / greatest({exposure}, {double(1.0)})"
    if "profit" in present:
        prof = exact.get("profit", False)
        out["profit"] = value("profit_sum", prof)
        if prof == amt:  # same unit: the ratio of the two exact sums
            margin = ratio("profit_sum", "revenue")
        else:
            margin = ratio(value("profit_sum", prof), value("revenue", amt))
        out["margin_rate"] = f"CASE WHEN revenue > 0 THEN {margin} END"
    out["return_rate"] = (
        f"CASE WHEN revenue + returned > 0 THEN {ratio('returned', 'revenue + returned')} END"
    )
    for column, indicator in (("category", "category_breadth"), ("channel", "channel_count")):
        if value_bits and column in value_bits:
            shift, n_values = value_bits[column]
            mask = (1 << n_values) - 1
            out[indicator] = f"bit_count({d.shift_right('value_bits', shift)} & {mask})"
        else:
            out[indicator] = f"coalesce({indicator}, 0)"
    out["late_payment_rate"] = f"CASE WHEN known > 0 THEN {ratio('late', 'known')} END"
    out["days_overdue"] = f"CASE WHEN known > 0 THEN {ratio('overdue_sum', 'known')} END"
    keep = need | ({"_returned_total"} if "return_rate" in need else set())
    return {k: v for k, v in out.items() if k in keep}


def overdue_sql(e: pd.Timestamp, d: Dialect) -> str:
    """Days overdue as of ``end`` per row (NULL: no invoice, or not yet due and unpaid).

    A payment recorded after ``end`` is not known yet. Late <=> overdue > 0.
    """
    E, due, paid = d.date(e), "CAST(due_date AS DATE)", "CAST(paid_date AS DATE)"
    return (
        f"CASE WHEN due_date IS NULL THEN NULL "
        f"WHEN {paid} <= {E} THEN greatest({d.days(due, paid)}, 0) "
        f"WHEN {due} < {E} THEN {d.days(due, E)} END"
    )


# --------------------------------------------------------------------------------------------
# the portable two-stage query
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ValueCodes:
    """Views mapping category/channel values to bit positions (``value``, ``code``)."""

    views: Mapping[str, str]  # column -> view name
    sizes: Mapping[str, int]  # column -> number of values

    def layout(self) -> dict[str, tuple[int, int]]:
        """column -> (shift, n_values) inside the shared ``value_bits`` BIGINT."""
        out, shift = {}, 0
        for column in ("category", "channel"):
            if column in self.views:
                out[column] = (shift, self.sizes[column])
                shift += self.sizes[column]
        return out


def portable_sql(
    view: str,
    names: Sequence[str],
    present: set[str],
    s: pd.Timestamp,
    e: pd.Timestamp,
    start_given: bool,
    exact: Mapping[str, bool],
    d: Dialect,
    codes: ValueCodes | None = None,
) -> str:
    """The two-stage (customer-day, then customer) query for ``names`` in dialect ``d``.

    Columns of the result: ``customer_id``, the indicators, ``_returned_total``; unordered.
    ``codes``: value-code views for category/channel with at most 63 values together; other
    distinct counts use ``count(DISTINCT)`` in a separate aggregate joined on the customer.
    """
    need = set(names)
    used = {c for n in need for c in INDICATORS[n].needs} | {"amount"}
    if "monthly_volume" in need:
        used.add("quantity")
    layout = codes.layout() if codes else {}
    distinct = [c for c in ("category", "channel") if c in used & present and c not in layout]
    rows = _rows_cte(view, used, present, s, e, exact, d, codes)
    days = _days_cte(used & present, layout, d)

    def w(cond: str | None = None) -> str:
        return _filter("off >= 0" if start_given else None, cond)

    gaps = "regularity_cv" in need
    source = "gapped" if gaps else "days"
    ctes = [f"r AS ({rows})", f"days AS ({days})"]
    if gaps:
        ctes.append(
            "lagged AS (SELECT *, lag(off) OVER (PARTITION BY customer_id ORDER BY off) AS prev "
            "FROM days)"
        )
        # a gap only between two window days (the previous one may precede `start`)
        ctes.append(
            "gapped AS (SELECT *, CASE WHEN prev >= 0 THEN off - prev END AS gap FROM lagged)"
        )
    customer = _customer_cte(source, need, used & present, layout, s, e, gaps, d, w)
    ctes.append(f"cust AS ({customer})")
    joins = ""
    for c in distinct:
        indicator = "category_breadth" if c == "category" else "channel_count"
        ctes.append(
            f"{c}_n AS (SELECT customer_id, count(DISTINCT {c}) AS {indicator} FROM r "
            f"WHERE {c} IS NOT NULL{' AND off >= 0' if start_given else ''} GROUP BY customer_id)"
        )
        joins += f"\nLEFT JOIN {c}_n USING (customer_id)"
    outputs = customer_outputs(need, present, exact, s, e, d, layout)
    select = ",\n       ".join(f"{expr} AS {name}" for name, expr in outputs.items())
    return "WITH " + ",\n".join(ctes) + f"\nSELECT customer_id,\n       {select}\nFROM cust{joins}"


def _filter(*conds: str | None) -> str:
    parts = [c for c in conds if c]
    return f" FILTER (WHERE {' AND '.join(parts)})" if parts else ""


def _rows_cte(view, used, present, s, e, exact, d, codes) -> str:
    """Row level: customer, day offset, month index, scaled money, value bits, overdue days."""
    S, E, date = d.date(s), d.date(e), "CAST(date AS DATE)"
    cols = [
        f"CAST({view}.customer_id AS {d.string_type}) AS customer_id",
        f"{d.days(S, date)} AS off",
        f"(year({date}) - {s.year}) * 12 + month({date}) - {s.month} AS mi",
    ]
    for c in SCALED_COLUMNS:
        if c in used & present:
            cols.append(f"{scaled(f'{view}.{c}', exact.get(c, False))} AS {c}")
    joins, bits = "", []
    layout = codes.layout() if codes else {}
    for c, (shift, _) in layout.items():
        alias = f"code_{c}"
        joins += (
            f"\nLEFT JOIN {codes.views[c]} AS {alias} "
            f"ON CAST({view}.{c} AS {d.string_type}) = {alias}.value"
        )
        bits.append(f"coalesce({d.bit(f'{alias}.code + {shift}')}, 0)")
    if bits:
        cols.append(" | ".join(bits) + " AS value_bit")
    for c in ("category", "channel"):
        if c in used & present and c not in layout:
            cols.append(f"CAST({view}.{c} AS {d.string_type}) AS {c}")
    if "due_date" in used & present:
        cols.append(f"{overdue_sql(e, d)} AS overdue")
    hint = d.broadcast([f"code_{c}" for c in layout])
    return f"SELECT {hint}{', '.join(cols)} FROM {view}{joins} WHERE {date} <= {E}{d.by_customer()}"


def _days_cte(columns: set[str], layout, d: Dialect) -> str:
    """Stage 1: one row per (customer, day) with exact sums."""
    aggs = [
        "count(*) AS n",
        "sum(amount) AS amount",
        "sum(amount) FILTER (WHERE amount < 0) AS neg",
    ]
    for c in ("quantity", "profit"):
        if c in columns:
            aggs.append(f"sum({c}) AS {c}")
    if layout:
        aggs.append("bit_or(value_bit) AS value_bits")
    if "due_date" in columns:
        aggs += [
            "count(*) FILTER (WHERE overdue > 0) AS late",
            "count(overdue) AS known",
            "sum(overdue) AS overdue_sum",
        ]
    return f"SELECT customer_id, off, mi, {', '.join(aggs)} FROM r GROUP BY customer_id, off, mi"


def _customer_cte(source, need, columns, layout, s, e, gaps, d, w) -> str:
    """Stage 2: one row per customer active in the window."""
    n_days = int((e - s).days) + 1
    half = -(-n_days // 2)  # off >= half <=> 2 * off >= n_days: the second half
    n_months = e.year * 12 + e.month - (s.year * 12 + s.month) + 1
    aggs = [
        f"sum(n){w()} AS n_rows",
        f"count(*){w()} AS n_days",
        "min(off) AS first_off",
        "max(off) AS last_off",
        f"min(off){w()} AS first_win",
        f"sum(amount){w()} AS revenue",
        f"coalesce(sum(amount){w(f'off >= {half}')}, 0) AS rev2",
        f"coalesce(-sum(neg){w()}, 0) AS returned",
    ]
    if "quantity" in columns:
        aggs.append(f"sum(quantity){w()} AS qty")
    if "profit" in columns:
        aggs.append(f"sum(profit){w()} AS profit_sum")
    if gaps:
        aggs += ["count(gap) AS n_gaps", "sum(gap * gap) AS gap_sq"]
    if "active_months" in need:
        if n_months <= MAX_VALUE_BITS:
            aggs.append(f"bit_or({d.bit('greatest(mi, 0)')}){w()} AS month_bits")
        else:
            aggs.append(f"count(DISTINCT mi){w()} AS n_months")
    if layout:
        aggs.append(f"coalesce(bit_or(value_bits){w()}, 0) AS value_bits")
    if "due_date" in columns:
        aggs += [
            f"sum(late){w()} AS late",
            f"sum(known){w()} AS known",
            f"sum(overdue_sum){w()} AS overdue_sum",
        ]
    body = ",\n           ".join(aggs)
    having = f" HAVING count(*){w()} > 0" if w() else ""
    return f"SELECT customer_id,\n           {body}\n    FROM {source} GROUP BY customer_id{having}"
