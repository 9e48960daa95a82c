"""Stability of a fitted index under resampling of customers: loadings, number of factors,
composite weights and top-tier membership."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone

from crmresearch._format import fmt_int, fmt_num, fmt_pct
from crmresearch.index.retention import n_by_rule, observed_values, retention_text
from crmresearch.index.rotation import tucker_congruence

__all__ = ["BootstrapResult", "bootstrap"]


@dataclass
class BootstrapResult:
    """Stability of a fitted index under resampling of customers (see :func:`bootstrap`).

    Attributes
    ----------
    loadings_ci : DataFrame
        One row per (indicator, factor): ``estimate``, ``ci_low``, ``ci_high`` (percentile),
        ``boot_se``.
    congruence : DataFrame
        Tucker congruence of each bootstrap factor with the original (rows = replicates).
    tier_stability : float
        Mean share of customers whose composite quintile in a replicate equals the original one.
    tier_stability_per_replicate : Series
    n_factors : int
        Factors of the fitted index (every replicate is fitted with this many, so that its
        factors can be matched to the original ones).
    n_factors_rule : str
        How the index chose its number of factors, in words.
    n_factors_distribution : Series
        Share of replicates in which that rule, applied to the replicate's correlation matrix,
        retains k factors (index k). A fixed number gives 1.0 at that number.
    weights_ci : DataFrame
        Per factor: composite weight ``estimate``, percentile ``ci_low``/``ci_high``, ``boot_se``
        (factors matched as for the loadings).
    indicator_weights_ci : DataFrame
        The same for each indicator's weight in the composite, ``s · W w`` (the coefficient of
        its standardized value; needs no factor matching).
    top_share : float
        The top tier is the top ``top_share`` of customers by composite.
    top_tier_changed : Series
        Per replicate: share of all customers whose top-tier membership differs from the
        original fit's (entrants plus leavers, over n).
    top_tier_retained : Series
        Per replicate: share of the original top tier still in the replicate's top tier.
    top_tier_frequency : Series
        Per customer of ``X``: share of replicates that put the customer in the top tier.
    top_tier_ever_changed : float
        Share of customers whose membership differs from the original in at least one replicate.
    rank_correlation : Series
        Per replicate: Spearman correlation of the replicate's composite with the original's.
    n_boot, seed, ci
    """

    loadings_ci: pd.DataFrame
    congruence: pd.DataFrame
    tier_stability: float
    tier_stability_per_replicate: pd.Series
    n_boot: int
    seed: int | None
    ci: float
    n_factors: int
    n_factors_rule: str
    n_factors_distribution: pd.Series
    weights_ci: pd.DataFrame
    indicator_weights_ci: pd.DataFrame
    top_share: float
    top_tier_changed: pd.Series
    top_tier_retained: pd.Series
    top_tier_frequency: pd.Series
    top_tier_ever_changed: float
    rank_correlation: pd.Series

    @property
    def n_factors_stability(self) -> float:
        """Share of replicates whose retention rule gives the fitted number of factors."""
        return float(self.n_factors_distribution.get(self.n_factors, 0.0))

    def interval(self, values: pd.Series) -> tuple[float, float]:
        """Percentile interval (at ``ci``) of per-replicate values."""
        a = (1 - self.ci) / 2
        return float(values.quantile(a)), float(values.quantile(1 - a))

    def summary(self) -> str:
        level = f"{self.ci:.0%}"
        dist = ", ".join(
            f"{k}: {fmt_pct(v)}" for k, v in self.n_factors_distribution.items() if v > 0
        )
        lines = [
            f"Bootstrap of the classification index ({fmt_int(self.n_boot)} replicates, "
            f"seed {self.seed}; {level} percentile intervals)",
            "",
            f"Number of factors ({self.n_factors_rule}): fitted {self.n_factors}; "
            f"replicates: {dist}",
            "",
            "Tucker congruence with the original factors (≥ 0.95 = same factor):",
        ]
        for f in self.congruence.columns:
            col = self.congruence[f]
            lines.append(f"  {f}: mean {fmt_num(col.mean(), 3)}, min {fmt_num(col.min(), 3)}")
        lines += ["", "Composite weights of the factors:"]
        for f, row in self.weights_ci.iterrows():
            lines.append(
                f"  {f}: {fmt_num(row['estimate'], 3)} "
                f"[{fmt_num(row['ci_low'], 3)}, {fmt_num(row['ci_high'], 3)}]"
            )
        lines += ["", "Weight of each standardized indicator in the composite:"]
        for c, row in self.indicator_weights_ci.iterrows():
            lines.append(
                f"  {c}: {fmt_num(row['estimate'], 3)} "
                f"[{fmt_num(row['ci_low'], 3)}, {fmt_num(row['ci_high'], 3)}]"
            )
        lo, hi = self.interval(self.top_tier_changed)
        rlo, rhi = self.interval(self.top_tier_retained)
        clo, chi = self.interval(self.rank_correlation)
        lines += [
            "",
            f"Top tier (top {fmt_pct(self.top_share, 0)} by composite):",
            f"  customers whose membership changes, per replicate: "
            f"{fmt_pct(self.top_tier_changed.mean())} [{fmt_pct(lo)}, {fmt_pct(hi)}]",
            f"  original members kept, per replicate: {fmt_pct(self.top_tier_retained.mean())} "
            f"[{fmt_pct(rlo)}, {fmt_pct(rhi)}]",
            f"  customers whose membership changes in at least one replicate: "
            f"{fmt_pct(self.top_tier_ever_changed)}",
            f"Rank correlation of replicate and original composite: "
            f"{fmt_num(self.rank_correlation.mean(), 3)} [{fmt_num(clo, 3)}, {fmt_num(chi, 3)}]",
            f"Share of customers in the same composite quintile: {self.tier_stability:.3f}",
        ]
        return "\n".join(lines)


def _quintile(values: np.ndarray) -> np.ndarray:
    ranks = stats.rankdata(values, method="ordinal")
    return np.ceil(ranks / len(values) * 5).astype(int)


def _top(values: np.ndarray, share: float) -> np.ndarray:
    """Boolean mask of the top ``share`` of values (ties broken by position, as ``tiers``'s
    customer-count cuts); always ``round(share · n)`` members."""
    n_top = int(round(share * len(values)))
    ranks = stats.rankdata(-values, method="ordinal")
    return ranks <= n_top


def _matched(base: np.ndarray, L: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Replicate loadings re-ordered and sign-aligned to ``base`` (Hungarian assignment on
    |Tucker congruence|), the congruence of each matched pair and the permutation."""
    k = base.shape[1]
    c = tucker_congruence(base, L)
    rows, cols = linear_sum_assignment(-np.abs(c))
    perm = cols[np.argsort(rows)]
    sgn = np.sign(c[np.arange(k), perm])
    sgn[sgn == 0] = 1
    return L[:, perm] * sgn, np.abs(c[np.arange(k), perm]), perm


