"""``crmresearch effects``: prints the per-tier table, writes it, one-line errors with exit 2."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmresearch.cli import main
from crmresearch.strategy import effect_by_tier


@pytest.fixture(scope="module")
def experiment_csv(tmp_path_factory):
    rng = np.random.default_rng(7)
    n = 900
    frame = pd.DataFrame(
        {
            "grp": rng.choice(["A0", "promo", "visit"], n),
            "segment": rng.choice(["gold", "silver", "bronze"], n),
            "rep": rng.integers(0, 40, n),
            "visits_before": rng.poisson(3, n),
        }
    )
    lift = frame["grp"].map({"A0": 0.0, "promo": 4.0, "visit": 9.0})
    frame["spend"] = 30 + 2 * frame["visits_before"] + lift + rng.normal(0, 8, n)
    path = tmp_path_factory.mktemp("effects") / "experiment.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_cli_prints_and_writes_table(experiment_csv, tmp_path, capsys):
    path, frame = experiment_csv
    out = tmp_path / "effects.csv"
    code = main(
        [
            "effects",
            str(path),
            "--treatment",
            "grp",
            "--outcome",
            "spend",
            "--tier",
            "segment",
            "--control",
            "A0",
            "--covariates",
            "visits_before",
            "--out",
            str(out),
        ]  # fmt: skip
    )
    assert code == 0
    printed = capsys.readouterr().out
    for word in ["gold", "silver", "bronze", "overall", "promo", "visit", "Heterogeneity"]:
        assert word in printed
    written = pd.read_csv(out)
    expected = effect_by_tier(
        frame, treatment="grp", outcome="spend", tier="segment", control="A0",
        covariates=["visits_before"],
    ).table  # fmt: skip
    assert len(written) == 8
    np.testing.assert_allclose(written["effect"], expected["effect"], rtol=1e-10)
    np.testing.assert_allclose(written["se"], expected["se"], rtol=1e-10)


def test_cli_cluster_and_parquet(experiment_csv, tmp_path, capsys):
    path, frame = experiment_csv
    pq = tmp_path / "experiment.parquet"
    frame.to_parquet(pq)
    code = main(
        [
            "effects",
            str(pq),
            "--treatment",
            "grp",
            "--outcome",
            "spend",
            "--cluster",
            "rep",
            "--control",
            "A0",
        ]  # fmt: skip
    )
    assert code == 0
    assert "SE cluster" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tier", "nope"], "tier column 'nope'"),
        ([], "control="),  # arms A0/promo/visit: no auto-detectable control
        (["--control", "A0", "--outcome", "segment"], "not numeric"),
    ],
)
def test_cli_errors_are_one_line_exit_2(experiment_csv, capsys, extra, message):
    path, _ = experiment_csv
    argv = ["effects", str(path), "--treatment", "grp", "--outcome", "spend", *extra]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("crmresearch effects: error:")


def test_cli_missing_file_and_bad_suffix(tmp_path, capsys):
    assert main(["effects", str(tmp_path / "none.csv"), "--treatment", "a", "--outcome", "b"]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "x.xlsx"
    bad.write_text("x")
    assert main(["effects", str(bad), "--treatment", "a", "--outcome", "b"]) == 2
    assert "unsupported file type" in capsys.readouterr().err


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["effects", "--help"])
    assert exc.value.code == 0
    assert "--covariates" in capsys.readouterr().out
