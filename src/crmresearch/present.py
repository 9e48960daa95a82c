"""Presentation helpers for the report notebooks: summary cards, tables, notes, records.

Nothing here computes an analysis result; it formats what the library modules return so that a
notebook stays a sequence of narrative and calls. :func:`record` hands numbers to
:func:`crmresearch.reports.run`, which writes them to ``metrics.json`` / ``manifest.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import math
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmresearch.reports import METRICS_MIMETYPE

__all__ = [
    "record",
    "executive_summary",
    "table",
    "note",
    "heading",
    "show_figure",
    "collect_warnings",
    "Source",
    "load_source",
    "file_sha256",
    "pseudonymize",
    "manifest",
    "fmt_int",
    "fmt_money",
    "fmt_pct",
    "fmt_num",
    "fmt_p",
]

_T0 = time.perf_counter()


def _display(obj: Mapping[str, Any], *, raw: bool = True) -> None:
    from IPython.display import display

    display(dict(obj), raw=raw)


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

    Emitted as a display output with mimetype :data:`crmresearch.reports.METRICS_MIMETYPE` (plus an
    empty text/plain so JupyterLab shows nothing); dicts recorded under one key are merged.
    """
    _display({METRICS_MIMETYPE: {"key": key, "value": _jsonable(value)}, "text/plain": ""})


# ---------------------------------------------------------------------------- number formats


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def fmt_int(x) -> str:
    return "–" if _missing(x) else f"{int(round(float(x))):,}"


def fmt_num(x, digits: int = 2) -> str:
    return "–" if _missing(x) else f"{float(x):,.{digits}f}"


def fmt_money(x, digits: int = 0, symbol: str = "$") -> str:
    if _missing(x):
        return "–"
    x = float(x)
    sign = "−" if x < 0 else ""
    return f"{sign}{symbol}{abs(x):,.{digits}f}"


def fmt_pct(x, digits: int = 1) -> str:
    """A share (0.123) as a percentage (12.3 %)."""
    return "–" if _missing(x) else f"{100 * float(x):.{digits}f} %"


def fmt_p(p) -> str:
    """p-values the way journals print them."""
    if _missing(p):
        return "–"
    p = float(p)
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


# ---------------------------------------------------------------------------- display blocks


def heading(text: str, level: int = 2) -> None:
    from IPython.display import HTML, display

    display(HTML(f"<h{level}>{html.escape(text)}</h{level}>"))


def executive_summary(
    kpis: Sequence[tuple[str, str]],
    findings: Sequence[str],
    metrics: Mapping[str, Any],
) -> None:
    """Show 3–5 key numbers as cards and one-sentence findings; record ``metrics``.

    ``kpis`` are (label, formatted value) pairs and ``findings`` sentences, both built in the
    notebook from the same library results as ``metrics`` (never typed in by hand).
    """
    from IPython.display import HTML, display

    cards = "".join(
        f'<div class="crm-kpi"><div class="value">{html.escape(v)}</div>'
        f'<div class="label">{html.escape(k)}</div></div>'
        for k, v in kpis
    )
    items = "".join(f"<li>{html.escape(s)}</li>" for s in findings)
    display(HTML(f'<div class="crm-kpis">{cards}</div><ul class="crm-findings">{items}</ul>'))
    record("metrics", dict(metrics))


def note(text: str, kind: str = "warning", title: str | None = None) -> None:
    """A styled call-out (``kind``: warning, synthetic, error, info)."""
    from IPython.display import HTML, display

    head = f"<strong>{html.escape(title)}</strong> " if title else ""
    display(HTML(f'<div class="crm-note {kind}">{head}{html.escape(text)}</div>'))


