"""Issue 12 on the command line: ISO-only dates, the synthetic count as --n-customers and a
customer attribute file as --customers FILE, reading options on every command that reads a log,
and runs stopped when more than max_rejected_share of the rows were rejected."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from crmresearch.cli import main


def error_of(argv, capsys) -> str:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


# ---------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    "argv, option, text",
    [
        (["features", "cdnow", "--end", "05.01.2024"], "--end", "05.01.2024"),
        (["features", "cdnow", "--end", "1997-09-30", "--start", "1/5/97"], "--start", "1/5/97"),
        (["loss", "cdnow", "--calibration-end", "30-09-1997"], "--calibration-end", "30-09-1997"),
        (["loss", "cdnow", "--holdout-end", "06/30/1998"], "--holdout-end", "06/30/1998"),
    ],
)
def test_ambiguous_dates_are_refused_not_guessed(argv, option, text, capsys, tmp_path):
    out = tmp_path / ("f.parquet" if argv[0] == "features" else "l.json")
    err = error_of([*argv, "--out", out], capsys)
    assert err.endswith(f"{option}: {text!r} is ambiguous (day or month first?); give the date as "
                        "YYYY-MM-DD")  # fmt: skip
    assert not out.exists()


def test_iso_dates_in_both_forms_give_the_same_window(tmp_path, capsys):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert main(["features", "cdnow", "--end", "1997-09-30", "--out", str(a)]) == 0
    assert main(["features", "cdnow", "--end", "19970930", "--out", str(b)]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))


# ---------------------------------------------------------------------------- synthetic count


def test_n_customers_sets_the_synthetic_size(tmp_path, capsys):
    out = tmp_path / "f.parquet"
    assert main(["features", "synthetic", "--n-customers", "300", "--end", "2023-12-31",
                 "--out", str(out)]) == 0  # fmt: skip
    n = len(pd.read_parquet(out))
    assert 200 < n <= 300


def test_customers_is_a_file_now(tmp_path, capsys):
    err = error_of(["features", "synthetic", "--customers", "300", "--end", "2023-12-31",
                    "--out", tmp_path / "f.parquet"], capsys)  # fmt: skip
    assert "300" in err and "not found" in err.lower()


# ---------------------------------------------------------------------------- customer attributes


@pytest.fixture(scope="module")
def synthetic_customers(tmp_path_factory):
    from crmresearch.datasets import make_crm_data

    data = make_crm_data(n_customers=800, seed=0)
    path = tmp_path_factory.mktemp("attrs") / "customers.csv"
    data.customers.to_csv(path, index=False)
    return path, data.customers.set_index("customer_id")


def test_features_with_customers_adds_the_static_attributes(synthetic_customers, tmp_path, capsys):
    path, customers = synthetic_customers
    out = tmp_path / "f.parquet"
    assert main(["features", "synthetic", "--n-customers", "800", "--end", "2023-12-31",
                 "--customers", str(path), "--out", str(out)]) == 0  # fmt: skip
    table = pd.read_parquet(out)
    assert {"region", "industry"} <= set(table.columns)
    assert "status" not in table.columns and "credit_limit" not in table.columns  # dynamic
    expected = customers["region"].reindex(table.index)
    assert (table["region"] == expected).all()
    printed = capsys.readouterr().out
    assert f"{len(table):,} of {len(table):,} customers in the window have a row" in printed


def test_loss_breaks_the_cells_down_by_attribute(synthetic_customers, tmp_path, capsys):
    path, customers = synthetic_customers
    out, lst = tmp_path / "l.json", tmp_path / "lists.csv"
    assert main(["loss", "synthetic", "--n-customers", "800", "--customers", str(path),
                 "--out", str(out), "--list", str(lst), "--raw-ids"]) == 0  # fmt: skip
    d = json.loads(out.read_text(encoding="utf-8"))
    regions = d["by_attribute"]["region"]
    # independent of the breakdown: the neglected core from the list file and the id mapping
    table = pd.read_csv(lst, encoding="utf-8-sig", keep_default_na=False)
    ids = pd.read_csv(tmp_path / "lists.raw-ids.csv", dtype={"customer_id": "str"})
    table["customer_id"] = table["customer"].map(ids.set_index("customer")["customer_id"])
    neglected = table[(table["primary_list"] == "neglected_core")
                      | table["also_in"].str.contains("neglected_core")]  # fmt: skip
    region = customers["region"].reindex(neglected["customer_id"]).to_numpy()
    churned = (neglected["bought_in_holdout"] == "no").to_numpy()
    assert len(neglected) == d["n_neglected"] > 0
    assert sum(r["customers"] for r in regions.values()) == d["n"]
    for cell in ("served_core", "neglected_core", "over_served", "other"):
        assert sum(r[cell] for r in regions.values()) == d["groups"][cell]["customers"]
    for name, row in regions.items():
        members = region == name
        assert row["neglected_core"] == int(members.sum())
        if members.any():
            assert row["neglected_churn_rate"] == pytest.approx(churned[members].mean(), rel=1e-12)
            low, high = proportion_confint(churned[members].sum(), members.sum(), method="wilson")
            assert (row["neglected_churn_low"], row["neglected_churn_high"]) == pytest.approx(
                (low, high), rel=1e-12
            )
        else:
            assert row["neglected_churn_rate"] is None
            assert row["neglected_churn_low"] is None and row["neglected_churn_high"] is None
    assert "customers per cell by region" in capsys.readouterr().out


# ---------------------------------------------------------------------------- customer columns
ZH_COLUMNS = "客户编号=customer_id,日期=date,金额=amount"


@pytest.fixture(scope="module")
def chinese_export(tmp_path_factory):
    """The synthetic log as the firm exports it (客户编号 / 日期 / 金额), its customer file with the
    same id header, one with another id header (会员号), and the planted windows."""
    from crmresearch.datasets import make_crm_data
    from crmresearch.study import Study

    folder = tmp_path_factory.mktemp("zh")
    data = make_crm_data(n_customers=800, seed=0)
    log = folder / "交易.csv"
    zh = {"customer_id": "客户编号", "date": "日期", "amount": "金额"}
    data.transactions.frame.rename(columns=zh).to_csv(log, index=False)
    attrs = data.customers.rename(columns={"region": "区域"})
    shared, other = folder / "客户属性.csv", folder / "会员属性.csv"
    attrs.rename(columns={"customer_id": "客户编号"}).to_csv(shared, index=False)
    attrs.rename(columns={"customer_id": "会员号"}).to_csv(other, index=False)
    study = Study.from_params("synthetic", n_customers=800, seed=0)
    windows = ["--calibration-end", study.calibration_end, "--holdout-end", study.holdout_end]
    return {"log": log, "shared": shared, "other": other, "windows": windows}


@pytest.fixture(scope="module")
def english_breakdown(synthetic_customers, tmp_path_factory):
    """``loss synthetic --customers customers.csv``: the breakdown checked against the lists above."""
    path, _customers = synthetic_customers
    out = tmp_path_factory.mktemp("en") / "l.json"
    assert main(["loss", "synthetic", "--n-customers", "800", "--customers", str(path),
                 "--out", str(out)]) == 0  # fmt: skip
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "attrs, extra",
    [
        ("other", ["--customer-columns", "会员号=customer_id"]),  # its own id header, mapped
        ("shared", []),  # the log's header: --columns 客户编号=customer_id serves it too
    ],
)
def test_loss_with_a_chinese_customer_file(chinese_export, english_breakdown, attrs, extra,
                                           tmp_path, capsys):  # fmt: skip
    out = tmp_path / "l.json"
    argv = ["loss", chinese_export["log"], "--columns", ZH_COLUMNS, *chinese_export["windows"],
            "--customers", chinese_export[attrs], *extra, "--out", out]  # fmt: skip
    assert main([str(a) for a in argv]) == 0
    d = json.loads(out.read_text(encoding="utf-8"))
    regions = d["by_attribute"]["区域"]
    assert sum(r["customers"] for r in regions.values()) == d["n"] == english_breakdown["n"]
    for cell in ("served_core", "neglected_core", "over_served", "other"):
        assert sum(r[cell] for r in regions.values()) == d["groups"][cell]["customers"]
    # the same log and attributes under Chinese headers: the English run's breakdown
    assert regions == english_breakdown["by_attribute"]["region"]
    assert d["by_attribute"]["industry"] == english_breakdown["by_attribute"]["industry"]
    assert "customers per cell by 区域" in capsys.readouterr().out


def test_features_with_customer_columns(chinese_export, tmp_path, capsys):
    out = tmp_path / "f.parquet"
    assert main(["features", "synthetic", "--n-customers", "800", "--end", "2023-12-31",
                 "--customers", str(chinese_export["other"]), "--customer-columns",
                 "会员号=customer_id", "--out", str(out)]) == 0  # fmt: skip
    table = pd.read_parquet(out)
    assert {"区域", "industry"} <= set(table.columns) and table["区域"].notna().all()


def test_customer_file_without_its_id_mapped_names_the_fix(chinese_export, tmp_path, capsys):
    argv = ["loss", chinese_export["log"], "--columns", ZH_COLUMNS, *chinese_export["windows"],
            "--customers", chinese_export["other"], "--out", tmp_path / "l.json"]  # fmt: skip
    err = error_of(argv, capsys)
    assert "会员属性.csv: missing required column 'customer_id'" in err
    assert "the log's columns map '客户编号' onto customer_id; this file has no column" in err
    assert "(CLI --customer-columns 会员号=customer_id; " in err
    assert "report -p 'customer_columns={会员号: customer_id}')" in err
    assert "--columns 会员号" not in err  # --columns maps the log, not this file
    err = error_of([*argv, "--customer-columns", "会员号"], capsys)
    assert err.startswith("crmresearch loss: error: --customer-columns: '会员号' is not a mapping")
    err = error_of([*argv, "--customer-columns", "编号=customer_id"], capsys)
    assert "会员属性.csv" in err and "['编号']" in err and "not in the file" in err


# ---------------------------------------------------------------------------- reading options


def test_sep_and_encoding_reach_the_reader(tmp_path, capsys):
    rows = ["客户;日期;金额"] + [f"c{i % 7};2024-01-{1 + i % 28:02d};{10 + i}" for i in range(60)]
    path = tmp_path / "gbk.csv"
    path.write_bytes("\n".join(rows).encode("gbk"))
    out = tmp_path / "f.parquet"
    assert main(["features", str(path), "--sep", ";", "--encoding", "gbk",
                 "--columns", "客户=customer_id,日期=date,金额=amount",
                 "--end", "2024-01-31", "--out", str(out)]) == 0  # fmt: skip
    table = pd.read_parquet(out)
    assert len(table) == 7
    assert table["monetary"].sum() == pytest.approx(sum(10 + i for i in range(60)))


def test_every_log_command_offers_the_reading_options(capsys):
    for command in ("validate", "features", "loss"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        for option in ("--encoding", "--sep", "--sheet", "--columns", "--date-format"):
            assert option in text, (command, option)
    for command in ("features", "loss"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        assert "--max-rejected-share" in text and "--customers FILE" in text
        assert "--customer-columns MAP" in text
        assert "--n-customers" in text


# ---------------------------------------------------------------------------- rejected share


@pytest.fixture
def partly_bad_log(tmp_path):
    """50 rows, 2 rejected (4 %): one without a customer, one with an unparseable date."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i % 9}" for i in range(50)],
            "date": [f"2024-01-{1 + i % 28:02d}" for i in range(50)],
            "amount": rng.integers(5, 90, 50).astype(str),
        }
    )
    frame.loc[3, "customer_id"] = ""
    frame.loc[7, "date"] = "someday"
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", ["features", "loss"])
def test_mostly_rejected_input_stops_the_run(command, partly_bad_log, tmp_path, capsys):
    if command == "features":
        argv = ["features", partly_bad_log, "--end", "2024-01-31", "--out", tmp_path / "f.parquet"]
    else:
        argv = ["loss", partly_bad_log, "--calibration-end", "2024-01-15",
                "--holdout-end", "2024-01-31", "--out", tmp_path / "l.json"]  # fmt: skip
    err = error_of(argv, capsys)
    assert re.search(
        r"log\.csv: 2 of 50 rows \(4\.0 ?%\) were rejected, more than "
        r"max_rejected_share",
        err,
    ), err
    assert "Top reasons:" in err and "missing customer_id" in err
    assert not list(tmp_path.glob("f.parquet")) and not list(tmp_path.glob("l.json"))


