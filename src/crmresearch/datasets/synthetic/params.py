"""Checking and normalizing the arguments of :func:`make_crm_data`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmresearch.datasets.synthetic.constants import (
    CAMPAIGN_EFFECTS,
    CAMPAIGN_ORDER_VALUE,
    REGIONS,
    ROLLOUT_STARTS,
)


def _check_params(**p) -> dict[str, Any]:
    n = p["n_customers"]
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 20:
        raise ValueError(f"n_customers must be an integer >= 20, got {n!r}")
    p["n_customers"] = int(n)
    if isinstance(p["seed"], bool) or not isinstance(p["seed"], (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {p['seed']!r}")
    p["seed"] = int(p["seed"])
    t0, ce, he = (pd.Timestamp(p[k]) for k in ("start", "calibration_end", "holdout_end"))
    if not t0 < ce < he:
        raise ValueError(
            f"need start < calibration_end < holdout_end, got {t0:%Y-%m-%d}, {ce:%Y-%m-%d}, "
            f"{he:%Y-%m-%d}"
        )
    for k in ("start", "calibration_end", "holdout_end"):
        p[k] = f"{pd.Timestamp(p[k]):%Y-%m-%d}"
    if not 0.0 <= p["neglect_effect"] < 1.0:
        raise ValueError(f"neglect_effect must be in [0, 1), got {p['neglect_effect']!r}")
    if not 0.0 < p["core_share"] < 1.0:
        raise ValueError(f"core_share must be in (0, 1), got {p['core_share']!r}")
    if not 0.0 < p["treatment_share"] < 1.0:
        raise ValueError(f"treatment_share must be in (0, 1), got {p['treatment_share']!r}")
    if not 0.0 < p["base_churn"] < 1.0:
        raise ValueError(f"base_churn must be in (0, 1), got {p['base_churn']!r}")
    if not 0.0 <= p["return_probability"] < 1.0:
        raise ValueError(f"return_probability must be in [0, 1), got {p['return_probability']!r}")
    for name, default in (
        ("campaign_effects", CAMPAIGN_EFFECTS),
        ("campaign_order_value", CAMPAIGN_ORDER_VALUE),
    ):
        given = dict(default if p[name] is None else p[name])
        unknown = set(given) - {"A", "B", "C"}
        missing = {"A", "B", "C"} - set(given)
        if unknown or missing:
            raise ValueError(
                f"{name} needs exactly the tiers A, B, C; missing {sorted(missing)}, "
                f"unknown {sorted(unknown)}"
            )
        for t, v in given.items():
            if not np.isfinite(v) or v < 0 or (name == "campaign_order_value" and v <= 0):
                raise ValueError(
                    f"{name}[{t!r}] must be a finite number >= 0 (> 0 for values), got {v!r}"
                )
        p[name] = {t: float(given[t]) for t in "ABC"}
    if not np.isfinite(p["rollout_effect"]) or p["rollout_effect"] < 0:
        raise ValueError(f"rollout_effect must be >= 0, got {p['rollout_effect']!r}")
    if not p["rollout_order_value"] > 0:
        raise ValueError(f"rollout_order_value must be > 0, got {p['rollout_order_value']!r}")
    if p["rollout_starts"] is None:
        # default cohorts keep their offsets (2, 4, 6, 8 months after the first month start on
        # or after `start`) when the windows move; cohorts past the calibration end are dropped
        first = t0 if t0.day == 1 else t0 + pd.offsets.MonthBegin(1)
        starts = {}
        for region, default in ROLLOUT_STARTS.items():
            offset = (pd.Timestamp(default).year - 2023) * 12 + pd.Timestamp(default).month - 1
            ts = first + pd.DateOffset(months=offset)
            if ts <= ce:
                starts[region] = ts
    else:
        starts = dict(p["rollout_starts"])
    for region, s in starts.items():
        if region not in REGIONS:
            raise ValueError(f"rollout_starts: unknown region {region!r}; regions are {REGIONS}")
        ts = pd.Timestamp(s)
        if ts.day != 1 or not t0 < ts <= ce:
            raise ValueError(
                f"rollout_starts[{region!r}] = {s!r} must be the first day of a month after "
                f"start and within the calibration window (flat pre-period needed)"
            )
        starts[region] = f"{ts:%Y-%m-%d}"
    p["rollout_starts"] = starts
    p["rollout_effect"] = float(p["rollout_effect"])
    p["rollout_order_value"] = float(p["rollout_order_value"])
    return p
