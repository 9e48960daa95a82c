"""The CDNOW master log (real; bundled as ``data/raw/cdnow_master.txt``, see ``data/README.md``)."""

from __future__ import annotations

import os
from pathlib import Path

from crmresearch.data import TransactionLog, read_transactions
from crmresearch.datasets._files import DATA_DIR_ENV, raw_path
from crmresearch.errors import DataError

__all__ = [
    "load_cdnow",
    "cdnow_path",
    "CDNOW_SHA256",
    "DATA_DIR_ENV",
    "load_cdnow_sample",
    "cdnow_sample_path",
    "CDNOW_SAMPLE_SHA256",
]

#: SHA-256 of the bundled file, as taken from the lifetimes 0.11.3 wheel (never modified).
CDNOW_SHA256 = "eff6889ed364c5199d6eacbbeb7a6d559971df4406ac876f322c373f00a072ef"
CDNOW_FILE = "cdnow_master.txt"

# The CDNOW file's own column names -> canonical transaction columns.
CDNOW_COLUMNS = {
    "customer_id": "customer_id",
    "date": "date",
    "number_of_cds": "quantity",
    "dollar_value": "amount",
}


def cdnow_path() -> Path:
    """Locate ``cdnow_master.txt`` (search order: :mod:`crmresearch.datasets._files`).

    Raises
    ------
    DataError
        The file is not where it is looked for; the message lists the places tried.
    """
    return raw_path(CDNOW_FILE, what="CDNOW", loader="load_cdnow")


def load_cdnow(path: str | os.PathLike | None = None) -> TransactionLog:
    """The CDNOW master log: 69,659 purchases by 23,570 customers, 1997-01-01 .. 1998-06-30.

    Real data from Fader & Hardie's CDNOW panel (customers who first bought at the online CD
    retailer CDNOW in 1997 Q1, followed to mid 1998). Columns are mapped onto the canonical
    schema: ``customer_id`` (text, leading zeros kept), ``date``, ``quantity`` (number of CDs),
    ``amount`` (dollar value). No returns, profit, category, channel or credit fields.

    Parameters
    ----------
    path : path, optional
        Read this file instead of the bundled one (same format: whitespace-separated, header
        ``customer_id date number_of_cds dollar_value``, dates YYYYMMDD).

    Returns
    -------
    TransactionLog

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy way:
    An alternative to the Pareto/NBD model. *Marketing Science*, 24(2), 275-284.
    Data: https://www.brucehardie.com/datasets/ ; file taken from the ``lifetimes`` 0.11.3 wheel.

    R equivalent: ``read.table("cdnow_master.txt", header=TRUE, colClasses=c("character",
    "character", "numeric", "numeric"))``.
    """
    source = Path(path) if path is not None else cdnow_path()
    return read_transactions(source, columns=CDNOW_COLUMNS, date_format="%Y%m%d", sep=r"\s+")


#: SHA-256 of the bundled 1/10 sample, as taken from the lifetimes 0.11.3 wheel.
CDNOW_SAMPLE_SHA256 = "6fae10155c0b0ba363c2c386e30f77990d22328220efd862a5edd1443420d94a"
CDNOW_SAMPLE_FILE = "cdnow_sample.txt"
#: The sample file has no header; its five whitespace-separated fields, in order.
CDNOW_SAMPLE_FIELDS = ("customer_id", "customer_index", "date", "number_of_cds", "dollar_value")


def cdnow_sample_path() -> Path:
    """Locate ``cdnow_sample.txt`` (search order: :mod:`crmresearch.datasets._files`)."""
    return raw_path(CDNOW_SAMPLE_FILE, what="CDNOW sample", loader="load_cdnow_sample")


def load_cdnow_sample(path: str | os.PathLike | None = None) -> TransactionLog:
    """The CDNOW 1/10 sample: 6,919 purchases by 2,357 customers, 1997-01-01 .. 1998-06-30.

    The subsample of the CDNOW master log used by Fader, Hardie & Lee (2005) to estimate the
    BG/NBD model (and by ``lifetimes`` / PyMC-Marketing in their examples). The file has no
    header; its fields are the master-log customer id (5 digits, kept as text: the same ids as
    :func:`load_cdnow`), a sample index 1..2357 (``customer_index``, ignored), the date
    (``YYYYMMDD``), the number of CDs and the dollar value, mapped onto ``customer_id``,
    ``date``, ``quantity`` and ``amount``. Same-day purchases are separate rows (223 rows repeat
    an earlier customer-day); merge them for the published repeat-purchase counts.

    Parameters
    ----------
    path : path, optional
        Read this file instead of the bundled one (same format).

    Returns
    -------
    TransactionLog

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy way:
    An alternative to the Pareto/NBD model. *Marketing Science*, 24(2), 275-284.

    R equivalent: ``read.table("cdnow_sample.txt", colClasses=c("character", "integer",
    "character", "numeric", "numeric"))``.
    """
    import pandas as pd

    from crmresearch.data.dates import check_window
    from crmresearch.data.reading import RawTable
    from crmresearch.data.transactions import validate_transactions

    source = Path(path) if path is not None else cdnow_sample_path()
    name = str(source)
    try:
        frame = pd.read_csv(
            source,
            sep=r"\s+",
            header=None,
            names=list(CDNOW_SAMPLE_FIELDS),
            dtype=str,
            keep_default_na=False,
        )
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{name}: cannot read it as the CDNOW sample ({type(exc).__name__}). Fix: pass the "
            "whitespace-separated file with five fields per line (id, index, YYYYMMDD, CDs, "
            "dollars), or call load_cdnow_sample() for the bundled one."
        ) from None
    raw = RawTable(frame, name, has_nul=False)
    columns = {
        "customer_id": "customer_id",
        "date": "date",
        "number_of_cds": "quantity",
        "dollar_value": "amount",
    }
    return validate_transactions(
        raw, columns=columns, date_format="%Y%m%d", window=check_window(None, name)
    )
