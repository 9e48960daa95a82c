"""Customer-level experiment table from a campaign table and a transaction log."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from crmresearch.errors import DataError
from crmresearch.strategy._common import _require_columns
from crmresearch.strategy.experiment import experiment_from_log

__all__ = ["campaign_experiment"]


def campaign_experiment(
    campaign: pd.DataFrame,
    log,
    *,
    post_days: int,
    pre_days: int | None = None,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Customer-level experiment table from a campaign table and the transaction log.

    Parameters
    ----------
    campaign : DataFrame
        One row per customer: ``customer_id``, ``arm``, ``start`` (the day the customer was
        treated or, for control, assigned); other columns (e.g. a tier) are carried over.
    log : TransactionLog or DataFrame of canonical transactions.
    post_days : int
        Outcome window: ``start`` … ``start + post_days − 1`` (outcomes ``purchases``,
        ``revenue``, ``churned``).
    pre_days : int, optional
        Indicator window: the ``pre_days`` days before ``start`` (default: all history before).
    columns : mapping, optional
        Role → column of ``campaign``: ``{"customer_id": "cust", "arm": "group", "start":
        "sent"}``.

    Returns
    -------
    DataFrame
        :func:`experiment_from_log` per start date, concatenated in campaign order, plus the
        campaign columns under their canonical names.
    """
    if not isinstance(campaign, pd.DataFrame):
        raise DataError(f"campaign must be a DataFrame, got {type(campaign).__name__}")
    if post_days is None or int(post_days) < 1:
        raise DataError(f"post_days must be a positive number of days, got {post_days!r}")
    names = {"customer_id": "customer_id", "arm": "arm", "start": "start"}
    if columns:
        unknown = sorted(set(columns) - set(names))
        if unknown:
            raise DataError(
                f"columns has unknown role(s) {unknown}; roles: customer_id, arm, start"
            )
        names.update(columns)
    _require_columns(campaign, {f"campaign {role}": col for role, col in names.items()})
    camp = campaign.rename(columns={v: k for k, v in names.items()})
    start = pd.to_datetime(camp["start"], errors="coerce")
    if start.isna().any():
        row = camp.index[np.flatnonzero(start.isna().to_numpy())[0]]
        raise DataError(
            f"campaign column {names['start']!r} has {int(start.isna().sum())} missing or "
            f"unreadable dates (first at row {row}: {campaign.loc[row, names['start']]!r}); "
            "give one start date per customer (YYYY-MM-DD)"
        )
    camp = camp.assign(start=start.dt.normalize())
    parts = []
    for day, group in camp.groupby("start", sort=True):
        pre_start = None if pre_days is None else day - pd.Timedelta(days=int(pre_days))
        part = experiment_from_log(
            log,
            group,
            pre=(pre_start, day - pd.Timedelta(days=1)),
            post=(day, day + pd.Timedelta(days=int(post_days) - 1)),
        )
        part.index = group.index
        parts.append(part)
    out = pd.concat(parts).loc[camp.index].reset_index(drop=True)
    out.attrs["n_campaign"] = len(out)
    out.attrs["start_dates"] = int(camp["start"].nunique())
    return out
