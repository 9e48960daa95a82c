"""Scheme comparison (crosstab, Cohen's kappa, adjusted Rand index, chi-square) and value
concentration (Lorenz curve, Gini)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from crmresearch import tiers as _tiers
from crmresearch._stats import gini_coefficient, lorenz_points
from crmresearch.compare._common import _as_tiers
from crmresearch.errors import DataError


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

        table = {"row": self.row_shares, "col": self.col_shares, "value": self.value_share}
        if shares not in table or table[shares] is None:
            raise ValueError(
                "shares must be 'row', 'col' or 'value' (value needs value= in compare)"
            )
        return scheme_crosstab(
            self.counts, table[shares], shares=shares, kappa=self.kappa, ari=self.ari, ax=ax
        )


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
    customer_share, value_share = lorenz_points(_nonneg(values, "lorenz"))
    return pd.DataFrame({"customer_share": customer_share, "value_share": value_share})


def gini(values) -> float:
    """Gini coefficient of non-negative values (0 = equal, -> 1 = concentrated in one customer).

    ``G = sum_i sum_j |x_i - x_j| / (2 n^2 mean(x)) = 2 sum_i i x_(i) / (n sum x) - (n + 1) / n``
    (the "population" Gini, not the n/(n-1)-corrected one). All-zero values give 0.
    R: ``ineq::Gini(x, corr = FALSE)``.
    """
    return gini_coefficient(_nonneg(values, "gini"))


def plot_lorenz(values, ax=None):
    """Lorenz curves with Gini of several value Series (mapping name -> Series; one Series is
    drawn alone); see :func:`crmresearch.plots.lorenz_curves`."""
    from crmresearch.plots.tiers import lorenz_curves

    if isinstance(values, pd.Series):
        values = {str(values.name or "value"): values}
    curves = {name: lorenz(v) for name, v in values.items()}
    return lorenz_curves(curves, gini={name: gini(v) for name, v in values.items()}, ax=ax)
