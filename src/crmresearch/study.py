"""The one analysis pipeline every CLI command and every report section shares.

``Study`` holds the windows, the transaction log, the calibration-window indicators, the
configured classification index and its composite, the volume and index tiers and the holdout
outcomes — each computed once, on first use, from one set of parameters with one set of defaults.
The CLI commands and the report notebooks build a ``Study`` and read from it; they never wire the
steps themselves, so a figure printed by ``crmresearch loss`` and the same figure in the
core-customer-loss report cannot differ.

Data flow: ``data → features → index → tiers`` happen here; the analyses downstream
(``compare``, ``loss``, ``strategy``) take the study's plain results as input.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "Source",
    "StudyParams",
    "Study",
    "ConfiguredIndex",
    "load_source",
    "file_sha256",
    "fit_index",
    "iso_date",
    "parse_n_factors",
    "volume_scheme",
    "CDNOW_WINDOWS",
]

#: Default windows of the bundled CDNOW log (calibration ≤ 1997-09-30, holdout to 1998-06-30).
CDNOW_WINDOWS = ("1997-09-30", "1998-06-30")


# ---------------------------------------------------------------------------- data source


@dataclass
class Source:
    """The transaction data a study runs on, with the facts a manifest needs.

    ``path`` is kept for reading only; manager-facing output names the file by ``name`` (its
    basename) and ``sha256``, never by a path of the machine.
    """

    name: str
    log: Any
    synthetic: Any = None
    path: str | None = None
    sha256: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def is_synthetic(self) -> bool:
        return self.synthetic is not None

    @property
    def is_cdnow(self) -> bool:
        return self.name.startswith("CDNOW")


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_source(
    data: Any,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    n_customers: int = 5000,
    seed: int = 0,
    **read_options: Any,
) -> Source:
    """Load ``data``: ``"cdnow"`` (bundled real log), ``"synthetic"``, a file path, or a
    ``TransactionLog`` already read. ``read_options`` (``sep``, ``encoding``, ``sheet`` …) go to
    :func:`crmresearch.data.read_transactions`."""
    from crmresearch import data as crm_data
    from crmresearch import datasets

    if isinstance(data, crm_data.TransactionLog):
        path = getattr(data, "source", None)
        name = Path(str(path)).name if path else "transaction log"
        src = Source(name, data, path=str(path) if path else None)
    elif data == "cdnow":
        log = datasets.load_cdnow()
        path = getattr(log, "source", None)
        src = Source("CDNOW master log (bundled)", log, path=str(path) if path else None)
    elif data == "synthetic":
        syn = datasets.make_crm_data(n_customers=n_customers, seed=seed)
        src = Source(
            f"synthetic CRM data (n={n_customers:,}, seed={seed})", syn.transactions, synthetic=syn
        )
    else:
        options = {k: v for k, v in read_options.items() if v not in (None, "")}
        log = crm_data.read_transactions(
            data, columns=dict(columns) if columns else None, date_format=date_format or None,
            **options,
        )  # fmt: skip
        src = Source(Path(str(data)).name, log, path=str(data))
    if src.path and Path(src.path).is_file():
        src.sha256 = file_sha256(src.path)
    frame = src.log.frame
    src.facts = {
        "data_source": src.name,
        "data_file": Path(src.path).name if src.path else None,
        "data_sha256": src.sha256,
        "rows_read": int(src.log.n_read),
        "rows_accepted": int(src.log.n_accepted),
        "rows_rejected": int(src.log.n_rejected),
        "customers": int(frame["customer_id"].nunique()),
        "first_date": str(frame["date"].min().date()),
        "last_date": str(frame["date"].max().date()),
    }
    return src


# ---------------------------------------------------------------------------- parameters


def parse_n_factors(value: Any) -> Any:
    """Parameter text → ``ClassificationIndex(n_factors=...)``: "parallel", "kaiser", 3, 0.8."""
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


@dataclass(frozen=True)
class StudyParams:
    """The parameters of a study, with the one set of defaults the CLI and the reports share.

    Empty strings mean "not given" (papermill parameters cannot be ``None`` safely): the windows
    then default to the data set's own (CDNOW: calibration to 1997-09-30, holdout to 1998-06-30).
    """

    calibration_start: str = ""
    calibration_end: str = ""
    holdout_start: str = ""
    holdout_end: str = ""
    index_config: str = "ecommerce"
    method: str = "pc"
    rotation: str = "varimax"
    n_factors: Any = "parallel"
    score_method: str = "regression"
    tier_scheme: str = "abc"
    tier_shares: tuple = (0.05, 0.15, 0.80)
    seed: int = 0
    language: str = "en"
    # Index options the reports leave at their defaults and the CLI exposes (`crmresearch index`).
    weights: str = "rotated"
    missing: str | None = None
    varimax: str = "r"
    # Indicators to compute (None = every indicator the log allows).
    indicators: tuple | None = None

    @classmethod
    def from_mapping(cls, params: Mapping[str, Any]) -> StudyParams:
        """The study's parameters out of a report's or command's parameter dict (others ignored)."""
        names = {f.name for f in fields(cls)}
        given = {k: v for k, v in params.items() if k in names and v is not None}
        if "tier_shares" in given:
            given["tier_shares"] = tuple(float(s) for s in given["tier_shares"])
        if given.get("indicators") is not None:
            given["indicators"] = tuple(given["indicators"])
        return cls(**given)


