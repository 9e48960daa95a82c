"""Reading one sheet of an ``.xlsx`` / ``.xlsm`` workbook through openpyxl.

Every cell becomes text in the same form a CSV export would have, so that one validation path
serves both: real Excel dates (cells with a date format) become ISO text
(``2024-01-05`` or ``2024-01-05T10:30:00``), integral numbers lose the ``.0`` that Excel adds,
other numbers keep full precision (``repr``), empty cells become ``""``. Date columns that hold
plain numbers are read as Excel serial dates (day 1 = 1900-01-01, Lotus leap-year bug kept) by
the date parser, which is told the source is Excel.

The header is the first row with at least two non-empty cells: rows above it holding a single
value (a report title such as "2024年销售明细", an export date) are titles, not data, and are not
counted. ``first_row`` is the Excel row number of the first data row, so rejected rows carry the
row numbers Excel shows. Empty rows at the end of the
sheet (formatting left behind) are not data and are not counted; empty rows between data rows are
read and rejected as ``empty row``.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd

from crmresearch.data.mapping import unique_column_names
from crmresearch.errors import DataError


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def read_excel(path: Path, name: str, sheet, kind: str):
    """``(frame of text, sheet title, Excel row number of the first data row, problems)`` where
    ``problems`` maps a row position to the reason it is rejected before validation."""
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - declared dependency
        raise DataError(
            f"{name}: reading Excel needs openpyxl. Fix: pip install openpyxl, or export the "
            "sheet as CSV."
        ) from None
    handle = open(path, "rb")  # a file object: openpyxl would refuse a workbook named .csv
    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        handle.close()
        raise DataError(
            f"{name}: cannot open it as an Excel workbook ({type(exc).__name__}). Fix: open "
            "and save it again in Excel as .xlsx, or export the sheet as CSV UTF-8 or Parquet."
        ) from None
    try:
        ws = _pick_sheet(book, sheet, name)
        title = ws.title
        rows = ws.iter_rows(values_only=True)
        header, header_row, titles = None, 0, []
        for number, values in enumerate(rows, start=1):
            filled = sum(v is not None and str(v).strip() != "" for v in values)
            if filled >= 2:
                header, header_row = [_cell_text(v).strip() for v in values], number
                break
            if filled == 1:  # a title line above the table ("2024年销售明细")
                titles.append(number)
            if number >= 50 and titles:
                break
        if header is None:
            raise DataError(
                f"{name}: sheet {title!r} holds no table (no row with two or more filled cells), "
                f"so no data rows. Fix: pass the sheet that holds the {kind} (sheet=name or "
                f"0-based index; sheets: {', '.join(map(repr, book.sheetnames))})."
            )
        while header and header[-1] == "":  # formatted but unnamed columns right of the table
            header.pop()
        width = len(header)
        data, problems = [], {}
        for values in rows:
            texts = [_cell_text(v) for v in values[:width]]
            texts += [""] * (width - len(texts))
            used = [i for i, v in enumerate(values) if v is not None and str(v).strip() != ""]
            if used and used[-1] >= width:  # a value right of the named columns
                problems[len(data)] = f"{used[-1] + 1} fields, header has {width}"
            data.append(texts)
    finally:
        book.close()
        handle.close()
    while data and all(t == "" for t in data[-1]) and (len(data) - 1) not in problems:
        data.pop()
    header = unique_column_names(header)
    frame = pd.DataFrame(data, columns=header, dtype="str")
    if len(frame) == 0:
        raise DataError(
            f"{name}: sheet {title!r} has a header (row {header_row}) but no data rows. Fix: "
            f"pass the sheet with the {kind} rows."
        )
    return frame, title, header_row + 1, problems


def _pick_sheet(book, sheet, name: str):
    names = book.sheetnames
    shown = ", ".join(repr(s) for s in names)
    if sheet is None:
        return book[names[0]]
    if isinstance(sheet, bool):
        raise DataError(f"{name}: sheet must be a name or a 0-based index, got {sheet!r}.")
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise DataError(
                f"{name}: sheet index {sheet} is out of range; the workbook has {len(names)} "
                f"sheet(s): {shown}. Fix: pass a 0-based index or the sheet's name."
            )
        return book[names[sheet]]
    text = str(sheet)
    if text in names:
        return book[text]
    if text.strip().isdigit() and int(text) < len(names):  # "1" from the command line
        return book[names[int(text)]]
    raise DataError(
        f"{name}: no sheet named {text!r}; sheets: {shown}. Fix: pass one of these names "
        "(sheet=..., CLI --sheet) or a 0-based index."
    )
