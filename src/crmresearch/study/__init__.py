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

from crmresearch.study.params import (
    StudyParams,
    fit_index,
    iso_date,
    parse_n_factors,
    volume_scheme,
)
from crmresearch.study.pipeline import CDNOW_WINDOWS, ConfiguredIndex, Study
from crmresearch.study.source import (
    MAX_REJECTED_SHARE,
    RejectedRowsError,
    Source,
    check_rejected,
    file_sha256,
    load_source,
)

__all__ = [
    "Source",
    "StudyParams",
    "Study",
    "ConfiguredIndex",
    "RejectedRowsError",
    "load_source",
    "check_rejected",
    "file_sha256",
    "fit_index",
    "iso_date",
    "parse_n_factors",
    "volume_scheme",
    "CDNOW_WINDOWS",
    "MAX_REJECTED_SHARE",
]
