"""Potential core-customer loss: valuable customers the volume scheme neglects, and their churn.

The firm tiers customers by sales volume (e.g. ABC on calibration revenue) and serves the top
volume tier(s) best. The classification index ranks customers by overall value. A customer in
the top ``core_share`` by the index is *core*; a core customer outside the top volume tier(s) is
*neglected core* - valuable but not treated as such. If neglected core customers churn more in
the holdout than the *served core*, the volume scheme is losing core customers.

- :func:`potential_core_loss` -> :class:`CoreLossResult` (groups, churn, revenue lost, risk
  ratio/difference with CIs, two-proportion z-test, logistic regression, neglected-core list).
- :func:`problem_customers` - credit-risk / problem list with the reasons per customer.
- :func:`pseudonymize_ids` - salted-hash customer ids for lists leaving the analysis.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmresearch import tiers as _tiers
from crmresearch.errors import DataError

__all__ = [
    "potential_core_loss",
    "CoreLossResult",
    "problem_customers",
    "ProblemRule",
    "DEFAULT_PROBLEM_RULES",
    "LAPSING_RULE",
    "pseudonymize_ids",
    "wilson_ci",
]

GROUPS = ("neglected_core", "served_core", "other")


def pseudonymize_ids(ids, salt: str, length: int = 16) -> pd.Index:
    """Salted SHA-256 pseudonyms: ``sha256(salt + ":" + id)`` hex, first ``length`` characters.

    The same salt gives the same pseudonym for the same id (lists can be joined across runs);
    without the salt the ids cannot be recovered by hashing candidate ids. Keep the salt secret.
    """
    if not salt:
        raise ValueError("pseudonymize_ids: salt must be a non-empty string")
    return pd.Index(
        [hashlib.sha256(f"{salt}:{i}".encode()).hexdigest()[:length] for i in ids],
        name="customer_pseudonym",
    )


def wilson_ci(count: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a proportion (``statsmodels proportion_confint(method="wilson")``).

    ``(p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``. R: ``prop.test(correct=FALSE)``.
    """
    if n == 0:
        return (float("nan"), float("nan"))
    from scipy.stats import norm

    z = norm.ppf(1 - alpha / 2)
    p = count / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (centre - half, centre + half)


# The summary line about the neglected-core list starts so (the CLI swaps in its own wording).
NEGLECTED_LINE_START = "neglected core: "


def _p_text(p: float) -> str:
    """``p < 0.001`` or ``p = 0.123`` (APA style; never ``p = < 0.001``)."""
    if not np.isfinite(p):
        return "p = n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


