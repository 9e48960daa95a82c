"""Transaction logs: :func:`read_transactions` and the validated :class:`TransactionLog`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmresearch._format import fmt_int, fmt_num
from crmresearch.data.mapping import _map_columns
from crmresearch.data.parsing import (
    _arrow_text,
    _coerce_canonical,
    _count_duplicate_rows,
    _empty_row_mask,
    _factorize,
    _first_reason,
    _first_rows,
    _is_textlike,
    _missing_mask,
    _parse_dates,
    _parse_ids,
    _parse_numbers,
    _parse_text,
    _reason_text,
    _rejected_frame,
)
from crmresearch.data.reading import _read_raw
from crmresearch.data.schema import (
    _DATE_OPTIONAL,
    _NUMERIC_OPTIONAL,
    _REASONS,
    _TEXT_OPTIONAL,
    CANONICAL_COLUMNS,
    REQUIRED_COLUMNS,
)
from crmresearch.errors import DataError


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
                f"({fmt_int(days)} days)"
            )
        lines = [
            f"Transaction log: {self.source}",
            f"  rows read        {fmt_int(self.rows_read):>12}",
            f"  rows accepted    {fmt_int(self.rows_accepted):>12}",
            f"  rows rejected    {fmt_int(self.rows_rejected):>12}",
        ]
        for reason, count in self.rejected_by_reason.items():
            lines.append(f"    - {reason}: {fmt_int(count)}")
        lines += [
            f"  customers        {fmt_int(self.customers):>12}",
            f"  date span        {span}",
            f"  total amount     {fmt_num(self.total_amount, 2):>15}",
            f"  zero-amount rows {fmt_int(self.zero_amount_rows):>12}  (kept)",
            f"  duplicate rows   {fmt_int(self.duplicate_rows):>12}  (kept; exact repeats of an earlier row)",
            f"  returns          {fmt_int(self.return_rows):>12}  (negative amounts)",
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
