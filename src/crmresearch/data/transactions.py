"""Transaction logs: :func:`read_transactions` and the validated :class:`TransactionLog`."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa

from crmresearch.data.amounts import MAX_ABS, check_decimal, majority_currency
from crmresearch.data.dates import check_window, suggest_date_format
from crmresearch.data.log import TransactionLog, TransactionSummary, fix_for
from crmresearch.data.mapping import _map_columns
from crmresearch.data.parsing import (
    _arrow_text,
    _empty_row_mask,
    _first_reason,
    _first_rows,
    _is_textlike,
    _missing_mask,
    _normalize_ids,
    _nul_mask,
    _parse_dates_window,
    _parse_ids,
    _parse_numbers_currency,
    _parse_text,
    _reason_text,
    _rejected_frame,
    _summary_mask,
    row_numbering,
)
from crmresearch.data.reading import RawTable, _read_raw
from crmresearch.data.scan import MAX_LINE_BYTES
from crmresearch.data.schema import (
    _DATE_OPTIONAL,
    _NUMERIC_OPTIONAL,
    _TEXT_OPTIONAL,
    CANONICAL_COLUMNS,
    REQUIRED_COLUMNS,
)
from crmresearch.errors import DataError

__all__ = ["read_transactions", "validate_transactions", "TransactionLog", "TransactionSummary"]

Check = tuple[str, np.ndarray]


def read_transactions(
    source: str | os.PathLike | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    encoding: str | None = None,
    sep: str | None = None,
    sheet: str | int | None = None,
    decimal: str = ".",
    date_range: tuple | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> TransactionLog:
    """Read a transaction log and validate it row by row (vectorized).

    Parameters
    ----------
    source : path or DataFrame
        CSV / delimited text (``.csv``, ``.txt``, ``.tsv``, optionally compressed ``.gz``,
        ``.bz2``, ``.xz``), Excel (``.xlsx``, ``.xlsm``), Parquet (``.parquet``), or a DataFrame.
    columns : mapping, optional
        ``{name_in_file: canonical_name}``, e.g. ``{"cust": "customer_id", "value": "amount"}``.
        Names that already are canonical (case-insensitive, surrounding spaces ignored) need no
        mapping. Columns that are neither mapped nor canonical are ignored (and listed in the
        summary).
    date_format : str, optional
        ``strptime`` format for ``date``, ``due_date`` and ``paid_date`` (e.g. ``"%d/%m/%Y"``).
        Default: year-first dates are recognised (``20240105``, ``2024-01-05``, ``2024/1/5``,
        ``2024.01.05``, ``2024年1月5日``, ISO 8601 with time and offset; Excel dates and serial
        numbers in a sheet); anything else is rejected as an unparseable date, and the error
        suggests a format that fits (rule: :mod:`crmresearch.data.dates`). Time zones: the
        local calendar date of each timestamp.
    encoding : str, optional
        Text encoding of a text file. Default: detected (UTF-8, byte-order marks, UTF-16,
        GB18030/GBK, Big5, Windows-1252 …; rule: :mod:`crmresearch.data.encoding`); the codec
        used is ``log.encoding``. Give it to override detection.
    sep : str, optional
        Field delimiter; ``r"\\s+"`` for whitespace-separated text. Default: sniffed from the
        header line (tab, comma, semicolon, pipe, else whitespace).
    sheet : str or int, optional
        Excel sheet by name or 0-based index; default the first sheet.
    decimal : {".", ","}
        Decimal mark of amounts, quantities and profits (rule: :mod:`crmresearch.data.amounts`:
        thousands separators, one currency marker, accounting parentheses).
    date_range : (first, last), optional
        Plausible dates; outside it a row is rejected as ``date out of range``. Default
        ``("1900-01-01", today + 1 year)``; ``None`` for either end keeps its default.
    max_line_bytes : int
        Longest accepted line of a text file (default 1 MiB), checked before parsing.

    Returns
    -------
    TransactionLog
        ``.frame`` (accepted rows, canonical columns), ``.rejected`` (``row``, ``reason``, raw
        values), ``.summary()``. Always ``n_accepted + n_rejected == n_read``.

    Notes
    -----
    A row is rejected, with the first reason that applies, for: an empty row; a NUL byte in any
    field; more fields than the header (``"5 fields, header has 3"``); an id that is a totals
    label (``summary row``: 合计, 总计, 小计, Total, Sum, Grand total …); a missing
    ``customer_id``, ``date`` or ``amount``; an unparseable or out-of-range date; an
    unparseable, non-finite (``inf``) or out-of-range (|x| >= 1e15) amount; a currency other
    than the column's (``mixed currency``); the same checks for ``quantity``/``profit`` (empty
    allowed) and ``due_date``/``paid_date`` (empty allowed: NaT). Zero amounts and exact
    duplicate rows are kept and counted in :meth:`TransactionLog.summary`. Missing values are
    empty fields and the tokens ``NA``, ``N/A``, ``NaN``, ``null``, ``None``. Ids are
    normalized to Unicode NFC with zero-width characters removed (``Zoë`` typed either way is
    one customer); ``log.ids_normalized`` counts the ids that changed.

    Raises
    ------
    DataError
        Missing required column, unreadable file (binary, old Excel format, wrong delimiter,
        undetectable encoding, over-long line, every row longer than the header, empty, header
        only), or zero accepted rows. The message names the file, the problem and the fix.
        Use :meth:`TransactionLog.check_rejected_share` to stop on mostly rejected input.

    R equivalent: ``readr::read_csv(path, col_types = readr::cols(.default = "c"))`` followed by
    explicit parsing and ``readr::problems()`` (which lists unparseable cells by row).

    Examples
    --------
    >>> log = read_transactions("sales.csv", columns={"cust": "customer_id", "value": "amount"})
    >>> print(log.summary())
    """
    shown = "<DataFrame>" if isinstance(source, pd.DataFrame) else str(source)
    decimal = check_decimal(decimal, shown)
    window = check_window(date_range, shown)
    raw = _read_raw(
        source,
        encoding=encoding,
        sep=sep,
        sheet=sheet,
        kind="transaction log",
        max_line_bytes=max_line_bytes,
    )
    return validate_transactions(
        raw, columns=columns, date_format=date_format, decimal=decimal, window=window
    )


def validate_transactions(
    raw: RawTable, *, columns=None, date_format=None, decimal=".", window
) -> TransactionLog:
    """Map and validate a :class:`~crmresearch.data.reading.RawTable` (the second half of
    :func:`read_transactions`; loaders of bundled files with their own reader call it)."""
    frame_raw, name = raw.frame, raw.name
    n_read = len(frame_raw)
    mapping, ignored = _map_columns(
        frame_raw.columns, columns, name, canonical=CANONICAL_COLUMNS, required=REQUIRED_COLUMNS
    )
    canon = {target: frame_raw[src] for src, target in mapping.items()}
    # trim each text column once; every check below reuses it
    texts = {c: _arrow_text(s) for c, s in canon.items() if _is_textlike(s)}
    ids_changed = 0
    if "customer_id" in texts:
        texts["customer_id"], ids_changed = _normalize_ids(texts["customer_id"])
    missing = {c: _missing_mask(s, texts.get(c)) for c, s in canon.items()}
    checks = _reading_checks(raw, missing["customer_id"], texts.get("customer_id"))
    checks += [
        ("missing customer_id", missing["customer_id"]),
        ("missing date", missing["date"]),
        ("missing amount", missing["amount"]),
    ]
    parsed = {"customer_id": _parse_ids(canon["customer_id"], texts.get("customer_id"))}
    date_checks, hint = _date_checks(canon, texts, missing, parsed, date_format, raw.excel, window)
    number_checks, currency = _number_checks(canon, texts, missing, parsed, decimal)
    checks += date_checks[:2] + number_checks + date_checks[2:]

    checks = [(reason, mask) for reason, mask in checks if mask.any()]  # skip empty checks
    code = _first_reason(checks, n_read)
    accepted = code < 0
    if currency is not None:  # one currency per column: the majority among accepted rows
        code, accepted, currency = _currency_check(checks, code, currency)
    for col in _TEXT_OPTIONAL:
        if col in canon:
            parsed[col] = _parse_text(canon[col], missing[col], texts.get(col))
    frame = pd.DataFrame({c: parsed[c] for c in CANONICAL_COLUMNS if c in parsed}, copy=False)
    if not accepted.all():  # no copy of a clean log
        frame = frame.loc[accepted].reset_index(drop=True)
    numbering = row_numbering(excel=raw.excel, text=raw.encoding is not None)
    rejected = _rejected_frame(frame_raw, code, checks, first_row=raw.first_row)
    if len(frame) == 0:
        raise DataError(
            f"{name}: no row was accepted ({n_read:,} read, all rejected: "
            f"{_reason_text(rejected)}; first rejected rows: {_first_rows(rejected, numbering=numbering)}). "
            f"Fix: {fix_for(rejected, hint)}"
        )
    return TransactionLog(
        frame,
        rejected,
        source=name,
        n_read=n_read,
        ignored_columns=ignored,
        encoding=raw.encoding,
        encoding_how=raw.encoding_how,
        sheet=raw.sheet,
        currency=currency,
        ids_normalized=ids_changed,
        date_format_hint=hint,
    )


def _reading_checks(raw: RawTable, id_missing, id_text) -> list[Check]:
    """Checks that concern the row as read: empty, NUL bytes, too many fields, totals label."""
    n = len(raw.frame)
    checks: list[Check] = [("empty row", _empty_row_mask(raw.frame, id_missing))]
    if raw.has_nul:
        checks.append(("NUL byte", _nul_mask(raw.frame)))
    by_reason: dict[str, list[int]] = {}
    for row, reason in raw.problems.items():
        by_reason.setdefault(reason, []).append(row)
    for reason, rows in sorted(by_reason.items()):
        mask = np.zeros(n, dtype=bool)
        mask[rows] = True
        checks.append((reason, mask))
    if id_text is not None:
        checks.append(("summary row", _summary_mask(id_text)))
    return checks


def _date_checks(canon, texts, missing, parsed, date_format, excel, window):
    """``(checks, date_format_hint)``; the first two checks are the ``date`` column's."""
    checks: list[Check] = []
    hint = None
    for col in ("date",) + _DATE_OPTIONAL:
        if col not in canon:
            continue
        dates, out = _parse_dates_window(
            canon[col], date_format, missing[col], texts.get(col), excel=excel, window=window
        )
        bad = ~missing[col] & ~out & dates.isna().to_numpy()
        label = "date" if col == "date" else col
        checks.append((f"unparseable {label}", bad))
        checks.append((f"{label} out of range", out))
        parsed[col] = dates
        if col == "date" and bad.any() and col in texts:
            values = texts[col].filter(pa.array(bad)).unique().to_pylist()[:10_000]
            hint = suggest_date_format(values)
    return checks, hint


