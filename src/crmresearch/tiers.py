"""Customer tiers: from a Series of values to an ordered categorical Series (best tier first).

Every function returns a ``pandas.Series`` of ordered ``Categorical`` dtype, aligned to the input
index, whose category order is *best tier first* (so ``cat.codes == 0`` is the top tier). Every
category is kept even when empty, so crosstabs and migration matrices always have the same shape.
The result records how it was made in ``.attrs``:

- ``attrs["rule"]``: one human-readable sentence for reports;
- ``attrs["scheme"]``: short scheme name (``"abc"``, ``"pareto"``, ...);
- ``attrs["n_missing"]``: customers whose value was missing (NaN) and therefore got a NaN tier.

Conventions shared by the rank-based schemes (``abc``, ``quantiles``, ``value_matrix``,
``pareto``):

- **NaN** values are never dropped: the customer stays in the result with a NaN tier and is counted
  in ``attrs["n_missing"]``. Shares are taken over the ``n`` customers with a value.
- **Ties** stay together: tied customers always get the same tier. A tie group that straddles a
  boundary goes to the *lower* tier (its members are ranked at the worst position of the group,
  ``rank(method="max")``), so a top tier never holds more than its nominal share of customers.
  Consequence: when all values are equal, every customer is in the bottom tier.
- **Few customers**: a tier holds the customers whose rank ``r`` (1 = best) satisfies
  ``r <= floor(cumulative_share * n)``; with fewer customers than tiers the top tiers are simply
  empty (e.g. ABC with 2 customers: A and B empty, both customers C).
- A single tier (``shares=(1.0,)``) puts everyone with a value in that tier.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmresearch.errors import DataError

__all__ = [
    "abc",
    "pareto",
    "quantiles",
    "grades",
    "GradeScheme",
    "MONTHLY_VOLUME_GRADES",
    "value_matrix",
    "VALUE_MATRIX_LABELS",
    "rfm_scores",
    "rfm_segments",
    "DEFAULT_RFM_SEGMENTS",
    "clusters",
    "tier_counts",
]

_TOL = 1e-9  # floating tolerance on cumulative shares (0.05 * 20 must give exactly 1 customer)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _as_values(values, name: str = "values") -> pd.Series:
    """Coerce to a float Series; keep the index; reject non-numeric input with a clear message."""
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise DataError(
                f"{name}: expected one column of values, got a DataFrame with {values.shape[1]} "
                "columns; pass a single column, e.g. features['monetary']"
            )
        values = values.iloc[:, 0]
    if not isinstance(values, pd.Series):
        values = pd.Series(values)
    try:
        out = pd.to_numeric(values, errors="raise").astype("float64")
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{name} ({values.name!r}): values must be numeric ({exc}); convert the column first"
        ) from None
    if np.isinf(out.to_numpy()).any():
        n_inf = int(np.isinf(out.to_numpy()).sum())
        raise DataError(
            f"{name} ({values.name!r}): {n_inf} infinite value(s); replace them with NaN or a "
            "finite number before tiering"
        )
    if out.index.has_duplicates:
        dup = out.index[out.index.duplicated()][0]
        raise DataError(
            f"{name}: index has duplicate customer id {dup!r}; tiers need one row per customer"
        )
    return out


def _ordered(codes: np.ndarray, labels: Sequence[str], index: pd.Index) -> pd.Series:
    """Build an ordered categorical Series from integer codes (-1 = NaN)."""
    cat = pd.Categorical.from_codes(codes.astype(int), categories=list(labels), ordered=True)
    return pd.Series(cat, index=index)


def _finish(tiers: pd.Series, *, name: str, scheme: str, rule: str, n_missing: int) -> pd.Series:
    tiers.name = name
    tiers.attrs["scheme"] = scheme
    tiers.attrs["rule"] = rule
    tiers.attrs["n_missing"] = int(n_missing)
    return tiers


def _worst_rank(values: pd.Series) -> pd.Series:
    """Rank 1 = largest value; ties share the worst (largest) rank of their group."""
    return values.rank(ascending=False, method="max")


def _rank_tiers(values: pd.Series, cum_shares: Sequence[float]) -> np.ndarray:
    """Codes 0..k-1 from cumulative customer shares; the last tier takes the rest; NaN -> -1."""
    valid = values.notna()
    n = int(valid.sum())
    codes = np.full(len(values), -1, dtype=int)
    if n == 0:
        return codes
    ranks = _worst_rank(values[valid]).to_numpy()
    cutoffs = [math.floor(c * n + _TOL) for c in cum_shares[:-1]]
    # searchsorted(side="left") on ranks: tier j holds cutoffs[j-1] < rank <= cutoffs[j]
    valid_codes = np.searchsorted(np.asarray(cutoffs, dtype=float), ranks, side="left")
    codes[valid.to_numpy()] = valid_codes
    return codes


def _numbers(values) -> str:
    """Numbers for a message, as a user typed them: "0.5, 0.6" (not np.float64 reprs)."""
    return ", ".join(f"{float(v):g}" for v in np.ravel(values))


def _check_shares(shares: Sequence[float], what: str) -> np.ndarray:
    arr = np.asarray(shares, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{what}: give at least one share, e.g. (0.05, 0.15, 0.80)")
    if (arr <= 0).any():
        raise ValueError(f"{what}: every share must be > 0, got {_numbers(arr)}")
    if not math.isclose(arr.sum(), 1.0, abs_tol=1e-6):
        raise ValueError(f"{what}: shares must sum to 1, got {_numbers(arr)} (sum {arr.sum():g})")
    return arr


def _check_labels(labels: Sequence[str] | None, k: int, default: Sequence[str]) -> list[str]:
    labels = list(default if labels is None else labels)
    if len(labels) != k:
        raise ValueError(f"labels: need {k} labels (best first), got {len(labels)}: {labels}")
    if len(set(labels)) != k:
        raise ValueError(f"labels must be distinct, got {labels}")
    return [str(x) for x in labels]


def tier_counts(tiers: pd.Series) -> pd.Series:
    """Customers per tier, best tier first, with a final ``"<NA>"`` row counting missing tiers."""
    counts = tiers.value_counts(sort=False, dropna=True)
    counts = counts.reindex(tiers.cat.categories, fill_value=0)
    counts.loc["<NA>"] = int(tiers.isna().sum())
    counts.name = "customers"
    return counts


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


# --------------------------------------------------------------------------------------------
# value matrix
# --------------------------------------------------------------------------------------------
VALUE_MATRIX_LABELS = ("core", "potential", "general", "problem")


def value_matrix(
    current,
    potential,
    split: float = 0.5,
    credit_fail=None,
    labels: Sequence[str] = VALUE_MATRIX_LABELS,
):
    """Customer value matrix: current value x potential value -> core / potential / general / problem.

    Parameters
    ----------
    current, potential : Series
        Current value (e.g. calibration revenue) and potential value (e.g. index composite or a
        growth score), same customer index.
    split : float in (0, 1)
        Customer share counted as *low* on each axis; the top ``1 - split`` are *high*
        (same rank rule as :func:`abc`: ties stay together on the low side).
    credit_fail : Series of bool, optional
        Customers failing a credit rule (e.g. from :func:`crmresearch.loss.problem_customers`)
        are ``problem`` whatever their values.
    labels : 4 names for (core, potential, general, problem).

    Notes
    -----
    core = high current & high potential; potential = low current & high potential;
    general = high current & low potential; problem = low & low, or ``credit_fail``.
    A NaN on either axis gives a NaN tier (unless ``credit_fail`` is True: then ``problem``).
    """
    if not 0 < split < 1:
        raise ValueError(f"value_matrix split must be in (0, 1), got {split}")
    labels = _check_labels(labels, 4, VALUE_MATRIX_LABELS)
    cur = _as_values(current, "current")
    pot = _as_values(potential, "potential")
    if not cur.index.equals(pot.index):
        if set(cur.index) != set(pot.index):
            missing = len(set(cur.index) ^ set(pot.index))
            raise DataError(
                f"value_matrix: current and potential cover different customers ({missing} ids in "
                "only one of them); align them first, e.g. potential.reindex(current.index)"
            )
        pot = pot.reindex(cur.index)
    high_cur = _rank_tiers(cur, [1 - split, 1.0]) == 0
    high_pot = _rank_tiers(pot, [1 - split, 1.0]) == 0
    codes = np.where(
        high_cur & high_pot, 0, np.where(high_pot, 1, np.where(high_cur, 2, 3))
    ).astype(int)
    missing = (cur.isna() | pot.isna()).to_numpy()
    codes[missing] = -1
    n_credit = 0
    if credit_fail is not None:
        cf = pd.Series(credit_fail).reindex(cur.index)
        cf = cf.fillna(False).astype(bool).to_numpy()
        n_credit = int(cf.sum())
        codes[cf] = 3
    rule = (
        f"value matrix: high = top {1 - split:.0%} of customers on current value "
        f"({cur.name or 'current'}) and on potential value ({pot.name or 'potential'}); "
        "core = high/high, potential = low current & high potential, general = high current & "
        "low potential, problem = low/low"
        + (f" or failing a credit rule ({n_credit} customers)" if credit_fail is not None else "")
    )
    return _finish(
        _ordered(codes, labels, cur.index),
        name="value_matrix",
        scheme="value_matrix",
        rule=rule,
        n_missing=int((codes == -1).sum()),
    )


# --------------------------------------------------------------------------------------------
# RFM segments (PyMC-Marketing compatible)
# --------------------------------------------------------------------------------------------
#: Default segments of PyMC-Marketing's ``pymc_marketing.clv.utils.rfm_segments``
#: (``_default_rfm_segment_config``), keyed by three-digit R-F-M quartile score (4 = best).
#: Customers with any other score are ``"Other"``. Order here = category order (best first).
DEFAULT_RFM_SEGMENTS: dict[str, tuple[str, ...]] = {
    "Premium Customer": ("334", "443", "444", "344", "434", "433", "343", "333"),
    "Repeat Customer": ("244", "234", "232", "332", "143", "233", "243"),
    "Top Spender": (
        "424",
        "414",
        "144",
        "314",
        "324",
        "124",
        "224",
        "423",
        "413",
        "133",
        "323",
        "313",
        "134",
    ),  # fmt: skip
    "At Risk Customer": (
        "422",
        "223",
        "212",
        "122",
        "222",
        "132",
        "322",
        "312",
        "412",
        "123",
        "214",
    ),  # fmt: skip
    "Inactive Customer": ("411", "111", "113", "114", "112", "211", "311"),
}


def _rfm_quartile(values: pd.Series, reverse: bool) -> tuple[pd.Series, int]:
    """``pandas.qcut(q=4, duplicates="drop")`` with PyMC-Marketing's label fallback (4 -> 3 -> 2)."""
    for n_labels in (4, 3, 2):
        labels = list(range(n_labels, 0, -1)) if reverse else list(range(1, n_labels + 1))
        try:
            cut = pd.qcut(values, q=4, labels=labels, duplicates="drop")
        except ValueError:
            continue
        if n_labels == 2:
            # as PyMC-Marketing: heavy ties leave only two bins; segments needing 3-4 are empty
            warnings.warn(
                f"RFM score will not exceed 2 for {values.name} (heavy ties); specify a custom "
                "segment_config",
                UserWarning,
                stacklevel=3,
            )
        return cut, n_labels
    raise DataError(
        f"rfm_segments: cannot form quartiles of {values.name!r} (all values equal?); "
        "pass a custom scheme, e.g. tiers.grades()"
    )