def fit_index(matrix: pd.DataFrame, params: StudyParams | None = None):
    """Fit the classification index on ``matrix`` (the index system's output) with the study's
    index parameters: the one place a CLI command or a report constructs and fits an index."""
    from crmresearch.index import ClassificationIndex

    p = params or StudyParams()
    return ClassificationIndex(
        n_factors=parse_n_factors(p.n_factors),
        method=p.method,
        rotation=None if p.rotation in ("none", "", None) else p.rotation,
        score_method=p.score_method,
        weights=p.weights,
        missing=p.missing,
        seed=p.seed,
        varimax=p.varimax,
    ).fit(matrix)


# ---------------------------------------------------------------------------- configured index


class ConfiguredIndex:
    """A fitted index applied the way it was fitted: the index system's preparation (fills, log
    transforms) first, then the composite.

    ``compare.reclassify(index=...)`` and ``crmresearch score`` call ``.composite(features)`` on
    raw indicators; the index was fitted on ``features.apply_config(...)`` output, so that step
    must come first. An index that log-transforms by itself (fitted with ``log_transform=``) gets
    the filled but untransformed indicators, so nothing is logged twice.
    """

    def __init__(self, index, config: Any = "ecommerce", scale: str | None = "0-100"):
        self.index = index
        self.config = config
        self.scale = scale

    def prepare(self, features: pd.DataFrame) -> pd.DataFrame:
        """The matrix the index scores: ``features`` through the index system's preparation."""
        from crmresearch.features import apply_config, load_config

        cfg = self.config
        if not hasattr(cfg, "fill"):
            cfg = load_config(cfg)
        if getattr(self.index, "log_columns_", None):
            X = features[[c for c in self.index.columns_ if c in features.columns]]
            X = X.astype("float64")
            saved = (getattr(self.index, "meta_", None) or {}).get("fill")
            fill = {c: v for c, v in (saved or cfg.fill).items() if c in X.columns}
            filled = {c: int(X[c].isna().sum()) for c in fill if X[c].isna().any()}
            X = X.fillna(fill)
            X.attrs = {"config": getattr(cfg, "name", None), "filled": filled, "skipped": {}}
            return X
        return apply_config(features, cfg)

    def composite(self, features: pd.DataFrame) -> pd.Series:
        """The composite index of raw indicators ``features`` (scaled as configured)."""
        return self.index.composite(self.prepare(features), scale=self.scale)


# ---------------------------------------------------------------------------- the study


def _window_defaults(source: Source) -> tuple[str, str]:
    if source.is_synthetic:
        t = source.synthetic.truth
        return (f"{t.calibration_end:%Y-%m-%d}", f"{t.holdout_end:%Y-%m-%d}")
    if source.is_cdnow:
        return CDNOW_WINDOWS
    return ("", "")


_ISO_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")


def iso_date(value: Any, name: str) -> str:
    """An ISO 8601 calendar date parameter (YYYY-MM-DD, or the basic form YYYYMMDD) as
    ``"YYYY-MM-DD"``. Ambiguous forms (05.01.2024, 1/5/24) are refused: they are read as
    January 5 in one country and May 1 in another. ``name`` (e.g. ``--end``) is in the message."""
    from crmresearch.errors import DataError

    text = f"{value:%Y-%m-%d}" if isinstance(value, (pd.Timestamp, dt.date)) else str(value).strip()
    match = _ISO_DATE.match(text)
    if match and (text.count("-") in (0, 2)):
        try:
            day = dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            match = None
    if not match or text.count("-") not in (0, 2):
        raise DataError(
            f"{name} = {text!r}: give the date as YYYY-MM-DD, e.g. 2024-06-30 (forms like "
            "05.01.2024 or 1/5/24 are ambiguous and refused)"
        ) from None
    return f"{day:%Y-%m-%d}"


_iso = iso_date  # the name used before iso_date was public


