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
import re
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


NBSP = "\u00a0"
MINUS = "\u2212"
_PERCENT = re.compile(r"(\d) %")
_HYPHEN_MINUS = re.compile(r"(?<![\w.])-(?=[\d$])")


def typeset(text: str) -> str:
    """Report typography: a non-breaking space before "%" (66.1 % never breaks) and "−"
    (U+2212) for the minus sign of numbers (hyphens in dates and names are left alone)."""
    return _HYPHEN_MINUS.sub(MINUS, _PERCENT.sub("\\1" + NBSP + "%", str(text)))


def _signed(x, digits: int = 1) -> str:
    """A number with its sign always shown, minus as U+2212: +10.3, −2.0."""
    return f"{float(x) + 0.0:+.{digits}f}".replace("-", MINUS)


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def fmt_int(x) -> str:
    return "–" if _missing(x) else f"{int(round(float(x))):,}".replace("-", MINUS)


def fmt_num(x, digits: int = 2) -> str:
    if _missing(x):
        return "–"
    x = round(float(x), digits) + 0.0  # + 0.0 turns -0.0 into 0.0 (no "-0.0" in tables)
    return f"{x:,.{digits}f}".replace("-", MINUS)


def fmt_money(x, digits: int = 0, symbol: str = "$") -> str:
    if _missing(x):
        return "–"
    x = float(x)
    sign = "−" if x < 0 else ""
    return f"{sign}{symbol}{abs(x):,.{digits}f}"


def fmt_pct(x, digits: int = 1) -> str:
    """A share (0.123) as a percentage (12.3 %)."""
    if _missing(x):
        return "–"
    return f"{100 * float(x) + 0.0:.{digits}f}{NBSP}%".replace("-", MINUS)


def _p_text(p) -> str:
    """``= 0.123`` or ``< 0.001`` (to follow a "p")."""
    text = fmt_p(p)
    return text if text.startswith("<") else f"= {text}"


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
        f'<div class="crm-kpi"><div class="value">{html.escape(typeset(v))}</div>'
        f'<div class="label">{html.escape(typeset(k))}</div></div>'
        for k, v in kpis
    )
    items = "".join(f"<li>{html.escape(typeset(s))}</li>" for s in findings)
    display(HTML(f'<div class="crm-kpis">{cards}</div><ul class="crm-findings">{items}</ul>'))
    record("metrics", dict(metrics))


def note(text: str, kind: str = "warning", title: str | None = None) -> None:
    """A styled call-out (``kind``: warning, synthetic, error, info)."""
    from IPython.display import HTML, display

    head = f"<strong>{html.escape(typeset(title))}</strong> " if title else ""
    display(HTML(f'<div class="crm-note {kind}">{head}{html.escape(typeset(text))}</div>'))


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
    out.index = [typeset(i) for i in shown.index]
    if index_label is not None or shown.index.name is not None:
        out.index.name = typeset(index_label if index_label is not None else str(shown.index.name))
    out = out.map(typeset)
    # headers: "p-value" with a non-breaking hyphen so it never breaks across lines
    out.columns = [typeset(c).replace("p-value", "p\u2011value") for c in out.columns]
    body = out.to_html(index=index, escape=True, border=0, classes="crm-table")
    cap = f'<div class="crm-caption">{html.escape(typeset(caption))}</div>' if caption else ""
    more = (
        f'<div class="crm-meta">showing {max_rows:,} of {len(frame):,} rows</div>'
        if len(frame) > max_rows
        else ""
    )
    # one block, kept on one page when it fits (print CSS), so a caption never ends a page
    display(HTML(f'<div class="crm-block">{cap}{body}{more}</div>'))


def show_figure(fig) -> None:
    """Display a matplotlib figure once (as PNG) and close it so it is not shown twice."""
    import io

    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    # Render the PNG ourselves: works whatever matplotlib backend the kernel ended up with.
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    display(Image(data=buffer.getvalue(), format="png"))


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


def _param_text(key: str, value: Any, used: Mapping[str, Any]) -> str:
    """A parameter value in words: none / yes / no / 5 % / 15 % / 80 %; empty → the value used."""
    if value is None or (isinstance(value, (str, Mapping, list, tuple)) and len(value) == 0):
        if used.get(key):
            return f"{used[key]} (default)"
        return "none" if isinstance(value, (Mapping, list, tuple)) else "default"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return "; ".join(f"{k} → {v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in value):
            return " / ".join(fmt_pct(v, 0) for v in value)
        return ", ".join(map(str, value))
    return str(value)


def manifest(params: Mapping[str, Any], source: Source, **extra: Any) -> None:
    """Show the reproducibility manifest and record it for ``manifest.json``."""
    from crmresearch.reports import package_versions

    facts = {**source.facts, **extra}
    elapsed = time.perf_counter() - _T0
    record("manifest", {**facts, "notebook_seconds": round(elapsed, 2)})
    rows = [
        (k.replace("_", " "), _param_text(k, v, extra))
        for k, v in params.items()
        # the synthetic generator's size means nothing for a real log
        if not (k == "n_customers" and not source.is_synthetic)
    ]
    table(
        pd.DataFrame(rows, columns=["parameter", "value"]).set_index("parameter"),
        caption="Parameters",
    )
    facts_rows = [
        (k.replace("_", " "), "–" if v is None else (f"{v:,}" if isinstance(v, int) else str(v)))
        for k, v in facts.items()
    ]
    facts_rows.append(("notebook execution time (kernel start to this table)", f"{elapsed:.1f} s"))
    table(
        pd.DataFrame(facts_rows, columns=["item", "value"]).set_index("item"),
        caption="Data and run",
    )
    versions = package_versions()
    table(
        pd.DataFrame(list(versions.items()), columns=["package", "version"]).set_index("package"),
        caption="Package versions",
    )


# ---------------------------------------------------------------------------- the study


#: Default windows of the bundled CDNOW log (calibration ≤ 1997-09-30, holdout to 1998-06-30).
CDNOW_WINDOWS = ("1997-09-30", "1998-06-30")


def label(name: str, language: str = "en") -> str:
    """Indicator label in ``language`` ("en"/"zh") from ``features.INDICATORS``; else the name."""
    from crmresearch.features import INDICATORS

    ind = INDICATORS.get(name)
    if ind is None:
        return str(name)
    return ind.label_zh if language == "zh" and ind.label_zh else ind.label_en


_UNIT_WORDS = {"currency": "$", "currency/order": "$ per order", "units/month": "units per month"}


def label_with_unit(name: str, language: str = "en") -> str:
    """Indicator label with its unit from ``features.INDICATORS``: "Recency (days)".

    Ratios carry no unit; a unit the label already names ("Frequency (orders)") is not repeated.
    """
    from crmresearch.features import INDICATORS

    text = label(name, language)
    ind = INDICATORS.get(name)
    unit = getattr(ind, "unit", "") if ind is not None else ""
    if not unit or unit == "ratio" or unit.lower() in text.lower():
        return text
    unit = _UNIT_WORDS.get(unit, unit)
    if text.endswith(")"):  # "Monetary (net revenue)" → "Monetary (net revenue, $)"
        return f"{text[:-1]}, {unit})"
    return f"{text} ({unit})"


def setup(language: str = "en") -> None:
    """Figure defaults for reports: a CJK-capable font first when the language is Chinese."""
    import matplotlib as mpl

    mpl.rcParams["figure.dpi"] = 100
    mpl.rcParams["savefig.dpi"] = 100
    if language == "zh":
        mpl.rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]
        mpl.rcParams["axes.unicode_minus"] = False
    pd.set_option("display.max_columns", 30)


