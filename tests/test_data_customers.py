"""read_customers: field tags (static / dynamic / system-generated), row accounting, messages."""

from __future__ import annotations

import pandas as pd
import pytest

from crmresearch.data import CustomerTable, infer_field_type, read_customers
from crmresearch.errors import DataError

CUSTOMERS = (
    "cust,region,industry,signup_date,status,credit_terms,contact_person,total_amount,"
    "avg_order_value,order_count,notes\n"
    "001,North,retail,2020-01-05,active,30,Ann,1200.5,100.04,12,x\n"  # 1 ok
    "002,South,food,2020-02-30,active,60,Bob,10,10,1,\n"  # 2 unparseable signup_date
    "001,East,retail,2020-01-01,lapsed,30,Cy,5,5,1,\n"  # 3 duplicate id
    ",West,food,2020-01-01,active,30,Di,1,1,1,\n"  # 4 missing id
    "003,West,food,,lapsed,0,Ed,0,0,0,y\n"  # 5 ok (signup may be missing)
    "\n"  # 6 empty row
    "004,North,tech,20200301,active,45,Flo,300,150,2,\n"  # 7 ok
)


@pytest.fixture
def table(tmp_path) -> CustomerTable:
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMERS)
    return read_customers(path, columns={"cust": "customer_id"})


def test_row_accounting_and_reasons(table):
    assert (table.n_read, table.n_accepted, table.n_rejected) == (7, 3, 4)
    assert dict(zip(table.rejected["row"], table.rejected["reason"], strict=True)) == {
        2: "unparseable signup_date",
        3: "duplicate customer_id",
        4: "missing customer_id",
        6: "empty row",
    }
    s = table.summary()
    assert s.rows_accepted + s.rows_rejected == s.rows_read == 7
    assert sum(s.rejected_by_reason.values()) == 4
    assert "duplicate customer_id" in str(s) and "system-generated" in str(s)
    assert s.to_dict()["customers"] == 3


def test_frame_indexed_by_id_with_parsed_values(table):
    f = table.frame
    assert f.index.name == "customer_id"
    assert f.index.tolist() == ["001", "003", "004"]  # first occurrence of 001 kept
    assert f.loc["001", "region"] == "North"
    assert f.loc["004", "signup_date"] == pd.Timestamp("2020-03-01")
    assert pd.isna(f.loc["003", "signup_date"])
    assert f["total_amount"].dtype == "float64"
    assert f["total_amount"].sum() == pytest.approx(1500.5)
    assert f["order_count"].tolist() == [12.0, 0.0, 2.0]


def test_field_types(table):
    assert table.field_types == {
        "customer_id": "static",
        "region": "static",
        "industry": "static",
        "signup_date": "static",
        "status": "dynamic",
        "credit_terms": "dynamic",
        "contact_person": "dynamic",
        "total_amount": "system-generated",
        "avg_order_value": "system-generated",
        "order_count": "system-generated",
        "notes": "dynamic",
    }
    assert table.field_type_sources["notes"] == "default"
    assert table.field_type_sources["region"] == "rule: region"
    assert table.fields("static") == ["customer_id", "region", "industry", "signup_date"]
    with pytest.raises(ValueError, match="static"):
        table.fields("fixed")


