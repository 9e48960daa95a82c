"""Parameterized reports: execute a notebook with papermill, render HTML and PDF for managers.

A report is one notebook in ``notebooks/`` with one cell tagged ``parameters``. :func:`run`

1. checks the parameters against that cell *before* a kernel starts (unknown name, wrong type,
   value outside the choices named in the cell's comment ``# one of: a, b``, missing data file);
2. executes the notebook with papermill in this interpreter's kernel (progress bar on stderr);
3. renders HTML with nbconvert (code, prompts, stderr and warnings hidden; images embedded; no
   external links; print CSS for A4) and PDF with WeasyPrint (or Debian Chromium on request);
4. writes ``metrics.json`` (the executive-summary numbers the notebook recorded with
   :func:`crmresearch.reports.display.record`) and ``manifest.json`` (parameters, seed, data file SHA-256
   and row counts, package versions, run time);
5. does all of this in a temporary folder next to ``OUT/<name>`` and moves it into place only when
   every step succeeded, so a failing cell never leaves a partial report.

Outputs per run: ``OUT/<name>/<name>.ipynb``, ``<name>.html``, ``<name>.pdf``, ``metrics.json``,
``manifest.json``.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from crmresearch._io import write_json, write_text
from crmresearch.reports.labels import translate_markdown
from crmresearch.reports.params import (
    public_notebook_text,
    public_parameters,
    validate_params,
)
from crmresearch.reports.processes import (
    kernel_preexec,
    out_lock,
    remove_stale,
    run_many,
    temporary_folder,
)
from crmresearch.reports.render import (
    METRICS_MIMETYPE,
    PDF_ENGINES,
    ReportError,
    find_chromium,
    html_to_pdf,
    to_html,
)

__all__ = [
    "REPORTS",
    "FORMATS",
    "ReportResult",
    "notebooks_dir",
    "notebook_path",
    "package_versions",
    "parse_formats",
    "run",
    "run_one",
    "run_reports",
    "public_parameters",
]

#: The reports shipped as package data in ``crmresearch/reports/notebooks/``
#: (``crmresearch report all`` runs them in this order).
REPORTS = ("segment_value", "core_customer_loss", "strategy_effectiveness")

FORMATS = ("html", "pdf")

#: Environment variable through which the kernel learns which notebook it runs (the report's
#: setup helper reads the parameter names from that notebook's ``parameters`` cell).
NOTEBOOK_ENV = "CRMRESEARCH_NOTEBOOK"

# Versions recorded in every manifest.
_MANIFEST_PACKAGES = (
    "crmresearch",
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "scikit-learn",
    "factor_analyzer",
    "duckdb",
    "matplotlib",
    "papermill",
    "nbconvert",
    "weasyprint",
)


@dataclass
class ReportResult:
    """What :func:`run` produced: the final folder and its files, metrics and manifest."""

    name: str
    out_dir: Path
    files: dict[str, Path]
    metrics: dict[str, Any]
    manifest: dict[str, Any]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        listed = ", ".join(p.name for p in self.files.values())
        return f"report {self.name}: {self.out_dir} ({listed}) in {self.seconds:.1f} s"


# --------------------------------------------------------------------------------------------
# Notebooks and their parameters
# --------------------------------------------------------------------------------------------


def notebooks_dir() -> Path:
    """The report notebooks shipped inside the package (``crmresearch/reports/notebooks/``).

    They are package data, so a non-editable install renders every report; ``notebooks/`` at the
    top of the source tree holds copies for JupyterLab users (a test keeps them identical).
    """
    return Path(__file__).resolve().parent / "notebooks"


def notebook_path(name: str) -> Path:
    """Path of report ``name`` (one of :data:`REPORTS`, or a path to any ``.ipynb``)."""
    if str(name).endswith(".ipynb"):
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"notebook {path} not found")
        return path
    if name not in REPORTS:
        raise ValueError(f"unknown report {name!r}; choose one of: {', '.join(REPORTS)} or 'all'")
    return notebooks_dir() / f"{name}.ipynb"


# --------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------


def _kernel_manager_class(notebook: Path):
    """A kernel manager that always starts this interpreter's ipykernel.

    A user-level ``python3`` kernelspec could point at another Python without crmresearch; the
    report must run in the environment that validated the parameters. The kernel is told which
    notebook it runs (:data:`NOTEBOOK_ENV`) so the notebook's setup knows its parameter names.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _ThisPythonKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            # The kernel's own stderr (transport notices, "KeyboardInterrupt caught" at shutdown)
            # is not the user's business; cell errors still arrive through the protocol.
            kw.setdefault("stderr", subprocess.DEVNULL)
            kw["env"] = {**(kw.get("env") or os.environ), NOTEBOOK_ENV: str(notebook.resolve())}
            # The kernel ends when this process ends, however it ends (SIGKILL included).
            kw.setdefault("preexec_fn", kernel_preexec(os.getpid()))
            return await super().start_kernel(**kw)

        @property
        def kernel_spec(self):
            spec = super().kernel_spec
            if spec is not None and spec.language.lower() == "python":
                spec = copy.copy(spec)
                spec.argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
            return spec

    return _ThisPythonKernelManager


