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
    text = " ".join([*se.findings, *(k + " " + v for k, v in se.kpis)]).replace("\u2060", "")
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


# ------------------------------------------------------------------ strategyfix (review 1)


def _tables(monkeypatch, show, *args):
    """The DataFrames and captions a section shows (display.table captured)."""
    shown = []
    monkeypatch.setattr(S.D, "table", lambda frame, **kw: shown.append((frame, kw)))
    monkeypatch.setattr(S.D, "show_figure", lambda fig: None)
    monkeypatch.setattr(S.D, "note", lambda text, **kw: shown.append((text, kw)))
    show(*args)
    return shown


def test_page_one_and_manifest_name_the_hillstrom_campaign(hillstrom_report):
    from crmresearch.datasets import HILLSTROM_SHA256, load_hillstrom

    se = hillstrom_report
    line, detail = S.title_lines(se.campaign, se.analysis)
    h = load_hillstrom()
    counts = h["segment"].value_counts()
    assert line.startswith("Hillstrom MineThatData e-mail campaign")
    assert f"file hillstrom.csv.zip (SHA-256 {HILLSTROM_SHA256})" in line
    assert f"{len(h):,} customers" in line and "two weeks after the e-mail" in line
    for arm in ("Mens E-Mail", "Womens E-Mail", "No E-Mail"):
        assert f"{arm} {counts[arm]:,}" in line
    assert "CDNOW" not in line + detail and "synthetic" not in (line + detail).lower()
    assert detail.startswith(f"campaign rows read {len(h):,} / accepted {len(h):,} / rejected 0")
    facts = se.campaign.facts()
    assert facts["campaign_file"] == "hillstrom.csv.zip"
    assert facts["campaign_sha256"] == HILLSTROM_SHA256
    assert (facts["campaign_rows_read"], facts["campaign_rows_rejected"]) == (len(h), 0)


def test_own_campaign_file_rows_read_accepted_rejected(tmp_path, study):
    import hashlib

    frame = hand_made_campaign()
    frame.loc[[3, 10], "umsatz"] = np.nan  # two rows without an outcome: counted, never hidden
    path = tmp_path / "kampagne.csv"
    frame.to_csv(path, index=False)
    se = S.strategy_effectiveness(study, campaign=str(path), campaign_columns=COLUMNS,
                                  control="kontrolle", method_check_customers=0, n_boot=20)  # fmt: skip
    line, detail = S.title_lines(se.campaign, se.analysis)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert f"file kampagne.csv (SHA-256 {digest})" in line and str(tmp_path) not in line
    n = len(frame)
    assert detail.startswith(f"campaign rows read {n:,} / accepted {n - 2:,} / rejected 2")
    facts = se.campaign.facts()
    assert facts["campaign_rows_read"] == facts["campaign_rows_accepted"] + 2 == n
    assert facts["campaign_file"] == "kampagne.csv" and facts["campaign_sha256"] == digest


def test_every_tier_sentence_names_its_scheme_and_the_disagreement(hillstrom_report):
    """Mens E-Mail on visit: Holm rejects for index tiers, not for volume tiers (review 1 #9)."""
    se = hillstrom_report
    het = se.analysis.heterogeneity.set_index(["scheme", "arm", "outcome"])
    idx = het.loc[("index_tier", "Mens E-Mail", "visit")]
    vol = het.loc[("volume_tier", "Mens E-Mail", "visit")]
    assert idx["differ"] and not vol["differ"]
    sentence = [s for s in se.findings if "differ" in s][0]
    assert "differs by index tier" in sentence and "largest in index tier" in sentence
    assert "The tier schemes disagree: by volume tier the same test finds no evidence" in sentence
    assert S.p_text(vol["p_adjusted"]) in sentence  # "p = 0.425": the volume test's Holm p
    assert "differs by tier" not in sentence
    n_other = len(het) - int(het["differ"].sum())
    assert f"None of the other {n_other} arm × outcome × tier-scheme tests" in sentence


def test_section_7_has_the_numbers_of_the_loss_report(study):
    """Same study, same computation and tie-breaking as core_customer_loss's validity table."""
    from crmresearch.reports.sections import core_customer_loss as L

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cl = L.core_loss(study, n_boot=50, seed=3)
        se = S.strategy_effectiveness(study, campaign="none", n_boot=50, seed=3,
                                      method_check_customers=0)  # fmt: skip
    v = cl.metrics["validity"]
    for scheme in ("volume", "index"):
        assert se.metrics[f"precision_top_by_{scheme}"] == v[scheme]["precision"]
        assert se.metrics[f"value_capture_top_by_{scheme}"] == v[scheme]["value_capture"]
        row = se.targeting.table.loc[scheme]
        assert [row["precision_low"], row["precision_high"]] == v[scheme]["precision_ci"]
    assert (se.targeting_table["customers targeted"] == v["index"]["k"]).all()


