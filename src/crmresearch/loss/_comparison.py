"""Two-group statistics of the loss comparison: risk difference/ratio, z-test, logistic model."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from crmresearch._stats import risk_difference_score


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
    """Risk ratio (log CI), risk difference (score CI and p of the same score test),
    pooled two-proportion z-test."""
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
            "risk_difference_z": nan,
            "risk_difference_p": nan,
            "z": nan,
            "p_value": nan,
        }
    # CI and p of ONE test: the Miettinen-Nurminen score test of the difference (the CI is the
    # set of differences the test keeps); valid with 0 % / 100 % churn and tiny groups
    rd, lo, hi, p = risk_difference_score(a, n1, c, n0, alpha)
    out["risk_difference"] = rd
    out["risk_difference_ci"] = (lo, hi)
    out["risk_difference_p"] = p
    out["risk_difference_z"] = math.copysign(float(norm.isf(p / 2)), rd) if p > 0 else (
        math.copysign(float("inf"), rd))  # fmt: skip
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
    """Odds ratio of ``neglected`` adjusted for ``log(1 + max(revenue, 0))`` (linear)."""
    cov = pd.DataFrame({"log1p_revenue_before": np.log1p(np.clip(revenue, 0, None))})
    return logit_odds_ratio(churned, neglected, cov, alpha)


def logit_odds_ratio(churned, flag, covariates: pd.DataFrame | None, alpha: float):
    """``logit P(churn) = b0 + b1 flag + covariates``: odds ratio ``exp(b1)`` with the Wald CI
    and the Wald p-value of the same coefficient (one test).

    Returns ``(dict, summary text, note)``; NaNs with a note when the flag or churn does not
    vary, the fit fails or the MLE does not exist ((quasi-)separation).
    """
    import statsmodels.api as sm

    nan = float("nan")
    churned = np.asarray(churned)
    flag = np.asarray(flag)
    res = {"odds_ratio": nan, "odds_ratio_ci": (nan, nan), "odds_ratio_p_value": nan}
    if len(np.unique(churned)) < 2 or len(np.unique(flag)) < 2:
        return res, "", "logistic regression skipped: churn or the group flag does not vary"
    X = pd.DataFrame({"const": 1.0, "neglected": flag.astype(float)})
    if covariates is not None:
        X = pd.concat([X, covariates.reset_index(drop=True)], axis=1)
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
