"""Issues 12 and 13 (reading side): formats users send, and hostile or faulty input.

Every test asserts row accounting (accepted + rejected = read) and totals, or the exact error.
"""

from __future__ import annotations

import unicodedata
import warnings

import numpy as np
import pandas as pd
import pytest

from crmresearch.data import TransactionLog, read_transactions
from crmresearch.data.amounts import parse_numbers_text
from crmresearch.data.dates import suggest_date_format
from crmresearch.errors import DataError


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def reasons(log) -> dict[int, str]:
    assert log.n_accepted + log.n_rejected == log.n_read
    return dict(zip(log.rejected["row"], log.rejected["reason"], strict=True))


# --- issue 12 item 1: encodings ---------------------------------------------------------------
@pytest.mark.parametrize(
    "codec, expected",
    [("gbk", "gb18030"), ("gb18030", "gb18030"), ("big5", "big5"), ("utf-16", "utf-16"),
     ("utf-16-le", "utf-16-le"), ("utf-8-sig", "utf-8-sig")],
)  # fmt: skip
def test_encodings_detected_and_reported(tmp_path, codec, expected):
    rows = ["客户,日期,金额"] + [f"王{i}五,2024-01-{i:02d},{i}" for i in range(1, 10)]
    if codec == "big5":
        rows = ["客戶,日期,金額"] + [f"陳{i}六,2024-01-{i:02d},{i}" for i in range(1, 10)]
    path = write(tmp_path, "x.csv", "\n".join(rows) + "\n", encoding=codec)
    cols = dict(zip(rows[0].split(","), ["customer_id", "date", "amount"], strict=True))
    log = read_transactions(path, columns=cols)
    assert log.encoding == expected
    assert log.frame["customer_id"].tolist() == [r.split(",")[0] for r in rows[1:]]
    assert log.summary().total_amount == 45
    assert log.summary().to_dict()["encoding"] == expected


def test_encoding_given_overrides_detection(tmp_path):
    path = write(tmp_path, "x.csv", "customer_id,date,amount\nMüller,2024-01-01,1\n", "cp1252")
    log = read_transactions(path, encoding="latin-1")
    assert (log.encoding, log.encoding_how) == ("iso8859-1", "given")
    assert log.frame["customer_id"].tolist() == ["Müller"]
    msg = str(pytest.raises(DataError, read_transactions, path, encoding="utf-8").value)
    assert "x.csv" in msg and "not valid utf-8" in msg and "line 2" in msg
    msg = str(pytest.raises(DataError, read_transactions, path, encoding="nonsense").value)
    assert "x.csv" in msg and "unknown encoding 'nonsense'" in msg


def test_invalid_utf8_late_in_a_file_is_detected(tmp_path):
    """The first 64 KB are ASCII; the Chinese rows come later."""
    head = "".join(f"A{i},2024-01-01,1\n" for i in range(8000))
    body = "张三,2024-01-02,2\n李四,2024-01-03,3\n"
    path = write(
        tmp_path, "late.csv", ("customer_id,date,amount\n" + head).encode() + body.encode("gbk")
    )
    log = read_transactions(path)
    assert log.encoding == "gb18030" and log.n_accepted == 8002
    assert log.frame["customer_id"].iloc[-2:].tolist() == ["张三", "李四"]


# --- item 3: amounts --------------------------------------------------------------------------
def test_amount_rule_accepts_the_documented_forms_and_rejects_the_rest():
    import pyarrow as pa

    good = {
        "1,234.50": 1234.5, "¥88": 88, "88元": 88, "RMB 2,000": 2000, "￥3,000.00": 3000,
        "(1,234.50)": -1234.5, "$1,000,000": 1e6, "€5": 5, "5 €": 5, "-5": -5, "−7.5": -7.5,
        "US$3": 3, "rmb 7": 7, "3 CNY": 3, "(¥12)": -12, "1e3": 1000, ".5": 0.5,
    }  # fmt: skip
    bad = ["1,5", "12abc", "1,23,456", "$5 USD", "-(5)", "1,000e3", "(5", "NT$ 100", "5-", "¥¥5"]
    parsed = parse_numbers_text(pa.array(list(good) + bad))
    np.testing.assert_allclose(parsed.values[: len(good)], list(good.values()))
    assert np.isnan(parsed.values[len(good) :]).all()
    assert (
        parsed.currency[1] == "CNY" and parsed.currency[6] == "USD" and parsed.currency[7] == "EUR"
    )