def windows(source: Source, calibration_end: str, holdout_end: str) -> tuple[str, str]:
    """Calibration end and holdout end: the given dates, else the data set's defaults."""
    if source.is_synthetic:
        t = source.synthetic.truth
        default = (f"{t.calibration_end:%Y-%m-%d}", f"{t.holdout_end:%Y-%m-%d}")
    elif source.name.startswith("CDNOW"):
        default = CDNOW_WINDOWS
    else:
        default = ("", "")
    cal = calibration_end or default[0]
    hold = holdout_end or default[1]
    if not cal or not hold:
        raise ValueError(
            "give calibration_end and holdout_end (YYYY-MM-DD) for your own data, e.g. "
            "-p calibration_end=2024-06-30 -p holdout_end=2024-12-31"
        )
    if pd.Timestamp(hold) <= pd.Timestamp(cal):
        raise ValueError(f"holdout_end {hold} must be after calibration_end {cal}")
    return cal, hold


@dataclass
class Study:
    """Everything the three reports share: features, index, tiers and holdout outcomes."""

    source: Source
    calibration_start: str | None
    calibration_end: str
    holdout_start: str
    holdout_end: str
    features: pd.DataFrame
    index_input: pd.DataFrame
    index: Any
    index_warnings: list[str]
    composite: pd.Series
    volume_tiers: pd.Series
    index_tiers: pd.Series
    outcomes: pd.DataFrame
    top_tier: str
    language: str = "en"
    tier_scheme: str = "abc"
    tier_shares: tuple = (0.05, 0.15, 0.80)

    @property
    def calibration_start_used(self) -> str:
        """The calibration window's first date (given, else the data's first date)."""
        start = self.calibration_start or self.features.attrs.get("window", {}).get("start", "")
        return str(start)[:10] if start else ""

    def describe_windows(self) -> str:
        start = self.calibration_start_used
        return (
            f"calibration {start} to {self.calibration_end}; "
            f"holdout {self.holdout_start} to {self.holdout_end}"
        )


def _n_factors(value: Any) -> Any:
    """Parameter text → ClassificationIndex n_factors ("parallel", "kaiser", 3, 0.8)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if text in ("parallel", "kaiser"):
        return text
    try:
        number = float(text)
    except ValueError:
        raise ValueError(
            f"n_factors = {value!r}: use 'parallel', 'kaiser', a whole number or a share in (0, 1)"
        ) from None
    return int(number) if number.is_integer() and number >= 1 else number


def volume_scheme(values: pd.Series, scheme: str, shares: Sequence[float]) -> pd.Series:
    """The firm's tiering rule applied to ``values``: ABC by customer shares or Pareto."""
    from crmresearch import tiers

    if scheme == "abc":
        return tiers.abc(values, shares=tuple(shares))
    if scheme == "pareto":
        return tiers.pareto(values, cum=tuple(shares))
    raise ValueError(f"tier_scheme {scheme!r}: use 'abc' or 'pareto'")


def prepare(
    source: Source,
    *,
    calibration_start: str = "",
    calibration_end: str = "",
    holdout_end: str = "",
    index_config: str = "ecommerce",
    method: str = "pc",
    rotation: str = "varimax",
    n_factors: Any = "parallel",
    tier_scheme: str = "abc",
    tier_shares: Sequence[float] = (0.05, 0.15, 0.80),
    seed: int = 0,
    language: str = "en",
) -> Study:
    """Run the shared steps: features → index → composite → volume and index tiers → outcomes.

    Every number comes from the library (``features``, ``index``, ``tiers``); this function only
    wires the parameters through. The index's warnings are collected, not printed.
    """
    from crmresearch import features as feat
    from crmresearch.index import ClassificationIndex

    cal_end, hold_end = windows(source, calibration_end, holdout_end)
    hold_start = f"{pd.Timestamp(cal_end) + pd.Timedelta(days=1):%Y-%m-%d}"
    X = feat.customer_features(source.log, start=calibration_start or None, end=cal_end)
    Z = feat.apply_config(X, index_config)
    with collect_warnings() as caught:
        idx = ClassificationIndex(
            n_factors=_n_factors(n_factors),
            method=method,
            rotation=None if rotation in ("none", "", None) else rotation,
            seed=seed,
        ).fit(Z)
    composite = idx.composite(Z, scale="0-100")
    volume = volume_scheme(X["monetary"], tier_scheme, tier_shares)
    by_index = volume_scheme(composite, tier_scheme, tier_shares) if tier_scheme == "abc" else None
    if by_index is None:  # Pareto cuts by value share; the index has no "share" - use the
        # same customer counts per tier as the volume scheme so the two are comparable.
        from crmresearch import tiers

        counts = volume.value_counts(sort=False).reindex(volume.cat.categories).to_numpy()
        by_index = tiers.abc(composite, shares=tuple(counts / counts.sum()))
    outcomes = feat.holdout_outcomes(source.log, start=hold_start, end=hold_end, customers=X.index)
    # Everything alive now (modules, data, the fitted index) lives until the kernel ends. Freezing
    # it keeps full garbage collections cheap: statsmodels' multipletests calls gc.collect() on
    # every use, which otherwise costs seconds per call with pandas/scipy/statsmodels loaded.
    import gc

    gc.freeze()
    return Study(
        source=source,
        calibration_start=calibration_start or None,
        calibration_end=cal_end,
        holdout_start=hold_start,
        holdout_end=hold_end,
        features=X,
        index_input=Z,
        index=idx,
        index_warnings=list(dict.fromkeys([*caught, *getattr(idx, "warnings_", [])])),
        composite=composite,
        volume_tiers=volume,
        index_tiers=by_index,
        outcomes=outcomes,
        top_tier=str(volume.cat.categories[0]),
        language=language,
        tier_scheme=tier_scheme,
        tier_shares=tuple(tier_shares),
    )


def figure_or_note(make, what: str) -> None:
    """Show ``make()``'s figure; if the plotting function is not available, say so clearly."""
    try:
        fig = make()
    except (ModuleNotFoundError, ImportError, AttributeError) as exc:
        note(f"{what}: figure not available in this version of crmresearch ({exc}).", kind="error")
        return
    show_figure(fig)


