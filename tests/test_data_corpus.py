"""Issue 12: realistic export files (tests/data/, written by tests/data/make_corpus.py).

Each file's expected row accounting and totals are computed by hand from the rows listed in
make_corpus.py (comments there say which rows must be rejected and why).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crmresearch.data import read_customers, read_transactions
from crmresearch.errors import DataError

DATA = Path(__file__).resolve().parent / "data"
GBK_COLUMNS = {"客户编号": "customer_id", "交易日期": "date", "金额": "amount", "数量": "quantity",
               "品类": "category"}  # fmt: skip
XLSX_COLUMNS = {
    "客户编号": "customer_id",
    "订单日期": "date",
    "实收金额": "amount",
    "数量": "quantity",
}


def reasons(log) -> dict[int, str]:
    return dict(zip(log.rejected["row"], log.rejected["reason"], strict=True))


def test_gbk_export_with_chinese_headers_dates_currencies_and_totals_row():
    log = read_transactions(DATA / "gbk_chinese_headers.csv", columns=GBK_COLUMNS)
    assert (log.encoding, log.encoding_how) == ("gb18030", "detected")  # GBK ⊂ GB18030
    assert (log.n_read, log.n_accepted, log.n_rejected) == (10, 6, 4)
    assert reasons(log) == {
        6: "unparseable amount",  # 十元
        7: "missing customer_id",
        8: "unparseable date",  # 2024年13月1日
        10: "summary row",  # 合计, dated: must not double the total
    }
    f = log.frame
    # 1,234.50 + ￥88 + 88元 + RMB 2,000 + (120.00) + ￥3,000.00
    assert f["amount"].tolist() == [1234.5, 88.0, 88.0, 2000.0, -120.0, 3000.0]
    assert log.summary().total_amount == pytest.approx(6290.5, abs=1e-9)
    assert f["quantity"].sum() == 2 + 1 + 1 + 10 - 1 + 5
    assert f["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08", "2024-01-09", "2024-01-12",
    ]  # fmt: skip
    assert log.currency == "CNY" and log.summary().customers == 3
    assert f["category"].tolist() == ["卷烟", "卷烟", "雪茄", "卷烟", "卷烟", "雪茄"]
    assert "gb18030 (detected)" in str(log.summary())


def test_gbk_header_error_has_no_replacement_characters():
    """The mapping error shows the Chinese header as Chinese (decoded before the check)."""
    msg = str(pytest.raises(DataError, read_transactions, DATA / "gbk_chinese_headers.csv").value)
    assert "gbk_chinese_headers.csv" in msg and "客户编号" in msg and "\ufffd" not in msg
    assert "'客户编号': 'customer_id'" in msg  # the suggested mapping uses the real name


def test_xlsx_with_chinese_sheet_name_excel_dates_serials_and_row_numbers():
    path = DATA / "export_zh.xlsx"
    log = read_transactions(path, sheet="销售明细", columns=XLSX_COLUMNS)
    assert log.sheet == "销售明细" and log.encoding is None
    assert (log.n_read, log.n_accepted, log.n_rejected) == (7, 4, 3)
    # Excel row numbers: header is row 1, data rows 2..8
    assert reasons(log) == {5: "empty row", 7: "unparseable date", 8: "summary row"}
    assert log.row_numbering == "sheet rows, as Excel numbers them"  # printed next to them
    f = log.frame
    assert f["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-05",  # real Excel date
        "2024-01-06",  # serial number 45297
        "2024-01-07",  # 2024年1月7日 as text
        "2024-01-08",  # date-time cell, floored
    ]
    assert f["amount"].tolist() == [1234.5, 2000.0, 300.0, -50.0]
    assert log.summary().total_amount == pytest.approx(3484.5, abs=1e-9)
    assert f["quantity"].sum() == 3
    same = read_transactions(path, sheet=1, columns=XLSX_COLUMNS)
    pd.testing.assert_frame_equal(same.frame, log.frame)
    assert "1/9/2024" in log.rejected["订单日期"].tolist()
    assert "cannot tell day-first from month-first" in log.date_format_hint


def test_xlsx_sheet_errors_name_the_sheets():
    path = DATA / "export_zh.xlsx"
    msg = str(pytest.raises(DataError, read_transactions, path, sheet="Sheet9").value)
    assert "export_zh.xlsx" in msg and "'说明'" in msg and "'销售明细'" in msg
    msg = str(pytest.raises(DataError, read_transactions, path, sheet=5).value)
    assert "out of range" in msg and "2 sheet(s)" in msg
    msg = str(pytest.raises(DataError, read_transactions, path).value)  # first sheet: notes only
    assert "说明" in msg and "no data rows" in msg


def test_big5_traditional_chinese_tab_separated():
    columns = {"客戶編號": "customer_id", "日期": "date", "金額": "amount"}
    log = read_transactions(DATA / "big5_traditional.tsv", columns=columns)
    assert log.encoding == "big5" and log.ignored_columns == ("地區",)
    assert (log.n_read, log.n_accepted, log.n_rejected) == (5, 3, 2)
    assert reasons(log) == {1: "unparseable amount", 5: "summary row"}  # NT$ not a listed currency
    assert log.frame["amount"].tolist() == [1500.0, 2500.5, 300.0]
    assert log.summary().total_amount == pytest.approx(4300.5, abs=1e-9)


def test_excel_unicode_text_is_utf16_with_bom():
    columns = {"客户": "customer_id", "日期": "date", "金额": "amount"}
    log = read_transactions(DATA / "excel_unicode_text.txt", columns=columns)
    assert (log.encoding, log.encoding_how) == ("utf-16", "byte-order mark")
    assert (log.n_read, log.n_accepted) == (2, 2)
    assert log.frame["amount"].sum() == pytest.approx(30.5)


def test_decimal_comma_export():
    columns = {"Kunde": "customer_id", "Datum": "date", "Betrag": "amount"}
    log = read_transactions(DATA / "decimal_comma.csv", columns=columns, decimal=",")
    assert (log.n_read, log.n_accepted, log.n_rejected) == (5, 3, 2)
    assert reasons(log) == {4: "unparseable amount", 5: "summary row"}  # 12.5 under decimal=','
    assert log.frame["amount"].tolist() == [1234.5, 99.9, -10.0]
    assert log.currency == "EUR"
    default = read_transactions(DATA / "decimal_comma.csv", columns=columns)
    assert default.n_accepted == 1  # only 12.5 reads with the default decimal point
    msg = str(pytest.raises(DataError, default.check_rejected_share).value)
    assert "decimal=','" in msg and "4 of 5 rows" in msg


def test_chinese_customer_attributes_are_tagged_like_english_ones(tmp_path):
    path = tmp_path / "客户.csv"
    text = (
        "客户编号,区域,业态,行业,性别,年龄,注册日期,会员等级,信用等级,消费金额\n"
        "K001,华东,便利店,零售,男,35,2020年3月1日,金卡,A,1200\n"
        "K002,华北,超市,零售,女,41,2019/7/15,银卡,B,800\n"
    )
    path.write_bytes(text.encode("gbk"))
    table = read_customers(path, columns={"客户编号": "customer_id"})
    assert table.field_types == {
        "customer_id": "static",
        "区域": "static",
        "业态": "static",
        "行业": "static",
        "性别": "static",
        "年龄": "dynamic",
        "注册日期": "static",
        "会员等级": "dynamic",
        "信用等级": "dynamic",
        "消费金额": "system-generated",
    }
    assert table.frame["注册日期"].dt.strftime("%Y-%m-%d").tolist() == ["2020-03-01", "2019-07-15"]
    assert table.frame["消费金额"].sum() == 2000


def test_xlsx_title_rows_above_the_header_are_not_data(tmp_path):
    """Chinese exports often start with a title line and an export date above the table."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "明细"
    ws["A1"] = "2024年1月销售明细"
    ws["A2"] = "导出时间：2024-02-01"
    ws.append([])
    ws.append(["客户编号", "日期", "金额"])  # row 4
    ws.append(["K1", "2024/1/3", "1,000.00"])
    ws.append(["K2", "2024/1/4", "(200)"])
    ws.append(["合计", None, "800.00"])  # row 7
    wb.save(tmp_path / "titled.xlsx")
    log = read_transactions(
        tmp_path / "titled.xlsx",
        columns={"客户编号": "customer_id", "日期": "date", "金额": "amount"},
    )
    assert (log.n_read, log.n_accepted, log.n_rejected) == (3, 2, 1)
    assert reasons(log) == {7: "summary row"}
    assert log.summary().total_amount == 800