def table(
    frame: pd.DataFrame,
    *,
    caption: str | None = None,
    formats: Mapping[str, Any] | None = None,
    default_digits: int = 2,
    index: bool = True,
    index_label: str | None = None,
    max_rows: int = 40,
) -> None:
    """Show a DataFrame as a compact, rounded, labelled table (never a raw repr).

    ``formats`` maps a column to a format function (e.g. :func:`fmt_pct`) or a format spec
    string (``"{:,.0f}"``); other float columns get ``default_digits``, ints thousands separators.
    """
    from IPython.display import HTML, display

    shown = frame.head(max_rows).copy()
    if isinstance(shown, pd.Series):
        shown = shown.to_frame()
    formats = dict(formats or {})
    out = pd.DataFrame(index=shown.index)
    for col in shown.columns:
        values = shown[col]
        spec = formats.get(col)
        if callable(spec):
            out[str(col)] = [spec(v) for v in values]
        elif isinstance(spec, str):
            out[str(col)] = ["–" if _missing(v) else spec.format(v) for v in values]
        elif pd.api.types.is_bool_dtype(values):
            out[str(col)] = ["yes" if bool(v) else "no" for v in values]
        elif pd.api.types.is_integer_dtype(values):
            out[str(col)] = [fmt_int(v) for v in values]
        elif pd.api.types.is_float_dtype(values):
            out[str(col)] = [fmt_num(v, default_digits) for v in values]
        else:
            out[str(col)] = ["–" if _missing(v) else str(v) for v in values]
    out.index = [str(i) for i in shown.index]
    if index_label is not None or shown.index.name is not None:
        out.index.name = index_label if index_label is not None else str(shown.index.name)
    body = out.to_html(index=index, escape=True, border=0, classes="crm-table")
    cap = f'<div class="crm-caption">{html.escape(caption)}</div>' if caption else ""
    more = (
        f'<div class="crm-meta">showing {max_rows:,} of {len(frame):,} rows</div>'
        if len(frame) > max_rows
        else ""
    )
    display(HTML(f"<div>{cap}{body}{more}</div>"))


def show_figure(fig) -> None:
    """Display a matplotlib figure once (as PNG) and close it so it is not shown twice."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    display(fig)
    plt.close(fig)


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


def show_warnings(messages: Iterable[str], title: str = "Warnings") -> None:
    messages = list(messages)
    if messages:
        note("; ".join(messages), kind="warning", title=title)


# ---------------------------------------------------------------------------- data source


@dataclass
class Source:
    """The transaction data a report ran on, with what the manifest needs."""

    name: str
    log: Any
    synthetic: Any = None
    path: str | None = None
    sha256: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def is_synthetic(self) -> bool:
        return self.synthetic is not None


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_source(
    data: str,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    n_customers: int = 5000,
    seed: int = 0,
) -> Source:
    """Load ``data``: ``"cdnow"`` (bundled real log), ``"synthetic"`` or a CSV/Parquet path."""
    from crmresearch import data as crm_data
    from crmresearch import datasets

    if data == "cdnow":
        log = datasets.load_cdnow()
        path = getattr(log, "source", None)
        src = Source("CDNOW master log (bundled)", log, path=str(path) if path else None)
    elif data == "synthetic":
        syn = datasets.make_crm_data(n_customers=n_customers, seed=seed)
        src = Source(
            f"synthetic CRM data (n={n_customers:,}, seed={seed})", syn.transactions, synthetic=syn
        )
    else:
        log = crm_data.read_transactions(
            data, columns=dict(columns) if columns else None, date_format=date_format
        )
        src = Source(Path(data).name, log, path=str(data))
    if src.path and Path(src.path).is_file():
        src.sha256 = file_sha256(src.path)
    frame = src.log.frame
    src.facts = {
        "data_source": src.name,
        "data_file": src.path,
        "data_sha256": src.sha256,
        "rows_read": int(src.log.n_read),
        "rows_accepted": int(src.log.n_accepted),
        "rows_rejected": int(src.log.n_rejected),
        "customers": int(frame["customer_id"].nunique()),
        "first_date": str(frame["date"].min().date()),
        "last_date": str(frame["date"].max().date()),
    }
    return src


def pseudonymize(ids: Iterable[Any], salt: str = "crmresearch") -> list[str]:
    """Stable pseudonyms ``C-<10 hex>`` (salted SHA-256) so reports never show raw ids."""
    return ["C-" + hashlib.sha256(f"{salt}:{i}".encode()).hexdigest()[:10] for i in ids]


# ---------------------------------------------------------------------------- manifest


def manifest(params: Mapping[str, Any], source: Source, **extra: Any) -> None:
    """Show the reproducibility manifest and record it for ``manifest.json``."""
    from crmresearch.reports import package_versions

    facts = {**source.facts, **extra}
    elapsed = time.perf_counter() - _T0
    record("manifest", {**facts, "notebook_seconds": round(elapsed, 2)})
    rows = [(k.replace("_", " "), "–" if v is None else str(v)) for k, v in params.items()]
    table(
        pd.DataFrame(rows, columns=["parameter", "value"]).set_index("parameter"),
        caption="Parameters",
    )
    facts_rows = [
        (k.replace("_", " "), "–" if v is None else (f"{v:,}" if isinstance(v, int) else str(v)))
        for k, v in facts.items()
    ]
    facts_rows.append(("notebook run time", f"{elapsed:.1f} s"))
    table(
        pd.DataFrame(facts_rows, columns=["item", "value"]).set_index("item"),
        caption="Data and run",
    )
    versions = package_versions()
    table(
        pd.DataFrame(list(versions.items()), columns=["package", "version"]).set_index("package"),
        caption="Package versions",
    )
