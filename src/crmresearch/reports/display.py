"""Display helpers of the report notebooks: summary cards, tables, notes, figures, records.

Nothing here computes an analysis result; it shows what the sections compute, with every number
formatted by :mod:`crmresearch._format`. :func:`record` hands numbers to the runner
(``metrics.json`` / ``manifest.json``). The appendix parts common to every report (the run's
methods table, the warnings note, the reproducibility manifest) are here too.
"""

from __future__ import annotations

import contextlib
import html
import io
import math
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmresearch._format import fmt_int, fmt_num, fmt_pct, is_missing, typeset
from crmresearch.reports.labels import label, t
from crmresearch.reports.render import METRICS_MIMETYPE

__all__ = [
    "record",
    "heading",
    "executive_summary",
    "note",
    "table",
    "show_figure",
    "translate_figure",
    "collect_warnings",
    "capture_warnings",
    "show_warnings",
    "title_block",
    "setup_figures",
    "methods",
    "manifest",
    "appendix",
    "reproducibility",
]

_T0 = time.perf_counter()


def _display(obj: Mapping[str, Any], *, raw: bool = True) -> None:
    from IPython.display import display

    display(dict(obj), raw=raw)


def _html(text: str) -> None:
    from IPython.display import HTML, display

    display(HTML(text))


def _jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars → Python, NaN → None, timestamps → ISO strings."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return value


def record(key: str, value: Any) -> None:
    """Hand ``value`` to the report runner under ``key`` (``"metrics"`` or ``"manifest"``).

    Emitted as a display output with mimetype :data:`METRICS_MIMETYPE` (plus an empty
    text/plain so JupyterLab shows nothing); dicts recorded under one key are merged.
    """
    _display({METRICS_MIMETYPE: {"key": key, "value": _jsonable(value)}, "text/plain": ""})


# ---------------------------------------------------------------------------- display blocks


def heading(text: str, level: int = 2) -> None:
    _html(f"<h{level}>{html.escape(t(text))}</h{level}>")


def executive_summary(
    kpis: Sequence[tuple[str, str]],
    findings: Sequence[str],
    metrics: Mapping[str, Any],
) -> None:
    """Show 3–5 key numbers as cards and one-sentence findings; record ``metrics``.

    ``kpis`` are (label, formatted value) pairs and ``findings`` sentences, both built by a
    section from the same library results as ``metrics`` (never typed in by hand).
    """
    cards = "".join(
        f'<div class="crm-kpi"><div class="value">{html.escape(typeset(t(v)))}</div>'
        f'<div class="label">{html.escape(typeset(t(k)))}</div></div>'
        for k, v in kpis
    )
    items = "".join(f"<li>{html.escape(typeset(t(s)))}</li>" for s in findings)
    _html(f'<div class="crm-kpis">{cards}</div><ul class="crm-findings">{items}</ul>')
    record("metrics", dict(metrics))


def note(text: str, kind: str = "warning", title: str | None = None) -> None:
    """A styled call-out (``kind``: warning, synthetic, error, info)."""
    head = f"<strong>{html.escape(typeset(t(title)))}</strong> " if title else ""
    _html(f'<div class="crm-note {kind}">{head}{html.escape(typeset(t(text)))}</div>')


def _format_column(values: pd.Series, spec: Any, default_digits: int, tr=t) -> list[str]:
    if callable(spec):
        return [spec(v) for v in values]
    if isinstance(spec, str):
        return ["–" if is_missing(v) else spec.format(v) for v in values]
    if pd.api.types.is_bool_dtype(values):
        return [t("yes") if bool(v) else t("no") for v in values]
    if pd.api.types.is_integer_dtype(values):
        return [fmt_int(v) for v in values]
    if pd.api.types.is_float_dtype(values):
        return [fmt_num(v, default_digits) for v in values]
    return ["–" if is_missing(v) else tr(str(v)) for v in values]


