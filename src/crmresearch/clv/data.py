"""Data preparation for the buy-till-you-die models: one row per customer with frequency,
recency, T and monetary value (lifetimes / PyMC-Marketing conventions), and holdout counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmresearch.errors import DataError

__all__ = ["TIME_UNITS", "rfm_summary", "holdout_purchases"]

#: Days per time unit. "W" and "M" are exact day counts divided by 7 and by the mean Gregorian
#: month (365.2425 / 12), not calendar periods, so T = 272 days is 38.857 weeks as in Fader,
#: Hardie & Lee (2005).
TIME_UNITS = {"D": 1.0, "W": 7.0, "M": 365.2425 / 12}


def _frame(log) -> pd.DataFrame:
    frame = getattr(log, "frame", log)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"log must be a TransactionLog or a DataFrame, got {type(log).__name__}")
    missing = [c for c in ("customer_id", "date", "amount") if c not in frame.columns]
    if missing:
        raise DataError(
            f"transaction log lacks column(s) {missing}; it needs customer_id, date, amount "
            "(read it with crmresearch.read_transactions)"
        )
    return frame


def _unit(time_unit: str) -> float:
    if time_unit not in TIME_UNITS:
        raise ValueError(f"time_unit must be one of {sorted(TIME_UNITS)}, got {time_unit!r}")
    return TIME_UNITS[time_unit]


def _purchase_days(frame: pd.DataFrame) -> pd.DataFrame:
    # same-day purchases are one purchase: sum the day's amounts per customer
    days = frame.assign(date=pd.to_datetime(frame["date"]).dt.normalize())
    out = days.groupby(["customer_id", "date"], sort=True, observed=True)["amount"].sum()
    return out.reset_index()


def rfm_summary(log, *, calibration_end, time_unit: str = "W") -> pd.DataFrame:
    """One row per customer who bought by ``calibration_end``: frequency, recency, T, monetary.

    Definitions (those of ``lifetimes.utils.summary_data_from_transaction_data`` and
    PyMC-Marketing's ``rfm_summary``; Fader, Hardie & Lee 2005):

    * purchases on the same day are merged into one (their amounts summed);
    * ``frequency`` = number of *repeat* purchase days = distinct purchase days − 1;
    * ``recency`` = time from the first to the last purchase day (0 if no repeat);
    * ``T`` = time from the first purchase day to ``calibration_end``;
    * ``monetary_value`` = mean value of the repeat purchase days (the first purchase is
      excluded; 0 if no repeat).

    Times are day differences divided by the days of ``time_unit`` (``"D"`` 1, ``"W"`` 7,
    ``"M"`` 30.437; see ``TIME_UNITS``) — exact fractions, whereas PyMC-Marketing rounds to
    calendar periods unless ``time_unit="D"`` with ``time_scaler=7``.

    Parameters
    ----------
    log : TransactionLog or DataFrame with ``customer_id``, ``date``, ``amount``.
    calibration_end : date-like, last day of the calibration period (inclusive).
    time_unit : "D", "W" or "M".

    Returns
    -------
    DataFrame indexed by ``customer_id`` with ``frequency`` (int), ``recency``, ``T``,
    ``monetary_value``; ``attrs`` record ``calibration_end``, ``time_unit`` and the rows used.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy way:
    an alternative to the Pareto/NBD model. *Marketing Science* 24, 275–284.
    """
    unit = _unit(time_unit)
    frame = _frame(log)
    end = pd.Timestamp(calibration_end).normalize()
    dates = pd.to_datetime(frame["date"])
    window = frame.loc[dates <= end]
    if window.empty:
        raise DataError(f"no transaction on or before calibration_end {end:%Y-%m-%d}")
    days = _purchase_days(window)
    g = days.groupby("customer_id", sort=True, observed=True)
    first, last = g["date"].min(), g["date"].max()
    n_days = g.size()
    total = g["amount"].sum()
    first_value = days.loc[g["date"].idxmin(), ["customer_id", "amount"]].set_index("customer_id")
    frequency = (n_days - 1).astype("int64")
    repeat_value = total - first_value["amount"].reindex(total.index)
    monetary = (repeat_value / frequency.where(frequency > 0)).fillna(0.0)
    out = pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last - first).dt.days / unit,
            "T": (end - first).dt.days / unit,
            "monetary_value": monetary.astype(float),
        }
    )
    out.index.name = "customer_id"
    out.attrs = {
        "calibration_end": f"{end:%Y-%m-%d}",
        "time_unit": time_unit,
        "rows_used": int(len(window)),
        "rows_after_calibration": int(len(frame) - len(window)),
    }
    return out


def holdout_purchases(log, customers, *, calibration_end, holdout_end) -> pd.Series:
    """Purchase days of each of ``customers`` after ``calibration_end`` up to ``holdout_end``
    (inclusive), same-day purchases merged; 0 for a customer without any. With the calibration
    summary these are the "holdout repeat transactions" a BG/NBD forecast is compared with."""
    frame = _frame(log)
    start = pd.Timestamp(calibration_end).normalize()
    end = pd.Timestamp(holdout_end).normalize()
    if end <= start:
        raise ValueError(
            f"holdout_end {end:%Y-%m-%d} must be after calibration_end {start:%Y-%m-%d}"
        )
    dates = pd.to_datetime(frame["date"]).dt.normalize()
    window = frame.loc[(dates > start) & (dates <= end)]
    days = _purchase_days(window)
    counts = days.groupby("customer_id", observed=True).size()
    index = pd.Index(customers, name="customer_id")
    return counts.reindex(index, fill_value=0).astype("int64").rename("holdout_purchases")


def holdout_length(*, calibration_end, holdout_end, time_unit: str = "W") -> float:
    """Length of the holdout period ``(calibration_end, holdout_end]`` in time units."""
    days = (pd.Timestamp(holdout_end).normalize() - pd.Timestamp(calibration_end).normalize()).days
    return days / _unit(time_unit)


def check_rfm(frequency, recency=None, T=None) -> tuple[np.ndarray, ...]:
    """Validated float arrays: finite, frequency ≥ 0 whole, 0 ≤ recency ≤ T, recency = 0 when
    frequency = 0. Raises ``DataError`` naming the first offending customer position."""
    x = np.asarray(frequency, dtype=float)
    arrays = [x]
    problems = []
    if not np.isfinite(x).all() or (x < 0).any() or (x != np.round(x)).any():
        problems.append("frequency must be a whole number ≥ 0")
    if recency is not None:
        tx = np.asarray(recency, dtype=float)
        tt = np.asarray(T, dtype=float)
        if not (tx.shape == tt.shape == x.shape):
            raise DataError("frequency, recency and T must have the same length")
        # T = 0 (first purchase on the last calibration day) is valid: the likelihood is 1
        bad = ~np.isfinite(tx) | ~np.isfinite(tt) | (tx < 0) | (tx > tt + 1e-9)
        if bad.any():
            problems.append(f"need 0 ≤ recency ≤ T (first bad position {np.argmax(bad)})")
        if ((x == 0) & (tx > 0)).any():
            problems.append("recency must be 0 for a customer without repeat purchases")
        arrays += [tx, tt]
    if problems:
        raise DataError("; ".join(problems))
    return tuple(arrays)
