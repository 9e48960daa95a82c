"""Bundled real data sets beside CDNOW: the Hillstrom e-mail campaign and the CDNOW 1/10 sample.

Each is checked against its SHA-256 (the file is the one published, byte for byte) and against
a plain pandas read of the same file (an independent reference for counts and totals); the
locator is checked for source trees and for non-editable installs.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crmresearch import datasets
from crmresearch.datasets import (
    CDNOW_SAMPLE_SHA256,
    HILLSTROM_COLUMNS,
    HILLSTROM_CSV_SHA256,
    HILLSTROM_SHA256,
    cdnow_sample_path,
    hillstrom_path,
    load_cdnow_sample,
    load_hillstrom,
)
from crmresearch.datasets._files import BUNDLED, candidates, raw_path
from crmresearch.errors import DataError

ROOT = Path(__file__).resolve().parents[1]


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- Hillstrom -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def hillstrom():
    return load_hillstrom()


@pytest.fixture(scope="module")
def hillstrom_plain():
    """Independent reference: the CSV out of the ZIP with zipfile, read by pandas defaults."""
    with zipfile.ZipFile(hillstrom_path()) as zf:
        data = zf.read("hillstrom.csv")
    assert hashlib.sha256(data).hexdigest() == HILLSTROM_CSV_SHA256
    return pd.read_csv(io.BytesIO(data))


def test_hillstrom_file_is_the_published_one():
    assert sha256(hillstrom_path()) == HILLSTROM_SHA256
    with zipfile.ZipFile(hillstrom_path()) as zf:
        assert [i.filename for i in zf.infolist()] == ["hillstrom.csv"]


def test_hillstrom_original_columns_and_arms(hillstrom):
    assert tuple(hillstrom.columns) == HILLSTROM_COLUMNS == (
        "recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie",
        "channel", "segment", "visit", "conversion", "spend",
    )  # fmt: skip
    assert len(hillstrom) == 64_000
    assert hillstrom["segment"].value_counts().to_dict() == {
        "Womens E-Mail": 21_387,
        "Mens E-Mail": 21_307,
        "No E-Mail": 21_306,
    }
    assert hillstrom.isna().sum().sum() == 0


def test_hillstrom_totals_equal_plain_pandas(hillstrom, hillstrom_plain):
    for col in ("recency", "mens", "womens", "newbie", "visit", "conversion"):
        assert hillstrom[col].dtype == "int64"
        assert hillstrom[col].sum() == hillstrom_plain[col].sum()
    assert hillstrom["visit"].sum() == 9_394 and hillstrom["conversion"].sum() == 578
    assert hillstrom["spend"].sum() == pytest.approx(hillstrom_plain["spend"].sum(), rel=1e-12)
    assert hillstrom["spend"].sum() == pytest.approx(67_258.13, abs=0.005)
    assert hillstrom["history"].sum() == pytest.approx(hillstrom_plain["history"].sum(), rel=1e-12)
    for col in ("history_segment", "zip_code", "channel", "segment"):
        np.testing.assert_array_equal(
            hillstrom[col].to_numpy(dtype=object), hillstrom_plain[col].to_numpy(dtype=object)
        )
    by_arm = hillstrom.groupby("segment")["spend"].mean()
    assert by_arm.to_dict() == pytest.approx(
        hillstrom_plain.groupby("segment")["spend"].mean().to_dict(), rel=1e-12
    )


def test_hillstrom_wrong_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "other.csv"
    bad.write_text("a,b\n1,2\n")
    msg = str(pytest.raises(DataError, load_hillstrom, bad).value)
    assert "other.csv" in msg and "Hillstrom columns" in msg


# --- CDNOW 1/10 sample -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample():
    return load_cdnow_sample()


@pytest.fixture(scope="module")
def sample_plain():
    names = ["customer_id", "customer_index", "date", "cds", "dollars"]
    return pd.read_csv(
        cdnow_sample_path(),
        sep=r"\s+",
        header=None,
        names=names,
        dtype={"customer_id": str, "date": str},
    )


def test_cdnow_sample_file_is_the_published_one():
    assert sha256(cdnow_sample_path()) == CDNOW_SAMPLE_SHA256


def test_cdnow_sample_counts_and_totals(sample, sample_plain):
    s = sample.summary()
    assert (s.rows_read, s.rows_accepted, s.rows_rejected) == (6_919, 6_919, 0)
    assert len(sample_plain) == 6_919
    assert s.customers == 2_357 == sample_plain["customer_id"].nunique()
    assert sample_plain["customer_index"].nunique() == 2_357
    assert (s.first_date, s.last_date) == (pd.Timestamp("1997-01-01"), pd.Timestamp("1998-06-30"))
    f = sample.frame
    assert list(f.columns) == ["customer_id", "date", "amount", "quantity"]
    assert sample.ignored_columns == ("customer_index",)
    assert f["amount"].sum() == pytest.approx(sample_plain["dollars"].sum(), rel=1e-12)
    assert f["quantity"].sum() == sample_plain["cds"].sum() == 16_479
    np.testing.assert_array_equal(f["customer_id"].to_numpy(), sample_plain["customer_id"])
    assert f["customer_id"].str.len().eq(5).all()  # leading zeros kept: master-log ids
    assert int(sample_plain.duplicated(["customer_id", "date"]).sum()) == 223


def test_cdnow_sample_ids_are_master_log_ids(sample):
    master = datasets.load_cdnow().frame
    ids = set(sample.frame["customer_id"])
    assert ids <= set(master["customer_id"])
    sub = master[master["customer_id"].isin(ids)]
    assert len(sub) == len(sample.frame)  # the sample is every purchase of those customers
    assert sub["amount"].sum() == pytest.approx(sample.frame["amount"].sum(), rel=1e-12)


# --- finding the files -----------------------------------------------------------------------
def test_every_bundled_file_is_in_data_raw_and_in_the_wheel_data_files():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = config["tool"]["setuptools"]["data-files"]["share/crmresearch/raw"]
    assert sorted(shipped) == sorted(f"data/raw/{name}" for name in BUNDLED)
    for name, digest in BUNDLED.items():
        assert sha256(ROOT / "data" / "raw" / name) == digest


def test_locator_finds_the_installed_copy(tmp_path, monkeypatch):
    """A non-editable install: no data/raw above the package, the file under <prefix>/share."""
    monkeypatch.delenv(datasets.DATA_DIR_ENV, raising=False)
    package_dir = tmp_path / "venv" / "lib" / "site-packages" / "crmresearch" / "datasets"
    package_dir.mkdir(parents=True)
    share = tmp_path / "venv" / "share" / "crmresearch" / "raw"
    share.mkdir(parents=True)
    (share / "hillstrom.csv.zip").write_bytes(b"x")
    where = {"package_dir": package_dir, "data_dirs": [share]}
    found = raw_path("hillstrom.csv.zip", what="Hillstrom", loader="load_hillstrom", **where)
    assert found == share / "hillstrom.csv.zip"
    with pytest.raises(DataError) as err:
        raw_path("cdnow_sample.txt", what="CDNOW sample", loader="load_cdnow_sample", **where)
    msg = str(err.value)
    assert str(share / "cdnow_sample.txt") in msg and "load_cdnow_sample(path=" in msg
    assert candidates("x", **where)[-1] == share / "x"


def test_data_dir_env_var_is_used_alone(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.DATA_DIR_ENV, str(tmp_path))
    msg = str(pytest.raises(DataError, load_hillstrom).value)
    assert str(tmp_path) in msg and "CRMRESEARCH_DATA_DIR" in msg
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "hillstrom.csv.zip").write_bytes(hillstrom_path_real().read_bytes())
    assert len(load_hillstrom()) == 64_000


def hillstrom_path_real() -> Path:
    return ROOT / "data" / "raw" / "hillstrom.csv.zip"


@pytest.mark.slow
def test_loaders_work_after_a_non_editable_install(tmp_path):
    """Build the wheel, install it (no deps) into a fresh venv that borrows this environment's
    packages, and load all three data sets from outside the source tree."""
    wheel_dir = tmp_path / "wheel"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(ROOT)],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        pytest.skip(
            f"cannot build the wheel here (build backend not available): {built.stderr[-300:]}"
        )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no PYTHONPATH: the wheel only
    wheel = next(wheel_dir.glob("*.whl"))
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, env=clean
    )
    deps = [p for p in sys.path if p.endswith("site-packages")]
    Path(purelib, "zz_deps.pth").write_text("\n".join(deps) + "\n")  # after crmresearch
    code = (
        "import crmresearch, crmresearch.datasets as d;"
        "assert 'site-packages' in crmresearch.__file__, crmresearch.__file__;"
        "print(d.load_cdnow().n_accepted, d.load_cdnow_sample().n_accepted, len(d.load_hillstrom()))"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert out.returncode == 0, out.stderr[-1000:]
    assert out.stdout.split() == ["69659", "6919", "64000"]