def test_thousands_separated_orders_are_kept_and_mixed_currency_rejected(tmp_path):
    """The issue's case: 64 % of orders >= 1,000 were dropped; now every one is read."""
    rows = [f'C{i},2024-01-{1 + i % 28:02d},"{1000 + i:,}.50"' for i in range(64)]
    rows += [f"D{i},2024-02-01,${i}.25" for i in range(36)]
    rows += ["E1,2024-02-02,€9"]  # another currency than the column's ($ / none)
    rows += ["E2,2024-02-02,$10"]
    path = write(tmp_path, "big.csv", "customer_id,date,amount\n" + "\n".join(rows) + "\n")
    log = read_transactions(path)
    assert reasons(log) == {101: "mixed currency"}
    expected = sum(1000 + i + 0.5 for i in range(64)) + sum(i + 0.25 for i in range(36)) + 10
    assert log.summary().total_amount == pytest.approx(expected, rel=1e-12)
    assert log.currency == "USD"


def test_decimal_option_is_checked(tmp_path):
    path = write(tmp_path, "x.csv", "customer_id,date,amount\na,2024-01-01,1\n")
    msg = str(pytest.raises(DataError, read_transactions, path, decimal=";").value)
    assert "x.csv" in msg and "decimal must be" in msg


# --- item 4: dates ----------------------------------------------------------------------------
def test_year_first_dates_without_a_format(tmp_path):
    dates = [
        "2024年1月5日",
        "2024/1/6",
        "2024.01.07",
        "20240108",
        "2024-1-9",
        "2024-01-10T23:30:00-05:00",
    ]
    text = "customer_id,date,amount\n" + "".join(f"a,{d},1\n" for d in dates)
    log = read_transactions(write(tmp_path, "d.csv", text))
    assert log.n_rejected == 0
    assert log.frame["date"].dt.day.tolist() == [5, 6, 7, 8, 9, 10]


@pytest.mark.parametrize(
    "values, fmt",
    [(["31/01/2024", "01/02/2024"], "%d/%m/%Y"), (["01/31/2024", "02/01/2024"], "%m/%d/%Y"),
     (["31.01.24"], "%d.%m.%y"), (["5 Jan 2024"], "%d %b %Y"), (["January 5, 2024"], "%B %d, %Y")],
)  # fmt: skip
def test_error_suggests_a_format_that_fits(tmp_path, values, fmt):
    text = "customer_id,date,amount\n" + "".join(f'a,"{v}",1\n' for v in values)
    msg = str(pytest.raises(DataError, read_transactions, write(tmp_path, "d.csv", text)).value)
    assert f"date_format='{fmt}'" in msg and "d.csv" in msg
    log = read_transactions(write(tmp_path, "d.csv", text), date_format=fmt)
    assert log.n_accepted == len(values)


def test_ambiguous_day_month_is_said_to_be_ambiguous():
    hint = suggest_date_format(["01/02/2024", "03/04/2024"])
    assert "'%d/%m/%Y' or '%m/%d/%Y'" in hint and "cannot tell" in hint


# --- item 5: summary rows ---------------------------------------------------------------------
def test_summary_rows_rejected_whatever_their_label(tmp_path):
    labels = ["合计", "总计", "小计", "Total", "TOTAL:", "Sum", "Grand total", "合計", "subtotal"]
    text = "customer_id,date,amount\nA,2024-01-01,5\n" + "".join(
        f"{x},2024-01-31,5\n" for x in labels
    )
    log = read_transactions(write(tmp_path, "t.csv", text))
    assert set(reasons(log).values()) == {"summary row"} and log.n_rejected == len(labels)
    assert log.summary().total_amount == 5


# --- item 6: mostly rejected input stops a run ------------------------------------------------
def test_check_rejected_share(tmp_path):
    text = "customer_id,date,amount\n" + "".join(f"a{i},2024-01-01,{i}\n" for i in range(98))
    text += "b,2024-01-01,x\nc,not-a-date,1\n"
    log = read_transactions(write(tmp_path, "r.csv", text))
    assert log.rejected_share == pytest.approx(0.02)
    assert log.check_rejected_share(0.05) is log
    msg = str(pytest.raises(DataError, log.check_rejected_share).value)
    assert "r.csv" in msg and "2 of 100 rows" in msg and "2.0" in msg
    assert "unparseable amount 1 (rows 99)" in msg and "unparseable date 1 (rows 100)" in msg
    with pytest.raises(ValueError):
        log.check_rejected_share(1.5)


