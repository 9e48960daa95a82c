"""Read and validate transaction logs and customer attribute tables.

Everything downstream (features, index, tiers, loss, strategy) starts from a
:class:`TransactionLog`: accepted rows in one canonical schema plus every rejected row with the
reason it was rejected. Nothing is dropped silently: ``n_accepted + n_rejected == n_read``.

Canonical transaction schema (see ``data/README.md`` for the data dictionary):

============  ================  =========================================================
column        dtype             meaning
============  ================  =========================================================
customer_id   str               customer key (kept as text: leading zeros survive)
date          datetime64[ns]    transaction date (day precision; times are floored)
amount        float64           net value; a return is a negative amount
quantity      float64           units (optional)
profit        float64           gross profit (optional)
category      str               product category (optional)
channel       str               sales channel (optional)
due_date      datetime64[ns]    invoice due date, NaT allowed (optional)
paid_date     datetime64[ns]    payment date, NaT = unpaid (optional)
============  ================  =========================================================

Performance: no per-row Python loops. Clean delimited files are read by Arrow's multi-threaded
CSV reader (every column as text; ragged or odd files fall back to the pandas C reader with the
same row numbering), trimming / missing-token checks / number casts run as Arrow compute kernels,
and dates are parsed once per distinct value. Measured on this project's 2-core machine while
it was heavily shared (load average 7-10): 2 M rows CSV read in 3.3 s, summary 2.2 s;
10 M rows x 9 columns Parquet (1 M customers) read in 23 s, summary 38 s, peak RSS 2.0 GB.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crmresearch.errors import DataError

__all__ = [
    "CANONICAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "TransactionLog",
    "TransactionSummary",
    "CustomerTable",
    "CustomerSummary",
    "read_transactions",
    "read_customers",
    "parse_column_mapping",
    "infer_field_type",
]

CANONICAL_COLUMNS = (
    "customer_id",
    "date",
    "amount",
    "quantity",
    "profit",
    "category",
    "channel",
    "due_date",
    "paid_date",
)
REQUIRED_COLUMNS = ("customer_id", "date", "amount")
_NUMERIC_OPTIONAL = ("quantity", "profit")
_TEXT_OPTIONAL = ("category", "channel")
_DATE_OPTIONAL = ("due_date", "paid_date")

# Tokens read as "missing" (after stripping whitespace), in addition to the empty string.
_NA_TOKENS = ("", "NA", "N/A", "n/a", "NaN", "nan", "NAN", "null", "NULL", "Null", "None", "none")
_EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_SNIFF_BYTES = 64 * 1024

# Rejection reasons in priority order: a row gets the first one that applies.
_REASONS = (
    "empty row",
    "missing customer_id",
    "missing date",
    "missing amount",
    "unparseable date",
    "unparseable amount",
    "non-finite amount",
    "unparseable quantity",
    "non-finite quantity",
    "unparseable profit",
    "non-finite profit",
    "unparseable due_date",
    "unparseable paid_date",
)


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TransactionSummary:
    """What a read did: row accounting and the shape of the accepted log.

    ``str()`` gives a readable block; :meth:`to_dict` gives plain Python values (JSON-ready).
    """

    source: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rejected_by_reason: dict[str, int]
    zero_amount_rows: int
    duplicate_rows: int
    return_rows: int
    customers: int
    first_date: pd.Timestamp | None
    last_date: pd.Timestamp | None
    total_amount: float
    columns: tuple[str, ...]
    ignored_columns: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "zero_amount_rows": self.zero_amount_rows,
            "duplicate_rows": self.duplicate_rows,
            "return_rows": self.return_rows,
            "customers": self.customers,
            "first_date": None if self.first_date is None else self.first_date.date().isoformat(),
            "last_date": None if self.last_date is None else self.last_date.date().isoformat(),
            "total_amount": self.total_amount,
            "columns": list(self.columns),
            "ignored_columns": list(self.ignored_columns),
        }

    def __str__(self) -> str:
        span = "-"
        if self.first_date is not None:
            days = (self.last_date - self.first_date).days + 1
            span = (
                f"{self.first_date.date().isoformat()} .. {self.last_date.date().isoformat()} "
                f"({days:,} days)"
            )
        lines = [
            f"Transaction log: {self.source}",
            f"  rows read        {self.rows_read:>12,}",
            f"  rows accepted    {self.rows_accepted:>12,}",
            f"  rows rejected    {self.rows_rejected:>12,}",
        ]
        for reason, count in self.rejected_by_reason.items():
            lines.append(f"    - {reason}: {count:,}")
        lines += [
            f"  customers        {self.customers:>12,}",
            f"  date span        {span}",
            f"  total amount     {self.total_amount:>15,.2f}",
            f"  zero-amount rows {self.zero_amount_rows:>12,}  (kept)",
            f"  duplicate rows   {self.duplicate_rows:>12,}  (kept; exact repeats of an earlier row)",
            f"  returns          {self.return_rows:>12,}  (negative amounts)",
            f"  columns          {', '.join(self.columns)}",
        ]
        if self.ignored_columns:
            lines.append(f"  ignored columns  {', '.join(self.ignored_columns)}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle):  # IPython / Jupyter
        printer.text(str(self))


class TransactionLog:
    """A validated transaction log.

    Parameters
    ----------
    frame : DataFrame
        Accepted rows in the canonical schema (``customer_id``, ``date``, ``amount`` and any of
        the optional columns, in canonical order). Use :func:`read_transactions` to validate raw
        data; this constructor only checks that the required columns are present and coerces
        dtypes.
    rejected : DataFrame, optional
        Rejected rows: ``row`` (1-based data-row number in the source, header not counted),
        ``reason`` and the raw values.
    source : str
        Where the rows came from (file path or ``"<DataFrame>"``).
    n_read : int, optional
        Rows read from the source; defaults to accepted + rejected.

    Attributes
    ----------
    frame, rejected, source, n_read, n_accepted, n_rejected, ignored_columns
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        rejected: pd.DataFrame | None = None,
        *,
        source: str = "<DataFrame>",
        n_read: int | None = None,
        ignored_columns: tuple[str, ...] = (),
    ):
        missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        if missing:
            raise DataError(
                f"{source}: TransactionLog needs columns {', '.join(REQUIRED_COLUMNS)}; "
                f"missing {', '.join(missing)}. Fix: build it with read_transactions(), which "
                "maps and validates columns."
            )
        unknown = [c for c in frame.columns if c not in CANONICAL_COLUMNS]
        if unknown:
            raise DataError(
                f"{source}: TransactionLog frame has non-canonical columns {unknown}. Fix: drop "
                f"them or rename them to one of {', '.join(CANONICAL_COLUMNS)}."
            )
        order = [c for c in CANONICAL_COLUMNS if c in frame]
        self.frame = _coerce_canonical(frame if list(frame.columns) == order else frame[order])
        if rejected is None:
            rejected = pd.DataFrame(
                {"row": pd.Series(dtype="int64"), "reason": pd.Series(dtype="str")}
            )
        self.rejected = rejected
        self.source = str(source)
        self.n_accepted = len(self.frame)
        self.n_rejected = len(self.rejected)
        self.n_read = self.n_accepted + self.n_rejected if n_read is None else int(n_read)
        if self.n_read != self.n_accepted + self.n_rejected:
            raise DataError(
                f"{source}: row accounting broken: read {self.n_read:,} but accepted "
                f"{self.n_accepted:,} + rejected {self.n_rejected:,}."
            )
        self.ignored_columns = tuple(ignored_columns)
        self._summary: TransactionSummary | None = None

    def __len__(self) -> int:
        return self.n_accepted

    def __repr__(self) -> str:
        return (
            f"TransactionLog(source={self.source!r}, read={self.n_read:,}, "
            f"accepted={self.n_accepted:,}, rejected={self.n_rejected:,})"
        )

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.frame.columns)

    def rejected_by_reason(self) -> dict[str, int]:
        """Counts of rejected rows per reason, in the fixed reason order."""
        if self.n_rejected == 0:
            return {}
        counts = self.rejected["reason"].value_counts()
        order = [r for r in _REASONS if r in counts.index]
        order += sorted(r for r in counts.index if r not in order)
        return {r: int(counts[r]) for r in order}

    def summary(self) -> TransactionSummary:
        """Row accounting and shape of the log (computed once, then cached)."""
        if self._summary is None:
            f = self.frame
            amount = f["amount"].to_numpy()
            has_rows = len(f) > 0
            # one hash pass over the ids serves both the customer count and the duplicate key
            id_codes = _factorize(f["customer_id"])
            self._summary = TransactionSummary(
                source=self.source,
                rows_read=self.n_read,
                rows_accepted=self.n_accepted,
                rows_rejected=self.n_rejected,
                rejected_by_reason=self.rejected_by_reason(),
                zero_amount_rows=int((amount == 0).sum()),
                duplicate_rows=_count_duplicate_rows(f, first=id_codes),
                return_rows=int((amount < 0).sum()),
                customers=id_codes[1],
                first_date=f["date"].min() if has_rows else None,
                last_date=f["date"].max() if has_rows else None,
                total_amount=float(amount.sum()),
                columns=tuple(f.columns),
                ignored_columns=self.ignored_columns,
            )
        return self._summary