def test_field_types_override(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(CUSTOMERS)
    t = read_customers(
        path, columns={"cust": "customer_id"}, field_types={"notes": "static", "region": "dynamic"}
    )
    assert t.field_types["notes"] == "static" and t.field_type_sources["notes"] == "given"
    assert t.field_types["region"] == "dynamic"
    with pytest.raises(DataError, match="unknown kinds"):
        read_customers(path, columns={"cust": "customer_id"}, field_types={"notes": "fixed"})
    with pytest.raises(DataError, match="not columns"):
        read_customers(path, columns={"cust": "customer_id"}, field_types={"nope": "static"})


@pytest.mark.parametrize(
    "name, kind",
    [
        ("Region", "static"),
        ("region_name", "static"),
        ("FirstPurchaseDate", "static"),
        ("first_order_amount", "system-generated"),
        ("last_purchase_date", "system-generated"),
        ("avg_monthly_volume", "system-generated"),
        ("n_orders", "system-generated"),
        ("payment_terms", "dynamic"),
        ("credit_limit", "dynamic"),
        ("corporate_name", "dynamic"),  # no rule: default, and 'rate' inside a word is no match
        ("consumer_type", "static"),
    ],
)
def test_infer_field_type_rules(name, kind):
    assert infer_field_type(name)[0] == kind


def test_missing_id_column_message(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("client_no,region\n1,North\n")
    msg = str(pytest.raises(DataError, read_customers, path).value)
    assert "people.csv" in msg and "customer_id" in msg and "'client_no'" in msg
    assert "--customer-columns client_no=customer_id" in msg and "--columns" not in msg
    assert "-p 'customer_columns={client_no: customer_id}'" in msg
    assert "\n" not in msg
    t = read_customers(path, columns={"client_no": "customer_id"})
    assert t.n_read == t.n_accepted == 1


CHINESE = "客户编号,区域,行业,注册日期\nC001,华东,零售,2020-01-05\nC002,华北,餐饮,2021-03-01\n"


@pytest.mark.parametrize(
    "header, likely",
    [
        ("区域,客户编号,行业", "客户编号"),  # the id-like column, not the first one
        ("region,cust_code,industry", "cust_code"),
        ("Region,MemberID", "MemberID"),
        ("region,industry", "region"),  # nothing id-like: the first column
    ],
)
def test_missing_id_fix_names_the_files_likely_id_column(tmp_path, header, likely):
    path = tmp_path / "attrs.csv"
    path.write_text(header + "\n" + ",".join("x" * len(header.split(","))) + "\n")
    msg = str(pytest.raises(DataError, read_customers, path).value)
    assert "attrs.csv: missing required column 'customer_id'" in msg
    assert f"columns={{'{likely}': 'customer_id'}}" in msg
    assert f"(CLI --customer-columns {likely}=customer_id; " in msg
    assert f"report -p 'customer_columns={{{likely}: customer_id}}')" in msg


def test_chinese_id_column_mapped_with_columns(tmp_path):
    path = tmp_path / "客户属性.csv"
    path.write_text(CHINESE, encoding="utf-8")
    msg = str(pytest.raises(DataError, read_customers, path).value)
    assert "客户属性.csv" in msg and "--customer-columns 客户编号=customer_id" in msg
    t = read_customers(path, columns={"客户编号": "customer_id"})
    assert t.frame.index.tolist() == ["C001", "C002"]
    assert t.frame.loc["C002", "区域"] == "华北"
    assert t.frame.loc["C001", "注册日期"] == pd.Timestamp("2020-01-05")
    assert t.fields("static") == ["customer_id", "区域", "行业", "注册日期"]


def test_the_logs_id_mapping_serves_a_customer_file_with_the_same_header(tmp_path):
    path = tmp_path / "客户属性.csv"
    path.write_text(CHINESE, encoding="utf-8")
    log_columns = {"客户编号": "customer_id", "日期": "date", "金额": "amount"}
    t = read_customers(path, log_columns=log_columns)
    assert t.frame.index.tolist() == ["C001", "C002"]
    assert list(t.frame.columns) == ["区域", "行业", "注册日期"]  # only the id taken from the log
    # the file's own mapping wins over the log's
    t = read_customers(path, columns={"区域": "region", "客户编号": "customer_id"},
                       log_columns={"区域": "customer_id"})  # fmt: skip
    assert t.frame.index.tolist() == ["C001", "C002"] and "region" in t.frame.columns
    # a customer_id column of the file's own is never replaced
    own = tmp_path / "own.csv"
    own.write_text("customer_id,客户编号,区域\n1,C001,华东\n", encoding="utf-8")
    assert read_customers(own, log_columns=log_columns).frame.index.tolist() == ["1"]


def test_a_log_id_name_absent_from_the_customer_file_is_said(tmp_path):
    path = tmp_path / "客户属性.csv"
    path.write_text(CHINESE, encoding="utf-8")
    msg = str(
        pytest.raises(DataError, read_customers, path, log_columns={"客户": "customer_id"}).value
    )
    assert (
        "the log's columns map '客户' onto customer_id; this file has no column of that name" in msg
    )
    assert "--customer-columns 客户编号=customer_id" in msg and "\n" not in msg


def test_all_duplicates_and_missing_is_an_error(tmp_path):
    df = pd.DataFrame({"customer_id": [None, None], "region": ["a", "b"]})
    msg = str(pytest.raises(DataError, read_customers, df).value)
    assert "no row was accepted" in msg and "missing customer_id 2" in msg and "rows: 1, 2" in msg


def test_dataframe_source_with_integer_ids():
    df = pd.DataFrame({"customer_id": [10, 11, 10], "status": ["a", "b", "c"]})
    t = read_customers(df)
    assert t.frame.index.tolist() == ["10", "11"]
    assert t.rejected["reason"].tolist() == ["duplicate customer_id"]
    assert t.rejected["row"].tolist() == [3]


def test_header_only_customer_file_names_the_table(tmp_path):
    path = tmp_path / "cust.csv"
    path.write_text("customer_id,region\n")
    msg = str(pytest.raises(DataError, read_customers, path).value)
    assert "cust.csv" in msg and "no data rows" in msg and "customer table" in msg


def test_synthetic_customers_get_the_generator_tags():
    """Name rules agree with the tags the synthetic generator declares for its own fields."""
    synthetic = pytest.importorskip("crmresearch.datasets.synthetic")
    crm = synthetic.make_crm_data(n_customers=200, seed=1)
    frame = crm.customers
    if frame.index.name == "customer_id":
        frame = frame.reset_index()
    table = read_customers(frame)
    assert table.n_read == table.n_accepted == 200
    declared = crm.customers.attrs.get("field_types")
    assert declared, "synthetic customers should declare attrs['field_types']"
    for name, kind in declared.items():
        assert table.field_types[name] == kind, name
