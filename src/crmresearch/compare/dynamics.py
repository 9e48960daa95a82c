"""Dynamic classification: tiers per period, migration between periods, rising stars."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crmresearch import tiers as _tiers
from crmresearch.compare._common import _as_tiers
from crmresearch.errors import DataError

# --------------------------------------------------------------------------------------------
# dynamic classification
# --------------------------------------------------------------------------------------------
_SCHEMES: dict[str, Callable] = {
    "abc": _tiers.abc,
    "pareto": _tiers.pareto,
    "quantiles": _tiers.quantiles,
    "grades": _tiers.grades,
}


def _log_frame(log) -> pd.DataFrame:
    frame = getattr(log, "frame", log)
    if not isinstance(frame, pd.DataFrame):
        raise DataError("reclassify: log must be a TransactionLog or a canonical DataFrame")
    for col in ("customer_id", "date", "amount"):
        if col not in frame.columns:
            raise DataError(f"reclassify: log lacks column {col!r} (canonical columns needed)")
    return frame


class _PreparedIndex:
    """A bare fitted index plus the index system it was fitted on (``reclassify(config=...)``)."""

    def __init__(self, index, config):
        self.index = index
        self.config = config

    def composite(self, features: pd.DataFrame) -> pd.Series:
        from crmresearch.features import apply_config

        return self.index.composite(apply_config(features, self.config))


def _index_values(log, scorer, periods, customers, window, indicators) -> pd.DataFrame:
    """Customer x period composite values: each period's features scored by ``scorer``."""
    from crmresearch.features import customer_features

    if not callable(getattr(scorer, "composite", None)):
        raise TypeError(
            "reclassify: index must have a composite(features) method, e.g. "
            "ConfiguredIndex(index, config, scale) from crmresearch.study"
        )
    values = pd.DataFrame(np.nan, index=customers, columns=periods, dtype="float64")
    for p in periods:
        p_start = None if window == "cumulative" else p.start_time.normalize()
        feats = customer_features(
            log, start=p_start, end=p.end_time.normalize(), indicators=indicators
        )
        if len(feats) == 0:
            continue
        values[p] = scorer.composite(feats).reindex(customers)
    return values


