"""How many factors to retain: Horn's parallel analysis, Kaiser's rule, a variance target."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from crmresearch.index._common import as_corr, single_thread_blas
from crmresearch.index.extraction import minres_with_gradient

__all__ = ["ParallelAnalysis", "parallel_analysis", "n_by_rule", "observed_values"]

#: Simulated data sets in a parallel analysis unless told otherwise (Horn used 1; psych's
#: fa.parallel defaults to 20; 100 keeps the 95 % threshold's simulation error small: on the
#: CDNOW index system its seed-to-seed spread is ≈ 0.002 against ≈ 0.005 with 20).
DEFAULT_PARALLEL_ITER = 100


@dataclass
class ParallelAnalysis:
    """Result of Horn's parallel analysis (see :func:`parallel_analysis`)."""

    kind: str
    observed: pd.Series
    simulated_mean: pd.Series
    threshold: pd.Series
    n_suggested: int
    n_iter: int
    quantile: float
    seed: int | None

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "observed": self.observed,
                "simulated_mean": self.simulated_mean,
                "threshold": self.threshold,
            }
        )

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "observed": self.observed.tolist(),
            "simulated_mean": self.simulated_mean.tolist(),
            "threshold": self.threshold.tolist(),
            "n_suggested": self.n_suggested,
            "n_iter": self.n_iter,
            "quantile": self.quantile,
            "seed": self.seed,
        }

    @classmethod
    def from_dict(cls, d: dict) -> ParallelAnalysis:
        idx = pd.RangeIndex(1, len(d["observed"]) + 1, name="component")
        return cls(
            kind=d["kind"],
            observed=pd.Series(d["observed"], index=idx),
            simulated_mean=pd.Series(d["simulated_mean"], index=idx),
            threshold=pd.Series(d["threshold"], index=idx),
            n_suggested=d["n_suggested"],
            n_iter=d["n_iter"],
            quantile=d["quantile"],
            seed=d["seed"],
        )


def _random_correlations(n_obs: int, p: int, n_iter: int, rng) -> list[np.ndarray]:
    # The correlation matrix of n iid N(0, I) rows is cov2cor of a Wishart(n − 1, I) draw, so we
    # draw the p × p Wishart matrix (Bartlett decomposition) instead of an n × p data matrix:
    # same distribution, O(p²) instead of O(n p²) per draw.
    out = []
    for _ in range(n_iter):
        w = stats.wishart.rvs(df=n_obs - 1, scale=np.eye(p), random_state=rng)
        d = np.sqrt(np.diag(w))
        out.append(w / np.outer(d, d))
    return out


def _fa_values(r: np.ndarray) -> np.ndarray:
    # psych::fa(r, nfactors = 1, fm = "minres")$values: eigenvalues of the reduced correlation
    # matrix (communalities of the one-factor minres solution on the diagonal).
    loadings = minres_with_gradient(r, 1)
    reduced = r.copy()
    np.fill_diagonal(reduced, (loadings**2).sum(1))
    return np.sort(np.linalg.eigvalsh(reduced))[::-1]


def observed_values(r: np.ndarray, kind: str) -> np.ndarray:
    """The eigenvalues parallel analysis compares, in decreasing order: of ``r`` itself
    (``kind="pc"``) or of the reduced matrix of a one-factor minres fit (``kind="fa"``)."""
    if kind == "pc":
        return np.sort(np.linalg.eigvalsh(r))[::-1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _fa_values(r)


def parallel_analysis(
    R,
    n_obs: int,
    *,
    kind: str = "pc",
    n_iter: int = DEFAULT_PARALLEL_ITER,
    quantile: float = 0.95,
    seed: int | None = 0,
) -> ParallelAnalysis:
    """Horn's parallel analysis: how many eigenvalues exceed those of random data.

    The suggested number is the count of leading observed eigenvalues greater than the
    ``quantile`` of the eigenvalues of ``n_iter`` correlation matrices of ``n_obs`` × p
    independent normal variables (as ``psych::fa.parallel(..., quant = .95)``).

    ``kind="pc"`` compares eigenvalues of the correlation matrix (psych's ``ncomp``);
    ``kind="fa"`` compares eigenvalues of the reduced matrix from a one-factor minres fit
    (psych's ``nfact``, ``fa.parallel(fm = "minres", SMC = FALSE)``).

    The random draws cannot equal R's (different generators); the simulated thresholds agree
    in distribution, so the suggested count agrees except when an observed eigenvalue lies within
    simulation noise of its threshold (see ``tests/test_index_reference.py``).

    References
    ----------
    Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis.
    *Psychometrika* 30, 179–185. R: ``psych::fa.parallel``.
    """
    if kind not in ("pc", "fa"):
        raise ValueError(f"kind must be 'pc' or 'fa', got {kind!r}")
    if not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise ValueError(f"n_iter must be a positive whole number, got {n_iter!r}")
    r, _ = as_corr(R)
    p = r.shape[0]
    rng = np.random.default_rng(seed)
    with single_thread_blas():
        sims = _random_correlations(int(n_obs), p, n_iter, rng)
        observed = observed_values(r, kind)
        sim = np.array([observed_values(s, kind) for s in sims])
    threshold = np.quantile(sim, quantile, axis=0)
    above = observed > threshold
    n_suggested = int(p if above.all() else np.argmin(above))
    idx = pd.RangeIndex(1, p + 1, name="component")
    return ParallelAnalysis(
        kind=kind,
        observed=pd.Series(observed, index=idx),
        simulated_mean=pd.Series(sim.mean(0), index=idx),
        threshold=pd.Series(threshold, index=idx),
        n_suggested=n_suggested,
        n_iter=n_iter,
        quantile=quantile,
        seed=seed,
    )


def n_by_rule(eigenvalues: np.ndarray, rule) -> int:
    """Factors retained by a rule that needs only the eigenvalues: ``"kaiser"`` (λ > 1), a share
    in (0, 1) (smallest k reaching that cumulative share) or a whole number (checked ≤ p)."""
    eig = np.asarray(eigenvalues, dtype=float)
    if rule == "kaiser":
        return int((eig > 1).sum())
    if isinstance(rule, float):
        cum = np.cumsum(eig) / eig.sum()
        return int(np.searchsorted(cum, rule - 1e-12) + 1)
    if rule > len(eig):
        raise ValueError(f"n_factors = {rule} exceeds the number of indicators {len(eig)}")
    return int(rule)


def retention_text(rule, parallel: ParallelAnalysis | None) -> str:
    """How the number of factors was chosen, in words (for ``summary()``)."""
    if rule == "kaiser":
        return "Kaiser criterion: eigenvalues > 1"
    if rule == "parallel" and parallel is not None:
        what = "PC eigenvalues" if parallel.kind == "pc" else "reduced-matrix (FA) eigenvalues"
        return (
            f"parallel analysis on {what}, {parallel.n_iter} simulations, "
            f"{parallel.quantile:.0%} quantile, seed {parallel.seed}"
        )
    if isinstance(rule, float):
        return f"cumulative variance ≥ {rule:.0%}"
    return "fixed by the user"