# --- issue 13 item 3: more fields than the header ---------------------------------------------
def test_longer_rows_rejected_each_with_their_count(tmp_path):
    text = "customer_id,date,amount\na,2024-01-01,1\nb,2024-01-02,2,x,y\nc,2024-01-03,3\nd,2024-01-04,4,\n"
    log = read_transactions(write(tmp_path, "r.csv", text))
    assert reasons(log) == {2: "5 fields, header has 3", 4: "4 fields, header has 3"}
    assert log.frame["customer_id"].tolist() == ["a", "c"] and log.summary().total_amount == 4


def test_every_row_longer_by_a_trailing_delimiter_is_refused(tmp_path):
    text = "customer_id,date,amount\na,2024-01-01,1,\nb,2024-01-02,2,\n"
    msg = str(pytest.raises(DataError, read_transactions, write(tmp_path, "t.csv", text)).value)
    assert "t.csv" in msg and "trailing delimiter" in msg and "Fix: remove" in msg


def test_every_row_longer_by_a_missing_header_name_never_shifts_columns(tmp_path):
    """pandas would make the first column an index: ids would become dates, 0 rejected."""
    text = "customer_id,date,amount\n0,a,2024-01-01,1\n1,b,2024-01-02,2\n"
    msg = str(pytest.raises(DataError, read_transactions, write(tmp_path, "i.csv", text)).value)
    assert "i.csv" in msg and "lacks a column name" in msg and "4" in msg and "(3)" in msg


# --- item 4: dates out of range ---------------------------------------------------------------
def test_out_of_range_dates_rejected_per_row_and_window_configurable(tmp_path):
    text = (
        "customer_id,date,amount\na,2024-01-01,1\nb,2263-01-01,2\nc,1600-01-01,3\n"
        "d,1899-12-31,4\ne,9999-12-31,5\nf,2100-01-01,6\n"
    )
    path = write(tmp_path, "d.csv", text)
    log = read_transactions(path)
    assert reasons(log) == {i: "date out of range" for i in (2, 3, 4, 5, 6)}
    assert str(log.summary())  # no overflow in the span
    wide = read_transactions(path, date_range=("1800-01-01", "2200-12-31"))
    assert set(wide.frame["customer_id"]) == {"a", "d", "f"}
    span = (wide.summary().last_date.date() - wide.summary().first_date.date()).days + 1
    assert f"({span:,} days)" in str(wide.summary())
    msg = str(pytest.raises(DataError, read_transactions, path, date_range=("x", None)).value)
    assert "d.csv" in msg and "date_range" in msg


def test_tz_rule_local_calendar_date_for_csv_and_parquet(tmp_path):
    """One rule: the local calendar date of the timestamp (never converted to UTC)."""
    stamps = ["2024-01-05T23:30:00-05:00", "2024-01-06T01:00:00+08:00", "2024-01-07T12:00:00Z"]
    text = "customer_id,date,amount\n" + "".join(f"a,{s},1\n" for s in stamps)
    csv = read_transactions(write(tmp_path, "tz.csv", text))
    assert csv.frame["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-05",  # UTC would be 01-06
        "2024-01-06",  # UTC would be 01-05
        "2024-01-07",
    ]
    aware = pd.to_datetime(["2024-01-06T01:00:00+08:00"] * 3)  # tz-aware column, +08:00
    pd.DataFrame({"customer_id": ["a"] * 3, "date": aware, "amount": 1.0}).to_parquet(
        tmp_path / "tz.parquet"
    )
    pq = read_transactions(tmp_path / "tz.parquet")
    assert pq.frame["date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-06"] * 3


# --- item 5: overflow -------------------------------------------------------------------------
def test_amounts_that_would_overflow_are_rejected_without_warnings(tmp_path):
    text = "customer_id,date,amount\na,2024-01-01,1.5e308\nb,2024-01-01,1.5e308\nc,2024-01-01,2\nd,2024-01-01,1e15\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a raw numpy RuntimeWarning fails the test
        log = read_transactions(write(tmp_path, "o.csv", text))
        summary = str(log.summary())
    assert reasons(log) == {
        1: "amount out of range",
        2: "amount out of range",
        4: "amount out of range",
    }
    assert log.summary().total_amount == 2
    assert "inf" not in summary and "nan" not in summary
    with pytest.raises(DataError, match="finite"):
        TransactionLog(
            pd.DataFrame(
                {"customer_id": ["a"], "date": [pd.Timestamp("2024-01-01")], "amount": [np.inf]}
            )
        )


