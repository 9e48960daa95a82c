"""Parsing dates the way exports write them — one rule, and a suggestion when it does not fit.

**Recognised without a format** (year first, so never ambiguous):

* ``YYYYMMDD`` (``20240105``);
* ``YYYY-M-D``, ``YYYY/M/D``, ``YYYY.M.D`` (one separator throughout; ``2024/1/5``,
  ``2024.01.05``), optionally followed by a time ``[ T]HH:MM[:SS[.fff]]`` and an offset;
* ``YYYY年M月D日`` (``2024年1月5日``, also with ``号`` or without the final ``日``), optionally
  followed by a time;
* any other ISO 8601 form pandas reads (``2024-01-05T10:30:00.5+08:00``);
* in an Excel sheet: real Excel dates, and plain numbers as Excel serial dates.

Anything else (``05/01/2024``, ``Jan 5, 2024``) needs ``date_format=``; the error then suggests a
format that fits the data (day first when a first field exceeds 12, month first when a second
field does, and says when the values cannot tell).

**Time zones — one rule for every source: the local calendar date of the timestamp.** A text
timestamp ``2024-01-05T23:30:00-05:00`` is dated 2024-01-05 (the date as written, the offset
ignored), and a time-zone-aware Parquet or DataFrame column is dated by its own wall clock
(``tz_localize(None)``), never converted to UTC. Times are then floored to the day.

**Plausible window**: a date before ``date_range[0]`` (default 1900-01-01) or after
``date_range[1]`` (default today + 1 year) is rejected as ``<column> out of range`` — also dates
that pandas cannot represent (before 1677 or after 2262), so no later step can overflow.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crmresearch.errors import DataError

_NS_PER_DAY = 86_400 * 10**9
_TIME = r"(?:[ T]?\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?)?"
# RE2 patterns (Arrow kernels); each captures year, month, day.
_FORMS = (
    r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$",
    r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})" + _TIME + "$",
    r"^(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号]?\s*" + _TIME + "$",
)
_OFFSET = re.compile(r"(?<=\d)(?:Z|[+-]\d{2}(?::?\d{2})?)$")
_SERIAL_RE2 = r"^\d{1,7}(?:\.\d+)?$"
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")


def default_window() -> tuple[pd.Timestamp, pd.Timestamp]:
    today = pd.Timestamp.today().normalize()
    return pd.Timestamp("1900-01-01"), today + pd.DateOffset(years=1)


def check_window(date_range, name: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``(first, last)`` accepted dates; ``None`` parts take the defaults."""
    lo, hi = default_window()
    if date_range is not None:
        try:
            first, last = date_range
        except (TypeError, ValueError):
            raise DataError(
                f"{name}: date_range must be a pair (first, last), e.g. ('2000-01-01', "
                f"'2030-12-31'); got {date_range!r}."
            ) from None
        try:
            lo = lo if first is None else pd.Timestamp(first)
            hi = hi if last is None else pd.Timestamp(last)
        except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
            raise DataError(
                f"{name}: date_range {date_range!r} is not a pair of ISO dates "
                "(YYYY-MM-DD) between 1678 and 2261."
            ) from None
    if not lo <= hi:
        raise DataError(f"{name}: date_range starts after it ends ({lo.date()} > {hi.date()}).")
    return lo.normalize(), hi.normalize()


def parse_date_values(
    s: pd.Series, date_format: str | None, missing: np.ndarray, text, *, excel: bool, window
) -> tuple[pd.Series, np.ndarray]:
    """``(dates, out_of_range)``: datetime64[ns] at day precision (NaT = missing, unparseable or
    out of range) and a mask of the values rejected for the window."""
    s = s.reset_index(drop=True)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)  # the local wall clock: the documented rule
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        days = s.to_numpy().astype("datetime64[D]")
    else:
        if pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_float_dtype(s.dtype):
            vals = s.astype("Float64").astype("str")
            text = pc.utf8_trim_whitespace(
                pa.array(vals.str.replace(r"\.0$", "", regex=True), pa.large_string())
            )
        encoded = pc.dictionary_encode(_null_where(text, missing))
        parsed = _parse_unique(encoded.dictionary, date_format, excel=excel)
        parsed = np.append(parsed, np.datetime64("NaT", "D"))  # index -1 (missing) -> NaT
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        days = parsed[codes]
    lo, hi = window
    present = ~np.isnat(days)
    out = present & (
        (days < np.datetime64(lo.date(), "D")) | (days > np.datetime64(hi.date(), "D"))
    )
    days = np.where(out, np.datetime64("NaT", "D"), days)
    return pd.Series(days.astype("datetime64[ns]")), out


