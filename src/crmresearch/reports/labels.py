"""Words of the reports that depend on the language: indicator labels with their units.

Indicator labels come from the indicator registry (``features.INDICATORS``: ``label_en`` and
``label_zh``); this module adds units and falls back to the indicator's name.
"""

from __future__ import annotations

from typing import Any

from crmresearch._format import fmt_money

__all__ = ["label", "label_with_unit", "set_currency", "currency", "money"]

#: The report's currency symbol (parameter ``currency``, set by ``begin()``; CDNOW: "$").
_CURRENCY = ["$"]


def set_currency(symbol: str) -> None:
    """Use ``symbol`` for money in this report (one report per kernel)."""
    _CURRENCY[0] = str(symbol)


def currency() -> str:
    """The report's currency symbol."""
    return _CURRENCY[0]


def money(x: Any, digits: int = 0) -> str:
    """Money with the report's currency: ``money(1234.5)`` → ``$1,235`` (or ``¥1,235``)."""
    return fmt_money(x, digits, symbol=currency())

_UNIT_WORDS = {"currency/order": "{currency} per order", "units/month": "units per month"}


def label(name: str, language: str = "en") -> str:
    """Indicator label in ``language`` ("en"/"zh") from ``features.INDICATORS``; else the name."""
    from crmresearch.features import INDICATORS

    ind = INDICATORS.get(name)
    if ind is None:
        return str(name)
    return ind.label_zh if language == "zh" and ind.label_zh else ind.label_en


def label_with_unit(name: str, language: str = "en", currency: str | None = None) -> str:
    """Indicator label with its unit from ``features.INDICATORS``: "Recency (days)".

    Ratios carry no unit; a unit the label already names ("Frequency (orders)") is not repeated;
    money is shown with ``currency`` (default: the report's, :func:`set_currency`).
    """
    from crmresearch.features import INDICATORS

    text = label(name, language)
    ind = INDICATORS.get(name)
    unit = getattr(ind, "unit", "") if ind is not None else ""
    if not unit or unit == "ratio" or unit.lower() in text.lower():
        return text
    symbol = currency if currency is not None else _CURRENCY[0]
    unit = symbol if unit == "currency" else _UNIT_WORDS.get(unit, unit).format(currency=symbol)
    if text.endswith(")"):  # "Monetary (net revenue)" → "Monetary (net revenue, $)"
        return f"{text[:-1]}, {unit})"
    return f"{text} ({unit})"