def _indicator_weights(index) -> np.ndarray:
    # C = s · Σ_f w_f F_f and F = Z W, so C = Z (s · W w): one weight per standardized indicator
    w = index.score_coefficients_.to_numpy() @ index.composite_weights_.to_numpy()
    return w * index.composite_sign_


def _ci_frame(estimate, draws: np.ndarray, names, ci: float, name: str) -> pd.DataFrame:
    a = (1 - ci) / 2
    return pd.DataFrame(
        {
            "estimate": np.asarray(estimate, dtype=float),
            "ci_low": np.quantile(draws, a, axis=0),
            "ci_high": np.quantile(draws, 1 - a, axis=0),
            "boot_se": draws.std(0, ddof=1),
        },
        index=pd.Index(list(names), name=name),
    )


def _replicate_k(index, rep) -> int:
    """The index's retention rule applied to a replicate's correlation matrix."""
    rule = index.n_factors
    if rule == "parallel":
        # the simulated threshold depends only on n, p, the simulation size and seed, all
        # equal to the original fit's: compare the replicate's observed eigenvalues with it
        kind = index.parallel_.kind
        observed = observed_values(rep.correlation_.to_numpy(), kind)
        above = observed > index.parallel_.threshold.to_numpy()
        return max(1, int(len(above) if above.all() else np.argmin(above)))
    if isinstance(rule, (int, np.integer)) and not isinstance(rule, bool):
        return int(rule)
    return max(1, n_by_rule(rep.eigenvalues_.to_numpy(), rule))


