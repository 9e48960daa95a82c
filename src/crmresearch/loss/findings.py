"""Finding sentences built from the estimates they state (direction, size, CI excluding 0).

No sentence is written in advance: each one is chosen by the sign of its estimate and by
whether its confidence interval excludes 0, so a neglected core that churns *less* is reported
as churning less, and an interval covering 0 is reported as "no clear difference".
"""

from __future__ import annotations

import math

from crmresearch._format import fmt_int, fmt_money, fmt_pct, p_text, signed
from crmresearch._stats import MIN_GROUP_SIZE

__all__ = ["core_loss_findings", "difference_sentence", "ci_excludes_zero", "MIN_GROUP_SIZE"]

_NAMES = {
    "served_core": "served core customers",
    "neglected_core": "neglected core customers",
    "over_served": "over-served customers",
    "other": "other customers",
}


def ci_excludes_zero(ci) -> bool:
    """True when both ends of ``ci`` are finite and on the same side of 0."""
    lo, hi = ci
    return bool(math.isfinite(lo) and math.isfinite(hi) and (lo > 0 or hi < 0))


def _customers(k) -> str:
    """``1 customer``, ``2 customers``."""
    return f"{fmt_int(k)} customer" + ("" if int(k) == 1 else "s")


def _pts(x: float) -> str:
    return f"{signed(100 * x, 1)} points"


def difference_sentence(subject: str, reference: str, p1: float, p0: float, rd: float, ci,
                        p: float, level: int = 95, what: str = "churned",
                        n1: int | None = None, n0: int | None = None) -> str:  # fmt: skip
    """One sentence comparing two churn rates, following the sign and the CI of ``rd``.

    With ``n1``/``n0`` given and either below :data:`MIN_GROUP_SIZE`, the sentence states the
    rates and says the group is too small: no difference is claimed, whatever the test says.
    """
    if not (math.isfinite(p1) and math.isfinite(p0)):
        empty = subject if not math.isfinite(p1) else reference
        return f"No comparison of {subject} with {reference} is possible: there are no {empty}."
    rates = f"{fmt_pct(p1)} vs {fmt_pct(p0)}"
    small = [(name, k) for name, k in ((subject, n1), (reference, n0))
             if k is not None and k < MIN_GROUP_SIZE]  # fmt: skip
    if small:
        who = " and ".join(f"{fmt_int(k)} {name}" for name, k in small)
        verb = "is" if len(small) == 1 and small[0][1] == 1 else "are"
        return (
            f"{subject.capitalize()} and {reference} {what} at {rates}, but there {verb} only "
            f"{who}: too few to compare (at least {MIN_GROUP_SIZE} customers per group are "
            "needed), so no difference is claimed."
        )
    lo, hi = ci
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return (
            f"{subject.capitalize()} and {reference} {what} at {rates}; with every customer in both "
            "groups alike there is no sampling interval for the difference."
        )
    interval = f"{level} % CI {_pts(lo)} to {_pts(hi)}; {p_text(p)}"
    if ci_excludes_zero(ci):
        direction = "more" if rd > 0 else "less"
        return (
            f"{subject.capitalize()} {what} {direction} often than {reference}: {rates}, a "
            f"difference of {_pts(rd)} ({interval}); the interval excludes 0."
        )
    return (
        f"{subject.capitalize()} and {reference} did not churn clearly differently: {rates}, a "
        f"difference of {_pts(rd)} ({interval}); the interval includes 0, so the data do not "
        "establish a direction."
    )


def _sizes(r) -> list[str]:
    g = r.groups["customers"]
    # "tier A" / "tiers A, B": never "tier(s)" in a sentence for a manager
    tops = ("tier " if len(r.top_volume_tiers) == 1 else "tiers ") + ", ".join(r.top_volume_tiers)
    hold = "holds" if len(r.top_volume_tiers) == 1 else "hold"
    out = [
        f"The core is the top {fmt_int(r.core_customers)} customers by the classification index "
        f"({fmt_pct(r.core_share)} of {fmt_int(r.n)}); volume {tops} {hold} "
        f"{fmt_int(r.top_volume_customers)}. {fmt_int(g['neglected_core'])} core customers "
        f"({fmt_pct(r.neglected_share)} of the core) are outside {tops} (neglected core); "
        f"{fmt_int(g['over_served'])} customers of {tops} are outside the core (over-served)."
    ]
    if r.core_share_requested is None:
        out.append(
            f"The core has the size of {tops}, so the neglected share is not forced by the "
            "sizes of the two groups."
        )
    elif r.minimum_by_construction > 0:
        excess = r.neglected_share - r.minimum_by_construction
        out.append(
            f"With a core of {fmt_pct(r.core_share, 0)} and {tops} of "
            f"{fmt_pct(r.top_volume_customers / r.n)}, at least "
            f"{fmt_pct(r.minimum_by_construction)} of the core must lie outside {tops} by "
            f"construction; the observed share exceeds this minimum by {_pts(excess)}."
        )
    return out