class Study:
    """Features → configured index → composite → volume and index tiers → holdout outcomes.

    Build it with :meth:`from_params` (parameters as in the reports and the CLI), with
    :meth:`from_features` (a features table already computed, e.g. by ``crmresearch features``)
    or directly from a :class:`Source`. Every step is computed once, when first used
    (``cached_property``), so a CLI command that needs only the features never fits an index.

    Parameters
    ----------
    source : Source
        The data (see :func:`load_source`); ``source.log`` is None for a study built from a
        features table (no holdout outcomes then).
    params : StudyParams
        Windows, index system and tiering; defaults shared by the CLI and the reports.
    index : fitted ClassificationIndex, optional
        Use this index (e.g. loaded from ``index.json``) instead of fitting one.
    features : DataFrame, optional
        The calibration-window indicators, when already computed (see :meth:`from_features`).
    require_holdout : bool
        Refuse a study without a holdout window (default). ``crmresearch features`` needs only
        the calibration window and passes False; :attr:`outcomes` then raises.
    """

    def __init__(
        self,
        source: Source,
        params: StudyParams | None = None,
        *,
        index=None,
        features: pd.DataFrame | None = None,
        require_holdout: bool = True,
    ):
        self.source = source
        self.params = params or StudyParams()
        self._given_index = index
        self.index_warnings: list[str] = []
        if features is not None:
            self.__dict__["features"] = features  # the cached_property's slot
        p = self.params
        default_cal, default_hold = _window_defaults(source)
        if features is not None:
            default_cal = default_cal or str(features.attrs.get("window", {}).get("end", ""))[:10]
        cal = p.calibration_end or default_cal
        hold = p.holdout_end or default_hold
        from_log = source.log is not None
        if from_log and not cal or (from_log and require_holdout and not hold):
            raise ValueError(
                "give calibration_end and holdout_end (YYYY-MM-DD) for your own data, e.g. "
                "-p calibration_end=2024-06-30 -p holdout_end=2024-12-31"
            )
        self.calibration_start: str | None = (
            iso_date(p.calibration_start, "calibration_start") if p.calibration_start else None
        )
        self.calibration_end: str | None = iso_date(cal, "calibration_end") if cal else None
        if (
            self.calibration_start
            and self.calibration_end
            and (self.calibration_start > self.calibration_end)
        ):
            raise ValueError(
                f"calibration_end {self.calibration_end} must be on or after calibration_start "
                f"{self.calibration_start}"
            )
        self.holdout_end: str | None = iso_date(hold, "holdout_end") if hold else None
        self.holdout_start: str | None = None
        if self.calibration_end and (p.holdout_start or self.holdout_end):
            day_after = pd.Timestamp(self.calibration_end) + pd.Timedelta(days=1)
            self.holdout_start = (
                iso_date(p.holdout_start, "holdout_start")
                if p.holdout_start
                else f"{day_after:%Y-%m-%d}"
            )
            if pd.Timestamp(self.holdout_start) <= pd.Timestamp(self.calibration_end):
                raise ValueError(
                    f"holdout start {self.holdout_start} must be after calibration_end "
                    f"{self.calibration_end}"
                )
        if (
            self.holdout_end
            and self.holdout_start
            and (pd.Timestamp(self.holdout_end) < pd.Timestamp(self.holdout_start))
        ):
            raise ValueError(
                f"holdout_end {self.holdout_end} must be after calibration_end {self.calibration_end}"
                if not p.holdout_start
                else f"holdout_end {self.holdout_end} must be on or after holdout_start "
                f"{self.holdout_start}"
            )

    @classmethod
    def from_params(
        cls,
        data: Any = "cdnow",
        *,
        columns: Mapping[str, str] | None = None,
        date_format: str | None = None,
        n_customers: int = 5000,
        read_options: Mapping[str, Any] | None = None,
        index=None,
        require_holdout: bool = True,
        **params: Any,
    ) -> Study:
        """Load ``data`` and set up the study; ``params`` are :class:`StudyParams` fields."""
        study_params = StudyParams.from_mapping(params)
        source = load_source(
            data, columns=columns, date_format=date_format, n_customers=n_customers,
            seed=study_params.seed, **dict(read_options or {}),
        )  # fmt: skip
        return cls(source, study_params, index=index, require_holdout=require_holdout)

    @classmethod
    def from_features(
        cls, features: pd.DataFrame, *, index=None, name: str = "features table", **params: Any
    ) -> Study:
        """A study on a features table already computed (one row per customer): the index,
        composite and tiers, but no holdout outcomes (there is no transaction log)."""
        source = Source(name, None)
        return cls(source, StudyParams.from_mapping(params), index=index, features=features)

    def with_params(self, **changes: Any) -> Study:
        """A new study on the same source with some parameters changed (nothing recomputed
        that the change does not touch is shared: the new study starts empty)."""
        return Study(self.source, replace(self.params, **changes), index=self._given_index)

    # ------------------------------------------------------------------ shared facts

    @property
    def log(self):
        return self.source.log

    @property
    def language(self) -> str:
        return self.params.language

    @property
    def tier_scheme(self) -> str:
        return self.params.tier_scheme

    @property
    def tier_shares(self) -> tuple:
        return tuple(self.params.tier_shares)

    @property
    def calibration_start_used(self) -> str:
        """The calibration window's first date (given, else the data's first date)."""
        start = self.calibration_start or self.features.attrs.get("window", {}).get("start", "")
        return str(start)[:10] if start else ""

    def describe_windows(self) -> str:
        text = f"calibration {self.calibration_start_used} to {self.calibration_end}"
        if self.holdout_end:
            text += f"; holdout {self.holdout_start} to {self.holdout_end}"
        return text

    # ------------------------------------------------------------------ the steps

    @cached_property
    def features(self) -> pd.DataFrame:
        """Indicators of every customer active in the calibration window."""
        from crmresearch.features import customer_features

        indicators = list(self.params.indicators) if self.params.indicators else None
        return customer_features(
            self.log, start=self.calibration_start, end=self.calibration_end, indicators=indicators
        )

    @cached_property
    def configured_index(self) -> ConfiguredIndex:
        """The fitted (or given) index with the index system it was fitted on."""
        p = self.params
        if self._given_index is not None:
            return ConfiguredIndex(self._given_index, p.index_config)
        from crmresearch.features import apply_config

        Z = apply_config(self.features, p.index_config)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            idx = fit_index(Z, p)
        texts = [str(w.message) for w in caught]
        self.index_warnings = list(dict.fromkeys([*texts, *getattr(idx, "warnings_", [])]))
        return ConfiguredIndex(idx, p.index_config)

    @property
    def index(self):
        """The fitted :class:`~crmresearch.index.ClassificationIndex`."""
        return self.configured_index.index

    @cached_property
    def index_input(self) -> pd.DataFrame:
        """The indicator matrix the index was fitted on / scores (after the index system)."""
        return self.configured_index.prepare(self.features)

    @cached_property
    def composite(self) -> pd.Series:
        """The composite classification index, 0–100 (higher = more valuable)."""
        return self.index.composite(self.index_input, scale="0-100")

    def scores(self) -> pd.DataFrame:
        """Factor scores, the composite and the composite on the 0–100 scale, per customer."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # undefined rows are counted by the caller
            scores = self.index.transform(self.index_input)
            scores["composite"] = self.index.composite(self.index_input)
            scores["composite_0_100"] = self.composite
        scores.index.name = "customer_id"
        return scores

    @cached_property
    def volume_tiers(self) -> pd.Series:
        """The firm's volume tiers (calibration net revenue under the tier scheme)."""
        return volume_scheme(self.features["monetary"], self.tier_scheme, self.tier_shares)

    @cached_property
    def index_tiers(self) -> pd.Series:
        """Index tiers with the same customer counts per tier as the volume tiers."""
        from crmresearch import tiers

        if self.tier_scheme == "abc":
            return volume_scheme(self.composite, "abc", self.tier_shares)
        # Pareto cuts by value share, which the index has not: use the volume scheme's counts.
        volume = self.volume_tiers
        counts = volume.value_counts(sort=False).reindex(volume.cat.categories).to_numpy()
        return tiers.abc(self.composite, shares=tuple(counts / counts.sum()))

    @property
    def top_tier(self) -> str:
        return str(self.volume_tiers.cat.categories[0])

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        """Holdout purchases, revenue and churn of the calibration customers."""
        from crmresearch.features import holdout_outcomes

        if self.log is None:
            raise ValueError(
                f"{self.source.name}: a study built from a features table has no transaction "
                "log, hence no holdout outcomes"
            )
        if not self.holdout_end:
            raise ValueError("give holdout_end (YYYY-MM-DD) for the holdout outcomes")
        return holdout_outcomes(
            self.log, start=self.holdout_start, end=self.holdout_end, customers=self.features.index
        )

    def windows(self) -> dict[str, dict[str, str]]:
        """The two windows as plain data (for JSON outputs and manifests)."""
        out = {"calibration": {"start": self.calibration_start_used, "end": self.calibration_end}}
        if self.holdout_end:
            out["holdout"] = {"start": self.holdout_start, "end": self.holdout_end}
        return out
