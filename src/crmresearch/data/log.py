"""The validated :class:`TransactionLog` and its :class:`TransactionSummary`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmresearch._format import fmt_int, fmt_num, fmt_share
from crmresearch.data.parsing import (
    _coerce_canonical,
    _count_duplicate_rows,
    _factorize,
    row_numbering,
)
from crmresearch.data.schema import _REASONS, CANONICAL_COLUMNS, REQUIRED_COLUMNS
from crmresearch.errors import DataError


@dataclass(frozen=True)
class TransactionSummary:
    """What a read did: row accounting and the shape of the accepted log.

    ``str()`` gives a readable block; :meth:`to_dict` gives plain Python values (JSON-ready).
    ``encoding`` is the codec a text file was decoded with and ``encoding_how`` how it was
    chosen (``"given"``, ``"byte-order mark"``, ``"default"`` = valid UTF-8, ``"detected"``); None for
    Excel, Parquet and DataFrame sources. ``ids_normalized`` counts distinct ids changed by NFC
    normalization / zero-width removal. ``currency`` is the ISO code of the currency marker the
    amounts carried (``"CNY"`` for ``¥ ￥ 元 RMB``), or None when they carried none.
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
    encoding: str | None = None
    encoding_how: str | None = None
    sheet: str | None = None
    currency: str | None = None
    ids_normalized: int = 0

    @property
    def rejected_share(self) -> float:
        return self.rows_rejected / self.rows_read if self.rows_read else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "rejected_share": self.rejected_share,
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
            "encoding": self.encoding,
            "encoding_how": self.encoding_how,
            "sheet": self.sheet,
            "currency": self.currency,
            "ids_normalized": self.ids_normalized,
        }

    def __str__(self) -> str:
        span = "-"
        if self.first_date is not None:
            # python dates: no nanosecond overflow whatever the span
            days = (self.last_date.date() - self.first_date.date()).days + 1
            span = (
                f"{self.first_date.date().isoformat()} .. {self.last_date.date().isoformat()} "
                f"({fmt_int(days)} days)"
            )
        lines = [f"Transaction log: {self.source}"]
        if self.sheet is not None:
            lines.append(f"  sheet            {self.sheet}")
        if self.encoding is not None:
            lines.append(f"  encoding         {self.encoding} ({self.encoding_how})")
        lines += [
            f"  rows read        {fmt_int(self.rows_read):>12}",
            f"  rows accepted    {fmt_int(self.rows_accepted):>12}",
            f"  rows rejected    {fmt_int(self.rows_rejected):>12}",
        ]
        for reason, count in self.rejected_by_reason.items():
            lines.append(f"    - {reason}: {fmt_int(count)}")
        total = fmt_num(self.total_amount, 2) + (f" {self.currency}" if self.currency else "")
        lines += [
            f"  customers        {fmt_int(self.customers):>12}",
            f"  date span        {span}",
            f"  total amount     {total:>15}",
            f"  zero-amount rows {fmt_int(self.zero_amount_rows):>12}  (kept)",
            f"  duplicate rows   {fmt_int(self.duplicate_rows):>12}  (kept; exact repeats of an earlier row)",
            f"  returns          {fmt_int(self.return_rows):>12}  (negative amounts)",
        ]
        if self.ids_normalized:
            lines.append(
                f"  ids normalized   {fmt_int(self.ids_normalized):>12}  (Unicode NFC, zero-width "
                "characters removed)"
            )
        lines.append(f"  columns          {', '.join(self.columns)}")
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
        data; this constructor only checks that the required columns are present, that amounts
        are finite, and coerces dtypes.
    rejected : DataFrame, optional
        Rejected rows: ``row`` (1-based data-row number in the source, header not counted; for
        an Excel sheet the row number Excel shows), ``reason`` and the raw values.
    source : str
        Where the rows came from (file path or ``"<DataFrame>"``).
    n_read : int, optional
        Rows read from the source; defaults to accepted + rejected.
    ignored_columns, encoding, encoding_how, sheet, currency, ids_normalized, date_format_hint
        What the reader found (see :class:`TransactionSummary`); ``date_format_hint`` is the
        ``date_format`` that would fit the unparseable dates, if one was found.

    Attributes
    ----------
    frame, rejected, source, n_read, n_accepted, n_rejected, ignored_columns, encoding,
    encoding_how, sheet, currency, ids_normalized, date_format_hint
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        rejected: pd.DataFrame | None = None,
        *,
        source: str = "<DataFrame>",
        n_read: int | None = None,
        ignored_columns: tuple[str, ...] = (),
        encoding: str | None = None,
        encoding_how: str | None = None,
        sheet: str | None = None,
        currency: str | None = None,
        ids_normalized: int = 0,
        date_format_hint: str | None = None,
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
        if not np.isfinite(self.frame["amount"].to_numpy()).all():
            raise DataError(
                f"{source}: TransactionLog amounts must be finite numbers (found NaN or inf). "
                "Fix: build it with read_transactions(), which rejects such rows with a reason."
            )
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
        self.encoding = encoding
        self.encoding_how = encoding_how
        self.sheet = sheet
        self.currency = currency
        self.ids_normalized = int(ids_normalized)
        self.date_format_hint = date_format_hint
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

    @property
    def row_numbering(self) -> str:
        """What the ``row`` numbers of :attr:`rejected` count (sheet rows for Excel, data rows
        without the header for text files), as printed next to them."""
        return row_numbering(excel=self.sheet is not None, text=self.encoding is not None)

    @property
    def rejected_share(self) -> float:
        """Rejected rows / rows read (0 when nothing was read)."""
        return self.n_rejected / self.n_read if self.n_read else 0.0

    def rejected_by_reason(self) -> dict[str, int]:
        """Counts of rejected rows per reason, in the fixed reason order."""
        if self.n_rejected == 0:
            return {}
        counts = self.rejected["reason"].value_counts()
        order = [r for r in _REASONS if r in counts.index]
        order += sorted(r for r in counts.index if r not in order)
        return {r: int(counts[r]) for r in order}

    def check_rejected_share(self, max_share: float = 0.01) -> TransactionLog:
        """Raise :class:`DataError` when more than ``max_share`` of the rows were rejected.

        A run on mostly rejected input would compute every figure from the few rows left (all
        orders >= 1,000 dropped, say). The message gives the counts, the share, the top three
        reasons with their first rows, and the fix for the most frequent reason. Returns the log
        itself, so that ``read_transactions(path).check_rejected_share()`` chains.

        Parameters
        ----------
        max_share : float
            Largest accepted share of rejected rows, in [0, 1]; default 0.01 (1 %).
        """
        if isinstance(max_share, bool) or not 0.0 <= float(max_share) <= 1.0:
            raise ValueError(f"max_share must be a number in [0, 1], got {max_share!r}")
        if self.rejected_share <= float(max_share):
            return self
        counts = self.rejected_by_reason()
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
        parts = []
        for reason, count in top:
            rows = self.rejected.loc[self.rejected["reason"] == reason, "row"].head(3)
            parts.append(f"{reason} {fmt_int(count)} (rows {', '.join(map(str, rows))})")
        fix = fix_for(self.rejected, self.date_format_hint)
        if "max_rejected_share" not in fix:
            fix = f"{fix[:-1]} (or raise max_rejected_share knowingly)."
        raise DataError(
            f"{self.source}: {fmt_int(self.n_rejected)} of {fmt_int(self.n_read)} rows "
            f"({fmt_share(self.rejected_share, than=max_share)}) were rejected, more than "
            f"max_rejected_share {fmt_share(max_share, than=self.rejected_share)}; the results would "
            f"describe the rest only. Top reasons: {'; '.join(parts)} "
            f"[row numbers: {self.row_numbering}]. Fix: {fix}"
        )

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
                encoding=self.encoding,
                encoding_how=self.encoding_how,
                sheet=self.sheet,
                currency=self.currency,
                ids_normalized=self.ids_normalized,
            )
        return self._summary


