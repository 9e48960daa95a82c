"""Reading a raw table: DataFrame, Parquet or delimited text (sniffed separator, encoding
checks, fast Arrow path with a forgiving pandas fallback). Every value stays text here;
parsing and validation happen in :mod:`crmresearch.data.transactions` / ``customers``."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa

from crmresearch.data.mapping import _quote_list
from crmresearch.errors import DataError

_EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_SNIFF_BYTES = 64 * 1024


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
