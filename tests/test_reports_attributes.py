"""Customer attributes in the reports (issue 12 item 8): the core-customer-loss report's four
cells and the segment-value report's volume tiers broken down by each static attribute.

The reference is a plain pandas crosstab of the attribute file (read with pandas, not the
package's reader) against the study's cells / tiers; without ``customers`` the tables are absent.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from crmresearch import loss, reports
from crmresearch.cli import main
from crmresearch.datasets import make_crm_data
from crmresearch.errors import DataError
from crmresearch.study import Study

pytestmark = pytest.mark.slow

N, SEED = 800, 3
PARAMS = {"data": "synthetic", "n_customers": N, "seed": SEED}
EXTRA = {"core_customer_loss": {"n_boot": 50}, "segment_value": {"n_boot": 20}}
CAPTIONS = {"core_customer_loss": "The four cells by region", "segment_value": "Volume tiers by region"}
KEYS = {"core_customer_loss": "by_attribute", "segment_value": "tiers_by_attribute"}


@pytest.fixture(scope="module")
def customers_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("attrs") / "customers.csv"
    make_crm_data(n_customers=N, seed=SEED).customers.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory, customers_file):
    out = tmp_path_factory.mktemp("reports")
    return {
        (name, given): reports.run(
            name, {**PARAMS, **EXTRA[name], **({"customers": str(customers_file)} if given else {})},
            out / ("with" if given else "without"), formats="html", progress=False,
        )  # fmt: skip
        for name in EXTRA
        for given in (True, False)
    }


@pytest.fixture(scope="module")
def reference(customers_file):
    """The study's cells and tiers, and the attribute file read with plain pandas."""
    study = Study.from_params("synthetic", n_customers=N, seed=SEED)
    result = loss.potential_core_loss(
        study.composite, study.volume_tiers, study.outcomes, top_volume_tiers=(study.top_tier,),
        revenue_before=study.features["monetary"],
    )
    attributes = pd.read_csv(customers_file, dtype=str).set_index("customer_id")
    return study, result.customers, attributes


@pytest.mark.parametrize("column", ["region", "industry"])
def test_loss_cells_by_attribute_equal_a_plain_crosstab(runs, reference, column):
    _study, cells, attributes = reference
    got = runs["core_customer_loss", True].metrics["by_attribute"][column]
    values = attributes[column].reindex(cells.index)
    assert values.notna().all()  # every analysed customer has a row in the file
    expected = pd.crosstab(values, cells["group"])
    assert set(got) == set(expected.index)
    for value, row in expected.iterrows():
        for group in loss.GROUPS:
            assert got[value][group] == int(row.get(group, 0)), (value, group)
        assert got[value]["customers"] == int(row.sum())
        neglected = cells[(cells["group"] == "neglected_core") & (values == value)]
        if len(neglected):
            assert got[value]["neglected_churn_rate"] == pytest.approx(neglected["churned"].mean())
            ci = proportion_confint(neglected["churned"].sum(), len(neglected), method="wilson")
            assert (got[value]["neglected_churn_low"], got[value]["neglected_churn_high"]) == (
                pytest.approx(ci, rel=1e-12)
            )
        else:
            assert got[value]["neglected_churn_rate"] is None
    assert sum(r["customers"] for r in got.values()) == len(cells)
    # the report shows each value's interval as in the groups table: "low – high"
    html = (runs["core_customer_loss", True].out_dir / "core_customer_loss.html").read_text()
    html = html.replace("\u00a0", " ")  # the tables keep "95 %" together
    shown = [r for r in got.values() if r["neglected_churn_low"] is not None]
    # the header: in the groups table and in the table of each attribute (region, industry)
    assert shown and html.count("churn 95 % CI") == 1 + 2
    for r in shown:
        low, high = (f"{100 * r[k]:.1f} %" for k in ("neglected_churn_low", "neglected_churn_high"))
        assert f"{low} – {high}" in html, (low, high)


@pytest.mark.parametrize("column", ["region", "industry"])
def test_tiers_by_attribute_equal_a_plain_crosstab(runs, reference, column):
    study, _cells, attributes = reference
    got = runs["segment_value", True].metrics["tiers_by_attribute"][column]
    tiers = study.volume_tiers
    expected = pd.crosstab(attributes[column].reindex(tiers.index), tiers)
    assert set(got) == set(expected.index)
    for value, row in expected.iterrows():
        for tier, n in row.items():
            assert got[value][str(tier)] == int(n), (value, tier)
        assert got[value]["all"] == int(row.sum())
    html = (runs["segment_value", True].out_dir / "segment_value.html").read_text()
    share = expected.iloc[0, 0] / expected.iloc[:, 0].sum()  # first value's share of tier A
    assert f"{100 * share:.1f}" in html


@pytest.mark.parametrize("name", list(EXTRA))
def test_breakdown_shown_only_with_customers(runs, name):
    for given in (True, False):
        run = runs[name, given]
        html = (run.out_dir / f"{name}.html").read_text()
        assert (CAPTIONS[name] in html) is given
        assert (KEYS[name] in run.metrics) is given
    with_dates = (runs[name, True].out_dir / f"{name}.html").read_text()
    assert "signup_date (a date)" in with_dates  # a date field is named, not tabulated


@pytest.mark.parametrize("name", list(EXTRA))
def test_chinese_breakdown_is_translated_and_keeps_the_data_values(tmp_path, customers_file, name):
    run = reports.run(name, {**PARAMS, **EXTRA[name], "customers": str(customers_file),
                             "language": "zh"}, tmp_path, formats="html", progress=False)  # fmt: skip
    manifest = json.loads((run.out_dir / "manifest.json").read_text())
    assert manifest["untranslated"] == []
    html = (run.out_dir / f"{name}.html").read_text()
    assert "按区域划分" in html and "术语表" in html
    assert ">North<" in html  # attribute values are data: shown as in the file