def bootstrap(
    index,
    X: pd.DataFrame,
    n_boot: int = 200,
    seed: int | None = 0,
    ci: float = 0.95,
    *,
    top_share: float = 0.2,
) -> BootstrapResult:
    """Resample customers with replacement and refit with the same settings.

    Each replicate is fitted with the index's ``n_factors_`` so that its factors can be
    matched to the original ones (Hungarian assignment on |Tucker congruence|, then
    sign-aligned); separately, the index's retention rule (``n_factors``) is applied to the
    replicate's correlation matrix to see how often it would retain another number. Every
    replicate then scores all customers of ``X`` (those with a missing indicator have no
    composite and are left out of the comparison); top-tier membership (top ``top_share`` by
    composite) and composite quintiles are compared with the original fit's.

    Reported: percentile CIs of loadings, factor and indicator composite weights; congruence
    per factor; the distribution of the number of factors; per replicate the share of
    customers whose top-tier membership changes and of the original top tier kept; per
    customer the share of replicates in the top tier.

    References
    ----------
    Efron, B. & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*, ch. 13
    (percentile intervals). Zhang, G., Preacher, K. J. & Luo, S. (2010). Bootstrap confidence
    intervals for ordinary least squares factor loadings and correlations in exploratory
    factor analysis. *Multivariate Behavioral Research* 45, 104–134.
    """
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ValueError(f"n_boot must be a whole number ≥ 2, got {n_boot!r}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci!r}")
    if not 0 < top_share < 1:
        raise ValueError(f"top_share must be in (0, 1), got {top_share!r}")
    template = clone(index).set_params(n_factors=index.n_factors_, directions=index.directions_)
    base = index.loadings_.to_numpy()
    k = index.n_factors_
    rng = np.random.default_rng(seed)
    n = len(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = index.composite(X).to_numpy()
    # customers the index cannot score (a missing indicator) have no tier: compare the rest
    scored = X.loc[np.isfinite(original)]
    original = original[np.isfinite(original)]
    original_tier = _quintile(original)
    original_top = _top(original, top_share)
    draws = np.empty((n_boot,) + base.shape)
    cong = np.empty((n_boot, k))
    weights = np.empty((n_boot, k))
    ind_weights = np.empty((n_boot, base.shape[0]))
    stable, changed, retained, rho = (np.empty(n_boot) for _ in range(4))
    k_rule = np.empty(n_boot, dtype=int)
    in_top = np.zeros(len(scored), dtype=int)
    for b in range(n_boot):
        sample = X.iloc[rng.integers(0, n, n)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = clone(template).fit(sample)
            composite = rep.composite(scored).to_numpy()
        draws[b], cong[b], perm = _matched(base, rep.loadings_.to_numpy())
        weights[b] = rep.composite_weights_.to_numpy()[perm]
        ind_weights[b] = _indicator_weights(rep)
        k_rule[b] = _replicate_k(index, rep)
        stable[b] = np.mean(_quintile(composite) == original_tier)
        top = _top(composite, top_share)
        in_top += top
        changed[b] = np.mean(top != original_top)
        retained[b] = (top & original_top).sum() / max(original_top.sum(), 1)
        rho[b] = stats.spearmanr(composite, original)[0]
    rows = []
    lo, hi = np.quantile(draws, (1 - ci) / 2, axis=0), np.quantile(draws, (1 + ci) / 2, axis=0)
    se = draws.std(0, ddof=1)
    for i, item in enumerate(index.columns_):
        for j, f in enumerate(index.loadings_.columns):
            rows.append((item, f, base[i, j], lo[i, j], hi[i, j], se[i, j]))
    ci_frame = pd.DataFrame(
        rows, columns=["indicator", "factor", "estimate", "ci_low", "ci_high", "boot_se"]
    )
    counts = pd.Series(k_rule).value_counts(normalize=True).sort_index()
    counts.index.name = "n_factors"
    frequency = in_top / n_boot
    ever = np.where(original_top, frequency < 1, frequency > 0)
    factors = index.loadings_.columns
    return BootstrapResult(
        loadings_ci=ci_frame,
        congruence=pd.DataFrame(cong, columns=factors),
        tier_stability=float(stable.mean()),
        tier_stability_per_replicate=pd.Series(stable, name="tier_stability"),
        n_boot=int(n_boot),
        seed=seed,
        ci=ci,
        n_factors=k,
        n_factors_rule=retention_text(index.n_factors, index.parallel_),
        n_factors_distribution=counts.rename("share"),
        weights_ci=_ci_frame(index.composite_weights_, weights, factors, ci, "factor"),
        indicator_weights_ci=_ci_frame(
            _indicator_weights(index), ind_weights, index.columns_, ci, "indicator"
        ),
        top_share=top_share,
        top_tier_changed=pd.Series(changed, name="top_tier_changed"),
        top_tier_retained=pd.Series(retained, name="top_tier_retained"),
        top_tier_frequency=pd.Series(frequency, index=scored.index, name="top_tier_frequency"),
        top_tier_ever_changed=float(ever.mean()),
        rank_correlation=pd.Series(rho, name="rank_correlation"),
    )
