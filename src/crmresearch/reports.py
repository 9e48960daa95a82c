"""Parameterized reports: execute a notebook with papermill, render HTML and PDF for managers.

A report is one notebook in ``notebooks/`` with one cell tagged ``parameters``. :func:`run`

1. checks the parameters against that cell *before* a kernel starts (unknown name, wrong type,
   value outside the choices named in the cell's comment ``# one of: a, b``, missing data file);
2. executes the notebook with papermill in this interpreter's kernel (progress bar on stderr);
3. renders HTML with nbconvert (code, prompts, stderr and warnings hidden; images embedded; no
   external links; print CSS for A4) and PDF with WeasyPrint (or Debian Chromium on request);
4. writes ``metrics.json`` (the executive-summary numbers the notebook recorded with
   :func:`crmresearch.present.record`) and ``manifest.json`` (parameters, seed, data file SHA-256
   and row counts, package versions, run time);
5. does all of this in a temporary folder next to ``OUT/<name>`` and moves it into place only when
   every step succeeded, so a failing cell never leaves a partial report.

Outputs per run: ``OUT/<name>/<name>.ipynb``, ``<name>.html``, ``<name>.pdf``, ``metrics.json``,
``manifest.json``.
"""

from __future__ import annotations

import ast
import copy
import datetime as _dt
import json
import os
import platform
import re
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
from crmresearch.errors import DataError

__all__ = [
    "REPORTS",
    "METRICS_MIMETYPE",
    "ReportError",
    "ReportResult",
    "notebook_path",
    "notebook_parameters",
    "validate_params",
    "run",
    "to_html",
    "html_to_pdf",
    "find_chromium",
    "parse_formats",
]

#: The reports shipped in ``notebooks/`` (``crmresearch report all`` runs them in this order).
REPORTS = ("segment_value", "core_customer_loss", "strategy_effectiveness")

#: Mimetype of the display outputs through which a notebook hands records (metrics, manifest
#: facts) to :func:`run`. Front ends that do not know it show nothing; the HTML never shows it.
METRICS_MIMETYPE = "application/vnd.crmresearch.record+json"

#: Values of the ``data`` parameter that name a bundled source instead of a file.
BUILTIN_SOURCES = ("cdnow", "synthetic")

FORMATS = ("html", "pdf")
PDF_ENGINES = ("weasyprint", "chromium")

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_FILE = "crmresearch.html.j2"

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


class ReportError(RuntimeError):
    """A report notebook failed while executing or rendering (not a bad parameter)."""


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
    """The ``notebooks/`` folder of the source tree (the package is installed editable)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "notebooks"
        if candidate.is_dir() and (parent / "pyproject.toml").is_file():
            return candidate
    raise FileNotFoundError(
        "cannot find the notebooks/ folder next to pyproject.toml; run from a source checkout "
        "(pip install -e .) or pass notebook=PATH to reports.run"
    )


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


@dataclass(frozen=True)
class Parameter:
    """One assignment in a notebook's ``parameters`` cell."""

    name: str
    default: Any
    help: str = ""

    @property
    def choices(self) -> tuple[str, ...] | None:
        """Allowed values named in the cell comment as ``# one of: a, b, c``."""
        marker = "one of:"
        text = self.help.lower()
        if marker not in text:
            return None
        tail = self.help[text.index(marker) + len(marker) :]
        tail = tail.split(";")[0].split("(")[0]
        items = [t.strip().strip("\"'") for t in tail.split(",")]
        return tuple(t for t in items if t)


def notebook_parameters(path: str | os.PathLike) -> dict[str, Parameter]:
    """Parse the ``parameters``-tagged cell of a notebook: name → default (a Python literal).

    Every statement in the cell must be ``name = literal`` (optionally annotated) so that the
    parameters can be checked without running anything.
    """
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(
            f"notebook {path.name}: expected one cell tagged 'parameters', found {len(cells)}"
        )
    source = cells[0].source
    lines = source.splitlines()
    params: dict[str, Parameter] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            raise ValueError(
                f"notebook {path.name}: parameters cell line {node.lineno} is not `name = value`"
            )
        if not isinstance(target, ast.Name):
            raise ValueError(
                f"notebook {path.name}: parameters cell line {node.lineno}: bad target"
            )
        try:
            default = ast.literal_eval(value)
        except ValueError as exc:
            raise ValueError(
                f"notebook {path.name}: parameter {target.id!r} must have a literal default"
            ) from exc
        # The comment on the first line of the assignment is its help text.
        first = lines[node.lineno - 1]
        help_text = first.split("#", 1)[1].strip() if "#" in first else ""
        params[target.id] = Parameter(target.id, default, help_text)
    return params