class WarningLog(list):
    """Every Python warning raised in the notebook after :func:`capture_warnings`."""


_WARNINGS = WarningLog()


def capture_warnings() -> WarningLog:
    """Route all warnings of this kernel into a list shown later as a styled note (not stderr)."""

    def _sink(message, category, filename, lineno, file=None, line=None):
        text = f"{category.__name__}: {message}"
        if text not in _WARNINGS:
            _WARNINGS.append(text)

    warnings.simplefilter("default")
    warnings.showwarning = _sink
    return _WARNINGS


def title_block(title: str, subtitle: str) -> None:
    """The report's title (h1) and a line saying what data and windows it covers."""
    from IPython.display import HTML, display

    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    display(
        HTML(
            f"<h1>{html.escape(title)}</h1><p class='crm-meta'>{html.escape(subtitle)} · "
            f"generated {stamp}</p>"
        )
    )


# ---------------------------------------------------------------------------- report sections


def _kmo_word(kmo: float) -> str:
    # Kaiser (1974)'s labels.
    for cut, word in (
        (0.9, "marvelous"),
        (0.8, "meritorious"),
        (0.7, "middling"),
        (0.6, "mediocre"),
        (0.5, "miserable"),
    ):
        if kmo >= cut:
            return word
    return "unacceptable"


def _tier_names(tiers_: pd.Series) -> list[str]:
    return [str(c) for c in tiers_.cat.categories]


@dataclass
class SegmentValue:
    """Tables, figures' inputs, summary numbers and sentences of the segment-value report."""

    metrics: dict
    kpis: list
    findings: list
    tier_table: pd.DataFrame
    tier_formats: dict
    lorenz_values: dict
    profiles: Any
    profile_means: pd.DataFrame
    profile_tests: pd.DataFrame
    test_formats: dict
    comparison: Any
    crosstab: pd.DataFrame
    agreement: pd.DataFrame
    agreement_formats: dict
    migration: Any
    migration_table: pd.DataFrame
    migration_rates: pd.DataFrame
    rate_formats: dict


def revenue_for_concentration(study: Study) -> pd.Series:
    """Calibration net revenue with negative values counted as 0 (Gini/Lorenz need x ≥ 0)."""
    return study.features["monetary"].clip(lower=0)


def holdout_tiers(study: Study) -> pd.Series:
    """The volume rule applied to holdout revenue of the customers who bought in the holdout.

    Customers without a holdout purchase get no tier (shown as *inactive* by the migration).
    """

    revenue = study.outcomes["revenue"].where(study.outcomes["purchases"] > 0)
    held = volume_scheme(revenue.dropna(), study.tier_scheme, study.tier_shares)
    return held.reindex(study.features.index)


def segment_value(study: Study) -> SegmentValue:
    """Everything the segment-value report shows, from library calls on ``study``."""
    from crmresearch import compare

    X, lang = study.features, study.language
    vol = study.volume_tiers
    revenue = X["monetary"]
    names = _tier_names(vol)
    counts = vol.value_counts(sort=False).reindex(vol.cat.categories)
    rev = revenue.groupby(vol, observed=False).sum().reindex(vol.cat.categories)
    tier_table = pd.DataFrame(
        {
            "customers": counts.astype("int64"),
            "share of customers": counts / counts.sum(),
            "net revenue": rev,
            "share of revenue": rev / revenue.sum(),
            "revenue per customer": rev / counts,
        }
    )
    tier_table.index = pd.Index(names, name="tier")
    tier_formats = {
        "share of customers": fmt_pct,
        "share of revenue": fmt_pct,
        "net revenue": fmt_money,
        "revenue per customer": lambda v: fmt_money(v, 2),
    }
    conc = revenue_for_concentration(study)
    gini = compare.gini(conc)

    profiles = compare.tier_profiles(X, vol)
    means = profiles.means.copy()
    means.columns = [label_with_unit(c, lang) for c in means.columns]
    means = means.T
    means.index.name = "indicator"
    kr = profiles.kruskal.copy()
    tests = pd.DataFrame(
        {"H": kr["H"], "df": kr["df"].astype("int64"), "p (Holm)": kr["p_holm"]},
    )
    # Pairwise Mann-Whitney tests (Holm within indicator): one column per pair of tiers.
    pw = profiles.pairwise
    if len(pw):
        pairs = pw.assign(pair=pw["tier_a"].astype(str) + " vs " + pw["tier_b"].astype(str))
        wide = pairs.pivot(index="indicator", columns="pair", values="p_holm")
        wide = wide.reindex(index=kr.index, columns=list(dict.fromkeys(pairs["pair"])))
        for col in wide.columns:
            tests[f"p {col}"] = wide[col]
    tests.index = [label(c, lang) for c in kr.index]
    tests.index.name = "indicator"

    comparison = compare.compare_schemes(
        vol.rename("volume tier"), study.index_tiers.rename("index tier"), value=revenue
    )
    crosstab = comparison.counts.copy()
    crosstab.index = [f"volume {i}" for i in crosstab.index]
    crosstab.columns = [f"index {c}" for c in crosstab.columns]
    same = float(np.trace(comparison.counts.to_numpy()) / comparison.counts.to_numpy().sum())
    # Each statistic printed in its own convention (share, coefficient, test statistic, p).
    agreement = pd.DataFrame(
        {
            "value": [
                fmt_pct(same),
                fmt_num(comparison.kappa, 3),
                fmt_num(comparison.ari, 3),
                f"{comparison.chi2:,.1f} (df {comparison.chi2_df})",
                fmt_p(comparison.chi2_p),
            ],
        },
        index=pd.Index(
            [
                "same tier (share)",
                "weighted Cohen's κ",
                "adjusted Rand index",
                "chi-square",
                "p-value",
            ],
            name="statistic",
        ),
    )
    agreement_formats: dict = {}  # already formatted above

    held = holdout_tiers(study)
    migration = compare.migration_matrix(vol, held)
    # Rows nobody starts from (no customer is "inactive" in the calibration period) are empty:
    # left out; the columns stay, so "inactive" in the holdout is still shown.
    mig = migration.row_shares.loc[migration.counts.sum(axis=1).to_numpy() > 0].copy()
    mig.index = [f"{i}" for i in mig.index]
    mig.index.name = "calibration tier"
    mig.columns = [str(c) for c in mig.columns]
    rates = pd.DataFrame(
        {
            "value": [migration.stay_rate, migration.upgrade_rate, migration.downgrade_rate],
        },
        index=pd.Index(
            ["stayed in tier", "moved up", "moved down"],
            name="among customers tiered in both periods",
        ),
    )
    top_stay = float(mig.loc[names[0], names[0]]) if names[0] in mig.columns else float("nan")
    inactive_col = [c for c in mig.columns if c not in names]
    top_inactive = float(mig.loc[names[0], inactive_col[0]]) if inactive_col else float("nan")

    idx = study.index
    explained = (
        float(idx.variance_["cumulative"].iloc[-1])
        if "cumulative" in idx.variance_
        else float(idx.variance_.iloc[-1, -1])
    )
    top_cust = float(tier_table["share of customers"].iloc[0])
    top_rev = float(tier_table["share of revenue"].iloc[0])
    metrics = {
        "customers": int(len(X)),
        "net_revenue": float(revenue.sum()),
        "top_tier": names[0],
        "top_tier_customer_share": top_cust,
        "top_tier_revenue_share": top_rev,
        "gini_revenue": float(gini),
        "kmo": float(idx.kmo_),
        "bartlett_p": float(idx.bartlett_["p_value"]),
        "n_factors": int(idx.n_factors_),
        "variance_explained": explained,
        "kappa_volume_vs_index": float(comparison.kappa),
        "ari_volume_vs_index": float(comparison.ari),
        "same_tier_share": same,
        "migration_stay_rate": float(migration.stay_rate),
        "top_tier_stay_share": top_stay,
        "top_tier_inactive_share": top_inactive,
    }
    kpis = [
        ("customers analysed", fmt_int(len(X))),
        (f"revenue from tier {names[0]} ({fmt_pct(top_cust, 0)} of customers)", fmt_pct(top_rev)),
        ("Gini of revenue", fmt_num(gini, 2)),
        ("index factors / variance explained", f"{idx.n_factors_} / {fmt_pct(explained, 0)}"),
        ("same tier by volume and by index", fmt_pct(same)),
    ]
    findings = [
        f"Tier {names[0]} — {fmt_pct(top_cust)} of customers — brings {fmt_pct(top_rev)} of calibration "
        f"net revenue; revenue is {'highly ' if gini >= 0.6 else ''}concentrated (Gini {gini:.2f}).",
        f"The classification index keeps {idx.n_factors_} factors ({'; '.join(idx.factor_names_)}) that "
        f"explain {fmt_pct(explained)} of the indicators' variance; sampling adequacy is "
        f"{_kmo_word(idx.kmo_)} (KMO {idx.kmo_:.2f}).",
        f"Volume tiers and index tiers put {fmt_pct(same)} of customers in the same tier "
        f"(weighted κ {comparison.kappa:.2f}): {fmt_pct(1 - same)} are valued differently by the index "
        "than by their sales volume.",
        f"Of tier {names[0]}, {fmt_pct(top_stay)} were again in tier {names[0]} in the holdout and "
        f"{fmt_pct(top_inactive)} bought nothing; overall {fmt_pct(migration.stay_rate)} of active "
        "customers stayed in their tier.",
    ]
    return SegmentValue(
        metrics=metrics,
        kpis=kpis,
        findings=findings,
        tier_table=tier_table,
        tier_formats=tier_formats,
        lorenz_values={"calibration net revenue": conc},
        profiles=profiles,
        profile_means=means,
        profile_tests=tests,
        test_formats={
            "H": lambda v: fmt_num(v, 1),
            **{c: fmt_p for c in tests.columns if str(c).startswith("p ")},
        },
        comparison=comparison,
        crosstab=crosstab,
        agreement=agreement,
        agreement_formats=agreement_formats,
        migration=migration,
        migration_table=mig,
        migration_rates=rates,
        rate_formats={"value": fmt_pct},
    )