_ID_MAP = "map the file's id column onto customer_id with columns= (CLI --columns NAME=customer_id)"


def fix_for(rejected: pd.DataFrame, date_format_hint: str | None = None) -> str:
    """The fix for the most frequent rejection reason (one per reason of ``schema._REASONS``)."""
    top = rejected["reason"].value_counts().index[0]
    if top in ("unparseable date", "unparseable due_date", "unparseable paid_date"):
        if date_format_hint:
            return (
                f"pass {date_format_hint} (CLI: --date-format); without a format only year-first "
                "dates are read (20240105, 2024-01-05, 2024/1/5, 2024.01.05, 2024年1月5日)."
            )
        return (
            "pass the date format with date_format= (CLI: --date-format), a strptime format such "
            "as '%d/%m/%Y'; without one only year-first dates are read (20240105, 2024-01-05, "
            "2024/1/5, 2024.01.05, 2024年1月5日)."
        )
    if top in ("unparseable amount", "unparseable profit", "unparseable quantity"):
        return (
            "numbers may carry thousands separators, one currency marker (¥ ￥ $ € £ 元 RMB CNY "
            "USD EUR GBP) and accounting parentheses, e.g. '¥1,234.50', '(1,234.50)', "
            "'RMB 2,000'; for a decimal comma (1.234,50) pass decimal=',' (CLI --decimal ,); "
            "otherwise map the right column with columns= (CLI --columns)."
        )
    if top in ("date out of range", "due_date out of range", "paid_date out of range"):
        return (
            "dates must lie in date_range (default 1900-01-01 .. today + 1 year): check that the "
            "right column is mapped (CLI --columns) and its format (CLI --date-format), or widen "
            "the window with read_transactions(date_range=(first, last))."
        )
    if top.endswith("out of range"):  # amount, quantity, profit: |x| >= 1e15
        col = top.split(" ", 1)[0]
        return (
            f"{col} values of 1e15 or more are no money or count: an id, phone or account number "
            f"is likely mapped onto {col}; map the right column with columns= (CLI --columns)."
        )
    if top.startswith("non-finite"):
        col = top.split(" ", 1)[1]
        return (
            f"the {col} column holds inf or -inf (a formula's result in the export); correct "
            "those cells or drop the rows."
        )
    if top.startswith("mixed currency"):
        col = "profit" if top.endswith("profit") else "amount"
        return (
            f"the {col} column uses one currency (the most frequent one, log.currency); convert "
            "the other rows to it, or read each currency's rows as a log of their own."
        )
    if top == "missing customer_id":
        return (
            f"these rows have no customer id: {_ID_MAP}; rows without an id are rejected (fill "
            "them in the export or drop them)."
        )
    if top.startswith("missing"):
        col = top.split(" ", 1)[1]
        return (
            f"the {col} column is empty in these rows; map the right column with "
            f"columns={{NAME: '{col}'}} (CLI --columns NAME={col}) or fill it in the export."
        )
    if top == "summary row":
        return (
            "totals rows (合计, 总计, 小计, Total, Sum ...) are rejected on purpose: they are "
            "not customers; drop them from the export, or raise max_rejected_share (CLI "
            "--max-rejected-share) to accept their loss."
        )
    if top == "empty row":
        return "blank rows carry no data: delete them from the export, or raise max_rejected_share."
    if top == "NUL byte":
        return (
            "NUL bytes in text mean a wrong encoding or a damaged export: re-export as UTF-8 CSV "
            "or .xlsx, or give the encoding (CLI --encoding, e.g. utf-16)."
        )
    if top.endswith("header has " + top.rsplit(" ", 1)[-1]):
        return "quote fields that contain the delimiter, or pass the right sep= (CLI --sep)."
    return "see .rejected (CLI: validate --rejected rejected.csv) for each row's reason."