def rfm_scores(features: pd.DataFrame) -> pd.DataFrame:
    """RFM quartile scores as PyMC-Marketing computes them, from a features table.

    Columns used: ``recency_days`` (days since the last purchase), ``purchase_days`` (distinct
    purchase dates; falls back to ``frequency``) and ``monetary`` (net revenue). As in
    PyMC-Marketing's ``rfm_summary(include_first_transaction=True)``, ``monetary_value`` is the
    mean spend per purchase day, ``monetary / purchase_days``.

    Returns a DataFrame with ``recency``, ``frequency``, ``monetary_value``, ``r_quartile``,
    ``f_quartile``, ``m_quartile`` (4 = best; recency reversed) and ``rfm_score`` (e.g. ``"434"``).
    Rows with a NaN input get NaN quartiles and a NaN score.
    """
    need_freq = "purchase_days" if "purchase_days" in features.columns else "frequency"
    for col in ("recency_days", need_freq, "monetary"):
        if col not in features.columns:
            raise DataError(
                f"rfm_segments: features lack column {col!r}; compute them with "
                "crmresearch.features.customer_features (indicators recency_days, purchase_days, "
                "monetary)"
            )
    recency = _as_values(features["recency_days"], "recency_days")
    frequency = _as_values(features[need_freq], need_freq)
    monetary = _as_values(features["monetary"], "monetary")
    with np.errstate(divide="ignore", invalid="ignore"):
        monetary_value = monetary / frequency.where(frequency > 0)
    out = pd.DataFrame(
        {"recency": recency, "frequency": frequency, "monetary_value": monetary_value},
        index=features.index,
    )
    n_labels = {}
    for qcol, col, reverse in (
        ("r_quartile", "recency", True),
        ("f_quartile", "frequency", False),
        ("m_quartile", "monetary_value", False),
    ):
        cut, n_labels[qcol] = _rfm_quartile(out[col], reverse)
        out[qcol] = cut.astype("Int64")
    score = (
        out["r_quartile"].astype("string")
        + out["f_quartile"].astype("string")
        + out["m_quartile"].astype("string")
    )
    out["rfm_score"] = score
    out.attrs["n_labels"] = n_labels
    return out


