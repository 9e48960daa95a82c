"""CLI arguments: dates, window order and the index file are checked before any data is read."""

from __future__ import annotations

import pytest

from crmresearch.cli import main


def run_error(argv, capsys) -> str:
    """Run a command that must fail with exit 2; return its single stderr line."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors exit from parse_args
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    return err


# A log path that does not exist: if the command got as far as reading data, the error would be
# about this file instead of the option.
NO_LOG = "no-such-log.csv"


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["loss", NO_LOG, "--calibration-end", "garbage", "--holdout-end", "1998-06-30"],
            "crmresearch loss: error: --calibration-end: 'garbage' is not a date (use YYYY-MM-DD)",
        ),
        (
            ["loss", NO_LOG, "--calibration-end", "1997-09-30", "--holdout-end", "30/06/1998x"],
            "crmresearch loss: error: --holdout-end: '30/06/1998x' is not a date (use YYYY-MM-DD)",
        ),
        (
            ["features", NO_LOG, "--end", "garbage"],
            "crmresearch features: error: --end: 'garbage' is not a date (use YYYY-MM-DD)",
        ),
        (
            ["features", NO_LOG, "--end", "1997-09-30", "--start", "NaT"],
            "crmresearch features: error: --start: 'NaT' is not a date (use YYYY-MM-DD)",
        ),
        (
            ["features", NO_LOG, "--end", "1997-09-30 13:00"],
            "crmresearch features: error: --end: '1997-09-30 13:00' is not a date (use YYYY-MM-DD)",
        ),
    ],
)
def test_bad_dates_are_refused_at_parsing_naming_the_option(argv, expected, tmp_path, capsys):
    err = run_error([*argv, "--out", str(tmp_path / "out.json")], capsys)
    assert err == expected
    assert "Unknown datetime" not in err and "usage:" not in err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["loss", NO_LOG, "--calibration-end", "1998-09-30", "--holdout-end", "1998-06-30"],
            "--holdout-end 1998-06-30 must be after --calibration-end 1998-09-30",
        ),
        (
            ["loss", NO_LOG, "--calibration-start", "1997-10-01", "--calibration-end",
             "1997-09-30", "--holdout-end", "1998-06-30"],
            "--calibration-end 1997-09-30 must be on or after --calibration-start 1997-10-01",
        ),
        (
            ["loss", NO_LOG, "--calibration-end", "1997-09-30", "--holdout-start", "1997-09-30",
             "--holdout-end", "1998-06-30"],
            "--holdout-start 1997-09-30 must be after --calibration-end 1997-09-30",
        ),
        (
            ["loss", NO_LOG, "--calibration-end", "1997-09-30", "--holdout-start", "1998-01-01",
             "--holdout-end", "1997-12-31"],
            "--holdout-end 1997-12-31 must be on or after --holdout-start 1998-01-01",
        ),
    ],
)  # fmt: skip
def test_loss_window_order_is_checked_before_reading_the_log(argv, expected, tmp_path, capsys):
    err = run_error([*argv, "--out", str(tmp_path / "loss.json")], capsys)
    assert err == f"crmresearch loss: error: {expected}"


def test_features_window_order_is_checked_before_reading_the_log(tmp_path, capsys):
    argv = ["features", NO_LOG, "--start", "1998-01-01", "--end", "1997-01-01"]
    err = run_error([*argv, "--out", str(tmp_path / "f.parquet")], capsys)
    assert (
        err
        == "crmresearch features: error: --end 1997-01-01 must be on or after --start 1998-01-01"
    )


@pytest.mark.parametrize("command", ["score", "tiers"])
def test_missing_index_file_says_how_to_make_one(command, tmp_path, capsys):
    missing = tmp_path / "nosuch.json"
    argv = [command, str(tmp_path / "f.parquet"), "--index", str(missing),
            "--out", str(tmp_path / "s.parquet")]  # fmt: skip
    if command == "tiers":
        argv += ["--scheme", "abc"]
    err = run_error(argv, capsys)
    assert err == (
        f"crmresearch {command}: error: index file {missing} not found: "
        "fit one with `crmresearch index ...`"
    )


def test_good_dates_parse_to_midnight_timestamps():
    import pandas as pd

    from crmresearch.cli._args import date_type

    assert date_type("--end")("1997-09-30") == pd.Timestamp("1997-09-30")
    assert date_type("--end")("19970930") == pd.Timestamp("1997-09-30")


def _small_features(tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"monetary": rng.gamma(2.0, 50.0, 40), "other": rng.normal(size=40)},
        index=pd.Index([f"c{i}" for i in range(40)], name="customer_id"),
    )
    path = tmp_path / "f.parquet"
    frame.to_parquet(path)
    return path


def test_tiers_share_error_prints_plain_numbers(tmp_path, capsys):
    path = _small_features(tmp_path)
    argv = ["tiers", str(path), "--scheme", "abc", "--shares", "0.5,0.6",
            "--out", str(tmp_path / "t.parquet")]  # fmt: skip
    err = run_error(argv, capsys)
    assert "got 0.5, 0.6 (sum 1.1)" in err
    assert "np.float64" not in err


def test_index_without_config_indicators_lists_what_it_wanted_and_found(tmp_path, capsys):
    path = tmp_path / "semi.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    err = run_error(["index", str(path), "--out", str(tmp_path / "i.json")], capsys)
    assert "none of the ecommerce indicators (monetary, avg_order_value," in err
    assert f"are columns of {path}; columns found: a, b." in err
    assert "[]" not in err


@pytest.mark.parametrize("command", ["features", "index", "score", "tiers", "loss"])
def test_help_shows_only_informative_defaults(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: None)" not in text and "(default: False)" not in text
    if command == "index":
        missing = text[text.index("--missing {listwise,pairwise} ") :].split(" --varimax")[0]
        assert missing.count("default") == 1, missing
        method = text[text.index("--score-method {regression,bartlett} ") :].split(" --weights")[0]
        assert "Bartlett" in method and "(default: regression)" in method
    if command == "loss":
        assert "(default: 0.05,0.15,0.80)" in text  # defaults that inform are still shown
