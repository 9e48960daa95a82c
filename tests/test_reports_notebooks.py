"""The three report notebooks, run through reports.run on small synthetic data.

Each report's metrics.json is checked against the library (and plain pandas/numpy where cheap)
for the same parameters; the HTML must hide code and carry no web address; the PDF must have
at least 3 pages and contain the section headings.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from crmresearch import compare, features, reports, strategy, tiers
from crmresearch.cli import main
from crmresearch.datasets import make_crm_data
from crmresearch.index import ClassificationIndex

pytestmark = pytest.mark.slow

N = 800
SEED = 3
PARAMS = {"data": "synthetic", "n_customers": N, "seed": SEED}
EXTRA = {
    "segment_value": {},
    "core_customer_loss": {"n_boot": 100},
    "strategy_effectiveness": {"n_boot": 100},
}
HEADINGS = {
    "segment_value": [
        "Executive summary",
        "1. Customers and revenue per tier",
        "2. Tier profiles",
        "3. Classification index structure",
        "4. Volume tiers versus index tiers",
        "5. Migration between periods",
    ],
    "core_customer_loss": [
        "Executive summary",
        "1. Volume tiers versus index tiers",
        "2. The neglected core",
        "3. Is the neglected core more likely to churn?",
        "4. Rising stars and problem customers",
        "5. Predictive validity of the two schemes",
    ],
    "strategy_effectiveness": [
        "Executive summary",
        "1. The campaign",
        "2. Effects per tier",
        "3. Do the effects differ by tier?",
        "4. Return on investment",
        "5. Targeting rules and reach",
        "6. Power per tier",
        "7. Classification schemes on the transaction data's holdout",
        "Appendix A. Method check on a synthetic campaign",
    ],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    return {
        name: reports.run(name, {**PARAMS, **EXTRA[name]}, out, progress=False)
        for name in reports.REPORTS
    }


@pytest.fixture(scope="module")
def world():
    """The same synthetic data and shared steps, recomputed here with the library directly."""
    syn = make_crm_data(n_customers=N, seed=SEED)
    t = syn.truth
    X = features.customer_features(syn.transactions, end=t.calibration_end)
    Z = features.apply_config(X, "ecommerce")
    idx = ClassificationIndex(n_factors="parallel", method="pc", rotation="varimax", seed=SEED).fit(
        Z
    )
    composite = idx.composite(Z, scale="0-100")
    outcomes = features.holdout_outcomes(
        syn.transactions, start=t.holdout_start, end=t.holdout_end, customers=X.index
    )
    return {"syn": syn, "X": X, "idx": idx, "composite": composite, "outcomes": outcomes}


@pytest.mark.parametrize("name", reports.REPORTS)
def test_outputs_html_pdf(runs, name):
    result = runs[name]
    files = sorted(p.name for p in result.out_dir.iterdir())
    # the core-customer-loss report also writes the manager lists next to itself (issue 10.7)
    lists = ["customer_lists.csv", "customer_lists.xlsx"] if name == "core_customer_loss" else []
    assert files == sorted(
        [f"{name}.ipynb", f"{name}.html", f"{name}.pdf", "metrics.json", "manifest.json", *lists]
    )
    html = (result.out_dir / f"{name}.html").read_text()
    assert not re.search(r"https?://", html)
    body = html.split("</head>", 1)[1]
    for code in ("P.prepare(", "P.executive_summary(", "import pandas", "PARAMETER_NAMES"):
        assert code not in body
    for leaked in ("Traceback", "Warning:", "<Figure size", "DataFrame", "np.float64"):
        assert leaked not in body, leaked
    assert body.count("data:image/png;base64,") >= 2

    from pypdf import PdfReader

    reader = PdfReader(result.out_dir / f"{name}.pdf")
    assert len(reader.pages) >= 3
    text = " ".join(page.extract_text() for page in reader.pages)
    text = " ".join(text.split())
    for heading in [*HEADINGS[name], "Methods appendix", "Reproducibility manifest"]:
        assert heading in text, heading


@pytest.mark.parametrize("name", reports.REPORTS)
def test_manifest(runs, name):
    manifest = json.loads((runs[name].out_dir / "manifest.json").read_text())
    assert manifest["parameters"]["data"] == "synthetic"
    assert manifest["parameters"]["n_customers"] == N
    assert manifest["seed"] == SEED
    assert manifest["rows_read"] == manifest["rows_accepted"] + manifest["rows_rejected"]
    assert manifest["rows_read"] > 0 and manifest["customers"] == N
    assert manifest["package_versions"]["crmresearch"]
    assert manifest["run_seconds"] > 0


def test_segment_value_metrics(runs, world):
    m = runs["segment_value"].metrics
    X, idx = world["X"], world["idx"]
    assert m["customers"] == len(X) == N
    assert m["net_revenue"] == pytest.approx(X["monetary"].sum(), rel=1e-9)
    vol = tiers.abc(X["monetary"])
    a = vol == "A"
    assert m["top_tier_customer_share"] == pytest.approx(a.mean(), rel=1e-12)
    assert m["top_tier_revenue_share"] == pytest.approx(
        X.loc[a, "monetary"].sum() / X["monetary"].sum(), rel=1e-9
    )
    # Gini by the mean-difference definition, plain numpy
    x = X["monetary"].clip(lower=0).to_numpy()
    gini = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert m["gini_revenue"] == pytest.approx(gini, rel=1e-9)
    assert m["kmo"] == pytest.approx(idx.kmo_, rel=1e-9)
    assert m["n_factors"] == idx.n_factors_
    assert m["variance_explained"] == pytest.approx(idx.variance_["cumulative"].iloc[-1], rel=1e-9)
    from sklearn.metrics import cohen_kappa_score

    by_index = tiers.abc(world["composite"])
    kappa = cohen_kappa_score(vol.cat.codes, by_index.cat.codes, weights="linear")
    assert m["kappa_volume_vs_index"] == pytest.approx(kappa, rel=1e-9)
    assert m["same_tier_share"] == pytest.approx(
        (vol.astype(str) == by_index.astype(str)).mean(), rel=1e-12
    )


def test_core_customer_loss_metrics(runs, world):
    m = runs["core_customer_loss"].metrics
    X, comp, out = world["X"], world["composite"], world["outcomes"]
    vol = tiers.abc(X["monetary"])
    # like for like (the default): core = as many top customers by the index (tiers.abc rank
    # rule) as volume tier A holds; neglected = core outside tier A, over-served = A outside it
    core = comp.rank(ascending=False, method="max") <= int((vol == "A").sum())
    neglected = core & (vol != "A")
    served = core & (vol == "A")
    assert m["core_customers"] == int(core.sum())
    assert m["neglected_core"] == int(neglected.sum())
    assert m["over_served"] == int((~core & (vol == "A")).sum())
    churned = out["churned"].astype(bool)
    assert m["churn_neglected_core"] == pytest.approx(churned[neglected].mean(), rel=1e-12)
    assert m["churn_served_core"] == pytest.approx(churned[served].mean(), rel=1e-12)
    assert m["risk_difference"] == pytest.approx(
        churned[neglected].mean() - churned[served].mean(), rel=1e-9
    )
    lost = X.loc[neglected & churned, "monetary"].sum()
    assert m["revenue_lost_neglected_core"] == pytest.approx(lost, rel=1e-9)
    validity = compare.predictive_validity(
        {"volume tiers": vol, "index tiers": tiers.abc(comp)}, out, top=0.2, n_boot=100, seed=SEED
    )
    assert m["value_capture_index"] == pytest.approx(
        validity.table.loc["index tiers", "value_capture"], rel=1e-12
    )


def test_strategy_metrics(runs, world):
    m = runs["strategy_effectiveness"].metrics
    comp, out = world["composite"], world["outcomes"]
    target = tiers.abc(comp, shares=(0.2, 0.8)) == "A"
    assert m["value_capture_top_by_index"] == pytest.approx(
        out.loc[target, "revenue"].sum() / out["revenue"].sum(), rel=1e-9
    )
    # the real campaign (Hillstrom, the default): overall effect = plain difference in means
    from crmresearch.datasets import load_hillstrom

    h = load_hillstrom()
    assert m["campaign_customers"] == len(h) and m["campaign_synthetic"] is False
    for arm in ("Mens E-Mail", "Womens E-Mail"):
        d = (
            h.loc[h.segment == arm, "spend"].mean()
            - h.loc[h.segment == "No E-Mail", "spend"].mean()
        )
        got = m["campaign_effects"]["volume_tier"][arm]["spend"]["overall"]["effect"]
        assert got == pytest.approx(d, rel=1e-12)
    # the synthetic method check (appendix A): ANCOVA per tier = statsmodels
    syn = make_crm_data(n_customers=3000, seed=SEED)
    t = syn.truth
    frame = strategy.experiment_from_log(
        syn.transactions,
        syn.campaign,
        pre=(t.start, t.calibration_end),
        post=(t.holdout_start, t.holdout_end),
    )
    # ANCOVA: OLS of revenue on treatment and the centred pre-period covariates (statsmodels)
    import statsmodels.formula.api as smf

    frame = frame.fillna({"monetary": 0.0, "frequency": 0.0})
    frame["treated"] = (frame["arm"] == "treatment").astype(float)

    def ancova(d):
        d = d.assign(
            m=d["monetary"] - d["monetary"].mean(), f=d["frequency"] - d["frequency"].mean()
        )
        return smf.ols("revenue ~ treated + m + f", data=d).fit().params["treated"]

    check = m["method_check"]
    assert check["synthetic"] is True and check["customers"] == len(frame)
    for tier_name, rec in check["tiers"].items():
        expected = ancova(frame[frame["tier"].astype(str) == tier_name])
        assert rec["estimate"] == pytest.approx(expected, rel=1e-6)
        assert rec["planted"] == t.campaign_effects.loc[tier_name, "revenue"]


# ------------------------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["segment_value", "-p", "nope=1"], "unknown parameter(s) 'nope'"),
        (["segment_value", "-p", "core_share=lots"], "'core_share' must be float"),
        (
            ["core_customer_loss", "-p", "method=spss"],
            "'method' = 'spss' is not one of: pc, minres, ml",
        ),
        (
            ["strategy_effectiveness", "-p", "data=no_such_log.csv"],
            "data file no_such_log.csv not found",
        ),
        (["quarterly"], "unknown report 'quarterly'"),
        (["all", "--format", "docx"], "unknown format(s) docx"),
    ],
)
def test_cli_bad_parameters_exit_2(tmp_path, capsys, argv, message):
    code = main(["report", *argv, "--out", str(tmp_path / "out")])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_cli_data_error_in_the_notebook_exit_2_no_partial_output(tmp_path, capsys):
    """Bad input found inside the kernel is still bad input: one line, exit 2 (a failing cell
    of the report's own code is exit 1: tests/test_reports.py)."""
    bad = tmp_path / "header_only.csv"
    bad.write_text("customer_id,date,amount\n")
    out = tmp_path / "out"
    # windows given: they are checked before the kernel; the empty file fails inside it
    code = main(["report", "segment_value", "-p", f"data={bad}", "--out", str(out), "--jobs", "1",
                 "-p", "calibration_end=2020-06-30", "-p", "holdout_end=2020-12-31",
                 "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "report segment_value: " in err and "header_only.csv" in err
    assert "failed in cell" not in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not any(out.iterdir())  # no report folder, no temporary folder


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["report", "--help"])
    assert info.value.code == 0
    assert "--pdf-engine" in capsys.readouterr().out


def test_chinese_labels(tmp_path):
    from crmresearch.features import INDICATORS

    result = reports.run(
        "segment_value",
        {**PARAMS, "n_customers": 400, "language": "zh"},
        tmp_path,
        formats="html",
        progress=False,
    )
    html = (result.out_dir / "segment_value.html").read_text()
    assert INDICATORS["monetary"].label_zh in html
    assert INDICATORS["recency_days"].label_zh in html
    assert not (result.out_dir / "segment_value.pdf").exists()  # only what was asked for
