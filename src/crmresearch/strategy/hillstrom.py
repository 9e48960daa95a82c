"""The Hillstrom MineThatData e-mail campaign prepared for :func:`campaign_analysis`.

Data preparation only (the models live in ``crmresearch.index`` and ``crmresearch.strategy``):

- :func:`hillstrom_indicators` turns the original columns into a numeric indicator matrix of
  pre-campaign customer facts (the input of :class:`crmresearch.index.ClassificationIndex`);
- :func:`hillstrom_experiment` adds the two tier schemes compared in the strategy analysis —
  the **volume** scheme from pre-campaign spend (``history_segment``) and an **index** scheme
  with the same tier sizes from the classification index of the indicators.

The campaign (Hillstrom 2008): 64,000 customers who bought in the last twelve months, randomized
to a men's merchandise e-mail, a women's merchandise e-mail or no e-mail; outcomes over the two
weeks after the e-mail: ``visit`` (0/1), ``conversion`` (0/1) and ``spend`` (dollars).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmresearch.errors import DataError
from crmresearch.strategy._common import _require_columns

__all__ = [
    "HILLSTROM_ARM",
    "HILLSTROM_CONTROL",
    "HILLSTROM_OUTCOMES",
    "HILLSTROM_VOLUME_TIERS",
    "HILLSTROM_DIRECTIONS",
    "HILLSTROM_INDEX_INDICATORS",
    "hillstrom_indicators",
    "hillstrom_experiment",
]

HILLSTROM_ARM = "segment"
HILLSTROM_CONTROL = "No E-Mail"
HILLSTROM_OUTCOMES = ("visit", "conversion", "spend")

#: Volume tiers from the pre-campaign spend band (``history_segment``; the leading digit orders
#: the bands): A = $350 and more in the past year, B = $100–$350, C = under $100.
HILLSTROM_VOLUME_TIERS = {1: "C", 2: "B", 3: "B", 4: "A", 5: "A", 6: "A", 7: "A"}

#: Indicators of the default index. Measured on the 64,000 customers: these four load on one
#: factor (KMO 0.61). ``mens`` / ``womens`` enter as their sum (category breadth): on their own
#: they oppose each other (a men's-vs-women's factor, KMO 0.47), which is taste, not value.
#: ``newbie`` has no value direction (new customers spent more in the past year, r = +0.22
#: with ``history``, but have no track record) and stays out.
HILLSTROM_INDEX_INDICATORS = ("recency", "history", "category_breadth", "multichannel")

#: Indicator directions: fewer months since the last purchase point to "more valuable".
HILLSTROM_DIRECTIONS = {"recency": -1}

_INDICATOR_COLUMNS = ["recency", "history", "mens", "womens", "newbie", "channel"]


def hillstrom_indicators(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric pre-campaign indicators of the Hillstrom customers, one row per customer.

    Columns: ``recency`` (months since the last purchase), ``history`` (dollars spent in the
    past year), ``mens`` / ``womens`` (0/1: bought men's / women's merchandise), ``newbie``
    (0/1: new customer in the past twelve months), ``category_breadth`` (``mens + womens``,
    0–2), ``multichannel`` (0/1: bought both by phone and on the web, from ``channel``). ``zip_code`` describes where a customer lives, not what
    they are worth, and is left out. Only pre-campaign columns are used; the outcomes and the arm
    never enter the index.

    Raises
    ------
    DataError
        A column is missing, not numeric where it must be, or has missing values (with the first
        row and the fix).
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    _require_columns(frame, {"Hillstrom indicator": _INDICATOR_COLUMNS})
    out = pd.DataFrame(index=frame.index)
    for col in ["recency", "history", "mens", "womens", "newbie"]:
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = values.isna()
        if bad.any():
            row = frame.index[np.flatnonzero(bad.to_numpy())[0]]
            raise DataError(
                f"Hillstrom column {col!r} has {int(bad.sum())} missing or non-numeric values "
                f"(first at row {row}: {frame.loc[row, col]!r}); fix or drop those customers"
            )
        out[col] = values.astype("float64")
    channel = frame["channel"].astype("string").str.strip().str.lower()
    if channel.isna().any():
        row = frame.index[np.flatnonzero(channel.isna().to_numpy())[0]]
        raise DataError(f"Hillstrom column 'channel' is missing at row {row}; fill it")
    out["category_breadth"] = out["mens"] + out["womens"]
    out["multichannel"] = channel.eq("multichannel").astype("float64").to_numpy()
    return out


def _volume_tiers(frame: pd.DataFrame) -> pd.Series:
    band = frame["history_segment"].astype("string").str.extract(r"^\s*(\d+)\)")[0]
    codes = pd.to_numeric(band, errors="coerce")
    tiers = codes.map(HILLSTROM_VOLUME_TIERS)
    if tiers.isna().any():
        row = frame.index[np.flatnonzero(tiers.isna().to_numpy())[0]]
        raise DataError(
            f"Hillstrom column 'history_segment' has an unknown band at row {row} "
            f"({frame.loc[row, 'history_segment']!r}); expected '1) $0 - $100' … '7) $1,000 +'"
        )
    return pd.Series(
        pd.Categorical(tiers, categories=["A", "B", "C"], ordered=True), index=frame.index
    )


def hillstrom_experiment(
    frame: pd.DataFrame, *, index=None, indicators=HILLSTROM_INDEX_INDICATORS
) -> pd.DataFrame:
    """The Hillstrom frame with the two tier schemes of the strategy analysis added.

    Parameters
    ----------
    frame : DataFrame
        ``crmresearch.datasets.load_hillstrom()`` (original column names).
    index : ClassificationIndex, optional
        Unfitted estimator to fit on the ``indicators`` columns of :func:`hillstrom_indicators`
        (default ``ClassificationIndex(n_factors="parallel", directions=HILLSTROM_DIRECTIONS,
        log_transform=["history"])``). Fitted on pre-campaign columns of all customers: the arm
        is randomized and never enters, so this cannot bias the effect estimates.
    indicators : sequence of str
        Columns of :func:`hillstrom_indicators` the index uses (default
        ``HILLSTROM_INDEX_INDICATORS``).

    Returns
    -------
    DataFrame
        A copy of ``frame`` plus ``customer_id`` (row number, if absent), ``volume_tier``
        (A/B/C from ``history_segment``), ``index_score`` (composite index, higher = more
        valuable) and ``index_tier`` (A/B/C by index rank with the volume tiers' sizes, so both
        schemes put the same number of customers in each tier). ``attrs["index"]`` holds the
        fitted index.
    """
    from crmresearch import tiers
    from crmresearch.index import ClassificationIndex

    X = hillstrom_indicators(frame)
    _require_columns(X, {"index indicator": list(indicators)})
    X = X[list(indicators)]
    _require_columns(frame, {"Hillstrom": ["history_segment"]})
    if index is None:
        index = ClassificationIndex(
            n_factors="parallel",
            directions=dict(HILLSTROM_DIRECTIONS),
            log_transform=["history"] if "history" in X.columns else None,
        )
    index.fit(X)
    out = frame.copy()
    if "customer_id" not in out.columns:
        out.insert(0, "customer_id", np.arange(1, len(out) + 1))
    out["volume_tier"] = _volume_tiers(frame)
    score = index.composite(X)
    out["index_score"] = score.to_numpy()
    shares = out["volume_tier"].value_counts(normalize=True).reindex(["A", "B", "C"]).to_numpy()
    out["index_tier"] = tiers.abc(score, shares=tuple(shares), labels=("A", "B", "C")).to_numpy()
    out.attrs["index"] = index
    return out
