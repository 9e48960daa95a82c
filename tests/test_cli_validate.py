"""``crmresearch validate``: output, --columns/--date-format/--sep/--encoding, --rejected, exit 2."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from crmresearch.cli import main


def run(capsys, *argv):
    code = main(["validate", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_cdnow(capsys):
    code, out, err = run(capsys, "cdnow")
    assert code == 0 and err == ""
    assert "rows read              69,659" in out
    assert "rows accepted          69,659" in out
    assert "customers              23,570" in out
    assert "1997-01-01 .. 1998-06-30" in out


def test_columns_date_format_and_rejected_file(tmp_path, capsys):
    src = tmp_path / "sales.csv"
    src.write_text(
        "cust;day;value\nA;31/01/2020;1.5\nB;32/01/2020;2\n;01/02/2020;3\nC;01/02/2020;0\n"
    )
    out_file = tmp_path / "out" / "rejected.csv"
    code, out, err = run(
        capsys,
        src,
        "--columns",
        "cust=customer_id,day=date,value=amount",
        "--date-format",
        "%d/%m/%Y",
        "--sep",
        ";",
        "--rejected",
        out_file,
    )
    assert code == 0, err
    assert "rows read                   4" in out
    assert "rows accepted               2" in out
    assert "rows rejected               2" in out
    assert "- unparseable date: 1" in out and "- missing customer_id: 1" in out
    assert "2020-01-31 .. 2020-02-01" in out
    assert "first rejected rows: 2, 3 [row numbers: data rows, header not counted: the file's line is one more]" in out
    rejected = pd.read_csv(out_file, dtype=str, keep_default_na=False)
    assert rejected["row"].tolist() == ["2", "3"]
    assert rejected["reason"].tolist() == ["unparseable date", "missing customer_id"]
    assert rejected["day"].tolist() == ["32/01/2020", "01/02/2020"]
    assert not list(out_file.parent.glob(".*.tmp"))  # atomic write left no temp file


def test_encoding_option(tmp_path, capsys):
    src = tmp_path / "gbk.csv"
    src.write_bytes("customer_id,date,amount\n李四,2020-01-01,1\n".encode("gbk"))
    code, out, err = run(capsys, src)
    # issue 12: a file that is not UTF-8 is decoded by detection and the encoding is named
    assert code == 0 and "gb18030 (detected)" in out and "rows accepted               1" in out
    code, out, err = run(capsys, src, "--encoding", "gb18030")
    assert code == 0 and "rows accepted               1" in out


@pytest.mark.parametrize(
    "content, phrases",
    [
        (
            "cust,dt,value\nA,2020-01-01,1\n",
            ["missing required column", "--columns cust=customer_id"],
        ),
        ("customer_id,date,amount\n", ["no data rows"]),
        ("", ["empty"]),
        ("customer_id,date,amount\nA,1/2/2020,1\n", ["no row was accepted", "--date-format"]),
    ],
)
def test_bad_input_one_line_exit_2(tmp_path, capsys, content, phrases):
    src = tmp_path / "bad.csv"
    src.write_text(content)
    code, out, err = run(capsys, src)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("crmresearch validate: error:")
    assert "bad.csv" in err and "Traceback" not in err
    for phrase in phrases:
        assert phrase in err


def test_excel_via_subprocess(tmp_path):
    src = tmp_path / "book.xlsx"
    src.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    proc = subprocess.run(
        [sys.executable, "-m", "crmresearch.cli", "validate", str(src)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "book.xlsx" in proc.stderr and "export" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for option in ("--columns", "--date-format", "--sep", "--encoding", "--decimal", "--rejected",
                   "cdnow"):  # fmt: skip
        assert option in out


@pytest.fixture()
def gbk_export(tmp_path):
    """A GBK export from Chinese Excel: Chinese headers, a totals row and a bad date."""
    src = tmp_path / "导出.csv"
    text = "客户编号,交易日期,金额\nK001,2024-01-05,10\nK002,2024-01-06,20\n合计,,30\nK003,昨天,5\n"
    src.write_bytes(text.encode("gbk"))
    return src


MAPPING = "客户编号=customer_id,交易日期=date,金额=amount"


def test_rejected_csv_has_a_bom_for_excel(gbk_export, tmp_path, capsys):
    out_file = tmp_path / "rejected.csv"
    code, out, err = run(capsys, gbk_export, "--columns", MAPPING, "--rejected", out_file)
    assert code == 0, err
    assert "rejected rows (2) written to" in out
    raw = out_file.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark: Excel decodes it as UTF-8
    assert raw.decode("utf-8-sig").splitlines() == [
        "row,reason,客户编号,交易日期,金额",
        "3,summary row,合计,,30",
        "4,unparseable date,K003,昨天,5",
    ]


def test_rejected_xlsx(gbk_export, tmp_path, capsys):
    import openpyxl

    out_file = tmp_path / "rejected.xlsx"
    code, out, err = run(capsys, gbk_export, "--columns", MAPPING, "--rejected", out_file)
    assert code == 0, err
    sheet = openpyxl.load_workbook(out_file)["rejected"]
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["row", "reason", "客户编号", "交易日期", "金额"],
        [3, "summary row", "合计", None, "30"],
        [4, "unparseable date", "K003", "昨天", "5"],
    ]
    assert not list(tmp_path.glob(".*.tmp"))


def test_rejected_xlsx_keeps_rows_with_control_characters(tmp_path, capsys):
    import openpyxl

    src = tmp_path / "nul.csv"
    good = b"".join(b"a%d,2024-01-01,1\n" % i for i in range(20))
    src.write_bytes(b"customer_id,date,amount\nb\x00x,2024-01-02,2\n" + good)
    out_file = tmp_path / "rejected.xlsx"
    code, out, err = run(capsys, src, "--rejected", out_file)
    assert code == 0, err
    rows = list(openpyxl.load_workbook(out_file)["rejected"].iter_rows(values_only=True))
    assert rows[1][:3] == (1, "NUL byte", "b\ufffdx")


def test_rejected_file_suffix_checked_before_reading(gbk_export, tmp_path, capsys):
    code, out, err = run(capsys, gbk_export, "--rejected", tmp_path / "rejected.txt")
    assert code == 2 and out == ""
    assert err == (
        "crmresearch validate: error: --rejected "
        f"{tmp_path / 'rejected.txt'}: unsupported suffix '.txt'; use .csv, .xlsx or .parquet\n"
    )


def test_decimal_comma_option(tmp_path, capsys):
    src = tmp_path / "eu.csv"
    src.write_text("Kunde;Datum;Betrag\nk1;2024-01-05;1.234,50\nk2;2024-01-06;99,90\n")
    columns = ("--columns", "Kunde=customer_id,Datum=date,Betrag=amount")
    code, out, err = run(capsys, src, *columns, "--decimal", ",")
    assert code == 0, err
    assert "rows accepted               2" in out and "total amount            1,334.40" in out
    code, out, err = run(capsys, src, *columns)  # the default decimal point rejects both
    assert code == 2 and "pass decimal=',' (CLI --decimal ,)" in err


def test_decimal_option_names_its_choices(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(tmp_path / "x.csv"), "--decimal", ";"])
    assert exc.value.code == 2
    assert "--decimal: invalid choice: ';' (choose from '.', ',')" in capsys.readouterr().err
