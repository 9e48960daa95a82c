"""`crmresearch index` and `crmresearch score` end to end on a small planted features table."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from crmresearch.cli import main
from crmresearch.index import ClassificationIndex


@pytest.fixture()
def features_file(tmp_path):
    """Features with ecommerce indicator names, two planted dimensions, some undefined CVs."""
    rng = np.random.default_rng(7)
    n = 800
    value, loyalty = rng.standard_normal((2, n))
    frame = pd.DataFrame(
        {
            "customer_id": [f"{i:05d}" for i in range(n)],
            "monetary": np.exp(1 + 0.8 * value + 0.3 * rng.standard_normal(n)),
            "avg_order_value": np.exp(0.7 * value + 0.4 * rng.standard_normal(n)),
            "monthly_volume": np.exp(0.6 * value + 0.5 * rng.standard_normal(n)),
            "purchase_days": np.round(np.exp(1 + 0.5 * loyalty + 0.2 * rng.standard_normal(n))),
            "active_months": 3 + 2 * loyalty + 0.6 * rng.standard_normal(n),
            "recency_days": 100 - 30 * loyalty + 15 * rng.standard_normal(n),
            "regularity_cv": 1 - 0.3 * loyalty + 0.2 * rng.standard_normal(n),
        }
    )
    frame.loc[::10, "regularity_cv"] = np.nan  # filled with 1.0 by the ecommerce config
    path = tmp_path / "features.parquet"
    frame.to_parquet(path, index=False)
    return path, frame.set_index("customer_id")


def test_index_command_fits_prints_and_saves(features_file, tmp_path, capsys):
    path, frame = features_file
    out, scores = tmp_path / "index.json", tmp_path / "scores.csv"
    rc = main(["index", str(path), "--config", "ecommerce", "--n-factors", "2",
               "--out", str(out), "--scores", str(scores)])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    for needle in ("KMO =", "Bartlett", "Total variance explained", "Loadings", "Composite index",
                   "Warnings:", "filled: regularity_cv undefined for 80 customers"):  # fmt: skip
        assert needle in text
    saved = json.loads(out.read_text())
    assert saved["meta"]["config"] == "ecommerce" and saved["n_factors"] == 2
    # the CLI result equals the library on the same prepared matrix
    X = frame[ClassificationIndex.load(out).columns_].fillna({"regularity_cv": 1.0})
    logs = ["monetary", "avg_order_value", "purchase_days", "monthly_volume"]
    lib = ClassificationIndex(2, log_transform=logs).fit(X)
    table = pd.read_csv(scores, index_col="customer_id", dtype={"customer_id": str})
    np.testing.assert_allclose(table["composite"], lib.composite(X), atol=1e-10)
    np.testing.assert_allclose(table[["F1", "F2"]], lib.transform(X), atol=1e-10)
    assert table["composite_0_100"].between(0, 100).all()
    # monetary is present: higher composite = more revenue
    assert np.corrcoef(table["composite"], frame["monetary"])[0, 1] > 0.3
    assert lib.directions_["recency_days"] == -1


def test_score_command_reproduces_index_scores(features_file, tmp_path, capsys):
    path, _ = features_file
    out, first, second = tmp_path / "i.json", tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert main(["index", str(path), "--n-factors", "2", "--out", str(out),
                 "--scores", str(first)]) == 0  # fmt: skip
    assert main(["score", str(path), "--index", str(out), "--out", str(second)]) == 0
    text = capsys.readouterr().out
    assert "scored 800 customers" in text
    pd.testing.assert_frame_equal(pd.read_parquet(first), pd.read_parquet(second))


def test_index_command_errors_are_one_line(features_file, tmp_path, capsys):
    path, frame = features_file
    bad = tmp_path / "bad.parquet"
    frame.assign(monetary=5.0).reset_index().to_parquet(bad, index=False)
    rc = main(["index", str(bad), "--out", str(tmp_path / "x.json")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "constant indicator(s) ['monetary']" in err and len(err.strip().splitlines()) == 1
    rc = main(["index", str(path), "--n-factors", "lots", "--out", str(tmp_path / "x.json")])
    assert rc == 2 and "--n-factors 'lots'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:  # checked by argparse, before reading FEATURES
        main(["score", str(path), "--index", str(tmp_path / "missing.json"),
              "--out", str(tmp_path / "s.parquet")])  # fmt: skip
    assert exit_.value.code == 2
    assert "missing.json not found: fit one with `crmresearch index" in capsys.readouterr().err


def test_help_texts(capsys):
    for command in ("index", "score"):
        with pytest.raises(SystemExit) as exit_:
            main([command, "--help"])
        assert exit_.value.code == 0
        assert "--out" in capsys.readouterr().out
