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
