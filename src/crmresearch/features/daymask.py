"""Day-level indicators decoded in numpy from each customer's purchase-day bitmasks.

The DuckDB engine gathers, per customer, one 128-bit ``bit_or`` of day bits per 128-day
segment of the window; the set bits are the day offsets (from the window start) on which the
customer bought. Everything here is integer arithmetic, so the results are exact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmresearch.features.registry import DAYS_PER_MONTH

__all__ = ["day_mask_indicators"]

# Per byte value: number of set bits, and the positions of the set bits (padded with 0).
_BYTE_POPCOUNT = np.array([bin(v).count("1") for v in range(256)], dtype=np.int64)
_BYTE_BITS = np.array(
    [[p for p in range(8) if v >> p & 1] + [0] * (8 - bin(v).count("1")) for v in range(256)],
    dtype=np.int64,
)


def day_mask_indicators(
    result: pd.DataFrame,
    masks: list,
    s: pd.Timestamp,
    e: pd.Timestamp,
    need: set[str],
    start_given: bool,
    chunk: int = 500_000,
) -> None:
    """Day-level indicators from the bitmask columns ``masks`` into ``result`` (in place).

    ``masks``: Arrow UBIGINT columns ``_dm0_lo, _dm0_hi, _dm1_lo, ...`` aligned with the rows
    of ``result`` (bit p of ``_dm{k}_lo`` = day offset 128 k + p, of ``_dm{k}_hi`` = + 64).

    The set bits of a customer's masks are the day offsets (from the window start ``s``) on
    which they bought, in increasing order. From them: purchase_days = number of bits;
    recency = e - s - last offset; first date = s + first offset (the customer's first
    transaction when there is no ``start``); active_months = number of distinct calendar
    months among the offsets; regularity_cv = sd(gaps, ddof=1) / mean(gaps) from integer sums
    of the gaps and squared gaps (exact). Customers are processed in chunks to bound memory.
    """
    n = len(result)
    n_days = int((e - s).days) + 1
    first_month = s.year * 12 + s.month
    days = pd.date_range(s, periods=len(masks) * 64, freq="D")
    month_of_offset = (days.year * 12 + days.month - first_month).to_numpy().astype(np.int64)
    words = np.empty((min(n, chunk), len(masks)), dtype=np.uint64)
    n_dates = np.zeros(n, dtype=np.int64)
    first = np.zeros(n, dtype=np.int64)
    last = np.zeros(n, dtype=np.int64)
    n_months = np.zeros(n, dtype=np.int64)
    n_gaps = np.zeros(n, dtype=np.int64)
    gap_sum = np.zeros(n, dtype=np.int64)
    gap_sq_sum = np.zeros(n, dtype=np.int64)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        for j, column in enumerate(masks):
            words[: hi - lo, j] = column.slice(lo, hi - lo).to_numpy()
        # little-endian words: byte b of a row holds day offsets 8 b .. 8 b + 7
        by = words[: hi - lo].view(np.uint8)
        row, col = np.nonzero(by)
        value = by[row, col]
        count = _BYTE_POPCOUNT[value]
        which = np.repeat(np.arange(len(value)), count)
        rank = np.arange(len(which)) - np.repeat(np.cumsum(count) - count, count)
        offset = col[which] * 8 + _BYTE_BITS[value[which], rank]
        row = row[which]  # sorted by row, then offset
        m = hi - lo
        n_dates[lo:hi] = np.bincount(row, minlength=m)
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        ends = np.r_[starts[1:], len(row)] - 1
        first[lo + row[starts]] = offset[starts]
        last[lo + row[ends]] = offset[ends]
        month = month_of_offset[offset]
        new_month = np.r_[True, (row[1:] != row[:-1]) | (month[1:] != month[:-1])]
        n_months[lo:hi] = np.bincount(row[new_month], minlength=m)
        same = row[1:] == row[:-1]
        gap = (offset[1:] - offset[:-1])[same]
        gap_row = row[1:][same]
        n_gaps[lo:hi] = np.bincount(gap_row, minlength=m)
        gap_sum[lo:hi] = np.bincount(gap_row, weights=gap, minlength=m).astype(np.int64)
        gap_sq_sum[lo:hi] = np.bincount(gap_row, weights=gap * gap, minlength=m).astype(np.int64)
    if (n_dates == 0).any() or (last >= n_days).any():
        raise RuntimeError("day bitmasks inconsistent with the window; please report this")
    span = (e - s).days
    if "recency_days" in need:
        result["recency_days"] = span - last
    if not start_given:
        first_ever = first
        if "tenure_days" in need:
            result["tenure_days"] = span - first
        if "_monthly_volume_numerator" in result:
            exposure = (span - first_ever + 1) / DAYS_PER_MONTH
            result["monthly_volume"] = result.pop("_monthly_volume_numerator") / np.maximum(
                exposure, 1.0
            )
    if "purchase_days" in need:
        result["purchase_days"] = n_dates
    if "active_months" in need:
        result["active_months"] = n_months
    if "regularity_cv" in need:
        with np.errstate(invalid="ignore", divide="ignore"):
            # sd^2 = (k sum g^2 - (sum g)^2) / (k (k - 1)) with k gaps, integers exact
            k = n_gaps.astype(np.float64)
            numerator = (n_gaps * gap_sq_sum - gap_sum * gap_sum).astype(np.float64)
            sd = np.sqrt(np.maximum(numerator, 0) / (k * (k - 1)))
            cv = sd / (gap_sum / k)
        result["regularity_cv"] = np.where(n_gaps >= 2, cv, np.nan)