def _type_name(value: Any) -> str:
    return type(value).__name__


def _coerce(name: str, value: Any, spec: Parameter, notebook: str) -> Any:
    """Check ``value`` against the default's type; return the value to inject."""
    default = spec.default
    # YAML turns 1997-09-30 into a date; the notebooks take ISO strings.
    if isinstance(value, (_dt.date, _dt.datetime)) and (
        isinstance(default, str) or default is None
    ):
        value = value.isoformat()
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(default, str) and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # e.g. -p n_factors=3 for a text parameter "parallel" | "3"
    if default is None or value is None:
        ok = True
    elif isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ValueError(
            f"report {notebook}: parameter {name!r} must be {_type_name(default)} "
            f"like its default {default!r}, got {_type_name(value)} {value!r}"
        )
    choices = spec.choices
    if choices and value is not None and str(value) not in choices:
        raise ValueError(
            f"report {notebook}: parameter {name!r} = {value!r} is not one of: {', '.join(choices)}"
        )
    return value


def validate_params(
    notebook: str | os.PathLike,
    params: dict[str, Any] | None,
    *,
    base_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Check ``params`` against the notebook's ``parameters`` cell, before any kernel starts.

    Returns the full parameter set (defaults overridden by ``params``) with a relative ``data``
    path made absolute (relative to ``base_dir``, default the current directory).

    Raises
    ------
    ValueError
        unknown parameter name (the message lists the known ones), a value whose type differs
        from the default's (an int is accepted for a float), or a value outside ``# one of:``.
    DataError
        ``data`` is neither ``"cdnow"``/``"synthetic"`` nor an existing file.
    """
    path = Path(notebook)
    spec = notebook_parameters(path)
    label = path.stem
    params = dict(params or {})
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise ValueError(
            f"report {label}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(spec)}"
        )
    merged = {name: p.default for name, p in spec.items()}
    for name, value in params.items():
        merged[name] = _coerce(name, value, spec[name], label)
    data = merged.get("data")
    if isinstance(data, str) and data not in BUILTIN_SOURCES:
        data_path = Path(data).expanduser()
        if not data_path.is_absolute():
            data_path = Path(base_dir or os.getcwd()) / data_path
        if not data_path.is_file():
            raise DataError(
                f"report {label}: data file {data} not found (looked at {data_path}); give an "
                f"existing CSV/Parquet path or one of: {', '.join(BUILTIN_SOURCES)}"
            )
        merged["data"] = str(data_path.resolve())
    return merged


# --------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------


def _kernel_manager_class():
    """A kernel manager that always starts this interpreter's ipykernel.

    A user-level ``python3`` kernelspec could point at another Python without crmresearch; the
    report must run in the environment that validated the parameters.
    """
    from jupyter_client.manager import AsyncKernelManager

    class _ThisPythonKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            # The kernel's own stderr (transport notices, "KeyboardInterrupt caught" at shutdown)
            # is not the user's business; cell errors still arrive through the protocol.
            kw.setdefault("stderr", subprocess.DEVNULL)
            return await super().start_kernel(**kw)

        @property
        def kernel_spec(self):
            spec = super().kernel_spec
            if spec is not None and spec.language.lower() == "python":
                spec = copy.copy(spec)
                spec.argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
            return spec

    return _ThisPythonKernelManager


def _cell_failure(name: str, exc: Exception, nb) -> ReportError:
    """Turn papermill's execution error into one message: notebook, cell, first line, error."""
    index = getattr(exc, "cell_index", None)
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    if index is None:
        return ReportError(f"report {name}: notebook execution failed: {ename}: {evalue}")
    # Number cells as in the source notebook: papermill inserted an injected-parameters cell.
    injected_before = sum(
        1
        for c in nb.cells[:index]
        if "injected-parameters" in c.get("metadata", {}).get("tags", [])
    )
    cell_number = index - injected_before + 1
    source = getattr(exc, "source", "") or nb.cells[index].source
    first = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    if len(first) > 80:
        first = first[:77] + "..."
    return ReportError(
        f"report {name}: notebook {name}.ipynb failed in cell {cell_number} ({first!r}): "
        f"{ename}: {evalue}"
    )


def _execute(
    name: str, notebook: Path, params: dict[str, Any], *, progress: bool, timeout: int | None
):
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    # papermill writes nothing itself (output_path=None); we keep the executed notebook in memory.
    nb_in = nbformat.read(notebook, as_version=4)
    import logging

    # We checked the parameters ourselves; papermill's own parser logs false alarms about
    # lines it cannot read (e.g. `x = ""  # comment "with quotes"`).
    logging.getLogger("papermill").setLevel(logging.ERROR)
    env_backup = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # papermill/nbclient chatter about kernels/black
            nb = papermill.execute_notebook(
                nb_in,
                None,
                parameters=params,
                kernel_name="python3",
                progress_bar=progress,
                cwd=str(notebook.parent),
                execution_timeout=timeout,
                kernel_manager_class=_kernel_manager_class(),
            )
    except PapermillExecutionError as exc:
        raise _cell_failure(name, exc, nb_in_executed(exc, nb_in)) from None
    finally:
        if env_backup is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = env_backup
    return nb


def nb_in_executed(exc, nb_in):
    """The notebook whose cell index ``exc.cell_index`` refers to (with the injected cell)."""
    nb = copy.deepcopy(nb_in)
    # papermill inserts the injected cell right after the parameters cell.
    for i, cell in enumerate(nb.cells):
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            import nbformat

            injected = nbformat.v4.new_code_cell("", metadata={"tags": ["injected-parameters"]})
            nb.cells.insert(i + 1, injected)
            break
    return nb


def extract_records(nb) -> dict[str, Any]:
    """Collect what the notebook recorded with :func:`crmresearch.present.record` (last wins)."""
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
# Rendering
# --------------------------------------------------------------------------------------------


def _presentable(nb):
    """A copy without what a manager must not see: stderr, warnings, errors, records."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                continue
            if out.get("output_type") == "error":
                continue
            data = out.get("data")
            if data is not None:
                if METRICS_MIMETYPE in data:
                    data = {k: v for k, v in data.items() if k != METRICS_MIMETYPE}
                    if not any(k != "text/plain" for k in data):
                        continue
                    out["data"] = data
                # matplotlib figures: the PNG is shown; drop the "<Figure size ...>" repr.
                if "text/plain" in data and len(data) > 1:
                    del out["data"]["text/plain"]
                elif set(data) == {"text/plain"} and out.get("output_type") == "execute_result":
                    continue  # a bare Python repr (the value of a cell's last line)
            kept.append(out)
        cell["outputs"] = kept
    return nb


def to_html(nb, *, title: str | None = None) -> str:
    """Render an executed notebook as self-contained HTML for managers.

    Code cells' inputs and all prompts are hidden, stderr/warnings dropped, images embedded as
    data URIs, and the template (``templates/crmresearch.html.j2``, extending JupyterLab's) loads
    no script, font or style sheet from the network.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_template_paths=[str(TEMPLATE_DIR)],
        template_file=TEMPLATE_FILE,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    nb = _presentable(nb)
    if title:
        nb.metadata["title"] = title
    body, _ = exporter.from_notebook_node(nb)
    # JupyterLab's CSS cites its sources in comments; a report carries no http(s) address at all.
    return _CSS_COMMENT_WITH_URL.sub("", body)


_CSS_COMMENT_WITH_URL = re.compile(r"/\*(?:(?!\*/).)*?https?://.*?\*/", re.S)


def find_chromium() -> str | None:
    """Path of a Chromium executable (Debian names), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(
    html_path: str | os.PathLike, pdf_path: str | os.PathLike, engine: str = "weasyprint"
) -> Path:
    """Print ``html_path`` to an A4 PDF with WeasyPrint (default) or headless Chromium."""
    html_path, pdf_path = Path(html_path), Path(pdf_path)
    if engine == "weasyprint":
        import logging

        import weasyprint

        # WeasyPrint logs every CSS rule it does not support (JupyterLab's CSS has many).
        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        logging.getLogger("fontTools").setLevel(logging.ERROR)
        # url_fetcher refuses the network: a report must not depend on it.
        from weasyprint.urls import URLFetcher

        fetcher = URLFetcher(allowed_protocols=("file", "data"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "HarfBuzz-Subset will be required" notices
            document = weasyprint.HTML(filename=str(html_path), url_fetcher=fetcher)
            document.write_pdf(str(pdf_path))
    elif engine == "chromium":
        exe = find_chromium()
        if exe is None:
            raise ValueError(
                "pdf engine 'chromium' requested but no chromium executable was found on PATH; "
                "install Debian's chromium (apt-get install chromium) or use --pdf-engine weasyprint"
            )
        with tempfile.TemporaryDirectory(prefix="crmresearch-chromium-") as profile:
            cmd = [
                exe,
                "--headless",
                "--disable-gpu",
                "--no-sandbox",
                "--no-pdf-header-footer",  # current name
                "--print-to-pdf-no-header",  # older releases (unknown flags are ignored)
                f"--user-data-dir={profile}",
                f"--print-to-pdf={pdf_path}",
                html_path.resolve().as_uri(),
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        # Chromium exits 0 even when it wrote nothing: check the file itself.
        if not pdf_path.is_file() or pdf_path.stat().st_size == 0:
            raise ReportError(
                f"chromium did not write {pdf_path.name} (exit {proc.returncode}): "
                f"{proc.stderr.strip()[-300:]}"
            )
    else:
        raise ValueError(f"unknown pdf engine {engine!r}; choose one of: {', '.join(PDF_ENGINES)}")
    return pdf_path


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
) -> ReportResult:
    """Execute report ``name`` with ``params`` and write it to ``out_dir/<name>/``.

    Parameters
    ----------
    name : str
        One of :data:`REPORTS` (``notebooks/<name>.ipynb``), or any name with ``notebook=``.
    params : dict, optional
        Overrides of the notebook's ``parameters`` cell; checked before the kernel starts.
    out_dir : path
        Parent folder; the report goes to ``out_dir/<name>/`` (replaced atomically).
    formats : sequence of {"html", "pdf"} or comma-separated str
        What to render besides the executed notebook, ``metrics.json`` and ``manifest.json``.
        ``"pdf"`` renders the HTML first (it is kept only if ``"html"`` is asked for too).
    pdf_engine : {"weasyprint", "chromium"}
    notebook : path, optional
        Run this notebook instead of ``notebooks/<name>.ipynb``.
    progress : bool
        Show papermill's progress bar (tqdm, stderr).
    timeout : int, optional
        Seconds allowed per cell.

    Returns
    -------
    ReportResult

    Raises
    ------
    ValueError, DataError
        bad parameters, formats or engine (nothing is started, nothing written).
    ReportError
        a cell failed (message names notebook, cell number, its first line and the error) or
        rendering failed; ``out_dir/<name>/`` is left as it was before the call.
    """
    t0 = time.perf_counter()
    started = _dt.datetime.now(_dt.UTC)
    formats = parse_formats(formats)
    if pdf_engine not in PDF_ENGINES:
        raise ValueError(
            f"unknown pdf engine {pdf_engine!r}; choose one of: {', '.join(PDF_ENGINES)}"
        )
    if pdf_engine == "chromium" and "pdf" in formats and find_chromium() is None:
        raise ValueError(
            "pdf engine 'chromium' requested but no chromium executable was found on PATH; "
            "install Debian's chromium or use --pdf-engine weasyprint"
        )
    nb_path = Path(notebook) if notebook is not None else notebook_path(name)
    if not nb_path.is_file():
        raise FileNotFoundError(f"report notebook {nb_path} not found")
    full_params = validate_params(nb_path, params)

    out_root = Path(out_dir)
    out_root.mkdir(parents=True, exist_ok=True)
    final = out_root / name
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=out_root))
    timings: dict[str, float] = {}
    try:
        t = time.perf_counter()
        nb = _execute(name, nb_path, full_params, progress=progress, timeout=timeout)
        timings["execute"] = time.perf_counter() - t
        records = extract_records(nb)
        metrics = records.get("metrics", {})
        import nbformat

        files: dict[str, Path] = {}
        files["ipynb"] = write_text(tmp / f"{name}.ipynb", nbformat.writes(nb))

        title = full_params.get("title") or name.replace("_", " ").capitalize()
        if "html" in formats or "pdf" in formats:
            t = time.perf_counter()
            html = to_html(nb, title=str(title))
            html_file = write_text(tmp / f"{name}.html", html)
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
                    raise ReportError(
                        f"report {name}: PDF rendering ({pdf_engine}) failed: {exc}"
                    ) from exc
                files["pdf"] = pdf_target
                timings["pdf"] = time.perf_counter() - t
            if "html" not in formats:
                html_file.unlink()

        files["metrics"] = write_json(tmp / "metrics.json", metrics)
        manifest = {
            "report": name,
            "notebook": str(nb_path),
            "parameters": full_params,
            "seed": full_params.get("seed"),
            **records.get("manifest", {}),
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
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    files = {k: final / p.name for k, p in files.items()}
    return ReportResult(
        name=name,
        out_dir=final,
        files=files,
        metrics=metrics,
        manifest=manifest,
        seconds=time.perf_counter() - t0,
        timings=timings,
    )


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
