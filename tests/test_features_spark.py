"""Parity: DuckDB fast path = portable two-stage query (DuckDB) = Spark, and in-engine statistics.

Integers and cent-based money must be bit-identical; sums of values with more than two decimals
(doubles, summed in another order) within 1e-12 relative; the in-engine correlation equals
pandas' to 1e-10. One local[1] SparkSession serves the whole test session; without PySpark or
Java the Spark tests are skipped, unless CRMRESEARCH_REQUIRE_SPARK=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from crmresearch.features import INDICATORS, apply_config, customer_features, holdout_outcomes
from crmresearch.features.compute import _customer_features
from crmresearch.features.instats import FeatureTable, composite_sign

DOUBLE_TOL = 1e-12


# ------------------------------------------------------------------------------------------
# one SparkSession for the whole run
# ------------------------------------------------------------------------------------------
def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return 'pyspark is not installed (pip install "crmresearch[spark]")'
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (java on PATH or JAVA_HOME)"
    return None


@pytest.fixture(scope="session")
def spark():
    reason = _spark_missing()
    if reason:
        if os.environ.get("CRMRESEARCH_REQUIRE_SPARK") == "1":
            pytest.fail(f"CRMRESEARCH_REQUIRE_SPARK=1 but {reason}")
        pytest.skip(reason)
    from pyspark.sql import SparkSession

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PySpark 4.3 on pandas >= 3
        session = (
            SparkSession.builder.master("local[1]")
            .appName("crmresearch-tests")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "1")
            .config("spark.driver.memory", "1g")
            .config("spark.driver.extraJavaOptions", "-XX:+UseSerialGC")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cdnow(cdnow_path) -> pd.DataFrame:
    raw = pd.read_csv(cdnow_path, sep=r"\s+", dtype={"customer_id": str})
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"],
            "date": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d"),
            "amount": raw["dollar_value"].astype("float64"),
            "quantity": raw["number_of_cds"].astype("float64"),
        }
    )


@pytest.fixture(scope="module")
def synthetic():
    from crmresearch.datasets import make_crm_data

    return make_crm_data(n_customers=2000, seed=3).transactions


@pytest.fixture(scope="module")
def sample_100k() -> pd.DataFrame:
    """100,000 customers, ~4 rows each, every optional column; profit has > 2 decimals."""
    rng = np.random.default_rng(20261201)
    n_cust, n = 100_000, 400_000
    cust = rng.integers(0, n_cust, n)
    home = cust * 2654435761 % 700
    offset = np.clip(home + rng.normal(0, 90, n).astype(np.int64), 0, 729)
    date = np.datetime64("2023-01-01") + offset.astype("timedelta64[D]")
    amount = np.round(rng.lognormal(3.5, 0.8, n), 2)
    amount[rng.random(n) < 0.05] *= -1.0
    due = date + np.timedelta64(30, "D")
    paid = (due + rng.integers(-15, 25, n).astype("timedelta64[D]")).astype("datetime64[ns]")
    paid[rng.random(n) < 0.03] = np.datetime64("NaT")
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series(cust).astype(str).radd("c"),
            "date": date.astype("datetime64[ns]"),
            "amount": amount,
            "quantity": np.maximum(1, rng.poisson(2.0, n)).astype("float64"),
            "profit": amount * rng.uniform(0.05, 0.4, n),  # not cents: the double path
            "category": pd.Series(rng.integers(0, 8, n)).map(lambda i: f"cat{i}"),
            "channel": rng.choice(["web", "app", "store", "phone"], n),
            "due_date": due.astype("datetime64[ns]"),
            "paid_date": paid,
        }
    )
    frame.loc[frame["amount"] < 0, ["due_date", "paid_date"]] = pd.NaT
    return frame


# ------------------------------------------------------------------------------------------
# comparison
# ------------------------------------------------------------------------------------------
def assert_parity(a: pd.DataFrame, b: pd.DataFrame, doubles: tuple[str, ...] = ()) -> None:
    """Same rows, columns, dtypes; bit-identical except ``doubles`` (1e-12 relative)."""
    assert list(a.columns) == list(b.columns)
    assert a.index.equals(b.index)
    assert (a.dtypes == b.dtypes).all()
    for col in a.columns:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        if col in doubles:
            np.testing.assert_allclose(y, x, rtol=DOUBLE_TOL, atol=0, err_msg=col)
        elif x.dtype.kind == "f":
            same = (x.view("i8") == y.view("i8")) | (np.isnan(x) & np.isnan(y))
            assert same.all(), f"{col}: {(~same).sum()} values differ"
        else:
            np.testing.assert_array_equal(x, y, err_msg=col)
    assert a.attrs == b.attrs


# indicators that involve a sum of non-cent values (the sample's profit)
PROFIT_DOUBLES = ("profit", "margin_rate")

CASES = {
    "cdnow": ("cdnow", {"end": "1997-09-30"}),
    "cdnow_start": ("cdnow", {"start": "1997-03-15", "end": "1997-09-30"}),
    "cdnow_long": ("cdnow", {"end": "1998-06-30"}),
}


# ------------------------------------------------------------------------------------------
# DuckDB fast path = portable query (no Spark needed)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(CASES))
def test_duckdb_fast_path_equals_portable_query_on_cdnow(cdnow, case):
    _, kw = CASES[case]
    assert_parity(customer_features(cdnow, **kw), _customer_features(cdnow, portable=True, **kw))


def test_duckdb_fast_path_equals_portable_query_on_synthetic(synthetic):
    end = synthetic.frame["date"].max()
    for start in (None, synthetic.frame["date"].min() + pd.Timedelta(days=200)):
        fast = customer_features(synthetic, start=start, end=end)
        assert_parity(fast, _customer_features(synthetic, start=start, end=end, portable=True))
        assert len(fast.columns) == len(INDICATORS)  # every indicator exercised


def test_duckdb_fast_path_equals_portable_query_on_100k_sample(sample_100k):
    kw = {"start": "2023-03-01", "end": "2024-10-31"}
    fast = customer_features(sample_100k, **kw)
    assert len(fast) > 90_000 and "category_breadth" in fast and "return_rate" in fast
    assert_parity(fast, _customer_features(sample_100k, portable=True, **kw), PROFIT_DOUBLES)


def test_cent_money_is_exact_and_other_sums_are_doubles(sample_100k):
    """monetary = exact cent sum (correctly rounded); profit has > 2 decimals, so a double sum."""
    kw = {"end": "2024-12-31"}
    X = customer_features(sample_100k, **kw)
    cents = (sample_100k["amount"] * 100).round().astype("int64")
    exact = cents.groupby(sample_100k["customer_id"]).sum().sort_index() / 100
    np.testing.assert_array_equal(X["monetary"].to_numpy(), exact.loc[X.index].to_numpy())
    profit = sample_100k.groupby("customer_id")["profit"].sum().loc[X.index]
    np.testing.assert_allclose(X["profit"], profit, rtol=1e-12)


# ------------------------------------------------------------------------------------------
# Spark
# ------------------------------------------------------------------------------------------
@pytest.mark.spark
@pytest.mark.parametrize("case", list(CASES))
def test_spark_equals_duckdb_on_cdnow(spark, cdnow, case):
    _, kw = CASES[case]
    expected = customer_features(cdnow, **kw)
    assert_parity(expected, customer_features(cdnow, engine="spark", spark=spark, **kw))


@pytest.mark.spark
def test_spark_equals_duckdb_on_synthetic(spark, synthetic):
    end = synthetic.frame["date"].max()
    start = synthetic.frame["date"].min() + pd.Timedelta(days=200)
    expected = customer_features(synthetic, start=start, end=end)
    got = customer_features(synthetic, start=start, end=end, engine="spark", spark=spark)
    assert_parity(expected, got)


@pytest.mark.spark
def test_spark_equals_duckdb_on_100k_sample_from_parquet_and_table(spark, sample_100k, tmp_path):
    kw = {"start": "2023-03-01", "end": "2024-10-31"}
    expected = customer_features(sample_100k, **kw)
    # Parquet with calendar dates (Spark does not read nanosecond timestamps)
    frame = sample_100k.copy()
    for col in ("date", "due_date", "paid_date"):
        frame[col] = frame[col].dt.date
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    from_path = customer_features(str(path), engine="spark", spark=spark, **kw)
    assert from_path.attrs["source"] == str(path)
    assert_parity(expected, _relabel(from_path, expected), PROFIT_DOUBLES)
    spark.read.parquet(str(path)).createOrReplaceTempView("crm_test_transactions")
    from_table = customer_features("crm_test_transactions", engine="spark", spark=spark, **kw)
    assert from_table.attrs["source"] == "crm_test_transactions"
    assert_parity(from_path, _relabel(from_table, from_path), PROFIT_DOUBLES)
    # and the DataFrame itself
    df = spark.table("crm_test_transactions")
    from_frame = customer_features(df, engine="spark", **kw)
    assert_parity(from_path, _relabel(from_frame, from_path), PROFIT_DOUBLES)


def _relabel(frame: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    """The same frame with ``like``'s source label (inputs differ only in where they came from)."""
    frame.attrs["source"] = like.attrs["source"]
    return frame


