"""Words of the reports that depend on the language: one message catalogue, indicator labels
with their units, the currency.

Every fixed text of a report (notebook narrative and headings, table captions, column and row
labels, notes, the appendix) is English in the code and translated by :func:`t` from one YAML
catalogue per language, ``i18n/<language>.yaml`` (``English text: translation``; ``{name}``
fields are filled after translation, so a sentence with numbers is one entry). Texts without a
translation stay English and are listed in the manifest (``untranslated``), never silently.
Indicator labels come from the indicator registry (``features.INDICATORS``: ``label_en`` and
``label_zh``).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from crmresearch._format import fmt_money

__all__ = [
    "LANGUAGES",
    "label",
    "label_with_unit",
    "set_currency",
    "currency",
    "money",
    "set_language",
    "language",
    "catalogue",
    "t",
    "t_known",
    "untranslated",
    "translate_markdown",
]

#: Report languages: English (the texts in the code) and those with a catalogue in ``i18n/``.
LANGUAGES = ("en", "zh")
I18N_DIR = Path(__file__).parent / "i18n"

_LANGUAGE = ["en"]
_WORD = re.compile(r"[A-Za-z]{3,}")
_UNTRANSLATED: dict[str, None] = {}


def set_language(lang: str) -> None:
    """Translate this report's texts into ``lang`` (one report per kernel)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r}: choose one of {', '.join(LANGUAGES)}")
    _LANGUAGE[0] = lang
    _UNTRANSLATED.clear()


def language() -> str:
    return _LANGUAGE[0]


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The message catalogue of ``lang``: English text → translation (empty for English)."""
    if lang == "en":
        return {}
    import yaml

    path = I18N_DIR / f"{lang}.yaml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return {_key(e["en"]): str(e[lang]).strip() for e in entries}


def _key(text: str) -> str:
    """Catalogue key: the English text, stripped, with no-break spaces as plain spaces (the
    typography of numbers is not part of the message)."""
    return str(text).replace("\u00a0", " ").strip()


def t(text: Any, /, **fields: Any) -> str:
    """``text`` in the report's language, with ``{name}`` fields filled from ``fields``.

    Non-text values (numbers) are returned as ``str(text)``; a text without a translation stays
    English and is remembered (:func:`untranslated`).
    """
    if not isinstance(text, str):
        return str(text)
    lang = _LANGUAGE[0]
    message = text
    if lang != "en" and text.strip():
        found = catalogue(lang).get(_key(text))
        if found is None:
            if _WORD.search(text):  # a lone tier letter or "F1" is not an English text
                _UNTRANSLATED.setdefault(text.strip(), None)
        else:
            message = found
    return message.format(**fields) if fields else message


def t_known(text: Any) -> Any:
    """``text`` translated if the catalogue has it, else unchanged and not remembered (for table
    cells, which are mostly numbers and names)."""
    if isinstance(text, str) and _LANGUAGE[0] != "en":
        return catalogue(_LANGUAGE[0]).get(_key(text), text)
    return text


def untranslated() -> list[str]:
    """Texts shown in English in this report although its language is not English."""
    return list(_UNTRANSLATED)

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


def translate_markdown(nb, lang: str):
    """A copy of notebook ``nb`` whose markdown cells are in ``lang`` (catalogue lookup of each
    cell's whole text); returns ``(notebook, untranslated cell texts)``."""
    import copy

    nb = copy.deepcopy(nb)
    if lang == "en":
        return nb, []
    entries, missing = catalogue(lang), []
    for cell in nb.cells:
        if cell.cell_type != "markdown" or not cell.source.strip():
            continue
        found = entries.get(_key(cell.source))
        if found is None:
            missing.append(cell.source.strip())
        else:
            cell.source = found
    return nb, missing
