"""``crmresearch.study.Study``: the one pipeline equals the library steps done by hand, computes
only what is used, and refuses bad windows before any computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from crmresearch.errors import DataError
from crmresearch.study import Study, StudyParams, iso_date, load_source

CAL_END, HOLD_END = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def cdnow_study():
    study = Study.from_params("cdnow")
    return study


@pytest.fixture(scope="module")
def cdnow_reference(cdnow_study):
    """The same steps with the library functions, wired by hand, with the documented defaults."""
    from crmresearch.features import apply_config, customer_features
    from crmresearch.index import ClassificationIndex

    log = cdnow_study.log
    X = customer_features(log, end=CAL_END)
    Z = apply_config(X, "ecommerce")
    idx = ClassificationIndex(n_factors="parallel", method="pc", rotation="varimax", seed=0).fit(Z)
    return {"features": X, "Z": Z, "index": idx, "composite": idx.composite(Z, scale="0-100")}


def test_cdnow_windows_are_the_documented_defaults(cdnow_study):
    assert cdnow_study.windows() == {
        "calibration": {"start": "1997-01-01", "end": CAL_END},
        "holdout": {"start": "1997-10-01", "end": HOLD_END},
    }
    assert cdnow_study.describe_windows() == (
        "calibration 1997-01-01 to 1997-09-30; holdout 1997-10-01 to 1998-06-30"
    )


def test_cdnow_features_and_composite_equal_the_library_steps(cdnow_study, cdnow_reference):
    pd.testing.assert_frame_equal(cdnow_study.features, cdnow_reference["features"])
    pd.testing.assert_frame_equal(cdnow_study.index_input, cdnow_reference["Z"])
    np.testing.assert_allclose(
        cdnow_study.index.loadings_, cdnow_reference["index"].loadings_, rtol=0, atol=1e-12
    )
    pd.testing.assert_series_equal(
        cdnow_study.composite, cdnow_reference["composite"], rtol=0, atol=1e-10
    )
    assert cdnow_study.composite.between(0, 100).all()
    # the monetary indicator in plain pandas: calibration net revenue per customer
    frame = cdnow_study.log.frame
    monetary = frame[frame["date"] <= CAL_END].groupby("customer_id")["amount"].sum()
    np.testing.assert_allclose(
        cdnow_study.features["monetary"].sort_index(), monetary.sort_index(), rtol=1e-12
    )


def test_cdnow_tiers_follow_the_rank_rule(cdnow_study):
    """ABC 5/15/80 by customer counts: tier A = the floor(5 % n) best (ties never split)."""
    n = len(cdnow_study.features)
    for values, tiers in (
        (cdnow_study.features["monetary"], cdnow_study.volume_tiers),
        (cdnow_study.composite, cdnow_study.index_tiers),
    ):
        rank = values.rank(ascending=False, method="max")
        expected_a = rank <= math.floor(0.05 * n)
        expected_ab = rank <= math.floor(0.20 * n)
        assert ((tiers == "A") == expected_a).all()
        assert (tiers.isin(["A", "B"]) == expected_ab).all()
        assert list(tiers.cat.categories) == ["A", "B", "C"]
    assert cdnow_study.top_tier == "A"


def test_cdnow_outcomes_equal_plain_pandas(cdnow_study):
    frame = cdnow_study.log.frame
    hold = frame[(frame["date"] >= "1997-10-01") & (frame["date"] <= HOLD_END)]
    customers = cdnow_study.features.index
    purchases = hold.groupby("customer_id").size().reindex(customers, fill_value=0)
    revenue = hold.groupby("customer_id")["amount"].sum().reindex(customers, fill_value=0.0)
    out = cdnow_study.outcomes
    assert list(out.index) == list(customers)
    np.testing.assert_array_equal(out["purchases"].to_numpy(), purchases.to_numpy())
    np.testing.assert_allclose(out["revenue"].to_numpy(), revenue.to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(out["churned"].to_numpy(), (purchases == 0).to_numpy())
    assert 0.5 < out["churned"].mean() < 0.9  # CDNOW: most first-quarter buyers do not return


def test_a_given_index_is_used_not_refitted(cdnow_study, monkeypatch):
    from crmresearch.index import ClassificationIndex

    monkeypatch.setattr(ClassificationIndex, "fit", _must_not_fit)
    again = Study(cdnow_study.source, index=cdnow_study.index)
    assert again.index is cdnow_study.index
    pd.testing.assert_series_equal(again.composite, cdnow_study.composite)


def _must_not_fit(self, *args, **kwargs):
    raise AssertionError("the index was fitted")


def test_features_only_use_fits_no_index(monkeypatch):
    from crmresearch.index import ClassificationIndex

    monkeypatch.setattr(ClassificationIndex, "fit", _must_not_fit)
    study = Study.from_params("synthetic", n_customers=400)
    assert len(study.features) > 300
    assert "configured_index" not in vars(study) and "outcomes" not in vars(study)
    assert study.features is study.features  # computed once


def test_outcomes_alone_do_not_fit_an_index(monkeypatch):
    from crmresearch.index import ClassificationIndex

    monkeypatch.setattr(ClassificationIndex, "fit", _must_not_fit)
    study = Study.from_params("synthetic", n_customers=400)
    assert study.outcomes["churned"].dtype == bool
    assert "configured_index" not in vars(study)


def test_one_set_of_defaults():
    p = StudyParams()
    assert (p.method, p.rotation, p.n_factors, p.seed) == ("pc", "varimax", "parallel", 0)
    assert p.tier_shares == (0.05, 0.15, 0.80) and p.index_config == "ecommerce"
    assert p.missing is None and p.weights == "rotated" and p.score_method == "regression"


@pytest.fixture(scope="module")
def small_source():
    return load_source("synthetic", n_customers=300)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"calibration_end": "2023-12-31", "holdout_end": "2023-06-30"},
         "holdout_end 2023-06-30 must be after calibration_end 2023-12-31"),
        ({"calibration_end": "2023-12-31", "holdout_start": "2023-12-31"},
         "holdout start 2023-12-31 must be after calibration_end 2023-12-31"),
        ({"calibration_end": "2023-12-31", "holdout_start": "2024-03-01",
          "holdout_end": "2024-02-01"},
         "holdout_end 2024-02-01 must be on or after holdout_start 2024-03-01"),
        ({"calibration_start": "2024-01-01", "calibration_end": "2023-12-31"},
         "calibration_end 2023-12-31 must be on or after calibration_start 2024-01-01"),
    ],
)  # fmt: skip
def test_window_order_is_checked_before_anything_runs(small_source, params, message):
    with pytest.raises(ValueError) as err:
        Study(small_source, StudyParams(**params))
    assert message in str(err.value)


@pytest.mark.parametrize("text", ["05.01.2024", "1/5/24", "2024-1-5", "2024/01/05", "2024-02-30",
                                  "tomorrow", "2024-01-0512"])  # fmt: skip
def test_dates_are_iso_only(small_source, text):
    with pytest.raises(DataError, match="YYYY-MM-DD|not a calendar date") as err:
        Study(small_source, StudyParams(calibration_end=text, holdout_end="2024-12-31"))
    assert "calibration_end" in str(err.value) and repr(text) in str(err.value)


def test_iso_dates_both_forms():
    assert iso_date("2024-01-05", "x") == iso_date("20240105", "x") == "2024-01-05"
    assert iso_date(pd.Timestamp("2024-01-05"), "x") == "2024-01-05"
    with pytest.raises(DataError, match="--end = '05.01.2024'"):
        iso_date("05.01.2024", "--end")


def test_own_data_needs_both_windows(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("customer_id,date,amount\na,2024-01-05,10\nb,2024-02-01,20\n")
    with pytest.raises(ValueError, match="give calibration_end and holdout_end"):
        Study.from_params(str(path), calibration_end="2024-01-31")
    study = Study.from_params(str(path), calibration_end="2024-01-31", require_holdout=False)
    assert list(study.features.index) == ["a"]
    with pytest.raises(ValueError, match="give holdout_end"):
        study.outcomes  # noqa: B018


def test_from_features_has_no_outcomes():
    features = pd.DataFrame(
        {"monetary": [1.0, 2.0]}, index=pd.Index(["a", "b"], name="customer_id")
    )
    study = Study.from_features(features)
    assert study.features is features
    with pytest.raises(ValueError, match="no transaction log"):
        study.outcomes  # noqa: B018


@pytest.fixture
def four_percent_rejected(tmp_path):
    rows = [f"c{i % 9},2024-01-{1 + i % 28:02d},{5 + i}" for i in range(50)]
    rows[3] = ",2024-01-04,8"  # no customer
    rows[7] = "c7,someday,9"  # no date
    path = tmp_path / "log.csv"
    path.write_text("customer_id,date,amount\n" + "\n".join(rows) + "\n")
    return path


def test_mostly_rejected_logs_are_refused(four_percent_rejected):
    from crmresearch.study import RejectedRowsError

    with pytest.raises(RejectedRowsError, match=r"2 of 50 rows \(4\.0\s?%\) were rejected"):
        load_source(str(four_percent_rejected))  # default: at most 1 %
    assert load_source(str(four_percent_rejected), max_rejected_share=0.05).log.n_rejected == 2
    with pytest.raises(RejectedRowsError):
        Study.from_params(str(four_percent_rejected), calibration_end="2024-01-15",
                          holdout_end="2024-01-31", max_rejected_share=0.01)  # fmt: skip
    # the caller's own share wins (a report parameter of 5 % is not overruled by 1 %)
    study = Study.from_params(str(four_percent_rejected), calibration_end="2024-01-15",
                              holdout_end="2024-01-31", max_rejected_share=0.05)  # fmt: skip
    assert study.source.facts["rows_rejected"] == 2
    with pytest.raises(ValueError, match="between 0 and 1"):
        load_source(str(four_percent_rejected), max_rejected_share=5)
