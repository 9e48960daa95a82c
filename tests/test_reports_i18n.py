"""Issue 12 item 9 (report side): one message catalogue, a CJK font check, a Chinese PDF."""

from __future__ import annotations

import re
import string

import nbformat
import pytest

from crmresearch import reports
from crmresearch.cli import main
from crmresearch.reports import labels, render, runner


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_catalogue_entries_keep_their_fields():
    entries = labels.catalogue("zh")
    assert len(entries) > 150
    for en, zh in entries.items():
        assert _fields(en) == _fields(zh), en
        assert re.search(r"[\u4e00-\u9fff]", zh) or not re.search(r"[a-z]{4,}", en), en


@pytest.mark.parametrize("name", reports.REPORTS)
def test_every_markdown_cell_of_the_shipped_notebooks_is_translated(name):
    nb = nbformat.read(reports.notebook_path(name), as_version=4)
    translated, missing = labels.translate_markdown(nb, "zh")
    assert missing == []
    for before, after in zip(nb.cells, translated.cells, strict=True):
        if before.cell_type == "markdown" and re.search(r"[A-Za-z]{3,}", before.source):
            assert re.search(r"[\u4e00-\u9fff]", after.source), before.source[:60]


def test_t_fills_fields_after_translation_and_remembers_misses():
    labels.set_language("zh")
    try:
        text = labels.t("generated {stamp}", stamp="2026-12-01 10:00 UTC")
        assert text == "生成于 2026-12-01 10:00 UTC"
        assert labels.t("yes") == "是" and labels.t("a text nobody translated") == "a text nobody translated"
        assert labels.untranslated() == ["a text nobody translated"]
    finally:
        labels.set_language("en")
    assert labels.t("yes") == "yes"


def test_no_cjk_font_refuses_a_chinese_report_with_the_install_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(render, "cjk_fonts", lambda: [])
    monkeypatch.setattr(runner, "_execute", lambda *a, **k: pytest.fail("kernel started"))
    code = main(["report", "segment_value", "-p", "language=zh", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "apt-get install fonts-noto-cjk" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    reports.validate_params(reports.notebook_path("segment_value"), {"language": "en"})
    render.check_fonts("en")  # English needs no CJK font


@pytest.mark.slow
def test_chinese_pdf_embeds_a_cjk_font_and_chinese_text(tmp_path):
    from pypdf import PdfReader

    if not render.cjk_fonts():
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    result = reports.run(
        "core_customer_loss",
        {"data": "synthetic", "n_customers": 400, "n_boot": 20, "language": "zh", "currency": "¥"},
        tmp_path, progress=False,
    )  # fmt: skip
    reader = PdfReader(result.out_dir / "core_customer_loss.pdf")
    fonts = {
        str(font.get_object().get("/BaseFont"))
        for page in reader.pages
        for font in page.get("/Resources", {}).get("/Font", {}).values()
    }
    assert any("CJK" in f for f in fonts), fonts
    text = " ".join(" ".join(p.extract_text().split()) for p in reader.pages)
    for heading in ("执行摘要", "被忽视的核心客户", "方法附录", "可复现性清单", "潜在核心客户流失"):
        assert heading in text, heading
    # what is still English is listed, not hidden (computed sentences of the section)
    manifest = result.manifest
    assert manifest["language"] == "zh" and isinstance(manifest["untranslated"], list)