def table(
    frame: pd.DataFrame,
    *,
    caption: str | None = None,
    formats: Mapping[str, Any] | None = None,
    default_digits: int = 2,
    index: bool = True,
    index_label: str | None = None,
    max_rows: int = 40,
    translate: bool = True,
) -> None:
    """Show a DataFrame as a compact, rounded, labelled table (never a raw repr).

    ``formats`` maps a column to a format function (e.g. :func:`crmresearch._format.fmt_pct`)
    or a format spec string (``"{:,.0f}"``); other float columns get ``default_digits``, ints
    thousands separators. Every text (caption, headers, row labels, text cells) is shown in
    the report's language (:func:`~crmresearch.reports.labels.t`); ``translate=False`` keeps
    the row labels and text cells as they are (names such as package names).
    """
    tr = t if translate else str
    shown = frame.head(max_rows).copy()
    if isinstance(shown, pd.Series):
        shown = shown.to_frame()
    formats = dict(formats or {})
    out = pd.DataFrame(index=shown.index)
    for col in shown.columns:
        cells = _format_column(shown[col], formats.get(col), default_digits, tr)
        out[str(col)] = [tr(c) for c in cells]
    out.index = [typeset(tr(str(i))) for i in shown.index]
    if index_label is not None or shown.index.name is not None:
        name = index_label if index_label is not None else str(shown.index.name)
        out.index.name = typeset(t(name))
    out = out.map(typeset)
    # headers: "p-value" with a non-breaking hyphen so it never breaks across lines
    out.columns = [typeset(t(c)).replace("p-value", "p\u2011value") for c in out.columns]
    body = out.to_html(index=index, escape=True, border=0, classes="crm-table")
    cap = f'<div class="crm-caption">{html.escape(typeset(t(caption)))}</div>' if caption else ""
    shown_rows = t("showing {shown} of {total} rows", shown=f"{max_rows:,}", total=f"{len(frame):,}")
    more = f'<div class="crm-meta">{html.escape(shown_rows)}</div>' if len(frame) > max_rows else ""
    # one block, kept on one page when it fits (print CSS), so a caption never ends a page
    _html(f'<div class="crm-block">{cap}{body}{more}</div>')


def show_figure(fig) -> None:
    """Display a matplotlib figure once (as PNG) and close it so it is not shown twice.

    An error in the code that made ``fig`` is not caught anywhere here: it fails the cell, and
    the runner names the section it failed in.
    """
    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    translate_figure(fig)
    # Render the PNG ourselves: works whatever matplotlib backend the kernel ended up with.
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    display(Image(data=buffer.getvalue(), format="png"))


def translate_figure(fig) -> None:
    """Every text of ``fig`` in the report's language: suptitle, axes titles, axis labels,
    legend entries, annotations and text tick labels (numbers are left alone)."""
    from matplotlib.text import Text

    from crmresearch.reports import labels

    if labels.language() == "en":
        return
    fig.canvas.draw()  # tick labels exist only once drawn
    for ax in fig.axes:
        for axis, limits, set_limits in (
            (ax.xaxis, ax.get_xlim(), ax.set_xlim), (ax.yaxis, ax.get_ylim(), ax.set_ylim),
        ):  # fmt: skip
            texts = [label_.get_text() for label_ in axis.get_ticklabels()]
            done = [_figure_text(x) for x in texts]
            if done != texts:  # fixed labels, so a redraw keeps the translation
                axis.set_ticks(axis.get_ticklocs(), done)
                set_limits(limits)
    for artist in fig.findobj(Text):
        text = artist.get_text()
        if text and text.strip():
            done = _figure_text(text)
            if done != text:
                artist.set_text(done)


