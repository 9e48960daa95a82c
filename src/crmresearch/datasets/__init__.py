"""Bundled real data and the synthetic CRM generator.

- :func:`load_cdnow` — the CDNOW master log (real; 69,659 purchases of 23,570 customers).
- :func:`load_cdnow_sample` — its 1/10 sample (6,919 purchases of 2,357 customers), the data of
  Fader, Hardie & Lee (2005).
- :func:`load_hillstrom` — the Hillstrom MineThatData e-mail campaign (real, randomized,
  64,000 customers; a DataFrame with the original column names).
- :func:`make_crm_data` — a synthetic CRM world with planted truth (:mod:`.synthetic`).

Provenance, licences, counts and checksums of the bundled files: ``data/README.md``.
"""

from crmresearch.datasets.cdnow import (
    CDNOW_COLUMNS,
    CDNOW_SAMPLE_SHA256,
    CDNOW_SHA256,
    DATA_DIR_ENV,
    cdnow_path,
    cdnow_sample_path,
    load_cdnow,
    load_cdnow_sample,
)
from crmresearch.datasets.hillstrom import (
    HILLSTROM_ARMS,
    HILLSTROM_COLUMNS,
    HILLSTROM_CSV_SHA256,
    HILLSTROM_SHA256,
    hillstrom_path,
    load_hillstrom,
)
from crmresearch.datasets.synthetic import SyntheticCRM, SyntheticTruth, make_crm_data

#: Short alias of :data:`CDNOW_SHA256`.
CDNOW_SHA = CDNOW_SHA256

__all__ = [
    "CDNOW_COLUMNS",
    "CDNOW_SHA",
    "CDNOW_SHA256",
    "DATA_DIR_ENV",
    "cdnow_path",
    "load_cdnow",
    "CDNOW_SAMPLE_SHA256",
    "cdnow_sample_path",
    "load_cdnow_sample",
    "HILLSTROM_ARMS",
    "HILLSTROM_COLUMNS",
    "HILLSTROM_CSV_SHA256",
    "HILLSTROM_SHA256",
    "hillstrom_path",
    "load_hillstrom",
    "make_crm_data",
    "SyntheticCRM",
    "SyntheticTruth",
]
