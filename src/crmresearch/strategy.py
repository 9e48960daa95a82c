"""Strategy effectiveness: did a tier's strategy work, for which tier, and was it worth its cost?

One function per question:

- :func:`effect_by_tier` — randomized customer-level experiments: effect per tier and overall
  (difference in means by OLS with HC2 or cluster-robust SEs, optional ANCOVA), Holm-adjusted
  p-values across tiers and a joint Wald test of treatment × tier heterogeneity.
- :func:`experiment_from_log` — build the customer-level experiment frame from a transaction log
  and a campaign table (pre-period indicators, post-period outcomes).
- :func:`make_panel` / :func:`diff_in_diff` — non-randomized staggered roll-outs: customer × period
  panel, two-way fixed effects with customer-clustered SEs, event-study leads and lags.
- :func:`roi` — incremental profit per tier and the break-even cost per customer.
- :func:`policy_value` — value of a targeting rule (top-k by index, by volume, random, everyone,
  nobody) from randomized data by inverse-probability weighting, with bootstrap CIs.
- :func:`power_table` — minimum detectable effect per tier and the sample size for a given effect.

All estimators are plain OLS / sandwich algebra checked against statsmodels in the tests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from crmresearch.errors import DataError

__all__ = [
    "TierEffects",
    "DiDResult",
    "PolicyValues",
    "effect_by_tier",
    "experiment_from_log",
    "make_panel",
    "diff_in_diff",
    "roi",
    "policy_value",
    "power_table",
]

OVERALL = "overall"
_CONTROL_CANDIDATES = ("control",)

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
# helpers
# --------------------------------------------------------------------------------------------
def _require_columns(frame: pd.DataFrame, columns: Mapping[str, Any]) -> None:
    for role, name in columns.items():
        if name is None:
            continue
        names = [name] if isinstance(name, str) or not isinstance(name, Sequence) else list(name)
        for col in names:
            if col not in frame.columns:
                raise DataError(
                    f"{role} column {col!r} is not in the frame; available columns: "
                    f"{', '.join(map(str, frame.columns))}"
                )


def _numeric_outcome(values: pd.Series, name: str) -> tuple[np.ndarray, bool]:
    """Return the outcome as float64 and whether it is binary (only 0/1 values)."""
    if pd.api.types.is_bool_dtype(values):
        out = values.astype("float64").to_numpy()
    elif pd.api.types.is_numeric_dtype(values):
        out = values.astype("float64").to_numpy()
    else:
        raise DataError(
            f"outcome column {name!r} is not numeric (dtype {values.dtype}); convert it to numbers "
            "(e.g. revenue) or 0/1 / True/False for a binary outcome"
        )
    binary = bool(np.isin(out, (0.0, 1.0)).all())
    return out, binary


def _find_control(arms: Sequence, control: Any, column: str) -> Any:
    if control is not None:
        matches = [a for a in arms if a == control or str(a) == str(control)]
        if not matches:
            raise DataError(
                f"control arm {control!r} does not occur in treatment column {column!r}; "
                f"arms are {list(arms)}"
            )
        return matches[0]
    found = []
    for a in arms:
        if isinstance(a, str) and a.strip().lower() in _CONTROL_CANDIDATES:
            found.append(a)
        elif isinstance(a, (bool, np.bool_)) and not a:
            found.append(a)
        elif isinstance(a, (int, float, np.integer, np.floating)) and a == 0:
            found.append(a)
    if len(found) != 1:
        raise DataError(
            f"cannot tell which arm of treatment column {column!r} is the control among "
            f"{list(arms)}; pass control=LABEL (CLI: --control LABEL)"
        )
    return found[0]


def _ordered_levels(values: pd.Series) -> list:
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.dropna().unique())
        return [c for c in values.cat.categories if c in present]
    levels = list(pd.unique(values.dropna()))
    try:
        return sorted(levels)
    except TypeError:
        return sorted(levels, key=str)


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values; NaN entries are left NaN and not counted.

    p_(i) adjusted = max_{j <= i} min(1, (m - j + 1) p_(j)) over the sorted p-values
    (as ``statsmodels.stats.multitest.multipletests(method="holm")``, which we avoid because it
    runs a full ``gc.collect()`` per call).
    """
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m:
        order = ok[np.argsort(p[ok], kind="stable")]
        scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
        out[order] = np.maximum.accumulate(scaled)
    return out


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

    def summary(self) -> str:
        """Readable text: the per-tier table, heterogeneity test, skipped tiers, excluded rows."""
        kind = "risk difference" if self.binary else "difference in means"
        adj = f", ANCOVA on {', '.join(self.covariates)}" if self.covariates else ""
        lines = [
            f"Effect of {self.treatment!r} on {self.outcome!r} ({kind}{adj}; SE {self.cov_type}; "
            f"control arm {self.control!r}; {self.n_rows} rows)",
            "",
            self.table.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
        ]
        if len(self.heterogeneity):
            h = self.heterogeneity.iloc[0]
            lines += [
                "",
                f"Heterogeneity (treatment x tier interactions = 0): chi2 = {h['chi2']:.3f}, "
                f"df = {int(h['df'])}, p = {h['p_value']:.4g}",
            ]
        if len(self.skipped):
            lines += ["", "Skipped:"]
            lines += [
                f"  tier {r.tier!r} arm {r.arm!r}: {r.reason}" for r in self.skipped.itertuples()
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

        return forest_plot(self, **kwargs)


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
    excluded = pd.DataFrame(excluded_rows, columns=["reason", "rows"])
    if len(data) == 0:
        raise DataError(f"no rows left after excluding missing values ({excluded_rows})")

    y_all, binary = _numeric_outcome(data[outcome], outcome)
    arms = _ordered_levels(data[treatment])
    if len(arms) < 2:
        raise DataError(
            f"treatment column {treatment!r} has only one arm ({arms!r}); an effect needs a "
            "control and at least one treated arm"
        )
    control_label = _find_control(arms, control, treatment)
    treated_arms = [a for a in arms if a is not control_label and a != control_label]
    arm_values = data[treatment].to_numpy(dtype=object)
    X_cov_all = data[covariates].astype("float64").to_numpy() if covariates else None
    groups_all = pd.factorize(data[cluster])[0] if cluster else None
    cov_type = "cluster" if cluster else "HC2"

    rows: list[dict] = []
    skipped: list[dict] = []

    def fit_subset(mask: np.ndarray, tier_label) -> None:
        y = y_all[mask]
        arm = arm_values[mask]
        is_control = arm == control_label
        n_control = int(is_control.sum())
        present = []
        for a in treated_arms:
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
        if X_cov_all is not None:
            Xc = X_cov_all[mask][use]
            cols += list((Xc - Xc.mean(axis=0)).T)
        X = np.column_stack(cols)
        groups = groups_all[mask][use] if groups_all is not None else None
        if groups is not None and len(np.unique(groups)) < 2:
            for a in present:
                skipped.append({"tier": tier_label, "arm": a, "reason": "fewer than 2 clusters"})
            return
        res = _ols_robust(y, X, cov_type, groups)
        params, bse = res.params, res.bse
        ci = res.conf_int(alpha)
        pv = res.pvalues
        c_mean = float(y[arm == control_label].mean())
        for j, a in enumerate(present, start=1):
            rows.append(
                {
                    "tier": tier_label,
                    "arm": a,
                    "n_treated": int((arm == a).sum()),
                    "n_control": n_control,
                    "control_mean": c_mean,
                    "treated_mean": float(y[arm == a].mean()),
                    "effect": float(params[j]),
                    "se": float(bse[j]),
                    "ci_low": float(ci[j, 0]),
                    "ci_high": float(ci[j, 1]),
                    "p_value": float(pv[j]),
                    "relative_lift": float(params[j] / c_mean) if c_mean != 0 else np.nan,
                }
            )

    tier_levels: list = []
    if tier:
        tier_values = data[tier].to_numpy(dtype=object)
        tier_levels = _ordered_levels(data[tier])
        for t in tier_levels:
            fit_subset(tier_values == t, t)
    fit_subset(np.ones(len(data), dtype=bool), OVERALL)

    table = pd.DataFrame(rows, columns=[c for c in EFFECT_COLUMNS if c != "p_adjusted"])
    table["p_adjusted"] = np.nan
    is_overall = table["tier"].astype(str).eq(OVERALL) & ~table["tier"].isin(tier_levels)
    for a in treated_arms:
        sel = (table["arm"] == a) & ~is_overall
        if sel.any():
            table.loc[sel, "p_adjusted"] = _holm(table.loc[sel, "p_value"].to_numpy())
    table.loc[is_overall, "p_adjusted"] = table.loc[is_overall, "p_value"]
    table = table[EFFECT_COLUMNS]
    # Per-tier rows grouped by tier (then arm), overall rows last.
    table = table.reset_index(drop=True)

    heterogeneity = pd.DataFrame(columns=["chi2", "df", "p_value", "n_tiers"])
    if tier and len(tier_levels) >= 2:
        heterogeneity = _heterogeneity_test(
            data,
            y_all,
            arm_values,
            control_label,
            treated_arms,
            tier,
            tier_levels,
            skipped,
            X_cov_all,
            groups_all,
            cov_type,
        )

    return TierEffects(
        table=table,
        skipped=pd.DataFrame(skipped, columns=["tier", "arm", "reason"]),
        excluded=excluded,
        heterogeneity=heterogeneity,
        treatment=treatment,
        outcome=outcome,
        tier=tier,
        control=control_label,
        covariates=covariates,
        cov_type=cov_type,
        binary=binary,
        n_rows=len(data),
        alpha=alpha,
    )


def _heterogeneity_test(
    data,
    y_all,
    arm_values,
    control_label,
    treated_arms,
    tier,
    tier_levels,
    skipped,
    X_cov_all,
    groups_all,
    cov_type,
) -> pd.DataFrame:
    """Joint Wald test of all arm × tier interactions in y ~ arm * tier (+ covariates).

    Tiers where any arm could not be estimated are left out so that the model is full rank.
    """
    bad = {s["tier"] for s in skipped if s["tier"] != OVERALL}
    good_tiers = [t for t in tier_levels if t not in bad]
    if len(good_tiers) < 2:
        return pd.DataFrame(columns=["chi2", "df", "p_value", "n_tiers"])
    tier_values = data[tier].to_numpy(dtype=object)
    mask = np.isin(tier_values, np.array(good_tiers, dtype=object))
    y, arm, tv = y_all[mask], arm_values[mask], tier_values[mask]
    cols = [np.ones(len(y))]
    arm_d = [(arm == a).astype(float) for a in treated_arms]
    tier_d = [(tv == t).astype(float) for t in good_tiers[1:]]
    cols += arm_d + tier_d
    inter_start = len(cols)
    cols += [a * t for a in arm_d for t in tier_d]
    inter_idx = list(range(inter_start, len(cols)))
    if X_cov_all is not None:
        Xc = X_cov_all[mask]
        cols += list((Xc - Xc.mean(axis=0)).T)
    groups = groups_all[mask] if groups_all is not None else None
    res = _ols_robust(y, np.column_stack(cols), cov_type, groups)
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


# --------------------------------------------------------------------------------------------
# difference in differences
# --------------------------------------------------------------------------------------------
def _tx_frame(log) -> pd.DataFrame:
    frame = log.frame if hasattr(log, "frame") else log
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"log must be a TransactionLog or DataFrame, got {type(log).__name__}")
    _require_columns(frame, {"transaction log": ["customer_id", "date", "amount"]})
    return frame