#: Errors raised in a notebook that are the input's fault, not the report's: the run ends with
#: a :class:`~crmresearch.errors.DataError` (CLI exit 2) carrying the error's own message.
INPUT_ERRORS = ("DataError", "RejectedRowsError", "WindowError")


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def section_of(nb, index: int) -> str:
    """The heading of the notebook section cell ``index`` belongs to (the last markdown heading
    above it), or "setup" for cells before the first heading."""
    for cell in reversed(nb.cells[:index]):
        if cell.cell_type != "markdown":
            continue
        headings = [ln.lstrip("#").strip() for ln in cell.source.splitlines() if ln.startswith("#")]
        if headings:
            return headings[-1]
    return "setup"


def _cell_failure(name: str, exc: Exception, nb) -> Exception:
    """Turn papermill's execution error into one message: section, cell, first line, error.

    ``nb`` is the notebook as executed (with the injected-parameters cell).
    """
    from crmresearch.errors import DataError

    index = getattr(exc, "cell_index", None)
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    if ename in INPUT_ERRORS:
        # the data layer names CLI options; a report takes them as -p parameters
        hint = " [in a report the reading options are parameters: -p encoding=..., -p sep=..., "\
            "-p columns=..., -p date_format=..., -p sheet=...]" if "CLI --" in evalue else ""
        return DataError(f"report {name}: {evalue}{hint}")
    if index is None:
        return ReportError(f"report {name}: notebook execution failed: {ename}: {evalue}")
    # Number cells as in the source notebook, without the injected-parameters cell.
    injected_before = sum(1 for c in nb.cells[:index] if "injected-parameters" in _tags(c))
    cell_number = index - injected_before + 1
    source = getattr(exc, "source", "") or nb.cells[index].source
    first = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    if len(first) > 80:
        first = first[:77] + "..."
    return ReportError(
        f"report {name}: notebook {name}.ipynb failed in cell {cell_number} ({first!r}) of "
        f"section {section_of(nb, index)!r}: {ename}: {evalue}"
    )


def inject_parameters(nb, params: dict[str, Any]):
    """A copy of ``nb`` with a cell tagged ``injected-parameters`` after the ``parameters`` cell,
    assigning each value as a Python literal (:func:`~crmresearch.reports.params.literal`).

    We write this cell ourselves instead of papermill's translator, which writes values of types
    it does not know (bytes from YAML ``!!binary``) into the code unescaped.
    """
    import nbformat

    from crmresearch.reports.params import literal

    lines = ["# Parameters"]
    for key, value in params.items():
        if not key.isidentifier():
            raise ValueError(f"parameter name {key!r} is not a name")
        lines.append(f"{key} = {literal(value)}")
    nb = copy.deepcopy(nb)
    cell = nbformat.v4.new_code_cell("\n".join(lines) + "\n", metadata={"tags": ["injected-parameters"]})
    positions = [i for i, c in enumerate(nb.cells) if "parameters" in _tags(c)]
    nb.cells.insert(positions[0] + 1 if positions else 0, cell)
    return nb