@dataclass
class CoreLossResult:
    """Result of :func:`potential_core_loss`.

    Attributes
    ----------
    groups : DataFrame
        Indexed ``neglected_core``, ``served_core``, ``other``: ``customers``, ``share`` (of all
        analysed customers), ``churned``, ``churn_rate``, ``churn_ci_low``/``churn_ci_high``
        (Wilson 95 %), ``revenue_before`` (calibration revenue of the group), ``revenue_after``
        (holdout revenue), ``revenue_lost`` (calibration revenue of the group's churned
        customers), ``revenue_lost_share`` (= revenue_lost / revenue_before).
    comparison : dict
        Neglected vs served core: ``risk_ratio`` (+ ``_ci``), ``risk_difference`` (+ ``_ci``),
        ``z``, ``p_value`` (two-proportion z-test), ``odds_ratio`` (+ ``_ci``, ``_p_value``) from
        the logistic regression, ``logit_n``.
    neglected : DataFrame
        The neglected-core list: ``index_value``, ``index_rank``, ``volume_tier``,
        ``revenue_before``, ``churned``, ``revenue_after``; indexed by pseudonym unless raw ids
        were requested.
    """

    groups: pd.DataFrame
    comparison: dict
    neglected: pd.DataFrame
    core_share: float
    top_volume_tiers: tuple[str, ...]
    n: int
    excluded: dict
    pseudonymized: bool
    logit_summary: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self, include_list: bool = False) -> dict:
        """JSON-ready dict (the salt is never included)."""
        d = {
            "definition": {
                "core": f"top {self.core_share:.0%} of customers by the classification index",
                "neglected_core": "core customers not in volume tier(s) "
                + ", ".join(self.top_volume_tiers),
                "served_core": "core customers in volume tier(s) "
                + ", ".join(self.top_volume_tiers),
                "churned": "no purchase in the holdout window",
                "revenue_before": "calibration-period net revenue of the group",
                "revenue_lost": "calibration-period net revenue of the group's churned customers",
            },
            "n": self.n,
            "excluded": self.excluded,
            "groups": {g: {k: _py(v) for k, v in row.items()} for g, row in self.groups.iterrows()},
            "comparison": {k: _py(v) for k, v in self.comparison.items()},
            "n_neglected": int(len(self.neglected)),
            "pseudonymized": self.pseudonymized,
            "notes": list(self.notes),
        }
        if include_list:
            d["neglected"] = [
                {"id": str(i), **{k: _py(v) for k, v in row.items()}}
                for i, row in self.neglected.iterrows()
            ]
        return d

    def headline(self) -> pd.DataFrame:
        """The comparison table for humans: customers, share, churn rate, revenue before/lost."""
        g = self.groups
        return pd.DataFrame(
            {
                "customers": g["customers"].astype(int),
                "share %": (g["share"] * 100).round(1),
                "churn %": (g["churn_rate"] * 100).round(1),
                "churn 95% CI": [
                    f"[{lo * 100:.1f}, {hi * 100:.1f}]"
                    for lo, hi in zip(g["churn_ci_low"], g["churn_ci_high"], strict=True)
                ],
                "revenue before": g["revenue_before"].round(2),
                "revenue lost": g["revenue_lost"].round(2),
                "lost %": (g["revenue_lost_share"] * 100).round(1),
            }
        )

    def summary(self) -> str:
        c = self.comparison
        lines = [
            "Potential core-customer loss",
            f"core = top {self.core_share:.0%} by the classification index; served = core in "
            f"volume tier(s) {', '.join(self.top_volume_tiers)}; neglected = core elsewhere",
            f"customers analysed: {self.n:,}"
            + (f"; excluded: {self.excluded}" if any(self.excluded.values()) else ""),
            "",
            self.headline().to_string(
                formatters={
                    "customers": "{:,}".format,
                    "revenue before": "{:,.2f}".format,
                    "revenue lost": "{:,.2f}".format,
                }
            ),
            "",
            "Neglected vs served core (holdout churn):",
            f"  risk difference {c['risk_difference']:+.3f} "
            f"[{c['risk_difference_ci'][0]:+.3f}, {c['risk_difference_ci'][1]:+.3f}]",
            f"  risk ratio {c['risk_ratio']:.3f} "
            f"[{c['risk_ratio_ci'][0]:.3f}, {c['risk_ratio_ci'][1]:.3f}]",
            f"  two-proportion z = {c['z']:.3f}, {_p_text(c['p_value'])}",
            f"  logistic regression (churn ~ neglected + log1p(revenue_before), n = "
            f"{c['logit_n']:,}): odds ratio {c['odds_ratio']:.3f} "
            f"[{c['odds_ratio_ci'][0]:.3f}, {c['odds_ratio_ci'][1]:.3f}], "
            f"{_p_text(c['odds_ratio_p_value'])}",
            "revenue lost = calibration revenue of churned customers (not annualized)",
            f"{NEGLECTED_LINE_START}{len(self.neglected):,} customers (listed in .neglected, "
            + ("pseudonymized ids)" if self.pseudonymized else "raw ids)"),
        ]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        c = self.comparison
        return (
            f"CoreLossResult(n={self.n}, neglected={int(self.groups.loc['neglected_core', 'customers'])}, "
            f"risk_difference={c['risk_difference']:+.3f})"
        )

    def plot_churn(self, ax=None):
        """Churn rate by group with Wilson 95 % CIs; see :func:`crmresearch.plots.churn_by_group`."""
        from crmresearch.plots.loss import churn_by_group

        return churn_by_group(self, ax=ax)

    def plot_revenue(self, ax=None):
        """Revenue before and lost by group; see :func:`crmresearch.plots.revenue_lost`."""
        from crmresearch.plots.loss import revenue_lost

        return revenue_lost(self, ax=ax)


