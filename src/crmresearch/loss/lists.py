"""Customer lists a manager can act on: complete, one primary list per customer, a treatment each.

Lists: ``problem`` (fails a credit/problem rule), ``neglected_core`` (core by the index, outside
the top volume tier), ``rising_star`` (index rose into view; see
:func:`crmresearch.compare.rising_stars`), ``over_served`` (top volume tier, outside the core).
A customer on several lists gets the first of :data:`PRIORITY` as primary list; the others are
named in ``also_in`` and counted in ``overlaps``.

Privacy: ids are keyed-HMAC pseudonyms (:mod:`crmresearch._privacy`; the same key gives the same
pseudonyms in every run) and revenue is shown in bands, not to the cent. Real ids go, when asked,
to a separate mapping file that a report never embeds. No list carries an index column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from crmresearch._format import fmt_money
from crmresearch._io import atomic_write
from crmresearch._privacy import key_fingerprint, new_key, pseudonymize

__all__ = ["customer_lists", "CustomerLists", "PRIORITY", "TREATMENTS", "LIST_DEFINITIONS",
           "revenue_band", "REVENUE_BAND_EDGES"]  # fmt: skip

PRIORITY = ("problem", "neglected_core", "rising_star", "over_served")

LIST_DEFINITIONS = {
    "problem": "fails at least one problem / credit rule (reasons given per customer)",
    "neglected_core": "core customer by the classification index, not in the top volume tier(s)",
    "rising_star": "not yet in the top index tier, index rose by at least the stated rise",
    "over_served": "in the top volume tier(s), outside the index core",
}

TREATMENTS = {
    "problem": "Problem first: what the customer's failed rules call for (open invoices and "
    "payment terms; returns), before new credit or offers.",
    "neglected_core": "Key-account care: name an account manager, contact within 30 days and "
    "offer the service level of the top volume tier.",
    "rising_star": "Nurture: personal contact and a trial of next-tier benefits while their "
    "value rises.",
    "over_served": "Review the service level: keep key-account service where the margin pays "
    "for it, otherwise move to standard service.",
}

def _treatments(primary: pd.Series, ids, treat: dict, problems) -> list[str]:
    """The list's treatment; a problem customer's names what its failed rules call for (a
    return problem is not a credit problem)."""
    actions = pd.Series(dtype="object")
    if problems is not None and "actions" in getattr(problems, "columns", []):
        actions = problems["actions"].reindex(ids)
    out = []
    for i, p in zip(ids, primary, strict=True):
        action = actions.get(i) if p == "problem" and len(actions) else None
        out.append(f"Problem first: {action}." if isinstance(action, str) and action else treat[p])
    return out


REVENUE_BAND_EDGES = (0.0, 100.0, 250.0, 500.0, 1_000.0, 2_500.0, 5_000.0, 10_000.0)


def revenue_band(values, edges: Sequence[float] = REVENUE_BAND_EDGES, symbol: str = "$") -> pd.Series:
    """Revenue as a band label (``"$250 to $499"``; ``"below $0"`` for net returns)."""
    v = pd.Series(values, dtype="float64")
    e = list(edges)
    labels = [f"below {fmt_money(e[0], symbol=symbol)}"]
    labels += [f"{fmt_money(lo, symbol=symbol)} to {fmt_money(hi - 1, symbol=symbol)}"
               for lo, hi in zip(e[:-1], e[1:], strict=True)]  # fmt: skip
    labels += [f"{fmt_money(e[-1], symbol=symbol)} or more"]
    codes = np.searchsorted(np.asarray(e), v.to_numpy(), side="right")
    out = pd.Series([labels[c] if np.isfinite(x) else "unknown" for c, x in
                     zip(codes, v.to_numpy(), strict=True)], index=v.index, dtype="object")  # fmt: skip
    return out


@dataclass
class CustomerLists:
    """Result of :func:`customer_lists`.

    ``table``: one row per listed customer (``customer``, ``primary_list``, ``also_in``,
    ``treatment``, ``volume_tier``, revenue band or revenue, ``bought_in_holdout``, optional
    ``p_alive`` and ``problem_reasons``); ``lists``: name -> the customers whose primary list
    it is; ``members``: name -> every customer on the list (complete, overlaps included);
    ``overlaps``: list x list counts of customers on both.
    """

    table: pd.DataFrame
    members: dict[str, pd.Index]
    overlaps: pd.DataFrame
    pseudonymized: bool
    key_fingerprint: str | None
    notes: list[str] = field(default_factory=list)
    _real_ids: pd.Series | None = field(default=None, repr=False)

    @property
    def lists(self) -> dict[str, pd.DataFrame]:
        return {name: self.table[self.table["primary_list"] == name] for name in PRIORITY}

    def counts(self) -> pd.DataFrame:
        """Per list: customers on it, customers with it as primary list, the treatment."""
        return pd.DataFrame(
            {
                "on_list": {k: len(v) for k, v in self.members.items()},
                "primary": self.table["primary_list"].value_counts().reindex(PRIORITY, fill_value=0),
                "treatment": TREATMENTS,
                "definition": LIST_DEFINITIONS,
            }
        ).reindex(list(PRIORITY))

    def summary(self) -> str:
        lines = [f"Customer lists ({len(self.table):,} customers, one primary list each; "
                 + ("pseudonymized ids, revenue in bands" if self.pseudonymized else "raw ids") + ")",
                 self.counts()[["on_list", "primary"]].to_string(), "", "Overlaps:",
                 self.overlaps.to_string()]  # fmt: skip
        return "\n".join(lines + [f"note: {n}" for n in self.notes])

    def write(self, directory, *, stem: str = "customer_lists", formats=("csv", "xlsx"),
              real_ids_file=None) -> list[Path]:  # fmt: skip
        """Write the lists atomically: ``<stem>.csv`` (UTF-8 with BOM, all lists, one row per
        customer) and ``<stem>.xlsx`` (one sheet per list, plus "all" and "about").

        ``real_ids_file``: also write pseudonym -> customer id to this separate CSV (only for
        pseudonymized lists; keep it inside the firm; reports never embed it).
        """
        out_dir = Path(directory)
        paths = []
        if "csv" in formats:
            p = out_dir / f"{stem}.csv"
            atomic_write(p, lambda tmp: self.table.to_csv(tmp, index=False, encoding="utf-8-sig"))
            paths.append(p)
        if "xlsx" in formats:
            p = out_dir / f"{stem}.xlsx"
            atomic_write(p, self._write_xlsx)
            paths.append(p)
        if real_ids_file is not None:
            if self._real_ids is None:
                raise ValueError("real_ids_file: the lists show raw ids already; nothing to map")
            m = self._real_ids.rename("customer_id").rename_axis("customer").reset_index()
            p = Path(real_ids_file)
            # the real ids: owner-only, like the key file
            atomic_write(p, lambda tmp: m.to_csv(tmp, index=False, encoding="utf-8-sig"),
                         private=True)  # fmt: skip
            paths.append(p)
        return paths

    def _write_xlsx(self, tmp: Path) -> None:
        about = pd.DataFrame(
            [("ids", "keyed-HMAC pseudonyms" if self.pseudonymized else "raw customer ids"),
             ("id key fingerprint", self.key_fingerprint or "-"),
             ("revenue", "calibration net revenue in bands" if self.pseudonymized else
              "calibration net revenue"),
             *[(f"list {k}", f"{LIST_DEFINITIONS[k]}. Treatment: {TREATMENTS[k]}") for k in PRIORITY],
             *[("note", n) for n in self.notes]],
            columns=["item", "value"],
        )  # fmt: skip
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            self.table.to_excel(xw, sheet_name="all", index=False)
            for name, frame in self.lists.items():
                frame.to_excel(xw, sheet_name=name[:31], index=False)
            self.overlaps.to_excel(xw, sheet_name="overlaps")
            about.to_excel(xw, sheet_name="about", index=False)


def _as_ids(x) -> pd.Index:
    if x is None:
        return pd.Index([])
    if isinstance(x, (pd.DataFrame, pd.Series)):
        return pd.Index(x.index)
    return pd.Index(list(x))


def customer_lists(result, *, rising=None, problems=None, p_alive: pd.Series | None = None,
                   id_key: bytes | None = None, pseudonymize_ids: bool | None = None,
                   treatments: Mapping[str, str] | None = None,
                   band_edges: Sequence[float] = REVENUE_BAND_EDGES,
                   currency: str = "$") -> CustomerLists:  # fmt: skip
    """Complete manager lists from a :class:`~crmresearch.loss.CoreLossResult`.

    Parameters
    ----------
    result : CoreLossResult
        Supplies the neglected core, the over-served and per customer volume tier, calibration
        revenue and holdout purchase (raw ids, kept in memory only).
    rising : DataFrame or sequence, optional
        Rising stars with raw customer ids (e.g. :func:`crmresearch.compare.rising_stars`).
    problems : DataFrame, optional
        :func:`crmresearch.loss.problem_customers` output (raw ids, ``reasons``).
    p_alive : Series, optional
        P(alive) per raw id (e.g. from :mod:`crmresearch.clv`): a ``p_alive`` column.
    id_key : bytes, optional
        Key for the pseudonyms; default the result's key (the pseudonyms then match the result's
        own lists). Pass the firm's key (``_privacy.load_key``) for pseudonyms stable across runs.
    pseudonymize_ids : bool, optional
        Default: as the result.
    """
    treat = {**TREATMENTS, **(treatments or {})}
    if "problem" in (treatments or {}):  # the caller's own words for the problem list
        problems_for_actions = None
    else:
        problems_for_actions = problems
    cust = result.customers
    pseudo = result.pseudonymized if pseudonymize_ids is None else bool(pseudonymize_ids)
    members = {
        "problem": _as_ids(problems),
        "neglected_core": cust.index[cust["group"] == "neglected_core"],
        "rising_star": _as_ids(rising),
        "over_served": cust.index[cust["group"] == "over_served"],
    }
    ids = pd.Index(pd.unique(np.concatenate([np.asarray(v, dtype=object) for v in members.values()])))
    flags = pd.DataFrame({k: ids.isin(v) for k, v in members.items()}, index=ids)
    primary = flags.idxmax(axis=1)  # first True in PRIORITY order (columns are in that order)
    also = flags.apply(lambda r: ", ".join(k for k in PRIORITY if r[k]), axis=1)
    also = [", ".join(x for x in a.split(", ") if x != p) for a, p in zip(also, primary, strict=True)]
    info = cust.reindex(ids)
    notes = []
    n_unknown = int(info["group"].isna().sum())
    if n_unknown:
        notes.append(f"{n_unknown} listed customers were not in the loss analysis (no revenue shown)")
    table = pd.DataFrame(
        {
            "primary_list": primary.to_numpy(),
            "also_in": also,
            "treatment": _treatments(primary, ids, treat, problems_for_actions),
            "volume_tier": info["volume_tier"].to_numpy(),
        },
        index=ids,
    )
    if pseudo:
        table["revenue_band"] = revenue_band(info["revenue_before"], band_edges, currency).to_numpy()
    else:
        table["revenue_before"] = info["revenue_before"].round(2).to_numpy()
    table["bought_in_holdout"] = info["churned"].map({True: "no", False: "yes"}).fillna("unknown").to_numpy()
    if p_alive is not None:
        table["p_alive"] = pd.Series(p_alive).reindex(ids).round(3).to_numpy()
    if problems is not None and "reasons" in getattr(problems, "columns", []):
        table["problem_reasons"] = problems["reasons"].reindex(ids).fillna("").to_numpy()
    order = {k: i for i, k in enumerate(PRIORITY)}
    sort_rev = info["revenue_before"].fillna(-np.inf).to_numpy()
    pos = np.lexsort((-sort_rev, table["primary_list"].map(order).to_numpy()))
    table = table.iloc[pos]
    overlaps = pd.DataFrame(
        {a: {b: int((flags[a] & flags[b]).sum()) for b in PRIORITY} for a in PRIORITY}
    ).reindex(index=list(PRIORITY), columns=list(PRIORITY))
    real = None
    fingerprint = None
    if pseudo:
        key = id_key if id_key is not None else (getattr(result, "_key", None) or new_key())
        key = key.encode("utf-8") if isinstance(key, str) else key
        fingerprint = key_fingerprint(key)
        pseudo_ids = pseudonymize(table.index, key)
        real = pd.Series(table.index.to_numpy(), index=pd.Index(pseudo_ids, name="customer"))
        members = {k: pd.Index(pseudonymize(v, key)) for k, v in members.items()}
        table.index = pd.Index(pseudo_ids, name="customer")
    else:
        table.index.name = "customer"
    table = table.reset_index()
    return CustomerLists(table, members, overlaps, pseudo, fingerprint, notes, real)