def _figure_text(text: str) -> str:
    """A figure text in the report's language. A label wrapped over lines ("F2\nAverage
    order\nvalue") is translated as one text; a first line without words (a factor's "F2")
    stays on its own line, and a long translation is wrapped again."""
    import textwrap

    from crmresearch.reports.labels import needs_translation, t_known

    if "\n" not in text:
        return t(text)
    whole = " ".join(text.split())
    done = t_known(whole)
    if done != whole:
        return done
    head, rest = text.split("\n", 1)
    if needs_translation(head):
        return t(whole)
    done = t(" ".join(rest.split()))
    return head + "\n" + "\n".join(textwrap.wrap(done, width=10))


# ---------------------------------------------------------------------------- warnings


@contextlib.contextmanager
def collect_warnings():
    """Capture Python warnings raised inside the block into a list (for a styled note)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        collected: list[str] = []
        yield collected
    seen = set()
    for w in caught:
        text = str(w.message)
        if text not in seen:
            seen.add(text)
            collected.append(text)


class WarningLog(list):
    """Every Python warning raised in the notebook after :func:`capture_warnings`."""


_WARNINGS = WarningLog()


def capture_warnings() -> WarningLog:
    """Route all warnings of this kernel into a list shown later as a styled note (not stderr)."""

    def _sink(message, category, filename, lineno, file=None, line=None):
        # the message, not Python's class name (which means nothing to a manager)
        text = str(message) if issubclass(category, UserWarning) else f"{category.__name__}: {message}"
        if text not in _WARNINGS:
            _WARNINGS.append(text)

    warnings.simplefilter("default")
    warnings.showwarning = _sink
    return _WARNINGS


def show_warnings(messages: Iterable[str], title: str = "Warnings") -> None:
    messages = list(messages)
    if messages:
        note("; ".join(messages), kind="warning", title=title)


# ---------------------------------------------------------------------------- page furniture


def setup_figures(language: str = "en") -> None:
    """Figure defaults for reports: a CJK-capable font first when the language is Chinese."""
    import matplotlib as mpl

    mpl.rcParams["figure.dpi"] = 100
    mpl.rcParams["savefig.dpi"] = 100
    if language == "zh":
        mpl.rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]
        mpl.rcParams["axes.unicode_minus"] = False
    pd.set_option("display.max_columns", 30)


def title_block(title: str, subtitle: str, detail: str = "") -> None:
    """The report's title (h1), a line saying what data and windows it covers, and an optional
    second line (the rows read / accepted / rejected)."""
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    second = f"<br>{html.escape(typeset(t(detail)))}" if detail else ""
    generated = t("generated {stamp}", stamp=stamp)
    _html(
        f"<h1>{html.escape(t(title))}</h1><p class='crm-meta'>{html.escape(t(subtitle))} · "
        f"{html.escape(generated)}{second}</p>{_page_footer()}"
    )


def _page_footer() -> str:
    """The printed page footer ("page 3 of 9") in the report's language, as a page rule."""
    from crmresearch.reports import labels

    if labels.language() == "en":
        return ""  # the stylesheet's own English footer
    parts = t("page {page} of {pages}").replace('"', "").split("{")
    content = [f'"{parts[0]}"'] if parts[0] else []
    for part in parts[1:]:
        name, rest = part.split("}", 1)
        content.append(f"counter({name})")
        if rest:
            content.append(f'"{rest}"')
    return f"<style>@page {{ @bottom-right {{ content: {' '.join(content)}; }} }}</style>"


# ---------------------------------------------------------------------------- appendix


