"""Problem / credit-risk customers: who fails which rule, with the reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ProblemRule:
    """A customer fails the rule when ``features[column] <op> threshold`` (NaN never fails)."""

    column: str
    op: str  # ">", ">=", "<", "<="
    threshold: float
    reason: str
    action: str = ""  # what to do about it, for the manager list ("" = review the reason)

    def test(self, x: pd.Series) -> pd.Series:
        ops = {">": x.gt, ">=": x.ge, "<": x.lt, "<=": x.le}
        if self.op not in ops:
            raise ValueError(f"problem rule {self.column}: op must be one of {list(ops)}")
        return ops[self.op](self.threshold).fillna(False).astype(bool)


#: Default problem / credit-risk rules. Thresholds are conventional starting points, not
#: estimates - set your own with ``rules=``:
#: late payment on more than 30 % of invoices; an open invoice more than 60 days overdue;
#: more than 20 % of gross sales returned. A falling spend trend is *not* a default problem
#: rule: in a cohort log such as CDNOW most customers buy early and lapse, so it would flag the
#: majority; add :data:`LAPSING_RULE` explicitly when a lapse should count as a problem.
_CREDIT = "check open invoices and payment terms before new credit or offers"
DEFAULT_PROBLEM_RULES: tuple[ProblemRule, ...] = (
    ProblemRule("late_payment_rate", ">", 0.30, "pays late on more than 30% of invoices", _CREDIT),
    ProblemRule("days_overdue", ">", 60.0, "invoice more than 60 days overdue", _CREDIT),
    ProblemRule("return_rate", ">", 0.20, "returns more than 20% of gross sales",
                "review the returns with the customer (product, quality, fit) before new offers"),
)  # fmt: skip

#: Optional rule: spend falling by more than half between the two halves of the window
#: (``spend_trend < -0.5``; spend_trend = (R2 - R1) / (|R1| + |R2|)).
LAPSING_RULE = ProblemRule("spend_trend", "<", -0.5, "spend falling sharply (spend_trend < -0.5)",
                           "ask why spend is falling before the customer lapses")  # fmt: skip


def problem_customers(
    features: pd.DataFrame, rules: Sequence[ProblemRule | tuple] | None = None
) -> pd.DataFrame:
    """Credit-risk / problem customers: who fails which rule, with the reasons.

    Parameters
    ----------
    features : DataFrame
        Customer indicators (:func:`crmresearch.features.customer_features`).
    rules : sequence of ProblemRule or (column, op, threshold, reason) tuples
        Default :data:`DEFAULT_PROBLEM_RULES`. Rules whose column is absent are skipped and listed
        in ``attrs["skipped_rules"]`` (e.g. CDNOW has no payment data).

    Returns
    -------
    DataFrame
        Only the customers failing at least one rule, indexed by customer id: one bool column per
        applied rule (``fails_<column>``), ``n_failed``, ``reasons`` and the rules' ``actions``
        (each "; "-joined, an action once), sorted by
        ``n_failed`` descending. ``attrs``: ``rules`` applied, ``skipped_rules``, ``n_checked``,
        ``n_missing`` {column: NaN count} (a NaN never fails a rule).
    """
    rules = list(DEFAULT_PROBLEM_RULES if rules is None else rules)
    rules = [r if isinstance(r, ProblemRule) else ProblemRule(*r) for r in rules]
    applied = [r for r in rules if r.column in features.columns]
    skipped = [f"{r.column} {r.op} {r.threshold:g}" for r in rules if r.column not in features]
    flags = pd.DataFrame(index=features.index)
    n_missing: dict[str, int] = {}
    reasons = pd.Series([[] for _ in range(len(features))], index=features.index, dtype=object)
    actions = pd.Series([[] for _ in range(len(features))], index=features.index, dtype=object)
    for r in applied:
        x = pd.to_numeric(features[r.column], errors="coerce").astype("float64")
        n_missing[r.column] = int(x.isna().sum())
        fails = r.test(x)
        col = f"fails_{r.column}"
        flags[col] = fails | flags[col] if col in flags else fails
        action = r.action or f"review: {r.reason}"
        for i in np.flatnonzero(fails.to_numpy()):
            reasons.iat[i] = [*reasons.iat[i], r.reason]
            if action not in actions.iat[i]:
                actions.iat[i] = [*actions.iat[i], action]
    flags["n_failed"] = reasons.map(len).astype("int64")
    flags["reasons"] = reasons.map("; ".join)
    flags["actions"] = actions.map("; ".join)
    out = flags[flags["n_failed"] > 0].sort_values("n_failed", ascending=False, kind="mergesort")
    out.attrs = {
        "rules": [f"{r.column} {r.op} {r.threshold:g}: {r.reason}" for r in applied],
        "skipped_rules": skipped,
        "n_checked": int(len(features)),
        "n_missing": n_missing,
    }
    return out
