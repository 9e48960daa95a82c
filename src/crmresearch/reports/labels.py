"""Words of the reports that depend on the language: one message catalogue, indicator labels
with their units, the currency.

Every text of a report is English in the code and translated from one YAML catalogue per
language, ``i18n/<language>.yaml``, in the display layer (``reports.display``: cards,
findings, notes, headings, table captions/headers/rows/cells, figure titles, axes, legends and
tick labels, the page footer) and by the runner (notebook markdown cells). An entry is

- exact: ``en: Lorenz curves: value concentration`` / ``zh: 洛伦兹曲线：价值集中度``;
- a template with ``{fields}`` for a computed sentence: the English side is compiled to a
  regex (a field matches non-greedy text), the values are carried into the translation -
  numbers unchanged, texts translated in turn (exact, template, indicator label);
- a word of a field's own dictionary (``field: direction``, ``en: more``, ``zh: 高于``): a
  template field with a dictionary matches only those words, so a sentence is translated with
  the direction the English says, or not at all.

A text no entry covers is tried clause by clause ("; ") and sentence by sentence. Texts left
English are listed in the manifest (``untranslated``), never silently; codes, method names,
file names, pseudonyms and units need no translation (:func:`needs_translation`). Indicator
labels come from the indicator registry (``features.INDICATORS``: ``label_en``/``label_zh``).
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
    "needs_translation",
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
    return {_key(e["en"]): str(e[lang]).strip() for e in entries if "field" not in e}


def _key(text: str) -> str:
    """Catalogue key: the English text, stripped, with no-break spaces as plain spaces (the
    typography of numbers is not part of the message)."""
    return str(text).replace("\u00a0", " ").strip()


#: Texts that need no translation although they hold Latin letters: codes, names of methods
#: and data sets, units, file names, pseudonyms, hashes (what :func:`needs_translation` ignores).
_PROPER = re.compile(
    r"\S+\.(?:csv|txt|xlsx|xls|tsv|gz|zip|json|yaml|yml|ipynb|pdf|html)\b|C-[0-9a-f]{10}|\b[0-9a-f]{12,}\b"
    r"|\b[a-z]+(?:_[a-z0-9]+)+\b"
    r"|\b(?:CDNOW|Hillstrom|MineThatData|KMO|MSA|Holm|Gini|Lorenz|Bartlett|Kruskal|Wallis|Dunn"
    r"|Wilson|Newcombe|Cohen|BG/NBD|NBD|Gamma|Pareto|RFM|CLV|CRM|ABC|UTC|SHA|CV|CI|AUC|ROC|OLS|HC3"
    r"|Python|Welch|Wald|Miettinen|Nurminen|Neyman|Tucker|ARI|logistic|Excel|patsy|Cramér|Varimax|Promax|Oblimin|Kaiser|Horn|Mann|Whitney|Fisher|Spearman|Pearson"
    r"|lifetimes|crmresearch|pandas|numpy|scipy|statsmodels"
    r"|factor_analyzer|matplotlib|weasyprint|nbconvert|papermill|pingouin|openpyxl|duckdb"
    r"|pyspark|scikit-learn|sklearn|babel|YAML|XLSX|CSV|BOM|HMAC|RMB|CNY|pts|vs"
    r"|utf-8|utf-8-sig|gb18030|gbk|big5|utf-16|ascii)\b",
    re.I,
)


def needs_translation(text: str) -> bool:
    """Whether ``text`` holds English words (three or more Latin letters in a row) once codes,
    method names, file names, pseudonyms and units are left out."""
    text = str(text)
    if "\\mathdefault" in text:  # a matplotlib tick label such as $\\mathdefault{10^{2}}$
        return False
    return bool(_WORD.search(_PROPER.sub(" ", text)))


_FIELD = re.compile(r"\{(\w+)\}")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN2 = re.compile(r"[A-Za-z]{2,}")


@cache
def _templates(lang: str) -> list[tuple[str, re.Pattern, str]]:
    """Catalogue entries with ``{fields}``, compiled to regexes (literal parts exact, white
    space as any white space, each field a non-greedy group, a repeated field a back reference),
    longest literal text first so that the most specific template wins."""
    compiled = []
    for en, zh in catalogue(lang).items():
        parts = _FIELD.split(en)
        if len(parts) == 1:
            continue
        pattern, seen, literal = [], set(), []
        for i, part in enumerate(parts):
            if i % 2 == 0:
                pattern.append(r"\s+".join(re.escape(w) for w in re.split(r"\s+", part)))
                literal.append(part)
            elif part in seen:
                pattern.append(f"(?P={part})")
            else:
                seen.add(part)
                words = sorted(_words_of(lang).get(part, ()), key=len, reverse=True)
                choices = "|".join(re.escape(w) for w in words) or ".+?"
                pattern.append(f"(?P<{part}>{choices})")
        anchor = max(literal, key=len).strip()
        compiled.append((anchor, re.compile("".join(pattern), re.S), zh, len("".join(literal))))
    compiled.sort(key=lambda c: -c[3])
    return [(a, r, z) for a, r, z, _ in compiled]


@cache
def _field_words(lang: str) -> dict[tuple[str, str], str]:
    """Per-field dictionary: ``(field, English word) → translation`` (entries with ``field:``)."""
    if lang == "en":
        return {}
    import yaml

    path = I18N_DIR / f"{lang}.yaml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    found = {}
    for e in entries:
        fields = e.get("field")
        for f in [fields] if isinstance(fields, str) else fields or []:
            found[(f, _key(e["en"]))] = str(e[lang]).strip()
    return found


@cache
def _words_of(lang: str) -> dict[str, list[str]]:
    """The English words each dictionary field can take (a template matches only those)."""
    found: dict[str, list[str]] = {}
    for field, word in _field_words(lang):
        found.setdefault(field, []).append(word)
    return found


def _indicator_labels(lang: str) -> dict[str, str]:
    return _indicator_labels_in(lang, currency())


@cache
def _indicator_labels_in(lang: str, symbol: str) -> dict[str, str]:
    """Indicator labels of the registry, English → ``lang`` (with and without their units)."""
    if lang != "zh":
        return {}
    from crmresearch.features import INDICATORS

    found = {}
    for name, ind in INDICATORS.items():
        if ind.label_zh:
            for unit_symbol in ("$", "¥", "€", "£", symbol):
                en, zh = (label_with_unit(name, lang_, unit_symbol) for lang_ in ("en", "zh"))
                found[_key(en)] = zh
            found[_key(ind.label_en)] = ind.label_zh
            found[name] = ind.label_zh
    return found


def _lookup(text: str, lang: str, field: str | None = None, depth: int = 0) -> str | None:
    """``text`` in ``lang`` or None: the field's dictionary, an exact entry, an indicator label,
    a template (fields translated in turn), then clause by clause ("; ") and sentence by
    sentence; a text without English words is its own translation."""
    key = _key(text)
    if not key:
        return text
    if field is not None and (field, key) in _field_words(lang):
        return _field_words(lang)[(field, key)]
    found = catalogue(lang).get(key)
    if found is not None:
        return found
    found = _indicator_labels(lang).get(key)
    if found is not None:
        return found
    if not _LATIN2.search(key):  # no words: "A", "F1", "95 %"
        return text
    if _CJK.search(key) and not needs_translation(_CJK.sub(" ", key)):  # translated already
        return text
    if depth > 6:
        return None
    for anchor, regex, zh in _templates(lang):
        if anchor not in key:
            continue
        match = regex.fullmatch(key)
        if match is None:
            continue
        values = {}
        for name, value in match.groupdict().items():
            values[name] = _lookup(value, lang, name, depth + 1)
            if values[name] is None:
                break
        else:
            return zh.format(**values)
    for splitter, joiner, glue in (
        (r"(?<=[.!?])\s+(?=[A-Z])", "", " "), (r";\s+", "；", "; "),
    ):  # fmt: skip
        done = _segments(re.split(splitter, key), glue, joiner, lang, depth)
        if done is not None:
            return done
    if key.endswith(".") and not key.endswith(".."):  # a sentence whose body is an entry
        done = _lookup(key[:-1], lang, None, depth + 1)
        if done is not None:
            return done + "。"
    return None if needs_translation(key) else text  # only codes and units: shown as they are


def _segments(pieces: list[str], glue: str, joiner: str, lang: str, depth: int) -> str | None:
    """``pieces`` (a text split at sentence or clause ends) as consecutive runs that each
    translate: the fewest runs, found by dynamic programming (a clause may itself hold "; ")."""
    n = len(pieces)
    if n < 2:
        return None
    best: dict[int, list[str]] = {0: []}
    for j in range(1, n + 1):
        for i in range(j):
            if i not in best or (i == 0 and j == n):
                continue
            done = _lookup(glue.join(pieces[i:j]), lang, None, depth + 1)
            if done is not None and (j not in best or len(best[i]) + 1 < len(best[j])):
                best[j] = best[i] + [done]
    return joiner.join(best[n]) if n in best else None


@cache
def _translate(text: str, lang: str, symbol: str = "") -> str | None:
    """Cached :func:`_lookup` (per currency too: indicator labels carry its symbol)."""
    return _lookup(text, lang)


def t(text: Any, /, **fields: Any) -> str:
    """``text`` in the report's language, with ``{name}`` fields filled from ``fields``.

    A text is found in the catalogue as it is, or matched against the catalogue's templates
    (entries with ``{fields}``: the numbers are carried over, word fields translated by the
    field's own dictionary or the catalogue). Text fields given here are translated too.
    Non-text values (numbers) are returned as ``str(text)``; a text without a translation stays
    English and is remembered (:func:`untranslated`).
    """
    if not isinstance(text, str):
        return str(text)
    lang = _LANGUAGE[0]
    if lang == "en" or not text.strip():
        return text.format(**fields) if fields else text
    if fields:
        found = catalogue(lang).get(_key(text))
        if found is None:
            _remember(text)
            return text.format(**fields)
        values = {}
        for name, value in fields.items():
            if isinstance(value, str):
                done = _translate(value, lang, currency())
                if done is None:
                    _remember(value)
                value = value if done is None else done
            values[name] = value
        return found.format(**values)
    found = _translate(text, lang, currency())
    if found is None:
        _remember(text)
        return text
    return found


def _remember(text: str) -> None:
    if needs_translation(text):  # a lone tier letter or "F1" is not an English text
        _UNTRANSLATED.setdefault(text.strip(), None)


def t_known(text: Any) -> Any:
    """``text`` translated if the catalogue has it (exactly or by a template), else unchanged
    and not remembered."""
    if isinstance(text, str) and _LANGUAGE[0] != "en":
        found = _translate(text, _LANGUAGE[0], currency())
        return text if found is None else found
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
_UNIT_WORDS_ZH = {
    "days": "天", "orders": "单", "units": "件", "months": "月", "categories": "类",
    "channels": "个", "currency/order": "{currency}/单", "units/month": "件/月",
}  # fmt: skip


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
    words = _UNIT_WORDS_ZH if language == "zh" else _UNIT_WORDS
    unit = symbol if unit == "currency" else words.get(unit, unit).format(currency=symbol)
    if language == "zh":
        return f"{text}（{unit}）"
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
