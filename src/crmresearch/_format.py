"""Number and text formats shared by every ``summary()``, the CLI and the reports.

One place for how a number is printed: thousands separators, the minus sign (U+2212), a
non-breaking space before "%", money with its currency symbol, p-values in APA style and
Kaiser's words for a KMO value. Pure functions of plain values; nothing here imports analysis code.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = [
    "NBSP",
    "MINUS",
    "is_missing",
    "typeset",
    "signed",
    "fmt_int",
    "fmt_num",
    "fmt_money",
    "fmt_pct",
    "fmt_share",
    "fmt_p",
    "p_text",
    "p_equals",
    "kmo_label",
    "CURRENCY_SYMBOLS",
    "currency_symbol",
]

NBSP = "\u00a0"
MINUS = "\u2212"
DASH = "–"  # shown for a missing value
_PERCENT = re.compile(r"(\d) %")
_HYPHEN_MINUS = re.compile(r"(?<![\w.])-(?=[\d$¥€£])")


#: Symbol for the ISO code the reader found in the amounts (``TransactionLog.currency``).
CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def currency_symbol(given: str | None, log: Any = None) -> str:
    """The symbol money is printed with: ``given`` when set, else the symbol of the currency
    the log's amounts carried (``log.currency``: ¥ for 元/RMB/CNY), else "$"."""
    if given:
        return str(given)
    return CURRENCY_SYMBOLS.get(getattr(log, "currency", None) or "", "$")


def is_missing(x: Any) -> bool:
    """None, NaN or ``pd.NA`` (without importing pandas)."""
    if x is None:
        return True
    if type(x).__name__ == "NAType":
        return True
    try:
        return isinstance(x, float) and math.isnan(x) or (
            hasattr(x, "dtype") and bool(x != x)  # numpy NaN scalars
        )
    except (TypeError, ValueError):
        return False


def typeset(text: Any) -> str:
    """Report typography: a non-breaking space before "%" (66.1 % never breaks) and "−"
    (U+2212) for the minus sign of numbers (hyphens in dates and names are left alone)."""
    return _HYPHEN_MINUS.sub(MINUS, _PERCENT.sub("\\1" + NBSP + "%", str(text)))


def signed(x: Any, digits: int = 1) -> str:
    """A number with its sign always shown, minus as U+2212: ``+10.3``, ``−2.0``."""
    if is_missing(x):
        return DASH
    return f"{float(x) + 0.0:+.{digits}f}".replace("-", MINUS)


def fmt_int(x: Any) -> str:
    """An integer with thousands separators: ``23,570``."""
    return DASH if is_missing(x) else f"{int(round(float(x))):,}".replace("-", MINUS)


def fmt_num(x: Any, digits: int = 2) -> str:
    """A number rounded to ``digits`` with thousands separators; never ``-0.0``."""
    if is_missing(x):
        return DASH
    x = round(float(x), digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    return f"{x:,.{digits}f}".replace("-", MINUS)


def fmt_money(x: Any, digits: int = 0, symbol: str = "$") -> str:
    """Money with its currency symbol before the number: ``$1,234``, ``−¥88``."""
    if is_missing(x):
        return DASH
    x = float(x)
    sign = MINUS if x < 0 else ""
    return f"{sign}{symbol}{abs(x):,.{digits}f}"


def fmt_pct(x: Any, digits: int = 1) -> str:
    """A share (0.123) as a percentage (``12.3 %``)."""
    if is_missing(x):
        return DASH
    return f"{100 * float(x) + 0.0:.{digits}f}{NBSP}%".replace("-", MINUS)


def fmt_share(share: float, *, than: float | None = None) -> str:
    """A share of rows as a percentage that never hides a nonzero count: ``12.3 %``, ``0.4 %``;
    below 0.1 % two significant digits (``0.027 %``, ``0.0069 %``), never ``0.0 %`` for a share
    above 0. With ``than`` (the share it is compared with, e.g. ``max_rejected_share``) digits are
    added until the two read differently (``1.04 %`` vs ``1.0 %``, not ``1.0 %`` vs ``1.0 %``)."""
    share = float(share)
    digits = 1
    if 0 < abs(share) < 0.001:
        digits = 1 - math.floor(math.log10(abs(share) * 100))  # two significant digits
    if than is not None:
        while digits < 12 and fmt_pct(share, digits) == fmt_pct(than, digits) and share != than:
            digits += 1
    return fmt_pct(share, digits)


def fmt_p(p: Any) -> str:
    """A p-value the way journals print it: ``0.043``, ``< 0.001``; ``–`` when missing."""
    if is_missing(p):
        return DASH
    p = float(p)
    if not math.isfinite(p):
        return DASH
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_equals(p: Any) -> str:
    """What follows a "p": ``= 0.123`` or ``< 0.001``."""
    text = fmt_p(p)
    return text if text.startswith("<") or text == DASH else f"= {text}"


def p_text(p: Any) -> str:
    """``p < 0.001`` or ``p = 0.123`` (APA style; never ``p = < 0.001``); ``p = n/a`` when
    the p-value is missing or not finite."""
    if is_missing(p) or not math.isfinite(float(p)):
        return "p = n/a"
    return f"p {p_equals(p)}"


_KMO_WORDS = (
    (0.9, "marvelous"),
    (0.8, "meritorious"),
    (0.7, "middling"),
    (0.6, "mediocre"),
    (0.5, "miserable"),
)


def kmo_label(kmo: float) -> str:
    """Kaiser's (1974) words for a KMO / MSA value: marvelous (≥ 0.9), meritorious, middling,
    mediocre, miserable (≥ 0.5), unacceptable."""
    for cut, word in _KMO_WORDS:
        if kmo >= cut:
            return word
    return "unacceptable"