def index_structure(study: Study) -> None:
    """Adequacy, variance table, loadings, composite weights and the index's warnings."""
    idx, lang = study.index, study.language
    b = idx.bartlett_
    adequacy = pd.DataFrame(
        {
            "value": [
                f"{idx.kmo_:.3f} ({_kmo_word(idx.kmo_)})",
                f"χ² = {b['chi2']:,.1f}, df = {int(b['df'])}, p {fmt_p(b['p_value']) if fmt_p(b['p_value']).startswith('<') else '= ' + fmt_p(b['p_value'])}",
                f"{idx.n_factors_} ({idx.n_factors})",
                f"{idx.method}, rotation {idx.rotation or 'none'}",
                f"{idx.n_obs_:,}",
            ]
        },
        index=pd.Index(
            [
                "KMO",
                "Bartlett's test of sphericity",
                "factors retained (rule)",
                "extraction",
                "customers",
            ],
            name="sampling adequacy and extraction",
        ),
    )
    table(adequacy)
    show_warnings(study.index_warnings, title="Index warnings:")
    vt = idx.variance_table()
    keep = vt.iloc[: max(idx.n_factors_ + 2, 4)].copy()
    keep.columns = [f"{a.split(' ')[0].capitalize()}: {b_}" for a, b_ in keep.columns]
    keep.index = [str(i) for i in keep.index]
    keep.index.name = "component"
    table(keep, caption="Total variance explained (first components)", default_digits=2)
    lt = idx.loadings_table()
    lt.index = [label(c, lang) for c in lt.index]
    lt.index.name = "indicator"
    lt.columns = [*[f"F{i + 1}" for i in range(lt.shape[1] - 1)], "communality"]
    table(
        lt, caption="Rotated loadings (|loading| < 0.30 blank) and communalities", default_digits=2
    )
    weights = pd.DataFrame(
        {
            "factor": list(idx.factor_names_),
            "weight in composite": idx.composite_weights_.to_numpy(),
        },
        index=pd.Index([f"F{i + 1}" for i in range(idx.n_factors_)], name="factor"),
    )
    table(
        weights,
        caption="Composite index weights (share of explained variance)",
        formats={"weight in composite": lambda v: fmt_num(v, 3)},
    )
    figure_or_note(lambda: idx.plot_scree(), "Scree plot")
    figure_or_note(lambda: idx.plot_loadings(), "Loadings heatmap")


def methods(study: Study) -> None:
    """The data-dependent part of the methods appendix: what was used, skipped and excluded."""
    X = study.features
    attrs = X.attrs
    rows = [
        ("data", study.source.name),
        ("windows", study.describe_windows()),
        ("customers with a transaction in the calibration window", fmt_int(len(X))),
        (
            "rows read / accepted / rejected",
            f"{fmt_int(study.source.log.n_read)} / {fmt_int(study.source.log.n_accepted)} / "
            f"{fmt_int(study.source.log.n_rejected)}",
        ),
        ("volume tier rule", study.volume_tiers.attrs.get("rule", "")),
        (
            "index system",
            f"{study.index_input.attrs.get('config', '')}: "
            + ", ".join(label(c, study.language) for c in study.index_input.columns),
        ),
    ]
    skipped = study.index_input.attrs.get("skipped", {})
    if skipped:
        rows.append(("indicators skipped", "; ".join(f"{k} ({v})" for k, v in skipped.items())))
    filled = study.index_input.attrs.get("filled", {})
    if filled:
        rows.append(
            (
                "undefined values filled",
                "; ".join(f"{k}: {fmt_int(v)} customers" for k, v in filled.items()),
            )
        )
    negative = int((X["monetary"] < 0).sum())
    rows.append(
        ("customers with negative net revenue (counted as 0 for Gini/Lorenz)", fmt_int(negative))
    )
    for note_text in attrs.get("notes", []):
        rows.append(("note", note_text))
    table(pd.DataFrame(rows, columns=["item", "value"]).set_index("item"), caption="This run")


