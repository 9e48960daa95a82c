"""Bundled real data and the synthetic CRM generator.

- :func:`load_cdnow` — the CDNOW master log (real; 69,659 purchases of 23,570 customers).
- :func:`make_crm_data` — a synthetic CRM world with planted truth (:mod:`.synthetic`).

Provenance, licences, counts and checksums of the bundled files: ``data/README.md``.
"""

from crmresearch.datasets.cdnow import (
    CDNOW_COLUMNS,
    CDNOW_SHA256,
    DATA_DIR_ENV,
    cdnow_path,
    load_cdnow,
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
    "make_crm_data",
    "SyntheticCRM",
    "SyntheticTruth",
]