def _parse_unique(values: pa.Array, date_format: str | None, *, excel: bool) -> np.ndarray:
    """Distinct text values -> datetime64[D]; NaT where unparseable. Years outside what
    datetime64[ns] holds come back as valid datetime64[D] values (and fail the window later)."""
    out = np.full(len(values), np.datetime64("NaT", "D"))
    if len(values) == 0:
        return out
    if date_format:
        return _with_format(pd.Series(values.to_pylist(), dtype=object), date_format)
    todo = np.ones(len(values), dtype=bool)
    for form in _FORMS:
        m = pc.extract_regex(values, form)
        hit = todo & _to_bool(pc.is_valid(m))
        if not hit.any():
            continue
        parts = [_ints(pc.fill_null(pc.struct_field(m, k), "0")) for k in ("y", "m", "d")]
        out[hit] = _ymd(*(p[hit] for p in parts))
        todo &= ~hit
    if excel and todo.any():
        serial = todo & _to_bool(pc.match_substring_regex(values, _SERIAL_RE2))
        if serial.any():
            n = np.floor(_numpy(pc.cast(pc.filter(values, pa.array(serial)), pa.float64())))
            n = n.astype(np.int64)
            days = _EXCEL_EPOCH + (n + (n < 61)).astype("timedelta64[D]")  # Lotus 1900 leap bug
            days[(n == 60) | (n < 1) | (n > 2958465)] = np.datetime64("NaT", "D")
            out[serial] = days
            todo &= ~serial
    rest = np.flatnonzero(todo)
    if len(rest):
        texts = pd.Series(pc.take(values, pa.array(rest)).to_pylist(), dtype=object)
        stripped = texts.str.replace(_OFFSET, "", regex=True)
        parsed = pd.to_datetime(stripped, format="ISO8601", errors="coerce")
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_localize(None)
        out[rest] = parsed.to_numpy().astype("datetime64[D]")
    return out


