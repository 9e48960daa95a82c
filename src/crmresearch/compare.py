"""Compare customer classification schemes; concentration; profiles; dynamic classification.

- :func:`compare_schemes` - crosstab of two tierings with agreement (Cohen's kappa, adjusted Rand
  index), chi-square test and value share per cell (:class:`SchemeComparison`).
- :func:`lorenz`, :func:`gini` - value concentration.
- :func:`tier_profiles` - indicator means/medians per tier, Kruskal-Wallis, Holm-adjusted
  pairwise Mann-Whitney tests (:class:`TierProfiles`).
- :func:`reclassify`, :func:`migration_matrix`, :func:`rising_stars` - tiers per period and how
  customers move between them.
- :func:`predictive_validity` - how well each scheme's top tier captures next period's top
  customers and revenue, with bootstrap CIs (:class:`PredictiveValidity`).

Tier Series follow the :mod:`crmresearch.tiers` convention: ordered categoricals, best tier first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from crmresearch import tiers as _tiers
from crmresearch.errors import DataError

__all__ = [
    "compare_schemes",
    "SchemeComparison",
    "cohen_kappa",
    "adjusted_rand",
    "lorenz",
    "gini",
    "tier_profiles",
    "TierProfiles",
    "reclassify",
    "migration_matrix",
    "Migration",
    "rising_stars",
    "predictive_validity",
    "PredictiveValidity",
]


def _as_tiers(t, name: str) -> pd.Series:
    if not isinstance(t, pd.Series):
        t = pd.Series(t)
    if not isinstance(t.dtype, pd.CategoricalDtype):
        # plain labels: keep first-seen order only if sortable labels are not available
        t = t.astype("category")
    if t.index.has_duplicates:
        raise DataError(f"{name}: duplicate customer ids in the index; one row per customer")
    return t


# --------------------------------------------------------------------------------------------
# agreement statistics (from the contingency table)
# --------------------------------------------------------------------------------------------
def cohen_kappa(table: np.ndarray, weights: str | None = None) -> float:
    """Cohen's kappa from a square k x k contingency table (rows = rater 1, columns = rater 2).

    ``kappa = 1 - sum(w * O) / sum(w * E)`` with observed proportions ``O``, expected
    ``E = outer(row margins, column margins)`` and disagreement weights ``w_ij`` = ``[i != j]``
    (unweighted), ``|i - j|`` (``"linear"``) or ``(i - j)^2`` (``"quadratic"``), where ``i, j`` are
    category positions (codes). Equals ``sklearn.metrics.cohen_kappa_score(codes_a, codes_b,
    weights=..., labels=range(k))``. R: ``psych::cohen.kappa`` / ``irr::kappa2(weight="equal")``.

    References: Cohen (1960, 1968).
    """
    o = np.asarray(table, dtype=float)
    if o.ndim != 2 or o.shape[0] != o.shape[1]:
        raise ValueError(f"cohen_kappa needs a square table, got shape {o.shape}")
    n = o.sum()
    if n == 0:
        return float("nan")
    k = o.shape[0]
    i, j = np.indices((k, k))
    if weights is None:
        w = (i != j).astype(float)
    elif weights == "linear":
        w = np.abs(i - j).astype(float)
    elif weights == "quadratic":
        w = ((i - j) ** 2).astype(float)
    else:
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', got {weights!r}")
    e = np.outer(o.sum(axis=1), o.sum(axis=0)) / n
    denom = (w * e).sum()
    if denom == 0:
        return float("nan")  # both raters put everyone in one category: kappa undefined
    return float(1.0 - (w * o).sum() / denom)


def adjusted_rand(table: np.ndarray) -> float:
    """Adjusted Rand index (Hubert & Arabie 1985) from a contingency table.

    ``ARI = (sum_ij C(n_ij,2) - t) / ((sum_i C(a_i,2) + sum_j C(b_j,2)) / 2 - t)`` with
    ``t = sum_i C(a_i,2) sum_j C(b_j,2) / C(n,2)``. Equals
    ``sklearn.metrics.adjusted_rand_score``. R: ``mclust::adjustedRandIndex``.
    """
    o = np.asarray(table, dtype=float)
    n = o.sum()

    def c2(x):
        return x * (x - 1) / 2.0

    sum_ij = c2(o).sum()
    sum_a = c2(o.sum(axis=1)).sum()
    sum_b = c2(o.sum(axis=0)).sum()
    total = c2(n)
    if total == 0:
        return 1.0
    expected = sum_a * sum_b / total
    max_index = (sum_a + sum_b) / 2.0
    if max_index == expected:
        # both partitions trivial (one cluster each, or all singletons): sklearn returns 1.0
        return 1.0
    return float((sum_ij - expected) / (max_index - expected))


@dataclass
class SchemeComparison:
    """Result of :func:`compare_schemes`. Tables have scheme ``a`` tiers as rows, ``b`` as columns."""

    name_a: str
    name_b: str
    counts: pd.DataFrame
    row_shares: pd.DataFrame
    col_shares: pd.DataFrame
    value_share: pd.DataFrame | None
    kappa: float
    kappa_weights: str | None
    ari: float
    chi2: float
    chi2_df: int
    chi2_p: float
    cramers_v: float
    n: int
    n_excluded: int
    notes: list[str] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        """Share of customers on the diagonal (same position in both schemes; NaN if k differ)."""
        c = self.counts.to_numpy()
        if c.shape[0] != c.shape[1] or self.n == 0:
            return float("nan")
        return float(np.trace(c) / self.n)

    def to_dict(self) -> dict:
        return {
            "scheme_a": self.name_a,
            "scheme_b": self.name_b,
            "n": self.n,
            "n_excluded": self.n_excluded,
            "kappa": self.kappa,
            "kappa_weights": self.kappa_weights,
            "ari": self.ari,
            "chi2": self.chi2,
            "chi2_df": self.chi2_df,
            "chi2_p": self.chi2_p,
            "cramers_v": self.cramers_v,
            "agreement": self.agreement,
            "counts": {str(r): {str(c): int(v) for c, v in row.items()} for r, row in
                       self.counts.iterrows()},
            "notes": list(self.notes),
        }  # fmt: skip

    def summary(self) -> str:
        lines = [
            f"Scheme comparison: {self.name_a} (rows) vs {self.name_b} (columns)",
            f"customers compared: {self.n}  (excluded, tier missing in either scheme: "
            f"{self.n_excluded})",
            "",
            "Counts:",
            self.counts.to_string(),
            "",
            "Row shares (% of each row):",
            (self.row_shares * 100).round(1).to_string(),
        ]
        if self.value_share is not None:
            lines += ["", "Value share per cell (% of total value):",
                      (self.value_share * 100).round(1).to_string()]  # fmt: skip
        kw = f"{self.kappa_weights}-weighted " if self.kappa_weights else ""
        lines += [
            "",
            f"Cohen's kappa ({kw}on tier positions): {self.kappa:.4f}",
            f"Adjusted Rand index: {self.ari:.4f}",
            f"Chi-square: {self.chi2:.2f} on {self.chi2_df} df, p = {self.chi2_p:.3g}; "
            f"Cramer's V = {self.cramers_v:.3f}",
        ]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"SchemeComparison({self.name_a!r} vs {self.name_b!r}, n={self.n}, "
            f"kappa={self.kappa:.3f}, ari={self.ari:.3f})"
        )

    def plot_crosstab(self, shares: str = "row", ax=None):
        """Heatmap of the crosstab; see :func:`crmresearch.plots.scheme_crosstab`."""
        from crmresearch.plots.tiers import scheme_crosstab

        return scheme_crosstab(self, shares=shares, ax=ax)


def compare_schemes(a, b, value=None, *, names: tuple[str, str] | None = None) -> SchemeComparison:
    """Crosstab two tierings of the same customers with agreement statistics and tests.

    Parameters
    ----------
    a, b : Series
        Tiers (ordered categoricals, best first) indexed by customer id, e.g. ``tiers.abc(...)``
        and ``tiers.quantiles(index_composite, ...)``.
    value : Series, optional
        Customer value (e.g. revenue) for the value share of each cell.
    names : (str, str), optional
        Scheme names; default the Series names.

    Returns
    -------
    SchemeComparison
        ``counts``, ``row_shares`` (each row sums to 1), ``col_shares``, ``value_share`` (cells
        sum to 1), ``kappa``, ``ari``, ``chi2``/``chi2_df``/``chi2_p``, ``cramers_v``, ``summary()``,
        ``plot_crosstab()``.

    Notes
    -----
    Customers are matched by index; those missing from one scheme or with a NaN tier in either
    are excluded and counted (``n_excluded``). Cohen's kappa needs the same number of tiers in
    both schemes and is computed on tier *positions* (codes, best = 0), linear-weighted when both
    schemes are ordered, unweighted otherwise; with different numbers of tiers it is NaN.
    The chi-square test of independence (no continuity correction) uses the table without empty
    rows/columns; ``scipy.stats.chi2_contingency(table, correction=False)`` gives the same.
    Cramer's V = sqrt(chi2 / (n (min(r, c) - 1))).
    """
    a = _as_tiers(a, "a")
    b = _as_tiers(b, "b")
    name_a, name_b = names or (str(a.name or "a"), str(b.name or "b"))
    ids = a.index.union(b.index, sort=False)
    a_al = a.reindex(ids)
    b_al = b.reindex(ids)
    keep = a_al.notna() & b_al.notna()
    n_excluded = int((~keep).sum())
    a_k, b_k = a_al[keep], b_al[keep]
    cats_a = list(a.cat.categories)
    cats_b = list(b.cat.categories)
    ca = a_k.cat.codes.to_numpy()
    cb = b_k.cat.codes.to_numpy()
    counts_arr = np.zeros((len(cats_a), len(cats_b)), dtype=np.int64)
    np.add.at(counts_arr, (ca, cb), 1)
    counts = pd.DataFrame(
        counts_arr,
        index=pd.Index(cats_a, name=name_a),
        columns=pd.Index(cats_b, name=name_b),
    )
    n = int(counts_arr.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        row_shares = counts.div(counts.sum(axis=1), axis=0)
        col_shares = counts.div(counts.sum(axis=0), axis=1)
    notes: list[str] = []
    value_share = None
    if value is not None:
        v = _tiers._as_values(value, "value").reindex(a_k.index)
        n_nan_value = int(v.isna().sum())
        if n_nan_value:
            notes.append(f"{n_nan_value} compared customers have no value; counted as 0 value")
        v_arr = v.fillna(0.0).to_numpy()
        vs = np.zeros_like(counts_arr, dtype=float)
        np.add.at(vs, (ca, cb), v_arr)
        total = vs.sum()
        value_share = pd.DataFrame(
            vs / total if total != 0 else np.full_like(vs, np.nan),
            index=counts.index,
            columns=counts.columns,
        )
    # kappa
    kappa_weights = None
    if len(cats_a) == len(cats_b):
        if a.cat.ordered and b.cat.ordered:
            kappa_weights = "linear"
        kappa = cohen_kappa(counts_arr, weights=kappa_weights)
    else:
        kappa = float("nan")
        notes.append(
            f"Cohen's kappa not defined: {name_a} has {len(cats_a)} tiers, {name_b} has "
            f"{len(cats_b)}; use the adjusted Rand index"
        )
    ari = adjusted_rand(counts_arr)
    nz = counts_arr[counts_arr.sum(axis=1) > 0][:, counts_arr.sum(axis=0) > 0]
    if nz.shape[0] >= 2 and nz.shape[1] >= 2:
        expected = np.outer(nz.sum(axis=1), nz.sum(axis=0)) / nz.sum()
        chi2 = float(((nz - expected) ** 2 / expected).sum())
        dof = (nz.shape[0] - 1) * (nz.shape[1] - 1)
        p = float(stats.chi2.sf(chi2, dof))
        cramers_v = math.sqrt(chi2 / (nz.sum() * (min(nz.shape) - 1)))
        if (expected < 5).mean() > 0.2:
            notes.append(
                "more than 20% of expected counts are below 5: the chi-square p-value is approximate"
            )
    else:
        chi2, dof, p, cramers_v = float("nan"), 0, float("nan"), float("nan")
        notes.append("chi-square not defined: fewer than two non-empty tiers in a scheme")
    return SchemeComparison(
        name_a=name_a,
        name_b=name_b,
        counts=counts,
        row_shares=row_shares,
        col_shares=col_shares,
        value_share=value_share,
        kappa=kappa,
        kappa_weights=kappa_weights,
        ari=ari,
        chi2=chi2,
        chi2_df=int(dof),
        chi2_p=p,
        cramers_v=cramers_v,
        n=n,
        n_excluded=n_excluded,
        notes=notes,
    )


# --------------------------------------------------------------------------------------------
# concentration
# --------------------------------------------------------------------------------------------
def _nonneg(values, fn: str) -> np.ndarray:
    x = _tiers._as_values(values, "values")
    if x.isna().any():
        raise DataError(
            f"{fn}: {int(x.isna().sum())} missing value(s) in {x.name or 'values'}; drop or fill "
            "them first (e.g. values.dropna()) so the exclusion is explicit"
        )
    if (x < 0).any():
        raise DataError(
            f"{fn}: {int((x < 0).sum())} negative value(s) in {x.name or 'values'}; concentration "
            "needs non-negative values (e.g. values.clip(lower=0))"
        )
    if len(x) == 0:
        raise DataError(f"{fn}: no values")
    return x.to_numpy()


def lorenz(values) -> pd.DataFrame:
    """Lorenz curve: cumulative customer share vs cumulative value share, poorest first.

    Returns a DataFrame with ``customer_share`` and ``value_share`` starting at (0, 0) and ending
    at (1, 1); ``n + 1`` rows. ``L(i/n) = sum_{k<=i} x_(k) / sum x`` with ``x_(1) <= ... <= x_(n)``.
    R: ``ineq::Lc(x)``.
    """
    x = np.sort(_nonneg(values, "lorenz"))
    n = len(x)
    total = x.sum()
    cum = np.concatenate([[0.0], np.cumsum(x)])
    share = cum / total if total > 0 else np.linspace(0, 1, n + 1)
    return pd.DataFrame({"customer_share": np.arange(n + 1) / n, "value_share": share})


def gini(values) -> float:
    """Gini coefficient of non-negative values (0 = equal, -> 1 = concentrated in one customer).

    ``G = sum_i sum_j |x_i - x_j| / (2 n^2 mean(x)) = 2 sum_i i x_(i) / (n sum x) - (n + 1) / n``
    (the "population" Gini, not the n/(n-1)-corrected one). All-zero values give 0.
    R: ``ineq::Gini(x, corr = FALSE)``.
    """
    x = np.sort(_nonneg(values, "gini"))
    n = len(x)
    total = x.sum()
    if total == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(2.0 * (i * x).sum() / (n * total) - (n + 1.0) / n)


# --------------------------------------------------------------------------------------------
# tier profiles
# --------------------------------------------------------------------------------------------
@dataclass
class TierProfiles:
    """Result of :func:`tier_profiles`."""

    means: pd.DataFrame  # tiers x indicators
    medians: pd.DataFrame
    counts: pd.Series
    kruskal: pd.DataFrame  # per indicator: H, df, p_value, p_holm
    pairwise: pd.DataFrame  # indicator, tier_a, tier_b, U, p_value, p_holm
    n_excluded: int

    def summary(self) -> str:
        return "\n".join(
            [
                f"Tier profiles ({int(self.counts.sum())} customers; {self.n_excluded} without tier "
                "excluded)",
                "",
                "Customers per tier:",
                self.counts.to_string(),
                "",
                "Means:",
                self.means.round(3).to_string(),
                "",
                "Medians:",
                self.medians.round(3).to_string(),
                "",
                "Kruskal-Wallis across tiers (Holm over indicators):",
                self.kruskal.round(4).to_string(),
            ]
        )


def tier_profiles(features: pd.DataFrame, tiers, *, indicators: Sequence[str] | None = None):
    """Mean and median of each indicator per tier with Kruskal-Wallis and pairwise tests.

    Parameters
    ----------
    features : DataFrame
        Customers x indicators (numeric columns are used unless ``indicators`` is given).
    tiers : Series
        Tiers for the same customers.

    Returns
    -------
    TierProfiles
        ``means``/``medians`` (tiers x indicators), ``kruskal`` (per indicator ``H``, ``df``,
        ``p_value``, ``p_holm`` = Holm-adjusted over indicators) and ``pairwise`` (every pair of
        non-empty tiers per indicator: two-sided Mann-Whitney ``U`` of the first tier,
        ``p_value``, ``p_holm`` = Holm-adjusted within the indicator's family of pairs).

    Notes
    -----
    Customers without a tier are excluded and counted; NaN indicator values are skipped per
    indicator. Tests need at least two non-empty tiers; otherwise NaN.
    R: ``kruskal.test(x ~ tier)``; ``pairwise.wilcox.test(x, tier, p.adjust.method = "holm")``.
    """
    from statsmodels.stats.multitest import multipletests

    t = _as_tiers(tiers, "tiers").reindex(features.index)
    n_excluded = int(t.isna().sum())
    cols = list(indicators) if indicators is not None else [
        c for c in features.columns if pd.api.types.is_numeric_dtype(features[c])
        and not pd.api.types.is_bool_dtype(features[c])
    ]  # fmt: skip
    missing = [c for c in cols if c not in features.columns]
    if missing:
        raise DataError(f"tier_profiles: features lack column(s) {missing}")
    data = features.loc[t.notna(), cols].astype("float64")
    tt = t[t.notna()]
    grouped = data.groupby(tt, observed=False)
    means = grouped.mean()
    medians = grouped.median()
    counts = tt.value_counts(sort=False).reindex(t.cat.categories, fill_value=0)
    counts.name = "customers"
    kw_rows, pair_rows = [], []
    for col in cols:
        groups = {lab: data.loc[tt == lab, col].dropna().to_numpy() for lab in t.cat.categories}
        groups = {k: v for k, v in groups.items() if len(v) > 0}
        if len(groups) >= 2 and len(np.unique(np.concatenate(list(groups.values())))) > 1:
            h, p = stats.kruskal(*groups.values())
        else:
            h, p = float("nan"), float("nan")
        kw_rows.append({"indicator": col, "H": h, "df": len(groups) - 1, "p_value": p})
        fam = []
        for la, lb in combinations(groups.keys(), 2):
            xa, xb = groups[la], groups[lb]
            if len(np.unique(np.concatenate([xa, xb]))) > 1:
                u, pu = stats.mannwhitneyu(xa, xb, alternative="two-sided")
            else:
                u, pu = float("nan"), float("nan")
            fam.append({"indicator": col, "tier_a": la, "tier_b": lb, "U": u, "p_value": pu})
        ps = np.array([r["p_value"] for r in fam], dtype=float)
        ok = ~np.isnan(ps)
        adj = np.full(len(ps), np.nan)
        if ok.any():
            adj[ok] = multipletests(ps[ok], method="holm")[1]
        for r, a_ in zip(fam, adj, strict=True):
            r["p_holm"] = a_
        pair_rows += fam
    kruskal = pd.DataFrame(kw_rows).set_index("indicator")
    ok = kruskal["p_value"].notna().to_numpy()
    kruskal["p_holm"] = np.nan
    if ok.any():
        kruskal.loc[ok, "p_holm"] = multipletests(kruskal.loc[ok, "p_value"], method="holm")[1]
    pairwise = pd.DataFrame(
        pair_rows, columns=["indicator", "tier_a", "tier_b", "U", "p_value", "p_holm"]
    )
    return TierProfiles(means, medians, counts, kruskal, pairwise, n_excluded)


# --------------------------------------------------------------------------------------------
# dynamic classification
# --------------------------------------------------------------------------------------------
_SCHEMES: dict[str, Callable] = {
    "abc": _tiers.abc,
    "pareto": _tiers.pareto,
    "quantiles": _tiers.quantiles,
    "grades": _tiers.grades,
}


def _log_frame(log) -> pd.DataFrame:
    frame = getattr(log, "frame", log)
    if not isinstance(frame, pd.DataFrame):
        raise DataError("reclassify: log must be a TransactionLog or a canonical DataFrame")
    for col in ("customer_id", "date", "amount"):
        if col not in frame.columns:
            raise DataError(f"reclassify: log lacks column {col!r} (canonical columns needed)")
    return frame


def reclassify(
    log,
    freq: str = "M",
    scheme: str | Callable = "abc",
    index=None,
    *,
    value: str = "monetary",
    start=None,
    end=None,
    window: str = "cumulative",
    indicators: Sequence[str] | None = None,
    config=None,
    return_values: bool = False,
    **scheme_kwargs,
):
    """Tiers per period: a customer x period table of tiers (dynamic classification).

    Parameters
    ----------
    log : TransactionLog or DataFrame
        Canonical transactions.
    freq : str
        Period length: ``"M"`` (month), ``"Q"`` (quarter), ``"Y"`` or any pandas period alias.
    scheme : str or callable
        ``"abc"``, ``"pareto"``, ``"quantiles"``, ``"grades"`` or a function
        ``values -> tiers``; ``scheme_kwargs`` are passed on (e.g. ``shares=``, ``edges=``).
    index : fitted ClassificationIndex, optional
        If given, each period's values are ``index.composite(X)`` on the customers' indicators
        computed by :func:`crmresearch.features.customer_features` (the index is fitted once,
        elsewhere, and applied unchanged to every period). Otherwise values are volume per
        period (see ``value``).
    value : {"monetary", "quantity"}
        Volume measure without an index: net revenue or units in the period.
    start, end : date-like, optional
        Restrict to periods overlapping ``[start, end]`` (default: the log's span).
    window : {"cumulative", "period"}
        With an index: indicators over all history up to the period end (default) or over the
        period only.
    config : str or IndexConfig, optional
        With an index: the index system whose preparation (fills, log transforms) the index was
        fitted on; each period's features go through
        :func:`crmresearch.features.apply_config` first (as ``crmresearch index`` does).
    return_values : bool
        Also return the customer x period values used for tiering.

    Returns
    -------
    DataFrame (or (tiers, values))
        Rows = customers, columns = periods (``pandas.Period``), cells = tier labels (ordered
        categorical per column). Without an index a customer has value 0 in a period after their
        first purchase without transactions (a known customer buying nothing is the bottom tier),
        and NaN before their first purchase. With an index a customer has NaN where the features
        module returns no row for them (e.g. inactive in a ``window="period"`` period).
    """
    frame = _log_frame(log)
    if callable(scheme):
        fn = scheme
    elif scheme in _SCHEMES:
        fn = _SCHEMES[scheme]
    else:
        raise ValueError(f"reclassify scheme must be one of {sorted(_SCHEMES)} or a callable")
    if window not in ("cumulative", "period"):
        raise ValueError(f"reclassify window must be 'cumulative' or 'period', got {window!r}")
    if scheme == "grades" and "edges" not in scheme_kwargs:
        scheme_kwargs["edges"] = _tiers.MONTHLY_VOLUME_GRADES
    dates = frame["date"]
    lo = pd.Timestamp(start) if start is not None else dates.min()
    hi = pd.Timestamp(end) if end is not None else dates.max()
    periods = pd.period_range(lo, hi, freq=freq)
    if len(periods) == 0:
        raise DataError(f"reclassify: no {freq} periods between {lo.date()} and {hi.date()}")
    customers = pd.Index(pd.unique(frame["customer_id"]), name="customer_id")
    values = pd.DataFrame(np.nan, index=customers, columns=periods, dtype="float64")
    if index is None:
        if value not in ("monetary", "quantity"):
            raise ValueError("reclassify value must be 'monetary' or 'quantity'")
        col = "amount" if value == "monetary" else "quantity"
        if col not in frame.columns:
            raise DataError(f"reclassify: log has no {col!r} column for value={value!r}")
        per = frame["date"].dt.to_period(freq)
        sums = frame.groupby([frame["customer_id"], per])[col].sum().unstack()
        sums = sums.reindex(index=customers, columns=periods)
        first = frame.groupby("customer_id")["date"].min().dt.to_period(freq).reindex(customers)
        first_ord = np.array([f.ordinal for f in first], dtype=np.int64)
        known = first_ord[:, None] <= periods.asi8[None, :]
        values = sums.fillna(0.0).where(known)
    else:
        from crmresearch.features import apply_config, customer_features

        for p in periods:
            p_start = None if window == "cumulative" else p.start_time.normalize()
            feats = customer_features(
                log, start=p_start, end=p.end_time.normalize(), indicators=indicators
            )
            if len(feats) == 0:
                continue
            if config is not None:
                feats = apply_config(feats, config)
            comp = index.composite(feats)
            values[p] = comp.reindex(customers)
    tiers = {}
    for p in periods:
        tiers[p] = fn(values[p], **scheme_kwargs)
    out = pd.DataFrame(tiers, index=customers)
    out.columns.name = "period"
    rule = next(iter(tiers.values())).attrs.get("rule", "")
    out.attrs["rule"] = f"per {freq} period: {rule}"
    if return_values:
        return out, values
    return out


@dataclass
class Migration:
    """Result of :func:`migration_matrix`."""

    counts: pd.DataFrame
    row_shares: pd.DataFrame
    upgrade_rate: float
    downgrade_rate: float
    stay_rate: float
    n_both: int
    entered: int
    lapsed: int
    n_excluded: int

    def to_dict(self) -> dict:
        return {
            "upgrade_rate": self.upgrade_rate,
            "downgrade_rate": self.downgrade_rate,
            "stay_rate": self.stay_rate,
            "n_both": self.n_both,
            "entered": self.entered,
            "lapsed": self.lapsed,
            "n_excluded": self.n_excluded,
        }

    def summary(self) -> str:
        return "\n".join(
            [
                "Tier migration (rows = before, columns = after)",
                self.counts.to_string(),
                "",
                "Row shares (%):",
                (self.row_shares * 100).round(1).to_string(),
                "",
                f"customers tiered in both periods: {self.n_both}; upgraded "
                f"{self.upgrade_rate:.1%}, stayed {self.stay_rate:.1%}, downgraded "
                f"{self.downgrade_rate:.1%}; entered {self.entered}, lapsed {self.lapsed}",
            ]
        )

    def plot_heatmap(self, ax=None):
        from crmresearch.plots.tiers import migration_heatmap

        return migration_heatmap(self, ax=ax)


def migration_matrix(before, after, inactive_label: str | None = "inactive") -> Migration:
    """Transition matrix between two tierings of the same scheme (e.g. two periods).

    Parameters
    ----------
    before, after : Series
        Tiers with the same categories (best first), indexed by customer id.
    inactive_label : str or None
        Customers with no tier (NaN or absent) in one of the periods are shown in an extra
        row/column with this label (``entered`` = inactive -> tier, ``lapsed`` = tier ->
        inactive). ``None`` excludes them instead (counted in ``n_excluded``).

    Returns
    -------
    Migration
        ``counts``, ``row_shares``; ``upgrade_rate`` (moved to a better tier), ``downgrade_rate``,
        ``stay_rate`` among the ``n_both`` customers tiered in both periods (they sum to 1).
    """
    b = _as_tiers(before, "before")
    a = _as_tiers(after, "after")
    cats = list(b.cat.categories)
    if list(a.cat.categories) != cats:
        raise DataError(
            f"migration_matrix: before and after use different tiers ({cats} vs "
            f"{list(a.cat.categories)}); classify both periods with the same scheme"
        )
    ids = b.index.union(a.index, sort=False)
    cb = b.reindex(ids).cat.codes.to_numpy()
    ca = a.reindex(ids).cat.codes.to_numpy()
    both = (cb >= 0) & (ca >= 0)
    n_both = int(both.sum())
    up = int((ca[both] < cb[both]).sum())
    down = int((ca[both] > cb[both]).sum())
    stay = n_both - up - down
    entered = int(((cb < 0) & (ca >= 0)).sum())
    lapsed = int(((cb >= 0) & (ca < 0)).sum())
    k = len(cats)
    labels = list(cats)
    if inactive_label is not None:
        labels = labels + [inactive_label]
        cb2 = np.where(cb < 0, k, cb)
        ca2 = np.where(ca < 0, k, ca)
        keep = ~((cb < 0) & (ca < 0))
        n_excluded = int((~keep).sum())
        mat = np.zeros((k + 1, k + 1), dtype=np.int64)
        np.add.at(mat, (cb2[keep], ca2[keep]), 1)
    else:
        n_excluded = int((~both).sum())
        mat = np.zeros((k, k), dtype=np.int64)
        np.add.at(mat, (cb[both], ca[both]), 1)
    counts = pd.DataFrame(
        mat, index=pd.Index(labels, name="before"), columns=pd.Index(labels, name="after")
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        row_shares = counts.div(counts.sum(axis=1), axis=0)
    nan = float("nan")
    return Migration(
        counts=counts,
        row_shares=row_shares,
        upgrade_rate=up / n_both if n_both else nan,
        downgrade_rate=down / n_both if n_both else nan,
        stay_rate=stay / n_both if n_both else nan,
        n_both=n_both,
        entered=entered,
        lapsed=lapsed,
        n_excluded=n_excluded,
    )


def rising_stars(
    values: pd.DataFrame,
    tiers: pd.DataFrame,
    *,
    rise: float,
    periods: int = 3,
    top_tiers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Customers still in lower tiers whose index rose by at least ``rise`` over ``periods``.

    Parameters
    ----------
    values, tiers : DataFrame
        Customer x period tables from ``reclassify(..., return_values=True)`` (same columns).
    rise : float
        Minimum increase ``values[last] - values[last - periods]``.
    periods : int
        Look-back in periods (k).
    top_tiers : sequence of str, optional
        Tiers that are already "top" (default: the best category of the last period).

    Returns
    -------
    DataFrame
        Indexed by customer: ``tier`` (last period), ``value_before``, ``value_now``, ``rise``,
        sorted by ``rise`` descending. Customers with a NaN value at either end are not
        candidates (``attrs["n_missing"]`` counts them).
    """
    if periods < 1:
        raise ValueError("rising_stars: periods must be >= 1")
    if values.shape[1] <= periods:
        raise DataError(
            f"rising_stars: {values.shape[1]} period(s) available, need more than {periods}; "
            "reclassify over a longer span or lower periods"
        )
    if list(values.columns) != list(tiers.columns):
        raise DataError("rising_stars: values and tiers must have the same periods (columns)")
    last, first = values.columns[-1], values.columns[-1 - periods]
    now_tier = tiers[last].reindex(values.index)
    if top_tiers is None:
        top_tiers = [now_tier.cat.categories[0]]
    v0, v1 = values[first], values[last]
    ok = v0.notna() & v1.notna()
    delta = v1 - v0
    cand = ok & (delta >= rise) & now_tier.notna() & ~now_tier.isin(list(top_tiers))
    out = pd.DataFrame(
        {
            "tier": now_tier[cand],
            "value_before": v0[cand],
            "value_now": v1[cand],
            "rise": delta[cand],
        }
    ).sort_values("rise", ascending=False, kind="mergesort")
    out.attrs["n_missing"] = int((~ok).sum())
    out.attrs["rule"] = (
        f"tier at {last} not in {list(top_tiers)} and value rose by >= {rise:g} since {first}"
    )
    return out


# --------------------------------------------------------------------------------------------
# predictive validity
# --------------------------------------------------------------------------------------------
@dataclass
class PredictiveValidity:
    """Result of :func:`predictive_validity`."""

    table: pd.DataFrame  # scheme x metric (+ _low/_high CI columns)
    gain: dict[str, pd.DataFrame]
    top_share: float
    outcome: str
    n: int
    n_boot: int
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        cols = ["predicted_top", "precision", "recall", "value_capture"]
        t = self.table.copy()
        for m in ("precision", "recall", "value_capture"):
            t[m] = [
                f"{v:.3f} [{lo:.3f}, {hi:.3f}]"
                for v, lo, hi in zip(t[m], t[m + "_low"], t[m + "_high"], strict=True)
            ]
        return "\n".join(
            [
                f"Predictive validity: top {self.top_share:.0%} of customers by next-period "
                f"{self.outcome} (n = {self.n}; {self.n_boot} bootstrap resamples, 95% CI)",
                t[cols].to_string(),
                *[f"note: {x}" for x in self.notes],
            ]
        )

    def plot_gain(self, ax=None):
        from crmresearch.plots.tiers import gain_curves

        return gain_curves(self, ax=ax)


def _gain_curve(codes: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Cumulative customer and value shares adding whole tiers, best first."""
    total = y.sum()
    rows = [{"tier_code": -1, "customer_share": 0.0, "value_share": 0.0}]
    n = len(y)
    cum_c, cum_v = 0, 0.0
    for c in np.unique(codes):
        m = codes == c
        cum_c += int(m.sum())
        cum_v += float(y[m].sum())
        rows.append(
            {
                "tier_code": int(c),
                "customer_share": cum_c / n,
                "value_share": cum_v / total if total else np.nan,
            }
        )
    return pd.DataFrame(rows)


def predictive_validity(
    scheme_tiers: Mapping[str, pd.Series] | pd.DataFrame,
    outcomes: pd.DataFrame | pd.Series,
    top: float = 0.2,
    *,
    outcome: str = "revenue",
    top_tiers: Mapping[str, Sequence[str]] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> PredictiveValidity:
    """How well each scheme's top tier captures next period's top customers and revenue.

    Parameters
    ----------
    scheme_tiers : mapping name -> tiers Series, or DataFrame of tier columns
        Tiers assigned in the calibration period.
    outcomes : DataFrame or Series
        Next-period outcome per customer (``outcomes[outcome]``, e.g. holdout ``revenue``).
    top : float
        Share of customers defining the *actual* top (by outcome; :func:`crmresearch.tiers.abc`
        rank rule, ties in the lower group).
    top_tiers : mapping name -> tiers, optional
        Which tiers count as a scheme's predicted top (default: its best category).
    n_boot, seed, ci : bootstrap settings (customers resampled with replacement; percentile CI).

    Returns
    -------
    PredictiveValidity
        ``table`` per scheme: ``predicted_top`` (count), ``precision`` = |P and T| / |P|,
        ``recall`` = |P and T| / |T|, ``value_capture`` = outcome of P / total outcome, and
        ``*_low``/``*_high`` CIs; ``gain`` per scheme (cumulative customer vs outcome share adding
        tiers best first).

    Notes
    -----
    Customers are those in ``outcomes`` with an outcome value; a customer missing a tier in a
    scheme is treated as not predicted top (counted in ``notes``). The actual-top flag is fixed
    on the full sample and carried with each customer into the resamples.
    """
    if isinstance(outcomes, pd.DataFrame):
        if outcome not in outcomes.columns:
            raise DataError(f"predictive_validity: outcomes lack column {outcome!r}")
        y = outcomes[outcome]
    else:
        y = outcomes
    y = _tiers._as_values(y, "outcome")
    n_nan = int(y.isna().sum())
    y = y.dropna()
    notes = []
    if n_nan:
        notes.append(f"{n_nan} customers without an outcome value excluded")
    if isinstance(scheme_tiers, pd.DataFrame):
        scheme_tiers = {c: scheme_tiers[c] for c in scheme_tiers.columns}
    if not scheme_tiers:
        raise ValueError("predictive_validity: give at least one scheme")
    n = len(y)
    actual_top = _tiers._rank_tiers(y, [top, 1.0]) == 0
    yv = y.to_numpy()
    total = yv.sum()
    rng = np.random.default_rng(seed)
    boot_idx = rng.integers(0, n, size=(n_boot, n)) if n_boot else None
    alpha = (1 - ci) / 2
    rows, gains = [], {}
    for name, t in scheme_tiers.items():
        t = _as_tiers(t, name).reindex(y.index)
        n_missing = int(t.isna().sum())
        if n_missing:
            notes.append(f"{name}: {n_missing} customers without a tier count as not predicted top")
        tops = list(top_tiers[name]) if top_tiers and name in top_tiers else [t.cat.categories[0]]
        pred = t.isin(tops).to_numpy()
        hit = pred & actual_top

        def metrics(idx=None, pred=pred, hit=hit):
            p_, h_, a_, v_ = (pred, hit, actual_top, yv) if idx is None else (
                pred[idx], hit[idx], actual_top[idx], yv[idx])  # fmt: skip
            npred, nact, tot = p_.sum(), a_.sum(), v_.sum()
            return (
                h_.sum() / npred if npred else np.nan,
                h_.sum() / nact if nact else np.nan,
                v_[p_].sum() / tot if tot else np.nan,
            )

        prec, rec, cap = metrics()
        row = {
            "scheme": name,
            "predicted_top": int(pred.sum()),
            "actual_top": int(actual_top.sum()),
            "precision": prec,
            "recall": rec,
            "value_capture": cap,
        }
        if n_boot:
            bs = np.array([metrics(b) for b in boot_idx], dtype=float)
            for j, m in enumerate(("precision", "recall", "value_capture")):
                col = bs[:, j][~np.isnan(bs[:, j])]
                row[m + "_low"] = float(np.quantile(col, alpha)) if len(col) else np.nan
                row[m + "_high"] = float(np.quantile(col, 1 - alpha)) if len(col) else np.nan
        else:
            for m in ("precision", "recall", "value_capture"):
                row[m + "_low"] = row[m + "_high"] = np.nan
        rows.append(row)
        codes = t.cat.codes.to_numpy().copy()
        codes[codes < 0] = len(t.cat.categories)  # untiered customers last
        g = _gain_curve(codes, yv)
        labels = [*t.cat.categories, "<NA>"]
        g["tier"] = ["(none)"] + [labels[c] for c in g["tier_code"].iloc[1:]]
        gains[name] = g
    table = pd.DataFrame(rows).set_index("scheme")
    if total <= 0:
        notes.append("total outcome is not positive: value capture is not meaningful")
    return PredictiveValidity(table, gains, top, outcome, n, int(n_boot), notes)