@contextlib.contextmanager
def _environ(**values: str):
    """Set environment variables for the kernel papermill starts (it inherits ours); restore after."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _execute(
    name: str,
    notebook: Path,
    params: dict[str, Any],
    *,
    progress: bool,
    timeout: int | None,
    report_dir: Path | None = None,
):
    """Run the notebook; files it writes into ``$CRMRESEARCH_REPORT_DIR`` (the report's
    temporary output folder) end up next to the report after the atomic move."""
    import logging

    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    # papermill writes nothing itself (output_path=None); we keep the executed notebook in memory.
    nb_in = inject_parameters(nbformat.read(notebook, as_version=4), params)
    nb_in, untranslated = translate_markdown(nb_in, str(params.get("language", "en")))
    # We checked the parameters ourselves; papermill's own parser logs false alarms about
    # lines it cannot read (e.g. `x = ""  # comment "with quotes"`).
    logging.getLogger("papermill").setLevel(logging.ERROR)
    kernel_env = {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    if report_dir is not None:
        kernel_env["CRMRESEARCH_REPORT_DIR"] = str(report_dir)
    try:
        with _environ(**kernel_env), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # papermill/nbclient chatter about kernels/black
            nb = papermill.execute_notebook(
                nb_in,
                None,
                parameters=None,  # injected above, as literals
                kernel_name="python3",
                progress_bar=progress,
                cwd=os.getcwd(),  # the caller's folder, never the package's notebooks folder
                execution_timeout=timeout,
                kernel_manager_class=_kernel_manager_class(notebook),
            )
    except PapermillExecutionError as exc:
        raise _cell_failure(name, exc, nb_in) from None
    if untranslated:
        nb.metadata["crmresearch_untranslated_markdown"] = untranslated
    return nb


def extract_records(nb) -> dict[str, Any]:
    """Collect what the notebook recorded with :func:`crmresearch.reports.display.record` (last wins)."""
    records: dict[str, Any] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if METRICS_MIMETYPE in data:
                payload = data[METRICS_MIMETYPE]
                if isinstance(payload, str):
                    payload = json.loads(payload)
                records.setdefault(payload["key"], {})
                value = payload["value"]
                if isinstance(value, dict) and isinstance(records[payload["key"]], dict):
                    records[payload["key"]].update(value)
                else:
                    records[payload["key"]] = value
    return records


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for pkg in _MANIFEST_PACKAGES:
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "not installed"
    return versions


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def parse_formats(formats) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",") if f.strip()]
    formats = tuple(formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(f"unknown format(s) {', '.join(bad)}; choose from: {', '.join(FORMATS)}")
    return formats


def _check_engine(formats: tuple[str, ...], pdf_engine: str) -> None:
    if pdf_engine not in PDF_ENGINES:
        raise ValueError(
            f"unknown pdf engine {pdf_engine!r}; choose one of: {', '.join(PDF_ENGINES)}"
        )
    if pdf_engine == "chromium" and "pdf" in formats and find_chromium() is None:
        raise ValueError(
            "pdf engine 'chromium' requested but no chromium executable was found on PATH; "
            "install Debian's chromium or use --pdf-engine weasyprint"
        )


def run(
    name: str,
    params: dict[str, Any] | None = None,
    out_dir: str | os.PathLike = "reports",
    formats=("html", "pdf"),
    pdf_engine: str = "weasyprint",
    *,
    notebook: str | os.PathLike | None = None,
    progress: bool = True,
    timeout: int | None = None,
    lock: bool = True,
) -> ReportResult:
    """Execute report ``name`` with ``params`` and write it to ``out_dir/<name>/``.

    Parameters
    ----------
    name : str
        One of :data:`REPORTS` (the shipped ``<name>.ipynb``), or any name with ``notebook=``.
    params : dict, optional
        Overrides of the notebook's ``parameters`` cell; checked before the kernel starts.
    out_dir : path
        Parent folder; the report goes to ``out_dir/<name>/`` (replaced atomically).
    formats : sequence of {"html", "pdf"} or comma-separated str
        What to render besides the executed notebook, ``metrics.json`` and ``manifest.json``.
        ``"pdf"`` renders the HTML first (it is kept only if ``"html"`` is asked for too).
    pdf_engine : {"weasyprint", "chromium"}
    notebook : path, optional
        Run this notebook instead of the shipped ``<name>.ipynb``.
    progress : bool
        Show papermill's progress bar (tqdm, stderr).
    timeout : int, optional
        Seconds allowed per cell.
    lock : bool
        Hold ``out_dir``'s lock for the run (a concurrent run into the same folder waits) and
        remove what killed runs left there first. ``False`` when the caller holds the lock.

    Returns
    -------
    ReportResult

    Raises
    ------
    ValueError, DataError
        bad parameters, formats or engine (nothing is started, nothing written); too many
        rejected rows (``RejectedRowsError`` in the notebook).
    ReportError
        a cell failed (message names the section, cell number, its first line and the error)
        or rendering failed; ``out_dir/<name>/`` is left as it was before the call.
    """
    t0 = time.perf_counter()
    formats = parse_formats(formats)
    _check_engine(formats, pdf_engine)
    nb_path = Path(notebook) if notebook is not None else notebook_path(name)
    if not nb_path.is_file():
        raise FileNotFoundError(f"report notebook {nb_path} not found")
    full_params = validate_params(nb_path, params)
    out_root = Path(out_dir).absolute()  # the kernel writes the lists there
    job = dict(name=name, nb_path=nb_path, params=full_params, out_root=out_root,
               formats=formats, pdf_engine=pdf_engine, progress=progress, timeout=timeout, t0=t0)  # fmt: skip
    if not lock:
        return _run_checked(**job)
    with out_lock(out_root):
        remove_stale(out_root, [name])
        return _run_checked(**job)


def _render(name: str, nb, tmp: Path, *, title: str, formats, pdf_engine: str, timings) -> dict:
    """HTML and PDF of the executed notebook into ``tmp``; returns the files kept."""
    files: dict[str, Path] = {}
    if "html" not in formats and "pdf" not in formats:
        return files
    t = time.perf_counter()
    html_file = write_text(tmp / f"{name}.html", to_html(nb, title=title))
    timings["html"] = time.perf_counter() - t
    if "html" in formats:
        files["html"] = html_file
    if "pdf" in formats:
        t = time.perf_counter()
        pdf_target = tmp / f"{name}.pdf"
        try:
            html_to_pdf(html_file, pdf_target, engine=pdf_engine)
        except ReportError:
            raise
        except Exception as exc:
            raise ReportError(f"report {name}: PDF rendering ({pdf_engine}) failed: {exc}") from exc
        files["pdf"] = pdf_target
        timings["pdf"] = time.perf_counter() - t
    if "html" not in formats:
        html_file.unlink()
    return files


def _run_checked(
    *, name, nb_path: Path, params, out_root: Path, formats, pdf_engine, progress, timeout, t0
) -> ReportResult:
    """Execute, render and write one report whose parameters were checked."""
    import nbformat

    started = _dt.datetime.now(_dt.UTC)
    out_root.mkdir(parents=True, exist_ok=True)
    final = out_root / name
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=out_root))
    timings: dict[str, float] = {}
    with temporary_folder(tmp):
        t = time.perf_counter()
        nb = _execute(name, nb_path, params, progress=progress, timeout=timeout, report_dir=tmp)
        timings["execute"] = time.perf_counter() - t
        records = extract_records(nb)
        metrics = records.get("metrics", {})
        text = public_notebook_text(nbformat.writes(nb), params)  # no machine path
        files = {"ipynb": write_text(tmp / f"{name}.ipynb", text)}
        title = str(params.get("title") or name.replace("_", " ").capitalize())
        files.update(
            _render(name, nb, tmp, title=title, formats=formats, pdf_engine=pdf_engine,
                    timings=timings)  # fmt: skip
        )
        files["metrics"] = write_json(tmp / "metrics.json", metrics)
        manifest = {
            "report": name,
            "notebook": nb_path.name,  # a name, never a path of the machine
            "parameters": public_parameters(params),
            "seed": params.get("seed"),
            **records.get("manifest", {}),
            **_untranslated_markdown(nb, records),
            "formats": list(formats),
            "pdf_engine": pdf_engine if "pdf" in formats else None,
            "package_versions": package_versions(),
            "started_utc": started.isoformat(timespec="seconds"),
            "run_seconds": round(time.perf_counter() - t0, 2),
            "timings_seconds": {k: round(v, 2) for k, v in timings.items()},
        }
        files["manifest"] = write_json(tmp / "manifest.json", manifest)
        _make_readable(tmp)
        _replace_dir(tmp, final)
    return ReportResult(
        name=name,
        out_dir=final,
        files={k: final / p.name for k, p in files.items()},
        metrics=metrics,
        manifest=manifest,
        seconds=time.perf_counter() - t0,
        timings=timings,
    )


def _untranslated_markdown(nb, records) -> dict:
    cells = nb.metadata.get("crmresearch_untranslated_markdown")
    if not cells:
        return {}
    texts = list(records.get("manifest", {}).get("untranslated", []))
    return {"untranslated": texts + [c.splitlines()[0] for c in cells]}


def run_one(name, params, out_dir, formats, pdf_engine, progress=True):
    """One report for :func:`run_reports` (in a worker): ``(name, result, error text)``; a
    failing notebook is returned as its message, bad input (DataError) raises."""
    try:
        result = run(name, params, out_dir, formats=formats, pdf_engine=pdf_engine,
                     progress=progress, lock=False)  # fmt: skip
    except ReportError as exc:
        return name, None, str(exc)
    return name, result, None


def run_reports(
    names, params_by_name: dict[str, dict], out_dir, *, formats=("html", "pdf"),
    pdf_engine: str = "weasyprint", jobs: int = 1, progress: bool = True, on_result=None,
) -> list:  # fmt: skip
    """Run several reports into ``out_dir``, ``jobs`` at a time, under one lock of ``out_dir``.

    Workers (and their kernels) end when this process ends; SIGTERM stops them and removes
    their temporary folders. ``on_result((name, result, error))`` is called as each report in
    ``names`` order is done; the list of those tuples is returned.
    """
    out_root = Path(out_dir).absolute()  # the kernel writes the lists there
    formats = parse_formats(formats)
    outcomes: list = []

    def _collect(outcome):
        outcomes.append(outcome)
        if on_result is not None:
            on_result(outcome)

    calls = [
        dict(name=n, params=params_by_name.get(n, {}), out_dir=str(out_root), formats=formats,
             pdf_engine=pdf_engine, progress=progress and jobs == 1)
        for n in names
    ]  # fmt: skip
    with out_lock(out_root):
        remove_stale(out_root, list(names))
        run_many(run_one, calls, jobs=min(jobs, len(calls)) or 1, on_result=_collect)
    return outcomes


def _make_readable(folder: Path) -> None:
    """mkdtemp/mkstemp create owner-only files; a report is for sharing (honour the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    folder.chmod(0o777 & ~umask)
    for path in folder.iterdir():
        path.chmod(0o666 & ~umask)


def _replace_dir(tmp: Path, final: Path) -> None:
    """Move ``tmp`` onto ``final``; an older ``final`` is removed only after the move."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}-{time.time_ns()}")
        os.replace(final, old)
    try:
        os.replace(tmp, final)
    except BaseException:
        if old is not None:
            os.replace(old, final)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
