"""Vectorized parsing and row accounting: text trimming, missing tokens, ids, numbers and
dates as Arrow/NumPy kernels (no per-row Python loops), duplicate counting and the
rejected-rows frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crmresearch.data.amounts import parse_numbers_text
from crmresearch.data.dates import default_window, parse_date_values
from crmresearch.data.schema import _DATE_OPTIONAL, _NA_TOKENS, _TEXT_OPTIONAL


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


def _parse_numbers(
    s: pd.Series, missing: np.ndarray, text: pa.Array | None = None, decimal: str = "."
) -> pd.Series:
    """float64 by the rule of :mod:`crmresearch.data.amounts`; missing or unparseable -> NaN
    (the caller tells them apart with ``missing``)."""
    return _parse_numbers_currency(s, missing, text, decimal)[0]


def _parse_numbers_currency(s, missing, text=None, decimal="."):
    """``(float64 Series, currency code per row or None)``."""
    s = s.reset_index(drop=True)
    if pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(np.full(len(s), np.nan), dtype="float64"), None
    if pd.api.types.is_numeric_dtype(s.dtype):
        return s.astype("float64"), None
    text = _null_where(_arrow_text(s) if text is None else text, missing)
    parsed = parse_numbers_text(text, decimal)
    return pd.Series(parsed.values, dtype="float64"), parsed.currency


def _parse_dates(
    s: pd.Series,
    date_format: str | None,
    missing: np.ndarray,
    text: pa.Array | None = None,
    *,
    excel: bool = False,
    window=None,
) -> pd.Series:
    """datetime64[ns] at day precision; missing, unparseable or out of the window -> NaT."""
    return _parse_dates_window(s, date_format, missing, text, excel=excel, window=window)[0]


def _parse_dates_window(s, date_format, missing, text=None, *, excel=False, window=None):
    """``(dates, out_of_range mask)`` by the rule of :mod:`crmresearch.data.dates`."""
    if text is None and _is_textlike(s):
        text = _arrow_text(s)
    return parse_date_values(
        s, date_format, missing, text, excel=excel, window=window or default_window()
    )


# Zero-width characters removed from ids: ZWSP, ZWNJ, ZWJ, word joiner, BOM / ZWNBSP.
_ZERO_WIDTH = "[\u200b\u200c\u200d\u2060\ufeff]"


def _normalize_ids(text: pa.Array) -> tuple[pa.Array, int]:
    """Ids in Unicode NFC with zero-width characters removed (then trimmed again); also the
    number of distinct ids that changed. ASCII-only columns are returned as they are."""
    if len(text) == 0 or pc.all(pc.fill_null(pc.string_is_ascii(text), True)).as_py():
        return text, 0
    out = pc.utf8_trim_whitespace(
        pc.replace_substring_regex(pc.utf8_normalize(text, "NFC"), _ZERO_WIDTH, "")
    )
    changed = _to_bool(pc.not_equal(text, out))
    n_changed = len(pc.unique(pc.filter(text, pa.array(changed)))) if changed.any() else 0
    return out, int(n_changed)


#: Id values that mark a totals line of a report, not a customer (case and a colon ignored).
SUMMARY_IDS = (
    "合计", "合計", "总计", "總計", "小计", "小計", "共计", "共計", "汇总", "匯總", "总和", "總和",
    "total", "totals", "grand total", "subtotal", "sub-total", "sub total", "sum", "summe",
)  # fmt: skip
_SUMMARY_RE = "^(?:" + "|".join(x.replace(" ", "\\s*") for x in SUMMARY_IDS) + ")\\s*[:：]?$"


_SUMMARY_FIRST = sorted({x[0] for x in SUMMARY_IDS} | {x[0].upper() for x in SUMMARY_IDS})


def _summary_mask(text: pa.Array) -> np.ndarray:
    """Rows whose id is a totals label (合计, 总计, 小计, Total, Sum, Grand total, ...).

    Only ids starting with a label's first character go through the regular expression (a
    third of the cost on 1 M ids)."""
    first = pc.utf8_slice_codeunits(text, 0, 1)
    candidates = _to_bool(pc.is_in(first, value_set=pa.array(_SUMMARY_FIRST, first.type)))
    if not candidates.any():
        return candidates
    rows = np.flatnonzero(candidates)
    hit = _to_bool(
        pc.match_substring_regex(pc.take(text, pa.array(rows)), _SUMMARY_RE, ignore_case=True)
    )
    out = np.zeros(len(text), dtype=bool)
    out[rows[hit]] = True
    return out


def _nul_mask(raw: pd.DataFrame) -> np.ndarray:
    """Rows with a NUL byte in any text field."""
    mask = np.zeros(len(raw), dtype=bool)
    for col in raw.columns:
        s = raw[col]
        if _is_textlike(s):
            mask |= _to_bool(pc.match_substring(_arrow_text(s), "\x00"))
    return mask


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


def _rejected_frame(
    raw: pd.DataFrame, code: np.ndarray, checks, first_row: int = 1
) -> pd.DataFrame:
    rows = np.flatnonzero(code >= 0)
    labels = np.array([name for name, _ in checks], dtype=object)
    values = raw.iloc[rows].reset_index(drop=True)
    values.columns = [c if c not in ("row", "reason") else f"raw_{c}" for c in values.columns]
    out = pd.DataFrame(
        {
            "row": (rows + first_row).astype("int64"),
            "reason": pd.Series(labels[code[rows]], dtype="str"),
        }
    )
    return pd.concat([out, values], axis=1)


def _reason_text(rejected: pd.DataFrame) -> str:
    counts = rejected["reason"].value_counts()
    return ", ".join(f"{reason} {count:,}" for reason, count in counts.items())


def row_numbering(*, excel: bool, text: bool) -> str:
    """What the ``row`` numbers of rejected rows count, said where they are printed: an Excel
    sheet's row numbers are the sheet's; a text file's data rows do not count the header."""
    if excel:
        return "sheet rows, as Excel numbers them"
    if text:
        return "data rows, header not counted: the file's line is one more"
    return "row positions, 1 = the first row"


def _first_rows(rejected: pd.DataFrame, k: int = 5, *, numbering: str = "") -> str:
    rows = ", ".join(str(r) for r in rejected["row"].head(k))
    return f"{rows} [row numbers: {numbering}]" if numbering else rows


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