class ConfiguredIndex:
    """A fitted index applied the way it was fitted: index system (fill, log) then composite.

    ``compare.reclassify(index=...)`` calls ``index.composite(features)`` on raw indicators; the
    index was fitted on ``features.apply_config(...)`` output, so that step must come first.
    """

    def __init__(self, index, config: str, scale: str | None = "0-100"):
        self.index = index
        self.config = config
        self.scale = scale

    def composite(self, features: pd.DataFrame) -> pd.Series:
        from crmresearch.features import apply_config

        return self.index.composite(apply_config(features, self.config), scale=self.scale)


def _period_text(period: Any) -> str:
    """A period label in words: 1997Q3 → "1997 Q3", 1997-09 → "Sep 1997"."""
    if isinstance(period, pd.Period):
        if period.freqstr.startswith("Q"):
            return f"{period.year} Q{period.quarter}"
        if period.freqstr.startswith("M"):
            return f"{period:%b %Y}"
    return str(period)


def _rising_rule_text(values: pd.DataFrame, tiers_: pd.DataFrame, rise: float, periods: int) -> str:
    """The rising-star rule of ``compare.rising_stars`` in plain words."""
    last, first = values.columns[-1], values.columns[max(-1 - periods, -values.shape[1])]
    top = tiers_[last].cat.categories[0]
    return (
        f"outside index tier {top} in {_period_text(last)} and index up by ≥ {rise:g} points "
        f"since {_period_text(first)}"
    )


@dataclass
class CoreLoss:
    """Results, tables and summary of the potential core-customer loss report."""

    metrics: dict
    kpis: list
    findings: list
    result: Any
    comparison: Any
    group_table: pd.DataFrame
    effect_table: pd.DataFrame
    neglected_list: pd.DataFrame
    rising: pd.DataFrame
    rising_rule: str
    problems: pd.DataFrame
    validity: Any
    validity_table: pd.DataFrame
    #: One sentence on what the spend-adjusted odds ratio means (from its 95 % CI).
    adjusted_interpretation: str = ""
    #: Salt of this run's pseudonyms: every customer list of the report uses it (never shown).
    salt: str = field(default="", repr=False)


def odds_ratio_interpretation(ci: Sequence[float], top_tier: str) -> str:
    """What the spend-adjusted odds ratio of churn says, read off its 95 % CI.

    CI covers 1: being outside the top volume tier adds nothing once calibration spend is held
    fixed, so the neglected core's higher raw churn goes with its lower spend. CI above 1: the
    association persists after adjusting for spend; below 1: the neglected core churns less than
    served-core customers of the same spend.
    """
    lo, hi = float(ci[0]), float(ci[1])
    if _missing(lo) or _missing(hi):
        return "The adjusted odds ratio could not be estimated."
    if lo <= 1 <= hi:
        return (
            f"Once calibration spend is held fixed, being outside tier {top_tier} is not associated "
            "with more churn: the higher churn of the neglected core goes with its lower spend."
        )
    if lo > 1:
        return (
            f"The association persists after adjusting for calibration spend: at the same spend, "
            f"customers outside tier {top_tier} churn more often."
        )
    return (
        f"After adjusting for calibration spend, customers outside tier {top_tier} churn less "
        "often than served-core customers of the same spend."
    )


