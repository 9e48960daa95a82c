"""Parameterized reports: execute a notebook with papermill, render HTML and PDF for managers.

A report is one notebook shipped in ``crmresearch/reports/notebooks/`` with one cell tagged
``parameters``. :func:`run`

1. checks the parameters against that cell *before* a kernel starts (:mod:`.params`);
2. executes the notebook with papermill in this interpreter's kernel (:mod:`.runner`);
3. renders HTML with nbconvert and PDF with WeasyPrint or Chromium (:mod:`.render`);
4. writes ``metrics.json`` (what the notebook recorded with :func:`.display.record`) and
   ``manifest.json`` (parameters, seed, data file name and SHA-256, row counts, versions, time);
5. does all of this in a temporary folder and moves it into ``OUT/<name>`` only when every step
   succeeded, so a failing cell never leaves a partial report.

The notebooks are thin: one setup call (:func:`.context.begin` builds the shared
:class:`~crmresearch.study.Study`), then one call per section from :mod:`.sections`; the
display helpers (tables, summary cards, notes, figures, manifest) live in :mod:`.display`.
"""

from crmresearch.reports.context import ReportContext, begin
from crmresearch.reports.params import (
    BUILTIN_SOURCES,
    Parameter,
    _coerce,
    coerce,
    notebook_parameters,
    validate_params,
)
from crmresearch.reports.render import (
    METRICS_MIMETYPE,
    PDF_ENGINES,
    ReportError,
    find_chromium,
    html_to_pdf,
    to_html,
)
from crmresearch.reports.runner import (
    FORMATS,
    REPORTS,
    ReportResult,
    notebook_path,
    notebooks_dir,
    package_versions,
    parse_formats,
    run,
    run_reports,
)

__all__ = [
    "BUILTIN_SOURCES",
    "FORMATS",
    "METRICS_MIMETYPE",
    "PDF_ENGINES",
    "REPORTS",
    "Parameter",
    "ReportContext",
    "ReportError",
    "ReportResult",
    "begin",
    "coerce",
    "find_chromium",
    "html_to_pdf",
    "notebook_parameters",
    "notebook_path",
    "notebooks_dir",
    "package_versions",
    "parse_formats",
    "run",
    "run_reports",
    "to_html",
    "validate_params",
    "_coerce",
]
