"""Parsing money and other numbers written the way exports write them — one rule.

**The rule** (``decimal="."``, the default; after trimming spaces):

``[sign] [(] [currency] number [currency] [)]``

* *number*: digits with an optional decimal part (``1234``, ``1234.5``, ``.5``), or digits grouped
  by three with ``,`` as thousands separator (``1,234,567.50``); scientific notation (``1e3``)
  only without separators. With ``decimal=","`` the decimal mark is ``,`` and the thousands
  separator is ``.``, a space, a no-break space or ``'`` (``1.234,50``, ``1 234,50``).
* *sign*: ``-``, ``+`` or ``−`` (U+2212) before everything, or right after a leading currency
  marker (``¥-1,234.50``, the negative currency format of Chinese-locale Excel); **or** the whole
  value in parentheses (accounting negative: ``(1,234.50)`` = −1234.5) — one of these only.
* *currency*: at most one marker, before or after the number (spaces allowed between):
  ``¥ ￥ $ € £ RMB CNY USD EUR GBP`` (words in any case), ``US$`` only before, ``元`` only
  after. ``¥ ￥ 元 RMB CNY`` all mean CNY, ``$ US$ USD`` USD, ``€ EUR`` EUR, ``£ GBP`` GBP.

Anything else is rejected as ``unparseable <column>`` (e.g. ``1,5`` with the default decimal mark,
``12abc``, ``1,23,456``, ``$5 USD``, ``-(5)``). A column may use one currency: rows in another
currency than the column's most frequent one are rejected as ``mixed currency``. A value whose
magnitude is 1e15 or more is rejected as ``<column> out of range`` (sums of such values could
overflow; no CRM line is worth a quadrillion), ``inf`` as ``non-finite <column>``.

Vectorized: plain numbers go through Arrow's cast; only the other values are matched with one
RE2 expression in Arrow's kernels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: Largest accepted magnitude (exclusive) of an amount, quantity or profit.
MAX_ABS = 1e15

CURRENCY_CODES = {
    "¥": "CNY", "￥": "CNY", "元": "CNY", "rmb": "CNY", "cny": "CNY",
    "$": "USD", "us$": "USD", "usd": "USD",
    "€": "EUR", "eur": "EUR",
    "£": "GBP", "gbp": "GBP",
}  # fmt: skip

_WORDS = "(?i:rmb|cny|usd|eur|gbp)"
_BEFORE = rf"(?P<cur1>(?i:us\$)|\$|¥|￥|€|£|{_WORDS})?"
_AFTER = rf"(?P<cur2>元|\$|¥|￥|€|£|{_WORDS})?"
_NUM = {
    ".": r"(?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?P<exp>[eE][+-]?\d+)?",
    ",": r"(?P<num>(?:\d{1,3}(?:[. \x{a0}\x{202f}']\d{3})+|\d+)(?:,\d*)?|,\d+)(?P<exp>[eE][+-]?\d+)?",
}
_THOUSANDS = {".": ",", ",": r"[. \x{a0}\x{202f}']"}
# What Arrow's string->double cast accepts; used to split plain numbers from the rest.
_PLAIN_RE = r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$"


def _pattern(decimal: str) -> str:
    return (
        rf"^(?P<sign>[-+−]?)\s*(?P<open>\(?)\s*{_BEFORE}\s*(?P<sign2>[-+−]?)\s*{_NUM[decimal]}"
        rf"\s*{_AFTER}\s*"
        r"(?P<close>\)?)$"
    )


@dataclass(frozen=True)
class ParsedNumbers:
    """``values`` float64 (NaN = missing or unparseable); ``currency`` per row (ISO code or
    None) when any value carried a currency marker, else None."""

    values: np.ndarray
    currency: np.ndarray | None


def check_decimal(decimal: str, name: str) -> str:
    from crmresearch.errors import DataError

    if decimal not in _NUM:
        raise DataError(
            f"{name}: decimal must be '.' or ',', got {decimal!r}. Fix: pass decimal=',' for "
            "amounts like 1.234,50 (the default '.' reads 1,234.50)."
        )
    return decimal


def parse_numbers_text(text: pa.Array, decimal: str = ".") -> ParsedNumbers:
    """Parse trimmed text (nulls = missing) by the module's rule."""
    if decimal == ".":
        try:
            values = pc.cast(text, pa.float64())
            return ParsedNumbers(_numpy(values), None)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        plain = _to_bool(pc.match_substring_regex(text, _PLAIN_RE, ignore_case=True))
    else:
        plain = np.zeros(len(text), dtype=bool)
    out = np.full(len(text), np.nan)
    if plain.any():
        out[plain] = _numpy(pc.cast(pc.filter(text, pa.array(plain)), pa.float64()))
    rest_idx = np.flatnonzero(~plain & ~_to_bool(pc.is_null(text)))
    currency = None
    if len(rest_idx):
        rest = pc.take(text, pa.array(rest_idx))
        values, codes = _parse_formatted(rest, decimal)
        out[rest_idx] = values
        if codes is not None:
            currency = np.full(len(text), None, dtype=object)
            currency[rest_idx] = codes
    return ParsedNumbers(out, currency)


