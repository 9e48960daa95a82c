"""The strategy-effectiveness report on real campaigns: Hillstrom by default (summary numbers =
the library's, no synthetic number in the summary) and a hand-made experiment table with other
column names and arm labels through ``campaign=`` / ``campaign_columns`` / ``control``."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from crmresearch import reports, strategy
from crmresearch.errors import DataError
from crmresearch.reports.sections import strategy_effectiveness as S


@pytest.fixture(scope="module")
def study():
    from crmresearch.study import Study

    return Study.from_params("synthetic", n_customers=800, seed=3)


@pytest.fixture(scope="module")
def hillstrom_report(study):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return S.strategy_effectiveness(study, n_boot=50, method_check_customers=1500)


def hand_made_campaign(n=2400, seed=5) -> pd.DataFrame:
    """A firm's own campaign file: its own column names and arm labels."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["kontrolle", "gutschein", "anruf"], n)
    segment = rng.choice(["gold", "silber", "bronze"], n, p=[0.2, 0.3, 0.5])
    umsatz = 40 + np.where(group == "gutschein", 6.0, np.where(group == "anruf", 3.0, 0.0))
    umsatz = umsatz + rng.normal(0, 12, n)
    return pd.DataFrame(
        {
            "kunde": np.arange(n),
            "gruppe": group,
            "segment": segment,
            "umsatz": umsatz,
            "gekauft": (rng.uniform(size=n) < 0.3 + 0.05 * (group != "kontrolle")).astype(int),
            "wert_index": rng.normal(size=n),
            "umsatz_vorher": rng.gamma(2, 30, n),
        }
    )


COLUMNS = {
    "arm": "gruppe",
    "outcomes": ["umsatz", "gekauft"],
    "tier": "segment",
    "index_score": "wert_index",
    "volume_score": "umsatz_vorher",
    "revenue": "umsatz",
}


def test_hillstrom_is_the_default_and_the_summary_holds_only_its_numbers(hillstrom_report):
    se = hillstrom_report
    a = se.analysis
    assert se.campaign.name.startswith("Hillstrom") and a.n_customers == 64_000
    assert se.metrics["campaign_synthetic"] is False
    from crmresearch.datasets import HILLSTROM_SHA256

    assert se.metrics["campaign_sha256"] == HILLSTROM_SHA256
    # summary numbers are the library's: Mens E-Mail spend effect = plain difference in means
    from crmresearch.datasets import load_hillstrom

    h = load_hillstrom()
    d = (h.loc[h.segment == "Mens E-Mail", "spend"].mean()
         - h.loc[h.segment == "No E-Mail", "spend"].mean())  # fmt: skip
    eff = se.metrics["campaign_effects"]["volume_tier"]["Mens E-Mail"]["spend"]["overall"]
    assert eff["effect"] == pytest.approx(d, rel=1e-12)
    assert se.kpis[0][1] == S.fmt_money(d, 2)
    # no synthetic number (method check) anywhere in the summary cards or sentences
    text = " ".join([*se.findings, *(k + " " + v for k, v in se.kpis)])
    assert "synthetic" not in text.lower()
    for r in se.check.table.itertuples():
        for value in (r.estimate, r.ci_low, r.ci_high):
            assert S.fmt_money(value, 2) not in text
    assert "np." not in text and "object at 0x" not in text


def test_best_tier_named_only_where_the_heterogeneity_test_rejects(hillstrom_report):
    a = hillstrom_report.analysis
    best = hillstrom_report.metrics["best_tiers"]
    het = a.heterogeneity
    rejected = {f"{r.scheme}|{r.arm}|{r.outcome}" for r in het.itertuples() if r.differ}
    assert set(best) == rejected
    tier_sentence = [s for s in hillstrom_report.findings if "differ" in s][0]
    if not rejected:
        assert tier_sentence.startswith("No evidence")


def test_reach_is_called_reach_and_never_an_effect(hillstrom_report):
    reach = [s for s in hillstrom_report.findings if "reach" in s.lower() or "hold" in s]
    assert reach and all(s.startswith("Reach, not an effect") for s in reach)


def test_method_check_is_planted_vs_recovered(hillstrom_report):
    c = hillstrom_report.check
    assert list(c.table["tier"]) == ["A", "B", "C"]
    assert c.table["covered"].tolist() == [
        lo < p < hi for p, lo, hi in zip(c.table["planted"], c.table["ci_low"],
                                          c.table["ci_high"], strict=True)
    ]  # fmt: skip
    assert hillstrom_report.metrics["method_check"]["synthetic"] is True