def test_a_higher_max_rejected_share_accepts_the_loss(partly_bad_log, tmp_path, capsys):
    out = tmp_path / "f.parquet"
    assert main(["features", str(partly_bad_log), "--end", "2024-01-31", "--out", str(out),
                 "--max-rejected-share", "0.05"]) == 0  # fmt: skip
    assert "2 of 50 rows rejected by validation" in capsys.readouterr().out
    assert main(["validate", str(partly_bad_log)]) == 0  # validate reports, never stops


def test_max_rejected_share_must_be_a_share(partly_bad_log, tmp_path, capsys):
    err = error_of(["features", partly_bad_log, "--end", "2024-01-31", "--out",
                    tmp_path / "f.parquet", "--max-rejected-share", "5"], capsys)  # fmt: skip
    assert err.endswith("--max-rejected-share: '5' is not a share between 0 and 1")


def test_features_says_which_encoding_was_detected(tmp_path, capsys):
    rows = ["客户,日期,金额"] + [f"张{i % 5},2024-01-{1 + i % 28:02d},{10 + i}" for i in range(40)]
    path = tmp_path / "export.csv"
    path.write_bytes("\n".join(rows).encode("gb18030"))
    out = tmp_path / "f.parquet"
    assert main(["features", str(path), "--columns", "客户=customer_id,日期=date,金额=amount",
                 "--end", "2024-01-31", "--out", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "encoding: gb18030 (detected; override with --encoding)" in printed
    assert sorted(pd.read_parquet(out).index) == [f"张{i}" for i in range(5)]


def test_sheet_selects_the_excel_sheet(tmp_path, capsys):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "说明"
    book.active.append(["this sheet holds notes, not transactions"])
    sheet = book.create_sheet("销售")
    sheet.append(["customer_id", "date", "amount"])
    for i in range(30):
        sheet.append([f"c{i % 6}", f"2024-01-{1 + i:02d}", 5.0 + i])
    path = tmp_path / "export.xlsx"
    book.save(path)
    out = tmp_path / "f.parquet"
    assert main(["features", str(path), "--sheet", "销售", "--end", "2024-01-31",
                 "--out", str(out)]) == 0  # fmt: skip
    table = pd.read_parquet(out)
    assert len(table) == 6 and table["monetary"].sum() == pytest.approx(
        sum(5.0 + i for i in range(30))
    )
    assert main(["features", str(path), "--sheet", "1", "--end", "2024-01-31",
                 "--out", str(out)]) == 0  # fmt: skip
    pd.testing.assert_frame_equal(pd.read_parquet(out), table)
