"""Figures for every step of the data flow; each function returns a matplotlib ``Figure``.

One submodule per step (``plots.index``, ``plots.tiers``, ``plots.loss``, ``plots.strategy``);
the public functions are re-exported here so that users write ``crmresearch.plots.scree(...)``.
"""

from __future__ import annotations

import importlib

_SUBMODULES = ("style", "index", "tiers", "loss", "strategy")
__all__: list[str] = []

for _name in _SUBMODULES:
    try:
        _mod = importlib.import_module(f"crmresearch.plots.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name == f"crmresearch.plots.{_name}":
            continue
        raise
    for _public in getattr(_mod, "__all__", ()):
        globals()[_public] = getattr(_mod, _public)
        __all__.append(_public)