def make_panel(
    log,
    rollout: pd.DataFrame,
    *,
    periods: tuple,
    freq: str = "M",
    tier: str | pd.Series | None = None,
) -> pd.DataFrame:
    """Balanced customer × period panel of net revenue for the roll-out customers.

    Every customer in ``rollout`` gets every period in ``periods`` (zero revenue when they did not
    buy). Columns: ``customer_id``, ``period`` (pandas Period), ``revenue``, ``purchases`` (rows),
    ``start_period`` (NaT-like missing when never treated), ``treated`` (0/1: period ≥ start
    period), ``rel_period`` (period − start period, NaN if never treated), ``tier`` if given.
    ``panel.attrs`` counts transactions outside the window or of customers not in ``rollout``.
    """
    tx = _tx_frame(log)
    _require_columns(rollout, {"rollout": ["customer_id", "start"]})
    ro = rollout.copy()
    ro["customer_id"] = ro["customer_id"].astype("str")
    if ro["customer_id"].duplicated().any():
        raise DataError(
            "rollout table has duplicated customer_id values; keep one row per customer"
        )
    p0, p1 = (pd.Timestamp(periods[0]), pd.Timestamp(periods[1]))
    if p1 < p0:
        raise DataError(f"periods end {p1.date()} is before start {p0.date()}")
    prange = pd.period_range(p0, p1, freq=freq)
    if len(prange) < 2:
        raise DataError("periods must span at least two periods for a difference in differences")
    tx_ids = tx["customer_id"].astype("str")
    dates = pd.to_datetime(tx["date"])
    in_window = (dates >= p0) & (dates < p1.normalize() + pd.Timedelta(days=1))
    ids = ro["customer_id"].to_numpy()
    cust_code = pd.Index(ids).get_indexer(tx_ids)
    in_ro = pd.Series(cust_code >= 0, index=tx.index)
    use = (in_window & in_ro).to_numpy()
    T = len(prange)
    # Integer period ordinals (no Period objects: boxing 10^5 of them costs seconds).
    first = prange[0].ordinal
    per_code = dates[use].dt.to_period(freq).array.asi8 - first
    cell = cust_code[use] * T + per_code
    amounts = tx.loc[use, "amount"].astype("float64").to_numpy()
    revenue = np.bincount(cell, weights=amounts, minlength=len(ids) * T)
    purchases = np.bincount(cell, minlength=len(ids) * T).astype("float64")
    panel = pd.DataFrame(
        {
            "customer_id": np.repeat(ids, T),
            "period": prange[np.tile(np.arange(T), len(ids))],  # integer take: no boxing
            "revenue": revenue,
            "purchases": purchases,
        }
    )
    start = pd.to_datetime(ro["start"])
    start_ord = np.full(len(ids), np.nan)
    has = start.notna().to_numpy()
    start_ord[has] = start[has].dt.to_period(freq).array.asi8 - first
    per_ord = np.tile(np.arange(T), len(ids))
    s_rep = np.repeat(start_ord, T)
    panel["period_index"] = per_ord
    panel["start_index"] = s_rep
    panel["rel_period"] = per_ord - s_rep
    panel["treated"] = np.where(np.isnan(s_rep), 0.0, (per_ord >= s_rep).astype(float))
    if tier is not None:
        if isinstance(tier, str):
            _require_columns(ro, {"tier": tier})
            tiers = ro[tier].to_numpy(dtype=object)
        else:
            tiers = tier.rename(index=str).reindex(ids).to_numpy(dtype=object)
        panel["tier"] = np.repeat(tiers, T)
    panel.attrs["n_transactions_outside_periods"] = int((~in_window & in_ro).sum())
    panel.attrs["n_transactions_not_in_rollout"] = int((~in_ro).sum())
    panel.attrs["periods"] = [str(p) for p in prange]
    return panel


