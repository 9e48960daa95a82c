"""Value matrix, RFM segments (PyMC-Marketing scoring) and k-means clusters."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from crmresearch.errors import DataError
from crmresearch.tiers._base import _as_values, _check_labels, _finish, _ordered, _rank_tiers

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
            name = str(values.name).replace("_", " ")
            warnings.warn(
                f"the RFM {name} score will not exceed 2 (of 4): so many customers share the "
                f"same {name} value that its quartiles form only two groups, and RFM segments "
                f"that need a higher {name} score stay empty",
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
