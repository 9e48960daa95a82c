"""The generating mechanisms: renewal processes of orders, order lines, returns, invoices and
payments, the roll-out orders, and assembling the transaction frame. Each function draws from the
stream it is given, in a fixed order (part of the seed contract)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmresearch.datasets.synthetic.constants import _DAY, CATEGORIES, CHANNELS


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category index per row of a probability matrix (inverse CDF, vectorized)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), probs.shape[1] - 1)


def _renewal(rng, mean_gap, shape, horizon, *, at_least_one):
    """Event times in [0, horizon) of a stationary gamma renewal process per customer.

    The first event comes after a forward-recurrence time ``U * Gamma(shape + 1, theta)``
    (the equilibrium distribution), so the process is stationary from time 0 and
    ``P(no event in [0, h)) = Q(k + 1, h/theta) - h/(k theta) Q(k, h/theta)``. With
    ``at_least_one`` the customers without an event are redrawn until they have one.
    """
    n = mean_gap.size
    theta = mean_gap / shape
    owners, times = [], []
    todo = np.arange(n)
    while todo.size:
        t = rng.random(todo.size) * rng.gamma(shape[todo] + 1.0, theta[todo])
        got = []
        alive = t < horizon
        cur_idx, cur_t = todo[alive], t[alive]
        while cur_idx.size:
            owners.append(cur_idx)
            times.append(cur_t)
            got.append(cur_idx)
            cur_t = cur_t + rng.gamma(shape[cur_idx], theta[cur_idx])
            alive = cur_t < horizon
            cur_idx, cur_t = cur_idx[alive], cur_t[alive]
        if not at_least_one:
            break
        has = np.zeros(n, dtype=bool)
        if got:
            has[np.concatenate(got)] = True
        todo = todo[~has[todo]]
    if not owners:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(owners).astype(np.int64), np.concatenate(times)


def _rollout_orders(rng, starts, t0, cal_end, monthly_rate):
    """Extra roll-out orders: Poisson(monthly_rate) per treated customer and full month."""
    months = pd.date_range(t0, cal_end, freq="MS")
    has = ~np.isnat(starts)
    owners, times = [], []
    if monthly_rate <= 0 or not has.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    for m in months:
        m_end = m + pd.offsets.MonthEnd(0)
        on = np.flatnonzero(has & (starts <= m.to_datetime64()))
        if not on.size:
            continue
        k = rng.poisson(monthly_rate, on.size)
        o = np.repeat(on, k)
        ndays = (m_end - m).days + 1
        owners.append(o)
        times.append((m - t0).days + rng.integers(0, ndays, o.size) + rng.random(o.size))
    if not owners:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(owners).astype(np.int64), np.concatenate(times)


def _order_lines(rng, owner, t, mean_quantity, unit_price, margin, cat_pref, chan_pref):
    """Base orders: quantity, lognormal unit price, amount, margin, category, channel."""
    m = owner.size
    qty = 1.0 + rng.poisson(mean_quantity[owner] - 1.0)
    price = unit_price[owner] * np.exp(0.35 * rng.standard_normal(m))
    amount = np.round(qty * price, 2)
    rate = np.clip(margin[owner] + 0.04 * rng.standard_normal(m), 0.01, 0.7)
    return {
        "owner": owner,
        "t": t,
        "amount": amount,
        "quantity": qty,
        "profit": np.round(amount * rate, 2),
        "category": _categorical(rng, cat_pref[owner]),
        "channel": _categorical(rng, chan_pref[owner]),
    }


def _extra_lines(rng, owner, t, amount, unit_price, margin, cat_pref, chan_pref):
    """Campaign / roll-out orders with given amounts (never returned)."""
    qty = np.maximum(1.0, np.round(amount / unit_price[owner]))
    return {
        "owner": owner,
        "t": t,
        "amount": amount,
        "quantity": qty,
        "profit": np.round(amount * np.clip(margin[owner], 0.01, 0.7), 2),
        "category": _categorical(rng, cat_pref[owner]),
        "channel": _categorical(rng, chan_pref[owner]),
    }


def _returns(rng, lines, prob, horizon):
    """Returns of base orders: full (70 %) or half, 1-21 days later, same window."""
    hit = rng.random(lines["owner"].size) < prob
    frac = np.where(rng.random(hit.sum()) < 0.7, 1.0, 0.5)
    lag = rng.integers(1, 22, hit.sum())
    t = np.minimum(np.floor(lines["t"][hit]) + lag, horizon - 1)
    return {
        "owner": lines["owner"][hit],
        "t": t,
        "amount": -np.round(lines["amount"][hit] * frac, 2),
        "quantity": -np.ceil(lines["quantity"][hit] * frac),
        "profit": -np.round(lines["profit"][hit] * frac, 2),
        "category": lines["category"][hit],
        "channel": lines["channel"][hit],
    }


def _finish_lines(rng, lines, offset, invoiced, terms, late_prob, mean_days_late):
    """Integer day (since ``start``), due and paid day (-1 = none) for a block of lines.

    Invoices: due = day + payment terms; paid late with the customer's probability by
    ``1 + floor(Gamma(1.5, mean_days_late / 1.5))`` days, else up to 10 days early.
    Returns (credit notes) carry no invoice.
    """
    o = lines["owner"]
    m = o.size
    day = offset + np.floor(lines["t"]).astype(np.int64)
    if invoiced:
        due = day + terms[o]
        late = rng.random(m) < late_prob[o]
        days_late = 1 + np.floor(rng.gamma(1.5, mean_days_late[o] / 1.5)).astype(np.int64)
        early = rng.integers(0, 11, m)
        paid = np.where(late, due + days_late, np.maximum(due - early, day))
    else:
        due = np.full(m, -1, dtype=np.int64)
        paid = due.copy()
    return {
        "owner": o.astype(np.int64),
        "day": day,
        "amount": lines["amount"].astype(float),
        "quantity": lines["quantity"].astype(float),
        "profit": lines["profit"].astype(float),
        "category": lines["category"].astype(np.int64),
        "channel": lines["channel"].astype(np.int64),
        "due": due,
        "paid": paid,
    }


def _strings(codes: np.ndarray, labels) -> pd.Series:
    """``labels[codes]`` as pandas' default string dtype, via Arrow (5x faster than objects)."""
    import pyarrow as pa

    dictionary = pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32)), pa.array([str(x) for x in labels], pa.string())
    )
    return pd.Series(
        pd.array(
            dictionary.cast(pa.large_string()), dtype=pd.StringDtype("pyarrow", na_value=np.nan)
        )
    )


def _transaction_frame(cols, ids, t0) -> pd.DataFrame:
    base = np.datetime64(t0.to_datetime64(), "D").astype("datetime64[ns]")

    def dates(days):
        out = base + days * _DAY
        out[days < 0] = np.datetime64("NaT")
        return out

    return pd.DataFrame(
        {
            "customer_id": _strings(cols["owner"], ids),
            "date": dates(cols["day"]),
            "amount": cols["amount"],
            "quantity": cols["quantity"],
            "profit": cols["profit"],
            "category": _strings(cols["category"], CATEGORIES),
            "channel": _strings(cols["channel"], CHANNELS),
            "due_date": dates(cols["due"]),
            "paid_date": dates(cols["paid"]),
        }
    )


def _volume_tier(revenue: np.ndarray) -> np.ndarray:
    """A = top 5 % by calibration net revenue, B = next 15 %, C = rest (ties: lower id first)."""
    n = revenue.size
    order = np.lexsort((np.arange(n), -revenue))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    n_a = int(round(0.05 * n))
    n_b = int(round(0.20 * n)) - n_a
    return np.where(rank < n_a, "A", np.where(rank < n_a + n_b, "B", "C")).astype(object)
