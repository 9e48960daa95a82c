"""``crmresearch features``: output equals the library call, errors exit 2 with one line."""

from __future__ import annotations

import pandas as pd
import pytest

from crmresearch.cli import main
from crmresearch.features import customer_features


@pytest.fixture()
def log_csv(tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "date": ["2024-01-05", "2024-02-10", "2024-02-29", "2024-03-02"],
            "amount": [10.0, 30.0, 5.0, 7.0],
            "quantity": [1.0, 2.0, 1.0, 1.0],
        }
    )
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    return path


def test_features_cli_writes_parquet_and_summary(log_csv, tmp_path, capsys):
    out, md = tmp_path / "out" / "f.parquet", tmp_path / "f.md"
    code = main(
        ["features", str(log_csv), "--end", "2024-02-29", "--out", str(out), "--summary", str(md)]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "customers: 2" in printed
    assert "skipped (7):" in printed and "profit: column(s) profit absent" in printed
    got = pd.read_parquet(out)
    frame = pd.read_csv(log_csv, dtype={"customer_id": "str"}, parse_dates=["date"])
    expected = customer_features(frame, end="2024-02-29")
    pd.testing.assert_frame_equal(got, expected, check_index_type=False, check_column_type=False)
    text = md.read_text(encoding="utf-8")
    assert (
        "| `monetary` | Monetary (net revenue) | 消费金额 | currency | + | 2 | 0 | 22.50 |" in text
    )
    assert "2024-01-05 to 2024-02-29" in text
    assert not list(out.parent.glob(".*.tmp"))  # atomic write left no temporary file


def test_features_cli_indicators_and_csv(log_csv, tmp_path, capsys):
    out = tmp_path / "f.csv"
    code = main(
        ["features", str(log_csv), "--start", "2024-02-01", "--end", "2024-03-31",
         "--indicators", "frequency,monetary", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    got = pd.read_csv(out, dtype={"customer_id": "str"}).set_index("customer_id")
    assert got.to_dict("index") == {
        "a": {"frequency": 1, "monetary": 30.0},
        "b": {"frequency": 1, "monetary": 5.0},
        "c": {"frequency": 1, "monetary": 7.0},
    }
    assert "skipped: none" in capsys.readouterr().out


def test_features_cli_config_keeps_its_indicators(log_csv, tmp_path):
    out = tmp_path / "f.parquet"
    assert (
        main(
            ["features", str(log_csv), "--end", "2024-03-31", "--config", "bank", "--out", str(out)]
        )
        == 0
    )
    cols = list(pd.read_parquet(out).columns)
    assert "frequency" in cols and "quantity" not in cols and "profit" not in cols


def test_features_cli_direct_parquet(tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": ["x", "y"],
            "date": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "amount": [1.0, 2.0],
        }
    )
    src = tmp_path / "log.parquet"
    frame.to_parquet(src, index=False)
    out = tmp_path / "f.parquet"
    assert main(["features", str(src), "--direct", "--end", "2024-01-31", "--out", str(out)]) == 0
    assert pd.read_parquet(out)["monetary"].tolist() == [1.0, 2.0]


def test_features_cli_cdnow(tmp_path, capsys):
    out = tmp_path / "cdnow.parquet"
    assert main(["features", "cdnow", "--end", "1997-09-30", "--out", str(out)]) == 0
    assert "customers: 23,570" in capsys.readouterr().out
    assert len(pd.read_parquet(out)) == 23570


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--indicators", "profit"], "indicator 'profit' needs column(s) profit"),
        (["--indicators", "profits"], "unknown indicator(s) profits"),
        (["--config", "shop"], "unknown index system 'shop'"),
        (["--start", "2024-05-01"], "--end 2024-03-31 must be on or after --start 2024-05-01"),
    ],
)
def test_features_cli_bad_input_exits_2(log_csv, tmp_path, capsys, args, message):
    out = tmp_path / "f.parquet"
    code = main(["features", str(log_csv), "--end", "2024-03-31", "--out", str(out), *args])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()[-1:]) == 1 and "Traceback" not in err
    assert not out.exists()


def test_features_cli_bad_output_suffix(log_csv, tmp_path, capsys):
    code = main(
        ["features", str(log_csv), "--end", "2024-03-31", "--out", str(tmp_path / "f.xlsx")]
    )
    assert code == 2
    assert "use a .parquet or .csv" in capsys.readouterr().err


def test_features_cli_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["features", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "--end" in text and "--summary" in text and "regularity_cv" in text


@pytest.fixture()
def customers_csv(tmp_path):
    """A customer attribute file with Chinese text columns, as a GBK/Excel export has them."""
    path = tmp_path / "cust.csv"
    path.write_text(
        "customer_id,区域,行业\na,华中,制造\nb,华东,零售\nc,华南,零售\n", encoding="utf-8"
    )
    return path


def test_features_cli_summary_with_text_attributes(log_csv, customers_csv, tmp_path, capsys):
    out, md = tmp_path / "f.parquet", tmp_path / "f.md"
    code = main(
        ["features", str(log_csv), "--end", "2024-02-29", "--out", str(out), "--summary", str(md),
         "--customers", str(customers_csv)]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert (
        "indicators (11): recency_days, frequency, purchase_days, monetary, avg_order_value, "
        "quantity, tenure_days, active_months, monthly_volume, regularity_cv, spend_trend\n"
    ) in printed
    assert "customer attributes (2): 区域, 行业\n" in printed
    got = pd.read_parquet(out)
    assert got.loc["a", "区域"] == "华中" and got.loc["b", "行业"] == "零售"
    text = md.read_text(encoding="utf-8")
    assert (
        "- Customer attributes joined from `cust.csv` (in the table, not described here): "
        "`区域`, `行业`\n- Indicators: 11\n"
    ) in text
    assert "| `区域` |" not in text and "| `行业` |" not in text
    assert (
        "| `monetary` | Monetary (net revenue) | 消费金额 | currency | + | 2 | 0 | 22.50 |" in text
    )


def test_describe_features_leaves_out_text_attributes(log_csv, customers_csv):
    from crmresearch.data import read_customers
    from crmresearch.features import describe_features

    frame = pd.read_csv(log_csv, dtype={"customer_id": "str"}, parse_dates=["date"])
    features = customer_features(frame, end="2024-02-29", indicators=("frequency", "monetary"))
    joined = features.join(read_customers(customers_csv).frame)
    desc = describe_features(joined)
    assert list(desc.index) == ["frequency", "monetary"]
    assert desc.loc["monetary", "mean"] == 22.5
