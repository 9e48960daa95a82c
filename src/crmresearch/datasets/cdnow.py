"""The CDNOW master log (real; bundled as ``data/raw/cdnow_master.txt``, see ``data/README.md``)."""

from __future__ import annotations

import os
from pathlib import Path

from crmresearch.data import TransactionLog, read_transactions
from crmresearch.errors import DataError

__all__ = ["load_cdnow", "cdnow_path", "CDNOW_SHA256"]

#: SHA-256 of the bundled file, as taken from the lifetimes 0.11.3 wheel (never modified).
CDNOW_SHA256 = "eff6889ed364c5199d6eacbbeb7a6d559971df4406ac876f322c373f00a072ef"
CDNOW_FILE = Path("raw") / "cdnow_master.txt"
DATA_DIR_ENV = "CRMRESEARCH_DATA_DIR"

# The CDNOW file's own column names -> canonical transaction columns.
CDNOW_COLUMNS = {
    "customer_id": "customer_id",
    "date": "date",
    "number_of_cds": "quantity",
    "dollar_value": "amount",
}


def cdnow_path() -> Path:
    """Locate ``cdnow_master.txt``.

    Search order: ``$CRMRESEARCH_DATA_DIR/raw/cdnow_master.txt`` (or directly
    ``$CRMRESEARCH_DATA_DIR/cdnow_master.txt``) when the variable is set; otherwise
    ``data/raw/cdnow_master.txt`` in the source tree (the folder above ``src/``).

    Raises
    ------
    DataError
        The file is not where it is looked for; the message lists the places tried.
    """
    tried: list[Path] = []
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        candidates = [Path(env) / CDNOW_FILE, Path(env) / CDNOW_FILE.name]
    else:
        package_dir = Path(__file__).resolve().parent
        candidates = [parent / "data" / CDNOW_FILE for parent in package_dir.parents[:3]]
    for candidate in candidates:
        tried.append(candidate)
        if candidate.is_file():
            return candidate
    where = "; ".join(str(p) for p in tried)
    raise DataError(
        f"bundled CDNOW file not found (looked in: {where}). Fix: run from a source checkout "
        f"that has data/raw/cdnow_master.txt, set {DATA_DIR_ENV} to the folder holding "
        "raw/cdnow_master.txt, or call load_cdnow(path=...)."
    )


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
