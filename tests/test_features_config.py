"""Index-system YAML configs, apply_config and describe_features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmresearch.features import (
    DIMENSIONS,
    INDICATORS,
    IndexConfig,
    apply_config,
    available_configs,
    describe_features,
    load_config,
)


def test_bundled_configs_load_and_are_consistent():
    assert available_configs() == ["bank", "ecommerce", "retail"]
    for name in available_configs():
        cfg = load_config(name)
        assert isinstance(cfg, IndexConfig)
        assert cfg.name == name
        assert cfg.description
        assert set(cfg.dimensions) <= set(DIMENSIONS)
        flat = [i for items in cfg.dimensions.values() for i in items]
        assert list(cfg.indicators) == flat
        assert len(flat) == len(set(flat))
        assert set(flat) <= set(INDICATORS)
        assert set(cfg.log_transform) <= set(flat)
        assert set(cfg.fill) <= set(flat)
        assert cfg.path == f"{name}.yaml"
    assert "credit" not in load_config("ecommerce").dimensions
    assert load_config("bank").dimensions["credit"] == ("late_payment_rate", "days_overdue")
    assert load_config().name == "ecommerce"  # the default


def test_bundled_configs_carry_comments():
    from importlib import resources

    for name in available_configs():
        text = (resources.files("crmresearch.features") / "configs" / f"{name}.yaml").read_text(
            "utf-8"
        )
        comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
        assert len(comments) >= 8, name


def test_config_from_file_and_errors(tmp_path):
    good = tmp_path / "mine.yaml"
    good.write_text(
        "name: mine\ndimensions:\n  contribution: [monetary]\n  tenure: [tenure_days]\n"
        "log_transform: [monetary]\n",
        encoding="utf-8",
    )
    cfg = load_config(good)
    assert cfg.indicators == ("monetary", "tenure_days")
    assert cfg.fill == {}
    cases = {
        "dimensions:\n  contribution: [monetry]\n": "unknown indicator 'monetry'",
        "dimensions:\n  value: [monetary]\n": "unknown dimension 'value'",
        "dimensions:\n  contribution: [monetary]\n  loyalty: [monetary]\n": "both",
        "dimensions:\n  contribution: [monetary]\nfill:\n  profit: 0\n": "fill names",
        "name: x\n": "expected a mapping",
    }
    for i, (text, message) in enumerate(cases.items()):
        path = tmp_path / f"bad{i}.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            load_config(path)
    with pytest.raises(ValueError, match="unknown index system 'shop'.*ecommerce"):
        load_config("shop")
    with pytest.raises(FileNotFoundError):
        load_config(tmp_path / "missing.yaml")


def test_apply_config_selects_fills_and_logs():
    features = pd.DataFrame(
        {
            "monetary": [0.0, 9.0, -3.0],
            "purchase_days": [1, 2, 3],
            "regularity_cv": [np.nan, 0.5, np.nan],
            "frequency": [1, 2, 3],  # not in the ecommerce system
        },
        index=pd.Index(["a", "b", "c"], name="customer_id"),
    )
    features.attrs = {"skipped": {"profit": "column(s) profit absent"}}
    out = apply_config(features, "ecommerce")
    assert list(out.columns) == ["monetary", "purchase_days", "regularity_cv"]
    np.testing.assert_allclose(out["monetary"], [0.0, np.log(10.0), -np.log(4.0)], rtol=1e-12)
    np.testing.assert_allclose(out["purchase_days"], np.log1p([1, 2, 3]), rtol=1e-12)
    assert out["regularity_cv"].tolist() == [1.0, 0.5, 1.0]
    assert out.attrs["filled"] == {"regularity_cv": 2}
    assert out.attrs["skipped"]["profit"] == "column(s) profit absent"
    assert "tenure_days" in out.attrs["skipped"]
    assert out.attrs["undefined"] == {}
    assert features["regularity_cv"].isna().sum() == 2  # input untouched


def test_describe_features_matches_pandas():
    rng = np.random.default_rng(1)
    features = pd.DataFrame({"monetary": rng.gamma(2, 10, 50), "frequency": rng.integers(1, 9, 50)})
    features.loc[3, "monetary"] = np.nan
    d = describe_features(features)
    m = features["monetary"].dropna()
    assert d.loc["monetary", "count"] == 49 and d.loc["monetary", "missing"] == 1
    assert d.loc["monetary", "mean"] == pytest.approx(m.mean(), rel=1e-12)
    assert d.loc["monetary", "sd"] == pytest.approx(np.std(m, ddof=1), rel=1e-12)
    assert d.loc["monetary", "median"] == pytest.approx(np.median(m), rel=1e-12)
    assert d.loc["monetary", "q25"] == pytest.approx(np.percentile(m, 25), rel=1e-12)
    assert d.loc["frequency", "label_zh"] == INDICATORS["frequency"].label_zh
    assert d.loc["frequency", "direction"] == 1