def test_relative_customers_path_resolved_and_missing_file_exit_2(tmp_path, monkeypatch, capsys,
                                                                  customers_file):  # fmt: skip
    monkeypatch.chdir(customers_file.parent)
    notebook = reports.notebook_path("segment_value")
    merged = reports.validate_params(notebook, {"customers": customers_file.name})
    assert merged["customers"] == str(customers_file.resolve())
    assert reports.validate_params(notebook, {})["customers"] == ""
    code = main(["report", "core_customer_loss", "-p", "data=synthetic", "-p",
                 "customers=no_such_file.csv", "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 2
    assert "customers file no_such_file.csv not found" in capsys.readouterr().err
    assert not (tmp_path / "o" / "core_customer_loss").exists()


def test_static_attributes_of_a_synthetic_study_from_its_own_table():
    """``data="synthetic"`` can use its generated customer table directly (Python API)."""
    syn = make_crm_data(n_customers=N, seed=SEED)
    study = Study.from_params("synthetic", n_customers=N, seed=SEED, customers=syn.customers)
    static = study.static_attributes
    assert {"region", "industry"} <= set(static.columns)
    expected = syn.customers.set_index("customer_id")["region"].reindex(study.features.index)
    pd.testing.assert_series_equal(static["region"].astype(str), expected.astype(str),
                                   check_names=False)  # fmt: skip


# ---------------------------------------------------------------------------- customer_columns
ZH_LOG = {"customer_id": "客户编号", "date": "日期", "amount": "金额"}
ZH_MAPPING = {v: k for k, v in ZH_LOG.items()}


@pytest.fixture(scope="module")
def chinese_files(tmp_path_factory):
    """The synthetic log and customer table with the firm's Chinese id header (客户编号)."""
    folder = tmp_path_factory.mktemp("zh")
    data = make_crm_data(n_customers=N, seed=SEED)
    log, attrs = folder / "交易.csv", folder / "客户属性.csv"
    data.transactions.frame[list(ZH_LOG)].rename(columns=ZH_LOG).to_csv(log, index=False)
    data.customers.rename(columns={"customer_id": "客户编号"}).to_csv(attrs, index=False)
    return log, attrs


def test_customer_columns_maps_a_chinese_id_column_in_the_report(runs, chinese_files, tmp_path):
    _log, attrs = chinese_files
    run = reports.run("core_customer_loss", {**PARAMS, **EXTRA["core_customer_loss"],
                      "customers": str(attrs), "customer_columns": {"客户编号": "customer_id"}},
                      tmp_path, formats="html", progress=False)  # fmt: skip
    # the same attributes under another id header: the same breakdown as the English file's
    assert run.metrics["by_attribute"] == runs["core_customer_loss", True].metrics["by_attribute"]
    manifest = json.loads((run.out_dir / "manifest.json").read_text())
    assert manifest["parameters"]["customer_columns"] == {"客户编号": "customer_id"}


def test_a_customer_file_without_id_is_refused_before_the_kernel(chinese_files, tmp_path, capsys):
    _log, attrs = chinese_files
    code = main(["report", "core_customer_loss", "-p", "data=synthetic", "-p",
                 f"customers={attrs}", "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "客户属性.csv: missing required column 'customer_id'" in err
    assert "(CLI --customer-columns 客户编号=customer_id; " in err
    assert "report -p 'customer_columns={客户编号: customer_id}')" in err
    assert not (tmp_path / "o" / "core_customer_loss").exists()
    notebook = reports.notebook_path("core_customer_loss")
    with pytest.raises(ValueError, match="customer_columns"):
        reports.validate_params(notebook, {"customers": str(attrs), "customer_columns": {"a": 1}})


def test_the_logs_id_mapping_serves_the_customer_file(chinese_files):
    """No customer_columns: the file's 客户编号 is the column ``columns`` maps onto customer_id
    for the log (the firm's exports share headers), in the parameter check and the study."""
    log, attrs = chinese_files
    synthetic = Study.from_params("synthetic", n_customers=N, seed=SEED)
    windows = {"calibration_end": synthetic.calibration_end, "holdout_end": synthetic.holdout_end}
    notebook = reports.notebook_path("segment_value")
    reports.validate_params(notebook, {"data": str(log), "columns": ZH_MAPPING,
                                       "customers": str(attrs), **windows})  # fmt: skip
    study = Study.from_params(str(log), columns=ZH_MAPPING, customers=str(attrs), seed=SEED,
                              **windows)  # fmt: skip
    expected = make_crm_data(n_customers=N, seed=SEED).customers.set_index("customer_id")
    got = study.static_attributes
    assert got["region"].notna().all() and len(got) == len(study.features)
    pd.testing.assert_series_equal(got["region"].astype(str),
                                   expected["region"].reindex(got.index).astype(str),
                                   check_names=False)  # fmt: skip
    # customer_columns through the study (no log mapping for synthetic data), kept by with_params
    mapped = Study.from_params("synthetic", n_customers=N, seed=SEED, customers=str(attrs),
                               customer_columns={"客户编号": "customer_id"}).with_params(seed=1)  # fmt: skip
    assert mapped.customers.n_accepted == N
    with pytest.raises(DataError, match="--customer-columns 客户编号=customer_id"):
        _ = Study.from_params("synthetic", n_customers=N, seed=SEED, customers=str(attrs)).customers
