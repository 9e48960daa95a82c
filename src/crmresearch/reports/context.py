"""The one setup call of every report notebook: parameters, warnings capture, study, title.

A notebook's first code cell after its ``parameters`` cell is::

    report = begin("segment_value", globals())

:func:`begin` reads the parameter names from the notebook's own ``parameters`` cell (so no
notebook keeps a hand-written list of them), collects the values from the notebook's namespace,
routes warnings into a note, builds the shared :class:`~crmresearch.study.Study` and shows the
title block.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmresearch._format import currency_symbol, fmt_int, fmt_share
from crmresearch.errors import DataError

# The study refuses a mostly rejected log: one check, one error class for the CLI and reports.
from crmresearch.study import MAX_REJECTED_SHARE, RejectedRowsError

__all__ = [
    "MAX_REJECTED_SHARE",
    "ReportContext",
    "RejectedRowsError",
    "WindowError",
    "begin",
    "report_parameter_names",
]

#: Parameters that say how to read the data (the rest of the study's go to ``StudyParams``).
_SOURCE_PARAMETERS = (
    "data", "columns", "date_format", "n_customers", "encoding", "sep", "sheet",
    "max_rejected_share", "currency", "customers", "customer_columns",
)  # fmt: skip
_READ_OPTIONS = ("encoding", "sep", "sheet")


class WindowError(DataError):
    """The windows do not fit the data (e.g. the holdout starts after its last date)."""


def rows_line(study) -> str:
    """Rows read / accepted / rejected, for page 1 of every report."""
    from crmresearch.reports.labels import t

    log = study.source.log
    n_read, n_rejected = int(log.n_read), int(log.n_rejected)
    share = fmt_share(n_rejected / n_read) if n_read else "–"  # never 0.0 % for 4 rows
    return t(
        "rows read {read} / accepted {accepted} / rejected {rejected} ({share})",
        read=fmt_int(n_read), accepted=fmt_int(log.n_accepted), rejected=fmt_int(n_rejected),
        share=share,
    )  # fmt: skip


def subtitle(study) -> str:
    """What the report covers: data, customers, windows."""
    from crmresearch.reports.labels import t

    w = study.windows()
    return t(
        "{source}: {customers} customers; calibration {cal_start} to {cal_end}; "
        "holdout {hold_start} to {hold_end}",
        source=study.source.name, customers=fmt_int(len(study.features)),
        cal_start=w["calibration"]["start"], cal_end=w["calibration"]["end"],
        hold_start=w["holdout"]["start"], hold_end=w["holdout"]["end"],
    )  # fmt: skip


def holdout_coverage(study) -> str | None:
    """A sentence when the holdout window runs past the data's last date (truncated);
    :class:`WindowError` when it starts after it (no holdout data at all)."""
    last = study.source.facts.get("last_date")
    if study.source.is_synthetic:  # planted windows: the generator's own, never truncated
        return None
    if not last or not study.holdout_end or study.holdout_end <= last:
        return None
    if study.holdout_start > last:
        raise WindowError(
            f"{study.source.name}: the holdout window starts on {study.holdout_start}, after the "
            f"data's last date {last}: there is no holdout data. Fix: give calibration_end and "
            f"holdout_end within the data (it ends on {last})"
        )
    from crmresearch.reports.labels import t

    return t(
        "The data end on {last}, before holdout_end {end}: the holdout window is truncated to "
        "{start} – {last}, and churn means no purchase up to {last}.",
        last=last, end=study.holdout_end, start=study.holdout_start,
    )  # fmt: skip


@dataclass
class ReportContext:
    """What a report notebook works with: its parameters, the study and the warning log."""

    name: str
    params: dict[str, Any]
    study: Any
    warnings: list[str] = field(default_factory=list)

    @property
    def source(self):
        return self.study.source

    def public_params(self) -> dict[str, Any]:
        """The parameters as shown to managers (a data file by its name, never its path)."""
        from crmresearch.reports.params import public_parameters

        return public_parameters(self.params)

    def manifest_facts(self) -> dict[str, Any]:
        """The windows actually used and the customers analysed (for the manifest)."""
        study = self.study
        return {
            "calibration_start": study.calibration_start_used,
            "calibration_end": study.calibration_end,
            "holdout_end": study.holdout_end,
            "customers_analysed": len(study.features),
        }


def report_parameter_names(name: str) -> list[str]:
    """The parameter names of report ``name``, read from its notebook's ``parameters`` cell.

    The runner tells the kernel which notebook it executes (``CRMRESEARCH_NOTEBOOK``); run by
    hand (JupyterLab) the shipped notebook of that name is read.
    """
    from crmresearch.reports.params import notebook_parameters
    from crmresearch.reports.runner import NOTEBOOK_ENV, notebook_path

    given = os.environ.get(NOTEBOOK_ENV)
    path = Path(given) if given else notebook_path(name)
    return list(notebook_parameters(path))


def begin(name: str, namespace: Mapping[str, Any], *, show_title: bool = True) -> ReportContext:
    """Set up report ``name`` from the parameter values in ``namespace`` (the notebook's
    ``globals()``): capture warnings, set figure defaults, build the study, show the title.

    ``show_title=False``: the report shows its own title block (the strategy report names its
    campaign, not the transaction log, on page 1) and its own truncated-holdout note."""
    from crmresearch.reports import display, labels
    from crmresearch.study import Study

    params = {key: namespace[key] for key in report_parameter_names(name) if key in namespace}
    log = display.capture_warnings()  # warnings go to a note in the appendix, never the body
    display.setup_figures(params.get("language", "en"))
    labels.set_language(params.get("language", "en"))
    study = Study.from_params(
        params.get("data", "cdnow"),
        columns=params.get("columns") or None,
        date_format=params.get("date_format") or None,
        n_customers=params.get("n_customers", 5000),
        read_options={k: params[k] for k in _READ_OPTIONS if params.get(k) not in (None, "")},
        max_rejected_share=params.get("max_rejected_share", MAX_REJECTED_SHARE),
        customers=params.get("customers") or None,
        customer_columns=params.get("customer_columns") or None,
        **{k: v for k, v in params.items() if k not in _SOURCE_PARAMETERS},
    )
    # "" = the currency the amounts carry (as the CLI): a 元/RMB export is printed in ¥
    labels.set_currency(currency_symbol(params.get("currency"), study.log))
    truncated = holdout_coverage(study)
    context = ReportContext(name=name, params=params, study=study, warnings=log)
    if not show_title:
        return context
    title = params.get("title") or name.replace("_", " ").capitalize()
    display.title_block(str(title), subtitle(study), rows_line(study))
    if truncated:
        display.note(truncated, kind="warning", title="Truncated holdout.")
    return context