@dataclass(frozen=True)
class CustomerSummary:
    """Row accounting and field tags of a :class:`CustomerTable`."""

    source: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rejected_by_reason: dict[str, int]
    customers: int
    field_types: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "rejected_by_reason": dict(self.rejected_by_reason),
            "customers": self.customers,
            "field_types": dict(self.field_types),
        }

    def __str__(self) -> str:
        lines = [
            f"Customer table: {self.source}",
            f"  rows read        {self.rows_read:>12,}",
            f"  rows accepted    {self.rows_accepted:>12,}",
            f"  rows rejected    {self.rows_rejected:>12,}",
        ]
        for reason, count in self.rejected_by_reason.items():
            lines.append(f"    - {reason}: {count:,}")
        lines.append(f"  customers        {self.customers:>12,}")
        for kind in ("static", "dynamic", "system-generated"):
            names = [n for n, t in self.field_types.items() if t == kind]
            lines.append(f"  {kind + ':':<18} {', '.join(names) if names else '-'}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle):
        printer.text(str(self))


class CustomerTable:
    """Validated customer attributes.

    Attributes
    ----------
    frame : DataFrame
        One row per customer, indexed by ``customer_id`` (str).
    field_types : dict
        Column -> ``"static"`` | ``"dynamic"`` | ``"system-generated"``.
    field_type_sources : dict
        Column -> how its tag was decided: ``"given"``, ``"rule: <keyword>"`` or ``"default"``.
    rejected : DataFrame
        ``row``, ``reason`` and the raw values of rejected rows.
    source, n_read, n_accepted, n_rejected
    """

    def __init__(self, frame, field_types, field_type_sources, rejected, *, source, n_read):
        self.frame = frame
        self.field_types = dict(field_types)
        self.field_type_sources = dict(field_type_sources)
        self.rejected = rejected
        self.source = source
        self.n_read = int(n_read)
        self.n_accepted = len(frame)
        self.n_rejected = len(rejected)
        if self.n_read != self.n_accepted + self.n_rejected:
            raise DataError(
                f"{source}: row accounting broken: read {self.n_read:,} but accepted "
                f"{self.n_accepted:,} + rejected {self.n_rejected:,}."
            )

    def __len__(self) -> int:
        return self.n_accepted

    def __repr__(self) -> str:
        return (
            f"CustomerTable(source={self.source!r}, read={self.n_read:,}, "
            f"accepted={self.n_accepted:,}, rejected={self.n_rejected:,})"
        )

    def fields(self, kind: str) -> list[str]:
        """Columns tagged ``kind`` (``"static"``, ``"dynamic"`` or ``"system-generated"``)."""
        if kind not in _FIELD_KINDS:
            raise ValueError(f"field kind {kind!r} unknown; use one of {', '.join(_FIELD_KINDS)}")
        return [n for n, t in self.field_types.items() if t == kind]

    def summary(self) -> CustomerSummary:
        counts = self.rejected["reason"].value_counts() if self.n_rejected else {}
        return CustomerSummary(
            source=self.source,
            rows_read=self.n_read,
            rows_accepted=self.n_accepted,
            rows_rejected=self.n_rejected,
            rejected_by_reason={str(k): int(v) for k, v in dict(counts).items()},
            customers=self.n_accepted,
            field_types=self.field_types,
        )


# --------------------------------------------------------------------------------------------
# Public readers
# --------------------------------------------------------------------------------------------
def read_transactions(
    source: str | os.PathLike | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
) -> TransactionLog:
    """Read a transaction log and validate it row by row (vectorized).

    Parameters
    ----------
    source : path or DataFrame
        CSV / delimited text (``.csv``, ``.txt``, ``.tsv``, optionally compressed ``.gz``…),
        Parquet (``.parquet``), or a DataFrame.
    columns : mapping, optional
        ``{name_in_file: canonical_name}``, e.g. ``{"cust": "customer_id", "value": "amount"}``.
        Names that already are canonical (case-insensitive, surrounding spaces ignored) need no
        mapping. Columns that are neither mapped nor canonical are ignored (and listed in the
        summary).
    date_format : str, optional
        ``strptime`` format for ``date``, ``due_date`` and ``paid_date`` (e.g. ``"%d/%m/%Y"``).
        Default: ``YYYYMMDD`` and ISO 8601 (``YYYY-MM-DD[ HH:MM[:SS]]``) are recognised; anything
        else is rejected as an unparseable date (no day/month guessing).
    encoding : str, optional
        Text encoding. Default UTF-8 (a byte-order mark is allowed); a non-UTF-8 file raises a
        :class:`DataError` suggesting an encoding.
    sep : str, optional
        Field delimiter; ``r"\\s+"`` for whitespace-separated text. Default: sniffed from the
        header line (tab, comma, semicolon, pipe, else whitespace).

    Returns
    -------
    TransactionLog
        ``.frame`` (accepted rows, canonical columns), ``.rejected`` (``row``, ``reason``, raw
        values), ``.summary()``. Always ``n_accepted + n_rejected == n_read``.

    Notes
    -----
    A row is rejected, with the first reason that applies, for: an empty row; a missing
    ``customer_id``, ``date`` or ``amount``; an unparseable date or amount; a non-finite amount
    (``inf``); an unparseable or non-finite ``quantity``/``profit``; an unparseable
    ``due_date``/``paid_date`` (empty ones are allowed: NaT). Zero amounts and exact duplicate
    rows are kept and counted in :meth:`TransactionLog.summary`. Missing values are empty fields
    and the tokens ``NA``, ``N/A``, ``NaN``, ``null``, ``None``.

    Raises
    ------
    DataError
        Missing required column, unreadable file (binary, Excel, wrong delimiter, non-UTF-8
        without ``encoding``, empty, header only), or zero accepted rows. The message names the
        file, the problem and the fix.

    R equivalent: ``readr::read_csv(path, col_types = readr::cols(.default = "c"))`` followed by
    explicit parsing and ``readr::problems()`` (which lists unparseable cells by row).

    Examples
    --------
    >>> log = read_transactions("sales.csv", columns={"cust": "customer_id", "value": "amount"})
    >>> print(log.summary())
    """
    raw, name = _read_raw(source, encoding=encoding, sep=sep, kind="transaction log")
    n_read = len(raw)
    mapping, ignored = _map_columns(
        raw.columns, columns, name, canonical=CANONICAL_COLUMNS, required=REQUIRED_COLUMNS
    )
    canon = {target: raw[src] for src, target in mapping.items()}
    # trim each text column once; every check below reuses it
    texts = {c: _arrow_text(s) for c, s in canon.items() if _is_textlike(s)}
    missing = {c: _missing_mask(s, texts.get(c)) for c, s in canon.items()}
    empty_row = _empty_row_mask(raw, missing["customer_id"])
    parsed = {"customer_id": _parse_ids(canon["customer_id"], texts.get("customer_id"))}
    checks: list[tuple[str, np.ndarray]] = [
        ("empty row", empty_row),
        ("missing customer_id", missing["customer_id"]),
        ("missing date", missing["date"]),
        ("missing amount", missing["amount"]),
    ]
    dates = {}
    for col in ("date",) + _DATE_OPTIONAL:
        if col in canon:
            dates[col] = _parse_dates(canon[col], date_format, missing[col], texts.get(col))
    numbers = {}
    for col in ("amount",) + _NUMERIC_OPTIONAL:
        if col in canon:
            numbers[col] = _parse_numbers(canon[col], missing[col], texts.get(col))

    checks.append(("unparseable date", ~missing["date"] & dates["date"].isna().to_numpy()))
    for col in ("amount",) + _NUMERIC_OPTIONAL:
        if col in numbers:
            values = numbers[col].to_numpy()
            checks.append((f"unparseable {col}", ~missing[col] & np.isnan(values)))
            checks.append((f"non-finite {col}", np.isinf(values)))
    for col in _DATE_OPTIONAL:
        if col in dates:
            checks.append((f"unparseable {col}", ~missing[col] & dates[col].isna().to_numpy()))

    code = _first_reason(checks, n_read)
    accepted = code < 0

    parsed.update(dates)
    parsed.update(numbers)
    for col in _TEXT_OPTIONAL:
        if col in canon:
            parsed[col] = _parse_text(canon[col], missing[col], texts.get(col))
    frame = pd.DataFrame({c: parsed[c] for c in CANONICAL_COLUMNS if c in parsed}, copy=False)
    if not accepted.all():  # no copy of a clean log
        frame = frame.loc[accepted].reset_index(drop=True)
    rejected = _rejected_frame(raw, code, checks)

    if len(frame) == 0:
        raise DataError(
            f"{name}: no row was accepted ({n_read:,} read, all rejected: "
            f"{_reason_text(rejected)}; first rejected data rows: {_first_rows(rejected)}). "
            f"Fix: {_fix_for(rejected)}"
        )
    return TransactionLog(frame, rejected, source=name, n_read=n_read, ignored_columns=ignored)


_FIELD_KINDS = ("static", "dynamic", "system-generated")

# Name rules for customer fields, checked in this order; the first keyword found in the
# lower-cased field name decides. System-generated first: "first_order_amount" is an amount.
# fmt: off
_FIELD_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("system-generated", (
        "volume", "amount", "revenue", "sales", "spend", "spending", "value", "total", "sum",
        "avg", "average", "mean", "median", "count", "number", "num", "n", "frequency", "recency",
        "order", "purchase_count", "quantity", "qty", "profit", "margin", "score", "last",
        "days_since", "rate", "ratio", "share", "balance", "overdue", "clv", "ltv", "rfm",
    )),
    ("static", (
        "customer_id", "id", "region", "country", "province", "state", "city", "district", "zip",
        "postcode", "postal", "industry", "sector", "gender", "sex", "birth", "birthday", "dob",
        "founded", "established", "signup", "sign_up", "register", "registered", "registration",
        "first", "join", "joined", "acquisition", "acquired", "source", "ownership", "legal",
        "type", "nationality", "language",
    )),
    ("dynamic", (
        "status", "credit", "payment", "terms", "term", "contact", "phone", "email", "mail",
        "address", "manager", "rep", "owner", "tier", "grade", "level", "segment", "discount",
        "limit", "rating", "contract", "employees", "size", "stage", "active", "churned",
        "vip", "flag", "channel",
    )),
)
# fmt: on