def core_loss(
    study: Study,
    *,
    core_share: float = 0.2,
    pseudonymize_ids: bool = True,
    n_boot: int = 500,
    seed: int = 0,
    rise: float = 10.0,
    rise_freq: str = "Q",
    rise_periods: int = 1,
) -> CoreLoss:
    """Neglected core, churn and revenue lost, rising stars, problem customers, validity."""
    import secrets

    from crmresearch import compare, loss

    X = study.features
    vol, top = study.volume_tiers, study.top_tier
    # One secret salt per report run: the same customer gets the same pseudonym in every list.
    salt = secrets.token_hex(16)
    result = loss.potential_core_loss(
        study.composite,
        vol,
        study.outcomes,
        core_share=core_share,
        top_volume_tiers=(top,),
        revenue_before=X["monetary"],
        pseudonymize=pseudonymize_ids,
        salt=salt,
    )
    comparison = compare.compare_schemes(
        vol.rename("volume tier"), study.index_tiers.rename("index tier"), value=X["monetary"]
    )
    g = result.groups
    names = {
        "neglected_core": "neglected core",
        "served_core": "served core",
        "other": "other customers",
    }
    group_table = pd.DataFrame(
        {
            "customers": g["customers"].astype("int64"),
            "share": g["share"],
            "churn rate": g["churn_rate"],
            "churn 95 % CI": [
                f"{fmt_pct(lo)} – {fmt_pct(hi)}"
                for lo, hi in zip(g["churn_ci_low"], g["churn_ci_high"], strict=True)
            ],
            "revenue before": g["revenue_before"],
            "revenue lost": g["revenue_lost"],
            "share lost": g["revenue_lost_share"],
        }
    )
    group_table.index = pd.Index([names.get(i, i) for i in g.index], name="group")
    c = result.comparison
    effect_table = pd.DataFrame(
        {
            "estimate": [
                f"{_signed(100 * c['risk_difference'])} pts",
                fmt_num(c["risk_ratio"], 2),
                fmt_num(c["odds_ratio"], 2),
            ],
            "95 % CI": [
                f"{_signed(100 * c['risk_difference_ci'][0])} to "
                f"{_signed(100 * c['risk_difference_ci'][1])} pts",
                f"{c['risk_ratio_ci'][0]:.2f} to {c['risk_ratio_ci'][1]:.2f}",
                f"{c['odds_ratio_ci'][0]:.2f} to {c['odds_ratio_ci'][1]:.2f}",
            ],
            "p-value": [c["p_value"], c["p_value"], c["odds_ratio_p_value"]],
            "method": [
                "difference of churn rates, two-proportion z-test",
                "ratio of churn rates (neglected / served)",
                f"logistic regression, controlling for log calibration revenue (n = {c['logit_n']:,})",
            ],
        },
        index=pd.Index(
            ["risk difference", "risk ratio", "odds ratio (adjusted)"],
            name="neglected vs served core",
        ),
    )
    nl = result.neglected.head(15).copy()
    nl.index.name = "customer (pseudonym)" if result.pseudonymized else "customer id"
    nl = nl.rename(
        columns={
            "index_value": "index (0–100)",
            "index_rank": "index rank",
            "volume_tier": "volume tier",
            "revenue_before": "revenue before",
            "revenue_after": "revenue after",
        }
    )

    # Rising stars: the index applied per period; lower-tier customers whose index climbed.
    tiers_by_period, values = compare.reclassify(
        study.source.log,
        freq=rise_freq,
        scheme="abc",
        index=ConfiguredIndex(study.index, study.index_input.attrs.get("config", "ecommerce")),
        start=study.calibration_start or X.attrs.get("window", {}).get("start"),
        end=study.calibration_end,
        return_values=True,
        shares=tuple((study.volume_tiers.value_counts(sort=False) / len(X)).to_numpy()),
    )
    rising = compare.rising_stars(values, tiers_by_period, rise=rise, periods=rise_periods)
    rising_rule = _rising_rule_text(values, tiers_by_period, rise, rise_periods)

    problems = loss.problem_customers(X)
    validity = compare.predictive_validity(
        {"volume tiers": vol, "index tiers": study.index_tiers},
        study.outcomes,
        top=core_share,
        n_boot=n_boot,
        seed=seed,
    )
    vt = validity.table
    validity_table = pd.DataFrame(
        {
            "predicted top": vt["predicted_top"].astype("int64"),
            **{
                m.replace("_", " "): [
                    f"{fmt_pct(v)} ({fmt_pct(lo)} – {fmt_pct(hi)})"
                    for v, lo, hi in zip(vt[m], vt[m + "_low"], vt[m + "_high"], strict=True)
                ]
                for m in ("precision", "recall", "value_capture")
            },
        },
        index=pd.Index([str(i) for i in vt.index], name="scheme (top tier)"),
    )

    n_neg = int(g.loc["neglected_core", "customers"])
    n_core = n_neg + int(g.loc["served_core", "customers"])
    churn_neg = float(g.loc["neglected_core", "churn_rate"])
    churn_srv = float(g.loc["served_core", "churn_rate"])
    lost_neg = float(g.loc["neglected_core", "revenue_lost"])
    vc = {str(k): float(v) for k, v in vt["value_capture"].items()}
    prec = {str(k): float(v) for k, v in vt["precision"].items()}
    metrics = {
        "customers": int(result.n),
        "core_customers": n_core,
        "neglected_core": n_neg,
        "neglected_share_of_core": n_neg / n_core if n_core else float("nan"),
        "churn_neglected_core": churn_neg,
        "churn_served_core": churn_srv,
        "churn_other": float(g.loc["other", "churn_rate"]),
        "risk_difference": float(c["risk_difference"]),
        "risk_difference_ci": [float(v) for v in c["risk_difference_ci"]],
        "risk_ratio": float(c["risk_ratio"]),
        "p_value": float(c["p_value"]),
        "odds_ratio_adjusted": float(c["odds_ratio"]),
        "revenue_lost_neglected_core": lost_neg,
        "revenue_lost_served_core": float(g.loc["served_core", "revenue_lost"]),
        "rising_stars": int(len(rising)),
        "problem_customers": int(len(problems)),
        "precision_volume": prec.get("volume tiers"),
        "precision_index": prec.get("index tiers"),
        "value_capture_volume": vc.get("volume tiers"),
        "value_capture_index": vc.get("index tiers"),
    }
    lo, hi = c["risk_difference_ci"]
    significant = lo > 0 or hi < 0
    kpis = [
        (
            f"neglected core customers ({fmt_pct(n_neg / n_core if n_core else float('nan'), 0)} of the core)",
            fmt_int(n_neg),
        ),
        (
            "holdout churn: neglected vs served core",
            f"{fmt_pct(churn_neg, 0)} vs {fmt_pct(churn_srv, 0)}",
        ),
        ("revenue of churned neglected-core customers", fmt_money(lost_neg)),
        ("rising stars in lower tiers", fmt_int(len(rising))),
    ]
    direction = "more" if c["risk_difference"] > 0 else "less"
    adjusted = odds_ratio_interpretation(c["odds_ratio_ci"], top)
    findings = [
        f"{fmt_int(n_neg)} of the {fmt_int(n_core)} most valuable customers by the index "
        f"(top {fmt_pct(core_share, 0)}) are outside volume tier {top}, i.e. not treated as key accounts.",
        f"They churned {direction} often in the holdout than the served core ({fmt_pct(churn_neg)} vs "
        f"{fmt_pct(churn_srv)}; difference {_signed(c['risk_difference'] * 100)} pts, 95 % CI "
        f"{_signed(lo * 100)} to {_signed(hi * 100)} pts), which is "
        + ("statistically significant." if significant else "not statistically significant."),
        f"Adjusted for calibration revenue, the odds ratio of churn for the neglected core is "
        f"{c['odds_ratio']:.2f} (95 % CI {c['odds_ratio_ci'][0]:.2f}–{c['odds_ratio_ci'][1]:.2f}, "
        f"p {'< 0.001' if c['odds_ratio_p_value'] < 0.001 else '= ' + format(c['odds_ratio_p_value'], '.3f')}). "
        + adjusted,
        f"Churned neglected-core customers had brought {fmt_money(lost_neg)} in the calibration period.",
        f"The index's top tier captures {fmt_pct(vc.get('index tiers'))} of next-period revenue vs "
        f"{fmt_pct(vc.get('volume tiers'))} for the volume scheme's top tier (precision "
        f"{fmt_pct(prec.get('index tiers'))} vs {fmt_pct(prec.get('volume tiers'))}).",
    ]
    return CoreLoss(
        metrics=metrics,
        kpis=kpis,
        findings=findings,
        result=result,
        comparison=comparison,
        group_table=group_table,
        effect_table=effect_table,
        neglected_list=nl,
        rising=rising,
        rising_rule=rising_rule,
        problems=problems,
        validity=validity,
        validity_table=validity_table,
        adjusted_interpretation=adjusted,
        salt=salt,
    )


GROUP_FORMATS = {
    "share": fmt_pct,
    "churn rate": fmt_pct,
    "revenue before": fmt_money,
    "revenue lost": fmt_money,
    "share lost": fmt_pct,
}


def rising_and_problems(cl: CoreLoss) -> None:
    """Rising-star list and problem-customer summary with their rules."""
    rising = cl.rising.head(15).copy()
    if cl.result.pseudonymized:
        from crmresearch.loss import pseudonymize_ids

        # the salt of the neglected-core list, so a customer has one pseudonym in the report
        rising.index = pseudonymize_ids(rising.index, cl.salt)
    rising.index.name = "customer (pseudonym)" if cl.result.pseudonymized else "customer id"
    rising = rising.rename(
        columns={"value_before": "index before", "value_now": "index now", "rise": "rise (points)"}
    )
    table(
        rising,
        caption=f"Rising stars: {len(cl.rising):,} customers ({cl.rising_rule}); top 15",
        default_digits=1,
    )
    p = cl.problems
    applied = p.attrs.get("rules", [])
    skipped = p.attrs.get("skipped_rules", [])
    if not applied:
        note(
            f"not applicable: the data have no {_missing_data_words(skipped)} columns.",
            kind="info",
            title="Problem customers:",
        )
        return
    text = (
        f"{len(p):,} of {p.attrs.get('n_checked', 0):,} customers fail at least one problem rule."
    )
    if skipped:
        text += (
            " Rules not applied because the data lack their columns: "
            + "; ".join(map(str, skipped))
            + "."
        )
    note(text, kind="info", title="Problem customers.")
    if len(p):
        reasons = p["reasons"].str.split("; ").explode().value_counts()
        table(
            reasons.rename("customers").to_frame().rename_axis("reason"),
            caption="Problem customers by rule",
        )


