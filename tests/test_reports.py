"""reports.run machinery on a tiny notebook built here: execution, HTML, PDF, atomicity, errors."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from crmresearch import reports
from crmresearch.cli.report import params_for, parse_assignments
from crmresearch.errors import DataError
from crmresearch.reports import runner

PARAMS_CELL = """\
n_rows = 30  # rows in the table
scale = 1.5
fail = False
language = "en"  # one of: en, zh
data = "cdnow"  # path, "cdnow" or "synthetic"
title = "Tiny report"
seed = 0
"""

HEADINGS = ["Executive summary", "Section A: table", "Section B: figure", "Appendix"]


def make_tiny(path: Path) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "language": "python",
        "display_name": "Python 3",
    }
    nb.cells = [
        new_markdown_cell("# Tiny report"),
        new_code_cell(PARAMS_CELL, metadata={"tags": ["parameters"]}),
        new_code_cell(
            "import sys, warnings\nimport numpy as np, pandas as pd\n"
            "import matplotlib.pyplot as plt\nfrom crmresearch import _format\nfrom crmresearch.reports import display as present"
        ),
        new_markdown_cell("## Executive summary"),
        new_code_cell(
            "values = np.random.default_rng(seed).normal(size=n_rows) * scale\n"
            "warnings.warn('WARNING-MUST-NOT-SHOW')\n"
            "print('STDERR-MUST-NOT-SHOW', file=sys.stderr)\n"
            "present.executive_summary([('Rows', _format.fmt_int(n_rows)), "
            "('Mean', _format.fmt_num(values.mean()))], [f'The mean is {values.mean():.2f}.'], "
            "{'n_rows': n_rows, 'mean': values.mean(), 'kernel_python': sys.executable})"
        ),
        new_markdown_cell('<div class="crm-pagebreak"></div>\n\n## Section A: table'),
        new_code_cell(
            "present.table(pd.DataFrame({'value': values, 'rank': np.arange(n_rows)}), "
            "caption='Values', max_rows=200)"
        ),
        new_markdown_cell('<div class="crm-pagebreak"></div>\n\n## Section B: figure'),
        new_code_cell(
            "fig, ax = plt.subplots(figsize=(6, 3))\nax.plot(values)\nax.set_title('Values')\n"
            "ax.set_xlabel('row')\nax.set_ylabel('value (units)')\npresent.show_figure(fig)"
        ),
        new_code_cell("if fail:\n    raise RuntimeError('planted failure')"),
        new_markdown_cell('<div class="crm-pagebreak"></div>\n\n## Appendix'),
        new_code_cell("values.sum()  # a bare repr: must not reach the report"),
    ]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_tiny(tmp_path_factory.mktemp("nb") / "tiny.ipynb")


@pytest.fixture(scope="module")
def done(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result = reports.run("tiny", {"n_rows": 40, "scale": 2}, out, notebook=tiny, progress=False)
    return result


def test_run_writes_all_files(done):
    names = sorted(p.name for p in done.out_dir.iterdir())
    assert names == ["manifest.json", "metrics.json", "tiny.html", "tiny.ipynb", "tiny.pdf"]
    # nothing else left next to it (no temp folders)
    assert sorted(p.name for p in done.out_dir.parent.iterdir()) == ["tiny"]


def test_metrics_equal_recomputation(done):
    metrics = json.loads((done.out_dir / "metrics.json").read_text())
    expected = np.random.default_rng(0).normal(size=40) * 2.0
    assert metrics["n_rows"] == 40
    assert metrics["mean"] == pytest.approx(expected.mean(), rel=1e-12)
    # the kernel is this interpreter (same venv), whatever the user's kernelspecs say
    assert Path(metrics["kernel_python"]) == Path(sys.executable)


def test_manifest(done):
    manifest = json.loads((done.out_dir / "manifest.json").read_text())
    assert manifest["parameters"]["n_rows"] == 40
    assert manifest["parameters"]["scale"] == 2.0  # int accepted for a float default
    assert manifest["seed"] == 0
    assert manifest["package_versions"]["pandas"]
    assert manifest["run_seconds"] > 0


def test_html_has_no_code_no_links_no_warnings(done):
    html = (done.out_dir / "tiny.html").read_text()
    assert not re.search(r"https?://", html)
    assert "<script src" not in html
    for leaked in ("WARNING-MUST-NOT-SHOW", "STDERR-MUST-NOT-SHOW", "present.table(", "np.float64"):
        assert leaked not in html
    body = html.split("</head>", 1)[1]
    for snippet in ("import sys, warnings", "n_rows = 30", "ax.set_title(", "if fail:"):
        assert snippet not in body  # no code cell's input is shown
    assert "jp-CodeMirrorEditor" not in body
    assert "data:image/png;base64," in html
    assert "@page" in html and "A4" in html
    assert reports.METRICS_MIMETYPE not in html


def test_pdf_pages_and_headings(done):
    from pypdf import PdfReader

    reader = PdfReader(done.out_dir / "tiny.pdf")
    assert len(reader.pages) >= 3
    text = " ".join(page.extract_text() for page in reader.pages)
    for heading in HEADINGS:
        assert heading in text
    assert "WARNING-MUST-NOT-SHOW" not in text
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert (width, height) == pytest.approx((595.3, 841.9), abs=1)  # A4 in points


def test_failing_cell_names_cell_and_leaves_nothing(tiny, tmp_path):
    out = tmp_path / "out"
    previous = out / "tiny"
    previous.mkdir(parents=True)
    (previous / "tiny.html").write_text("previous report")
    with pytest.raises(reports.ReportError) as info:
        reports.run("tiny", {"fail": True}, out, notebook=tiny, progress=False, formats="html")
    message = str(info.value)
    assert "tiny.ipynb" in message
    assert "cell 10" in message  # 10th cell of the source notebook
    assert "if fail:" in message
    assert "RuntimeError: planted failure" in message
    # the earlier report is untouched and no temporary folder is left
    assert sorted(p.name for p in out.iterdir()) == ["tiny"]
    assert [p.name for p in previous.iterdir()] == ["tiny.html"]
    assert (previous / "tiny.html").read_text() == "previous report"


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_rowz": 3}, ValueError, r"unknown parameter\(s\) 'n_rowz'.*known: n_rows"),
        ({"n_rows": "many"}, ValueError, r"'n_rows' must be int.*got str 'many'"),
        ({"n_rows": 2.5}, ValueError, r"'n_rows' must be int"),
        ({"fail": 1}, ValueError, r"'fail' must be bool"),
        ({"language": "fr"}, ValueError, r"'language' = 'fr' is not one of: en, zh"),
        ({"data": "no/such/file.csv"}, DataError, r"data file no/such/file.csv not found"),
    ],
)
def test_parameter_errors_before_kernel(tiny, tmp_path, monkeypatch, params, error, match):
    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started for bad parameters")

    monkeypatch.setattr(runner, "_execute", no_kernel)
    with pytest.raises(error, match=match):
        reports.run("tiny", params, tmp_path, notebook=tiny, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_validate_params_resolves_data_path(tiny, tmp_path):
    data = tmp_path / "log.csv"
    data.write_text("customer_id,date,amount\n1,2020-01-01,3\n")
    merged = reports.validate_params(tiny, {"data": "log.csv"}, base_dir=tmp_path)
    assert merged["data"] == str(data.resolve())
    assert merged["title"] == "Tiny report" and merged["seed"] == 0


def test_bad_format_and_engine(tiny, tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        reports.run("tiny", {}, tmp_path, formats="docx", notebook=tiny)
    with pytest.raises(ValueError, match="unknown pdf engine"):
        reports.run("tiny", {}, tmp_path, pdf_engine="latex", notebook=tiny)


def test_cli_param_parsing():
    parsed = parse_assignments(["core_share=0.1", "title=My report", "end=1997-09-30", "ids=true"])
    assert parsed["core_share"] == 0.1 and parsed["ids"] is True and parsed["title"] == "My report"
    # YAML reads a date; validation turns it back into the ISO string the notebooks take
    spec = {"end": reports.Parameter("end", "1998-06-30")}
    assert reports._coerce("end", parsed["end"], spec["end"], "x") == "1997-09-30"
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_assignments(["core_share"])
    from_file = {"seed": 3, "segment_value": {"seed": 5}}
    assert params_for("segment_value", from_file, {}) == {"seed": 5}
    assert params_for("core_customer_loss", from_file, {"seed": 7}) == {"seed": 7}


def _fake_chromium(folder: Path, body: str) -> Path:
    exe = folder / "chromium"
    exe.write_text("#!/bin/sh\n" + body + "\n")
    exe.chmod(0o755)
    return exe


def test_chromium_exit_0_without_pdf_is_an_error(tmp_path, monkeypatch):
    # Debian's chromium exits 0 even when it wrote nothing: the file itself is checked.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_chromium(bin_dir, "exit 0")
    monkeypatch.setenv("PATH", str(bin_dir))
    html = tmp_path / "r.html"
    html.write_text("<html><body><h1>x</h1></body></html>")
    with pytest.raises(reports.ReportError, match="chromium did not write r.pdf"):
        reports.html_to_pdf(html, tmp_path / "r.pdf", engine="chromium")


def test_chromium_writes_pdf(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # a stand-in that honours --print-to-pdf=FILE like chromium does
    _fake_chromium(
        bin_dir,
        'for a in "$@"; do case "$a" in --print-to-pdf=*) printf "%%PDF-1.4 fake" > "${a#--print-to-pdf=}";; esac; done',
    )
    monkeypatch.setenv("PATH", str(bin_dir))
    html = tmp_path / "r.html"
    html.write_text("<html><body><h1>x</h1></body></html>")
    out = reports.html_to_pdf(html, tmp_path / "r.pdf", engine="chromium")
    assert out.read_bytes().startswith(b"%PDF")


def test_chromium_missing_is_a_parameter_error(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "find_chromium", lambda: None)
    with pytest.raises(ValueError, match="no chromium executable"):
        reports.run("tiny", {}, tmp_path / "out", pdf_engine="chromium", notebook=tiny)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ report wording (reports.sections, display)


@pytest.mark.parametrize(
    ("ci", "expected"),
    [
        ((0.75, 1.17), "is not associated with more churn"),
        ((1.10, 1.90), "persists after adjusting"),
        ((0.50, 0.90), "churn less often"),
    ],
)
def test_odds_ratio_interpretation_follows_ci(ci, expected):
    from crmresearch.reports.sections.core_customer_loss import odds_ratio_interpretation

    text = odds_ratio_interpretation(ci, "A")
    assert expected in text and "tier A" in text


def test_typography_nbsp_percent_and_minus():
    from crmresearch import _format as P

    assert P.fmt_pct(0.661) == "66.1\u00a0%"
    assert P.fmt_pct(-0.012) == "\u22121.2\u00a0%"
    assert P.fmt_num(-3.2) == "\u22123.20" and P.fmt_int(-1234) == "\u22121,234"
    # dates and pseudonyms keep their hyphens; a negative number gets U+2212
    assert P.typeset("95 % CI -0.5 on 1997-09-30 for C-ab12") == (
        "95\u00a0% CI \u22120.5 on 1997-09-30 for C-ab12"
    )


def test_manifest_parameter_words():
    from crmresearch.reports.display import _param_text

    assert _param_text("tier_shares", [0.05, 0.15, 0.8], {}) == "5\u00a0% / 15\u00a0% / 80\u00a0%"
    assert _param_text("columns", {}, {}) == "none"
    assert _param_text("pseudonymize_ids", True, {}) == "yes"
    used = {"calibration_end": "1997-09-30"}
    assert _param_text("calibration_end", "", used) == "1997-09-30 (default)"


def test_profile_labels_carry_units():
    from crmresearch.features import INDICATORS
    from crmresearch.reports.labels import label_with_unit

    assert label_with_unit("recency_days") == f"{INDICATORS['recency_days'].label_en} (days)"
    assert label_with_unit("frequency") == "Frequency (orders)"  # unit not repeated
    assert label_with_unit("monetary") == "Monetary (net revenue, $)"
    assert label_with_unit("spend_trend") == INDICATORS["spend_trend"].label_en  # a ratio