@pytest.mark.spark
def test_spark_holdout_outcomes_equal_duckdb(spark, cdnow):
    customers = customer_features(cdnow, end="1997-09-30").index
    window = {"start": "1997-10-01", "end": "1998-06-30", "customers": customers}
    expected = holdout_outcomes(cdnow, **window)
    got = holdout_outcomes(cdnow, engine="spark", spark=spark, **window)
    pd.testing.assert_frame_equal(expected, got, check_exact=True)
    assert expected.attrs == got.attrs


# ------------------------------------------------------------------------------------------
# in-engine statistics
# ------------------------------------------------------------------------------------------
def _in_engine_matches_pandas(log, end, engine, spark, tmp_path):
    from crmresearch import tiers
    from crmresearch.index import ClassificationIndex

    X = customer_features(log, end=end)
    Z = apply_config(X, "ecommerce")
    signs = np.array([INDICATORS[c].direction for c in Z.columns])
    complete = (Z * signs).dropna()
    out = tmp_path / f"scores_{engine}.parquet"
    with FeatureTable(log, end=end, engine=engine, spark=spark) as table:
        assert_parity(X, table.to_pandas())
        corr = table.correlation("ecommerce")
        np.testing.assert_allclose(corr.matrix, complete.corr(), rtol=0, atol=1e-10)
        np.testing.assert_allclose(corr.mean, complete.mean(), rtol=1e-12)
        np.testing.assert_allclose(corr.sd, complete.std(ddof=1), rtol=1e-12)
        assert corr.n_obs == len(complete) and corr.n_excluded == len(Z) - len(complete)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from_matrix = ClassificationIndex().fit_correlation(corr.matrix, corr.n_obs)
            from_rows = ClassificationIndex(missing="listwise").fit(Z)
        coef, weights = from_matrix.score_coefficients_, from_matrix.composite_weights_
        sign = composite_sign(corr, coef, weights)
        assert sign == from_rows.composite_sign_
        written = table.write_scores(corr, coef, weights, composite_sign=sign, out=out)
    scores = pd.read_parquet(out).set_index("customer_id").loc[complete.index]
    expected = from_rows.composite(Z.loc[complete.index])
    np.testing.assert_allclose(scores["composite"], expected, rtol=0, atol=1e-9)
    abc = tiers.abc(expected)
    near = np.zeros(len(expected), dtype=bool)  # customers within 1e-9 of a threshold
    for t in written["thresholds"]:
        near |= np.abs(expected.to_numpy() - t) < 1e-9
    same = scores["tier_label"].astype(str).to_numpy() == abc.astype(str).to_numpy()
    assert (same | near).all() and near.sum() <= 2
    assert scores["tier_label"].value_counts().to_dict() == abc.value_counts().to_dict()


