"""Issue 13 item 8 and issue 12 items 1, 6, 7, 10 on the report side.

One real run on a GB18030, semicolon-separated export with Chinese headers, stored under a
folder whose name must never reach a manager-facing file; money in yuan; a holdout window that
runs past the data; one unparseable row. Plus the refusals that need no kernel.
"""

from __future__ import annotations

import getpass
import json
import re
import socket

import pandas as pd
import pytest
from pypdf import PdfReader

from crmresearch import reports
from crmresearch.cli import main
from crmresearch.datasets import make_crm_data
from crmresearch.errors import DataError
from crmresearch.reports import runner

MARKER = "secret-folder-7f3a"
HEADER = {"customer_id": "客户编号", "date": "交易日期", "amount": "金额"}


def _export(tmp_path, n_customers=300, bad_rows=1, unit=""):
    syn = make_crm_data(n_customers=n_customers, seed=2)
    frame = syn.transactions.frame[["customer_id", "date", "amount"]].copy()
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    frame["amount"] = frame["amount"].map(lambda v: f"{v:.2f}{unit}")
    for i in range(bad_rows):  # unparseable amounts: rejected row by row, with a reason
        frame.iloc[i, frame.columns.get_loc("amount")] = "n/a?"
    folder = tmp_path / MARKER
    folder.mkdir()
    path = folder / "交易.csv"
    frame.rename(columns=HEADER).to_csv(path, sep=";", index=False, encoding="gb18030")
    return path, syn, len(frame)


def _visible_html(html: str) -> str:
    html = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    html = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", " ", html)
    return html


@pytest.fixture(scope="module")
def gbk_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gbk")
    path, syn, n_rows = _export(tmp, unit="元")  # no currency parameter: the amounts say ¥
    last = syn.transactions.frame["date"].max()
    params = {
        "data": str(path),
        "columns": {v: k for k, v in HEADER.items()},
        "encoding": "gb18030",
        "sep": ";",
        "calibration_end": f"{syn.truth.calibration_end:%Y-%m-%d}",
        "holdout_end": f"{last + pd.Timedelta(days=31):%Y-%m-%d}",
    }
    result = reports.run("segment_value", params, tmp / "out", progress=False)
    return result, path, n_rows, last


@pytest.mark.slow
def test_reader_options_reach_the_reader(gbk_run):
    result, _path, n_rows, _last = gbk_run
    manifest = result.manifest
    assert manifest["rows_read"] == n_rows  # read with the given encoding and separator
    assert manifest["rows_rejected"] == 1 and manifest["rows_accepted"] == n_rows - 1
    assert manifest["parameters"]["encoding"] == "gb18030" and manifest["parameters"]["sep"] == ";"


@pytest.mark.slow
def test_no_machine_path_user_or_host_in_manager_files(gbk_run):
    result, path, _n, _last = gbk_run
    texts = {
        "html": _visible_html((result.out_dir / "segment_value.html").read_text()),
        "pdf": " ".join(p.extract_text() for p in PdfReader(result.out_dir / "segment_value.pdf").pages),
        "manifest": (result.out_dir / "manifest.json").read_text(),
        "metrics": (result.out_dir / "metrics.json").read_text(),
        # the executed notebook travels with the report: papermill's parameter cell too
        "ipynb": re.sub(r'"image/(png|jpeg)": "[^"]*"', " ",
                        (result.out_dir / "segment_value.ipynb").read_text()),  # fmt: skip
    }
    forbidden = [str(path.parent), MARKER, str(path.parent.parent)]
    words = [getpass.getuser(), socket.gethostname()]
    for name, text in texts.items():
        for item in forbidden:
            assert item not in text, (name, item)
        for word in words:
            assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text), (name, word)
    manifest = json.loads(texts["manifest"])
    assert manifest["data_file"] == path.name == manifest["parameters"]["data"]
    assert len(manifest["data_sha256"]) == 64


@pytest.mark.slow
def test_page_one_rows_currency_and_truncated_holdout(gbk_run):
    result, _path, n_rows, last = gbk_run
    page1 = " ".join(PdfReader(result.out_dir / "segment_value.pdf").pages[0].extract_text().split())
    assert f"rows read {n_rows:,} / accepted {n_rows - 1:,} / rejected 1" in page1
    assert "Truncated holdout" in page1 and f"The data end on {last:%Y-%m-%d}" in page1
    html = _visible_html((result.out_dir / "segment_value.html").read_text())
    assert "¥" in html and "$" not in html  # money printed with the report's currency


