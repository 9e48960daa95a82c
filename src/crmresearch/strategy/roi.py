"""Return on a strategy: incremental profit per tier and the break-even cost (:func:`roi`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from crmresearch.errors import DataError
from crmresearch.strategy._common import _require_columns


def roi(effects, margin: float | Mapping, cost_per_customer: float | Mapping) -> pd.DataFrame:
    r"""Incremental profit per treated customer and per tier, and the break-even cost.

    For a revenue effect :math:`\hat\tau` (per treated customer) with CI :math:`[l, u]`:

    - incremental gross profit per customer = ``margin`` · τ̂ (CI ``margin`` · [l, u]),
    - incremental profit per customer = ``margin`` · τ̂ − ``cost_per_customer`` (CI shifted alike),
    - total incremental profit = that × ``n_treated``,
    - break-even cost per customer = ``margin`` · τ̂ (with the same CI): the strategy pays while its
      cost per treated customer is below it; ``roi`` = profit / cost. When τ̂ ≤ 0 there is no
      break-even cost (the strategy does not pay at any cost): ``break_even_cost`` and its CI are
      NaN and ``has_break_even`` is False; profit is still margin · τ̂ − cost.

    Parameters
    ----------
    effects : TierEffects or DataFrame with ``tier``, ``effect``, ``ci_low``, ``ci_high``,
        ``n_treated`` (a revenue effect, e.g. from :func:`effect_by_tier` on ``revenue``).
    margin : float or {tier: float}
        Gross margin rate applied to incremental revenue (0–1), per tier if a mapping.
    cost_per_customer : float or {tier: float}
        Cost of the strategy per treated customer.
    """
    table = effects.table if hasattr(effects, "table") else pd.DataFrame(effects)
    _require_columns(table, {"effects": ["tier", "effect", "ci_low", "ci_high", "n_treated"]})

    def per_tier(value, name):
        if isinstance(value, Mapping):
            missing = [t for t in table["tier"] if t not in value]
            if missing:
                raise DataError(f"{name} has no value for tiers {missing}; give one per tier")
            return table["tier"].map(value).astype(float).to_numpy()
        return np.full(len(table), float(value))

    m = per_tier(margin, "margin")
    c = per_tier(cost_per_customer, "cost_per_customer")
    out = table[[col for col in ("tier", "arm", "n_treated") if col in table.columns]].copy()
    out["margin"] = m
    out["cost_per_customer"] = c
    effect = table["effect"].to_numpy(dtype=float)
    gross = m * effect  # incremental gross profit per treated customer
    gross_low, gross_high = m * table["ci_low"].to_numpy(), m * table["ci_high"].to_numpy()
    positive = effect > 0
    out["gross_profit_per_customer"] = gross
    out["has_break_even"] = positive
    out["break_even_cost"] = np.where(positive, gross, np.nan)
    out["break_even_ci_low"] = np.where(positive, gross_low, np.nan)
    out["break_even_ci_high"] = np.where(positive, gross_high, np.nan)
    out["profit_per_customer"] = gross - c
    out["profit_ci_low"] = gross_low - c
    out["profit_ci_high"] = gross_high - c
    n = table["n_treated"].to_numpy(dtype=float)
    out["total_profit"] = out["profit_per_customer"] * n
    out["total_profit_ci_low"] = out["profit_ci_low"] * n
    out["total_profit_ci_high"] = out["profit_ci_high"] * n
    with np.errstate(divide="ignore", invalid="ignore"):
        out["roi"] = np.where(c > 0, out["profit_per_customer"] / c, np.nan)
    return out.reset_index(drop=True)