def _parse_formatted(text: pa.Array, decimal: str) -> tuple[np.ndarray, np.ndarray | None]:
    m = pc.extract_regex(text, _pattern(decimal))
    matched = ~_to_bool(pc.is_null(m))
    field = {
        n: pc.fill_null(pc.struct_field(m, n), "")
        for n in ("sign", "open", "cur1", "sign2", "num", "exp", "cur2", "close")
    }
    opened = _to_bool(pc.equal(field["open"], "("))
    closed = _to_bool(pc.equal(field["close"], ")"))
    signed = _to_bool(pc.not_equal(field["sign"], ""))
    signed2 = _to_bool(pc.not_equal(field["sign2"], ""))
    has1 = _to_bool(pc.not_equal(field["cur1"], ""))
    has2 = _to_bool(pc.not_equal(field["cur2"], ""))
    grouped = _to_bool(pc.match_substring_regex(field["num"], _THOUSANDS[decimal]))
    has_exp = _to_bool(pc.not_equal(field["exp"], ""))
    ok = (
        matched & (opened == closed) & ~(signed & opened) & ~(has1 & has2) & ~(grouped & has_exp)
        # a sign after the currency only when a currency leads, and one sign only
        & ~(signed2 & ~has1) & ~(signed2 & (signed | opened))
    )
    digits = pc.replace_substring_regex(field["num"], _THOUSANDS[decimal], "")
    if decimal == ",":
        digits = pc.replace_substring(digits, ",", ".")
    digits = pc.binary_join_element_wise(digits, field["exp"], pa.scalar("", digits.type))
    digits = pc.if_else(pa.array(ok), digits, pa.scalar(None, digits.type))
    values = _numpy(pc.cast(digits, pa.float64()))
    minus = pa.array(["-", "−"])
    negative = (
        _to_bool(pc.is_in(field["sign"], value_set=minus))
        | _to_bool(pc.is_in(field["sign2"], value_set=minus))
        | opened
    )
    values = np.where(negative, -values, values)
    codes = None
    if (ok & (has1 | has2)).any():
        marker = pc.utf8_lower(pc.if_else(pa.array(has1), field["cur1"], field["cur2"]))
        codes = np.array(
            [CURRENCY_CODES.get(x) if x else None for x in marker.to_pylist()], dtype=object
        )
        codes[~ok] = None
    return values, codes


def majority_currency(currency: np.ndarray | None, accepted: np.ndarray) -> str | None:
    """The most frequent currency among ``accepted`` rows (ties: alphabetical), or None."""
    if currency is None:
        return None
    present = currency[accepted & (currency != None)]  # noqa: E711 - object array
    if len(present) == 0:
        return None
    codes, counts = np.unique(present.astype(str), return_counts=True)
    return str(codes[np.argmax(counts)])


def _numpy(arr) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)


def _to_bool(arr) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)