def _name_tokens(name: str) -> str:
    """'FirstPurchaseDate' / 'first-purchase date' -> '_first_purchase_date_'."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    return "_" + "_".join(t for t in re.split(r"[^0-9a-z]+", snake.lower()) if t) + "_"


def infer_field_type(name: str) -> tuple[str, str]:
    """Tag a customer field by its name: ``(kind, why)``.

    The name is split into lower-case words (on ``_``, spaces, punctuation and camelCase) and
    the rules below are tried in order; a keyword matches whole words (a trailing plural ``s``
    is allowed: ``orders`` matches ``order``). The first match wins:

    1. **system-generated** — computed by the firm's systems from transactions: volume, amount,
       revenue, sales, spend, value, total, sum, avg/average/mean/median, count, number/num/n,
       frequency, recency, order(s), quantity/qty, profit, margin, score, last, days_since,
       rate, ratio, share, balance, overdue, clv/ltv, rfm.
       (So ``first_order_amount`` and ``last_purchase_date`` are system-generated.)
    2. **static** — fixed at acquisition: customer_id/id, region, country, province, state,
       city, district, zip/postcode/postal, industry, sector, gender/sex, birth/dob,
       founded/established, signup/register(ed)/registration, first, join(ed),
       acquisition/acquired, source, ownership, legal, type, nationality, language.
    3. **dynamic** — changes over the relationship: status, credit, payment, term(s), contact,
       phone, email/mail, address, manager, rep, owner, tier, grade, level, segment, discount,
       limit, rating, contract, employees, size, stage, active, churned, vip, flag, channel.
    4. Otherwise **dynamic** (``why = "default"``): an unknown attribute is assumed changeable,
       so that it is never used as a fixed covariate by mistake.

    Override any tag with ``read_customers(..., field_types={name: kind})``.

    Examples
    --------
    >>> infer_field_type("Region")
    ('static', 'rule: region')
    >>> infer_field_type("credit_terms_days")
    ('dynamic', 'rule: credit')
    >>> infer_field_type("avg_monthly_volume")
    ('system-generated', 'rule: volume')
    """
    words = _name_tokens(name)
    for kind, keywords in _FIELD_RULES:
        for keyword in keywords:
            if re.search(rf"_{re.escape(keyword)}s?_", words):
                return kind, f"rule: {keyword}"
    return "dynamic", "default"


def read_customers(
    source: str | os.PathLike | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    field_types: Mapping[str, str] | None = None,
    date_format: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
) -> CustomerTable:
    """Read customer attributes, one row per customer, and tag each field.

    Parameters
    ----------
    source : path or DataFrame
        CSV / delimited text, Parquet or a DataFrame with a ``customer_id`` column.
    columns : mapping, optional
        ``{name_in_file: new_name}``; use it at least to map the id column onto ``customer_id``.
    field_types : mapping, optional
        ``{field: "static" | "dynamic" | "system-generated"}`` overriding the name rules of
        :func:`infer_field_type` (static: id, region, industry, signup/first dates…; dynamic:
        status, credit and payment terms, contact…; system-generated: volumes, amounts,
        averages, counts…; unknown names default to dynamic).
    date_format : str, optional
        ``strptime`` format for fields whose name ends in ``date`` (or is ``since``/``*_at``);
        default YYYYMMDD or ISO 8601.
    encoding, sep
        As in :func:`read_transactions`.

    Returns
    -------
    CustomerTable
        ``.frame`` indexed by ``customer_id``; ``.field_types``; ``.rejected``; ``.summary()``.

    Notes
    -----
    Rejected with a reason: empty rows, a missing ``customer_id``, a duplicate ``customer_id``
    (every occurrence after the first; the first is kept), and a non-empty unparseable value in a
    date field. Numeric-looking text columns (every non-missing value parses) become float64.
    """
    raw, name = _read_raw(source, encoding=encoding, sep=sep, kind="customer table")
    n_read = len(raw)
    cols = [str(c).strip() for c in raw.columns]
    raw.columns = cols
    columns = dict(columns or {})
    unknown = [c for c in columns if c not in cols]
    if unknown:
        raise DataError(
            f"{name}: columns= names {unknown} that are not in the file. Found columns: "
            f"{_quote_list(cols)}. Fix: use the file's own column names as the keys."
        )
    renamed = [columns.get(c, c) for c in cols]
    if "customer_id" not in renamed:
        lower = {c.lower(): c for c in cols}
        if "customer_id" in lower and lower["customer_id"] not in columns:
            renamed[cols.index(lower["customer_id"])] = "customer_id"
    if "customer_id" not in renamed:
        guess = _guess_mapping(cols, ("customer_id",))
        hint = ",".join(f"{k}={v}" for k, v in guess.items()) or "YOURID=customer_id"
        raise DataError(
            f"{name}: missing required column 'customer_id'. Found columns: "
            f"{_quote_list(cols)}. Fix: pass columns={{'{next(iter(guess), 'YOURID')}': "
            f"'customer_id'}} (CLI: --columns {hint})."
        )
    if len(set(renamed)) != len(renamed):
        dup = sorted({c for c in renamed if renamed.count(c) > 1})
        raise DataError(
            f"{name}: after renaming, column names {dup} occur twice. Fix: map only one file "
            "column onto each name."
        )
    data = raw.copy()
    data.columns = renamed

    given = dict(field_types or {})
    bad = {k: v for k, v in given.items() if v not in _FIELD_KINDS}
    if bad:
        raise DataError(
            f"{name}: field_types {bad} uses unknown kinds. Fix: use one of "
            f"{', '.join(_FIELD_KINDS)}."
        )
    absent = [k for k in given if k not in renamed]
    if absent:
        raise DataError(
            f"{name}: field_types names {absent} that are not columns. Found: "
            f"{_quote_list(renamed)}."
        )

    ids_missing = _missing_mask(data["customer_id"])
    ids = _parse_ids(data["customer_id"])
    checks: list[tuple[str, np.ndarray]] = [
        ("empty row", _empty_row_mask(raw, ids_missing)),
        ("missing customer_id", ids_missing),
    ]
    out: dict[str, pd.Series] = {}
    for col in renamed:
        if col == "customer_id":
            continue
        s = data[col]
        miss = _missing_mask(s)
        if _is_date_field(col):
            parsed = _parse_dates(s, date_format, miss)
            checks.append((f"unparseable {col}", ~miss & parsed.isna().to_numpy()))
            out[col] = parsed
        elif _is_textlike(s):
            as_num = _parse_numbers(s, miss)
            if (~miss & as_num.isna().to_numpy()).any() or miss.all():
                out[col] = _parse_text(s, miss)
            else:
                out[col] = as_num
        else:
            out[col] = s.reset_index(drop=True)
    # Duplicates among the otherwise acceptable rows: keep the first, reject the rest.
    ok_so_far = _first_reason(checks, n_read) < 0
    dup = np.zeros(n_read, dtype=bool)
    dup[ok_so_far] = ids[ok_so_far].duplicated(keep="first").to_numpy()
    checks.append(("duplicate customer_id", dup))
    code = _first_reason(checks, n_read)
    accepted = code < 0

    frame = pd.DataFrame(out, index=pd.RangeIndex(n_read)).loc[accepted]
    frame.index = pd.Index(ids[accepted].to_numpy(), name="customer_id", dtype="str")
    rejected = _rejected_frame(raw, code, checks)
    if len(frame) == 0:
        raise DataError(
            f"{name}: no row was accepted ({n_read:,} read, all rejected: "
            f"{_reason_text(rejected)}; first rejected data rows: {_first_rows(rejected)}). "
            "Fix: check the customer_id column."
        )
    kinds, why = {}, {}
    for col in ["customer_id", *frame.columns]:
        if col in given:
            kinds[col], why[col] = given[col], "given"
        else:
            kinds[col], why[col] = infer_field_type(col)
    return CustomerTable(frame, kinds, why, rejected, source=name, n_read=n_read)


def parse_column_mapping(text: str | None) -> dict[str, str]:
    """Parse the CLI form ``"cust=customer_id,value=amount"`` into ``{"cust": "customer_id", ...}``."""
    if not text:
        return {}
    mapping: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise DataError(
                f"--columns item {part!r} has no '='. Fix: write FILE_NAME=CANONICAL_NAME pairs "
                "separated by commas, e.g. --columns cust=customer_id,value=amount"
            )
        src, _, dst = part.partition("=")
        mapping[src.strip()] = dst.strip()
    return mapping


# --------------------------------------------------------------------------------------------
# Reading the raw table
# --------------------------------------------------------------------------------------------
def _read_raw(source, *, encoding, sep, kind) -> tuple[pd.DataFrame, str]:
    """Return (raw frame with string-ish columns, display name). Raises DataError for bad files."""
    if isinstance(source, pd.DataFrame):
        name = "<DataFrame>"
        if len(source.columns) == 0:
            raise DataError(f"{name}: the DataFrame has no columns. Fix: pass the {kind} table.")
        raw = source.reset_index(drop=True).copy()
        raw.columns = [str(c) for c in raw.columns]
        if len(raw) == 0:
            raise DataError(
                f"{name}: the DataFrame has columns ({_quote_list(raw.columns)}) but no rows. "
                f"Fix: pass a non-empty {kind}."
            )
        return raw, name
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(
            f"cannot read a {kind} from a {type(source).__name__}. Fix: pass a file path (CSV, "
            "Parquet, delimited text) or a pandas DataFrame."
        )
    path = Path(source)
    name = str(path)
    if not path.exists():
        raise DataError(f"{name}: file not found. Fix: check the path (cwd is {os.getcwd()}).")
    if path.is_dir():
        raise DataError(f"{name}: is a folder, not a file. Fix: pass the {kind} file inside it.")
    suffix = path.suffix.lower()
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if suffix in _EXCEL_SUFFIXES or head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        what = (
            "an Excel workbook"
            if suffix in _EXCEL_SUFFIXES or head[:4] != b"PK\x03\x04"
            else ("a ZIP archive (or Excel workbook)")
        )
        raise DataError(
            f"{name}: this is {what}, which is not read directly. Fix: export the sheet as CSV "
            "(File > Save As > CSV UTF-8) or Parquet and read that file."
        )
    if suffix in _PARQUET_SUFFIXES or head.startswith(b"PAR1"):
        return _read_parquet(path, name, kind), name
    compressed = suffix in (".gz", ".bz2", ".xz", ".zst", ".zip")
    if not head.strip():
        raise DataError(
            f"{name}: the file is empty. Fix: export the {kind} again; it needs a header line "
            "and at least one data row."
        )
    if not compressed:
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) and encoding is None:
            raise DataError(
                f"{name}: the file is UTF-16 text. Fix: pass encoding='utf-16' "
                "(CLI: --encoding utf-16) or re-save it as UTF-8."
            )
        if _looks_binary(head) and not (encoding or "").lower().startswith("utf-16"):
            raise DataError(
                f"{name}: the file is binary (NUL or control bytes), not delimited text"
                f"{' (suffix ' + suffix + ')' if suffix else ''}. Fix: pass a CSV, delimited "
                "text or Parquet file."
            )
    if compressed:
        head = _decompressed_head(path, suffix) or head
    header_line = _first_line(head, encoding)
    if sep is None:
        sep = _sniff_sep(header_line)
    if not compressed and len(sep) == 1 and (encoding or "utf-8").lower() in _UTF8_NAMES:
        raw = _read_csv_arrow(path, sep, header_line)
        if raw is not None:
            return raw, name
    try:
        raw = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding=encoding or "utf-8-sig",
            engine="c" if sep == r"\s+" or len(sep) == 1 else "python",
        )
    except UnicodeDecodeError:
        line, byte = _first_undecodable(path, encoding or "utf-8")
        guess = _guess_encoding(path)
        raise DataError(
            f"{name}: the file is not valid {encoding or 'UTF-8'} (first bad byte {byte!r} on "
            f"line {line:,}, header = line 1). Fix: pass the file's encoding, e.g. "
            f"encoding={guess!r} (CLI: --encoding {guess}), or re-save the file as UTF-8."
        ) from None
    except LookupError as exc:
        raise DataError(
            f"{name}: {exc}. Fix: pass a valid encoding such as 'utf-8' or 'latin-1'."
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{name}: the file is empty. Fix: export the {kind} again with a header line and "
            "data rows."
        ) from None
    except pd.errors.ParserError as exc:
        raise DataError(
            f"{name}: cannot split the file into columns with sep={sep!r}: {_one_line(exc)}. "
            "Fix: pass the right delimiter (sep=..., CLI --sep) or quote fields that contain it."
        ) from None
    raw.columns = [str(c).strip() for c in raw.columns]
    if len(raw.columns) == 1:
        only = raw.columns[0]
        found = [d for d in (",", ";", "\t", "|") if d in only]
        if found or " " in only.strip():
            better = found[0] if found else r"\s+"
            raise DataError(
                f"{name}: only one column was found ({only!r}) with sep={sep!r}; the header looks "
                f"{_sep_name(better)}-separated. Fix: pass sep={better!r} (CLI: --sep '{better}')."
            )
    if len(raw) == 0:
        raise DataError(
            f"{name}: the file has a header ({_quote_list(raw.columns)}) but no data rows. "
            f"Fix: export the {kind} again including its rows."
        )
    return raw, name


_UTF8_NAMES = ("utf-8", "utf8", "utf-8-sig", "utf_8")


def _read_csv_arrow(path: Path, sep: str, header_line: str) -> pd.DataFrame | None:
    """Fast path: Arrow's multi-threaded CSV reader, every column as text.

    Returns None whenever the file needs the forgiving pandas reader (blank lines, rows with
    a different number of fields, invalid UTF-8, quoted newlines, duplicate header names), so
    that row numbers and error messages are the same on both paths.
    """
    import csv

    import pyarrow.csv as pacsv

    try:
        names = [n.strip() for n in next(csv.reader([header_line.rstrip("\r\n")], delimiter=sep))]
    except (csv.Error, StopIteration):
        return None
    if len(names) < 2 or len(set(names)) != len(names) or "" in names:
        return None
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=sep, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException, OSError, ValueError):
        return None
    if table.num_rows == 0 or any(not pa.types.is_string(t) for t in table.schema.types):
        return None
    return table.to_pandas()


def _read_parquet(path: Path, name: str, kind: str) -> pd.DataFrame:
    try:
        raw = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise DataError(
            f"{name}: cannot read it as Parquet ({_one_line(exc)}). Fix: write the file again "
            "(e.g. DataFrame.to_parquet) or export CSV."
        ) from None
    raw = raw.reset_index(drop=True)
    raw.columns = [str(c).strip() for c in raw.columns]
    if len(raw) == 0:
        raise DataError(
            f"{name}: the Parquet file has columns ({_quote_list(raw.columns)}) but no rows. "
            f"Fix: write the {kind} again including its rows."
        )
    return raw


def _decompressed_head(path: Path, suffix: str) -> bytes | None:
    """First bytes of a compressed text file, to sniff its delimiter."""
    import bz2
    import gzip
    import lzma

    opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(suffix)
    if opener is None:
        return None
    try:
        with opener(path, "rb") as fh:
            return fh.read(_SNIFF_BYTES)
    except (OSError, EOFError, lzma.LZMAError):
        return None


def _first_line(head: bytes, encoding: str | None) -> str:
    line = head.split(b"\n", 1)[0]
    try:
        return line.decode(encoding or "utf-8-sig", errors="replace")
    except LookupError:
        return line.decode("latin-1")


def _sniff_sep(header: str) -> str:
    for candidate in ("\t", ",", ";", "|"):
        if candidate in header:
            return candidate
    return r"\s+"


def _sep_name(sep: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", r"\s+": "whitespace"}.get(
        sep, repr(sep)
    )


def _guess_encoding(path: Path) -> str:
    """Suggest an encoding that decodes the file (GB18030 for Chinese exports, else cp1252)."""
    data = path.read_bytes()[: 4 * 1024 * 1024]
    for candidate in ("gb18030", "cp1252", "latin-1"):
        try:
            data.decode(candidate)
        except UnicodeDecodeError:
            continue
        return candidate
    return "latin-1"


def _looks_binary(head: bytes) -> bool:
    """NUL bytes, or more than 1% control bytes other than tab/newline/CR/FF: not text."""
    if b"\x00" in head:
        return True
    control = sum(head.count(bytes([b])) for b in range(32) if b not in (8, 9, 10, 12, 13, 27))
    return control > 0.01 * len(head)


def _first_undecodable(path: Path, encoding: str) -> tuple[int, bytes]:
    """(1-based line number, byte) of the first byte that does not decode; streams the file."""
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    lines_before = 0
    with path.open("rb") as fh:
        while chunk := fh.read(16 * 1024 * 1024):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # exc.start is relative to the bytes the decoder held (pending + chunk).
                buffered = exc.object
                return lines_before + buffered[: exc.start].count(b"\n") + 1, buffered[
                    exc.start : exc.start + 1
                ]
            lines_before += chunk.count(b"\n")
    return lines_before + 1, b""


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


# --------------------------------------------------------------------------------------------
# Column mapping
# --------------------------------------------------------------------------------------------
_GUESS_PATTERNS = {
    "customer_id": r"cust|client|buyer|member|user|account|^id$|_id$",
    "date": r"date|time|day|dt$|^dt",
    "amount": r"amount|value|revenue|sales|price|total|spend|dollar|sum|money|net",
    "quantity": r"qty|quantity|units|number|count|cds",
    "profit": r"profit|margin",
    "category": r"categ|product|sku|item|class",
    "channel": r"channel|store|source",
    "due_date": r"due",
    "paid_date": r"paid|payment",
}


def _guess_mapping(found: list[str], targets) -> dict[str, str]:
    guess: dict[str, str] = {}
    for target in targets:
        for col in found:
            if col in guess or col in CANONICAL_COLUMNS:
                continue
            if re.search(_GUESS_PATTERNS.get(target, "$^"), col.lower()):
                guess[col] = target
                break
    return guess


def _map_columns(found_cols, columns, name, *, canonical, required):
    """Return ({file column: canonical name}, ignored file columns)."""
    found = [str(c) for c in found_cols]
    columns = dict(columns or {})
    bad_keys = [k for k in columns if k not in found]
    if bad_keys:
        raise DataError(
            f"{name}: columns= names {_quote_list(bad_keys)} that are not in the file. Found "
            f"columns: {_quote_list(found)}. Fix: use the file's own column names as keys, e.g. "
            f"columns={{'{found[0]}': 'customer_id'}}."
        )
    bad_targets = [v for v in columns.values() if v not in canonical]
    if bad_targets:
        raise DataError(
            f"{name}: columns= maps onto unknown names {_quote_list(bad_targets)}. Fix: map onto "
            f"the canonical names {', '.join(canonical)}."
        )
    mapping: dict[str, str] = {}
    for col in found:
        if col in columns:
            mapping[col] = columns[col]
        elif col.strip().lower() in canonical and col.strip().lower() not in columns.values():
            mapping[col] = col.strip().lower()
    targets = list(mapping.values())
    dup = sorted({t for t in targets if targets.count(t) > 1})
    if dup:
        srcs = {t: [s for s, v in mapping.items() if v == t] for t in dup}
        raise DataError(
            f"{name}: several file columns map onto the same canonical column: {srcs}. Fix: map "
            "exactly one file column onto each canonical name."
        )
    missing = [c for c in required if c not in targets]
    if missing:
        unmapped = [c for c in found if c not in mapping]
        guess = _guess_mapping(unmapped, missing)
        example = dict(guess)
        for m in missing:
            if m not in example.values():
                example[f"<{m} column>"] = m
        cli = ",".join(f"{k}={v}" for k, v in example.items())
        py = ", ".join(f"'{k}': '{v}'" for k, v in example.items())
        raise DataError(
            f"{name}: missing required column(s) {_quote_list(missing)}. Found columns: "
            f"{_quote_list(found)}. Fix: map the file's names onto the canonical ones with "
            f"columns={{{py}}} (CLI: --columns {cli})."
        )
    ignored = tuple(c for c in found if c not in mapping)
    return mapping, ignored


def _quote_list(items) -> str:
    items = list(items)
    shown = ", ".join(repr(str(i)) for i in items[:20])
    return shown + (f", … ({len(items)} in all)" if len(items) > 20 else "")


# --------------------------------------------------------------------------------------------
# Vectorized parsing
# --------------------------------------------------------------------------------------------
def _is_textlike(s: pd.Series) -> bool:
    return (
        pd.api.types.is_string_dtype(s.dtype)
        or s.dtype == object
        or isinstance(s.dtype, pd.CategoricalDtype)
    )


def _arrow_text(s: pd.Series) -> pa.Array:
    """Text values with surrounding whitespace removed, as one Arrow string array (nulls kept).

    String work runs in Arrow compute kernels: 10-50x faster than ``Series.str`` on 10 M rows.
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        # decode in Arrow (dictionary -> text) instead of materializing Python strings
        arr = pa.array(s, from_pandas=True)
        arr = arr.cast(arr.type.value_type)
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = pa.array(s.astype("str"), from_pandas=True)
        return pc.utf8_trim_whitespace(arr)
    if s.dtype == object or not pd.api.types.is_string_dtype(s.dtype):
        s = s.astype("str")  # Python objects (mixed ints/str) -> text
    arr = pa.array(s, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.large_string())
    return pc.utf8_trim_whitespace(arr)


