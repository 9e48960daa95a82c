"""customer_features / holdout_outcomes against an independent plain-pandas recomputation.

The reference below is written from the definitions in the brief (not from features.py): it
uses pandas groupby, a per-customer Python function for the gap CV and row-wise numpy logic for
payment status. Counts must match exactly, sums/ratios to 1e-9 relative.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmresearch.errors import DataError
from crmresearch.features import INDICATORS, customer_features, holdout_outcomes

CALIBRATION_END = "1997-09-30"
HOLDOUT = ("1997-10-01", "1998-06-30")
COUNTS = [
    "recency_days",
    "frequency",
    "purchase_days",
    "tenure_days",
    "active_months",
    "category_breadth",
    "channel_count",
]
DAYS_PER_MONTH = 365.2425 / 12


# ------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cdnow(cdnow_path) -> pd.DataFrame:
    """The CDNOW master log as a canonical frame, read with plain pandas."""
    raw = pd.read_csv(cdnow_path, sep=r"\s+", dtype={"customer_id": str})
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "date": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d"),
            "amount": raw["dollar_value"].astype("float64"),
            "quantity": raw["number_of_cds"].astype("float64"),
        }
    )


def handmade() -> pd.DataFrame:
    """Small log with every optional column; expected values are worked out by hand below."""
    T, N = pd.Timestamp, pd.NaT
    rows = [
        # customer, date, amount, qty, profit, category, channel, due, paid
        ("A", T("2023-12-15"), 50.0, 1.0, 10.0, "X", "web", T("2023-12-30"), T("2024-01-05")),
        ("A", T("2024-01-10"), 100.0, 2.0, 30.0, "X", "web", T("2024-01-20"), T("2024-01-18")),
        ("A", T("2024-02-10"), 200.0, 4.0, 50.0, "Y", "store", T("2024-02-20"), T("2024-02-25")),
        ("A", T("2024-02-10"), -50.0, -1.0, -10.0, "Y", "store", N, N),
        ("A", T("2024-03-20"), 150.0, 3.0, 40.0, "Z", "web", T("2024-04-05"), N),
        ("B", T("2024-03-01"), 80.0, 1.0, 20.0, "X", "app", T("2024-03-10"), N),
        ("B", T("2024-03-05"), 40.0, 1.0, 8.0, None, "app", T("2024-03-15"), T("2024-04-10")),
        ("C", T("2024-04-02"), 70.0, 1.0, 7.0, "X", "web", T("2024-04-12"), T("2024-04-12")),
        ("D", T("2023-11-01"), 30.0, 1.0, 5.0, "X", "web", T("2023-11-11"), T("2023-11-11")),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "date",
            "amount",
            "quantity",
            "profit",
            "category",
            "channel",
            "due_date",
            "paid_date",
        ],
    )
    for col in ("date", "due_date", "paid_date"):
        frame[col] = frame[col].astype("datetime64[ns]")
    frame["category"] = frame["category"].astype("str")
    frame.loc[frame["category"].isin(["None", "nan"]), "category"] = np.nan
    return frame


# ------------------------------------------------------------------------------------------
# independent reference
# ------------------------------------------------------------------------------------------
def _gap_cv(win: pd.DataFrame) -> pd.Series:
    """sd(ddof=1) / mean of gaps between consecutive distinct dates, per customer (pandas)."""
    days = win[["customer_id", "date"]].drop_duplicates().sort_values(["customer_id", "date"])
    gaps = days.groupby("customer_id")["date"].diff().dt.days
    by = gaps.groupby(days["customer_id"])
    return (by.std(ddof=1) / by.mean()).where(by.count() >= 2)


def reference_features(log: pd.DataFrame, start, end) -> pd.DataFrame:
    end = pd.Timestamp(end)
    upto = log[log["date"] <= end]
    s = upto["date"].min() if start is None else pd.Timestamp(start)
    win = upto[upto["date"] >= s]
    g = win.groupby("customer_id")
    out = pd.DataFrame(index=pd.Index(sorted(win["customer_id"].unique()), name="customer_id"))
    out["recency_days"] = (end - g["date"].max()).dt.days
    out["frequency"] = g.size()
    out["purchase_days"] = g["date"].nunique()
    out["monetary"] = g["amount"].sum()
    out["avg_order_value"] = out["monetary"] / out["frequency"]
    first = upto.groupby("customer_id")["date"].min().reindex(out.index)
    out["tenure_days"] = (end - first).dt.days
    out["active_months"] = win["date"].dt.to_period("M").groupby(win["customer_id"]).nunique()
    exposure_months = ((end - first.clip(lower=s)).dt.days + 1) / DAYS_PER_MONTH
    volume = g["quantity"].sum() if "quantity" in log else out["frequency"]
    out["monthly_volume"] = volume / exposure_months.clip(lower=1.0)
    if "quantity" in log:
        out["quantity"] = g["quantity"].sum()
    out["regularity_cv"] = _gap_cv(win)
    n_days = (end - s).days + 1
    second = 2 * (win["date"] - s).dt.days >= n_days
    r2 = win["amount"].where(second, 0.0).groupby(win["customer_id"]).sum()
    r1 = win["amount"].where(~second, 0.0).groupby(win["customer_id"]).sum()
    denom = r1.abs() + r2.abs()
    out["spend_trend"] = ((r2 - r1) / denom).where(denom > 0, 0.0)
    if "profit" in log:
        out["profit"] = g["profit"].sum()
        out["margin_rate"] = (out["profit"] / out["monetary"]).where(out["monetary"] > 0)
    returned = (-win["amount"].clip(upper=0)).groupby(win["customer_id"]).sum()
    gross = win["amount"].clip(lower=0).groupby(win["customer_id"]).sum()
    out["return_rate"] = (returned / gross).where(gross > 0)
    if "category" in log:
        out["category_breadth"] = g["category"].nunique()
    if "channel" in log:
        out["channel_count"] = g["channel"].nunique()
    if "due_date" in log:
        due, paid = win["due_date"], win["paid_date"]
        paid_known = paid.where(paid <= end)  # a payment after `end` is not known at `end`
        known = due.notna() & (paid_known.notna() | (due < end))
        settled = paid_known.fillna(end)
        late = known & (settled > due)
        overdue = (settled - due).dt.days.clip(lower=0).where(known, 0)
        n_known = known.groupby(win["customer_id"]).sum()
        out["late_payment_rate"] = (
            late.groupby(win["customer_id"]).sum() / n_known.replace(0, np.nan)
        ).reindex(out.index)
        out["days_overdue"] = (
            overdue.groupby(win["customer_id"]).sum() / n_known.replace(0, np.nan)
        ).reindex(out.index)
    return out


def assert_matches(result: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(result.index) == list(expected.index)
    for col in result.columns:
        got, want = result[col], expected[col].reindex(result.index)
        assert got.isna().equals(want.isna()), f"{col}: NaN pattern differs"
        if col in COUNTS:
            assert got.dtype == "int64", col
            np.testing.assert_array_equal(got.to_numpy(), want.to_numpy(), err_msg=col)
        else:
            np.testing.assert_allclose(
                got.to_numpy(float), want.to_numpy(float), rtol=1e-9, atol=0, err_msg=col
            )


# ------------------------------------------------------------------------------------------
# CDNOW
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cdnow_features(cdnow):
    return customer_features(cdnow, end=CALIBRATION_END)


def test_cdnow_features_equal_pandas_recomputation(cdnow, cdnow_features):
    expected = reference_features(cdnow, None, CALIBRATION_END)
    assert len(cdnow_features) == 23570  # every CDNOW customer first bought before 1997-03-26
    assert_matches(cdnow_features, expected)
    # the purchase-day indicators vary, so the comparison is not vacuous
    assert cdnow_features["regularity_cv"].notna().sum() > 1000
    assert cdnow_features["spend_trend"].nunique() > 100


def test_cdnow_attrs_account_for_every_row(cdnow, cdnow_features):
    rows = cdnow_features.attrs["rows"]
    assert rows["read"] == len(cdnow) == 69659
    assert rows["in_window"] == int((cdnow["date"] <= CALIBRATION_END).sum())
    assert rows["in_window"] + rows["before_start"] + rows["after_end"] == rows["read"]
    assert cdnow_features["frequency"].sum() == rows["in_window"]
    assert cdnow_features.attrs["window"] == {
        "start": "1997-01-01",
        "end": CALIBRATION_END,
        "days": 273,
        "start_given": False,
    }
    skipped = cdnow_features.attrs["skipped"]
    assert set(skipped) == {
        "profit",
        "margin_rate",
        "category_breadth",
        "channel_count",
        "late_payment_rate",
        "days_overdue",
        "return_rate",
    }
    assert "profit" in skipped["margin_rate"]
    assert "due_date" in skipped["late_payment_rate"]
    assert cdnow_features.attrs["undefined"] == {
        "regularity_cv": int(cdnow_features["regularity_cv"].isna().sum())
    }


@pytest.mark.parametrize("start", ["1997-03-01", "1997-03-15"])  # month start and mid-month
def test_cdnow_window_with_start_matches_reference(cdnow, start):
    result = customer_features(cdnow, start=start, end=CALIBRATION_END)
    expected = reference_features(cdnow, start, CALIBRATION_END)
    assert_matches(result, expected)
    # tenure uses history before the window: some active customers began in Jan/Feb
    assert (
        result["tenure_days"] > (pd.Timestamp(CALIBRATION_END) - pd.Timestamp(start)).days
    ).any()
    rows = result.attrs["rows"]
    assert rows["before_start"] == int((cdnow["date"] < start).sum())


def test_cdnow_holdout_outcomes_equal_pandas(cdnow, cdnow_features):
    out = holdout_outcomes(cdnow, start=HOLDOUT[0], end=HOLDOUT[1], customers=cdnow_features.index)
    hold = cdnow[(cdnow["date"] >= HOLDOUT[0]) & (cdnow["date"] <= HOLDOUT[1])]
    purchases = hold.groupby("customer_id").size().reindex(cdnow_features.index, fill_value=0)
    revenue = (
        hold.groupby("customer_id")["amount"].sum().reindex(cdnow_features.index, fill_value=0)
    )
    assert list(out.index) == list(cdnow_features.index)
    assert list(out.columns) == ["purchases", "revenue", "churned"]
    np.testing.assert_array_equal(out["purchases"].to_numpy(), purchases.to_numpy())
    np.testing.assert_allclose(out["revenue"].to_numpy(), revenue.to_numpy(), rtol=1e-9)
    assert out["churned"].dtype == bool
    np.testing.assert_array_equal(out["churned"].to_numpy(), (purchases == 0).to_numpy())
    assert out["purchases"].sum() == len(hold) == 20573
    assert 0.6 < out["churned"].mean() < 0.8  # CDNOW: most customers never return


def test_holdout_includes_customers_without_any_row(cdnow):
    out = holdout_outcomes(cdnow, start=HOLDOUT[0], end=HOLDOUT[1], customers=["00005", "nobody"])
    assert list(out.index) == ["00005", "nobody"]
    assert out.loc["nobody"].tolist() == [0, 0.0, True]
    assert out.attrs["rows"]["other_customers"] > 0


def test_holdout_rejects_duplicates_and_reversed_window(cdnow):
    with pytest.raises(ValueError, match="duplicates"):
        holdout_outcomes(cdnow, start=HOLDOUT[0], end=HOLDOUT[1], customers=["1", "1"])
    with pytest.raises(ValueError, match="after end"):
        holdout_outcomes(cdnow, start=HOLDOUT[1], end=HOLDOUT[0], customers=["1"])


# ------------------------------------------------------------------------------------------
# windows and edge cases
# ------------------------------------------------------------------------------------------
def _log(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    frame["date"] = pd.to_datetime(frame["date"], format="ISO8601")
    return frame


def test_window_is_inclusive_on_both_ends():
    log = _log(
        [
            ("a", "2024-01-31", 1.0),  # day before start: outside
            ("a", "2024-02-01", 2.0),  # start: inside
            ("b", "2024-02-29", 4.0),  # end: inside
            ("b", "2024-03-01 00:00", 8.0),  # day after end: outside
            ("c", "2024-03-01", 16.0),  # only after end: not active
            ("d", "2024-01-15", 32.0),  # only before start: not active
        ]
    )
    f = customer_features(log, start="2024-02-01", end="2024-02-29")
    assert list(f.index) == ["a", "b"]
    assert f["monetary"].tolist() == [2.0, 4.0]
    assert f["frequency"].tolist() == [1, 1]
    assert f["recency_days"].tolist() == [28, 0]
    assert f["tenure_days"].tolist() == [29, 0]  # a's history before start counts
    assert f.attrs["rows"] == {"read": 6, "in_window": 2, "before_start": 2, "after_end": 2}
    h = holdout_outcomes(log, start="2024-02-01", end="2024-02-29", customers=["a", "b", "c"])
    assert h["purchases"].tolist() == [1, 1, 0]
    assert h["revenue"].tolist() == [2.0, 4.0, 0.0]


def test_time_of_day_is_ignored():
    log = _log([("a", "2024-02-29 23:59:59", 5.0), ("a", "2024-02-29 08:00", 1.0)])
    f = customer_features(log, end="2024-02-29")
    assert f.loc["a", "frequency"] == 2
    assert f.loc["a", "purchase_days"] == 1


def test_one_purchase_customers():
    log = _log(
        [("solo", "2024-01-10", 30.0), ("two", "2024-01-01", 10.0), ("two", "2024-01-31", 20.0)]
    )
    f = customer_features(log, end="2024-01-31")
    solo = f.loc["solo"]
    assert solo["frequency"] == 1 and solo["purchase_days"] == 1 and solo["active_months"] == 1
    assert solo["avg_order_value"] == 30.0
    assert solo["recency_days"] == solo["tenure_days"] == 21
    assert np.isnan(solo["regularity_cv"])  # no gap at all
    assert np.isnan(f.loc["two", "regularity_cv"])  # one gap: no sd
    # window 2024-01-01..01-31 (31 days): second half from day 16 (2 * 15.5 >= 31 fails, 16 ok)
    assert solo["spend_trend"] == -1.0
    assert f.loc["two", "spend_trend"] == pytest.approx((20 - 10) / 30, rel=1e-12)
    # volume per month of exposure, at least one month: solo 1 order over 22 days -> 1.0
    assert solo["monthly_volume"] == 1.0
    assert f.attrs["undefined"] == {"regularity_cv": 2}
    assert "orders per month" in f.attrs["notes"][0]


def test_regularity_cv_exact():
    # distinct dates 1, 3, 7, 15 Jan (a repeat on the 3rd): gaps 2, 4, 8
    log = _log([("a", f"2024-01-{d:02d}", 1.0) for d in (1, 3, 3, 7, 15)])
    f = customer_features(log, end="2024-01-31", indicators=["regularity_cv", "purchase_days"])
    gaps = np.array([2.0, 4.0, 8.0])
    assert f.loc["a", "regularity_cv"] == pytest.approx(gaps.std(ddof=1) / gaps.mean(), rel=1e-12)
    assert f.loc["a", "purchase_days"] == 4
    assert list(f.columns) == ["regularity_cv", "purchase_days"]  # the order asked for


def test_spend_trend_zero_when_no_net_spend():
    log = _log([("a", "2024-01-01", 0.0), ("a", "2024-01-30", 0.0)])
    f = customer_features(log, end="2024-01-31", indicators=["spend_trend"])
    assert f.loc["a", "spend_trend"] == 0.0


def test_empty_window_gives_empty_frame():
    log = _log([("a", "2024-03-01", 1.0)])
    f = customer_features(log, end="2024-01-31")
    assert len(f) == 0
    assert "frequency" in f.columns
    assert f.attrs["rows"]["after_end"] == 1


# ------------------------------------------------------------------------------------------
# optional columns, hand-made expected values
# ------------------------------------------------------------------------------------------
def test_handmade_optional_indicators_exact():
    f = customer_features(handmade(), start="2024-01-01", end="2024-03-31")
    assert list(f.index) == ["A", "B"]  # C only after end, D only before start
    assert list(f.columns) == list(INDICATORS)  # every indicator computable here
    a, b = f.loc["A"], f.loc["B"]
    # A: in window 01-10 (+100), 02-10 (+200, -50 return), 03-20 (+150)
    assert a["frequency"] == 4 and a["purchase_days"] == 3 and a["active_months"] == 3
    assert a["monetary"] == 400.0 and a["avg_order_value"] == 100.0 and a["quantity"] == 8.0
    assert a["profit"] == 110.0
    assert a["margin_rate"] == pytest.approx(110 / 400, rel=1e-12)
    assert a["return_rate"] == pytest.approx(50 / 450, rel=1e-12)
    assert a["category_breadth"] == 3 and a["channel_count"] == 2
    # invoices: 01-10 paid 2 days early (on time), 02-10 paid 5 days late, 03-20 due 04-05 and
    # unpaid at 03-31 (status unknown, excluded); the return row has no invoice.
    assert a["late_payment_rate"] == 0.5
    assert a["days_overdue"] == 2.5
    assert a["recency_days"] == 11
    assert a["tenure_days"] == 107  # since 2023-12-15, before the window
    assert a["monthly_volume"] == pytest.approx(8 / (91 / DAYS_PER_MONTH), rel=1e-12)
    assert a["regularity_cv"] == pytest.approx(np.sqrt(32) / 35, rel=1e-12)  # gaps 31, 39
    # 91-day window; second half from 2024-02-16: R1 = 250, R2 = 150
    assert a["spend_trend"] == pytest.approx(-100 / 400, rel=1e-12)
    # B: 03-01 unpaid and due 03-10 -> late, 21 days so far; 03-05 paid 04-10 (after end, not
    # known at end) and due 03-15 -> late, 16 days so far.
    assert b["late_payment_rate"] == 1.0
    assert b["days_overdue"] == 18.5
    assert b["category_breadth"] == 1  # the missing category is not a category
    assert b["channel_count"] == 1
    assert b["return_rate"] == 0.0
    assert b["margin_rate"] == pytest.approx(28 / 120, rel=1e-12)
    assert b["spend_trend"] == 1.0
    assert np.isnan(b["regularity_cv"])
    assert b["monthly_volume"] == pytest.approx(2 / (31 / DAYS_PER_MONTH), rel=1e-12)
    assert f.attrs["skipped"] == {}


def test_handmade_matches_reference_for_other_windows():
    log = handmade()
    for start, end in [(None, "2024-03-31"), ("2023-12-01", "2024-02-20"), (None, "2024-04-30")]:
        result = customer_features(log, start=start, end=end)
        assert_matches(result, reference_features(log, start, end))


def test_payments_after_end_are_not_used():
    log = handmade()
    before = customer_features(log, end="2024-03-31", indicators=["late_payment_rate"])
    log.loc[log["customer_id"] == "B", "paid_date"] = pd.Timestamp("2030-01-01")
    after = customer_features(log, end="2024-03-31", indicators=["late_payment_rate"])
    pd.testing.assert_frame_equal(before, after)


def test_missing_optional_columns_are_skipped_and_reported():
    log = handmade().drop(columns=["profit", "channel", "due_date", "paid_date"])
    f = customer_features(log, end="2024-03-31")
    assert {"profit", "margin_rate", "channel_count", "late_payment_rate", "days_overdue"} == set(
        f.attrs["skipped"]
    )
    assert f.attrs["skipped"]["channel_count"] == "column(s) channel absent"
    assert "return_rate" in f.columns  # the log has a return
    assert "category_breadth" in f.columns


@pytest.mark.parametrize(
    ("name", "column"),
    [("profit", "profit"), ("channel_count", "channel"), ("days_overdue", "due_date")],
)
def test_requested_but_missing_column_raises(name, column):
    log = handmade().drop(columns=["profit", "channel", "due_date", "paid_date"])
    with pytest.raises(DataError, match=rf"{name}.*{column}"):
        customer_features(log, end="2024-03-31", indicators=["frequency", name])


def test_requested_return_rate_is_computed_even_without_returns():
    log = _log([("a", "2024-01-01", 5.0)])
    assert "return_rate" not in customer_features(log, end="2024-01-31").columns
    f = customer_features(log, end="2024-01-31", indicators=["return_rate"])
    assert f.loc["a", "return_rate"] == 0.0


# ------------------------------------------------------------------------------------------
# inputs and errors
# ------------------------------------------------------------------------------------------
def test_parquet_csv_and_transactionlog_inputs_agree(tmp_path):
    log = handmade()
    expected = customer_features(log, end="2024-03-31")
    tmp_path = tmp_path / "o'brien's exports"  # a quote in the path is a literal, not SQL
    tmp_path.mkdir()
    log.to_parquet(tmp_path / "log.parquet", index=False)
    log.to_csv(tmp_path / "log.csv", index=False)

    class Log:  # duck-typed TransactionLog
        frame = log
        source = "hand-made"

    for source in (tmp_path / "log.parquet", str(tmp_path / "log.csv"), Log()):
        got = customer_features(source, end="2024-03-31")
        pd.testing.assert_frame_equal(got, expected, check_index_type=False)
    assert customer_features(Log(), end="2024-03-31").attrs["source"] == "hand-made"


def test_numeric_ids_in_files_are_read_as_text(tmp_path):
    log = _log([("007", "2024-01-01", 1.0)])
    log.to_csv(tmp_path / "ids.csv", index=False)
    f = customer_features(tmp_path / "ids.csv", end="2024-01-31")
    assert list(f.index) == ["007"]


def test_bad_inputs_raise_clear_errors(tmp_path):
    log = _log([("a", "2024-01-01", 1.0)])
    with pytest.raises(DataError, match="missing required column.*amount"):
        customer_features(log.drop(columns="amount"), end="2024-01-31")
    with pytest.raises(DataError, match="'date'.*datetime64"):
        customer_features(log.assign(date="2024-01-01"), end="2024-01-31")
    with pytest.raises(DataError, match="1 row.*missing"):
        customer_features(log.assign(amount=np.nan), end="2024-01-31")
    with pytest.raises(ValueError, match="unknown indicator.*recency"):
        customer_features(log, end="2024-01-31", indicators=["recency"])
    with pytest.raises(ValueError, match="after end"):
        customer_features(log, start="2024-02-01", end="2024-01-31")
    with pytest.raises(ValueError, match="not a date"):
        customer_features(log, end="yesterday-ish")
    with pytest.raises(FileNotFoundError):
        customer_features(tmp_path / "nope.parquet", end="2024-01-31")
    with pytest.raises(DataError, match="unsupported file type"):
        customer_features(tmp_path / "log.xlsx", end="2024-01-31")
    with pytest.raises(TypeError):
        customer_features([1, 2, 3], end="2024-01-31")


def test_registry_is_complete():
    assert list(INDICATORS)[:3] == ["recency_days", "frequency", "purchase_days"]
    assert len(INDICATORS) == 18
    for name, ind in INDICATORS.items():
        assert ind.name == name
        assert ind.direction in (1, -1)
        assert ind.label_en and ind.label_zh and ind.unit and ind.description
        assert any("\u4e00" <= ch <= "\u9fff" for ch in ind.label_zh)
        assert "date" in ind.needs
    assert INDICATORS["recency_days"].direction == -1
    assert INDICATORS["late_payment_rate"].needs == ("date", "due_date", "paid_date")


# ------------------------------------------------------------------------------------------
# integration with the data module and the synthetic generator
# ------------------------------------------------------------------------------------------
def test_transactionlog_from_load_cdnow_gives_the_same_features(cdnow_features):
    from crmresearch.datasets import load_cdnow

    log = load_cdnow()
    got = customer_features(log, end=CALIBRATION_END)
    pd.testing.assert_frame_equal(got, cdnow_features, check_index_type=False)


def test_synthetic_log_matches_reference_for_every_indicator():
    datasets = pytest.importorskip("crmresearch.datasets")
    if not hasattr(datasets, "make_crm_data"):
        pytest.skip("crmresearch.datasets.make_crm_data not available yet")
    data = datasets.make_crm_data(n_customers=400, seed=3)
    log = data.transactions.frame
    end = (log["date"].min() + (log["date"].max() - log["date"].min()) * 0.6).normalize()
    result = customer_features(data.transactions, end=end)
    assert result.attrs["skipped"] == {}  # all optional columns present, returns included
    assert_matches(result, reference_features(log, None, end))
    start = log["date"].min() + pd.Timedelta(days=120)
    result = customer_features(data.transactions, start=start, end=end)
    assert_matches(result, reference_features(log, start, end))


def test_mid_month_start_counts_the_month_once_and_ignores_earlier_gaps():
    log = _log(
        [
            ("a", "2024-01-05", 1.0),  # before the window: tenure only
            ("a", "2024-01-20", 1.0),
            ("a", "2024-01-20", 1.0),
            ("a", "2024-02-03", 1.0),
            ("a", "2024-02-10", 1.0),
        ]
    )
    f = customer_features(log, start="2024-01-10", end="2024-02-29")
    assert f.loc["a", "active_months"] == 2
    assert f.loc["a", "purchase_days"] == 3
    assert f.loc["a", "frequency"] == 4
    gaps = np.array([14.0, 7.0])  # 01-20 -> 02-03 -> 02-10; the gap from 01-05 is outside
    assert f.loc["a", "regularity_cv"] == pytest.approx(gaps.std(ddof=1) / gaps.mean(), rel=1e-12)
    assert f.loc["a", "tenure_days"] == 55


def test_long_windows_and_many_categories_use_exact_fallbacks():
    # > 64 calendar months in the window and > 64 categories: the bitmask shortcuts do not
    # apply and the exact DISTINCT counts must give the same answers.
    dates = pd.date_range("2015-01-15", periods=70, freq="MS") + pd.Timedelta(days=14)
    log = pd.DataFrame(
        {
            "customer_id": ["a"] * 70 + ["b"] * 2,
            "date": list(dates) + [dates[0], dates[0]],
            "amount": 1.0,
            "category": [f"c{i}" for i in range(70)] + ["c1", "c1"],
        }
    )
    f = customer_features(log, end=dates[-1], indicators=["active_months", "category_breadth"])
    assert f.loc["a"].tolist() == [70, 70]
    assert f.loc["b"].tolist() == [1, 1]
    assert_matches(f, reference_features(log, None, dates[-1])[f.columns])


def test_duckdb_draws_no_progress_bar_on_stdout():
    """DuckDB's own bar (after 2 s) would land in a notebook's or pipe's stdout; ours is on stderr."""
    from crmresearch.features.engines.duckdb import DuckDBSource

    log = pd.DataFrame(
        {"customer_id": ["a"], "date": pd.to_datetime(["2024-01-01"]), "amount": [1.0]}
    )
    with DuckDBSource(log) as src:
        settings = src.con.execute(
            "SELECT current_setting('enable_progress_bar_print'), "
            "current_setting('enable_progress_bar')"
        ).fetchone()
    assert settings == (False, True)  # no drawing; progress still measured for stderr
