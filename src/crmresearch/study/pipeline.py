"""``Study``: features → configured index → composite → tiers → holdout outcomes, each computed
once, on first use; ``ConfiguredIndex``: a fitted index applied the way it was fitted."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import replace
from functools import cached_property
from typing import Any

import pandas as pd

from crmresearch.study.params import StudyParams, fit_index, iso_date, volume_scheme
from crmresearch.study.source import Source, load_source

#: Default windows of the bundled CDNOW log (calibration ≤ 1997-09-30, holdout to 1998-06-30).
CDNOW_WINDOWS = ("1997-09-30", "1998-06-30")


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


def _window_defaults(source: Source) -> tuple[str, str]:
    if source.is_synthetic:
        t = source.synthetic.truth
        return (f"{t.calibration_end:%Y-%m-%d}", f"{t.holdout_end:%Y-%m-%d}")
    if source.is_cdnow:
        return CDNOW_WINDOWS
    return ("", "")


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
        customers: Any = None,
        customer_columns: Mapping[str, str] | None = None,
        spark: Any = None,
    ):
        self.source = source
        self.params = params or StudyParams()
        self._given_index = index
        self._customers = customers
        self._customer_columns = dict(customer_columns or {})
        self.spark = spark
        self.index_warnings: list[str] = []
        if self.params.engine not in ("duckdb", "spark"):
            raise ValueError(f"engine = {self.params.engine!r}: use 'duckdb' or 'spark'")
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
        max_rejected_share: float | None = None,
        customers: Any = None,
        customer_columns: Mapping[str, str] | None = None,
        spark: Any = None,
        **params: Any,
    ) -> Study:
        """Load ``data`` and set up the study; ``params`` are :class:`StudyParams` fields.

        ``max_rejected_share``: refuse a log with a larger share of rejected rows
        (:class:`RejectedRowsError`; the CLI and the reports pass their parameter, default
        ``MAX_REJECTED_SHARE`` = 1 %); None = not checked here. ``customers``: a customer
        attribute file (or ``CustomerTable``) read with :func:`crmresearch.data.read_customers`;
        ``customer_columns``: its column mapping (``{"客户编号": "customer_id"}``; without one, a
        file lacking ``customer_id`` takes the id column ``columns`` maps for the log, when it
        has a column of that name); ``spark``: a SparkSession for ``engine="spark"``.
        """
        study_params = StudyParams.from_mapping(params)
        source = load_source(
            data, columns=columns, date_format=date_format, n_customers=n_customers,
            seed=study_params.seed, max_rejected_share=max_rejected_share,
            **dict(read_options or {}),
        )  # fmt: skip
        return cls(
            source, study_params, index=index, require_holdout=require_holdout,
            customers=customers, customer_columns=customer_columns, spark=spark,
        )  # fmt: skip

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
        return Study(
            self.source, replace(self.params, **changes), index=self._given_index,
            customers=self._customers, customer_columns=self._customer_columns, spark=self.spark,
        )  # fmt: skip

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
            self.log, start=self.calibration_start, end=self.calibration_end,
            indicators=indicators, **self._engine_options(),
        )  # fmt: skip

    def _engine_options(self) -> dict[str, Any]:
        # The default engine is not named, so that engines without the option keep working.
        if self.params.engine == "duckdb":
            return {}
        return {"engine": self.params.engine, "spark": self.spark}

    @cached_property
    def customers(self):
        """The customer attribute table (:class:`~crmresearch.data.CustomerTable`) or None:
        the file read with ``customer_columns``; a file without ``customer_id`` and without
        that mapping takes the log's id mapping (``columns``) when it has a column of that name."""
        given = self._customers
        if given is None or hasattr(given, "field_types"):
            return given
        from crmresearch.data import read_customers

        return read_customers(
            given, columns=self._customer_columns or None, log_columns=self.source.columns
        )

    @cached_property
    def static_attributes(self) -> pd.DataFrame:
        """The customers' static attributes (region, industry, store type …), one row per
        calibration customer (empty where a customer has no row in the attribute file)."""
        table = self.customers
        if table is None:
            return pd.DataFrame(index=self.features.index)
        static = [c for c, kind in table.field_types.items() if kind == "static"]
        frame = table.frame
        if "customer_id" in frame.columns:
            frame = frame.set_index("customer_id")
        frame.index = frame.index.astype("str")
        static = [c for c in static if c in frame.columns and c != "customer_id"]
        return frame[static].reindex(self.features.index)

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
            self.log, start=self.holdout_start, end=self.holdout_end,
            customers=self.features.index, **self._engine_options(),
        )  # fmt: skip

    @cached_property
    def customer_value(self):
        """CLV (12 months) and P(alive) per customer, BG/NBD + Gamma-Gamma fitted on the log up
        to the calibration end (:func:`crmresearch.clv.customer_value`; says when not
        estimable). The lists a manager acts on carry its P(alive)."""
        from crmresearch import clv

        if self.log is None:
            raise ValueError(
                f"{self.source.name}: a study built from a features table has no transaction "
                "log, hence no CLV"
            )
        return clv.customer_value(self.log, self.calibration_end)

    def rising_stars(self, *, rise: float = 10.0, freq: str = "Q", periods: int = 1):
        """Rising stars validated on the holdout: the configured index applied per period
        (``compare.reclassify``), customers below the top index tier whose index rose by at
        least ``rise`` points over ``periods``, against peers of the same tier
        (``compare.validate_rising_stars``; ``.rising`` is the list)."""
        from crmresearch import compare

        X = self.features
        tiers_by_period, values = compare.reclassify(
            self.log,
            freq=freq,
            scheme="abc",
            index=self.configured_index,
            start=self.calibration_start or X.attrs.get("window", {}).get("start"),
            end=self.calibration_end,
            return_values=True,
            shares=tuple((self.volume_tiers.value_counts(sort=False) / len(X)).to_numpy()),
        )
        result = compare.validate_rising_stars(
            values, tiers_by_period, self.outcomes, rise=rise, periods=periods
        )
        # the per-period index and tiers, for callers that describe whom the rule selects
        result.period_values, result.period_tiers = values, tiers_by_period
        return result

    def windows(self) -> dict[str, dict[str, str]]:
        """The two windows as plain data (for JSON outputs and manifests)."""
        out = {"calibration": {"start": self.calibration_start_used, "end": self.calibration_end}}
        if self.holdout_end:
            out["holdout"] = {"start": self.holdout_start, "end": self.holdout_end}
        return out