def _to_bool(arr) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _null_where(text: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, text.type), text)


def _missing_mask(s: pd.Series, text: pa.Array | None = None) -> np.ndarray:
    """True where a value is missing: NA, or text that is empty / an NA token after stripping."""
    if not _is_textlike(s):
        return s.isna().to_numpy()
    text = _arrow_text(s) if text is None else text
    tokens = pa.array(_NA_TOKENS, type=text.type)
    return _to_bool(pc.or_(pc.is_null(text), pc.fill_null(pc.is_in(text, value_set=tokens), True)))


def _empty_row_mask(raw: pd.DataFrame, candidates: np.ndarray) -> np.ndarray:
    """Rows where every field is missing (blank lines), among ``candidates`` (missing id)."""
    mask = np.asarray(candidates, dtype=bool).copy()
    rows = np.flatnonzero(mask)
    if len(rows) == 0:
        return mask
    sub = raw.iloc[rows]
    empty = np.ones(len(rows), dtype=bool)
    for col in sub.columns:
        empty &= _missing_mask(sub[col])
    mask[rows] = empty
    return mask


def _parse_ids(s: pd.Series, text: pa.Array | None = None) -> pd.Series:
    """Customer ids as stripped text. Integral floats (1.0 from a NaN-holding int column) -> "1"."""
    s = s.reset_index(drop=True)
    if pd.api.types.is_float_dtype(s.dtype):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        finite = np.isfinite(values)
        if np.all(values[finite] == np.round(values[finite])):
            s = s.astype("Int64")
    if pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_float_dtype(s.dtype):
        return s.astype("str")
    return pd.Series(_arrow_text(s) if text is None else text, dtype="str")


