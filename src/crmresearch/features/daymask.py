"""Day-level indicators decoded in numpy from each customer's purchase-day bitmasks.

The DuckDB engine gathers, per customer, one 128-bit ``bit_or`` of day bits per 128-day
segment of the window; the set bits are the day offsets (from the window start) on which the
customer bought. Everything here is integer arithmetic, so the results are exact.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from crmresearch.features.registry import DAYS_PER_MONTH

__all__ = ["day_mask_indicators"]

# Per byte value: number of set bits, and the positions of the set bits (padded with 0).
_BYTE_POPCOUNT = np.array([bin(v).count("1") for v in range(256)], dtype=np.int32)
_BYTE_BITS = np.array(
    [[p for p in range(8) if v >> p & 1] + [0] * (8 - bin(v).count("1")) for v in range(256)],
    dtype=np.int32,
).ravel()  # flat: bit `rank` of byte value v at 8 v + rank


def _decode_chunk(words, month_of_offset, n_dates, first, last, n_months, gap_sq_sum) -> None:
    """Set bits of each row of ``words`` (uint64, little-endian days) -> per-row statistics.

    Writes into the given output slices: number of set bits, first and last bit position,
    number of distinct months (``month_of_offset`` per bit position) and the sum of squared
    differences of consecutive positions. Every row must have at least one bit.
    """
    m, n_bytes = len(words), words.shape[1] * 8
    # byte b of a row holds day offsets 8 b .. 8 b + 7
    flat = np.flatnonzero(words.view(np.uint8))
    value = words.view(np.uint8).ravel()[flat].astype(np.int32)
    count = _BYTE_POPCOUNT[value]
    which = np.repeat(np.arange(len(value), dtype=np.int32), count)
    starts = np.cumsum(count, dtype=np.int32) - count
    rank = np.arange(len(which), dtype=np.int32) - np.repeat(starts, count)
    pos = flat[which]
    row = (pos // n_bytes).astype(np.int32)  # sorted by row, then offset
    offset = (pos % n_bytes).astype(np.int32) * 8 + _BYTE_BITS[value[which] * 8 + rank]
    n_dates[:] = np.bincount(row, minlength=m)
    ends = np.cumsum(n_dates) - 1
    first[:] = offset[ends - n_dates + 1]
    last[:] = offset[ends]
    month = month_of_offset[offset]
    same_row = row[1:] == row[:-1]
    new_month = np.empty(len(row), dtype=bool)
    new_month[0] = True
    new_month[1:] = ~same_row | (month[1:] != month[:-1])
    n_months[:] = np.bincount(row[new_month], minlength=m)
    gap = (offset[1:] - offset[:-1])[same_row].astype(np.float64)
    gap_sq_sum[:] = np.bincount(row[1:][same_row], weights=gap * gap, minlength=m).astype(np.int64)


def day_mask_indicators(
    result: pd.DataFrame,
    masks: list,
    s: pd.Timestamp,
    e: pd.Timestamp,
    need: set[str],
    start_given: bool,
    chunk: int = 131_072,
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
    month_of_offset = (days.year * 12 + days.month - first_month).to_numpy().astype(np.int32)
    n_dates = np.zeros(n, dtype=np.int64)
    first = np.zeros(n, dtype=np.int64)
    last = np.zeros(n, dtype=np.int64)
    n_months = np.zeros(n, dtype=np.int64)
    gap_sq_sum = np.zeros(n, dtype=np.int64)

    def decode(lo: int) -> None:
        hi = min(n, lo + chunk)
        words = np.empty((hi - lo, len(masks)), dtype=np.uint64)
        for j, column in enumerate(masks):
            words[:, j] = column.slice(lo, hi - lo).to_numpy()
        _decode_chunk(
            words, month_of_offset,
            n_dates[lo:hi], first[lo:hi], last[lo:hi], n_months[lo:hi], gap_sq_sum[lo:hi],
        )  # fmt: skip

    # numpy releases the GIL in these loops: chunks decode in parallel threads
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        list(pool.map(decode, range(0, n, chunk)))
    n_gaps = np.maximum(n_dates - 1, 0)
    gap_sum = last - first  # the gaps between consecutive days add up to last - first
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
