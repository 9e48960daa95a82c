"""Rank-based tiers (ABC, quantiles, Pareto) and fixed grades."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from crmresearch.errors import DataError
from crmresearch.tiers._base import (
    _TOL,
    _as_values,
    _check_labels,
    _check_shares,
    _finish,
    _numbers,
    _ordered,
    _rank_tiers,
)


# --------------------------------------------------------------------------------------------
# rank-based schemes
# --------------------------------------------------------------------------------------------
def abc(values, shares: Sequence[float] = (0.05, 0.15, 0.80), labels: Sequence[str] | None = None):
    """ABC tiers by customer share: A = top 5 % of customers by value, B = next 15 %, C = rest.

    Parameters
    ----------
    values : Series
        One value per customer (index = customer id), e.g. calibration net revenue.
    shares : sequence of float
        Customer share of each tier, best first; must sum to 1.
    labels : sequence of str, optional
        Tier names, best first (default ``A``, ``B``, ``C``, ...).

    Returns
    -------
    Series
        Ordered categorical, best tier first; ``attrs["rule"]`` describes the rule.

    Notes
    -----
    With ``n`` customers having a value and rank ``r`` (1 = largest value; tied values share the
    worst rank of their group), tier ``j`` holds the customers with
    ``floor(c_{j-1} n) < r <= floor(c_j n)`` where ``c_j`` is the cumulative share. Ties never
    split, a top tier never exceeds its share, all-equal values put everyone in the last tier,
    NaN values get a NaN tier (counted in ``attrs["n_missing"]``).

    R equivalent: ``cut(rank(-x, ties.method="max"), c(0, floor(cumsum(shares) * n)))`` on the
    non-missing values.
    """
    x = _as_values(values)
    arr = _check_shares(shares, "abc shares")
    default = [chr(ord("A") + i) for i in range(len(arr))]
    labels = _check_labels(labels, len(arr), default)
    codes = _rank_tiers(x, np.cumsum(arr))
    pct = ", ".join(f"{lab} {s:.0%}" for lab, s in zip(labels, arr, strict=True))
    rule = (
        f"ABC by {x.name or 'value'}: customers ranked by value, tiers by customer share ({pct}); "
        "ties stay together in the lower tier"
    )
    return _finish(
        _ordered(codes, labels, x.index),
        name="abc",
        scheme="abc",
        rule=rule,
        n_missing=int(x.isna().sum()),
    )


def quantiles(values, q: int | Sequence[float] = 4, labels: Sequence[str] | None = None):
    """Quantile tiers, best first: ``Q1`` = top ``1/q`` of customers by value.

    Parameters
    ----------
    values : Series
    q : int or sequence of float
        Number of equal-share tiers, or the customer shares of each tier (best first, sum 1).
    labels : sequence of str, optional
        Default ``Q1`` (top) ... ``Qq``.

    Notes
    -----
    Same rank rule as :func:`abc` (ties stay together in the lower tier; NaN kept as NaN tier;
    all-equal values -> all in the last tier). This differs from ``pandas.qcut``, which cuts on
    value quantiles and fails on heavy ties. R: ``dplyr::ntile`` splits ties; this does not.
    """
    if isinstance(q, (int, np.integer)):
        if q < 1:
            raise ValueError(f"q must be >= 1, got {q}")
        shares = np.full(int(q), 1.0 / int(q))
    else:
        shares = _check_shares(q, "quantiles q")
    default = [f"Q{i + 1}" for i in range(len(shares))]
    labels = _check_labels(labels, len(shares), default)
    x = _as_values(values)
    codes = _rank_tiers(x, np.cumsum(shares))
    rule = (
        f"{len(shares)} quantile tiers of {x.name or 'value'} by customer share "
        f"({', '.join(f'{s:.0%}' for s in shares)}), best first; ties stay together in the lower tier"
    )
    return _finish(
        _ordered(codes, labels, x.index),
        name="quantile",
        scheme="quantiles",
        rule=rule,
        n_missing=int(x.isna().sum()),
    )


def pareto(values, cum: Sequence[float] = (0.80, 0.95), labels: Sequence[str] | None = None):
    """Pareto tiers by cumulative *value* share: A = customers making the first 80 % of value.

    Parameters
    ----------
    values : Series
        Non-negative values (e.g. revenue). Negative values raise ``DataError``.
    cum : sequence of float
        Increasing cumulative value shares closing each tier except the last.
    labels : sequence of str, optional
        Default ``A``, ``B``, ``C``, ...

    Notes
    -----
    Customers are sorted by value, largest first; ``S_i`` is the cumulative share of total value
    up to and including customer ``i``, where tied customers all take the ``S`` of the *last*
    member of their tie group. Tier ``j`` holds the customers with ``cum_{j-1} < S_i <= cum_j``,
    so a tier never exceeds its value share (the customer who crosses 80 % goes to B).
    All-zero values (total 0) put everyone in the last tier; NaN -> NaN tier.

    Formula: ``S_i = sum_{k: x_k >= x_i} x_k / sum_k x_k``. R: ``cumsum(sort(x, TRUE)) / sum(x)``.
    """
    x = _as_values(values)
    cum_arr = np.asarray(cum, dtype=float)
    if (
        cum_arr.ndim != 1
        or (np.diff(cum_arr) <= 0).any()
        or (cum_arr <= 0).any()
        or (cum_arr >= 1).any()
    ):
        raise ValueError(
            f"pareto cum must increase strictly within (0, 1), got {_numbers(cum_arr)}"
        )
    k = len(cum_arr) + 1
    labels = _check_labels(labels, k, [chr(ord("A") + i) for i in range(k)])
    valid = x.notna()
    if (x[valid] < 0).any():
        n_neg = int((x[valid] < 0).sum())
        raise DataError(
            f"pareto: {n_neg} negative value(s) in {x.name or 'values'}; cumulative value shares "
            "need non-negative values - pass values.clip(lower=0) or tier by abc() instead"
        )
    codes = np.full(len(x), -1, dtype=int)
    v = x[valid]
    total = float(v.sum())
    if len(v):
        if total <= 0:
            codes[valid.to_numpy()] = k - 1
        else:
            # cumulative share at the end of each tie group = sum of all values >= x_i
            sorted_vals = np.sort(v.to_numpy())[::-1]
            csum = np.cumsum(sorted_vals)
            # index of the last position holding a value >= x_i in the descending order
            last = np.searchsorted(-sorted_vals, -v.to_numpy(), side="right") - 1
            share = csum[last] / total
            codes[valid.to_numpy()] = np.searchsorted(cum_arr + _TOL, share, side="left")
    rule = (
        f"Pareto by {x.name or 'value'}: customers sorted by value; tiers close at cumulative "
        f"value shares {', '.join(f'{c:.0%}' for c in cum_arr)}; ties stay together in the lower tier"
    )
    return _finish(
        _ordered(codes, labels, x.index),
        name="pareto",
        scheme="pareto",
        rule=rule,
        n_missing=int(x.isna().sum()),
    )


# --------------------------------------------------------------------------------------------
# fixed grades
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GradeScheme:
    """Fixed-edge grades: ``edges`` ascending upper limits (inclusive), ``labels`` best first.

    ``len(labels) == len(edges) + 1``: the best grade is ``> edges[-1]``, the worst ``<= edges[0]``.
    """

    edges: tuple[float, ...]
    labels: tuple[str, ...]
    unit: str = ""
    name: str = "grades"


#: Monthly sales-volume grades (units per month), upper limits inclusive:
#: > 20, 14-20, 10-14, 7-10, 4-7, 2-4, 1-2, <= 1. A customer with exactly 14 units/month is in
#: ``10-14``; exactly 1 unit/month is in the bottom grade ``<=1`` (the "< 1" grade of the source
#: scheme, made inclusive so that every value has exactly one grade).
MONTHLY_VOLUME_GRADES = GradeScheme(
    edges=(1.0, 2.0, 4.0, 7.0, 10.0, 14.0, 20.0),
    labels=(">20", "14-20", "10-14", "7-10", "4-7", "2-4", "1-2", "<=1"),
    unit="units per month",
    name="monthly_volume_grades",
)


def grades(values, edges: Sequence[float] | GradeScheme, labels: Sequence[str] | None = None):
    """Fixed-edge grades with inclusive upper limits, best (highest) grade first.

    Parameters
    ----------
    values : Series
    edges : sequence of float or GradeScheme
        Strictly increasing upper limits; value ``v`` is in the bin ``(e_{i-1}, e_i]``; values
        above the last edge form the best grade. Pass :data:`MONTHLY_VOLUME_GRADES` for the
        eight monthly-volume grades.
    labels : sequence of str, optional
        ``len(edges) + 1`` names, best (highest values) first. Default ``G1`` ... ``Gk``.

    Notes
    -----
    Unlike the rank schemes, grades do not depend on other customers: ties trivially share a
    grade, all-equal values share one grade, any number of customers works. NaN -> NaN grade.
    R: ``cut(x, c(-Inf, edges, Inf), right = TRUE)`` with reversed levels.
    """
    unit = ""
    scheme_name = "grades"
    if isinstance(edges, GradeScheme):
        if labels is None:
            labels = edges.labels
        unit, scheme_name = edges.unit, edges.name
        edges = edges.edges
    e = np.asarray(edges, dtype=float)
    if e.ndim != 1 or e.size == 0 or (np.diff(e) <= 0).any():
        raise ValueError(f"grades edges must be strictly increasing, got {_numbers(e)}")
    k = len(e) + 1
    labels = _check_labels(labels, k, [f"G{i + 1}" for i in range(k)])
    x = _as_values(values)
    valid = x.notna().to_numpy()
    codes = np.full(len(x), -1, dtype=int)
    # searchsorted(side="left"): v <= e_0 -> 0, e_0 < v <= e_1 -> 1, ... (inclusive upper limits)
    ascending_bin = np.searchsorted(e, x.to_numpy()[valid], side="left")
    codes[valid] = (k - 1) - ascending_bin  # best (highest) grade first
    bounds = ", ".join(f"{lab}" for lab in labels)
    rule = (
        f"fixed grades of {x.name or 'value'}{' (' + unit + ')' if unit else ''}: {bounds}; "
        "upper limits inclusive"
    )
    return _finish(
        _ordered(codes, labels, x.index),
        name=scheme_name,
        scheme="grades",
        rule=rule,
        n_missing=int((~valid).sum()),
    )
