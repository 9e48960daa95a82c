"""Rendering an executed report notebook for managers: offline HTML, then an A4 PDF.

HTML by nbconvert with the template in ``templates/`` (code, prompts, stderr, warnings and
records hidden; images embedded; no external link); PDF by WeasyPrint (default) or Debian's
headless Chromium.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

__all__ = [
    "METRICS_MIMETYPE",
    "PDF_ENGINES",
    "TEMPLATE_DIR",
    "ReportError",
    "to_html",
    "html_to_pdf",
    "find_chromium",
    "cjk_fonts",
    "check_fonts",
]

#: Mimetype of the display outputs through which a notebook hands records (metrics, manifest
#: facts) to the runner. Front ends that do not know it show nothing; the HTML never shows it.
METRICS_MIMETYPE = "application/vnd.crmresearch.record+json"

PDF_ENGINES = ("weasyprint", "chromium")

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_FILE = "crmresearch.html.j2"


class ReportError(RuntimeError):
    """A report notebook failed while executing or rendering (not a bad parameter)."""


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


#: How to install the CJK font the Chinese reports are tested with.
CJK_FONT_INSTALL = (
    "apt-get install fonts-noto-cjk (Debian/Ubuntu; dnf install google-noto-sans-cjk-fonts on "
    "Fedora; brew install --cask font-noto-sans-cjk on macOS)"
)


def cjk_fonts() -> list[str]:
    """Families of installed fonts that cover Chinese, as fontconfig (WeasyPrint's font source)
    and matplotlib (the figures) both see them; empty when either has none."""
    from matplotlib import font_manager

    fc_list = shutil.which("fc-list")
    families: set[str] = set()
    if fc_list:
        proc = subprocess.run(
            [fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=60
        )
        families = {f.split(",")[0].strip() for f in proc.stdout.splitlines() if f.strip()}
    figure_fonts = {f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name}
    return sorted(families & figure_fonts) if families and figure_fonts else []


def check_fonts(language: str) -> None:
    """A Chinese report needs a CJK font for its PDF and figures: refuse (before any kernel)
    with the install command rather than print empty boxes."""
    if language != "zh":
        return
    if not cjk_fonts():
        raise ValueError(
            "language 'zh' needs a font with Chinese characters and none was found (fontconfig "
            f"`fc-list :lang=zh` / matplotlib); install one: {CJK_FONT_INSTALL}"
        )