@pytest.mark.slow
def test_mostly_rejected_data_is_refused_with_exit_2(tmp_path, capsys):
    path, syn, n_rows = _export(tmp_path, n_customers=100, bad_rows=40)
    argv = ["report", "segment_value", "-p", f"data={path}", "-p", "encoding=gb18030",
            "-p", "sep=;", "-p", f"calibration_end={syn.truth.calibration_end:%Y-%m-%d}",
            "-p", f"holdout_end={syn.truth.holdout_end:%Y-%m-%d}",
            "-p", "columns={" + ", ".join(f"{v}: {k}" for k, v in HEADER.items()) + "}",
            "--out", str(tmp_path / "out"), "--no-progress"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"40 of {n_rows:,} rows" in err and "max_rejected_share" in err
    assert "Top reasons:" in err
    assert not list((tmp_path / "out").iterdir())


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"calibration_end": "05.01.2024"}, DataError, r"calibration_end = '05.01.2024'"),
        ({"calibration_end": "2024-13-01"}, DataError, r"calibration_end = '2024-13-01' is not a calendar date"),
        ({"calibration_end": "1997-09-30", "holdout_end": "1997-06-30"}, ValueError,
         r"holdout_end 1997-06-30 must be after calibration_end"),
        ({"calibration_start": "1997-10-30", "calibration_end": "1997-09-30"}, ValueError,
         r"calibration_end 1997-09-30 must be on or after calibration_start"),
        ({"max_rejected_share": 1.5}, ValueError, r"max_rejected_share = 1.5"),
        ({"encoding": "klingon"}, ValueError, r"not a known text encoding"),
    ],
)  # fmt: skip
def test_settings_checked_before_the_kernel(tmp_path, monkeypatch, params, error, match):
    monkeypatch.setattr(runner, "_execute", lambda *a, **k: pytest.fail("kernel started"))
    with pytest.raises(error, match=match):
        reports.run("segment_value", params, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_own_data_needs_its_windows_before_the_kernel(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "_execute", lambda *a, **k: pytest.fail("kernel started"))
    data = tmp_path / "log.csv"
    data.write_text("customer_id,date,amount\n1,2020-01-01,3\n")
    with pytest.raises(ValueError, match="give calibration_end and holdout_end"):
        reports.run("core_customer_loss", {"data": str(data)}, tmp_path / "out")


def test_failing_cell_is_named_by_its_section(tmp_path):
    from test_reports import make_tiny

    nb = make_tiny(tmp_path / "tiny.ipynb")
    with pytest.raises(reports.ReportError) as info:
        reports.run("tiny", {"fail": True}, tmp_path / "out", notebook=nb, formats=(),
                    progress=False)  # fmt: skip
    assert "failed in cell 10 ('if fail:') of section 'Section B: figure'" in str(info.value)


def test_public_parameters_name_no_path_and_no_key_file():
    """Issue 13 item 8 / issue 10 item 7: manager-facing parameters never show a machine path,
    and the id key file is not named (its fingerprint is what the report states)."""
    from crmresearch.reports.runner import public_parameters

    shown = public_parameters({
        "data": "/srv/analyst/exports/销售明细.xlsx", "campaign": "/srv/crm/campaign.csv",
        "customers": "/srv/crm/客户.csv", "lists_dir": "/srv/crm/lists", "id_key": "/srv/keys/firm.key",
        "index_config": "/srv/crm/my_index.yaml", "title": "Q3", "core_share": 0.0,
    })  # fmt: skip
    assert not any("/" in str(v) for v in shown.values()), shown
    assert shown["data"] == "销售明细.xlsx" and shown["customers"] == "客户.csv"
    assert "firm.key" not in str(shown["id_key"]) and shown["title"] == "Q3"
    builtin = public_parameters({"data": "cdnow", "campaign": "hillstrom", "index_config": "ecommerce"})
    assert builtin == {"data": "cdnow", "campaign": "hillstrom", "index_config": "ecommerce"}


def test_public_notebook_text_leaves_no_path_in_cells_or_metadata():
    """The executed .ipynb goes out with the report: papermill writes each parameter's value
    into the injected cell (as Python repr) and into the metadata (as JSON)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from crmresearch.reports.params import public_notebook_text

    params = {"data": "/srv/导出/销售 明细.xlsx", "customers": "/srv/o'brien/客户.csv",
              "id_key": "/srv/keys/firm.key", "lists_dir": "/srv/crm/lists", "title": "Q3"}  # fmt: skip
    nb = new_notebook()
    nb.cells = [new_code_cell("\n".join(f"{k} = {v!r}" for k, v in params.items()))]
    nb.metadata["papermill"] = {"parameters": params}
    text = public_notebook_text(nbformat.writes(nb), params)
    assert "/srv" not in text and "firm.key" not in text
    back = nbformat.reads(text, as_version=4)
    assert back.metadata["papermill"]["parameters"]["data"] == "销售 明细.xlsx"
    assert 'customers = "客户.csv"' in back.cells[0].source
    assert "data = '销售 明细.xlsx'" in back.cells[0].source
    assert "id_key = '(key file given; see its fingerprint)'" in back.cells[0].source
