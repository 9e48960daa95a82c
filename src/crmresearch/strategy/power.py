"""Power: minimum detectable effect per tier and required sample sizes (:func:`power_table`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from crmresearch.errors import DataError
from crmresearch.strategy._common import (
    OVERALL,
    _find_control,
    _numeric_outcome,
    _ordered_levels,
    _require_columns,
)


def _as_sizes(frame_or_sizes, treatment, tier, control, ratio) -> pd.DataFrame:
    """Per-tier n_treated / n_control from a frame, a mapping tier -> n or (n_t, n_c), or an int."""
    if isinstance(frame_or_sizes, pd.DataFrame) and treatment is not None:
        _require_columns(frame_or_sizes, {"treatment": treatment, "tier": tier})
        arms = _ordered_levels(frame_or_sizes[treatment])
        c = _find_control(arms, control, treatment)
        is_c = frame_or_sizes[treatment] == c
        if tier:
            key = frame_or_sizes[tier]
            nt = (~is_c).groupby(key, sort=True, observed=True).sum()
            nc = is_c.groupby(key, sort=True, observed=True).sum()
        else:
            nt = pd.Series({OVERALL: int((~is_c).sum())})
            nc = pd.Series({OVERALL: int(is_c.sum())})
        return pd.DataFrame({"n_treated": nt.astype(int), "n_control": nc.astype(int)})
    if isinstance(frame_or_sizes, pd.DataFrame):
        _require_columns(frame_or_sizes, {"sizes": ["n_treated", "n_control"]})
        return frame_or_sizes[["n_treated", "n_control"]].astype(int)
    if isinstance(frame_or_sizes, (int, np.integer)):
        frame_or_sizes = {OVERALL: int(frame_or_sizes)}
    if isinstance(frame_or_sizes, (Mapping, pd.Series)):
        rows = {}
        for key, v in dict(frame_or_sizes).items():
            if isinstance(v, (tuple, list)):
                rows[key] = (int(v[0]), int(v[1]))
            else:  # total n split by ratio = n_control / n_treated
                nt = int(round(int(v) / (1 + ratio)))
                rows[key] = (nt, int(v) - nt)
        return pd.DataFrame.from_dict(rows, orient="index", columns=["n_treated", "n_control"])
    raise DataError(
        "frame_or_sizes must be an experiment DataFrame (with treatment=), a DataFrame with "
        "n_treated/n_control, a mapping tier -> n or (n_treated, n_control), or an int"
    )


def _scalar(x) -> float:
    """statsmodels' solvers return a 0-d or 1-element array for some inputs: a plain float."""
    return float(np.asarray(x, dtype=float).reshape(-1)[0])


