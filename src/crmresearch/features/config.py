"""Index systems: which indicators, grouped into dimensions, filled and log-transformed.

The bundled systems are YAML files in ``crmresearch/features/configs/`` (``ecommerce`` is the
default); :func:`load_config` also reads a user's own YAML file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from crmresearch.features.registry import INDICATORS

__all__ = ["DIMENSIONS", "IndexConfig", "apply_config", "available_configs", "load_config"]

_CONFIG_PACKAGE = "crmresearch.features"

DIMENSIONS = ("contribution", "loyalty", "activity", "credit", "tenure")


@dataclass(frozen=True)
class IndexConfig:
    """An index system: which indicators, grouped into dimensions, and how to prepare them.

    Attributes
    ----------
    name : str
    description : str
    dimensions : dict[str, tuple[str, ...]]
        Dimension name -> indicator names (each indicator in exactly one dimension).
    indicators : tuple[str, ...]
        All indicators in dimension order.
    log_transform : tuple[str, ...]
        Skewed amounts/counts to transform with sign(x) * log1p(|x|) before factor analysis.
    fill : dict[str, float]
        Value that replaces an undefined (NaN) indicator, with the reason in the YAML comments.
    path : str
    """

    name: str
    description: str
    dimensions: dict[str, tuple[str, ...]]
    indicators: tuple[str, ...]
    log_transform: tuple[str, ...] = ()
    fill: dict[str, float] = field(default_factory=dict)
    path: str = ""


def available_configs() -> list[str]:
    """Names of the bundled index systems (``ecommerce`` is the default)."""
    folder = resources.files(_CONFIG_PACKAGE) / "configs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_config(name_or_path: str | os.PathLike = "ecommerce") -> IndexConfig:
    """Load a bundled index system by name (``ecommerce``, ``retail``, ``bank``) or a YAML file.

    Raises
    ------
    ValueError
        Unknown name, unknown indicator, an indicator in two dimensions, an unknown dimension,
        or ``log_transform``/``fill`` naming an indicator that is not in the system.
    """
    import yaml

    text_name = str(name_or_path)
    if re.fullmatch(r"[A-Za-z0-9_\-]+", text_name) and not text_name.endswith((".yaml", ".yml")):
        resource = resources.files(_CONFIG_PACKAGE) / "configs" / f"{text_name}.yaml"
        if not resource.is_file():
            raise ValueError(
                f"unknown index system {text_name!r}; choose from {', '.join(available_configs())} "
                "or give a path to a .yaml file"
            )
        text, where = resource.read_text(encoding="utf-8"), f"{text_name}.yaml"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such index-system file")
        text, where = path.read_text(encoding="utf-8"), str(path)
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict) or "dimensions" not in raw:
        raise ValueError(f"{where}: expected a mapping with 'name' and 'dimensions'")
    dims: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for dim, items in (raw.get("dimensions") or {}).items():
        if dim not in DIMENSIONS:
            raise ValueError(f"{where}: unknown dimension {dim!r}; use {', '.join(DIMENSIONS)}")
        items = tuple(items or ())
        for item in items:
            if item not in INDICATORS:
                raise ValueError(
                    f"{where}: unknown indicator {item!r} in dimension {dim!r}; choose from "
                    f"{', '.join(INDICATORS)}"
                )
            if item in seen:
                raise ValueError(f"{where}: {item!r} is in both {seen[item]!r} and {dim!r}")
            seen[item] = dim
        dims[dim] = items
    indicators = tuple(seen)
    if not indicators:
        raise ValueError(f"{where}: the index system lists no indicators")
    log_transform = tuple(raw.get("log_transform") or ())
    fill = {k: float(v) for k, v in (raw.get("fill") or {}).items()}
    for key, names in (("log_transform", log_transform), ("fill", tuple(fill))):
        stray = [n for n in names if n not in seen]
        if stray:
            raise ValueError(f"{where}: {key} names {stray} that are not in any dimension")
    return IndexConfig(
        name=str(raw.get("name", Path(where).stem)),
        description=str(raw.get("description", "")).strip(),
        dimensions=dims,
        indicators=indicators,
        log_transform=log_transform,
        fill=fill,
        path=where,
    )


def apply_config(features: pd.DataFrame, config: IndexConfig | str) -> pd.DataFrame:
    """The index system's input matrix: its indicators present in ``features``, filled, logged.

    Steps: keep the config's indicators that ``features`` has (the rest go to
    ``attrs["skipped"]``); replace NaN by ``config.fill`` values (counts in ``attrs["filled"]``);
    apply sign(x) * log1p(|x|) to ``config.log_transform`` columns. Rows that still hold a
    NaN are kept and counted in ``attrs["undefined"]`` for the caller to handle.
    """
    if not isinstance(config, IndexConfig):
        config = load_config(config)
    keep = [c for c in config.indicators if c in features.columns]
    skipped = {c: "not in the features" for c in config.indicators if c not in features.columns}
    skipped.update({k: v for k, v in features.attrs.get("skipped", {}).items() if k in skipped})
    out = features[keep].astype("float64")
    filled = {}
    for col, value in config.fill.items():
        if col in out.columns and out[col].isna().any():
            filled[col] = int(out[col].isna().sum())
            out[col] = out[col].fillna(value)
    for col in config.log_transform:
        if col in out.columns:
            out[col] = np.sign(out[col]) * np.log1p(out[col].abs())
    out.attrs = {
        **{k: v for k, v in features.attrs.items() if k in ("window", "rows", "source")},
        "config": config.name,
        "skipped": skipped,
        "filled": filled,
        "undefined": {c: int(n) for c, n in out.isna().sum().items() if n},
    }
    return out
