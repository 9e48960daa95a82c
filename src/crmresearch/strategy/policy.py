"""Value of targeting rules from randomized data: inverse-probability-weighted (and doubly
robust) estimates with customer-bootstrap CIs (:func:`policy_value`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmresearch._format import fmt_int, fmt_num
from crmresearch.errors import DataError
from crmresearch.strategy._common import (
    _find_control,
    _numeric_outcome,
    _ordered_levels,
    _require_columns,
)
from crmresearch.strategy.experiment import display_table


@dataclass
class PolicyValues:
    """Result of :func:`policy_value`: ``table`` (one row per rule), ``boot`` (bootstrap values)."""

    table: pd.DataFrame
    boot: pd.DataFrame
    outcome: str
    budget: float | None
    alpha: float

    def summary(self) -> str:
        b = "no budget" if self.budget is None else f"budget {fmt_num(self.budget, 4)}"
        return (
            f"IPW value of targeting rules for '{self.outcome}' ({b}; mean outcome per customer)\n\n"
            + display_table(self.table).to_string(index=False, float_format=lambda v: f"{v:.4g}")
        )

    def __str__(self) -> str:
        return self.summary()

    def compare(self, a: str, b: str) -> pd.Series:
        """Value of rule ``a`` minus rule ``b`` with a paired percentile-bootstrap CI.

        Answers "which classification scheme makes the better targeting policy": the same
        bootstrap resamples are used for both rules, so the CI reflects their correlation.
        ``p_value`` is the two-sided bootstrap p = 2 min(P*(d <= 0), P*(d >= 0)).
        """
        for rule in (a, b):
            if rule not in self.boot.columns:
                raise DataError(f"no rule {rule!r}; rules are {list(self.boot.columns)}")
        values = self.table.set_index("rule")["value"]
        d = (self.boot[a] - self.boot[b]).to_numpy()
        lo, hi = np.percentile(d, [50 * self.alpha, 100 - 50 * self.alpha])
        p = min(1.0, 2 * min((d <= 0).mean(), (d >= 0).mean()))
        return pd.Series(
            {"difference": values[a] - values[b], "ci_low": lo, "ci_high": hi, "p_value": p},
            name=f"{a} - {b}",
        )

    def plot_policy_values(self, **kwargs):
        from crmresearch.plots.strategy import policy_value_plot

        kwargs.setdefault("outcome", self.outcome)
        return policy_value_plot(self.table, **kwargs)


def _rule_probabilities(rule, frame: pd.DataFrame, k: int | None, name: str) -> np.ndarray:
    """Treatment probability per customer under a rule (0/1 except for ``random``)."""
    n = len(frame)
    if isinstance(rule, str) and rule in ("everyone", "nobody", "random"):
        if rule == "everyone":
            return np.ones(n)
        if rule == "nobody":
            return np.zeros(n)
        if k is None:
            raise DataError(f"rule {name!r} = 'random' needs a budget")
        return np.full(n, k / n)  # exact expectation over random draws of k customers
    if isinstance(rule, str):
        if rule not in frame.columns:
            raise DataError(
                f"rule {name!r}: score column {rule!r} is not in the frame; give a column "
                "name, 'everyone', 'nobody', 'random', a boolean array or a callable"
            )
        score = frame[rule]
        if not pd.api.types.is_numeric_dtype(score):
            raise DataError(f"rule {name!r}: score column {rule!r} is not numeric")
        if score.isna().any():
            raise DataError(
                f"rule {name!r}: score column {rule!r} has {int(score.isna().sum())} missing "
                "values; fill or drop them first"
            )
        if k is None:
            raise DataError(f"rule {name!r} ranks by {rule!r} and needs a budget (top-k)")
        # Highest score first; ties broken by row order (stable sort) so the rule is deterministic.
        order = np.argsort(-score.to_numpy(dtype=float), kind="stable")
        pi = np.zeros(n)
        pi[order[:k]] = 1.0
        return pi
    if callable(rule):
        rule = rule(frame)
    arr = np.asarray(rule)
    if arr.shape != (n,):
        raise DataError(
            f"rule {name!r}: decisions must have one entry per row ({n}), got {arr.shape}"
        )
    arr = arr.astype(float)
    if ((arr < 0) | (arr > 1)).any():
        raise DataError(f"rule {name!r}: decisions must be booleans or probabilities in [0, 1]")
    return arr


@dataclass
class _PolicyData:
    """The two-arm experiment a policy is evaluated on (other arms' rows set aside)."""

    data: pd.DataFrame
    y: np.ndarray
    t: np.ndarray  # 1.0 = treated arm
    k: int | None  # customers a ranking rule may treat
    n_missing: int
    n_other_arms: int


def _policy_data(frame, treatment, outcome, budget, control, treated) -> _PolicyData:
    data = frame
    n_missing = int(data[[treatment, outcome]].isna().any(axis=1).sum())
    if n_missing:
        data = data.dropna(subset=[treatment, outcome])
    arms = _ordered_levels(data[treatment])
    if len(arms) < 2:
        raise DataError(f"treatment column {treatment!r} has only one arm ({arms!r})")
    control_label = _find_control(arms, control, treatment)
    others = [a for a in arms if a != control_label]
    if treated is None:
        if len(others) > 1:
            raise DataError(
                f"treatment column {treatment!r} has several treated arms {others}; pass treated="
            )
        treated_label = others[0]
    else:
        treated_label = _find_control(arms, treated, treatment)
    in_pair = data[treatment].isin([control_label, treated_label])
    n_other_arms = int((~in_pair).sum())
    data = data.loc[in_pair].reset_index(drop=True)
    y, _ = _numeric_outcome(data[outcome], outcome)
    t = (data[treatment] == treated_label).to_numpy(dtype=float)
    n = len(data)
    k = None
    if budget is not None:
        if budget <= 0 or (budget > 1 and budget != int(budget)) or budget > n:
            raise DataError(f"budget {budget!r} must be a share in (0, 1] or a count 1..{n}")
        k = (
            int(round(budget * n))
            if budget <= 1 and not isinstance(budget, (int, np.integer))
            else int(budget)
        )
    return _PolicyData(data, y, t, k, n_missing, n_other_arms)


def _propensities(propensity, data: pd.DataFrame, t: np.ndarray) -> np.ndarray | None:
    """Fixed assignment probabilities per customer, or None (= the share treated, re-estimated
    in every bootstrap sample)."""
    if propensity is None:
        return None
    n = len(data)
    if isinstance(propensity, str):
        _require_columns(data, {"propensity": propensity})
        e = data[propensity].to_numpy(dtype=float)
    else:
        e = np.broadcast_to(np.asarray(propensity, dtype=float), (n,)).copy()
    if ((e <= 0) | (e >= 1)).any():
        raise DataError("propensities must lie strictly between 0 and 1")
    return e


def _covariate_matrix(data: pd.DataFrame, covariates) -> np.ndarray | None:
    if not covariates:
        return None
    _require_columns(data, {"covariate": covariates})
    Xc = data[covariates].astype("float64").to_numpy()
    if np.isnan(Xc).any():
        raise DataError(
            f"covariates {covariates} have missing values; fill them (e.g. 0 for no "
            "pre-period activity) before policy_value"
        )
    return np.column_stack([np.ones(len(data)), Xc])


@dataclass
class _AIPW:
    """Values of all rules (columns of ``pis``) for each row of resampling weights."""

    y: np.ndarray
    t: np.ndarray
    pis: np.ndarray
    e: np.ndarray | None
    X: np.ndarray | None

    def __call__(self, W: np.ndarray) -> np.ndarray:
        """W: m × n resampling weights (rows sum to n) -> m × rules values."""
        y, t, pis, X = self.y, self.t, self.pis, self.X
        n = len(y)
        if self.e is not None:
            e_t, e_c = self.e[None, :], 1 - self.e[None, :]  # per customer
        else:  # propensity re-estimated as the (weighted) share treated
            eb = np.clip((W @ t) / n, 1.0 / n, 1 - 1.0 / n)[:, None]
            e_t, e_c = eb, 1 - eb
        if X is None:
            mu1 = mu0 = np.zeros((1, n))
        else:  # arm-wise (weighted) least squares outcome models, refit per resample
            mus = []
            for arm_mask in (t, 1 - t):
                Wa = W * arm_mask[None, :]
                A = np.einsum("bn,ni,nj->bij", Wa, X, X)
                c = (Wa * y[None, :]) @ X
                beta = np.linalg.solve(A + 1e-12 * np.eye(X.shape[1]), c[:, :, None])[:, :, 0]
                mus.append(beta @ X.T)
            mu1, mu0 = mus
        resid_t = W * (t * (y - mu1)) / e_t
        resid_c = W * ((1 - t) * (y - mu0)) / e_c
        model = (W * mu1) @ pis + (W * mu0) @ (1 - pis)
        return (model + resid_t @ pis + resid_c @ (1 - pis)) / n


def _bootstrap(estimate: _AIPW, n_boot: int, seed) -> np.ndarray:
    """Customer-bootstrap values (n_boot × rules) with multinomial resampling counts."""
    n = len(estimate.y)
    rng = np.random.default_rng(seed)
    boot = np.empty((n_boot, estimate.pis.shape[1]))
    chunk = max(1, int(2_000_000 // max(n, 1)))  # bound the m × n matrices
    for b0 in range(0, n_boot, chunk):
        m = min(chunk, n_boot - b0)
        W = rng.multinomial(n, np.full(n, 1.0 / n), size=m).astype(float)  # resample counts
        boot[b0 : b0 + m] = estimate(W)
    return boot


def policy_value(
    frame: pd.DataFrame,
    rules: Mapping[str, Any],
    *,
    treatment: str,
    outcome: str,
    budget: float | int | None = None,
    propensity: str | float | np.ndarray | None = None,
    control: Any = None,
    treated: Any = None,
    covariates: Sequence[str] | None = None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int | None = 0,
) -> PolicyValues:
    r"""Expected outcome per customer if a targeting rule decided who is treated (IPW).

    For a rule giving each customer a treatment probability :math:`\pi_i` (0/1 for a
    deterministic rule) and randomized data with propensity :math:`e_i`, the Horvitz–Thompson
    inverse-probability-weighted value is

    .. math:: \hat V(\pi) = \frac1n \sum_i \Big[\frac{T_i \pi_i}{e_i} + \frac{(1-T_i)(1-\pi_i)}{1-e_i}\Big] Y_i .

    With :math:`e` = the sample share treated, ``everyone`` equals the treated mean and ``nobody``
    the control mean exactly. With ``covariates`` the augmented (doubly robust) IPW value

    .. math:: \hat V(\pi) = \frac1n \sum_i \Big[\pi_i \hat\mu_1(x_i) + (1-\pi_i)\hat\mu_0(x_i)
              + \frac{T_i \pi_i (Y_i - \hat\mu_1(x_i))}{e_i}
              + \frac{(1-T_i)(1-\pi_i)(Y_i - \hat\mu_0(x_i))}{1-e_i}\Big]

    is used, with :math:`\hat\mu_a` linear regressions of Y on the covariates within arm *a*
    (refit in every bootstrap sample). It stays unbiased under randomization whatever the
    outcome model and is much less noisy when the covariates predict the outcome (e.g.
    pre-period revenue) — plain IPW values of rules that treat different customers are often
    too noisy to rank.

    Parameters
    ----------
    frame : DataFrame, one row per customer of a randomized experiment.
    rules : {name: rule}
        A rule is ``"everyone"``, ``"nobody"``, ``"random"`` (each customer with probability
        k/n), a numeric score column name (treat the top-k by score, e.g. the classification index
        or sales volume), a boolean/probability array, or a callable ``frame -> array``.
    treatment, outcome : str
    budget : float or int, optional
        Share (0 < b ≤ 1) or number (≥ 1) of customers a ranking rule may treat.
    propensity : column name, float or array, optional
        Assignment probability to the treated arm; default: the sample share treated
        (re-estimated in each bootstrap sample).
    control, treated : arm labels; ``treated`` is needed when there are several treated arms
        (other treated arms' rows are excluded and counted in ``table.attrs``).
    covariates : list of str, optional
        Numeric pre-treatment columns for the doubly robust (AIPW) estimator.
    n_boot : int
        Nonparametric bootstrap resamples of customers for the CIs (percentile); the gain over
        ``nobody`` and over ``random`` (if present) is bootstrapped pairwise.

    Returns
    -------
    PolicyValues
        ``table``: ``rule``, ``share_treated``, ``value``, ``ci_low``, ``ci_high``,
        ``gain_vs_nobody``, ``gain_ci_low``, ``gain_ci_high``.

    References
    ----------
    Horvitz & Thompson (1952), *JASA* 47. Dudík, Langford & Li (2011), *ICML* (doubly robust
    policy evaluation). Athey & Wager (2021), *Econometrica* 89(1).
    R equivalent: ``policytree`` / ``grf::get_scores`` with known propensities.
    """
    _require_columns(frame, {"treatment": treatment, "outcome": outcome})
    if not rules:
        raise DataError("rules is empty; give at least one rule, e.g. {'everyone': 'everyone'}")
    pd_ = _policy_data(frame, treatment, outcome, budget, control, treated)
    n = len(pd_.data)
    names = list(rules)
    pis = np.column_stack([_rule_probabilities(rules[nm], pd_.data, pd_.k, nm) for nm in names])
    # A hidden "nobody" column so that gains against treating nobody are bootstrapped pairwise.
    pis = np.column_stack([pis, np.zeros(n)])
    estimate = _AIPW(
        y=pd_.y,
        t=pd_.t,
        pis=pis,
        e=_propensities(propensity, pd_.data, pd_.t),
        X=_covariate_matrix(pd_.data, covariates),
    )
    values = estimate(np.ones((1, n)))[0]
    boot = _bootstrap(estimate, n_boot, seed)
    lo, hi = alpha / 2 * 100, (1 - alpha / 2) * 100
    base_val, base_boot = values[-1], boot[:, -1]
    values, boot, pis = values[:-1], boot[:, :-1], pis[:, :-1]
    table = pd.DataFrame(
        {
            "rule": names,
            "share_treated": pis.mean(axis=0),
            "value": values,
            "ci_low": np.percentile(boot, lo, axis=0),
            "ci_high": np.percentile(boot, hi, axis=0),
        }
    )
    gains = boot - base_boot[:, None]
    table["gain_vs_nobody"] = values - base_val
    table["gain_ci_low"] = np.percentile(gains, lo, axis=0)
    table["gain_ci_high"] = np.percentile(gains, hi, axis=0)
    table.attrs["n_excluded_missing"] = pd_.n_missing
    table.attrs["n_excluded_other_arms"] = pd_.n_other_arms
    table.attrs["budget_k"] = pd_.k
    return PolicyValues(
        table=table,
        boot=pd.DataFrame(boot, columns=names),
        outcome=outcome,
        budget=budget,
        alpha=alpha,
    )


# --------------------------------------------------------------------------------------------
# analytic values and paired differences (randomized two-arm data, no outcome model)
# --------------------------------------------------------------------------------------------
@dataclass
class PolicyContrasts:
    """Result of :func:`policy_contrasts`: ``values`` (one row per rule) and ``differences``
    (one row per pair of rules, paired)."""

    values: pd.DataFrame
    differences: pd.DataFrame
    outcome: str
    budget: float | None
    alpha: float
    n_treated: int
    n_control: int

    def summary(self) -> str:
        b = "no budget" if self.budget is None else f"budget {fmt_num(self.budget, 4)}"
        level = fmt_num(100 * (1 - self.alpha), 0)
        f = lambda v: f"{v:.4g}"  # noqa: E731
        return "\n".join(
            [
                f"Value of targeting rules for '{self.outcome}' ({b}; mean outcome per customer; "
                f"{fmt_int(self.n_treated)} treated, {fmt_int(self.n_control)} control; "
                f"normal {level} % CIs)",
                "",
                display_table(self.values).to_string(index=False, float_format=f),
                "",
                "Paired differences (same customers, difference in means of d·y between arms):",
                display_table(self.differences).to_string(index=False, float_format=f),
            ]
        )

    def __str__(self) -> str:
        return self.summary()

    def plot_policy_values(self, **kwargs):
        from crmresearch.plots.strategy import policy_value_plot

        kwargs.setdefault("outcome", self.outcome)
        return policy_value_plot(self.values, **kwargs)


def _arm_mean_var(z: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """Difference of arm means of z (treated − control) and its Neyman variance."""
    z1, z0 = z[t == 1], z[t == 0]
    return (
        float(z1.mean() - z0.mean()),
        float(z1.var(ddof=1) / len(z1) + z0.var(ddof=1) / len(z0)),
    )


def policy_contrasts(
    frame: pd.DataFrame,
    rules: Mapping[str, Any],
    *,
    treatment: str,
    outcome: str,
    budget: float | int | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
    control: Any = None,
    treated: Any = None,
    alpha: float = 0.05,
) -> PolicyContrasts:
    r"""Values of targeting rules and their paired differences, with analytic (Neyman) SEs.

    With the propensity estimated by the sample share treated, the IPW value of
    :func:`policy_value` is

    .. math:: \hat V(\pi) = \bar{(\pi y)}_1 + \bar{((1-\pi) y)}_0 ,

    (means over the treated arm 1 and the control arm 0), with variance
    :math:`s_1^2(\pi y)/n_1 + s_0^2((1-\pi)y)/n_0`. For two rules *a*, *b* and
    :math:`d_i = \pi_{ai} - \pi_{bi}` the difference is the difference in arm means of
    :math:`d_i y_i`,

    .. math:: \hat V(\pi_a) - \hat V(\pi_b) = \bar{(d y)}_1 - \bar{(d y)}_0 ,

    with the Neyman variance :math:`s_1^2(dy)/n_1 + s_0^2(dy)/n_0` — the HC2 SE of the OLS of
    :math:`d y` on the treatment dummy. The pairing is exact: customers both rules treat (or
    both leave alone) contribute :math:`d_i = 0`. Rules must depend on pre-treatment data only.

    Parameters
    ----------
    frame, rules, treatment, outcome, budget, control, treated
        As :func:`policy_value` (no ``covariates`` / ``propensity``: this is the plain IPW
        estimator under complete randomization).
    pairs : list of (rule_a, rule_b), optional
        Differences to report (default: every pair in ``rules`` order).
    alpha : float
        1 − confidence level of the normal intervals.

    Returns
    -------
    PolicyContrasts
        ``values``: ``rule``, ``share_treated``, ``value``, ``se``, ``ci_low``, ``ci_high``.
        ``differences``: ``rule_a``, ``rule_b``, ``difference``, ``se``, ``ci_low``,
        ``ci_high``, ``p_value``, ``customers_differing`` (rows where the rules decide differently).

    References
    ----------
    Neyman (1923/1990), *Statist. Sci.* 5(4). Imbens & Rubin (2015), ch. 6. Horvitz & Thompson
    (1952), *JASA* 47. R equivalent: ``estimatr::difference_in_means(I(d * y) ~ t)``.
    """
    from scipy import stats

    _require_columns(frame, {"treatment": treatment, "outcome": outcome})
    if not rules:
        raise DataError("rules is empty; give at least one rule, e.g. {'everyone': 'everyone'}")
    pd_ = _policy_data(frame, treatment, outcome, budget, control, treated)
    y, t = pd_.y, pd_.t
    if min(int(t.sum()), int((1 - t).sum())) < 2:
        raise DataError("policy contrasts need at least 2 treated and 2 control customers")
    names = list(rules)
    pis = {nm: _rule_probabilities(rules[nm], pd_.data, pd_.k, nm) for nm in names}
    z = stats.norm.ppf(1 - alpha / 2)
    value_rows = []
    for nm in names:
        pi = pis[nm]
        v1, v0 = (pi * y)[t == 1], ((1 - pi) * y)[t == 0]
        value = float(v1.mean() + v0.mean())
        se = float(np.sqrt(v1.var(ddof=1) / len(v1) + v0.var(ddof=1) / len(v0)))
        value_rows.append(
            {
                "rule": nm,
                "share_treated": float(pi.mean()),
                "value": value,
                "se": se,
                "ci_low": value - z * se,
                "ci_high": value + z * se,
            }
        )
    if pairs is None:
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    diff_rows = []
    for a, b in pairs:
        for rule in (a, b):
            if rule not in pis:
                raise DataError(f"no rule {rule!r}; rules are {names}")
        d = pis[a] - pis[b]
        diff, var = _arm_mean_var(d * y, t)
        se = float(np.sqrt(var))
        with np.errstate(divide="ignore", invalid="ignore"):
            p = float(2 * stats.norm.sf(abs(diff / se))) if se > 0 else float("nan")
        diff_rows.append(
            {
                "rule_a": a,
                "rule_b": b,
                "difference": diff,
                "se": se,
                "ci_low": diff - z * se,
                "ci_high": diff + z * se,
                "p_value": p,
                "customers_differing": int((d != 0).sum()),
            }
        )
    values = pd.DataFrame(value_rows)
    values.attrs["budget_k"] = pd_.k
    values.attrs["n_excluded_missing"] = pd_.n_missing
    values.attrs["n_excluded_other_arms"] = pd_.n_other_arms
    return PolicyContrasts(
        values=values,
        differences=pd.DataFrame(
            diff_rows,
            columns=[
                "rule_a",
                "rule_b",
                "difference",
                "se",
                "ci_low",
                "ci_high",
                "p_value",
                "customers_differing",
            ],
        ),
        outcome=outcome,
        budget=budget,
        alpha=alpha,
        n_treated=int(t.sum()),
        n_control=int((1 - t).sum()),
    )