def test_effects_tables_money_arm_labels_and_no_broken_signs(monkeypatch, hillstrom_report):
    se = hillstrom_report
    a = se.analysis
    view = S._effects_view(a, "spend", "volume_tier")
    assert view.index.name == "arm"  # a row label (left-aligned), not a right-aligned cell
    assert all(v.startswith("$") for v in view["control mean"])  # spend means with currency
    visit = S._effects_view(a, "visit", "volume_tier")
    assert all(v.endswith("%") for v in visit["control mean"])
    shown = _tables(monkeypatch, S.show_policies, se)
    frames = [f for f, _ in shown if isinstance(f, pd.DataFrame)]
    assert max(len(f) for f in frames) <= 12  # short tables: a heading never stands alone
    assert sum(len(f) for f in frames[:-1]) == len(a.policy_values) + len(a.policy_differences)
    cells = [str(c) for f in frames for c in f.to_numpy().ravel()]
    negative_money = [c for c in cells if "−" in c and "$" in c]
    assert negative_money and all("−$" not in c for c in negative_money)
    assert all("−\u2060$" in c for c in negative_money)
    for f in frames:
        assert f.index.name in ("arm", "rule")


def test_own_campaign_money_uses_the_report_currency(tmp_path, study, monkeypatch):
    from crmresearch.reports import labels

    path = tmp_path / "yen.csv"
    hand_made_campaign().to_csv(path, index=False)
    monkeypatch.setattr(labels, "_CURRENCY", ["¥"])
    se = S.strategy_effectiveness(study, campaign=str(path), campaign_columns=COLUMNS,
                                  control="kontrolle", method_check_customers=1500, n_boot=20)  # fmt: skip
    text = " ".join([*se.findings, *(k + " " + v for k, v in se.kpis)])
    assert "¥" in text and "$" not in text
    shown = _tables(monkeypatch, S.show_method_check, se)
    cells = " ".join(str(c) for f, _ in shown if isinstance(f, pd.DataFrame)
                     for c in f.to_numpy().ravel())  # fmt: skip
    assert "¥" in cells and "$" not in cells
    # Hillstrom's amounts stay dollars whatever the report's currency
    monkeypatch.setattr(labels, "_CURRENCY", ["¥"])
    h = S.load_campaign("hillstrom")
    assert h.currency == "$"


def test_method_check_has_a_pooled_row_and_states_its_power(hillstrom_report):
    from crmresearch.datasets import make_crm_data

    c = hillstrom_report.check
    t = c.rows.set_index("tier")
    assert list(t.index) == ["A", "B", "C", "all tiers"]
    syn = make_crm_data(n_customers=1500, seed=0)
    frame = strategy.experiment_from_log(
        syn.transactions, syn.campaign, pre=(syn.truth.start, syn.truth.calibration_end),
        post=(syn.truth.holdout_start, syn.truth.holdout_end))  # fmt: skip
    planted = syn.truth.campaign_effects["revenue"].rename(index=str)
    assert t.loc["all tiers", "planted"] == pytest.approx(
        frame["tier"].astype(str).map(planted).mean())
    assert np.allclose(t["detectable_bias"], 2.8016 * t["se"], rtol=1e-4)
    assert c.informative.tolist() == (t["detectable_bias"] < t["planted"]).tolist()
    m = hillstrom_report.metrics["method_check"]
    assert set(m["tiers"]) == {"A", "B", "C"} and m["pooled"]["planted"] == t.loc["all tiers", "planted"]
    from crmresearch.reports.sections.strategy_campaign import _check_sentence

    text = _check_sentence(c, lambda v, d=2: S.fmt_money(v, d))
    for tier in t.index[~c.informative.to_numpy()]:
        assert f"Row {tier} cannot tell a working method from a broken one" in text


def test_method_check_fails_where_it_says_it_can(hillstrom_report):
    """A broken method (arms swapped: estimates ≈ −planted) fails the rows the check calls
    informative; an uninformative row would pass it anyway."""
    from crmresearch.datasets import make_crm_data
    from crmresearch.reports.sections.strategy_campaign import CHECK_COVARIATES

    c = hillstrom_report.check
    syn = make_crm_data(n_customers=1500, seed=c.seed)  # the fixture's method_check_customers
    t = syn.truth
    frame = strategy.experiment_from_log(
        syn.transactions, syn.campaign, pre=(t.start, t.calibration_end),
        post=(t.holdout_start, t.holdout_end)).fillna({k: 0.0 for k in CHECK_COVARIATES})  # fmt: skip
    broken = strategy.campaign_analysis(frame, arm="arm", outcomes=["revenue"], control="treatment",
                                        tier="tier", covariates=list(CHECK_COVARIATES))  # fmt: skip
    eff = broken.effects.assign(tier=lambda d: d["tier"].astype(str).replace("overall", "all tiers"))
    eff = eff.set_index("tier")
    table = c.rows.set_index("tier")
    inside = (eff["ci_low"] < table["planted"]) & (table["planted"] < eff["ci_high"])
    informative = c.informative.to_numpy()
    assert informative.any() and not inside[table.index[informative]].any()


