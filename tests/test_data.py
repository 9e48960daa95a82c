"""read_transactions: formats, canonical schema, row accounting, rejection reasons, bad files.

Every bad-input test checks the message (file name, problem, fix) AND the row accounting: a
row-level problem leaves accepted + rejected = rows read; a file-level problem raises, and the fix
the message proposes then reads every row.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from crmresearch.data import (
    CANONICAL_COLUMNS,
    TransactionLog,
    TransactionSummary,
    parse_column_mapping,
    read_transactions,
)
from crmresearch.errors import DataError


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode(encoding))
    return path


def data_lines(text: str) -> int:
    """Data rows in a text file: physical lines after the header (a final newline ends a line)."""
    return len(text.splitlines()) - 1


def assert_accounting(log: TransactionLog, n_rows: int):
    assert log.n_read == n_rows
    assert log.n_accepted + log.n_rejected == log.n_read
    assert len(log.frame) == log.n_accepted
    assert len(log.rejected) == log.n_rejected
    s = log.summary()
    assert s.rows_accepted + s.rows_rejected == s.rows_read == n_rows
    assert sum(s.rejected_by_reason.values()) == s.rows_rejected
    # every source row is either accepted or listed once among the rejected
    assert log.rejected["row"].is_unique
    assert log.rejected["row"].between(1, n_rows).all()


# A hand-made file that exercises every row-level rule. Comment per line: expected outcome.
VARIED = [
    ("customer_id,date,amount,quantity,profit,category,channel,due_date,paid_date", None),
    ("001,2020-01-01,10.5,1,2.5,books,web,2020-01-31,2020-01-20", "ok"),
    (",2020-01-01,3,1,1,books,web,,", "missing customer_id"),
    ("002,,3,1,1,books,web,,", "missing date"),
    ("003,2020-01-01,,1,1,books,web,,", "missing amount"),
    ("004,notadate,3,1,1,books,web,,", "unparseable date"),
    ("005,2020-01-01,12abc,1,1,books,web,,", "unparseable amount"),
    ("006,2020-01-01,inf,1,1,books,web,,", "non-finite amount"),
    ("007,2020-01-01,0,1,0,books,store,,", "ok"),  # zero amount: kept
    ("001,2020-01-01,10.5,1,2.5,books,web,2020-01-31,2020-01-20", "ok"),  # exact duplicate
    ("", "empty row"),
    ("008,2020-13-01,1,1,1,music,web,,", "unparseable date"),
    ("009,20200102,-5,-1,-1,music,web,,", "ok"),  # return; compact date
    ("010,2020-01-03,1,two,1,music,web,,", "unparseable quantity"),
    ("011,2020-01-03,1,1,-inf,music,web,,", "non-finite profit"),
    ("012,2020-01-03,1,1,1,music,web,soon,", "unparseable due_date"),
    ("013,2020-01-03,1,1,1,music,web,2020-02-01,31/01/2020", "unparseable paid_date"),
    ("NA,2020-01-03,1,1,1,music,web,,", "missing customer_id"),
    ("014,2020-01-03 17:45:00,  7.25 ,,,,,,", "ok"),  # time floored to day, blanks optional
    ("015,2020-01-04,nan,1,1,music,web,,", "missing amount"),
    ("016,2020-01-04,1e500,1,1,music,web,,", "non-finite amount"),
    ("   017 ,2020-01-05,2,1,1, music ,web,,", "ok"),  # surrounding spaces stripped
]


@pytest.fixture
def varied(tmp_path):
    text = "\n".join(line for line, _ in VARIED) + "\n"
    return write(tmp_path, "varied.csv", text), [exp for _, exp in VARIED[1:]]


def test_varied_file_row_accounting_and_reasons(varied):
    path, expected = varied
    log = read_transactions(path)
    assert_accounting(log, len(expected))
    want_rejected = {i + 1: r for i, r in enumerate(expected) if r != "ok"}
    got = dict(zip(log.rejected["row"], log.rejected["reason"], strict=True))
    assert got == want_rejected
    assert log.n_accepted == sum(r == "ok" for r in expected)
    s = log.summary()
    assert s.zero_amount_rows == 1
    assert s.duplicate_rows == 1
    assert s.return_rows == 1
    assert s.customers == 5  # 001 (twice), 007, 009, 014, 017
    assert s.first_date == pd.Timestamp("2020-01-01")
    assert s.last_date == pd.Timestamp("2020-01-05")
    assert s.total_amount == pytest.approx(10.5 + 0 + 10.5 - 5 + 7.25 + 2, rel=1e-12)
    expected_counts = pd.Series([r for r in expected if r != "ok"]).value_counts().to_dict()
    assert s.rejected_by_reason == expected_counts
    # raw values of rejected rows are kept for the user to fix them
    row5 = log.rejected.set_index("row").loc[5]
    assert row5["date"] == "notadate" and row5["customer_id"] == "004"


def test_varied_file_values_and_dtypes(varied):
    path, _ = varied
    f = read_transactions(path).frame
    assert list(f.columns) == list(CANONICAL_COLUMNS)
    assert pd.api.types.is_string_dtype(f["customer_id"].dtype)
    for col in ("date", "due_date", "paid_date"):
        assert f[col].dtype == "datetime64[ns]"
    for col in ("amount", "quantity", "profit"):
        assert f[col].dtype == "float64"
    assert f["customer_id"].tolist() == ["001", "007", "001", "009", "014", "017"]
    assert f.loc[4, "date"] == pd.Timestamp("2020-01-03")  # 17:45 floored
    assert f.loc[4, "amount"] == 7.25
    assert pd.isna(f.loc[4, "quantity"]) and pd.isna(f.loc[4, "category"])
    assert pd.isna(f.loc[4, "due_date"])
    assert f.loc[3, "date"] == pd.Timestamp("2020-01-02")
    assert f.loc[5, "category"] == "music"
    assert f.loc[0, "paid_date"] == pd.Timestamp("2020-01-20")


def test_accounting_identity_on_random_garbage(tmp_path):
    """Many mixed good and bad rows, generated deterministically: the identity always holds."""
    rng = np.random.default_rng(7)
    n = 2000
    ids = np.where(rng.random(n) < 0.05, "", np.char.zfill(rng.integers(0, 300, n).astype(str), 5))
    day = rng.integers(1, 29, n)
    date = np.char.add("2021-03-", np.char.zfill(day.astype(str), 2))
    date = np.where(rng.random(n) < 0.05, "2021-02-30", date)
    date = np.where(rng.random(n) < 0.03, "", date)
    amount = np.round(rng.normal(20, 15, n), 2).astype(str)
    amount = np.where(rng.random(n) < 0.04, "x1", amount)
    amount = np.where(rng.random(n) < 0.02, "-inf", amount)
    amount = np.where(rng.random(n) < 0.03, "0", amount)
    lines = ["customer_id,date,amount"] + [
        f"{a},{b},{c}" for a, b, c in zip(ids, date, amount, strict=True)
    ]
    path = write(tmp_path, "garbage.csv", "\n".join(lines) + "\n")
    log = read_transactions(path)
    assert_accounting(log, n)
    # independent count of the rows that must be accepted
    amount_num = pd.to_numeric(pd.Series(amount), errors="coerce")
    date_ok = pd.to_datetime(pd.Series(date), format="%Y-%m-%d", errors="coerce").notna()
    ok = (ids != "") & date_ok.to_numpy() & np.isfinite(amount_num.to_numpy())
    assert log.n_accepted == int(ok.sum())
    assert log.summary().zero_amount_rows == int((amount_num[ok] == 0).sum())
    assert log.frame["amount"].sum() == pytest.approx(amount_num[ok].sum(), rel=1e-12)


def test_whitespace_text_keeps_leading_zeros_and_crlf(tmp_path):
    text = "customer_id date number_of_cds dollar_value\r\n 00001 19970101 1 11.77\r\n"
    text += " 00002 19970112 5 77.00\r\n"
    path = write(tmp_path, "log.txt", text)
    log = read_transactions(path, columns={"number_of_cds": "quantity", "dollar_value": "amount"})
    assert log.frame["customer_id"].tolist() == ["00001", "00002"]
    assert log.frame["date"].tolist() == [pd.Timestamp("1997-01-01"), pd.Timestamp("1997-01-12")]
    assert log.frame["amount"].tolist() == [11.77, 77.0]
    assert log.frame["quantity"].tolist() == [1.0, 5.0]
    assert_accounting(log, 2)


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path, sep):
    text = sep.join(["customer_id", "date", "amount"]) + "\n" + sep.join(["a", "2020-05-01", "3"])
    log = read_transactions(write(tmp_path, "x.csv", text + "\n"))
    assert log.frame["amount"].tolist() == [3.0]


def test_parquet_and_dataframe_sources(tmp_path):
    df = pd.DataFrame(
        {
            "CustID": [1, 2, 3, 4],
            "when": pd.to_datetime(
                ["2020-01-01 10:00", "2020-01-02", None, "2020-01-04"], format="ISO8601"
            ),
            "value": [1.0, np.nan, 3.0, np.inf],
            "extra": ["a", "b", "c", "d"],
        }
    )
    mapping = {"CustID": "customer_id", "when": "date", "value": "amount"}
    path = tmp_path / "t.parquet"
    df.to_parquet(path)
    for source in (df, path):
        log = read_transactions(source, columns=mapping)
        assert_accounting(log, 4)
        assert log.frame["customer_id"].tolist() == ["1"]
        assert log.frame["date"].tolist() == [pd.Timestamp("2020-01-01")]
        assert dict(zip(log.rejected["row"], log.rejected["reason"], strict=True)) == {
            2: "missing amount",
            3: "missing date",
            4: "non-finite amount",
        }
        assert log.ignored_columns == ("extra",)
    assert str(path) in read_transactions(path, columns=mapping).source


def test_dataframe_integer_ids_with_missing_and_numeric_dates():
    df = pd.DataFrame(
        {
            "customer_id": [7.0, np.nan, 9.0],
            "date": [20200101, 20200102, 20200103],
            "amount": [1, 2, 3],
        }
    )
    log = read_transactions(df)
    assert log.frame["customer_id"].tolist() == ["7", "9"]  # not "7.0"
    assert log.frame["date"].iloc[1] == pd.Timestamp("2020-01-03")
    assert log.rejected["reason"].tolist() == ["missing customer_id"]


def test_canonical_names_match_case_insensitively(tmp_path):
    path = write(tmp_path, "x.csv", " Customer_ID ,DATE,Amount\nc1,2020-01-01,1\n")
    assert read_transactions(path).frame["customer_id"].tolist() == ["c1"]


def test_date_format(tmp_path):
    path = write(tmp_path, "x.csv", "customer_id,date,amount\na,31/01/2020,1\nb,01/02/2020,2\n")
    log = read_transactions(path, date_format="%d/%m/%Y")
    assert log.frame["date"].tolist() == [pd.Timestamp("2020-01-31"), pd.Timestamp("2020-02-01")]


def test_encoding_given(tmp_path):
    text = "customer_id,date,amount,category\n张三,2020-01-01,1,图书\n"
    path = write(tmp_path, "gbk.csv", text, encoding="gb18030")
    log = read_transactions(path, encoding="gb18030")
    assert log.frame["customer_id"].tolist() == ["张三"]
    assert log.frame["category"].tolist() == ["图书"]


def test_utf8_bom_is_accepted(tmp_path):
    path = write(tmp_path, "bom.csv", "\ufeffcustomer_id,date,amount\na,2020-01-01,1\n")
    assert read_transactions(path).n_accepted == 1


def test_summary_object_str_and_dict(varied):
    path, _ = varied
    s = read_transactions(path).summary()
    assert isinstance(s, TransactionSummary)
    text = str(s)
    for phrase in (
        "rows read",
        "rows accepted",
        "rows rejected",
        "unparseable date",
        "customers",
        "2020-01-01 .. 2020-01-05",
        "zero-amount rows",
        "duplicate rows",
        "returns",
    ):
        assert phrase in text
    d = s.to_dict()
    assert d["rows_read"] == 21 and d["first_date"] == "2020-01-01"
    assert d["rows_accepted"] + d["rows_rejected"] == d["rows_read"]
    import json

    json.dumps(d)  # plain values only


def test_transaction_log_constructor_checks_columns_and_accounting():
    frame = pd.DataFrame({"customer_id": ["a"], "date": ["2020-01-01"], "amount": [1]})
    log = TransactionLog(frame)
    assert log.frame["date"].dtype == "datetime64[ns]" and log.frame["amount"].dtype == "float64"
    assert log.n_read == 1 and log.n_rejected == 0
    with pytest.raises(DataError, match="missing amount"):
        TransactionLog(frame.drop(columns="amount"))
    with pytest.raises(DataError, match="accounting"):
        TransactionLog(frame, n_read=5)


def test_parse_column_mapping():
    assert parse_column_mapping("a=customer_id, b = amount") == {"a": "customer_id", "b": "amount"}
    assert parse_column_mapping(None) == {}
    with pytest.raises(DataError, match="no '='"):
        parse_column_mapping("a:customer_id")


# --------------------------------------------------------------------------------------------
# Bad files: message names file, problem and fix; the fix then reads every row.
# --------------------------------------------------------------------------------------------
def test_missing_required_column(tmp_path):
    text = "cust,dt,value,qty\nc1,2020-01-01,3,1\nc2,2020-01-02,4,1\n"
    path = write(tmp_path, "names.csv", text)
    with pytest.raises(DataError) as err:
        read_transactions(path)
    msg = str(err.value)
    assert "names.csv" in msg
    assert "missing required column" in msg and "'customer_id'" in msg and "'amount'" in msg
    assert "Found columns: 'cust', 'dt', 'value', 'qty'" in msg
    assert "--columns cust=customer_id,dt=date,value=amount" in msg
    assert "columns={'cust': 'customer_id', 'dt': 'date', 'value': 'amount'}" in msg
    # the suggested mapping works and accounts for every row
    log = read_transactions(
        path, columns=parse_column_mapping("cust=customer_id,dt=date,value=amount")
    )
    assert_accounting(log, 2)
    assert log.n_accepted == 2


def test_missing_one_column_names_only_that_one(tmp_path):
    path = write(tmp_path, "one.csv", "customer_id,date,price\na,2020-01-01,1\n")
    msg = str(pytest.raises(DataError, read_transactions, path).value)
    assert "missing required column(s) 'amount'" in msg and "price=amount" in msg


def test_columns_key_not_in_file(tmp_path):
    path = write(tmp_path, "x.csv", "customer_id,date,amount\na,2020-01-01,1\n")
    msg = str(pytest.raises(DataError, read_transactions, path, columns={"value": "amount"}).value)
    assert "x.csv" in msg and "'value'" in msg and "Found columns" in msg


def test_columns_target_not_canonical(tmp_path):
    path = write(tmp_path, "x.csv", "customer_id,date,amount,v\na,2020-01-01,1,2\n")
    msg = str(pytest.raises(DataError, read_transactions, path, columns={"v": "revenue"}).value)
    assert "'revenue'" in msg and "canonical" in msg


def test_explicit_mapping_wins_over_canonical_name(tmp_path):
    path = write(tmp_path, "x.csv", "customer_id,date,amount,v\na,2020-01-01,1,2\n")
    log = read_transactions(path, columns={"v": "amount"})
    assert log.frame["amount"].tolist() == [2.0]
    assert log.ignored_columns == ("amount",)
    assert "ignored columns  amount" in str(log.summary())


def test_two_file_columns_onto_one_canonical(tmp_path):
    path = write(tmp_path, "x.csv", "customer_id,date,a1,a2\na,2020-01-01,1,2\n")
    msg = str(
        pytest.raises(
            DataError, read_transactions, path, columns={"a1": "amount", "a2": "amount"}
        ).value
    )
    assert "x.csv" in msg and "same canonical column" in msg and "'a1'" in msg and "'a2'" in msg


def test_excel_file(tmp_path):
    # a real .xlsx is a ZIP container; the reader must refuse it by suffix or by magic bytes
    path = write(tmp_path, "sales.xlsx", b"PK\x03\x04" + b"\x14\x00" * 50)
    msg = str(pytest.raises(DataError, read_transactions, path).value)
    assert "sales.xlsx" in msg and "Excel" in msg and "export" in msg and "CSV" in msg
    assert "Parquet" in msg
    renamed = write(
        tmp_path, "sales_really_xls.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 60
    )
    msg = str(pytest.raises(DataError, read_transactions, renamed).value)
    assert "sales_really_xls.csv" in msg and "Excel" in msg


def test_binary_file(tmp_path):
    rng = np.random.default_rng(0)
    path = write(tmp_path, "blob.csv", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    msg = str(pytest.raises(DataError, read_transactions, path).value)
    assert "blob.csv" in msg and "binary" in msg and "CSV" in msg


def test_wrong_delimiter(tmp_path):
    text = "customer_id;date;amount\na;2020-01-01;1\nb;2020-01-02;2\nc;2020-01-03;3\n"
    path = write(tmp_path, "semi.csv", text)
    with pytest.raises(DataError) as err:
        read_transactions(path, sep=",")
    msg = str(err.value)
    assert "semi.csv" in msg and "only one column" in msg and "semicolon" in msg
    assert "sep=';'" in msg and "--sep ';'" in msg
    log = read_transactions(path, sep=";")
    assert_accounting(log, data_lines(text))
    assert log.n_accepted == 3


def test_ragged_rows(tmp_path):
    """Issue 13: a row with more fields than the header is rejected on its own, with a reason."""
    path = write(
        tmp_path, "ragged.csv", "customer_id,date,amount\na,2020-01-01,1\nb,2020-01-02,2,9,9\n"
    )
    log = read_transactions(path)
    assert_accounting(log, 2)
    assert log.rejected[["row", "reason"]].values.tolist() == [[2, "5 fields, header has 3"]]
    assert log.frame["customer_id"].tolist() == ["a"]


def test_non_utf8_without_encoding(tmp_path):
    text = "customer_id,date,amount,category\na,2020-01-01,1,livres\nb,2020-01-02,2,café\n"
    path = write(tmp_path, "latin.csv", text, encoding="cp1252")
    detected = read_transactions(path)  # issue 12: decoded by detection, and said so
    assert (detected.encoding, detected.encoding_how) == ("cp1252", "detected")
    assert detected.frame["category"].tolist() == ["livres", "café"]
    log = read_transactions(path, encoding="cp1252")
    assert_accounting(log, data_lines(text))
    assert log.frame["category"].tolist() == ["livres", "café"]


def test_non_utf8_chinese_suggests_gb18030(tmp_path):
    path = write(
        tmp_path, "gbk.csv", "customer_id,date,amount\n王五,2020-01-01,1\n", encoding="gbk"
    )
    detected = read_transactions(path)
    assert detected.encoding == "gb18030" and detected.frame["customer_id"].tolist() == ["王五"]
    assert read_transactions(path, encoding="gb18030").frame["customer_id"].tolist() == ["王五"]


def test_utf16_without_encoding(tmp_path):
    path = write(
        tmp_path, "u16.csv", "customer_id,date,amount\na,2020-01-01,1\n", encoding="utf-16"
    )
    detected = read_transactions(path)
    assert detected.encoding == "utf-16" and detected.encoding_how == "byte-order mark"
    assert detected.n_accepted == 1
    assert read_transactions(path, encoding="utf-16").n_accepted == 1


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path, "empty.csv", content)
    msg = str(pytest.raises(DataError, read_transactions, path).value)
    assert "empty.csv" in msg and "empty" in msg and "header" in msg


def test_header_only(tmp_path):
    path = write(tmp_path, "hdr.csv", "customer_id,date,amount\n")
    msg = str(pytest.raises(DataError, read_transactions, path).value)
    assert "hdr.csv" in msg and "no data rows" in msg and "'customer_id', 'date', 'amount'" in msg


def test_empty_dataframe_and_parquet(tmp_path):
    df = pd.DataFrame({"customer_id": [], "date": [], "amount": []})
    msg = str(pytest.raises(DataError, read_transactions, df).value)
    assert "no rows" in msg
    path = tmp_path / "empty.parquet"
    df.to_parquet(path)
    msg = str(pytest.raises(DataError, read_transactions, path).value)
    assert "empty.parquet" in msg and "no rows" in msg


def test_corrupt_parquet(tmp_path):
    path = write(tmp_path, "bad.parquet", b"PAR1 this is not really parquet PAR1")
    msg = str(pytest.raises(DataError, read_transactions, path).value)
    assert "bad.parquet" in msg and "Parquet" in msg and "Fix" in msg


def test_missing_file_and_folder(tmp_path):
    msg = str(pytest.raises(DataError, read_transactions, tmp_path / "nope.csv").value)
    assert "nope.csv" in msg and "not found" in msg
    msg = str(pytest.raises(DataError, read_transactions, tmp_path).value)
    assert "folder" in msg


def test_zero_accepted_rows_summarizes_reasons(tmp_path):
    text = "customer_id,date,amount\na,01/02/2020,1\nb,05/02/2020,2\nc,,3\n"
    path = write(tmp_path, "dmy.csv", text)
    msg = str(pytest.raises(DataError, read_transactions, path).value)
    assert "dmy.csv" in msg and "no row was accepted" in msg
    assert "3 read" in msg and "unparseable date 2" in msg and "missing date 1" in msg
    assert "rows: 1, 2, 3" in msg
    assert "date_format='%d/%m/%Y'" in msg and "--date-format" in msg
    # counts in the message add up to the rows read
    counts = [int(n) for n in re.findall(r"(?:date|amount|row|customer_id) (\d+)", msg)]
    assert sum(counts) == data_lines(text)
    log = read_transactions(path, date_format="%d/%m/%Y")
    assert_accounting(log, 3)
    assert (log.n_accepted, log.n_rejected) == (2, 1)


def test_zero_accepted_amounts_message(tmp_path):
    path = write(
        tmp_path, "eur.csv", 'customer_id,date,amount\na,2020-01-01,"1,50"\nb,2020-01-02,"€3,5"\n'
    )
    msg = str(pytest.raises(DataError, read_transactions, path).value)
    assert "eur.csv" in msg and "unparseable amount 2" in msg and "decimal=','" in msg
    log = read_transactions(path, decimal=",")  # issue 12: the decimal comma option
    assert log.frame["amount"].tolist() == [1.5, 3.5] and log.currency == "EUR"


def test_unsupported_source_type():
    msg = str(pytest.raises(DataError, read_transactions, [1, 2, 3]).value)
    assert "list" in msg and "DataFrame" in msg


def test_duplicate_count_equals_pandas_duplicated():
    """The fast hash-and-verify count agrees with DataFrame.duplicated, NaN/NaT/None included."""
    rng = np.random.default_rng(3)
    n = 5000
    frame = pd.DataFrame(
        {
            "customer_id": rng.choice(["a", "b", "c", "d"], n),
            "date": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 3, n), unit="D"),
            "amount": rng.choice([0.0, -0.0, 1.5, np.nan, 2.0], n),
            "quantity": rng.choice([1.0, np.nan], n),
            "category": pd.Series(rng.choice(["x", "y", None], n), dtype="str"),
            "due_date": pd.Series(pd.to_datetime(rng.choice(["2020-02-01", None], n))),
        }
    )
    log = TransactionLog(frame.dropna(subset=["amount"]).reset_index(drop=True))
    expected = int(log.frame.duplicated().sum())
    assert expected > 0
    assert log.summary().duplicate_rows == expected
    unique = log.frame.drop_duplicates().reset_index(drop=True)
    assert TransactionLog(unique).summary().duplicate_rows == 0


def test_fast_and_forgiving_text_readers_agree(tmp_path):
    """A clean file takes the Arrow fast path; a short row forces the pandas reader. Same result."""
    lines = [line for line, _ in VARIED]  # includes a blank line: both readers see an empty row
    clean = write(tmp_path, "clean.csv", "\n".join(lines) + "\n")
    short = write(tmp_path, "short.csv", "\n".join(lines) + "\n018,2020-01-06,4\n")
    from crmresearch import data as data_module

    assert data_module._read_csv_arrow(clean, ",", lines[0]) is not None
    assert data_module._read_csv_arrow(short, ",", lines[0]) is None
    fast, slow = read_transactions(clean), read_transactions(short)
    n = len(lines) - 1
    assert_accounting(fast, n)
    assert_accounting(slow, n + 1)
    pd.testing.assert_frame_equal(fast.rejected, slow.rejected)
    pd.testing.assert_frame_equal(fast.frame, slow.frame.iloc[:-1])
    assert slow.frame.iloc[-1]["customer_id"] == "018"  # missing optional fields padded
    assert slow.frame.iloc[-1]["amount"] == 4.0


def test_quoted_fields_and_gzip(tmp_path):
    text = 'customer_id,date,amount,category\n"A, Inc",2020-01-01,"1.5","books, new"\n'
    text += 'B,2020-01-02,2,"multi\nline"\nC,2020-01-03,3,x\n'
    log = read_transactions(write(tmp_path, "q.csv", text))
    assert log.frame["customer_id"].tolist() == ["A, Inc", "B", "C"]
    assert log.frame["category"].tolist() == ["books, new", "multi\nline", "x"]
    assert_accounting(log, 3)
    import gzip

    path = tmp_path / "semi.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("customer_id;date;amount\nA;2020-01-01;1\nB;2020-01-02;x\n")
    log = read_transactions(path)
    assert_accounting(log, 2)
    assert log.frame["amount"].tolist() == [1.0]
    assert log.rejected["reason"].tolist() == ["unparseable amount"]
