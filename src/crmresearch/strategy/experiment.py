"""Randomized customer-level experiments: effect per tier and overall (:func:`effect_by_tier`),
the experiment frame from a transaction log (:func:`experiment_from_log`) and the robust OLS
algebra they share (HC2 / cluster sandwich, Wald test), checked against statsmodels in the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from crmresearch._format import fmt_int, fmt_num, fmt_p, p_text
from crmresearch._stats import holm
from crmresearch.errors import DataError
from crmresearch.strategy._common import (
    OVERALL,
    _find_control,
    _numeric_outcome,
    _ordered_levels,
    _require_columns,
    label_text,
)

EFFECT_COLUMNS = [
    "tier",
    "arm",
    "n_treated",
    "n_control",
    "control_mean",
    "treated_mean",
    "effect",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "p_adjusted",
    "relative_lift",
]


# --------------------------------------------------------------------------------------------
# robust OLS
# --------------------------------------------------------------------------------------------
@dataclass
class _Fit:
    params: np.ndarray
    cov: np.ndarray

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))

    def conf_int(self, alpha: float) -> np.ndarray:
        z = stats.norm.ppf(1 - alpha / 2)
        return np.column_stack([self.params - z * self.bse, self.params + z * self.bse])

    @property
    def pvalues(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return 2 * stats.norm.sf(np.abs(self.params / self.bse))


def _ols_robust(y: np.ndarray, X: np.ndarray, cov_type: str, groups=None) -> _Fit:
    r"""OLS with a sandwich covariance, as ``statsmodels`` ``OLS.fit(cov_type=...)``.

    HC2: :math:`(X'X)^{-1} X' \mathrm{diag}(u_i^2 / (1 - h_{ii})) X (X'X)^{-1}` with leverages
    computed row-wise (statsmodels forms the n × n hat matrix, which does not scale to CRM
    sizes). Cluster (CR1): :math:`\frac{G}{G-1}\frac{n-1}{n-k}(X'X)^{-1}\sum_g s_g s_g'(X'X)^{-1}`
    with :math:`s_g = X_g' u_g` (statsmodels' default small-sample correction).
    """
    XtX_inv = np.linalg.pinv(X.T @ X)
    beta = XtX_inv @ (X.T @ y)
    u = y - X @ beta
    n, k = X.shape
    if cov_type == "cluster":
        codes = pd.factorize(groups)[0] if groups is not None else np.arange(n)
        G = int(codes.max()) + 1
        scores = np.zeros((G, k))
        np.add.at(scores, codes, X * u[:, None])
        meat = scores.T @ scores * (G / (G - 1)) * ((n - 1) / (n - k))
    else:
        h = np.einsum("ij,jk,ik->i", X, XtX_inv, X)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = u**2 / (1.0 - h)
        meat = (X * w[:, None]).T @ X
    return _Fit(params=beta, cov=XtX_inv @ meat @ XtX_inv)


def _wald(beta: np.ndarray, cov: np.ndarray, idx: Sequence[int]) -> tuple[float, int, float]:
    """Chi-square Wald test that beta[idx] = 0."""
    b = beta[list(idx)]
    V = cov[np.ix_(list(idx), list(idx))]
    stat = float(b @ np.linalg.pinv(V) @ b)
    df = int(np.linalg.matrix_rank(V))
    return stat, df, float(stats.chi2.sf(stat, df)) if df > 0 else float("nan")


# --------------------------------------------------------------------------------------------
# effect_by_tier
# --------------------------------------------------------------------------------------------
def display_table(table: pd.DataFrame, p_columns=("p_value", "p_adjusted")) -> pd.DataFrame:
    """A copy of a result table for printing: plain labels, p-values as ``0.043`` / ``< 0.001``."""
    out = table.copy()
    for col in ("tier", "arm", "rule"):
        if col in out.columns:
            out[col] = [label_text(v) for v in out[col]]
    for col in p_columns:
        if col in out.columns:
            out[col] = [fmt_p(v) for v in out[col]]
    return out


@dataclass
class TierEffects:
    """Result of :func:`effect_by_tier`.

    Attributes
    ----------
    table : DataFrame
        One row per tier per non-control arm, then one ``overall`` row per arm.
    skipped : DataFrame
        ``tier``, ``arm``, ``reason`` for tier/arm combinations that could not be estimated.
    excluded : DataFrame
        ``reason``, ``rows`` for rows left out (missing values), never silently.
    heterogeneity : DataFrame
        Joint Wald test of all treatment × tier interactions (``chi2``, ``df``, ``p_value``).
    """

    table: pd.DataFrame
    skipped: pd.DataFrame
    excluded: pd.DataFrame
    heterogeneity: pd.DataFrame
    treatment: str
    outcome: str
    tier: str | None
    control: Any
    covariates: list[str]
    cov_type: str
    binary: bool
    n_rows: int
    alpha: float = 0.05

    # DataFrame-like access so that ``effect_by_tier(...)`` behaves as "one row per tier + overall"
    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __getitem__(self, key):
        return self.table[key]

    def __len__(self) -> int:
        return len(self.table)

    @property
    def columns(self):
        return self.table.columns

    @property
    def loc(self):
        return self.table.loc

    @property
    def iloc(self):
        return self.table.iloc

    def _repr_html_(self) -> str:
        return self.table._repr_html_()

    @property
    def heterogeneity_p(self) -> float:
        """p-value of the joint treatment × tier test (NaN without two estimable tiers)."""
        if len(self.heterogeneity) == 0:
            return float("nan")
        return float(self.heterogeneity["p_value"].iloc[0])

    def summary(self) -> str:
        """Readable text: the per-tier table, heterogeneity test, skipped tiers, excluded rows."""
        kind = "risk difference" if self.binary else "difference in means"
        adj = f", ANCOVA on {', '.join(self.covariates)}" if self.covariates else ""
        lines = [
            f"Effect of '{self.treatment}' on '{self.outcome}' ({kind}{adj}; SE {self.cov_type}; "
            f"control arm '{label_text(self.control)}'; {fmt_int(self.n_rows)} rows)",
            "",
            display_table(self.table).to_string(index=False, float_format=lambda v: f"{v:.4g}"),
        ]
        if len(self.heterogeneity):
            h = self.heterogeneity.iloc[0]
            lines += [
                "",
                f"Heterogeneity (treatment x tier interactions = 0): chi2 = "
                f"{fmt_num(h['chi2'], 3)}, df = {int(h['df'])}, {p_text(h['p_value'])}",
            ]
        if len(self.skipped):
            lines += ["", "Skipped:"]
            lines += [
                f"  tier '{label_text(r.tier)}' arm '{label_text(r.arm)}': {r.reason}"
                for r in self.skipped.itertuples()
            ]
        if len(self.excluded):
            lines += ["", "Excluded rows:"]
            lines += [f"  {r.rows} rows: {r.reason}" for r in self.excluded.itertuples()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot_forest(self, **kwargs):
        """Forest plot of the per-tier effects with CIs; see :func:`crmresearch.plots.forest_plot`."""
        from crmresearch.plots.strategy import forest_plot

        kwargs.setdefault("outcome", self.outcome)
        kwargs.setdefault("alpha", self.alpha)
        return forest_plot(self.table, **kwargs)


@dataclass
class _Design:
    """The validated experiment: rows kept, outcome, arm labels, covariates, clusters."""

    data: pd.DataFrame
    y: np.ndarray
    binary: bool
    arms: np.ndarray  # object array of arm labels, one per row
    control: Any
    treated_arms: list
    covariates: list[str]
    X_cov: np.ndarray | None
    groups: np.ndarray | None
    cov_type: str
    excluded: pd.DataFrame


def _design(frame, treatment, outcome, tier, cluster, covariates, control) -> _Design:
    """Check the columns, count and exclude rows with missing values, find the control arm."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if isinstance(covariates, str):
        covariates = [c.strip() for c in covariates.split(",") if c.strip()]
    covariates = list(covariates or [])
    _require_columns(
        frame,
        {
            "treatment": treatment,
            "outcome": outcome,
            "tier": tier,
            "cluster": cluster,
            "covariate": covariates,
        },
    )
    for cov in covariates:
        if not (
            pd.api.types.is_numeric_dtype(frame[cov]) or pd.api.types.is_bool_dtype(frame[cov])
        ):
            raise DataError(
                f"covariate column {cov!r} is not numeric (dtype {frame[cov].dtype}); encode it "
                "as numbers or dummies first"
            )
    _numeric_outcome(frame[outcome].dropna(), outcome)  # type check before dropping rows

    # Count and exclude rows with missing values, never silently.
    needed = [treatment, outcome] + ([tier] if tier else []) + ([cluster] if cluster else [])
    needed += covariates
    excluded_rows = []
    keep = pd.Series(True, index=frame.index)
    for col in dict.fromkeys(needed):
        miss = frame[col].isna() & keep
        if miss.any():
            excluded_rows.append({"reason": f"missing {col!r}", "rows": int(miss.sum())})
            keep &= ~miss
    data = frame.loc[keep]
    if len(data) == 0:
        raise DataError(f"no rows left after excluding missing values ({excluded_rows})")

    y, binary = _numeric_outcome(data[outcome], outcome)
    arms = _ordered_levels(data[treatment])
    if len(arms) < 2:
        raise DataError(
            f"treatment column {treatment!r} has only one arm ({[label_text(a) for a in arms]}); "
            "an effect needs a control and at least one treated arm"
        )
    control_label = _find_control(arms, control, treatment)
    return _Design(
        data=data,
        y=y,
        binary=binary,
        arms=data[treatment].to_numpy(dtype=object),
        control=control_label,
        treated_arms=[a for a in arms if a is not control_label and a != control_label],
        covariates=covariates,
        X_cov=data[covariates].astype("float64").to_numpy() if covariates else None,
        groups=pd.factorize(data[cluster])[0] if cluster else None,
        cov_type="cluster" if cluster else "HC2",
        excluded=pd.DataFrame(excluded_rows, columns=["reason", "rows"]),
    )


def _fit_subset(d: _Design, mask: np.ndarray, tier_label, alpha, rows: list, skipped: list):
    """Fit y ~ arm dummies (+ centred covariates) on the rows in ``mask``; append the effects."""
    y, arm = d.y[mask], d.arms[mask]
    is_control = arm == d.control
    n_control = int(is_control.sum())
    present = []
    for a in d.treated_arms:
        n_a = int((arm == a).sum())
        if n_control < 2 or n_a < 2:
            reason = f"{n_a} treated and {n_control} control customers; need at least 2 of each"
            skipped.append({"tier": tier_label, "arm": a, "reason": reason})
        else:
            present.append(a)
    if not present:
        return
    use = is_control | np.isin(arm, np.array(present, dtype=object))
    y, arm = y[use], arm[use]
    cols = [np.ones(len(y))] + [(arm == a).astype(float) for a in present]
    if d.X_cov is not None:
        Xc = d.X_cov[mask][use]
        cols += list((Xc - Xc.mean(axis=0)).T)
    groups = d.groups[mask][use] if d.groups is not None else None
    if groups is not None and len(np.unique(groups)) < 2:
        for a in present:
            skipped.append({"tier": tier_label, "arm": a, "reason": "fewer than 2 clusters"})
        return
    res = _ols_robust(y, np.column_stack(cols), d.cov_type, groups)
    bse, ci, pv = res.bse, res.conf_int(alpha), res.pvalues
    c_mean = float(y[arm == d.control].mean())
    for j, a in enumerate(present, start=1):
        rows.append(
            {
                "tier": tier_label,
                "arm": a,
                "n_treated": int((arm == a).sum()),
                "n_control": n_control,
                "control_mean": c_mean,
                "treated_mean": float(y[arm == a].mean()),
                "effect": float(res.params[j]),
                "se": float(bse[j]),
                "ci_low": float(ci[j, 0]),
                "ci_high": float(ci[j, 1]),
                "p_value": float(pv[j]),
                "relative_lift": float(res.params[j] / c_mean) if c_mean != 0 else np.nan,
            }
        )


def _effects_table(rows: list, tier_levels: list, treated_arms: list) -> pd.DataFrame:
    """Rows to the effects table; Holm across the tiers of each arm (overall rows unadjusted)."""
    table = pd.DataFrame(rows, columns=[c for c in EFFECT_COLUMNS if c != "p_adjusted"])
    table["p_adjusted"] = np.nan
    is_overall = table["tier"].astype(str).eq(OVERALL) & ~table["tier"].isin(tier_levels)
    for a in treated_arms:
        sel = (table["arm"] == a) & ~is_overall
        if sel.any():
            table.loc[sel, "p_adjusted"] = holm(table.loc[sel, "p_value"].to_numpy())
    table.loc[is_overall, "p_adjusted"] = table.loc[is_overall, "p_value"]
    # Per-tier rows grouped by tier (then arm), overall rows last.
    return table[EFFECT_COLUMNS].reset_index(drop=True)


def effect_by_tier(
    frame: pd.DataFrame,
    *,
    treatment: str,
    outcome: str,
    tier: str | None = None,
    cluster: str | None = None,
    covariates: Sequence[str] | str | None = None,
    control: Any = None,
    alpha: float = 0.05,
) -> TierEffects:
    r"""Average treatment effect of each arm against control, per tier and overall.

    For each tier (and for all customers pooled) fit by OLS

    .. math:: y_i = \alpha + \sum_{a \ne c} \tau_a D_{ia} + (x_i - \bar x)^\top \beta + e_i

    where :math:`D_{ia}` marks arm *a* and *c* is the control arm. Without covariates
    :math:`\hat\tau_a = \bar y_a - \bar y_c` (for a 0/1 outcome: the risk difference) and the HC2
    variance equals the Neyman variance :math:`s_a^2/n_a + s_c^2/n_c`.

    Parameters
    ----------
    frame : DataFrame
        One row per customer (any column names).
    treatment, outcome : str
        Arm column (two or more arms) and numeric or binary (bool / 0-1) outcome column.
    tier : str, optional
        Segment column; effects are estimated within each tier, plus an ``overall`` row.
    cluster : str, optional
        Assignment-group column (e.g. sales rep, store). SEs are then cluster-robust (CR1, as
        statsmodels ``cov_type="cluster"``) instead of HC2.
    covariates : list of str, optional
        Pre-treatment covariates for ANCOVA. They enter **additively, centred, not interacted with
        treatment** (classic ANCOVA; Frison & Pocock 1992); with HC2 SEs this stays valid under
        randomization (Lin 2013 shows the interacted version can be more precise under imbalanced
        arms — not implemented). Centring within the fitted subset keeps the intercept equal to the
        covariate-adjusted control mean.
    control : label, optional
        The control arm. Default: the arm named "control" (case-insensitive), 0 or False; if none or
        several match, a ``DataError`` asks for ``control=``.
    alpha : float
        1 - confidence level of the intervals.

    Returns
    -------
    TierEffects
        ``.table`` with columns ``tier``, ``arm``, ``n_treated``, ``n_control``, ``control_mean``,
        ``treated_mean``, ``effect``, ``se``, ``ci_low``, ``ci_high`` (normal, as statsmodels'
        robust fits), ``p_value``, ``p_adjusted`` (Holm across tiers, within arm; ``overall`` is not
        adjusted), ``relative_lift`` (effect / control mean). ``.skipped`` lists tiers/arms without
        at least two treated and two control customers; ``.excluded`` counts rows with missing
        values; ``.heterogeneity`` is the joint Wald test of all arm × tier interaction terms in
        ``y ~ arm * tier (+ covariates)``.

    Notes
    -----
    The ``overall`` row pools all customers without tier dummies (the plain difference in
    means); if assignment probabilities differ by tier, read the per-tier rows instead.

    R equivalent: ``lmtest::coeftest(lm(y ~ arm, d), vcov = sandwich::vcovHC(fit, "HC2"))`` per
    tier; ``estimatr::lm_robust(y ~ arm, clusters = g, se_type = "stata")`` for clusters.

    References
    ----------
    Imbens & Rubin (2015), *Causal Inference*, ch. 6–7. Lin (2013), *Ann. Appl. Stat.* 7(1).
    Holm (1979), *Scand. J. Statist.* 6.
    """
    d = _design(frame, treatment, outcome, tier, cluster, covariates, control)
    rows: list[dict] = []
    skipped: list[dict] = []
    tier_levels: list = []
    if tier:
        tier_values = d.data[tier].to_numpy(dtype=object)
        tier_levels = _ordered_levels(d.data[tier])
        for t in tier_levels:
            _fit_subset(d, tier_values == t, t, alpha, rows, skipped)
    _fit_subset(d, np.ones(len(d.data), dtype=bool), OVERALL, alpha, rows, skipped)
    table = _effects_table(rows, tier_levels, d.treated_arms)

    heterogeneity = pd.DataFrame(columns=["chi2", "df", "p_value", "n_tiers"])
    if tier and len(tier_levels) >= 2:
        heterogeneity = _heterogeneity_test(d, tier, tier_levels, skipped)

    return TierEffects(
        table=table,
        skipped=pd.DataFrame(skipped, columns=["tier", "arm", "reason"]),
        excluded=d.excluded,
        heterogeneity=heterogeneity,
        treatment=treatment,
        outcome=outcome,
        tier=tier,
        control=d.control,
        covariates=d.covariates,
        cov_type=d.cov_type,
        binary=d.binary,
        n_rows=len(d.data),
        alpha=alpha,
    )


def _heterogeneity_test(d: _Design, tier: str, tier_levels: list, skipped: list) -> pd.DataFrame:
    """Joint Wald test of all arm × tier interactions in y ~ arm * tier (+ covariates).

    Tiers where any arm could not be estimated are left out so that the model is full rank.
    """
    bad = {s["tier"] for s in skipped if s["tier"] != OVERALL}
    good_tiers = [t for t in tier_levels if t not in bad]
    if len(good_tiers) < 2:
        return pd.DataFrame(columns=["chi2", "df", "p_value", "n_tiers"])
    tier_values = d.data[tier].to_numpy(dtype=object)
    mask = np.isin(tier_values, np.array(good_tiers, dtype=object))
    y, arm, tv = d.y[mask], d.arms[mask], tier_values[mask]
    cols = [np.ones(len(y))]
    arm_d = [(arm == a).astype(float) for a in d.treated_arms]
    tier_d = [(tv == t).astype(float) for t in good_tiers[1:]]
    cols += arm_d + tier_d
    inter_start = len(cols)
    cols += [a * t for a in arm_d for t in tier_d]
    inter_idx = list(range(inter_start, len(cols)))
    if d.X_cov is not None:
        Xc = d.X_cov[mask]
        cols += list((Xc - Xc.mean(axis=0)).T)
    groups = d.groups[mask] if d.groups is not None else None
    res = _ols_robust(y, np.column_stack(cols), d.cov_type, groups)
    stat, df, p = _wald(res.params, res.cov, inter_idx)
    return pd.DataFrame([{"chi2": stat, "df": df, "p_value": p, "n_tiers": len(good_tiers)}])


# --------------------------------------------------------------------------------------------
# experiment_from_log
# --------------------------------------------------------------------------------------------
def experiment_from_log(
    log,
    campaign: pd.DataFrame,
    *,
    pre: tuple,
    post: tuple,
    indicators: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Customer-level experiment frame from a transaction log and a campaign table.

    Parameters
    ----------
    log : TransactionLog or DataFrame
        Canonical transactions (``customer_id``, ``date``, ``amount``, ...).
    campaign : DataFrame
        One row per customer in the experiment: ``customer_id``, ``arm`` and any other columns
        (``start``, ``tier``, ...) which are carried over unchanged.
    pre, post : (start, end)
        Inclusive date windows: pre-period indicators come from
        :func:`crmresearch.features.customer_features` on ``pre``; outcomes ``purchases``,
        ``revenue``, ``churned`` from :func:`crmresearch.features.holdout_outcomes` on ``post``.
    indicators : list of str, optional
        Passed to ``customer_features``.

    Returns
    -------
    DataFrame
        One row per campaign customer (campaign order): the campaign columns, ``pre_active``
        (bool: any transaction in the pre window), the pre-period indicators (NaN for customers
        with no pre-period activity — they are **kept**, not dropped, because dropping them would
        condition on a pre-period outcome and they are part of the randomized population), and the
        post-period outcomes. ``frame.attrs`` records ``n_campaign``, ``n_no_pre_activity`` and
        ``n_log_customers_not_in_campaign`` (transactions of customers outside the campaign are
        not used).
    """
    from crmresearch import features

    if not isinstance(campaign, pd.DataFrame):
        raise DataError(f"campaign must be a DataFrame, got {type(campaign).__name__}")
    _require_columns(campaign, {"campaign": ["customer_id", "arm"]})
    ids = campaign["customer_id"].astype("str")
    dup = ids[ids.duplicated()]
    if len(dup):
        raise DataError(
            f"campaign table has {len(dup)} duplicated customer_id values (first: {dup.iloc[0]!r}); "
            "keep one row per customer"
        )
    pre_start, pre_end = pre
    post_start, post_end = post
    feats = features.customer_features(log, start=pre_start, end=pre_end, indicators=indicators)
    feats.index = feats.index.astype("str")
    outcomes = features.holdout_outcomes(log, start=post_start, end=post_end, customers=ids)
    outcomes.index = outcomes.index.astype("str")

    clash = (set(feats.columns) | set(outcomes.columns)) & (set(campaign.columns) - {"customer_id"})
    if clash:
        raise DataError(
            f"campaign columns {sorted(clash)} clash with indicator/outcome names; rename them"
        )
    out = campaign.copy()
    out["customer_id"] = ids.to_numpy()
    out["pre_active"] = out["customer_id"].isin(feats.index)
    out = out.join(feats, on="customer_id")
    out = out.join(outcomes[["purchases", "revenue", "churned"]], on="customer_id")
    out = out.reset_index(drop=True)
    frame = log.frame if hasattr(log, "frame") else log
    out.attrs["n_campaign"] = len(out)
    out.attrs["n_no_pre_activity"] = int((~out["pre_active"]).sum())
    if isinstance(frame, pd.DataFrame):  # a path is read by features itself; no count then
        log_ids = pd.Index(frame["customer_id"].astype("str").unique())
        n_outside = int((~log_ids.isin(out["customer_id"])).sum())
        out.attrs["n_log_customers_not_in_campaign"] = n_outside
    return out
