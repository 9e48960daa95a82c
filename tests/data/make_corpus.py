"""Writes the realistic export files of this folder (run once; the files are committed).

    python tests/data/make_corpus.py

Each file imitates what a Chinese CRM / ERP / Excel export looks like; the expected row
accounting and totals are hand-computed in tests/test_data_corpus.py, not from this script.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

HERE = Path(__file__).resolve().parent

GBK_ROWS = [
    "客户编号,交易日期,金额,数量,品类",
    'K001,2024年1月5日,"1,234.50",2,卷烟',
    "K002,2024/1/6,￥88,1,卷烟",
    "K001,2024.01.07,88元,1,雪茄",
    'K003,2024-01-08,"RMB 2,000",10,卷烟',
    "K002,2024年1月9日,(120.00),-1,卷烟",  # a return in accounting notation
    "K004,2024年1月10日,十元,1,雪茄",  # amount in words: rejected
    ",2024年1月11日,50,1,卷烟",  # no customer: rejected
    "K005,2024年13月1日,60,1,卷烟",  # impossible date: rejected
    'K003,2024/1/12,"￥3,000.00",5,雪茄',
    '合计,2024/1/12,"6,400.50",21,',  # the export's (dated) totals line: a summary row
]

BIG5_ROWS = [
    "客戶編號\t日期\t金額\t地區",
    "T01\t2024/2/1\tNT$ 100\t臺北",  # NT$ is not a listed currency: rejected
    "T01\t2024/2/2\t1,500\t臺北",
    "T02\t2024年2月3日\t2,500.5\t高雄",
    "T03\t2024.02.04\t300\t臺中",
    "總計\t\t4,300.5\t",
]

DECIMAL_COMMA_ROWS = [
    "Kunde;Datum;Betrag",
    "A;2024-03-01;1.234,50 €",
    "B;2024-03-02;99,90",
    "A;2024-03-03;-10,00",
    "C;2024-03-04;12.5",  # a '.' decimal under decimal=',': 125 under the thousands rule? no: rejected
    "Summe;;1.324,40",
]


def write_gbk() -> None:
    (HERE / "gbk_chinese_headers.csv").write_bytes(("\r\n".join(GBK_ROWS) + "\r\n").encode("gbk"))


def write_big5() -> None:
    (HERE / "big5_traditional.tsv").write_bytes(("\r\n".join(BIG5_ROWS) + "\r\n").encode("big5"))


def write_utf16() -> None:
    # Excel "Unicode Text": UTF-16 LE with BOM, tab-separated
    text = "\r\n".join(["客户\t日期\t金额", "U1\t2024/4/1\t10", "U2\t2024/4/2\t20.5"]) + "\r\n"
    (HERE / "excel_unicode_text.txt").write_bytes(text.encode("utf-16"))


def write_decimal_comma() -> None:
    (HERE / "decimal_comma.csv").write_text("\n".join(DECIMAL_COMMA_ROWS) + "\n", encoding="utf-8")


def write_xlsx() -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "说明"
    notes["A1"] = "本文件由系统导出"
    ws = wb.create_sheet("销售明细")
    ws.append(["客户编号", "订单日期", "实收金额", "数量"])
    rows = [
        ("C-01", dt.datetime(2024, 1, 5), 1234.5, 2),  # a real Excel date
        ("C-02", 45297, "¥2,000.00", 1),  # serial number 45297 = 2024-01-06
        ("C-01", "2024年1月7日", 300, 1),
        (None, None, None, None),  # an empty row between data rows
        ("C-03", dt.datetime(2024, 1, 8, 14, 30), "(50.00)", -1),
        ("C-04", "1/9/2024", 80, 1),  # not year-first: rejected, hint month/day unknown
        ("总计", None, 3564.5, 3),
    ]
    for row in rows:
        ws.append(list(row))
    for r in (2, 6):
        ws.cell(row=r, column=2).number_format = "yyyy-mm-dd"
    ws.cell(row=6, column=2).number_format = "yyyy-mm-dd hh:mm"
    wb.save(HERE / "export_zh.xlsx")


if __name__ == "__main__":
    write_gbk()
    write_big5()
    write_utf16()
    write_decimal_comma()
    write_xlsx()