def test_own_campaign_table_with_other_names_runs_through_the_section(tmp_path, study):
    path = tmp_path / "meine_kampagne.csv"
    frame = hand_made_campaign()
    frame.to_csv(path, index=False)
    se = S.strategy_effectiveness(study, campaign=str(path), campaign_columns=COLUMNS,
                                  control="kontrolle", method_check_customers=0, n_boot=20)  # fmt: skip
    m = se.metrics
    assert m["campaign"] == "meine_kampagne.csv" and m["campaign_control"] == "kontrolle"
    import hashlib

    assert m["campaign_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sorted(m["campaign_arms"]) == ["anruf", "gutschein"]
    for arm in ("anruf", "gutschein"):
        for seg in ("gold", "silber", "bronze"):
            sub = frame[frame.segment == seg]
            d = (sub.loc[sub.gruppe == arm, "umsatz"].mean()
                 - sub.loc[sub.gruppe == "kontrolle", "umsatz"].mean())  # fmt: skip
            got = m["campaign_effects"]["segment"][arm]["umsatz"][seg]["effect"]
            assert got == pytest.approx(d, rel=1e-10)
    assert se.check is None and "method_check" not in m
    with pytest.raises(DataError, match="control arm 'control'"):
        S.strategy_effectiveness(study, campaign=str(path), campaign_columns=COLUMNS,
                                 control="control", method_check_customers=0, n_boot=20)  # fmt: skip
    with pytest.raises(DataError, match="no outcome columns"):
        S.load_campaign(str(path), columns={"arm": "gruppe"})
    with pytest.raises(DataError, match="not found"):
        S.load_campaign(str(tmp_path / "missing.csv"))


def test_campaign_table_plus_log_takes_outcomes_from_the_log(tmp_path, study):
    syn = study.source.synthetic
    camp = syn.campaign.rename(columns={"customer_id": "cid", "arm": "grp", "start": "sent"})
    path = tmp_path / "campaign_table.csv"
    camp[["cid", "grp", "sent"]].to_csv(path, index=False)
    roles = {"customer_id": "cid", "arm": "grp", "start": "sent"}
    inp = S.load_campaign(str(path), columns=roles, study=study, post_days=90)
    frame = inp.frame
    assert len(frame) == len(camp)  # every campaign customer kept, none dropped
    expected = strategy.campaign_experiment(camp, study.log, post_days=90, columns=roles)
    pd.testing.assert_series_equal(frame["revenue"], expected["revenue"])
    # tiers and index come from the study (customers outside its calibration window: missing)
    ids = frame["customer_id"].astype(str)
    tiers = study.volume_tiers.rename(index=str)
    known = ids.isin(tiers.index)
    assert (frame.loc[known, "volume_tier"].astype(str).to_numpy()
            == ids[known].map(tiers).astype(str).to_numpy()).all()  # fmt: skip
    a = strategy.campaign_analysis(frame, **inp.kwargs, margin=0.3, cost_per_customer=1.0)
    excluded = a.excluded[a.excluded["reason"] == "missing 'volume_tier'"]
    assert excluded["rows"].sum() >= 0 and len(a.effects)


@pytest.mark.slow
def test_report_renders_a_hand_made_campaign(tmp_path):
    path = tmp_path / "campaign.csv"
    frame = hand_made_campaign(n=1800)
    frame.to_csv(path, index=False)
    params = {"data": "synthetic", "n_customers": 800, "seed": 3, "campaign": str(path),
              "campaign_columns": COLUMNS, "control": "kontrolle",
              "method_check_customers": 0, "n_boot": 20}  # fmt: skip
    result = reports.run("strategy_effectiveness", params, tmp_path / "out", progress=False)
    m = result.metrics
    assert m["campaign"] == "campaign.csv" and m["campaign_synthetic"] is False
    sub = frame[frame.segment == "gold"]
    d = (sub.loc[sub.gruppe == "gutschein", "umsatz"].mean()
         - sub.loc[sub.gruppe == "kontrolle", "umsatz"].mean())  # fmt: skip
    assert m["campaign_effects"]["segment"]["gutschein"]["umsatz"]["gold"]["effect"] == (
        pytest.approx(d, rel=1e-10)
    )
    html = (result.out_dir / "strategy_effectiveness.html").read_text()
    body = html.split("</head>", 1)[1]
    assert "gutschein" in body and "kontrolle" in body
    assert not re.search(r"np\.(int|float)|object at 0x|Traceback", body)