# --- item 6: bounded memory on pathological files ---------------------------------------------
def test_single_16_mb_line_fails_fast_without_echoing(tmp_path):
    import time

    path = tmp_path / "one_line.csv"
    path.write_bytes(b"customer_id," + b"x" * (16 * 1024 * 1024))
    t0 = time.perf_counter()
    msg = str(pytest.raises(DataError, read_transactions, path).value)
    assert time.perf_counter() - t0 < 5
    assert "one_line.csv" in msg and "line 1" in msg and "max_line_bytes" in msg
    assert "xxxxxxxxxx" not in msg and len(msg) < 600


def test_long_line_later_in_the_file_and_configurable_limit(tmp_path):
    text = (
        "customer_id,date,amount\n" + "a,2024-01-01,1\n" * 10 + "b,2024-01-01," + "9" * 5000 + "\n"
    )
    path = write(tmp_path, "l.csv", text)
    msg = str(pytest.raises(DataError, read_transactions, path, max_line_bytes=1000).value)
    assert "line 12" in msg and "5,013 bytes" in msg  # 2 + 11 + 5,000
    assert read_transactions(path).n_read == 11


# --- item 9: ids and NUL bytes ----------------------------------------------------------------
def test_ids_nfc_and_zero_width_are_one_customer(tmp_path):
    composed, decomposed = "Zo\u00eb", unicodedata.normalize("NFD", "Zo\u00eb")
    text = f"customer_id,date,amount\n{composed},2024-01-01,1\n{decomposed},2024-01-02,2\nA\u200bB,2024-01-03,3\nAB,2024-01-04,4\n"
    log = read_transactions(write(tmp_path, "ids.csv", text))
    assert log.frame["customer_id"].tolist() == ["Zoë", "Zoë", "AB", "AB"]
    assert log.summary().customers == 2 and log.ids_normalized == 2
    assert "ids normalized" in str(log.summary())


def test_nul_bytes_rejected_per_row_anywhere_in_the_file(tmp_path):
    head = "".join(f"A{i},2024-01-01,1\n" for i in range(10_000))  # > 64 KB before the NUL
    text = "customer_id,date,amount\n" + head + "B\x00C,2024-01-02,2\nD,2024-01-03,3\x00\n"
    log = read_transactions(write(tmp_path, "nul.csv", text))
    assert reasons(log) == {10_001: "NUL byte", 10_002: "NUL byte"}
    assert not log.frame["customer_id"].str.contains("\x00").any()
    assert log.summary().total_amount == 10_000


# --- item 10: every error names the file ------------------------------------------------------
@pytest.mark.parametrize(
    "content",
    [b"", b"a,b\n", b"customer_id,date,amount\n", b"customer_id;date;amount\na;1;2\n",
     b"customer_id,date,amount\n,x,y\n", b"\x00\x01\x02\x03" * 100,
     b'customer_id,date,amount\n"a,2024-01-01,1\n'],
)  # fmt: skip
def test_every_error_names_the_file(tmp_path, content):
    path = write(tmp_path, "named_file.csv", content)
    with pytest.raises(DataError) as err:
        read_transactions(path, sep="," if b";" in content else None)
    assert "named_file.csv" in str(err.value)


def test_customer_dates_out_of_range_are_named_as_such(tmp_path):
    from crmresearch.data import read_customers

    text = "customer_id,signup_date\na,2020-01-01\nb,1850-01-01\nc,someday\n"
    table = read_customers(write(tmp_path, "c.csv", text))
    assert dict(zip(table.rejected["row"], table.rejected["reason"], strict=True)) == {
        2: "signup_date out of range",
        3: "unparseable signup_date",
    }
    assert table.n_accepted + table.n_rejected == table.n_read == 3