def _twfe(y: np.ndarray, X: np.ndarray, N: int, T: int):
    """Two-way FE OLS on a balanced panel sorted by customer then period.

    Double demeaning (ỹ = y − ȳ_i − ȳ_t + ȳ) is the exact within transformation for a balanced
    panel (FWL), so no N + T dummies are built. Cluster-robust (by customer) sandwich with the
    small-sample factor G/(G−1)·(NT−1)/(NT−K), K = slopes + T (period effects + constant); the
    customer effects are nested in the clusters and not counted (as Stata ``reghdfe`` / ``xtreg,
    fe vce(cluster)``).
    """

    def demean(a):
        a3 = a.reshape(N, T, -1)
        out = a3 - a3.mean(axis=1, keepdims=True) - a3.mean(axis=0, keepdims=True)
        out += a3.mean(axis=(0, 1), keepdims=True)
        return out.reshape(N * T, -1)

    yd = demean(y.reshape(-1, 1))[:, 0]
    Xd = demean(X)
    keep = np.abs(Xd).sum(axis=0) > 1e-12  # slopes with no within variation are not identified
    Xd_k = Xd[:, keep]
    XtX_inv = np.linalg.pinv(Xd_k.T @ Xd_k)
    beta_k = XtX_inv @ (Xd_k.T @ yd)
    u = yd - Xd_k @ beta_k
    scores = (Xd_k * u[:, None]).reshape(N, T, -1).sum(axis=1)
    meat = scores.T @ scores
    nobs, k = N * T, Xd_k.shape[1]
    factor = N / (N - 1) * (nobs - 1) / (nobs - k - T)
    V_k = factor * XtX_inv @ meat @ XtX_inv
    beta = np.full(X.shape[1], np.nan)
    V = np.full((X.shape[1], X.shape[1]), np.nan)
    beta[keep] = beta_k
    V[np.ix_(keep, keep)] = V_k
    return beta, V


