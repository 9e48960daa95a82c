"""The bundled CDNOW master log: provenance hash, counts, and agreement with a plain pandas read."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from crmresearch import datasets
from crmresearch.datasets import CDNOW_SHA256, cdnow_path, load_cdnow
from crmresearch.errors import DataError


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow()


@pytest.fixture(scope="module")
def plain(cdnow_path):
    """Independent reference: the file read with nothing but pandas defaults plus string ids."""
    return pd.read_csv(cdnow_path, sep=r"\s+", dtype={"customer_id": str, "date": str})


def test_raw_file_is_unmodified(cdnow_path):
    assert hashlib.sha256(cdnow_path.read_bytes()).hexdigest() == CDNOW_SHA256


def test_counts(cdnow, plain):
    s = cdnow.summary()
    assert len(plain) == 69_659
    assert (s.rows_read, s.rows_accepted, s.rows_rejected) == (69_659, 69_659, 0)
    assert s.customers == 23_570 == plain["customer_id"].nunique()
    assert s.first_date == pd.Timestamp("1997-01-01")
    assert s.last_date == pd.Timestamp("1998-06-30")
    assert s.zero_amount_rows == 80 == int((plain["dollar_value"] == 0).sum())
    assert s.return_rows == 0
    assert s.duplicate_rows == int(plain.duplicated().sum())
    assert s.rejected_by_reason == {}


def test_values_equal_plain_pandas(cdnow, plain):
    f = cdnow.frame
    assert list(f.columns) == ["customer_id", "date", "amount", "quantity"]
    assert f["amount"].sum() == pytest.approx(plain["dollar_value"].sum(), rel=1e-9)
    assert cdnow.summary().total_amount == pytest.approx(plain["dollar_value"].sum(), rel=1e-9)
    assert f["quantity"].sum() == plain["number_of_cds"].sum()
    np.testing.assert_array_equal(f["customer_id"].to_numpy(), plain["customer_id"].to_numpy())
    np.testing.assert_array_equal(
        f["date"].to_numpy(), pd.to_datetime(plain["date"], format="%Y%m%d").to_numpy()
    )
    np.testing.assert_array_equal(f["amount"].to_numpy(), plain["dollar_value"].to_numpy())


def test_schema_and_ids_as_text(cdnow):
    f = cdnow.frame
    assert pd.api.types.is_string_dtype(f["customer_id"].dtype)
    assert f["date"].dtype == "datetime64[ns]"
    assert f["amount"].dtype == "float64" and f["quantity"].dtype == "float64"
    assert f["customer_id"].iloc[0] == "00001"
    assert f["customer_id"].str.len().eq(5).all()


def test_first_purchases_in_q1_1997(cdnow):
    first = cdnow.frame.groupby("customer_id")["date"].min()
    assert first.min() == pd.Timestamp("1997-01-01")
    assert first.max() == pd.Timestamp("1997-03-25")


def test_data_dir_env_var(tmp_path, monkeypatch, cdnow_path):
    (tmp_path / "raw").mkdir()
    small = tmp_path / "raw" / "cdnow_master.txt"
    small.write_bytes(b"".join(cdnow_path.read_bytes().splitlines(keepends=True)[:11]))
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path))
    assert cdnow_path_resolved() == small
    log = load_cdnow()
    assert (log.n_read, log.n_accepted) == (10, 10)
    assert log.source == str(small)


def cdnow_path_resolved():
    return cdnow_path()


def test_not_found_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(DataError) as err:
        load_cdnow()
    msg = str(err.value)
    assert "CDNOW" in msg and "nowhere" in msg and "CRMRESEARCH_DATA_DIR" in msg
    assert "load_cdnow(path=" in msg


def test_explicit_path(cdnow_path):
    assert load_cdnow(cdnow_path).n_accepted == 69_659


def test_datasets_reexports_synthetic_when_present():
    try:
        import crmresearch.datasets.synthetic  # noqa: F401
    except ModuleNotFoundError:
        pytest.skip("crmresearch.synthetic not written yet")
    assert datasets.make_crm_data is crmresearch.datasets.synthetic.make_crm_data
    assert "make_crm_data" in datasets.__all__