def test_relative_campaign_path_is_resolved_and_shown_by_name(tmp_path):
    from crmresearch.reports.runner import public_parameters

    nb = reports.notebook_path("strategy_effectiveness")
    (tmp_path / "mine.csv").write_text("arm,revenue\nA,1\nB,2\n")
    merged = reports.validate_params(nb, {"campaign": "mine.csv"}, base_dir=tmp_path)
    assert merged["campaign"] == str((tmp_path / "mine.csv").resolve())
    assert public_parameters(merged)["campaign"] == "mine.csv"  # never a machine path
    for builtin in ("hillstrom", "none"):
        assert reports.validate_params(nb, {"campaign": builtin})["campaign"] == builtin
    with pytest.raises(DataError, match="campaign file gone.csv not found"):
        reports.validate_params(nb, {"campaign": "gone.csv"}, base_dir=tmp_path)


def _title_block(html: str) -> str:
    body = html.split("</head>", 1)[1]
    return re.search(r"<h1>.*?</h1><p class=[\"']crm-meta[\"']>(.*?)</p>", body, re.S).group(1)


@pytest.mark.slow
def test_rendered_page_one_names_hillstrom_and_the_manifest_carries_it(tmp_path):
    from crmresearch.datasets import HILLSTROM_SHA256

    params = {"data": "synthetic", "n_customers": 800, "seed": 3, "n_boot": 20,
              "method_check_customers": 1500}  # fmt: skip
    result = reports.run("strategy_effectiveness", params, tmp_path / "out", progress=False)
    html = (result.out_dir / "strategy_effectiveness.html").read_text()
    head = _title_block(html)
    assert "Hillstrom MineThatData e-mail campaign" in head and HILLSTROM_SHA256 in head
    assert "64,000 customers" in head and "two weeks after the e-mail" in head
    assert "campaign rows read 64,000 / accepted 64,000 / rejected 0" in head
    assert "synthetic" not in head.lower()  # the log (data=synthetic) is named in section 7 only
    assert "Data of this section: synthetic" in html.split("</head>", 1)[1].replace("\n", " ")
    m = result.manifest
    assert (m["campaign_file"], m["campaign_sha256"]) == ("hillstrom.csv.zip", HILLSTROM_SHA256)
    assert (m["campaign_rows_read"], m["campaign_rows_accepted"], m["campaign_rows_rejected"]) == (
        64_000, 64_000, 0)  # fmt: skip


@pytest.mark.slow
def test_relative_campaign_path_runs_through_the_kernel(tmp_path, monkeypatch):
    import hashlib

    frame = hand_made_campaign(n=1800)
    (tmp_path / "work").mkdir()
    path = tmp_path / "work" / "relative_campaign.csv"
    frame.to_csv(path, index=False)
    monkeypatch.chdir(tmp_path / "work")
    params = {"data": "synthetic", "n_customers": 800, "seed": 3,
              "campaign": "relative_campaign.csv", "campaign_columns": COLUMNS,
              "control": "kontrolle", "method_check_customers": 0, "n_boot": 20}  # fmt: skip
    result = reports.run("strategy_effectiveness", params, tmp_path / "out", progress=False)
    head = _title_block((result.out_dir / "strategy_effectiveness.html").read_text())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert f"file relative_campaign.csv (SHA-256 {digest})" in head
    assert f"campaign rows read {len(frame):,}" in head and str(tmp_path) not in head
    assert result.manifest["parameters"]["campaign"] == "relative_campaign.csv"
    assert result.manifest["campaign_sha256"] == digest


def test_campaign_table_title_names_the_file_and_the_log(tmp_path, study):
    syn = study.source.synthetic
    camp = syn.campaign.rename(columns={"customer_id": "cid", "arm": "grp", "start": "sent"})
    path = tmp_path / "sent_mails.csv"
    camp[["cid", "grp", "sent"]].to_csv(path, index=False)
    inp = S.load_campaign(str(path), columns={"customer_id": "cid", "arm": "grp", "start": "sent"},
                          study=study, post_days=60)  # fmt: skip
    a = strategy.campaign_analysis(inp.frame, **inp.kwargs)
    line, detail = S.title_lines(inp, a)
    assert inp.uses_log and line.startswith("Campaign file sent_mails.csv (SHA-256 ")
    assert "over 60 days from each customer's start date" in line
    rows = inp.rows()
    assert rows["read"] == len(camp) == rows["accepted"] + rows["rejected"]
    missing_tier = int(inp.frame[["volume_tier", "index_tier"]].isna().any(axis=1).sum())
    assert rows["rejected"] == missing_tier  # customers outside the calibration window: no tier
    assert detail.startswith(f"campaign rows read {len(camp):,} / accepted {rows['accepted']:,}")
