"""The data a study runs on: loading (bundled data sets, files, logs already read), the facts a
manifest needs (basename and SHA-256, never a path of the machine), and the rejected-rows check."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmresearch.errors import DataError

#: Share of rejected rows above which a study refuses to run (issue: mostly rejected input).
MAX_REJECTED_SHARE = 0.01


@dataclass
class Source:
    """The transaction data a study runs on, with the facts a manifest needs.

    ``path`` is kept for reading only; manager-facing output names the file by ``name`` (its
    basename) and ``sha256``, never by a path of the machine.
    """

    name: str
    log: Any
    synthetic: Any = None
    path: str | None = None
    sha256: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)  # the log's mapping (customer file too)

    @property
    def is_synthetic(self) -> bool:
        return self.synthetic is not None

    @property
    def is_cdnow(self) -> bool:
        return self.name.startswith("CDNOW")


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_source(
    data: Any,
    *,
    columns: Mapping[str, str] | None = None,
    date_format: str | None = None,
    n_customers: int = 5000,
    seed: int = 0,
    max_rejected_share: float | None = MAX_REJECTED_SHARE,
    **read_options: Any,
) -> Source:
    """Load ``data``: ``"cdnow"`` (bundled real log), ``"synthetic"``, a file path, or a
    ``TransactionLog`` already read. ``read_options`` (``sep``, ``encoding``, ``sheet`` …) go to
    :func:`crmresearch.data.read_transactions`.

    A log of which more than ``max_rejected_share`` of the rows were rejected by validation is
    refused (:func:`check_rejected`); ``None`` switches the check off."""
    from crmresearch import data as crm_data
    from crmresearch import datasets

    if isinstance(data, crm_data.TransactionLog):
        path = getattr(data, "source", None)
        name = Path(str(path)).name if path else "transaction log"
        src = Source(name, data, path=str(path) if path else None)
    elif data == "cdnow":
        log = datasets.load_cdnow()
        path = getattr(log, "source", None)
        src = Source("CDNOW master log (bundled)", log, path=str(path) if path else None)
    elif data == "synthetic":
        syn = datasets.make_crm_data(n_customers=n_customers, seed=seed)
        src = Source(
            f"synthetic CRM data (n={n_customers:,}, seed={seed})", syn.transactions, synthetic=syn
        )
    else:
        options = {k: v for k, v in read_options.items() if v not in (None, "")}
        log = crm_data.read_transactions(
            data, columns=dict(columns) if columns else None, date_format=date_format or None,
            **options,
        )  # fmt: skip
        src = Source(Path(str(data)).name, log, path=str(data), columns=dict(columns or {}))
    if max_rejected_share is not None:
        check_rejected(src.log, max_rejected_share, name=src.name)
    if src.path and Path(src.path).is_file():
        src.sha256 = file_sha256(src.path)
    frame = src.log.frame
    src.facts = {
        "data_source": src.name,
        "data_file": Path(src.path).name if src.path else None,
        "data_sha256": src.sha256,
        "rows_read": int(src.log.n_read),
        "rows_accepted": int(src.log.n_accepted),
        "rows_rejected": int(src.log.n_rejected),
        "encoding": getattr(src.log, "encoding", None),
        "customers": int(frame["customer_id"].nunique()),
        "first_date": str(frame["date"].min().date()),
        "last_date": str(frame["date"].max().date()),
    }
    return src


class RejectedRowsError(DataError):
    """More than ``max_rejected_share`` of a log's rows were rejected: the run stops (exit 2 in
    the CLI and the report runner) instead of computing headline numbers from the rest."""


def check_rejected(log: Any, max_share: float = MAX_REJECTED_SHARE, *, name: str = "") -> None:
    """Refuse a log of which more than ``max_share`` of the rows read were rejected.

    Headline numbers computed from the few rows that survived validation (e.g. only the orders
    under 1,000 when amounts carry thousands separators) would look valid and be wrong. Raises
    :class:`RejectedRowsError` with the counts and the three commonest reasons (the log's own
    ``check_rejected_share`` when it has one).
    """
    if not 0 <= max_share <= 1:
        raise ValueError(f"max_rejected_share = {max_share!r}: give a share between 0 and 1")
    n_read, n_rejected = int(log.n_read), int(log.n_rejected)
    if not n_read or n_rejected / n_read <= max_share:
        return
    own = getattr(log, "check_rejected_share", None)
    if own is not None:
        try:
            own(max_share)
        except DataError as exc:
            raise RejectedRowsError(str(exc)) from None
    reasons = log.rejected["reason"].value_counts().head(3)
    top = "; ".join(f"{reason} ({count:,})" for reason, count in reasons.items())
    raise RejectedRowsError(
        f"{name or log.source}: {n_rejected:,} of {n_read:,} rows ({n_rejected / n_read:.1%}) "
        f"were rejected, more than max_rejected_share = {max_share:g}. Top reasons: {top}. "
        "Fix: see the rows with `crmresearch validate FILE --rejected rejected.csv` and correct "
        "the file or the reading options (--columns, --date-format, --sep, --encoding), or "
        "accept the loss with a higher max_rejected_share"
    )