def _ints(arr) -> np.ndarray:
    return np.asarray(pc.cast(arr, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def _numpy(arr) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)


def _to_bool(arr) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _ymd(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Vectorized calendar dates; NaT for impossible ones (2020-02-30, month 13)."""
    ok = (m >= 1) & (m <= 12) & (d >= 1) & (y >= 1)
    months = np.where(ok, (y - 1970) * 12 + (m - 1), 0)
    start = months.astype("datetime64[M]").astype("datetime64[D]")
    length = ((months + 1).astype("datetime64[M]").astype("datetime64[D]") - start).astype(np.int64)
    ok &= d <= length
    out = start + np.where(ok, d - 1, 0).astype("timedelta64[D]")
    out[~ok] = np.datetime64("NaT", "D")
    return out


def _with_format(values: pd.Series, fmt: str) -> np.ndarray:
    import datetime as dt

    try:
        parsed = pd.to_datetime(values, format=fmt, errors="coerce")
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_localize(None)
        return parsed.to_numpy().astype("datetime64[D]")
    except (ValueError, TypeError):  # mixed offsets: each value by its own wall clock
        out = np.full(len(values), np.datetime64("NaT", "D"))
        for i, v in enumerate(values):
            try:
                out[i] = np.datetime64(dt.datetime.strptime(v, fmt).date(), "D")
            except (ValueError, TypeError):
                continue
        return out


def _null_where(text, mask):
    return pc.if_else(pa.array(mask), pa.scalar(None, text.type), text)


_DMY = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})\2(\d{2}|\d{4})(?:[ T](\d{1,2}):(\d{2})(:\d{2})?)?$")
_DAY_MON = re.compile(r"^(\d{1,2})[ -]([A-Za-z]{3,})\.?[ -,]*(\d{4})$")
_MON_DAY = re.compile(r"^([A-Za-z]{3,})\.? (\d{1,2}),? (\d{4})$")


def suggest_date_format(values) -> str | None:
    """A ``strptime`` format that fits the (unparseable) ``values``, or a sentence saying why
    none can be chosen; None when the values follow no common pattern."""
    values = [str(v).strip() for v in values if v is not None][:10_000]
    dmy = [m for v in values if (m := _DMY.match(v))]
    if dmy and len(dmy) >= 0.8 * len(values):
        sep = dmy[0].group(2)
        year = "%Y" if len(dmy[0].group(4)) == 4 else "%y"
        time = ""
        if dmy[0].group(5):
            time = " %H:%M:%S" if dmy[0].group(7) else " %H:%M"
        first_big = any(int(m.group(1)) > 12 for m in dmy)
        second_big = any(int(m.group(3)) > 12 for m in dmy)
        day_first = f"%d{sep}%m{sep}{year}{time}"
        month_first = f"%m{sep}%d{sep}{year}{time}"
        if first_big and not second_big:
            return f"date_format='{day_first}' (day first: some first fields exceed 12)"
        if second_big and not first_big:
            return f"date_format='{month_first}' (month first: some second fields exceed 12)"
        if not first_big and not second_big:
            return (
                f"date_format='{day_first}' or '{month_first}': no field exceeds 12, so the "
                "values cannot tell day-first from month-first; pick the one your system uses"
            )
        return None
    if values and all(_DAY_MON.match(v) for v in values[:100]):
        long = any(len(_DAY_MON.match(v).group(2)) > 3 for v in values[:100])
        return f"date_format='%d %{'B' if long else 'b'} %Y'"
    if values and all(_MON_DAY.match(v) for v in values[:100]):
        long = any(len(_MON_DAY.match(v).group(1)) > 3 for v in values[:100])
        comma = "," if "," in values[0] else ""
        return f"date_format='%{'B' if long else 'b'} %d{comma} %Y'"
    return None


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_iso_date(value, what: str = "date") -> pd.Timestamp:
    """A date given as a parameter or on the command line: ISO ``YYYY-MM-DD`` only.

    Unlike data values, a parameter has no other values to disambiguate it, so ``05.01.2024``
    or ``01/05/2024`` are refused (is it 5 January or 1 May?) instead of guessed. ``datetime``
    / ``date`` / ``Timestamp`` objects are accepted as they are (floored to the day).

    Raises
    ------
    DataError
        ``value`` is not an ISO date; the message names ``what`` and shows the ISO form when
        the value is year-first.
    """
    import datetime as dt

    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)) and not pd.isna(value):
        stamp = pd.Timestamp(value)
        return (stamp.tz_localize(None) if stamp.tzinfo else stamp).normalize()
    text = str(value).strip()
    m = _ISO_DATE.match(text)
    if m:
        day = _ymd(*(np.array([int(g)]) for g in m.groups()))[0]
        if not np.isnat(day):
            return pd.Timestamp(day)
        raise DataError(f"{what} = {text!r} is not a calendar date. Fix: give an existing date.")
    parsed = _parse_unique(pa.array([text]), None, excel=False)[0]
    if not np.isnat(parsed) and _DMY.match(text) is None:
        iso = str(parsed)
        raise DataError(
            f"{what} = {text!r} is not written as an ISO date. Fix: write {iso} (YYYY-MM-DD)."
        )
    raise DataError(
        f"{what} = {text!r} is not an ISO date (YYYY-MM-DD); forms such as 05.01.2024 or "
        "01/05/2024 are ambiguous (day first or month first?). Fix: write the date as YYYY-MM-DD, "
        "e.g. 2024-01-05."
    )