def test_in_engine_correlation_scores_and_tiers_duckdb(synthetic, tmp_path):
    _in_engine_matches_pandas(synthetic, synthetic.frame["date"].max(), "duckdb", None, tmp_path)


@pytest.mark.spark
def test_in_engine_correlation_scores_and_tiers_spark(spark, synthetic, tmp_path):
    _in_engine_matches_pandas(synthetic, synthetic.frame["date"].max(), "spark", spark, tmp_path)


# ------------------------------------------------------------------------------------------
# without PySpark; progress
# ------------------------------------------------------------------------------------------
def test_spark_engine_without_pyspark_says_how_to_install(monkeypatch, cdnow):
    for name in [m for m in sys.modules if m == "pyspark" or m.startswith("pyspark.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyspark", None)  # makes `import pyspark...` fail
    with pytest.raises(ImportError, match=r'pip install "crmresearch\[spark\]"'):
        customer_features(cdnow, end="1997-09-30", engine="spark")
    with pytest.raises(ImportError, match="Java 17"):
        holdout_outcomes(
            cdnow, start="1997-10-01", end="1998-06-30", customers=["1"], engine="spark"
        )


def test_unknown_engine_and_stray_spark_argument_raise(cdnow):
    with pytest.raises(ValueError, match="engine must be one of duckdb, spark"):
        customer_features(cdnow, end="1997-09-30", engine="polars")
    with pytest.raises(ValueError, match='only used with engine="spark"'):
        customer_features(cdnow, end="1997-09-30", spark=object())


def test_progress_goes_to_stderr_only(monkeypatch, capfd, sample_100k):
    monkeypatch.setenv("CRMRESEARCH_PROGRESS", "1")
    monkeypatch.setenv("CRMRESEARCH_PROGRESS_INTERVAL", "0.05")
    X = customer_features(pd.concat([sample_100k] * 3, ignore_index=True), end="2024-12-31")
    captured = capfd.readouterr()
    assert captured.out == ""
    assert "crmresearch: customer features (1,200,000 rows)" in captured.err
    assert "done in" in captured.err
    monkeypatch.setenv("CRMRESEARCH_PROGRESS", "0")
    customer_features(sample_100k, end="2024-12-31")
    assert capfd.readouterr().err == "" and len(X) > 0


def test_passes_over_customer_id_ranges_give_the_same_frame(monkeypatch, sample_100k):
    """Large logs run in passes over ranges of customer ids: same values, same order."""
    kw = {"start": "2023-03-01", "end": "2024-10-31"}
    one = customer_features(sample_100k, **kw)
    monkeypatch.setenv("CRMRESEARCH_DUCKDB_PASSES", "3")
    assert_parity(one, customer_features(sample_100k, **kw), PROFIT_DOUBLES)


def test_customer_ranges_cover_every_id_once_with_quotes_and_chinese_ids(monkeypatch):
    """Range bounds are data values in SQL literals: quotes escaped, byte order kept."""
    from crmresearch.features.engines.duckdb import DuckDBSource
    from crmresearch.features.engines.passes import customer_ranges

    ids = ["O'Brien", "张三", "李四", "a", "B", "b'", "''", "Zoë", "10", "9"] * 3
    log = pd.DataFrame(
        {
            "customer_id": ids,
            "date": pd.date_range("2024-01-01", periods=len(ids), freq="D"),
            "amount": [float(k) for k in range(len(ids))],
        }
    )
    with DuckDBSource(log) as src:
        ranges = customer_ranges(src, 4)
    assert len(ranges) >= 2 and ranges[0][0] is None and ranges[-1][1] is None
    distinct = sorted(set(ids), key=lambda x: x.encode())  # DuckDB orders VARCHAR by bytes
    owners = [[r for r in ranges if (r[0] is None or i.encode() >= r[0].encode())
               and (r[1] is None or i.encode() < r[1].encode())] for i in distinct]  # fmt: skip
    assert all(len(o) == 1 for o in owners)
    one = customer_features(log, end="2024-12-31")
    monkeypatch.setenv("CRMRESEARCH_DUCKDB_PASSES", "4")
    many = customer_features(log, end="2024-12-31")
    assert list(many.index) == distinct == list(one.index)
    pd.testing.assert_frame_equal(one, many)


def test_a_range_of_ids_without_rows_in_the_window_is_skipped(monkeypatch):
    from crmresearch.features.engines.duckdb import DuckDBSource
    from crmresearch.features.engines.passes import customer_ranges

    # ids f..j buy only after `end`: the upper of three ranges ([g, ...)) has no row to aggregate
    ids = list("abcdefghij")
    log = pd.DataFrame(
        {
            "customer_id": ids,
            "date": pd.to_datetime(["2024-01-05" if i < "f" else "2025-03-01" for i in ids]),
            "amount": [10.0] * len(ids),
        }
    )
    one = customer_features(log, end="2024-12-31")
    with DuckDBSource(log) as src:
        assert customer_ranges(src, 3)[-1] == ("g", None)
    monkeypatch.setenv("CRMRESEARCH_DUCKDB_PASSES", "3")
    two = customer_features(log, end="2024-12-31")
    assert list(two.index) == list("abcde")
    pd.testing.assert_frame_equal(one, two)
    assert two.attrs["rows"] == one.attrs["rows"] == {
        "read": 10, "in_window": 5, "before_start": 0, "after_end": 5
    }  # fmt: skip


def test_feature_table_equals_customer_features_with_start_and_writes_a_table(cdnow):
    kw = {"start": "1997-03-15", "end": "1997-09-30"}
    expected = customer_features(cdnow, **kw)
    with FeatureTable(cdnow, **kw) as table:
        assert_parity(expected, table.to_pandas())
        corr = table.correlation(None, columns=["recency_days", "frequency", "monetary"])
        assert corr.directions == {"recency_days": -1, "frequency": 1, "monetary": 1}
        coef = pd.DataFrame({"F1": [1.0, 0.0, 0.0]}, index=corr.matrix.index)
        result = table.write_scores(
            corr, coef, tier_shares=(0.5, 0.5), out="crm_scores", table=True
        )
        scores = table.src.to_pandas("SELECT * FROM crm_scores").set_index("customer_id")
        with pytest.raises(ValueError, match="table name"):
            table.write_scores(corr, coef, out="x; DROP TABLE y", table=True)
    # score_1 = standardized, sign-flipped recency; tier 1 = the top half of it
    z = -(expected["recency_days"] - expected["recency_days"].mean()) / expected[
        "recency_days"
    ].std(ddof=1)
    np.testing.assert_allclose(scores["score_1"].loc[z.index], z, rtol=0, atol=1e-12)
    from crmresearch import tiers

    abc = tiers.abc(z, shares=(0.5, 0.5))
    assert (
        scores["tier_label"].loc[z.index].astype(str).to_numpy() == abc.astype(str).to_numpy()
    ).all()
    assert result["n"] == len(expected)


@pytest.mark.spark
def test_spark_order_statistics_from_a_quantile_bracket_equal_the_exact_ones(spark, synthetic):
    """For many customers the thresholds come from an approximate bracket refined exactly."""
    end = synthetic.frame["date"].max()
    with FeatureTable(synthetic, end=end, engine="spark", spark=spark) as table:
        view = table._register_sql(
            f"SELECT customer_id, CAST(monetary AS DOUBLE) AS composite FROM {table.view}", "m"
        )
        n = table.n_customers
        exact = [table._kth_largest(view, k, n) for k in (0, 1, 99, n // 2, n - 1)]
        table.EXACT_TOPK_MAX, table.BRACKET_EPS = 0, 0.01  # force the bracket on 2,000 rows
        bracket = [table._kth_largest(view, k, n) for k in (0, 1, 99, n // 2, n - 1)]
    values = np.sort(customer_features(synthetic, end=end)["monetary"].to_numpy())[::-1]
    assert exact == bracket == [values[k] for k in (0, 1, 99, n // 2, n - 1)]
