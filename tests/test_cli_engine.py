"""Issue 14 on the command line: `--engine duckdb|spark`, `--spark-master`, `--table`."""

from __future__ import annotations

import sys

import pytest

from crmresearch.cli import main


def error_of(argv, capsys) -> str:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


@pytest.mark.parametrize("command", ["features", "loss"])
def test_spark_without_pyspark_says_how_to_install_it(command, monkeypatch, tmp_path, capsys):
    for name in ("pyspark", "pyspark.sql"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    argv = (
        ["features", "cdnow", "--end", "1997-09-30", "--out", tmp_path / "f.parquet"]
        if command == "features"
        else ["loss", "cdnow", "--out", tmp_path / "l.json"]
    )
    err = error_of([*argv, "--engine", "spark"], capsys)
    assert err == (
        f"crmresearch {command}: error: --engine spark needs PySpark: "
        "pip install 'crmresearch[spark]' (PySpark; needs Java 17+)"
    )


@pytest.mark.parametrize("extra", [["--spark-master", "local[1]"], ["--table", "db.tx"]])
def test_spark_options_need_the_spark_engine(extra, tmp_path, capsys):
    argv = ["features", "--end", "1997-09-30", "--out", tmp_path / "f.parquet", *extra]
    if extra[0] == "--spark-master":
        argv.insert(1, "cdnow")
    err = error_of(argv, capsys)
    assert "need --engine spark" in err


def test_path_or_table_not_both(tmp_path, capsys):
    err = error_of(["features", "cdnow", "--table", "db.tx", "--engine", "spark", "--end",
                    "1997-09-30", "--out", tmp_path / "f.parquet"], capsys)  # fmt: skip
    assert "give a transaction file PATH or --table" in err
    err = error_of(["features", "--end", "1997-09-30", "--out", tmp_path / "f.parquet"], capsys)
    assert "give a transaction file PATH or --table" in err


def test_engine_choice_is_checked(tmp_path, capsys):
    err = error_of(["features", "cdnow", "--engine", "polars", "--end", "1997-09-30",
                    "--out", tmp_path / "f.parquet"], capsys)  # fmt: skip
    assert "--engine" in err and "'polars'" in err


def _spark_missing() -> str | None:
    import os
    import shutil

    try:
        import pyspark  # noqa: F401
    except ImportError:
        return 'pyspark is not installed (pip install "crmresearch[spark]")'
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (java on PATH or JAVA_HOME)"
    return None


@pytest.mark.slow
def test_features_on_spark_equal_duckdb(tmp_path, capsys):
    """The same command on both engines writes the same table (integers exact, doubles within
    1e-12 relative: the engines sum in another order)."""
    import os

    import numpy as np
    import pandas as pd

    reason = _spark_missing()
    if reason:
        if os.environ.get("CRMRESEARCH_REQUIRE_SPARK") == "1":
            pytest.fail(f"CRMRESEARCH_REQUIRE_SPARK=1 but {reason}")
        pytest.skip(reason)
    duck, spark = tmp_path / "duck.parquet", tmp_path / "spark.parquet"
    argv = ["features", "synthetic", "--n-customers", "1500", "--end", "2023-12-31"]
    assert main([*argv, "--out", str(duck)]) == 0
    assert main([*argv, "--out", str(spark), "--engine", "spark", "--spark-master", "local[1]"]) == 0
    assert "aggregating in Spark" in capsys.readouterr().err
    a, b = pd.read_parquet(duck).sort_index(), pd.read_parquet(spark).sort_index()
    assert list(a.columns) == list(b.columns) and list(a.index) == list(b.index)
    for column in a.columns:
        x, y = a[column].to_numpy(), b[column].to_numpy()
        if np.issubdtype(x.dtype, np.integer):
            np.testing.assert_array_equal(x, y, err_msg=column)
        else:
            np.testing.assert_allclose(x, y, rtol=1e-12, atol=0, equal_nan=True, err_msg=column)