@pytest.mark.parametrize(
    "text, codec",
    [("Müller,2024-01-01,1\nStraße Café,2024-01-02,2\nNiño,2024-01-03,3\n", "cp1252"),
     ("张三,2024-01-01,1\n李四,2024-01-02,2\n王五,2024-01-03,3\n", "gb18030"),
     ("陳大文,2024-01-01,1\n林小明,2024-01-02,2\n黃志強,2024-01-03,3\n", "big5")],
)  # fmt: skip
def test_short_files_are_not_mistaken_for_another_script(tmp_path, text, codec):
    """A generic detector calls short GBK text Korean and short Big5 text GBK; the reader must
    not (the decoded ids are compared with the originals)."""
    path = write(tmp_path, "s.csv", "customer_id,date,amount\n" + text, encoding=codec)
    log = read_transactions(path)
    assert log.encoding == codec
    assert log.frame["customer_id"].tolist() == [r.split(",")[0] for r in text.splitlines()]


def test_xlsx_renamed_to_csv_is_read_as_a_workbook(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["customer_id", "date", "amount"])
    wb.active.append(["a", "2024-01-01", 5])
    wb.save(tmp_path / "really.csv")
    log = read_transactions(tmp_path / "really.csv")
    assert log.sheet == "Sheet" and log.summary().total_amount == 5
    assert log.rejected.empty and log.n_read == 1


def test_cyrillic_cp1251_is_not_forced_to_western(tmp_path):
    text = (
        "customer_id,date,amount\nИванов,2024-01-01,1\nПетров,2024-01-02,2\nСидоров,2024-01-03,3\n"
    )
    log = read_transactions(write(tmp_path, "ru.csv", text, encoding="cp1251"))
    assert log.frame["customer_id"].tolist() == ["Иванов", "Петров", "Сидоров"]


def test_parameter_dates_are_iso_only():
    """Issue 12 item 4: `--end 05.01.2024` was silently read as 2024-05-01."""
    import datetime as dt

    from crmresearch.data import parse_iso_date

    assert parse_iso_date("2024-01-05", "--end") == pd.Timestamp("2024-01-05")
    assert parse_iso_date(dt.date(2024, 1, 5)) == pd.Timestamp("2024-01-05")
    for text in ("05.01.2024", "01/05/2024", "5 Jan 2024"):
        msg = str(pytest.raises(DataError, parse_iso_date, text, "--end").value)
        assert "--end" in msg and "YYYY-MM-DD" in msg and text in msg
    msg = str(pytest.raises(DataError, parse_iso_date, "2024/1/5", "holdout_end").value)
    assert "write 2024-01-05" in msg
    msg = str(pytest.raises(DataError, parse_iso_date, "2024-02-30", "start").value)
    assert "not a calendar date" in msg


@pytest.mark.parametrize("cut", [1, 700, 1500, 3000])
def test_line_scan_is_exact_across_chunk_and_window_boundaries(tmp_path, cut, monkeypatch):
    """The fast probe must agree with an exact count wherever the long line falls."""
    from crmresearch.data import scan

    monkeypatch.setattr(scan, "_CHUNK", 4096)  # many chunk boundaries in a small file
    lines = [b"a,2024-01-01,1"] * 300
    lines[cut // 14] = b"b,2024-01-01," + b"9" * 1001  # 1,014 bytes
    data = b"customer_id,date,amount\n" + b"\n".join(lines) + b"\n"
    path = tmp_path / "w.csv"
    path.write_bytes(data)
    longest = max(len(x) for x in data.split(b"\n"))
    assert longest == 1014
    with pytest.raises(DataError, match=f"line {cut // 14 + 2} is 1,014 bytes"):
        scan.scan_text(path, "w.csv", max_line_bytes=1013)
    assert scan.scan_text(path, "w.csv", max_line_bytes=1014).has_nul is False


def test_sign_after_a_leading_currency_marker():
    """Chinese-locale Excel writes negative money as ¥-1,234.50: a return, not a bad row."""
    import pyarrow as pa

    good = {"¥-1,234.50": -1234.5, "RMB -2,000": -2000, "US$-3": -3, "$+4": 4, "￥−5": -5}
    bad = ["-¥-5", "(¥-5)", "¥--5", "5¥-", "--¥5"]
    parsed = parse_numbers_text(pa.array(list(good) + bad))
    np.testing.assert_allclose(parsed.values[: len(good)], list(good.values()))
    assert np.isnan(parsed.values[len(good) :]).all()
    assert list(parsed.currency[: len(good)]) == ["CNY", "CNY", "USD", "USD", "CNY"]
