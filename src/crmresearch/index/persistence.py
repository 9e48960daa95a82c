"""Saving and loading a fitted index as JSON (everything needed to score identically)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from crmresearch._io import write_json
from crmresearch.errors import DataError
from crmresearch.index.retention import ParallelAnalysis

__all__ = ["to_dict", "from_dict", "save", "load"]

FORMAT = "crmresearch.ClassificationIndex"
FORMAT_VERSION = 1


def _frame(df: pd.DataFrame) -> dict:
    return {"index": list(df.index), "columns": list(df.columns), "data": df.to_numpy().tolist()}


def _unframe(x: dict) -> pd.DataFrame:
    return pd.DataFrame(x["data"], index=x["index"], columns=x["columns"])


def to_dict(idx) -> dict:
    """The fitted index as plain JSON-able values."""
    params = idx.get_params(deep=False)
    if params.get("log_transform") is not None:
        params["log_transform"] = list(params["log_transform"])
    imputed = getattr(idx, "imputed_share_", None)
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "params": params,
        "columns": idx.columns_,
        "directions": idx.directions_,
        "log_columns": idx.log_columns_,
        "labels": idx.labels_,
        "mean": None if idx.mean_ is None else idx.mean_.tolist(),
        "scale": None if idx.scale_ is None else idx.scale_.tolist(),
        "n_obs": idx.n_obs_,
        "n_excluded": idx.n_excluded_,
        "n_factors": idx.n_factors_,
        "converged": idx.converged_,
        "kmo": idx.kmo_,
        "msa": idx.msa_.tolist(),
        "bartlett": idx.bartlett_,
        "determinant": idx.determinant_,
        "eigenvalues": idx.eigenvalues_.tolist(),
        "correlation": idx.correlation_.to_numpy().tolist(),
        "unrotated_loadings": _frame(idx.unrotated_loadings_),
        "loadings": _frame(idx.loadings_),
        "phi": idx.phi_.to_numpy().tolist(),
        "score_coefficients": {k: v.to_numpy().tolist() for k, v in idx._coefs.items()},
        "composite_weights": idx.composite_weights_.tolist(),
        "composite_sign": idx.composite_sign_,
        "composite_sign_rule": getattr(idx, "composite_sign_rule_", None),
        "composite_range": idx.composite_range_,
        "factor_names": idx.factor_names_,
        "warnings": idx.warnings_,
        "imputed_share": None if imputed is None else imputed.tolist(),
        # free-form provenance set by the caller (e.g. the CLI records the index system)
        "meta": getattr(idx, "meta_", {}),
        "parallel": None if idx.parallel_ is None else idx.parallel_.to_dict(),
    }


def _restore_derived(obj, cols: list[str]) -> None:
    # structure, communalities and variance follow from the pattern and Φ (as at fit)
    names = list(obj.loadings_.columns)
    p = len(cols)
    L, phi = obj.loadings_.to_numpy(), obj.phi_.to_numpy()
    obj.structure_ = pd.DataFrame(L @ phi, index=cols, columns=names)
    h2 = np.diag(L @ phi @ L.T)
    obj.communalities_ = pd.Series(h2, index=cols, name="communality")
    obj.uniquenesses_ = pd.Series(1 - h2, index=cols, name="uniqueness")
    vx = np.diag(phi @ L.T @ L)
    obj.variance_ = pd.DataFrame(
        {"ss_loadings": vx, "proportion": vx / p, "cumulative": np.cumsum(vx) / p}, index=names
    )
    obj.initial_ss_ = (obj.unrotated_loadings_.to_numpy() ** 2).sum(0)


def from_dict(cls, d: dict):
    """An instance of ``cls`` (the estimator class) restored from :func:`to_dict` output."""
    obj = cls(**d["params"])
    cols = d["columns"]
    obj.rotation_ = obj._used_rotation()
    obj.columns_ = cols
    obj.directions_ = d["directions"]
    obj.log_columns_ = d["log_columns"]
    obj.labels_ = d["labels"]
    obj.mean_ = None if d["mean"] is None else pd.Series(d["mean"], index=cols)
    obj.scale_ = None if d["scale"] is None else pd.Series(d["scale"], index=cols)
    obj.n_obs_ = d["n_obs"]
    obj.n_excluded_ = d["n_excluded"]
    obj.n_factors_ = d["n_factors"]
    obj.converged_ = d["converged"]
    obj.kmo_ = d["kmo"]
    obj.msa_ = pd.Series(d["msa"], index=cols, name="msa")
    obj.bartlett_ = d["bartlett"]
    obj.determinant_ = d["determinant"]
    obj.eigenvalues_ = pd.Series(
        d["eigenvalues"], index=pd.RangeIndex(1, len(cols) + 1, name="component")
    )
    obj.correlation_ = pd.DataFrame(d["correlation"], index=cols, columns=cols)
    obj.unrotated_loadings_ = _unframe(d["unrotated_loadings"])
    obj.loadings_ = _unframe(d["loadings"])
    names = list(obj.loadings_.columns)
    obj.phi_ = pd.DataFrame(d["phi"], index=names, columns=names)
    _restore_derived(obj, cols)
    obj._coefs = {
        k: pd.DataFrame(v, index=cols, columns=names) for k, v in d["score_coefficients"].items()
    }
    obj.score_coefficients_ = obj._coefs[obj.score_method]
    obj.composite_weights_ = pd.Series(d["composite_weights"], index=names, name="weight")
    obj.composite_sign_ = d["composite_sign"]
    obj.composite_sign_rule_ = d.get("composite_sign_rule")
    obj.composite_range_ = None if d["composite_range"] is None else tuple(d["composite_range"])
    obj.factor_names_ = d["factor_names"]
    obj.warnings_ = d["warnings"]
    obj._warnings = list(d["warnings"])
    imputed = d.get("imputed_share")
    obj.imputed_share_ = pd.Series(
        0.0 if imputed is None else imputed, index=cols, name="imputed_share"
    )
    obj.meta_ = d.get("meta") or {}
    obj.parallel_ = ParallelAnalysis.from_dict(d["parallel"]) if d.get("parallel") else None
    return obj


def save(idx, path) -> Path:
    """Write the fitted index as JSON (atomically)."""
    return write_json(path, to_dict(idx))


def load(cls, path):
    """Read an index written by :func:`save` as an instance of ``cls``."""
    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not a JSON index file ({exc})") from None
    if d.get("format") != FORMAT:
        raise DataError(f"{path}: not a crmresearch classification index (no 'format' key)")
    return from_dict(cls, d)