@dataclass
class DiDResult:
    """Result of :func:`diff_in_diff`.

    ``table``: per tier and ``overall`` — static TWFE effect per customer-period with cluster SE.
    ``event_study``: per tier, relative period (−leads … lags, reference −1 fixed at 0) effects.
    ``pretrend``: joint Wald test that all leads are zero. ``panel``: the panel used.
    """

    table: pd.DataFrame
    event_study: pd.DataFrame
    pretrend: pd.DataFrame
    panel: pd.DataFrame
    outcome: str
    freq: str
    leads: int
    lags: int
    alpha: float = 0.05
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["tier", "reason"]))

    def summary(self) -> str:
        f = lambda v: f"{v:.4g}"  # noqa: E731
        lines = [
            f"Two-way fixed-effects difference in differences on {self.outcome!r} per "
            f"{self.freq} period (SE clustered by customer)",
            "",
            self.table.to_string(index=False, float_format=f),
            "",
            "Pre-trend test (all leads = 0):",
            self.pretrend.to_string(index=False, float_format=f),
        ]
        if len(self.skipped):
            lines += ["", "Skipped:"] + [
                f"  {r.tier!r}: {r.reason}" for r in self.skipped.itertuples()
            ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot_event_study(self, **kwargs):
        """Leads and lags with CIs; see :func:`crmresearch.plots.event_study_plot`."""
        from crmresearch.plots.strategy import event_study_plot

        return event_study_plot(self, **kwargs)


def diff_in_diff(
    log,
    rollout: pd.DataFrame,
    *,
    periods: tuple,
    freq: str = "M",
    tier: str | pd.Series | None = None,
    outcome: str = "revenue",
    leads: int = 3,
    lags: int = 3,
    alpha: float = 0.05,
) -> DiDResult:
    r"""Difference in differences for a staggered, non-randomized roll-out.

    Static two-way fixed-effects model on the customer × period panel (:func:`make_panel`)

    .. math:: y_{it} = \alpha_i + \gamma_t + \beta D_{it} + e_{it},

    :math:`D_{it} = 1` from the customer's roll-out period on; never-treated customers
    (``start`` NaT) are controls throughout. Event study:

    .. math:: y_{it} = \alpha_i + \gamma_t + \sum_{k=-L,\,k\ne-1}^{K} \beta_k 1[t - s_i = k] + e_{it}

    with the end points binned (k ≤ −L and k ≥ K) and k = −1 the reference. Leads
    :math:`\beta_{-L..-2}` near zero (joint Wald test in ``.pretrend``) support parallel trends.

    Both are fitted by exact double demeaning of the balanced panel, so n = 5000 customers × 18
    months takes well under a second. SEs are clustered by customer (see ``_twfe``).

    Parameters
    ----------
    log : TransactionLog or DataFrame
    rollout : DataFrame with ``customer_id``, ``start`` (NaT = never treated) and optionally the
        tier column.
    periods : (start, end) dates of the panel; freq : pandas period alias ("M" = month).
    tier : column of ``rollout`` (or Series indexed by customer_id) — estimates per tier too.
    outcome : "revenue" (net amount per period) or "purchases" (rows per period).
    leads, lags : event-study window.

    Notes
    -----
    With staggered timing *and* effects that change over time or differ by cohort, the static
    TWFE β is a weighted average that can even carry negative weights (Goodman-Bacon 2021); read
    the event study, and prefer Callaway & Sant'Anna (2021) (R ``did``) if effects vary by cohort.
    R equivalent: ``fixest::feols(revenue ~ treated | customer_id + period, cluster = ~customer_id)``.

    References
    ----------
    Angrist & Pischke (2009), *Mostly Harmless Econometrics*, ch. 5. Goodman-Bacon (2021),
    *J. Econometrics* 225(2). Sun & Abraham (2021), *J. Econometrics* 225(2).
    """
    if outcome not in ("revenue", "purchases"):
        raise DataError(f"outcome must be 'revenue' or 'purchases', got {outcome!r}")
    if leads < 2 or lags < 0:
        raise DataError("need leads >= 2 (k = -1 is the reference) and lags >= 0")
    panel = make_panel(log, rollout, periods=periods, freq=freq, tier=tier)
    T = len(panel.attrs["periods"])
    z = stats.norm.ppf(1 - alpha / 2)
    rel_grid = [k for k in range(-leads, lags + 1) if k != -1]

    rows, es_rows, pt_rows, skipped = [], [], [], []
    groups = [(OVERALL, np.ones(len(panel), dtype=bool))]
    if tier is not None:
        tiers = _ordered_levels(panel["tier"])
        groups = [(t, (panel["tier"] == t).to_numpy()) for t in tiers] + groups
    rel_all = panel["rel_period"].to_numpy()
    for label, mask in groups:
        N = int(mask.sum() // T)
        sub_treated = panel["treated"].to_numpy()[mask]
        n_treated = int(np.isfinite(panel["start_index"].to_numpy()[mask][::T]).sum())
        if N < 3 or sub_treated.std() == 0:
            skipped.append({"tier": label, "reason": f"{N} customers, treatment never varies"})
            continue
        y = panel[outcome].to_numpy()[mask]
        beta, V = _twfe(y, sub_treated.reshape(-1, 1), N, T)
        se = math.sqrt(V[0, 0]) if np.isfinite(V[0, 0]) else np.nan
        rows.append(
            {
                "tier": label,
                "n_customers": N,
                "n_treated": n_treated,
                "n_periods": T,
                "effect": beta[0],
                "se": se,
                "ci_low": beta[0] - z * se,
                "ci_high": beta[0] + z * se,
                "p_value": 2 * stats.norm.sf(abs(beta[0] / se)) if se > 0 else np.nan,
            }
        )
        rel = rel_all[mask]
        binned = np.clip(rel, -leads, lags)
        X = np.column_stack([(binned == k).astype(float) for k in rel_grid])
        X[np.isnan(rel)] = 0.0
        b_es, V_es = _twfe(y, X, N, T)
        for j, k in enumerate(rel_grid):
            s = math.sqrt(V_es[j, j]) if np.isfinite(V_es[j, j]) else np.nan
            es_rows.append(
                {
                    "tier": label,
                    "rel_period": k,
                    "effect": b_es[j],
                    "se": s,
                    "ci_low": b_es[j] - z * s,
                    "ci_high": b_es[j] + z * s,
                }
            )
        es_rows.append(
            {
                "tier": label,
                "rel_period": -1,
                "effect": 0.0,
                "se": 0.0,
                "ci_low": 0.0,
                "ci_high": 0.0,
            }
        )
        lead_idx = [j for j, k in enumerate(rel_grid) if k < -1 and np.isfinite(b_es[j])]
        stat, df, p = _wald(b_es, V_es, lead_idx) if lead_idx else (np.nan, 0, np.nan)
        pt_rows.append({"tier": label, "chi2": stat, "df": df, "p_value": p})

    es = pd.DataFrame(es_rows, columns=["tier", "rel_period", "effect", "se", "ci_low", "ci_high"])
    es = es.sort_values(
        ["tier", "rel_period"], key=lambda s: s.astype(str) if s.name == "tier" else s
    )
    return DiDResult(
        table=pd.DataFrame(
            rows,
            columns=[
                "tier",
                "n_customers",
                "n_treated",
                "n_periods",
                "effect",
                "se",
                "ci_low",
                "ci_high",
                "p_value",
            ],
        ),
        event_study=es.reset_index(drop=True),
        pretrend=pd.DataFrame(pt_rows, columns=["tier", "chi2", "df", "p_value"]),
        panel=panel,
        outcome=outcome,
        freq=freq,
        leads=leads,
        lags=lags,
        alpha=alpha,
        skipped=pd.DataFrame(skipped, columns=["tier", "reason"]),
    )


# --------------------------------------------------------------------------------------------
# ROI
# --------------------------------------------------------------------------------------------
def roi(effects, margin: float | Mapping, cost_per_customer: float | Mapping) -> pd.DataFrame:
    r"""Incremental profit per treated customer and per tier, and the break-even cost.

    For a revenue effect :math:`\hat\tau` (per treated customer) with CI :math:`[l, u]`:

    - incremental gross profit per customer = ``margin`` · τ̂ (CI ``margin`` · [l, u]),
    - incremental profit per customer = ``margin`` · τ̂ − ``cost_per_customer`` (CI shifted alike),
    - total incremental profit = that × ``n_treated``,
    - break-even cost per customer = ``margin`` · τ̂ (with the same CI): the strategy pays while its
      cost per treated customer is below it; ``roi`` = profit / cost.

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
    out["break_even_cost"] = m * table["effect"].to_numpy()
    out["break_even_ci_low"] = m * table["ci_low"].to_numpy()
    out["break_even_ci_high"] = m * table["ci_high"].to_numpy()
    out["profit_per_customer"] = out["break_even_cost"] - c
    out["profit_ci_low"] = out["break_even_ci_low"] - c
    out["profit_ci_high"] = out["break_even_ci_high"] - c
    n = table["n_treated"].to_numpy(dtype=float)
    out["total_profit"] = out["profit_per_customer"] * n
    out["total_profit_ci_low"] = out["profit_ci_low"] * n
    out["total_profit_ci_high"] = out["profit_ci_high"] * n
    with np.errstate(divide="ignore", invalid="ignore"):
        out["roi"] = np.where(c > 0, out["profit_per_customer"] / c, np.nan)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# policy value
# --------------------------------------------------------------------------------------------
@dataclass
class PolicyValues:
    """Result of :func:`policy_value`: ``table`` (one row per rule), ``boot`` (bootstrap values)."""

    table: pd.DataFrame
    boot: pd.DataFrame
    outcome: str
    budget: float | None
    alpha: float

    def summary(self) -> str:
        b = "no budget" if self.budget is None else f"budget {self.budget:g}"
        return (
            f"IPW value of targeting rules for {self.outcome!r} ({b}; mean outcome per customer)\n\n"
            + self.table.to_string(index=False, float_format=lambda v: f"{v:.4g}")
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

        return policy_value_plot(self, **kwargs)


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

    fixed_e = propensity is not None
    if propensity is None:
        e = np.full(n, t.mean())
    elif isinstance(propensity, str):
        _require_columns(data, {"propensity": propensity})
        e = data[propensity].to_numpy(dtype=float)
    else:
        e = np.broadcast_to(np.asarray(propensity, dtype=float), (n,)).copy()
    if ((e <= 0) | (e >= 1)).any():
        raise DataError("propensities must lie strictly between 0 and 1")

    names = list(rules)
    pis = np.column_stack([_rule_probabilities(rules[nm], data, k, nm) for nm in names])
    # A hidden "nobody" column so that gains against treating nobody are bootstrapped pairwise.
    pis = np.column_stack([pis, np.zeros(n)])
    X = None
    if covariates:
        _require_columns(data, {"covariate": covariates})
        Xc = data[covariates].astype("float64").to_numpy()
        if np.isnan(Xc).any():
            raise DataError(
                f"covariates {covariates} have missing values; fill them (e.g. 0 for no "
                "pre-period activity) before policy_value"
            )
        X = np.column_stack([np.ones(n), Xc])

    def estimate(W: np.ndarray) -> np.ndarray:
        """Values of all rules for each row of resampling weights W (m × n, rows sum to n)."""
        if fixed_e:
            e_t, e_c = e[None, :], 1 - e[None, :]  # per customer
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

    values = estimate(np.ones((1, n)))[0]
    rng = np.random.default_rng(seed)
    boot = np.empty((n_boot, pis.shape[1]))
    chunk = max(1, int(2_000_000 // max(n, 1)))  # bound the m × n matrices
    for b0 in range(0, n_boot, chunk):
        m = min(chunk, n_boot - b0)
        W = rng.multinomial(n, np.full(n, 1.0 / n), size=m).astype(float)  # resample counts
        boot[b0 : b0 + m] = estimate(W)
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
    table.attrs["n_excluded_missing"] = n_missing
    table.attrs["n_excluded_other_arms"] = n_other_arms
    table.attrs["budget_k"] = k
    return PolicyValues(
        table=table,
        boot=pd.DataFrame(boot, columns=names),
        outcome=outcome,
        budget=budget,
        alpha=alpha,
    )


# --------------------------------------------------------------------------------------------
# power
# --------------------------------------------------------------------------------------------
def _as_sizes(frame_or_sizes, treatment, tier, control, ratio) -> pd.DataFrame:
    """Per-tier n_treated / n_control from a frame, a mapping tier -> n or (n_t, n_c), or an int."""
    if isinstance(frame_or_sizes, pd.DataFrame) and treatment is not None:
        _require_columns(frame_or_sizes, {"treatment": treatment, "tier": tier})
        arms = _ordered_levels(frame_or_sizes[treatment])
        c = _find_control(arms, control, treatment)
        is_c = frame_or_sizes[treatment] == c
        if tier:
            key = frame_or_sizes[tier]
            nt = (~is_c).groupby(key, sort=True, observed=True).sum()
            nc = is_c.groupby(key, sort=True, observed=True).sum()
        else:
            nt = pd.Series({OVERALL: int((~is_c).sum())})
            nc = pd.Series({OVERALL: int(is_c.sum())})
        return pd.DataFrame({"n_treated": nt.astype(int), "n_control": nc.astype(int)})
    if isinstance(frame_or_sizes, pd.DataFrame):
        _require_columns(frame_or_sizes, {"sizes": ["n_treated", "n_control"]})
        return frame_or_sizes[["n_treated", "n_control"]].astype(int)
    if isinstance(frame_or_sizes, (int, np.integer)):
        frame_or_sizes = {OVERALL: int(frame_or_sizes)}
    if isinstance(frame_or_sizes, (Mapping, pd.Series)):
        rows = {}
        for key, v in dict(frame_or_sizes).items():
            if isinstance(v, (tuple, list)):
                rows[key] = (int(v[0]), int(v[1]))
            else:  # total n split by ratio = n_control / n_treated
                nt = int(round(int(v) / (1 + ratio)))
                rows[key] = (nt, int(v) - nt)
        return pd.DataFrame.from_dict(rows, orient="index", columns=["n_treated", "n_control"])
    raise DataError(
        "frame_or_sizes must be an experiment DataFrame (with treatment=), a DataFrame with "
        "n_treated/n_control, a mapping tier -> n or (n_treated, n_control), or an int"
    )


def power_table(
    frame_or_sizes,
    baseline: float | Mapping | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    *,
    sd: float | Mapping | None = None,
    effect: float | None = None,
    ratio: float = 1.0,
    treatment: str | None = None,
    outcome: str | None = None,
    tier: str | None = None,
    control: Any = None,
) -> pd.DataFrame:
    r"""Minimum detectable effect per tier and the sample size needed for a given effect.

    Binary outcome (``baseline`` = control rate :math:`p_0`, no ``sd``): Cohen's
    :math:`h = 2\arcsin\sqrt{p_1} - 2\arcsin\sqrt{p_0}` with
    ``statsmodels.stats.power.NormalIndPower``; the MDE is reported as the rate difference
    :math:`p_1 - p_0` (upward). Continuous outcome (``sd`` given): :math:`d = \delta/\sigma` with
    ``TTestIndPower``; MDE = :math:`d\sigma`. Two-sided tests.

    Parameters
    ----------
    frame_or_sizes : experiment DataFrame (with ``treatment=``; ``tier=`` optional), a DataFrame
        with ``n_treated``/``n_control`` indexed by tier, a mapping tier → total n (split by
        ``ratio``) or → (n_treated, n_control), or an int.
    baseline : control mean / rate, scalar or per tier. From a frame with ``outcome=`` it defaults
        to the observed control mean per tier (and ``sd`` to the pooled SD for a non-binary
        outcome).
    sd : outcome standard deviation (continuous outcomes), scalar or per tier.
    effect : absolute effect for the sample-size columns ``n_treated_required``,
        ``n_control_required`` (at the tier's observed control/treated ratio) and
        ``power_at_n`` (power with the current sizes).
    ratio : n_control / n_treated used to split a total n (and for required sizes without a frame).

    R equivalent: ``pwr::pwr.2p2n.test`` (binary), ``pwr::pwr.t2n.test`` (continuous).

    References
    ----------
    Cohen (1988), *Statistical Power Analysis for the Behavioral Sciences*, ch. 2 and 6.
    """
    from statsmodels.stats.power import NormalIndPower, TTestIndPower

    sizes = _as_sizes(frame_or_sizes, treatment, tier, control, ratio)
    if (sizes[["n_treated", "n_control"]] < 2).any().any():
        bad = sizes.index[(sizes < 2).any(axis=1)].tolist()
        raise DataError(f"tiers {bad} have fewer than 2 customers in an arm; cannot compute power")

    # Baseline and SD from the data when not given.
    if outcome is not None and isinstance(frame_or_sizes, pd.DataFrame) and treatment is not None:
        df = frame_or_sizes
        _require_columns(df, {"outcome": outcome})
        yv, binary = _numeric_outcome(df[outcome], outcome)
        arms = _ordered_levels(df[treatment])
        c = _find_control(arms, control, treatment)
        is_c = (df[treatment] == c).to_numpy()
        key = df[tier].to_numpy(dtype=object) if tier else np.full(len(df), OVERALL, dtype=object)
        if baseline is None:
            baseline = {k: float(yv[is_c & (key == k)].mean()) for k in sizes.index}
        if sd is None and not binary:
            sd = {k: float(np.std(yv[key == k], ddof=1)) for k in sizes.index}
    if baseline is None and sd is None:
        raise DataError("give baseline= (control rate, binary outcome) or sd= (continuous outcome)")

    def per(v, k):
        if isinstance(v, (Mapping, pd.Series)):
            if k not in v:
                raise DataError(f"no value for tier {k!r} in {dict(v)}")
            return float(v[k])
        return None if v is None else float(v)

    continuous = sd is not None
    rows = []
    for k, r in sizes.iterrows():
        nt, nc = int(r["n_treated"]), int(r["n_control"])
        p0 = per(baseline, k)
        row = {"tier": k, "n_treated": nt, "n_control": nc, "baseline": p0}
        if continuous:
            s = per(sd, k)
            analysis = TTestIndPower()
            d = analysis.solve_power(
                effect_size=None,
                nobs1=nt,
                alpha=alpha,
                power=power,
                ratio=nc / nt,
                alternative="two-sided",
            )
            row.update({"sd": s, "mde_effect_size": d, "mde": d * s})
        else:
            if p0 is None or not 0 < p0 < 1:
                raise DataError(f"tier {k!r}: binary baseline rate must be in (0, 1), got {p0}")
            analysis = NormalIndPower()
            h = analysis.solve_power(
                effect_size=None,
                nobs1=nt,
                alpha=alpha,
                power=power,
                ratio=nc / nt,
                alternative="two-sided",
            )
            p1 = math.sin(min(math.pi / 2, (h + 2 * math.asin(math.sqrt(p0))) / 2)) ** 2
            row.update({"mde_effect_size": h, "mde": p1 - p0})
        row["mde_relative"] = row["mde"] / p0 if p0 else np.nan
        if effect is not None:
            if continuous:
                es = effect / row["sd"]
            else:
                from statsmodels.stats.proportion import proportion_effectsize

                p1 = p0 + effect
                if not 0 < p1 < 1:
                    raise DataError(f"tier {k!r}: baseline + effect = {p1} is not a rate in (0, 1)")
                es = proportion_effectsize(p1, p0)
            rat = nc / nt if isinstance(frame_or_sizes, pd.DataFrame) else ratio
            n1 = analysis.solve_power(
                effect_size=es,
                nobs1=None,
                alpha=alpha,
                power=power,
                ratio=rat,
                alternative="two-sided",
            )
            row["n_treated_required"] = int(math.ceil(n1))
            row["n_control_required"] = int(math.ceil(n1 * rat))
            row["power_at_n"] = analysis.power(
                effect_size=es, nobs1=nt, alpha=alpha, ratio=nc / nt, alternative="two-sided"
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs.update(
        {"alpha": alpha, "power": power, "kind": "continuous" if continuous else "binary"}
    )
    return out