def _missing_data_words(skipped: Sequence[str]) -> str:
    """What kind of data the skipped problem rules needed: "payment or return"."""
    kinds = []
    for rule in skipped:
        column = str(rule).split(" ")[0]
        kind = (
            "payment"
            if ("pay" in column or "overdue" in column)
            else "return"
            if "return" in column
            else column.replace("_", " ")
        )
        if kind not in kinds:
            kinds.append(kind)
    return " or ".join(kinds) if kinds else "required"


@dataclass
class Strategy:
    """Results, tables and summary of the strategy-effectiveness report."""

    metrics: dict
    kpis: list
    findings: list
    targeting: Any
    targeting_table: pd.DataFrame
    campaign_source: Source | None
    campaign_is_separate: bool
    frame: pd.DataFrame | None
    effects: Any
    churn_effects: Any
    effects_table: pd.DataFrame
    heterogeneity: pd.DataFrame
    planted: pd.DataFrame | None
    roi: pd.DataFrame
    policies: Any
    policy_table: pd.DataFrame
    power: pd.DataFrame


#: Pre-period covariates of the campaign analysis (ANCOVA effects, doubly robust policy values).
CAMPAIGN_COVARIATES = ("monetary", "frequency")


def _effects_table(effects, planted: pd.Series | None, money: bool) -> pd.DataFrame:
    t = effects.table
    fmt = (lambda v: fmt_money(v, 2)) if money else (lambda v: f"{_signed(v * 100)} pts")
    out = pd.DataFrame(
        {
            "treated": t["n_treated"].astype("int64").to_numpy(),
            "control": t["n_control"].astype("int64").to_numpy(),
            "control mean": [fmt_money(v, 2) if money else fmt_pct(v) for v in t["control_mean"]],
            "effect": [fmt(v) for v in t["effect"]],
            "95 % CI": [
                f"{fmt(lo)} to {fmt(hi)}" for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)
            ],
            "p (Holm)": [fmt_p(p) for p in t["p_adjusted"]],
        },
        index=pd.Index([str(x) for x in t["tier"]], name="tier"),
    )
    if planted is not None:
        out["planted effect"] = [fmt(planted.get(str(x), float("nan"))) for x in t["tier"]]
    return out