def power_table(
    frame_or_sizes,
    baseline: float | Mapping | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    sd: float | Mapping | None = None,
    effect: float | None = None,
    ratio: float = 1.0,
    treatment: str | None = None,
    outcome: str | None = None,
    tier: str | None = None,
    control: Any = None,
) -> pd.DataFrame:
    r"""Minimum detectable effect per tier and the sample size needed for a given effect.

    Binary outcome (``baseline`` = control rate :math:`p_0`, no ``sd``): Cohen's
    :math:`h = 2\arcsin\sqrt{p_1} - 2\arcsin\sqrt{p_0}` with
    ``statsmodels.stats.power.NormalIndPower``; the MDE is reported as the rate difference
    :math:`p_1 - p_0` (upward). Continuous outcome (``sd`` given): :math:`d = \delta/\sigma` with
    ``TTestIndPower``; MDE = :math:`d\sigma`. Two-sided tests.

    Parameters
    ----------
    frame_or_sizes : experiment DataFrame (with ``treatment=``; ``tier=`` optional), a DataFrame
        with ``n_treated``/``n_control`` indexed by tier, a mapping tier → total n (split by
        ``ratio``) or → (n_treated, n_control), or an int.
    baseline : control mean / rate, scalar or per tier. From a frame with ``outcome=`` it defaults
        to the observed control mean per tier (and ``sd`` to the pooled SD for a non-binary
        outcome).
    sd : outcome standard deviation (continuous outcomes), scalar or per tier.
    effect : absolute effect for the sample-size columns ``n_treated_required``,
        ``n_control_required`` (at the tier's observed control/treated ratio) and
        ``power_at_n`` (power with the current sizes).
    ratio : n_control / n_treated used to split a total n (and for required sizes without a frame).

    R equivalent: ``pwr::pwr.2p2n.test`` (binary), ``pwr::pwr.t2n.test`` (continuous).

    References
    ----------
    Cohen (1988), *Statistical Power Analysis for the Behavioral Sciences*, ch. 2 and 6.
    """
    from statsmodels.stats.power import NormalIndPower, TTestIndPower

    sizes = _as_sizes(frame_or_sizes, treatment, tier, control, ratio)
    if (sizes[["n_treated", "n_control"]] < 2).any().any():
        bad = sizes.index[(sizes < 2).any(axis=1)].tolist()
        raise DataError(f"tiers {bad} have fewer than 2 customers in an arm; cannot compute power")

    # Baseline and SD from the data when not given.
    if outcome is not None and isinstance(frame_or_sizes, pd.DataFrame) and treatment is not None:
        df = frame_or_sizes
        _require_columns(df, {"outcome": outcome})
        yv, binary = _numeric_outcome(df[outcome], outcome)
        arms = _ordered_levels(df[treatment])
        c = _find_control(arms, control, treatment)
        is_c = (df[treatment] == c).to_numpy()
        key = df[tier].to_numpy(dtype=object) if tier else np.full(len(df), OVERALL, dtype=object)
        if baseline is None:
            baseline = {k: float(yv[is_c & (key == k)].mean()) for k in sizes.index}
        if sd is None and not binary:
            sd = {k: float(np.std(yv[key == k], ddof=1)) for k in sizes.index}
    if baseline is None and sd is None:
        raise DataError("give baseline= (control rate, binary outcome) or sd= (continuous outcome)")

    def per(v, k):
        if isinstance(v, (Mapping, pd.Series)):
            if k not in v:
                raise DataError(f"no value for tier {k!r} in {dict(v)}")
            return float(v[k])
        return None if v is None else float(v)

    continuous = sd is not None
    rows = []
    for k, r in sizes.iterrows():
        nt, nc = int(r["n_treated"]), int(r["n_control"])
        p0 = per(baseline, k)
        row = {"tier": k, "n_treated": nt, "n_control": nc, "baseline": p0}
        if continuous:
            s = per(sd, k)
            analysis = TTestIndPower()
            d = _scalar(
                analysis.solve_power(
                    effect_size=None,
                    nobs1=nt,
                    alpha=alpha,
                    power=power,
                    ratio=nc / nt,
                    alternative="two-sided",
                )
            )
            row.update({"sd": s, "mde_effect_size": d, "mde": d * s})
        else:
            if p0 is None or not 0 < p0 < 1:
                raise DataError(f"tier {k!r}: binary baseline rate must be in (0, 1), got {p0}")
            analysis = NormalIndPower()
            h = _scalar(
                analysis.solve_power(
                    effect_size=None,
                    nobs1=nt,
                    alpha=alpha,
                    power=power,
                    ratio=nc / nt,
                    alternative="two-sided",
                )
            )
            p1 = math.sin(min(math.pi / 2, (h + 2 * math.asin(math.sqrt(p0))) / 2)) ** 2
            row.update({"mde_effect_size": h, "mde": p1 - p0})
        row["mde_relative"] = row["mde"] / p0 if p0 else np.nan
        if effect is not None:
            if continuous:
                es = effect / row["sd"]
            else:
                from statsmodels.stats.proportion import proportion_effectsize

                p1 = p0 + effect
                if not 0 < p1 < 1:
                    raise DataError(f"tier {k!r}: baseline + effect = {p1} is not a rate in (0, 1)")
                es = proportion_effectsize(p1, p0)
            rat = nc / nt if isinstance(frame_or_sizes, pd.DataFrame) else ratio
            n1 = _scalar(
                analysis.solve_power(
                    effect_size=es,
                    nobs1=None,
                    alpha=alpha,
                    power=power,
                    ratio=rat,
                    alternative="two-sided",
                )
            )
            row["n_treated_required"] = int(math.ceil(n1))
            row["n_control_required"] = int(math.ceil(n1 * rat))
            row["power_at_n"] = _scalar(
                analysis.power(
                    effect_size=es, nobs1=nt, alpha=alpha, ratio=nc / nt, alternative="two-sided"
                )
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update(
        {"alpha": alpha, "power": power, "kind": "continuous" if continuous else "binary"}
    )
    return out