def _py(v):
    if isinstance(v, (tuple, list)):
        return [_py(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    return v


def _two_group_stats(a: int, n1: int, c: int, n0: int, alpha: float) -> dict:
    """Risk ratio (log CI), risk difference (Wald CI), two-proportion z-test."""
    from scipy.stats import norm
    from statsmodels.stats.proportion import proportions_ztest

    nan = float("nan")
    z_crit = norm.ppf(1 - alpha / 2)
    out: dict = {}
    if n1 == 0 or n0 == 0:
        return {
            "risk_ratio": nan,
            "risk_ratio_ci": (nan, nan),
            "risk_difference": nan,
            "risk_difference_ci": (nan, nan),
            "z": nan,
            "p_value": nan,
        }
    p1, p0 = a / n1, c / n0
    rd = p1 - p0
    se_rd = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    out["risk_difference"] = rd
    out["risk_difference_ci"] = (rd - z_crit * se_rd, rd + z_crit * se_rd)
    # log risk ratio; Haldane-Anscombe 0.5 correction when a count is 0 (CI otherwise undefined)
    aa, cc, nn1, nn0 = (a, c, n1, n0)
    if a == 0 or c == 0:
        aa, cc, nn1, nn0 = a + 0.5, c + 0.5, n1 + 1, n0 + 1
    rr = (aa / nn1) / (cc / nn0)
    se_log = math.sqrt(1 / aa - 1 / nn1 + 1 / cc - 1 / nn0)
    out["risk_ratio"] = rr
    out["risk_ratio_ci"] = (rr * math.exp(-z_crit * se_log), rr * math.exp(z_crit * se_log))
    if (a + c) in (0, n1 + n0):
        out["z"], out["p_value"] = nan, nan  # nobody or everybody churned: no test possible
    else:
        z, p = proportions_ztest([a, c], [n1, n0])
        out["z"], out["p_value"] = float(z), float(p)
    return out


def _logit(churned: np.ndarray, neglected: np.ndarray, revenue: np.ndarray, alpha: float):
    import statsmodels.api as sm

    nan = float("nan")
    res = {"odds_ratio": nan, "odds_ratio_ci": (nan, nan), "odds_ratio_p_value": nan}
    if len(np.unique(churned)) < 2 or len(np.unique(neglected)) < 2:
        return res, "", "logistic regression skipped: churn or the neglected flag does not vary"
    X = pd.DataFrame(
        {
            "const": 1.0,
            "neglected": neglected.astype(float),
            "log1p_revenue_before": np.log1p(np.clip(revenue, 0, None)),
        }
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = sm.Logit(churned.astype(float), X).fit(disp=0, maxiter=200)
    except Exception as exc:  # perfect separation, singular matrix: report, don't crash
        return res, "", f"logistic regression failed: {type(exc).__name__}: {exc}"
    b = float(fit.params["neglected"])
    lo, hi = fit.conf_int(alpha=alpha).loc["neglected"]
    converged = bool(fit.mle_retvals.get("converged", True))
    if not converged or not np.isfinite([b, lo, hi]).all() or max(abs(b), abs(lo), abs(hi)) > 30:
        # (quasi-)separation, e.g. no churner in one group: the MLE does not exist
        return (
            res,
            str(fit.summary()),
            (
                "logistic regression: (quasi-)complete separation (e.g. nobody churned in one group); "
                "odds ratio not estimable - use the risk ratio/difference"
            ),
        )
    res = {
        "odds_ratio": math.exp(b),
        "odds_ratio_ci": (math.exp(lo), math.exp(hi)),
        "odds_ratio_p_value": float(fit.pvalues["neglected"]),
    }
    return res, str(fit.summary()), ""


def potential_core_loss(
    index_values,
    volume_tier,
    outcomes: pd.DataFrame,
    core_share: float = 0.2,
    top_volume_tiers: Sequence[str] = ("A",),
    *,
    revenue_before=None,
    pseudonymize: bool = True,
    salt: str | None = None,
    alpha: float = 0.05,
) -> CoreLossResult:
    """Neglected core customers, their holdout churn and lost revenue vs the served core.

    Parameters
    ----------
    index_values : Series
        Classification-index composite per customer (higher = more valuable), calibration period.
    volume_tier : Series
        The firm's volume tiers (e.g. ``tiers.abc(features["monetary"])``).
    outcomes : DataFrame
        Holdout outcomes (:func:`crmresearch.features.holdout_outcomes`): ``churned`` (bool) and
        ``revenue``. May carry ``revenue_before``.
    core_share : float
        Share of customers that are *core*: the top ``core_share`` by index (rank rule of
        :func:`crmresearch.tiers.abc`: ties stay together, outside the core if they straddle it).
    top_volume_tiers : sequence of str
        Volume tiers that receive core treatment.
    revenue_before : Series, optional
        Calibration-period net revenue per customer (e.g. ``features["monetary"]``); default
        ``outcomes["revenue_before"]``. Required.
    pseudonymize : bool
        Index the neglected-core list by salted-hash pseudonyms (default) or raw ids (``False``).
    salt : str, optional
        Secret salt for the pseudonyms; default a fresh random salt per call (pseudonyms then do
        not match across runs - pass a fixed secret salt for that).
    alpha : float
        1 - confidence level.

    Returns
    -------
    CoreLossResult

    Notes
    -----
    Customers analysed = those with an index value, a volume tier and an outcome; the others are
    counted in ``excluded`` by reason. With ``n_g`` customers in group g, ``x_g`` of them churned:

    - ``churn_rate = x_g / n_g`` with a Wilson CI;
    - ``revenue_before = sum revenue_before`` over the group;
    - ``revenue_lost = sum revenue_before`` over the group's *churned* customers: the calibration
      revenue of business that stopped (same window length as calibration, not annualized);
    - risk difference ``p1 - p0`` (neglected minus served) with Wald CI
      ``+- z sqrt(p1(1-p1)/n1 + p0(1-p0)/n0)``; risk ratio ``p1/p0`` with CI
      ``exp(log RR +- z sqrt(1/a - 1/n1 + 1/c - 1/n0))`` (0.5 added to the counts when one is 0);
      both equal ``statsmodels.stats.proportion.confint_proportions_2indep`` (``"wald"``/``"log"``);
    - two-proportion z-test: ``statsmodels proportions_ztest`` (pooled variance);
    - logistic regression over core customers: ``logit P(churn) = b0 + b1 neglected +
      b2 log(1 + max(revenue_before, 0))``; odds ratio ``exp(b1)`` with its Wald CI.

    R: ``prop.test(c(a, c), c(n1, n0), correct = FALSE)``; ``glm(churned ~ neglected +
    log1p(revenue), family = binomial)``; ``epitools::riskratio``.
    """
    if not 0 < core_share < 1:
        raise ValueError(f"core_share must be in (0, 1), got {core_share}")
    idx = _tiers._as_values(index_values, "index_values")
    vt = volume_tier if isinstance(volume_tier, pd.Series) else pd.Series(volume_tier)
    if "churned" not in outcomes.columns:
        raise DataError(
            "outcomes lack column 'churned'; compute them with "
            "crmresearch.features.holdout_outcomes(log, start=..., end=..., customers=...)"
        )
    if revenue_before is None:
        if "revenue_before" not in outcomes.columns:
            raise DataError(
                "potential_core_loss needs calibration revenue: pass revenue_before="
                "features['monetary'] (or add a 'revenue_before' column to outcomes)"
            )
        revenue_before = outcomes["revenue_before"]
    rev = _tiers._as_values(revenue_before, "revenue_before")
    tops = tuple(str(t) for t in top_volume_tiers)
    if isinstance(vt.dtype, pd.CategoricalDtype):
        unknown = [t for t in tops if t not in list(vt.cat.categories)]
        if unknown:
            raise DataError(
                f"top_volume_tiers {unknown} are not tiers of volume_tier "
                f"({list(vt.cat.categories)})"
            )
    # --- align and count exclusions (never drop silently)
    ids = idx.index
    excluded = {
        "no_index_value": int(idx.isna().sum()),
        "no_volume_tier": 0,
        "no_outcome": 0,
        "no_revenue_before": 0,
    }
    keep = idx.notna()
    vt_al = vt.reindex(ids)
    miss = keep & vt_al.isna()
    excluded["no_volume_tier"] = int(miss.sum())
    keep &= ~miss
    churn_al = outcomes["churned"].reindex(ids)
    miss = keep & churn_al.isna()
    excluded["no_outcome"] = int(miss.sum())
    keep &= ~miss
    rev_al = rev.reindex(ids)
    miss = keep & rev_al.isna()
    excluded["no_revenue_before"] = int(miss.sum())
    keep &= ~miss
    extra = {
        "volume_tier_without_index": int((~vt.index.isin(ids)).sum()),
        "outcome_without_index": int((~outcomes.index.isin(ids)).sum()),
    }
    excluded.update({k: v for k, v in extra.items() if v})
    n = int(keep.sum())
    if n == 0:
        raise DataError(
            "potential_core_loss: no customer has an index value, a volume tier, an outcome and "
            "calibration revenue; check that the four inputs share customer ids"
        )
    iv = idx[keep]
    tier = vt_al[keep].astype("object").astype(str)
    churned = churn_al[keep].astype(bool).to_numpy()
    rb = rev_al[keep].to_numpy()
    ra = (
        outcomes["revenue"].reindex(iv.index).fillna(0.0).to_numpy()
        if "revenue" in outcomes.columns
        else np.full(n, np.nan)
    )
    core = _tiers._rank_tiers(iv, [core_share, 1.0]) == 0
    served = core & tier.isin(tops).to_numpy()
    neglected = core & ~served
    group = np.where(neglected, 0, np.where(served, 1, 2))
    rows = []
    for g in range(len(GROUPS)):
        m = group == g
        ng, xg = int(m.sum()), int(churned[m].sum())
        lo, hi = wilson_ci(xg, ng, alpha)
        before = float(rb[m].sum())
        lost = float(rb[m & churned].sum())
        rows.append(
            {
                "customers": ng,
                "share": ng / n,
                "churned": xg,
                "churn_rate": xg / ng if ng else float("nan"),
                "churn_ci_low": lo,
                "churn_ci_high": hi,
                "revenue_before": before,
                "revenue_after": float(ra[m].sum()),
                "revenue_lost": lost,
                "revenue_lost_share": lost / before if before else float("nan"),
            }
        )
    groups = pd.DataFrame(rows, index=pd.Index(GROUPS, name="group"))
    notes = []
    a, n1 = (
        int(groups.loc["neglected_core", "churned"]),
        int(groups.loc["neglected_core", "customers"]),
    )
    c, n0 = int(groups.loc["served_core", "churned"]), int(groups.loc["served_core", "customers"])
    comparison = _two_group_stats(a, n1, c, n0, alpha)
    if n1 == 0 or n0 == 0:
        notes.append(
            "neglected or served core is empty: no comparison (the volume tiers and the index "
            "agree completely on the core, or the core is entirely outside the top volume tiers)"
        )
    if a == 0 or c == 0:
        notes.append("a zero churn count: risk ratio uses the 0.5 (Haldane-Anscombe) correction")
    lres, lsummary, lnote = _logit(churned[core], neglected[core], rb[core], alpha)
    comparison.update(lres)
    comparison["logit_n"] = int(core.sum())
    if lnote:
        notes.append(lnote)
    if (rb < 0).any():
        notes.append(
            f"{int((rb < 0).sum())} customers have negative calibration revenue (returns); they "
            "count as 0 in the logistic regression covariate"
        )
    # --- neglected-core list
    ranks = iv.rank(ascending=False, method="min").astype(int)
    nl = pd.DataFrame(
        {
            "index_value": iv.to_numpy()[neglected],
            "index_rank": ranks.to_numpy()[neglected],
            "volume_tier": tier.to_numpy()[neglected],
            "revenue_before": rb[neglected],
            "churned": churned[neglected],
            "revenue_after": ra[neglected],
        },
        index=iv.index[neglected],
    ).sort_values("index_rank", kind="mergesort")
    if pseudonymize:
        nl.index = pseudonymize_ids(nl.index, salt or secrets.token_hex(16))
    else:
        nl.index.name = "customer_id"
    return CoreLossResult(
        groups=groups,
        comparison=comparison,
        neglected=nl,
        core_share=core_share,
        top_volume_tiers=tops,
        n=n,
        excluded=excluded,
        pseudonymized=bool(pseudonymize),
        logit_summary=lsummary,
        notes=notes,
    )


# --------------------------------------------------------------------------------------------
# problem customers
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProblemRule:
    """A customer fails the rule when ``features[column] <op> threshold`` (NaN never fails)."""

    column: str
    op: str  # ">", ">=", "<", "<="
    threshold: float
    reason: str

    def test(self, x: pd.Series) -> pd.Series:
        ops = {">": x.gt, ">=": x.ge, "<": x.lt, "<=": x.le}
        if self.op not in ops:
            raise ValueError(f"problem rule {self.column}: op must be one of {list(ops)}")
        return ops[self.op](self.threshold).fillna(False).astype(bool)


#: Default problem / credit-risk rules. Thresholds are conventional starting points, not
#: estimates - set your own with ``rules=``:
#: late payment on more than 30 % of invoices; an open invoice more than 60 days overdue;
#: more than 20 % of gross sales returned. A falling spend trend is *not* a default problem
#: rule: in a cohort log such as CDNOW most customers buy early and lapse, so it would flag the
#: majority; add :data:`LAPSING_RULE` explicitly when a lapse should count as a problem.
DEFAULT_PROBLEM_RULES: tuple[ProblemRule, ...] = (
    ProblemRule("late_payment_rate", ">", 0.30, "pays late on more than 30% of invoices"),
    ProblemRule("days_overdue", ">", 60.0, "invoice more than 60 days overdue"),
    ProblemRule("return_rate", ">", 0.20, "returns more than 20% of gross sales"),
)

#: Optional rule: spend falling by more than half between the two halves of the window
#: (``spend_trend < -0.5``; spend_trend = (R2 - R1) / (|R1| + |R2|)).
LAPSING_RULE = ProblemRule("spend_trend", "<", -0.5, "spend falling sharply (spend_trend < -0.5)")


def problem_customers(
    features: pd.DataFrame, rules: Sequence[ProblemRule | tuple] | None = None
) -> pd.DataFrame:
    """Credit-risk / problem customers: who fails which rule, with the reasons.

    Parameters
    ----------
    features : DataFrame
        Customer indicators (:func:`crmresearch.features.customer_features`).
    rules : sequence of ProblemRule or (column, op, threshold, reason) tuples
        Default :data:`DEFAULT_PROBLEM_RULES`. Rules whose column is absent are skipped and listed
        in ``attrs["skipped_rules"]`` (e.g. CDNOW has no payment data).

    Returns
    -------
    DataFrame
        Only the customers failing at least one rule, indexed by customer id: one bool column per
        applied rule (``fails_<column>``), ``n_failed`` and ``reasons`` ("; "-joined), sorted by
        ``n_failed`` descending. ``attrs``: ``rules`` applied, ``skipped_rules``, ``n_checked``,
        ``n_missing`` {column: NaN count} (a NaN never fails a rule).
    """
    rules = list(DEFAULT_PROBLEM_RULES if rules is None else rules)
    rules = [r if isinstance(r, ProblemRule) else ProblemRule(*r) for r in rules]
    applied = [r for r in rules if r.column in features.columns]
    skipped = [f"{r.column} {r.op} {r.threshold:g}" for r in rules if r.column not in features]
    flags = pd.DataFrame(index=features.index)
    n_missing: dict[str, int] = {}
    reasons = pd.Series([[] for _ in range(len(features))], index=features.index, dtype=object)
    for r in applied:
        x = pd.to_numeric(features[r.column], errors="coerce").astype("float64")
        n_missing[r.column] = int(x.isna().sum())
        fails = r.test(x)
        col = f"fails_{r.column}"
        flags[col] = fails | flags[col] if col in flags else fails
        for i in np.flatnonzero(fails.to_numpy()):
            reasons.iat[i] = [*reasons.iat[i], r.reason]
    flags["n_failed"] = reasons.map(len).astype("int64")
    flags["reasons"] = reasons.map("; ".join)
    out = flags[flags["n_failed"] > 0].sort_values("n_failed", ascending=False, kind="mergesort")
    out.attrs = {
        "rules": [f"{r.column} {r.op} {r.threshold:g}: {r.reason}" for r in applied],
        "skipped_rules": skipped,
        "n_checked": int(len(features)),
        "n_missing": n_missing,
    }
    return out