def strategy_effectiveness(
    study: Study,
    *,
    budget: float = 0.2,
    campaign: str = "synthetic",
    campaign_customers: int = 3000,
    margin: float = 0.3,
    cost_per_customer: float = 5.0,
    n_boot: int = 500,
    seed: int = 0,
    prepare_kwargs: Mapping[str, Any] | None = None,
) -> Strategy:
    """Schemes as targeting policies on the holdout; campaign effects, ROI, policies, power."""
    from crmresearch import compare, strategy, tiers

    X = study.features
    share = (budget, 1 - budget)
    targets = {
        "top by volume": tiers.abc(X["monetary"], shares=share, labels=("target", "other")),
        "top by index": tiers.abc(study.composite, shares=share, labels=("target", "other")),
    }
    targeting = compare.predictive_validity(
        targets, study.outcomes, top=budget, n_boot=n_boot, seed=seed
    )
    tt = targeting.table
    targeting_table = pd.DataFrame(
        {
            "customers targeted": tt["predicted_top"].astype("int64"),
            **{
                m.replace("_", " "): [
                    f"{fmt_pct(v)} ({fmt_pct(lo)} – {fmt_pct(hi)})"
                    for v, lo, hi in zip(tt[m], tt[m + "_low"], tt[m + "_high"], strict=True)
                ]
                for m in ("precision", "value_capture")
            },
        },
        index=pd.Index([str(i) for i in tt.index], name="policy"),
    )
    vc = {str(k): float(v) for k, v in tt["value_capture"].items()}

    metrics: dict[str, Any] = {
        "customers": int(len(X)),
        "budget_share": budget,
        "value_capture_top_by_index": vc.get("top by index"),
        "value_capture_top_by_volume": vc.get("top by volume"),
    }
    findings = [
        f"Targeting the top {fmt_pct(budget, 0)} of customers by the index would reach "
        f"{fmt_pct(vc.get('top by index'))} of next-period revenue, against "
        f"{fmt_pct(vc.get('top by volume'))} when targeting by sales volume."
    ]
    kpis = [
        (
            f"holdout revenue reached, top {fmt_pct(budget, 0)} by index",
            fmt_pct(vc.get("top by index")),
        ),
        (
            f"holdout revenue reached, top {fmt_pct(budget, 0)} by volume",
            fmt_pct(vc.get("top by volume")),
        ),
    ]
    empty = pd.DataFrame()
    if campaign == "none":
        return Strategy(
            metrics,
            kpis,
            findings,
            targeting,
            targeting_table,
            None,
            False,
            None,
            None,
            None,
            empty,
            empty,
            None,
            empty,
            None,
            empty,
            empty,
        )

    # The campaign: the data's own randomized campaign when it is synthetic, else a separate
    # synthetic world (real logs such as CDNOW carry no campaign) - labelled as such.
    if study.source.is_synthetic:
        csrc, cstudy, separate = study.source, study, False
    else:
        csrc = load_source("synthetic", n_customers=campaign_customers, seed=seed)
        kwargs = dict(prepare_kwargs or {})
        for key in ("calibration_start", "calibration_end", "holdout_end"):
            kwargs.pop(key, None)
        cstudy = prepare(csrc, **kwargs)
        separate = True
    syn, truth = csrc.synthetic, csrc.synthetic.truth
    frame = strategy.experiment_from_log(
        syn.transactions,
        syn.campaign,
        pre=(truth.start, truth.calibration_end),
        post=(truth.holdout_start, truth.holdout_end),
    )
    frame["index_score"] = frame["customer_id"].map(cstudy.composite).astype("float64")
    # Revenue is heavy-tailed: adjusting for pre-period spend and orders (ANCOVA) removes the
    # chance imbalance that makes unadjusted tier effects erratic. Customers without pre-period
    # activity have spent nothing, hence 0.
    frame = frame.fillna({c: 0.0 for c in CAMPAIGN_COVARIATES})
    effects = strategy.effect_by_tier(
        frame,
        treatment="arm",
        outcome="revenue",
        tier="tier",
        covariates=list(CAMPAIGN_COVARIATES),
    )
    churn_effects = strategy.effect_by_tier(frame, treatment="arm", outcome="churned", tier="tier")
    planted = truth.campaign_effects["revenue"].rename(index=str)
    effects_table = _effects_table(effects, planted, money=True)
    het = effects.heterogeneity
    heterogeneity = pd.DataFrame(
        {
            "χ²": het["chi2"].to_numpy(),
            "df": het["df"].astype("int64").to_numpy(),
            "p-value": het["p_value"].to_numpy(),
        },
        index=pd.Index(["treatment × tier interactions"], name="Wald test"),
    )
    roi_table = strategy.roi(effects, margin=margin, cost_per_customer=cost_per_customer)
    rules = {
        "treat nobody": "nobody",
        "treat everyone": "everyone",
        f"random {fmt_pct(budget, 0)}": "random",
        f"top {fmt_pct(budget, 0)} by volume": "monetary",
        f"top {fmt_pct(budget, 0)} by index": "index_score",
    }
    policies = strategy.policy_value(
        frame.fillna({"index_score": 0.0}),
        rules,
        treatment="arm",
        outcome="revenue",
        covariates=list(CAMPAIGN_COVARIATES),
        budget=budget,
        n_boot=n_boot,
        seed=seed,
    )
    pt = policies.table
    policy_table = pd.DataFrame(
        {
            "share treated": [fmt_pct(v, 0) for v in pt["share_treated"]],
            "revenue per customer": [fmt_money(v, 2) for v in pt["value"]],
            "95 % CI": [
                f"{fmt_money(lo, 2)} – {fmt_money(hi, 2)}"
                for lo, hi in zip(pt["ci_low"], pt["ci_high"], strict=True)
            ],
        },
        index=pd.Index([str(r) for r in pt["rule"]], name="targeting rule"),
    )
    power = strategy.power_table(frame, treatment="arm", outcome="revenue", tier="tier")

    et = effects.table.set_index(effects.table["tier"].astype(str))
    overall = et.loc["overall"]
    by_tier = et.drop(index="overall")
    best = by_tier["effect"].idxmax()
    rt = roi_table.set_index(roi_table["tier"].astype(str))
    pvals = dict(zip(pt["rule"].astype(str), pt["value"].astype(float), strict=True))
    metrics.update(
        {
            "campaign_synthetic": True,
            "campaign_customers": int(len(frame)),
            "effect_overall_revenue": float(overall["effect"]),
            "effect_overall_ci": [float(overall["ci_low"]), float(overall["ci_high"])],
            "effect_by_tier_revenue": {str(k): float(v) for k, v in by_tier["effect"].items()},
            "heterogeneity_p": float(het["p_value"].iloc[0]) if len(het) else None,
            "best_tier": str(best),
            "profit_overall": float(rt.loc["overall", "total_profit"]),
            "break_even_cost_overall": float(rt.loc["overall", "break_even_cost"]),
            "policy_value_top_by_index": pvals[f"top {fmt_pct(budget, 0)} by index"],
            "policy_value_top_by_volume": pvals[f"top {fmt_pct(budget, 0)} by volume"],
        }
    )
    label_ = "synthetic campaign, simulated customers" if separate else "synthetic campaign"
    hp = metrics["heterogeneity_p"]
    # Name a "best" tier only when the tiers' effects can be told apart (Wald test p < 0.05).
    differ = hp is not None and hp < 0.05
    kpis += [
        (f"revenue effect per treated customer ({label_})", fmt_money(overall["effect"], 2)),
        (
            (
                f"tier with the largest effect ({label_}; heterogeneity p {_p_text(hp)})",
                f"{best}: {fmt_money(by_tier.loc[best, 'effect'], 2)}",
            )
            if differ
            else (
                f"95 % CI of the overall effect ({label_})",
                f"{fmt_money(overall['ci_low'], 2)} to {fmt_money(overall['ci_high'], 2)}",
            )
        ),
        ("incremental profit overall (synthetic)", fmt_money(rt.loc["overall", "total_profit"])),
    ]
    findings += [
        f"In the SYNTHETIC randomized campaign ({fmt_int(len(frame))} customers), treatment raised holdout "
        f"revenue by {fmt_money(overall['effect'], 2)} per customer (95 % CI {fmt_money(overall['ci_low'], 2)} to "
        f"{fmt_money(overall['ci_high'], 2)}).",
        (
            f"The effects differ between tiers (heterogeneity p {_p_text(hp)}); "
            f"the effect was largest in tier {best}."
            if differ
            else "The effects cannot be told apart between tiers "
            + (f"(heterogeneity p {_p_text(hp)})." if hp is not None else "(no test available).")
        ),
        f"At a margin of {fmt_pct(margin, 0)} and {fmt_money(cost_per_customer, 2)} per treated customer, the "
        f"synthetic campaign's incremental profit is {fmt_money(rt.loc['overall', 'total_profit'])} overall.",
    ]
    return Strategy(
        metrics=metrics,
        kpis=kpis[:5],
        findings=findings,
        targeting=targeting,
        targeting_table=targeting_table,
        campaign_source=csrc,
        campaign_is_separate=separate,
        frame=frame,
        effects=effects,
        churn_effects=churn_effects,
        effects_table=effects_table,
        heterogeneity=heterogeneity,
        planted=planted.to_frame(),
        roi=roi_table,
        policies=policies,
        policy_table=policy_table,
        power=power,
    )


def roi_view(roi_table: pd.DataFrame) -> pd.DataFrame:
    """ROI table for reading: money rounded, CIs as ranges."""
    r = roi_table
    out = pd.DataFrame(
        {
            "treated": r["n_treated"].astype("int64").to_numpy(),
            "break-even cost per customer": [fmt_money(v, 2) for v in r["break_even_cost"]],
            "profit per customer": [fmt_money(v, 2) for v in r["profit_per_customer"]],
            "95 % CI": [
                f"{fmt_money(lo, 2)} – {fmt_money(hi, 2)}"
                for lo, hi in zip(r["profit_ci_low"], r["profit_ci_high"], strict=True)
            ],
            "total profit": [fmt_money(v) for v in r["total_profit"]],
        },
        index=pd.Index([str(t) for t in r["tier"]], name="tier"),
    )
    return out


def power_view(power: pd.DataFrame) -> pd.DataFrame:
    p = power
    out = pd.DataFrame(
        {
            "treated": p["n_treated"].astype("int64").to_numpy(),
            "control": p["n_control"].astype("int64").to_numpy(),
            "minimum detectable effect": [fmt_money(v, 2) for v in p["mde"]],
            "relative to control mean": [fmt_pct(v) for v in p["mde_relative"]],
        },
        index=pd.Index([str(t) for t in p["tier"]], name="tier"),
    )
    return out