def reclassify(
    log,
    freq: str = "M",
    scheme: str | Callable = "abc",
    index=None,
    *,
    value: str = "monetary",
    start=None,
    end=None,
    window: str = "cumulative",
    indicators: Sequence[str] | None = None,
    config=None,
    return_values: bool = False,
    **scheme_kwargs,
):
    """Tiers per period: a customer x period table of tiers (dynamic classification).

    Parameters
    ----------
    log : TransactionLog or DataFrame
        Canonical transactions.
    freq : str
        Period length: ``"M"`` (month), ``"Q"`` (quarter), ``"Y"`` or any pandas period alias.
    scheme : str or callable
        ``"abc"``, ``"pareto"``, ``"quantiles"``, ``"grades"`` or a function
        ``values -> tiers``; ``scheme_kwargs`` are passed on (e.g. ``shares=``, ``edges=``).
    index : configured index, optional
        Any object with ``composite(features) -> Series`` that scores the *raw* indicator table
        of :func:`crmresearch.features.customer_features`, e.g. the study's
        ``ConfiguredIndex(index, config, scale)`` (the fitted index together with the index
        system it was fitted on, so every command and report scores alike). The index is fitted
        once, elsewhere, and applied unchanged to every period; reclassify never fits or
        prepares anything itself. Without an index, values are volume per period (see
        ``value``).
    value : {"monetary", "quantity"}
        Volume measure without an index: net revenue or units in the period.
    start, end : date-like, optional
        Restrict to periods overlapping ``[start, end]`` (default: the log's span).
    window : {"cumulative", "period"}
        With an index: indicators over all history up to the period end (default) or over the
        period only.
    config : str or IndexConfig, optional
        For callers that pass a bare fitted index: the index system it was fitted on; the index
        is then wrapped so each period's features go through
        :func:`crmresearch.features.apply_config` before ``index.composite``. Prefer passing a
        configured index (then leave ``config`` out).
    return_values : bool
        Also return the customer x period values used for tiering.

    Returns
    -------
    DataFrame (or (tiers, values))
        Rows = customers, columns = periods (``pandas.Period``), cells = tier labels (ordered
        categorical per column). Without an index a customer has value 0 in a period after their
        first purchase without transactions (a known customer buying nothing is the bottom tier),
        and NaN before their first purchase. With an index a customer has NaN where the features
        module returns no row for them (e.g. inactive in a ``window="period"`` period).
    """
    frame = _log_frame(log)
    if callable(scheme):
        fn = scheme
    elif scheme in _SCHEMES:
        fn = _SCHEMES[scheme]
    else:
        raise ValueError(f"reclassify scheme must be one of {sorted(_SCHEMES)} or a callable")
    if window not in ("cumulative", "period"):
        raise ValueError(f"reclassify window must be 'cumulative' or 'period', got {window!r}")
    if scheme == "grades" and "edges" not in scheme_kwargs:
        scheme_kwargs["edges"] = _tiers.MONTHLY_VOLUME_GRADES
    dates = frame["date"]
    lo = pd.Timestamp(start) if start is not None else dates.min()
    hi = pd.Timestamp(end) if end is not None else dates.max()
    periods = pd.period_range(lo, hi, freq=freq)
    if len(periods) == 0:
        raise DataError(f"reclassify: no {freq} periods between {lo.date()} and {hi.date()}")
    customers = pd.Index(pd.unique(frame["customer_id"]), name="customer_id")
    values = pd.DataFrame(np.nan, index=customers, columns=periods, dtype="float64")
    if index is None:
        if value not in ("monetary", "quantity"):
            raise ValueError("reclassify value must be 'monetary' or 'quantity'")
        col = "amount" if value == "monetary" else "quantity"
        if col not in frame.columns:
            raise DataError(f"reclassify: log has no {col!r} column for value={value!r}")
        per = frame["date"].dt.to_period(freq)
        sums = frame.groupby([frame["customer_id"], per])[col].sum().unstack()
        sums = sums.reindex(index=customers, columns=periods)
        first = frame.groupby("customer_id")["date"].min().dt.to_period(freq).reindex(customers)
        first_ord = np.array([f.ordinal for f in first], dtype=np.int64)
        known = first_ord[:, None] <= periods.asi8[None, :]
        values = sums.fillna(0.0).where(known)
    else:
        scorer = index if config is None else _PreparedIndex(index, config)
        values = _index_values(log, scorer, periods, customers, window, indicators)
    tiers = {}
    for p in periods:
        tiers[p] = fn(values[p], **scheme_kwargs)
    out = pd.DataFrame(tiers, index=customers)
    out.columns.name = "period"
    rule = next(iter(tiers.values())).attrs.get("rule", "")
    out.attrs["rule"] = f"per {freq} period: {rule}"
    if return_values:
        return out, values
    return out


@dataclass
class Migration:
    """Result of :func:`migration_matrix`."""

    counts: pd.DataFrame
    row_shares: pd.DataFrame
    upgrade_rate: float
    downgrade_rate: float
    stay_rate: float
    n_both: int
    entered: int
    lapsed: int
    n_excluded: int

    def to_dict(self) -> dict:
        return {
            "upgrade_rate": self.upgrade_rate,
            "downgrade_rate": self.downgrade_rate,
            "stay_rate": self.stay_rate,
            "n_both": self.n_both,
            "entered": self.entered,
            "lapsed": self.lapsed,
            "n_excluded": self.n_excluded,
        }

    def summary(self) -> str:
        return "\n".join(
            [
                "Tier migration (rows = before, columns = after)",
                self.counts.to_string(),
                "",
                "Row shares (%):",
                (self.row_shares * 100).round(1).to_string(),
                "",
                f"customers tiered in both periods: {self.n_both}; upgraded "
                f"{self.upgrade_rate:.1%}, stayed {self.stay_rate:.1%}, downgraded "
                f"{self.downgrade_rate:.1%}; entered {self.entered}, lapsed {self.lapsed}",
            ]
        )

    def plot_heatmap(self, ax=None):
        from crmresearch.plots.tiers import migration_heatmap

        return migration_heatmap(
            self.counts, self.row_shares, upgrade_rate=self.upgrade_rate,
            stay_rate=self.stay_rate, downgrade_rate=self.downgrade_rate, n_both=self.n_both, ax=ax,
        )  # fmt: skip


