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

__all__ = ["ReportContext", "begin", "report_parameter_names"]

#: Parameters that say how to read the data (the rest of the study's go to ``StudyParams``).
_SOURCE_PARAMETERS = ("data", "columns", "date_format", "n_customers")


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


def begin(name: str, namespace: Mapping[str, Any]) -> ReportContext:
    """Set up report ``name`` from the parameter values in ``namespace`` (the notebook's
    ``globals()``): capture warnings, set figure defaults, build the study, show the title."""
    from crmresearch.reports import display
    from crmresearch.study import Study

    params = {key: namespace[key] for key in report_parameter_names(name) if key in namespace}
    log = display.capture_warnings()  # warnings go to a note in the appendix, never the body
    display.setup_figures(params.get("language", "en"))
    study = Study.from_params(
        params.get("data", "cdnow"),
        columns=params.get("columns") or None,
        date_format=params.get("date_format") or None,
        n_customers=params.get("n_customers", 5000),
        **{k: v for k, v in params.items() if k not in _SOURCE_PARAMETERS},
    )
    context = ReportContext(name=name, params=params, study=study, warnings=log)
    title = params.get("title") or name.replace("_", " ").capitalize()
    display.title_block(
        str(title),
        f"{study.source.name}: {len(study.features):,} customers; {study.describe_windows()}",
    )
    return context