def rfm_segments(features: pd.DataFrame, segment_config: Mapping[str, Sequence[str]] | None = None):
    """RFM segments with PyMC-Marketing's quartile scoring and default segment names.

    Reproduces ``pymc_marketing.clv.utils.rfm_segments`` (PyMC Labs, Apache-2.0; see
    https://github.com/pymc-labs/pymc-marketing, ``pymc_marketing/clv/utils.py``):
    each of recency, frequency and mean spend per purchase day is cut into quartiles with
    ``pandas.qcut(q=4, duplicates="drop")`` (labels 1-4, recency reversed so 4 = most recent;
    with heavy ties, fewer bins and labels 1-3 or 1-2, as there); the digits form a score like
    ``"434"``; a score listed in ``segment_config`` gives its segment, any other score
    ``"Other"``.

    Parameters
    ----------
    features : DataFrame
        From :func:`crmresearch.features.customer_features`; see :func:`rfm_scores`.
    segment_config : mapping, optional
        ``{segment name: [scores]}``, best segment first; default :data:`DEFAULT_RFM_SEGMENTS`
        (Premium Customer, Repeat Customer, Top Spender, At Risk Customer, Inactive Customer).

    Returns
    -------
    Series
        Ordered categorical (config order, then ``"Other"``); ``attrs["rfm_score"]`` is not
        stored (use :func:`rfm_scores`). Customers with a NaN input get a NaN segment.

    Notes
    -----
    Where PyMC-Marketing turns a NaN quartile into the string ``"nan"`` (and so ``"Other"``), we
    keep NaN and count it in ``attrs["n_missing"]``. Customers with zero purchase days have no
    mean spend and count as missing.
    """
    config = dict(DEFAULT_RFM_SEGMENTS if segment_config is None else segment_config)
    seen: dict[str, str] = {}
    for seg, scores in config.items():
        for s in scores:
            if s in seen and seen[s] != seg:
                raise ValueError(
                    f"rfm segment_config: score {s!r} is in both {seen[s]!r} and {seg!r}"
                )
            seen[s] = seg
    labels = [*config.keys(), "Other"] if "Other" not in config else list(config.keys())
    sc = rfm_scores(features)
    score = sc["rfm_score"]
    seg = score.map(lambda s: seen.get(s, "Other") if isinstance(s, str) else None)
    codes = np.array(
        [labels.index(v) if isinstance(v, str) else -1 for v in seg.tolist()], dtype=int
    )
    out = _ordered(codes, labels, features.index)
    rule = (
        "RFM segments (PyMC-Marketing rfm_segments scoring): quartiles of recency (reversed), "
        "purchase days and mean spend per purchase day; score 'RFM' mapped to "
        + ", ".join(config.keys())
        + "; other scores 'Other'"
    )
    return _finish(
        out, name="rfm_segment", scheme="rfm", rule=rule, n_missing=int((codes == -1).sum())
    )