def migration_matrix(before, after, inactive_label: str | None = "inactive") -> Migration:
    """Transition matrix between two tierings of the same scheme (e.g. two periods).

    Parameters
    ----------
    before, after : Series
        Tiers with the same categories (best first), indexed by customer id.
    inactive_label : str or None
        Customers with no tier (NaN or absent) in one of the periods are shown in an extra
        row/column with this label (``entered`` = inactive -> tier, ``lapsed`` = tier ->
        inactive). ``None`` excludes them instead (counted in ``n_excluded``).

    Returns
    -------
    Migration
        ``counts``, ``row_shares``; ``upgrade_rate`` (moved to a better tier), ``downgrade_rate``,
        ``stay_rate`` among the ``n_both`` customers tiered in both periods (they sum to 1).
    """
    b = _as_tiers(before, "before")
    a = _as_tiers(after, "after")
    cats = list(b.cat.categories)
    if list(a.cat.categories) != cats:
        raise DataError(
            f"migration_matrix: before and after use different tiers ({cats} vs "
            f"{list(a.cat.categories)}); classify both periods with the same scheme"
        )
    ids = b.index.union(a.index, sort=False)
    cb = b.reindex(ids).cat.codes.to_numpy()
    ca = a.reindex(ids).cat.codes.to_numpy()
    both = (cb >= 0) & (ca >= 0)
    n_both = int(both.sum())
    up = int((ca[both] < cb[both]).sum())
    down = int((ca[both] > cb[both]).sum())
    stay = n_both - up - down
    entered = int(((cb < 0) & (ca >= 0)).sum())
    lapsed = int(((cb >= 0) & (ca < 0)).sum())
    k = len(cats)
    labels = list(cats)
    if inactive_label is not None:
        labels = labels + [inactive_label]
        cb2 = np.where(cb < 0, k, cb)
        ca2 = np.where(ca < 0, k, ca)
        keep = ~((cb < 0) & (ca < 0))
        n_excluded = int((~keep).sum())
        mat = np.zeros((k + 1, k + 1), dtype=np.int64)
        np.add.at(mat, (cb2[keep], ca2[keep]), 1)
    else:
        n_excluded = int((~both).sum())
        mat = np.zeros((k, k), dtype=np.int64)
        np.add.at(mat, (cb[both], ca[both]), 1)
    counts = pd.DataFrame(
        mat, index=pd.Index(labels, name="before"), columns=pd.Index(labels, name="after")
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        row_shares = counts.div(counts.sum(axis=1), axis=0)
    nan = float("nan")
    return Migration(
        counts=counts,
        row_shares=row_shares,
        upgrade_rate=up / n_both if n_both else nan,
        downgrade_rate=down / n_both if n_both else nan,
        stay_rate=stay / n_both if n_both else nan,
        n_both=n_both,
        entered=entered,
        lapsed=lapsed,
        n_excluded=n_excluded,
    )


def rising_stars(
    values: pd.DataFrame,
    tiers: pd.DataFrame,
    *,
    rise: float,
    periods: int = 3,
    top_tiers: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Customers still in lower tiers whose index rose by at least ``rise`` over ``periods``.

    Parameters
    ----------
    values, tiers : DataFrame
        Customer x period tables from ``reclassify(..., return_values=True)`` (same columns).
    rise : float
        Minimum increase ``values[last] - values[last - periods]``.
    periods : int
        Look-back in periods (k).
    top_tiers : sequence of str, optional
        Tiers that are already "top" (default: the best category of the last period).

    Returns
    -------
    DataFrame
        Indexed by customer: ``tier`` (last period), ``value_before``, ``value_now``, ``rise``,
        sorted by ``rise`` descending. Customers with a NaN value at either end are not
        candidates (``attrs["n_missing"]`` counts them).
    """
    if periods < 1:
        raise ValueError("rising_stars: periods must be >= 1")
    if values.shape[1] <= periods:
        raise DataError(
            f"rising_stars: {values.shape[1]} period(s) available, need more than {periods}; "
            "reclassify over a longer span or lower periods"
        )
    if list(values.columns) != list(tiers.columns):
        raise DataError("rising_stars: values and tiers must have the same periods (columns)")
    last, first = values.columns[-1], values.columns[-1 - periods]
    now_tier = tiers[last].reindex(values.index)
    if top_tiers is None:
        top_tiers = [now_tier.cat.categories[0]]
    v0, v1 = values[first], values[last]
    ok = v0.notna() & v1.notna()
    delta = v1 - v0
    cand = ok & (delta >= rise) & now_tier.notna() & ~now_tier.isin(list(top_tiers))
    out = pd.DataFrame(
        {
            "tier": now_tier[cand],
            "value_before": v0[cand],
            "value_now": v1[cand],
            "rise": delta[cand],
        }
    ).sort_values("rise", ascending=False, kind="mergesort")
    out.attrs["n_missing"] = int((~ok).sum())
    out.attrs["rule"] = (
        f"tier at {last} not in {list(top_tiers)} and value rose by >= {rise:g} since {first}"
    )
    return out