def _comparison_sentences(r) -> list[str]:
    level = int(round(100 * (1 - r.alpha)))
    out = []
    for _name, row in r.comparisons.iterrows():
        out.append(
            difference_sentence(
                _NAMES[row["group"]], _NAMES[row["reference"]], row["churn_group"],
                row["churn_reference"], row["risk_difference"], (row["ci_low"], row["ci_high"]),
                row["p_value"], level, n1=int(row["n_group"]), n0=int(row["n_reference"]),
            )  # fmt: skip
        )
    return out


def _adjustment_sentences(r, currency: str = "$") -> list[str]:
    adj, c = r.adjustment, r.comparison
    level = int(round(100 * (1 - r.alpha)))
    out = []
    ov = adj.overlap["share_in_other_range"]
    def or_text(key: str) -> str:
        or_, ci, p = c[key], c[key + "_ci"], c[key + "_p_value"]
        if not math.isfinite(or_):
            return "not estimable"
        return f"{or_:.2f} ({level} % CI {ci[0]:.2f} to {ci[1]:.2f}; {p_text(p)})"

    both = (f"odds ratio {or_text('odds_ratio_adjusted')} with linear log spend and "
            f"{or_text('odds_ratio_spline')} with a spline of log spend")  # fmt: skip
    estimable = math.isfinite(c["odds_ratio_adjusted"]) or math.isfinite(c["odds_ratio_spline"])
    if adj.extrapolation:
        start = (
            "Neglected and served core customers hardly overlap in calibration spend "
            f"({fmt_pct(ov.get('neglected_core', float('nan')))} of the neglected and "
            f"{fmt_pct(ov.get('served_core', float('nan')))} of the served core lie in the other "
            "group's spend range), so "
        )
        if estimable:
            out.append(start + f"the spend-adjusted {both} extrapolate a spend curve beyond "
                       "the data and are no evidence about customers of equal spend.")  # fmt: skip
        else:
            out.append(start + "a spend-adjusted odds ratio would extrapolate a spend curve "
                       "beyond the data; on these data it cannot be estimated at all.")  # fmt: skip
    else:
        or_, ci = c["odds_ratio_spline"], c["odds_ratio_spline_ci"]
        if math.isfinite(or_) and ci_excludes_zero((math.log(ci[0]), math.log(ci[1]))):
            word = "higher" if or_ > 1 else "lower"
            out.append(f"At equal calibration spend the neglected core has {word} odds of "
                       f"churning: {both}.")  # fmt: skip
        elif math.isfinite(or_):
            out.append(f"At equal calibration spend the churn odds do not differ clearly: {both}; "
                       "the spline interval includes 1.")  # fmt: skip
        else:
            out.append("The spend-adjusted odds ratio of churn cannot be estimated on these data "
                       "(see the notes).")  # fmt: skip
    b = adj.band
    if b.get("n_neglected", 0) and b.get("n_served", 0):
        sentence = difference_sentence(
            "neglected core customers", "served core customers", b["churn_neglected"],
            b["churn_served"], b["risk_difference"], b["risk_difference_ci"],
            b["risk_difference_p"], level, n1=int(b["n_neglected"]), n0=int(b["n_served"]),
        )  # fmt: skip
        out.append(
            f"Near the volume cut (calibration spend {fmt_money(b['low'], symbol=currency)} to "
            f"{fmt_money(b['high'], symbol=currency)}; {fmt_int(b['n_neglected'])} neglected, "
            f"{fmt_int(b['n_served'])} served core customers): " + sentence[0].lower() + sentence[1:]
        )
    elif math.isfinite(b.get("cut", float("nan"))):
        out.append(
            "Near the volume cut there are not customers of both groups "
            f"({fmt_int(b.get('n_neglected', 0))} neglected, {fmt_int(b.get('n_served', 0))} served "
            "core), so no local comparison at equal spend is possible."
        )
    return out


def _revenue_sentences(r, currency: str = "$") -> list[str]:
    g = r.groups
    if g.loc["neglected_core", "customers"] == 0:
        return []
    per = "" if r.run_rate == 1 else f" (x {r.run_rate:g})"
    return [
        f"Revenue at risk in the neglected core: {fmt_money(g.loc['neglected_core', 'revenue_at_risk'], symbol=currency)}"
        f"{per}, the calibration revenue of its {_customers(g.loc['neglected_core', 'churned'])} "
        "with no holdout purchase - an exposure estimate, not money already lost; the "
        f"neglected core brought {fmt_money(g.loc['neglected_core', 'revenue_after'], symbol=currency)} in the "
        "holdout."
    ]


def core_loss_findings(result, language: str = "en", currency: str = "$") -> list[str]:
    """Finding sentences of a :class:`~crmresearch.loss.CoreLossResult`, in reading order:
    cell sizes (and what the construction forces), the three churn comparisons, the honest
    spend adjustment, revenue at risk. Every number comes from ``result``; money is printed
    with ``currency`` (the caller's, e.g. the report's)."""
    if language != "en":
        raise ValueError(f"findings: language {language!r} not available; use 'en'")
    return [
        *_sizes(result),
        *_comparison_sentences(result),
        *_adjustment_sentences(result, currency),
        *_revenue_sentences(result, currency),
    ]