# --------------------------------------------------------------------------------------------
# k-means clusters
# --------------------------------------------------------------------------------------------
def clusters(scores: pd.DataFrame, k: int, seed: int = 0, composite=None, n_init: int = 10):
    """k-means clusters on factor scores, labelled ``K1`` (highest mean composite) ... ``Kk``.

    Parameters
    ----------
    scores : DataFrame
        Factor scores (customers x factors), e.g. ``ClassificationIndex.transform(X)``.
    k : int
        Number of clusters.
    seed : int
        ``random_state`` of :class:`sklearn.cluster.KMeans` (results are reproducible).
    composite : Series, optional
        Value used to order clusters (higher = better), e.g. ``index.composite(X)``. Default:
        the row sum of ``scores``.
    n_init : int
        k-means restarts.

    Notes
    -----
    Rows with any NaN score are not clustered and get a NaN label (counted). Fewer complete rows
    than ``k`` raise ``DataError``. Clusters are ordered by the mean composite of their members
    (ties in the mean broken by cluster size, larger first, then by k-means label).
    R: ``kmeans(scores, centers = k, nstart = n_init)``.
    """
    from sklearn.cluster import KMeans

    if not isinstance(scores, pd.DataFrame):
        scores = pd.DataFrame(scores)
    if int(k) < 1:
        raise ValueError(f"clusters: k must be >= 1, got {k}")
    k = int(k)
    X = scores.apply(pd.to_numeric, errors="coerce").astype("float64")
    valid = X.notna().all(axis=1).to_numpy()
    n = int(valid.sum())
    if n < k:
        raise DataError(
            f"clusters: {n} customers with complete scores but k={k} clusters; lower k to at "
            f"most {n} or add customers"
        )
    comp = (
        X.sum(axis=1) if composite is None else _as_values(composite, "composite").reindex(X.index)
    )
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed)
    raw = km.fit_predict(X.to_numpy()[valid])
    comp_valid = comp.to_numpy()[valid]
    stats = (
        pd.DataFrame({"label": raw, "comp": comp_valid})
        .groupby("label")["comp"]
        .agg(["mean", "size"])
    )
    stats = stats.reset_index().sort_values(
        ["mean", "size", "label"], ascending=[False, False, True]
    )
    rank_of = {lab: i for i, lab in enumerate(stats["label"])}
    codes = np.full(len(X), -1, dtype=int)
    codes[valid] = [rank_of[r] for r in raw]
    labels = [f"K{i + 1}" for i in range(k)]
    out = _ordered(codes, labels, X.index)
    rule = (
        f"k-means (k={k}, seed={seed}, n_init={n_init}) on {X.shape[1]} factor scores; clusters "
        "ordered by mean composite, K1 = highest"
    )
    out = _finish(out, name="cluster", scheme="clusters", rule=rule, n_missing=int((~valid).sum()))
    return out