# What Arrow's string->double cast accepts; used only when a column has unparseable values.
_NUMBER_RE = r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$"


def _parse_numbers(s: pd.Series, missing: np.ndarray, text: pa.Array | None = None) -> pd.Series:
    """float64; missing -> NaN; unparseable -> NaN (caller tells them apart with ``missing``)."""
    s = s.reset_index(drop=True)
    if pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(np.full(len(s), np.nan), dtype="float64")
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.astype("float64")
    text = _null_where(_arrow_text(s) if text is None else text, missing)
    try:
        values = pc.cast(text, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ok = pc.match_substring_regex(text, _NUMBER_RE, ignore_case=True)
        text = _null_where(text, ~_to_bool(ok))
        try:
            values = pc.cast(text, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # pattern/Arrow mismatch: slow path
            plain = pd.Series(text, dtype="str")
            return pd.to_numeric(plain, errors="coerce").astype("float64")
    return pd.Series(values.to_numpy(zero_copy_only=False), dtype="float64")


def _parse_dates(
    s: pd.Series, date_format: str | None, missing: np.ndarray, text: pa.Array | None = None
) -> pd.Series:
    """datetime64[ns] at day precision; missing or unparseable -> NaT.

    Text dates are parsed once per distinct value (logs repeat few dates many times), with
    pandas' strict parser, then mapped back to the rows.
    """
    s = s.reset_index(drop=True)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s.astype("datetime64[ns]")
    else:
        if pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_float_dtype(s.dtype):
            s, text = _parse_ids(s), None  # 19970101 -> "19970101"
        text = _arrow_text(s) if text is None else text
        encoded = pc.dictionary_encode(_null_where(text, missing))
        uniques = pd.Series(encoded.dictionary, dtype="str")
        parsed = _parse_date_strings(uniques, date_format).to_numpy()
        parsed = np.append(parsed, np.datetime64("NaT", "ns"))  # index -1 (missing) -> NaT
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        out = pd.Series(parsed[codes], dtype="datetime64[ns]")
    ticks = out.to_numpy().view(np.int64)
    present = ticks != np.iinfo(np.int64).min  # NaT
    if (ticks[present] % _NS_PER_DAY == 0).all():
        return out  # already at midnight: skip a full pass
    return out.dt.normalize()


_NS_PER_DAY = 86_400 * 10**9


def _parse_date_strings(text: pd.Series, date_format: str | None) -> pd.Series:
    if date_format:
        return _to_datetime(text, date_format)
    compact = text.str.fullmatch(r"\d{8}").to_numpy(dtype=bool, na_value=False)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if compact.any():
        out[compact] = _to_datetime(text[compact], "%Y%m%d")
    if (~compact).any():
        out[~compact] = _to_datetime(text[~compact], "ISO8601")
    return out


def _to_datetime(text: pd.Series, fmt: str) -> pd.Series:
    try:
        out = pd.to_datetime(text, format=fmt, errors="coerce")
    except (ValueError, TypeError):  # mixed time-zone offsets: compare on UTC
        out = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    if isinstance(out.dtype, pd.DatetimeTZDtype):
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out.astype("datetime64[ns]")


def _parse_text(s: pd.Series, missing: np.ndarray, text: pa.Array | None = None) -> pd.Series:
    text = _arrow_text(s) if text is None else text
    return pd.Series(_null_where(text, missing), dtype="str")


def _factorize(values) -> tuple[np.ndarray, int]:
    """(int64 code per row, number of distinct values); missing values count as one value.

    Arrow's hash kernels: several times faster than ``pd.factorize`` on millions of rows.
    """
    arr = pa.array(values, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    encoded = pc.dictionary_encode(arr, null_encoding="encode")
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return codes, len(encoded.dictionary)


def _column_hash(s: pd.Series) -> np.ndarray:
    """uint64 per row, equal wherever the values are equal (NaN == NaN, -0.0 == 0.0)."""
    if pd.api.types.is_float_dtype(s.dtype):
        return pd.util.hash_array(s.to_numpy(dtype=np.float64) + 0.0)
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return pd.util.hash_array(s.to_numpy().view(np.int64))
    return pd.util.hash_array(_factorize(s)[0])


def _count_duplicate_rows(frame: pd.DataFrame, first: tuple[np.ndarray, int] | None = None) -> int:
    """Rows that exactly repeat an earlier row (= ``frame.duplicated().sum()``, much faster).

    Each row gets a 64-bit hash of all its values; equal rows have equal hashes, so only rows
    whose hash occurs more than once can be repeats, and those few candidates are then checked
    exactly with ``DataFrame.duplicated``. The count is exact (a hash collision only adds a
    candidate, never a repeat).
    """
    if len(frame) <= 1:
        return 0
    row_hash = np.zeros(len(frame), dtype=np.uint64)
    for i, col in enumerate(frame.columns):
        if i == 0 and first is not None:
            h = pd.util.hash_array(first[0])
        else:
            h = _column_hash(frame[col])
        row_hash = row_hash * np.uint64(1_000_003) ^ h  # wraps around mod 2**64 by design
    ordered = np.sort(row_hash)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if len(repeated) == 0:
        return 0
    candidates = np.isin(row_hash, np.unique(repeated))
    return int(frame.loc[candidates].duplicated(keep="first").sum())


def _first_reason(checks: list[tuple[str, np.ndarray]], n: int) -> np.ndarray:
    """Index into ``checks`` of the first failing check per row; -1 = accepted."""
    code = np.full(n, -1, dtype=np.int16)
    for i, (_, mask) in enumerate(checks):
        hit = (code < 0) & np.asarray(mask, dtype=bool)
        code[hit] = i
    return code


def _rejected_frame(raw: pd.DataFrame, code: np.ndarray, checks) -> pd.DataFrame:
    rows = np.flatnonzero(code >= 0)
    labels = np.array([name for name, _ in checks], dtype=object)
    values = raw.iloc[rows].reset_index(drop=True)
    values.columns = [c if c not in ("row", "reason") else f"raw_{c}" for c in values.columns]
    out = pd.DataFrame(
        {"row": (rows + 1).astype("int64"), "reason": pd.Series(labels[code[rows]], dtype="str")}
    )
    return pd.concat([out, values], axis=1)


def _reason_text(rejected: pd.DataFrame) -> str:
    counts = rejected["reason"].value_counts()
    return ", ".join(f"{reason} {count:,}" for reason, count in counts.items())


def _first_rows(rejected: pd.DataFrame, k: int = 5) -> str:
    return ", ".join(str(r) for r in rejected["row"].head(k))


def _fix_for(rejected: pd.DataFrame) -> str:
    top = rejected["reason"].value_counts().index[0]
    if top == "unparseable date":
        return (
            "pass the date format, e.g. date_format='%d/%m/%Y' (CLI: --date-format '%d/%m/%Y'); "
            "by default only YYYYMMDD and ISO 8601 dates are read."
        )
    if top == "unparseable amount":
        return (
            "amounts must be plain numbers with '.' as decimal mark and no currency signs or "
            "thousands separators; clean the column or map the right one with columns=."
        )
    if top.startswith("missing"):
        col = top.split(" ", 1)[1]
        return f"the {col} column is empty; map the right column with columns={{...: '{col}'}}."
    return "see .rejected (CLI: --rejected out.csv) for each row's reason."


def _is_date_field(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith("date") or lowered.endswith("_at") or lowered in ("since", "dob")


def _coerce_canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Enforce canonical dtypes on an already-valid frame (no row is added or removed)."""
    out, changed = {}, False
    for col in frame.columns:
        s = frame[col]
        if col in ("customer_id",) + _TEXT_OPTIONAL:
            if isinstance(s.dtype, pd.CategoricalDtype):
                s = pd.Series(_arrow_text(s), dtype="str", index=s.index)
            elif not pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
                s = s.astype("str")
            else:
                s = None
        elif col in ("date",) + _DATE_OPTIONAL:
            s = s.astype("datetime64[ns]") if s.dtype != "datetime64[ns]" else None
        else:
            s = s.astype("float64") if s.dtype != "float64" else None
        changed |= s is not None
        out[col] = frame[col] if s is None else s
    if not changed:
        return frame
    return pd.DataFrame(out, index=frame.index, copy=False)