def _number_checks(canon, texts, missing, parsed, decimal):
    """``(checks, amount currency per row or None)``."""
    checks: list[Check] = []
    currency = None
    for col in ("amount",) + _NUMERIC_OPTIONAL:
        if col not in canon:
            continue
        values, codes = _parse_numbers_currency(canon[col], missing[col], texts.get(col), decimal)
        v = values.to_numpy()
        finite = np.isfinite(v)
        if finite.all():  # the common case: two passes instead of six
            if np.abs(v).max(initial=0.0) >= MAX_ABS:
                checks.append((f"{col} out of range", np.abs(v) >= MAX_ABS))
        else:
            with np.errstate(invalid="ignore"):
                huge = finite & (np.abs(v) >= MAX_ABS)
            checks.append((f"unparseable {col}", ~missing[col] & np.isnan(v)))
            checks.append((f"non-finite {col}", np.isinf(v)))
            checks.append((f"{col} out of range", huge))
        parsed[col] = values
        if col == "amount":
            currency = codes
    return checks, currency


def _currency_check(checks: list[Check], code, currency):
    """Reject accepted rows whose amount currency differs from the majority's."""
    accepted = code < 0
    major = majority_currency(currency, accepted)
    if major is None:
        return code, accepted, None
    other = accepted & (currency != None) & (currency != major)  # noqa: E711 - object array
    if other.any():
        checks.append(("mixed currency", other))
        code = code.copy()
        code[other] = len(checks) - 1
        accepted = code < 0
    return code, accepted, major
