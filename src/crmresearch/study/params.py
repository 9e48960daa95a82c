"""The parameters of a study and the one set of defaults the CLI and the reports share; ISO-only
date parameters; the one place an index is constructed and fitted."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd


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
    # Aggregation engine of the features and outcomes: "duckdb" (embedded) or "spark".
    engine: str = "duckdb"

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
