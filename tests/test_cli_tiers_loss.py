"""CLI: `crmresearch tiers` and `crmresearch loss` write what the library computes and print it."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from crmresearch import tiers as T
from crmresearch.cli import main
from crmresearch.loss import GROUPS


@pytest.fixture
def features_file(tmp_path):
    rng = np.random.default_rng(2)
    n = 120
    idx = pd.Index([f"c{i:03d}" for i in range(n)], name="customer_id")
    f = pd.DataFrame(
        {
            "recency_days": rng.integers(0, 200, n),
            "purchase_days": rng.integers(1, 12, n),
            "monetary": rng.gamma(1.5, 90.0, n).round(2),
            "monthly_volume": np.concatenate([[0.5, 1.0, 2.0, 20.0, 25.0], rng.gamma(1, 3, n - 5)]),
            "spend_trend": rng.uniform(-1, 1, n),
        },
        index=idx,
    )
    f.loc["c007", "monetary"] = np.nan
    path = tmp_path / "features.parquet"
    f.to_parquet(path)
    return path, f


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--scheme", "abc"], lambda f: T.abc(f["monetary"])),
        (["--scheme", "abc", "--shares", "0.1,0.9", "--labels", "key,ordinary"],
         lambda f: T.abc(f["monetary"], shares=(0.1, 0.9), labels=["key", "ordinary"])),
        (["--scheme", "pareto"], lambda f: T.pareto(f["monetary"])),
        (["--scheme", "quantiles", "--q", "5"], lambda f: T.quantiles(f["monetary"], 5)),
        (["--scheme", "grades"], lambda f: T.grades(f["monthly_volume"], T.MONTHLY_VOLUME_GRADES)),
        (["--scheme", "rfm"], lambda f: T.rfm_segments(f)),
        (["--scheme", "value-matrix", "--potential", "spend_trend"],
         lambda f: T.value_matrix(f["monetary"], f["spend_trend"])),
    ],
)  # fmt: skip
def test_tiers_cli_writes_library_tiers(features_file, tmp_path, capsys, argv, expected):
    path, f = features_file
    out = tmp_path / "tiers.parquet"
    assert main(["tiers", str(path), *argv, "--out", str(out)]) == 0
    written = pd.read_parquet(out).set_index("customer_id")
    ref = expected(f)
    assert len(written) == len(f)
    got = written["tier"].astype(object).fillna("<NA>")
    assert (got == ref.astype(object).fillna("<NA>").reindex(written.index)).all()
    assert list(written["tier"].cat.categories) == list(ref.cat.categories)
    printed = capsys.readouterr().out
    counts = T.tier_counts(ref)
    for label, count in counts.items():
        if label != "<NA>":
            assert str(label) in printed and str(count) in printed
    assert ref.attrs["rule"] in printed


def test_tiers_cli_csv_and_missing_counted(features_file, tmp_path, capsys):
    path, f = features_file
    csv_in = tmp_path / "features.csv"
    f.reset_index().to_csv(csv_in, index=False)
    out = tmp_path / "tiers.csv"
    assert main(["tiers", str(csv_in), "--scheme", "abc", "--out", str(out)]) == 0
    written = pd.read_csv(out, dtype={"customer_id": "str"})
    assert written["tier"].isna().sum() == 1 and len(written) == len(f)
    printed = capsys.readouterr().out
    assert "1 customers have no tier" in printed
    assert "<NA>" in printed  # the missing customer is a row of the table


def test_tiers_cli_table_has_no_empty_missing_row_and_groups_thousands(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 3000
    f = pd.DataFrame(
        {"monetary": rng.gamma(1.5, 90.0, n)},
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )
    path = tmp_path / "f.parquet"
    f.to_parquet(path)
    assert main(["tiers", str(path), "--scheme", "abc", "--out", str(tmp_path / "t.parquet")]) == 0
    printed = capsys.readouterr().out
    assert "<NA>" not in printed and "NaN" not in printed
    # C = 80 % of 3,000 customers
    assert re.search(r"^C\s+2,400\s+80\.0\s+", printed, flags=re.M), printed


def test_tiers_cli_errors_are_one_line(features_file, tmp_path, capsys):
    path, _ = features_file
    assert main(["tiers", str(tmp_path / "nope.parquet"), "--scheme", "abc",
                 "--out", str(tmp_path / "t.parquet")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not found" in err
    assert main(["tiers", str(path), "--scheme", "abc", "--value", "profit",
                 "--out", str(tmp_path / "t.parquet")]) == 2  # fmt: skip
    assert "lack column 'profit'" in capsys.readouterr().err
    assert main(["tiers", str(path), "--scheme", "abc", "--out", str(tmp_path / "t.txt")]) == 2


def test_loss_cli_synthetic_list_with_raw_ids(tmp_path, capsys):
    out, lst = tmp_path / "loss.json", tmp_path / "neglected.csv"
    rc = main(["loss", "synthetic", "--n-customers", "1200", "--seed", "3",
               "--calibration-end", "2023-12-31", "--holdout-end", "2024-06-30",
               "--out", str(out), "--list", str(lst), "--raw-ids"])  # fmt: skip
    assert rc == 0
    d = json.loads(out.read_text())
    assert set(d["groups"]) == set(GROUPS)  # issue 10: four cells
    assert sum(g["customers"] for g in d["groups"].values()) == d["n"]
    assert d["windows"]["holdout"] == {"start": "2024-01-01", "end": "2024-06-30"}
    # issue 10 item 7: the lists are pseudonymized; --raw-ids maps them to real ids separately
    listed = pd.read_csv(lst, encoding="utf-8-sig", keep_default_na=False)
    on_list = (listed["primary_list"] == "neglected_core") | listed["also_in"].str.contains(
        "neglected_core"
    )
    assert int(on_list.sum()) == d["groups"]["neglected_core"]["customers"] == d["n_neglected"]
    raw = pd.read_csv(tmp_path / "neglected.raw-ids.csv", dtype={"customer_id": "str"})
    assert raw["customer_id"].str.len().min() > 0 and d["pseudonymized"]
    assert set(raw["customer"]) == set(listed["customer"])
    printed = capsys.readouterr().out
    assert "Potential core-customer loss" in printed
    n_neglected = d["n_neglected"]
    assert f"neglected core: {n_neglected:,} customers (list written to {lst})" in printed
    assert f"customers analysed: {d['n']:,}\n" in printed and d["n"] >= 1000
    # p-values in APA style: "p < 0.001" or "p = 0.123", never "p = < 0.001" or 9.58e-11
    # (the value up to the punctuation that follows it in a sentence: ",", ";", ")")
    p_texts = re.findall(r"p [=<] [^\s,;)]+", printed)
    assert p_texts
    for p_text in p_texts:
        assert re.fullmatch(r"p (< 0\.001|= [01]\.\d{3})", p_text), p_text

    # without --list nothing claims a list was written
    rc = main(["loss", "synthetic", "--n-customers", "1200", "--seed", "3",
               "--calibration-end", "2023-12-31", "--holdout-end", "2024-06-30",
               "--out", str(out)])  # fmt: skip
    assert rc == 0
    printed = capsys.readouterr().out
    assert f"neglected core: {n_neglected:,} customers (write the list with --list FILE)" in printed
    assert "neglected-core list" not in printed


@pytest.mark.slow
def test_loss_cli_cdnow_prints_the_pandas_numbers(tmp_path, capsys):
    from crmresearch.datasets import load_cdnow
    from crmresearch.features import apply_config, customer_features
    from crmresearch.index import ClassificationIndex

    log = load_cdnow()
    feats = customer_features(log, end="1997-09-30")
    X = apply_config(feats, "ecommerce")
    idx = ClassificationIndex(missing="listwise").fit(X)
    index_file = tmp_path / "index.json"
    idx.save(index_file)
    composite = idx.composite(X)
    out, lst = tmp_path / "loss.json", tmp_path / "lists.csv"
    rc = main(["loss", "cdnow", "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30",
               "--index", str(index_file), "--out", str(out), "--core-share", "0.2",
               "--list", str(lst), "--raw-ids"])  # fmt: skip
    assert rc == 0
    printed = capsys.readouterr().out
    d = json.loads(out.read_text())
    # plain pandas reference
    frame = log.frame
    cal = frame[frame["date"] <= "1997-09-30"]
    hold = frame[(frame["date"] >= "1997-10-01") & (frame["date"] <= "1998-06-30")]
    monetary = cal.groupby("customer_id")["amount"].sum()
    n = len(monetary)
    vrank = monetary.rank(ascending=False, method="max")
    top_volume = vrank <= math.floor(0.05 * n)
    core = composite.reindex(monetary.index).rank(ascending=False, method="max") <= math.floor(
        0.2 * n
    )
    churned = ~monetary.index.isin(hold["customer_id"].unique())
    groups = {  # issue 10: four cells (the default core is like for like; 0.2 given here)
        "neglected_core": core & ~top_volume,
        "served_core": core & top_volume,
        "over_served": ~core & top_volume,
        "other": ~core & ~top_volume,
    }
    for name, m in groups.items():
        m = m.to_numpy()
        g = d["groups"][name]
        assert g["customers"] == int(m.sum())
        assert g["churn_rate"] == pytest.approx(churned[m].mean(), rel=1e-12)
        assert g["revenue_before"] == pytest.approx(monetary[m].sum(), rel=1e-9)
        assert g["revenue_lost"] == pytest.approx(monetary[m & churned].sum(), rel=1e-9)
        # the headline table prints the same numbers
        assert f"{churned[m].mean() * 100:.1f}" in printed
        assert f"{monetary[m & churned].sum():,.2f}" in printed
        assert f"{int(m.sum()):,}" in printed
    assert d["windows"]["calibration"]["end"] == "1997-09-30"
    assert d["comparison"]["risk_difference_ci"][0] > 0
    # the lists carry P(alive) as the report's do: BG/NBD fitted by hand on the calibration
    # window in weeks (the fit itself equals Fader-Hardie-Lee's in test_clv)
    from crmresearch import clv

    table = pd.read_csv(lst, encoding="utf-8-sig", keep_default_na=False)
    raw = pd.read_csv(tmp_path / "lists.raw-ids.csv", dtype={"customer_id": "str"})
    ids = table["customer"].map(raw.set_index("customer")["customer_id"])
    s = clv.rfm_summary(log, calibration_end="1997-09-30", time_unit="W")
    bg = clv.BetaGeoModel().fit(s["frequency"], s["recency"], s["T"])
    expected = bg.p_alive(s["frequency"], s["recency"], s["T"]).reindex(ids).round(3)
    assert len(table) > 1000 and expected.notna().all()
    assert table["p_alive"].to_numpy() == pytest.approx(expected.to_numpy(), abs=1e-12)


# random test indicators: KMO/Bartlett/missing-row warnings of the index are expected here
@pytest.mark.filterwarnings("ignore::crmresearch.index.IndexWarning")
@pytest.mark.parametrize("self_logging", [False, True])
def test_tiers_cli_scores_a_saved_index_on_its_own_inputs(features_file, tmp_path, self_logging):
    from crmresearch.features import apply_config
    from crmresearch.index import ClassificationIndex

    path, f = features_file
    cols = ["monetary", "purchase_days", "recency_days", "monthly_volume", "spend_trend"]
    if self_logging:  # index fitted on raw indicators, logging by itself
        X = f[cols].astype(float)
        idx = ClassificationIndex(n_factors=2, missing="listwise",
                                  log_transform=["monetary", "purchase_days"]).fit(X)  # fmt: skip
    else:  # index fitted on the config's prepared matrix (logs applied by apply_config)
        X = apply_config(f, "ecommerce")
        idx = ClassificationIndex(n_factors=2, missing="listwise").fit(X)
    index_file = tmp_path / "index.json"
    idx.save(index_file)
    out = tmp_path / "t.parquet"
    assert main(["tiers", str(path), "--scheme", "abc", "--value", "index",
                 "--index", str(index_file), "--out", str(out)]) == 0  # fmt: skip
    written = pd.read_parquet(out).set_index("customer_id")
    expected = idx.composite(X)
    assert np.allclose(written["index"], expected.reindex(written.index), equal_nan=True)
    assert written["index"].isna().sum() == 1  # c007 has no monetary value
