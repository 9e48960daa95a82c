"""The planted loadings: calibration indicators recomputed from the generated lines and
regressed on the true factors."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmresearch.datasets.synthetic.constants import FACTORS, LOG_INDICATORS, PLANTED_INDICATORS


def _indicator_arrays(cols, mask, n, t0, end_day) -> pd.DataFrame:
    """Planted indicators (untransformed) from the rows in ``mask``, with numpy only.

    Definitions as in :func:`crmresearch.features.customer_features`: frequency = rows,
    quantity = net units, avg_order_value = net amount / frequency, active_months = distinct (year, month),
    regularity_cv = sd/mean (ddof=1) of gaps between distinct purchase dates (>= 2 gaps,
    else NaN), profit = net profit, margin_rate = profit / net amount (NaN if <= 0),
    late_payment_rate = share of invoices of known status at the window end E (rows with a
    due date, paid by E or due before E) with p > due, where p = paid date if <= E else E;
    days_overdue = mean over the same invoices of max(p - due, 0) days.
    """
    o, d = cols["owner"][mask], cols["day"][mask]
    freq = np.bincount(o, minlength=n).astype(float)
    money = np.bincount(o, cols["amount"][mask], n)
    units = np.bincount(o, cols["quantity"][mask], n)
    profit = np.bincount(o, cols["profit"][mask], n)
    with np.errstate(invalid="ignore", divide="ignore"):
        aov = money / freq
        margin = np.where(money > 0, profit / money, np.nan)
    # distinct (customer, day) and (customer, month) pairs; rows are sorted by customer, day
    key = o * 100_000 + d
    first = np.r_[True, key[1:] != key[:-1]]
    uo, ud = o[first], d[first]
    day_month = pd.date_range(t0, periods=int(d.max()) + 1 if d.size else 1, freq="D")
    month_of = (day_month.year * 12 + day_month.month).to_numpy()[ud]
    mkey = uo * 100_000 + month_of
    new_month = np.r_[True, mkey[1:] != mkey[:-1]]
    active_months = np.bincount(uo[new_month], minlength=n).astype(float)
    same = np.r_[False, uo[1:] == uo[:-1]]
    gap = np.diff(ud, prepend=0).astype(float)[same]
    go = uo[same]
    ng = np.bincount(go, minlength=n)
    s1 = np.bincount(go, gap, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / ng
        var = (np.bincount(go, gap**2, n) - ng * mean**2) / (ng - 1)
        cv = np.where(ng >= 2, np.sqrt(np.maximum(var, 0.0)) / mean, np.nan)
    # Payment status as of the window end E (as features does): a payment after E is not
    # known yet; an invoice counts when paid by E or already due before E.
    E = end_day
    due, paid = cols["due"], cols["paid"]
    paid_known = np.where((paid >= 0) & (paid <= E), paid, -1)
    inv = mask & (due >= 0) & ((paid_known >= 0) | (due < E))
    io = cols["owner"][inv]
    seen = np.where(paid_known[inv] >= 0, paid_known[inv], E)
    over = (seen - due[inv]).astype(float)
    n_inv = np.bincount(io, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        late = np.where(n_inv > 0, np.bincount(io, (over > 0).astype(float), n) / n_inv, np.nan)
        overdue = np.where(n_inv > 0, np.bincount(io, np.maximum(over, 0.0), n) / n_inv, np.nan)
    out = pd.DataFrame(
        {
            "frequency": freq,
            "active_months": active_months,
            "regularity_cv": cv,
            "quantity": units,
            "avg_order_value": aov,
            "margin_rate": margin,
            "profit": profit,
            "late_payment_rate": late,
            "days_overdue": overdue,
        }
    )
    return out[list(PLANTED_INDICATORS)]


def _planted_loadings(cols, mask, factors, t0, end_day) -> pd.DataFrame:
    """Pattern coefficients of the standardized transformed indicators on the true factors."""
    X = _indicator_arrays(cols, mask, len(factors), t0, end_day)
    X.index = factors.index
    X[list(LOG_INDICATORS)] = np.log1p(X[list(LOG_INDICATORS)])
    complete = X.notna().all(axis=1).to_numpy()
    Xc = X.to_numpy()[complete]
    Z = (Xc - Xc.mean(0)) / Xc.std(0, ddof=1)
    Fc = factors.to_numpy()[complete]
    Fz = (Fc - Fc.mean(0)) / Fc.std(0, ddof=1)
    coef, *_ = np.linalg.lstsq(Fz, Z, rcond=None)
    out = pd.DataFrame(coef.T, index=list(PLANTED_INDICATORS), columns=list(FACTORS))
    out.index.name = "indicator"
    out.attrs["customers_used"] = int(complete.sum())
    out.attrs["customers_excluded"] = {
        name: int(X[name].isna().sum()) for name in X.columns if X[name].isna().any()
    }
    return out