def methods(study) -> None:
    """The data-dependent part of the methods appendix: what was used, skipped and excluded."""
    X = study.features
    log = study.source.log
    rows = [
        ("data", study.source.name),
        ("windows", study.describe_windows()),
        ("customers with a transaction in the calibration window", fmt_int(len(X))),
        (
            "rows read / accepted / rejected",
            f"{fmt_int(log.n_read)} / {fmt_int(log.n_accepted)} / {fmt_int(log.n_rejected)}",
        ),
        ("volume tier rule", study.volume_tiers.attrs.get("rule", "")),
        (
            "index system",
            f"{t(study.index_input.attrs.get('config', ''))}: "
            + ", ".join(label(c, study.language) for c in study.index_input.columns),
        ),
    ]
    skipped = study.index_input.attrs.get("skipped", {})
    if skipped:
        rows.append(("indicators skipped", "; ".join(f"{k} ({v})" for k, v in skipped.items())))
    filled = study.index_input.attrs.get("filled", {})
    if filled:
        text = "; ".join(f"{k}: {fmt_int(v)} customers" for k, v in filled.items())
        rows.append(("undefined values filled", text))
    negative = int((X["monetary"] < 0).sum())
    rows.append(
        ("customers with negative net revenue (counted as 0 for Gini/Lorenz)", fmt_int(negative))
    )
    for note_text in X.attrs.get("notes", []):
        rows.append(("note", note_text))
    rows = [(t(k), v) for k, v in rows]
    table(pd.DataFrame(rows, columns=["item", "value"]).set_index("item"), caption="This run")


def _param_text(key: str, value: Any, used: Mapping[str, Any]) -> str:
    """A parameter value in words: none / yes / no / 5 % / 15 % / 80 %; empty → the value used."""
    if value is None or (isinstance(value, (str, Mapping, list, tuple)) and len(value) == 0):
        if used.get(key):
            return t("{value} (default)", value=used[key])
        return t("none") if isinstance(value, (Mapping, list, tuple)) else t("default")
    if isinstance(value, bool):
        return t("yes") if value else t("no")
    if key == "core_share" and value == 0:  # 0 means like for like, not a 0 % core
        return t("size of the top volume tier")
    if isinstance(value, Mapping):
        return "; ".join(f"{k} → {v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in value):
            return " / ".join(fmt_pct(v, 0) for v in value)
        return ", ".join(map(str, value))
    return str(value)


def manifest(params: Mapping[str, Any], source, **extra: Any) -> None:
    """Show the reproducibility manifest and record it for ``manifest.json``.

    ``source`` is the study's :class:`~crmresearch.study.Source`: the data file is named by its
    basename and SHA-256 only, never by a path of the machine. In a language other than English
    the texts left untranslated are recorded too (``untranslated``).
    """
    from crmresearch.reports import labels
    from crmresearch.reports.runner import package_versions

    facts = {**source.facts, **extra}
    elapsed = time.perf_counter() - _T0
    record("manifest", {**facts, "notebook_seconds": round(elapsed, 2)})
    # parameter values are what one types to rerun the report: shown as given, not translated
    rows = [
        (t(k.replace("_", " ")), _param_text(k, v, extra))
        for k, v in params.items()
        # the synthetic generator's size means nothing for a real log
        if not (k == "n_customers" and not source.is_synthetic)
    ]
    table(
        pd.DataFrame(rows, columns=["parameter", "value"]).set_index("parameter"),
        caption="Parameters",
        translate=False,
    )
    facts_rows = [
        (k.replace("_", " "), "–" if v is None else (f"{v:,}" if isinstance(v, int) else str(v)))
        for k, v in facts.items()
    ]
    facts_rows = [(t(k), v) for k, v in facts_rows]
    facts_rows.append((t("notebook execution time (kernel start to this table)"), f"{elapsed:.1f} s"))
    table(
        pd.DataFrame(facts_rows, columns=["item", "value"]).set_index("item"),
        caption="Data and run",
    )
    versions = package_versions()
    table(
        pd.DataFrame(list(versions.items()), columns=["package", "version"]).set_index("package"),
        caption="Package versions",
        translate=False,
    )
    if labels.language() != "en":
        record("manifest", {"language": labels.language(), "untranslated": labels.untranslated()})


def appendix(report) -> None:
    """The methods table of this run and the warnings raised during the analysis."""
    methods(report.study)
    show_warnings(report.warnings, title="Warnings raised during the analysis:")


def reproducibility(report) -> None:
    """The reproducibility manifest of a report (parameters, data and run, versions)."""
    manifest(report.public_params(), report.source, **report.manifest_facts())
