"""Reading a raw table: DataFrame, Parquet, Excel (``.xlsx``) or delimited text.

Every value stays raw (text for files) here; parsing and validation happen in
:mod:`crmresearch.data.transactions` / ``customers``. For delimited text:

1. a bounded-memory scan (:mod:`.scan`) refuses over-long lines and notes NUL bytes;
2. the separator is sniffed from the header line unless given;
3. a clean UTF-8 file goes through Arrow's multi-threaded reader; anything odd (other encodings,
   blank or ragged rows, quoted newlines) through the pandas C reader with the same row numbers;
4. a file that is not valid UTF-8 is decoded with the encoding chosen by :mod:`.encoding`;
5. the header is read as row 0 (never an inferred index column); a row with more fields than the
   header is kept in place and rejected with ``"5 fields, header has 3"``; when *every* data row
   is longer the file is refused with the cause (trailing delimiter or a missing header name).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from crmresearch.data.encoding import bom_encoding, detect_encoding, first_undecodable
from crmresearch.data.mapping import _quote_list, _short, unique_column_names
from crmresearch.data.scan import MAX_LINE_BYTES, scan_text
from crmresearch.errors import DataError

_EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_OLD_EXCEL_SUFFIXES = (".xls", ".xlsb", ".ods")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip")
_SNIFF_BYTES = 64 * 1024
_UTF8_NAMES = ("utf-8", "utf8", "utf-8-sig", "utf_8", "utf_8_sig")


@dataclass
class RawTable:
    """A table as read, before validation.

    ``first_row`` is the number shown for the first data row (1 for text files: data rows are
    counted without the header; the Excel row number for a sheet). ``problems`` maps a row
    position to a reason found while reading (too many fields). ``has_nul`` is False only when
    the reader knows no value holds a NUL byte.
    """

    frame: pd.DataFrame
    name: str
    encoding: str | None = None
    encoding_how: str | None = None
    sheet: str | None = None
    first_row: int = 1
    excel: bool = False
    problems: dict[int, str] = field(default_factory=dict)
    has_nul: bool = True


def _read_raw(
    source, *, encoding, sep, kind, sheet=None, max_line_bytes=MAX_LINE_BYTES
) -> RawTable:
    """Read ``source`` into a :class:`RawTable`. Raises DataError for unusable files."""
    if isinstance(source, pd.DataFrame):
        return RawTable(_frame_source(source, kind), "<DataFrame>")
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(
            f"cannot read a {kind} from a {type(source).__name__}. Fix: pass a file path (CSV, "
            "Excel .xlsx, Parquet, delimited text) or a pandas DataFrame."
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
    if suffix in _EXCEL_SUFFIXES or (head.startswith(b"PK\x03\x04") and _is_xlsx(path)):
        from crmresearch.data.excel import read_excel

        frame, title, first_row, problems = read_excel(path, name, sheet, kind)
        return RawTable(
            frame, name, sheet=title, first_row=first_row, excel=True, problems=problems
        )
    if suffix in _OLD_EXCEL_SUFFIXES or head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        what = "a ZIP archive" if head.startswith(b"PK\x03\x04") else "an old-format Excel workbook"
        if suffix in _OLD_EXCEL_SUFFIXES:
            what = f"a {suffix} workbook"
        raise DataError(
            f"{name}: this is {what}, which is not read directly. Fix: save the sheet as .xlsx "
            "(File > Save As > Excel Workbook) or export it as CSV UTF-8 or Parquet."
        )
    if suffix in _PARQUET_SUFFIXES or head.startswith(b"PAR1"):
        return RawTable(_read_parquet(path, name, kind), name)
    return _read_text(
        path,
        name,
        head,
        suffix,
        encoding=encoding,
        sep=sep,
        kind=kind,
        max_line_bytes=max_line_bytes,
    )


def _frame_source(source: pd.DataFrame, kind: str) -> pd.DataFrame:
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
    return raw


def _is_xlsx(path: Path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            return "xl/workbook.xml" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _opener(suffix: str):
    import bz2
    import gzip
    import lzma

    return {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(suffix)


def _read_text(path, name, head, suffix, *, encoding, sep, kind, max_line_bytes) -> RawTable:
    opener = _opener(suffix)
    if suffix in _COMPRESSED and opener is None:
        raise DataError(
            f"{name}: {suffix} compressed text is not read directly. Fix: decompress it, or "
            "compress it with gzip (.gz), bzip2 (.bz2) or xz (.xz)."
        )
    if opener is not None:
        try:
            with opener(path, "rb") as fh:
                head = fh.read(_SNIFF_BYTES)
        except (OSError, EOFError) as exc:
            raise DataError(
                f"{name}: cannot decompress it ({_one_line(exc)}). Fix: compress the file again."
            ) from None
    if not head.strip():
        raise DataError(
            f"{name}: the file is empty. Fix: export the {kind} again; it needs a header line "
            "and at least one data row."
        )
    given = encoding is not None
    if given:
        _check_codec(encoding, name)
    bom = bom_encoding(head)
    utf16 = (encoding or bom or "").lower().replace("_", "-").startswith("utf-16")
    if not utf16 and _looks_binary(head):
        raise DataError(
            f"{name}: the file is binary (NUL or control bytes), not delimited text"
            f"{' (suffix ' + suffix + ')' if suffix else ''}. Fix: pass a CSV, delimited "
            "text, Excel .xlsx or Parquet file."
        )
    scan = scan_text(path, name, max_line_bytes=max_line_bytes, opener=opener, utf16=utf16)
    how = "given" if given else ("byte-order mark" if bom else "default")
    codec = encoding if given else (bom or "utf-8")
    header_line = _first_line(head, codec)
    if sep is None:
        sep = _sniff_sep(header_line)
    raw = None
    if opener is None and len(sep) == 1 and codec.lower() in _UTF8_NAMES and not scan.has_nul:
        raw = _read_csv_arrow(path, sep, header_line)
    problems: dict[int, str] = {}
    if raw is None:
        try:
            raw, problems = _read_delimited(path, name, sep, codec)
        except UnicodeDecodeError:
            if given:
                line, byte = first_undecodable(path, codec, opener) or (1, b"")
                raise DataError(
                    f"{name}: the file is not valid {encoding} (first bad byte {byte!r} on line "
                    f"{line:,}, header = line 1). Fix: pass the file's encoding (encoding=..., "
                    "CLI --encoding) or leave it out to detect it."
                ) from None
            codec, how = detect_encoding(path, name, head, opener)
            raw, problems = _read_delimited(path, name, sep, codec)
    _check_shape(raw, name, sep, kind)
    return RawTable(
        raw,
        name,
        encoding=_codec_name(codec),
        encoding_how=how,
        problems=problems,
        has_nul=scan.has_nul,
    )


def _check_codec(encoding: str, name: str) -> None:
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(
            f"{name}: unknown encoding {encoding!r}. Fix: pass a valid encoding such as "
            "'utf-8', 'gb18030', 'big5', 'utf-16' or 'cp1252', or leave it out to detect it."
        ) from None


def _codec_name(codec: str) -> str:
    import codecs

    name = codecs.lookup(codec).name
    return {"utf-8-sig": "utf-8-sig", "utf-8": "utf-8"}.get(name, name)


_EXTRA_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _read_delimited(path: Path, name: str, sep: str, codec: str):
    """pandas reader, header as row 0: ``(frame with named columns, {row: problem})``."""
    options = dict(
        sep=sep,
        header=None,
        dtype=str,
        keep_default_na=False,
        skip_blank_lines=False,
        index_col=False,
        encoding="utf-8-sig" if codec.lower() in ("utf-8", "utf8", "utf_8") else codec,
    )
    engine = "c" if sep == r"\s+" or len(sep) == 1 else "python"
    try:
        table = pd.read_csv(path, engine=engine, **options)
        problems: dict[int, str] = {}
        trailing = False
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{name}: the file is empty. Fix: export it again with a header line and data rows."
        ) from None
    except (pd.errors.ParserError, csv.Error) as exc:
        if not _EXTRA_FIELDS.search(str(exc)):
            raise _split_error(name, sep, exc) from None
        try:
            table, problems, trailing = _read_ragged(path, name, sep, options)
        except (pd.errors.ParserError, csv.Error) as exc2:
            raise _split_error(name, sep, exc2) from None
    header = [str(v).strip() if not pd.isna(v) else "" for v in table.iloc[0]]
    frame = table.iloc[1:].reset_index(drop=True)
    frame.columns = unique_column_names(header)
    if problems:
        _refuse_if_every_row_is_longer(frame, problems, trailing, len(header), name, sep)
    return frame, problems


def _split_error(name: str, sep: str, exc: BaseException) -> DataError:
    return DataError(
        f"{name}: cannot split the file into columns with sep={sep!r}: "
        f"{_short(_one_line(exc), 200)}. Fix: pass the right delimiter (sep=..., CLI --sep) or "
        "quote fields that contain it (and close every quote)."
    )


def _read_ragged(path, name, sep, options):
    """Rows with more fields than the header: kept in place (their first fields), each with the
    reason ``"<n> fields, header has <width>"``. Returns ``(table, problems, trailing)`` where
    ``trailing`` says every extra field was empty (a trailing delimiter)."""
    width = pd.read_csv(path, nrows=1, engine="python", **options).shape[1]
    extra: list[list[str]] = []

    def keep(fields: list[str]) -> list[str]:
        extra.append(list(fields))
        return list(fields[: width - 1]) + [_MARK]

    table = pd.read_csv(path, engine="python", names=range(width), on_bad_lines=keep, **options)
    table = table.fillna("")
    rows = [int(i) for i in (table[width - 1] == _MARK).to_numpy().nonzero()[0]]
    if len(rows) != len(extra):  # pragma: no cover - pandas changed its bad-line protocol
        raise DataError(f"{name}: rows with more fields than the header could not be located.")
    problems = {}
    for i, fields in zip(rows, extra, strict=True):
        table.iat[i, width - 1] = fields[width - 1]
        problems[i - 1] = f"{len(fields)} fields, header has {width}"  # row 0 is the header
    trailing = all(not str(f).strip() for fields in extra for f in fields[width:])
    return table, problems, trailing


_MARK = "\x00crmresearch:extra-fields\x00"


def _refuse_if_every_row_is_longer(frame, problems, trailing, width, name, sep):
    """Refuse the file when every non-blank data row is longer than the header: the columns
    would shift (pandas would even make the first one an index)."""
    blank = frame.apply(lambda c: c.astype(str).str.strip().eq("")).all(axis=1).to_numpy()
    data_rows = [i for i in range(len(frame)) if not blank[i] or i in problems]
    if not data_rows or not all(i in problems for i in data_rows):
        return
    fields = problems[data_rows[0]].split(" ")[0]
    if trailing:
        cause = (
            "every data row ends with one more (empty) field than the header names: a trailing "
            f"delimiter {sep!r} at the end of each data line"
        )
        fix = (
            "remove the trailing delimiter from the data lines (or end the header line with it too)"
        )
    else:
        cause = (
            f"every data row has more fields ({fields}) than the header names ({width}): the "
            "header lacks a column name (often an unnamed index column written first)"
        )
        fix = (
            "add the missing name(s) to the header line, or export the file again without the index"
        )
    raise DataError(f"{name}: {cause}. Nothing was read, so that no column shifts. Fix: {fix}.")


def _check_shape(raw: pd.DataFrame, name: str, sep: str, kind: str) -> None:
    raw.columns = [str(c).strip() for c in raw.columns]
    if len(raw.columns) == 1:
        only = raw.columns[0]
        found = [d for d in (",", ";", "\t", "|") if d in only]
        if found or " " in only.strip():
            better = found[0] if found else r"\s+"
            raise DataError(
                f"{name}: only one column was found ({_short(only, 60)!r}) with sep={sep!r}; the "
                f"header looks {_sep_name(better)}-separated. Fix: pass sep={better!r} (CLI: "
                f"--sep '{better}')."
            )
    if len(raw) == 0:
        raise DataError(
            f"{name}: the file has a header ({_quote_list(raw.columns)}) but no data rows. "
            f"Fix: export the {kind} again including its rows."
        )


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
            f"{name}: cannot read it as Parquet ({_short(_one_line(exc), 200)}). Fix: write the "
            "file again (e.g. DataFrame.to_parquet) or export CSV."
        ) from None
    raw = raw.reset_index(drop=True)
    raw.columns = [str(c).strip() for c in raw.columns]
    if len(raw) == 0:
        raise DataError(
            f"{name}: the Parquet file has columns ({_quote_list(raw.columns)}) but no rows. "
            f"Fix: write the {kind} again including its rows."
        )
    return raw


def _first_line(head: bytes, encoding: str | None) -> str:
    """The header line, for sniffing the separator only (undecodable bytes replaced)."""
    try:
        text = head.decode(encoding or "utf-8-sig", errors="replace")
    except LookupError:
        text = head.decode("latin-1")
    return text.lstrip("\ufeff").split("\n", 1)[0]


def _sniff_sep(header: str) -> str:
    for candidate in ("\t", ",", ";", "|"):
        if candidate in header:
            return candidate
    return r"\s+"


def _sep_name(sep: str) -> str:
    return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", r"\s+": "whitespace"}.get(
        sep, repr(sep)
    )


def _looks_binary(head: bytes) -> bool:
    """More than 1 % NUL or control bytes other than tab/newline/CR/FF: not text.

    A few NUL bytes in a text file do not make it binary: their rows are rejected one by one.
    """
    control = sum(head.count(bytes([b])) for b in range(32) if b not in (8, 9, 10, 12, 13, 27))
    return control > 0.01 * len(head)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
