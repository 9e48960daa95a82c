"""The campaign of the strategy-effectiveness report: which table to analyse (Hillstrom, the
user's experiment table, or a campaign table + the transaction log) and the synthetic method
check (planted vs recovered, appendix only); the schemes' reach on the data's holdout."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crmresearch._format import MINUS, fmt_int, fmt_pct, fmt_share
from crmresearch.errors import DataError
from crmresearch.reports import display as D
from crmresearch.reports import labels

__all__ = [
    "CHECK_COVARIATES",
    "show_method_check",
    "show_targeting",
    "title_lines",
    "CampaignInput",
    "MethodCheck",
    "load_campaign",
    "method_check",
    "targeting",
]

#: WORD JOINER: "−$0.088" never breaks between its sign and its currency symbol (a line may
#: break between two prefix characters such as U+2212 and "$", UAX #14).
_JOIN = "\u2060"
#: Pre-period covariates of the synthetic method check (ANCOVA).
CHECK_COVARIATES = ("monetary", "frequency")
_OUTCOME_GUESSES = ("visit", "conversion", "spend", "revenue", "purchases", "churned")


# ---------------------------------------------------------------------------- the campaign


@dataclass
class CampaignInput:
    """A customer-level experiment table and how to read it (``campaign_analysis`` keywords)."""

    frame: pd.DataFrame
    name: str
    kwargs: dict[str, Any]
    description: str
    currency: str | None = None  # the campaign's own currency (None: the report's)
    sha256: str | None = None  # of the campaign file (reproducibility)
    file_name: str | None = None  # the campaign file's basename (never its path)
    rows_read: int | None = None  # rows of the campaign file (None: the frame's rows)
    window: str = ""  # the outcome window, in words
    uses_log: bool = False  # outcomes computed from the study's transaction log

    def rows(self) -> dict[str, int]:
        """Rows read / accepted / rejected: a row is rejected when its arm, an outcome or a
        tier is missing (it is then left out of that analysis and counted in section 1)."""
        kw = self.kwargs
        cols = [kw["arm"], *kw["outcomes"], *(kw[k] for k in ("tier", "index_tier") if kw.get(k))]
        cols = [c for c in dict.fromkeys(cols) if c in self.frame.columns]
        complete = int(self.frame[cols].notna().all(axis=1).sum())
        read = int(self.rows_read if self.rows_read is not None else len(self.frame))
        return {"read": read, "accepted": complete, "rejected": read - complete}

    def facts(self) -> dict[str, Any]:
        """For manifest.json: the campaign file by basename and SHA-256, its row counts."""
        rows = self.rows()
        return {
            "campaign": self.name,
            "campaign_file": self.file_name,
            "campaign_sha256": self.sha256,
            "campaign_rows_read": rows["read"],
            "campaign_rows_accepted": rows["accepted"],
            "campaign_rows_rejected": rows["rejected"],
        }


def _read_table(path: str) -> pd.DataFrame:
    source = Path(path)
    if not source.is_file():
        raise DataError(f"campaign file {source.name} not found; give a CSV or Parquet file")
    suffix = source.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(source)
        if suffix in (".csv", ".txt", ".gz", ".zip"):
            return pd.read_csv(source)
    except (ValueError, OSError) as exc:
        raise DataError(f"campaign file {source.name}: cannot read it ({exc})") from exc
    raise DataError(f"campaign file {source.name}: unsupported type {suffix!r}; use .csv/.parquet")


def _hillstrom(control: str) -> CampaignInput:
    from crmresearch import datasets, strategy

    frame = strategy.hillstrom_experiment(datasets.load_hillstrom())
    kwargs = dict(
        arm="segment", outcomes=["visit", "conversion", "spend"],
        control=control or "No E-Mail", tier="volume_tier", index_tier="index_tier",
        index_score="index_score", volume_score="history", revenue="spend",
    )  # fmt: skip
    return CampaignInput(
        frame,
        "Hillstrom MineThatData e-mail campaign (real, randomized)",
        kwargs,
        "64,000 customers who bought in the past year, randomized to a men's e-mail, a women's "
        "e-mail or no e-mail; visit, conversion and spend over the two weeks after. Volume "
        "tiers from past-year spend (A ≥ $350, B $100–$350, C < $100); index tiers of the same "
        "sizes from the classification index of recency, past-year spend, category breadth and "
        "multichannel buying.",
        currency="$",  # the Hillstrom amounts are US dollars whatever the report's data
        sha256=datasets.HILLSTROM_SHA256,
        file_name=datasets.hillstrom_path().name,
        rows_read=len(frame),
        window="the two weeks after the e-mail",
    )


def _from_campaign_table(table, roles, study, post_days, name, control) -> CampaignInput:
    """Campaign table (customer_id, arm, start) + the study's log → experiment with tiers."""
    from crmresearch import strategy

    keys = {k: roles[k] for k in ("customer_id", "arm", "start") if k in roles}
    frame = strategy.campaign_experiment(table, study.log, post_days=post_days, columns=keys)
    ids = frame["customer_id"].astype(str)
    frame["volume_tier"] = ids.map(study.volume_tiers.rename(index=str)).to_numpy()
    frame["index_tier"] = ids.map(study.index_tiers.rename(index=str)).to_numpy()
    frame["index_score"] = ids.map(study.composite.rename(index=str)).to_numpy()
    frame["pre_revenue"] = frame["monetary"].fillna(0.0)
    kwargs = dict(
        arm="arm", outcomes=["revenue", "purchases", "churned"], control=control or None,
        tier="volume_tier", index_tier="index_tier", index_score="index_score",
        volume_score="pre_revenue", revenue="revenue",
    )  # fmt: skip
    return CampaignInput(
        frame, name, kwargs,
        f"Campaign table {name} with outcomes from the transaction log over {post_days} days "
        "from each customer's start date; tiers and index from the study's calibration window.",
        file_name=name, rows_read=len(table),
        window=f"{post_days} days from each customer's start date", uses_log=True,
    )  # fmt: skip


def load_campaign(
    campaign: str, *, columns: Mapping[str, Any] | None = None, control: str = "",
    study=None, post_days: int = 90,
) -> CampaignInput:  # fmt: skip
    """``campaign``: "hillstrom" (bundled), a CSV/Parquet experiment table (one row per customer
    with arm and outcome columns), or a campaign table (customer_id, arm, start date; outcomes
    then come from the study's log). ``columns`` maps roles (arm, outcomes, tier, index_tier,
    index_score, volume_score, revenue; customer_id, start) to the file's column names."""
    roles = dict(columns or {})
    if campaign == "hillstrom":
        if roles:
            raise DataError("campaign_columns applies to your own campaign file, not to hillstrom")
        return _hillstrom(control)
    from crmresearch.study import file_sha256

    table = _read_table(str(campaign))
    name = Path(str(campaign)).name
    digest = file_sha256(campaign)
    outcomes = roles.get("outcomes") or [c for c in _OUTCOME_GUESSES if c in table.columns]
    start = roles.get("start", "start")
    if not outcomes and start in table.columns:
        if study is None:
            raise DataError("a campaign table without outcomes needs the transaction log (data=)")
        inp = _from_campaign_table(table, roles, study, post_days, name, control)
        inp.sha256 = digest
        return inp
    if not outcomes:
        raise DataError(
            f"campaign file {name}: no outcome columns found; name them, e.g. "
            "campaign_columns={'outcomes': ['revenue']}, or give a start column to compute "
            "outcomes from the transaction log"
        )
    kwargs = {"arm": roles.get("arm", "arm"), "outcomes": list(outcomes),
              "control": control or None}  # fmt: skip
    for role in ("tier", "index_tier", "index_score", "volume_score", "revenue"):
        if role in roles:
            kwargs[role] = roles[role]
    return CampaignInput(
        table, name, kwargs, f"Customer-level experiment table {name}.", sha256=digest,
        file_name=name, rows_read=len(table),
    )


def title_lines(camp: CampaignInput, analysis) -> tuple[str, str]:
    """Page 1 of the strategy report names the campaign it analyses: its data (file basename and
    SHA-256, customers per arm, outcomes and window) and its rows read / accepted / rejected."""
    from crmresearch.reports.labels import t
    from crmresearch.strategy import label_text

    counts = camp.frame[analysis.arm].map(label_text).value_counts()
    def arm_count(a) -> str:
        return f"{label_text(a)} {fmt_int(counts.get(label_text(a), 0))}"

    arms = " / ".join(map(arm_count, analysis.arms)) + f" / {arm_count(analysis.control)} (control)"
    window = f" over {camp.window}" if camp.window else ""
    named = f"Campaign file {camp.file_name}" if camp.name == camp.file_name else (
        f"{camp.name}: file {camp.file_name}")  # fmt: skip
    line = (
        f"{named} (SHA-256 {camp.sha256}); "
        f"{fmt_int(analysis.n_customers)} customers; arms {arms}; outcomes "
        f"{', '.join(analysis.outcomes)}{window}"
    )
    rows = camp.rows()
    share = fmt_share(rows["rejected"] / rows["read"]) if rows["read"] else "–"
    detail = t(
        "rows read {read} / accepted {accepted} / rejected {rejected} ({share})",
        read=fmt_int(rows["read"]), accepted=fmt_int(rows["accepted"]),
        rejected=fmt_int(rows["rejected"]), share=share,
    )  # fmt: skip
    return line, f"campaign {detail} (rejected: a missing arm, outcome or tier)"


# ---------------------------------------------------------------------------- method check


#: z_{1-alpha/2} + z_{power} at alpha 0.05, power 0.8: a bias of this many SEs is found 80 % of the time.
_DETECT_Z = 1.959963984540054 + 0.8416212335729143


@dataclass
class MethodCheck:
    """Synthetic campaign with planted per-tier effects: planted vs recovered (appendix only).

    ``table`` has one row per tier, ``pooled`` the ``all tiers`` row (the pooled ANCOVA effect
    against the customers' mean planted effect), ``rows`` both; ``detectable_bias`` is the smallest
    error of the method the row would expose with 80 % power (2.80 SE), so a row whose
    detectable bias exceeds its planted effect cannot tell a working method from a broken one.
    """

    table: pd.DataFrame  # tier, planted, estimate, ci_low, ci_high, covered, se, detectable_bias
    customers: int
    seed: int
    pooled: pd.DataFrame | None = None  # the "all tiers" row, same columns

    @property
    def rows(self) -> pd.DataFrame:
        """The tier rows and the pooled row."""
        parts = [self.table] + ([self.pooled] if self.pooled is not None else [])
        return pd.concat(parts, ignore_index=True)

    @property
    def all_covered(self) -> bool:
        return bool(self.rows["covered"].all())

    @property
    def informative(self) -> pd.Series:
        """Per row of :attr:`rows`: can it fail (detectable bias below the planted effect)?"""
        return self.rows["detectable_bias"] < self.rows["planted"].abs()

    def customers_needed(self) -> pd.Series:
        """Synthetic customers each row of :attr:`rows` would need for a detectable bias equal
        to its planted effect (the SE falls with the square root of the sample)."""
        ratio = self.rows["detectable_bias"] / self.rows["planted"].abs()
        return (self.customers * ratio**2).apply(lambda v: int(-(-v // 1000) * 1000))


def method_check(*, n_customers: int, seed: int) -> MethodCheck:
    """Run the campaign analysis on ``make_crm_data`` (ANCOVA on pre-period monetary and
    frequency) and compare the recovered revenue effects per tier, and pooled, with the planted
    ones."""
    from crmresearch import datasets, strategy

    syn = datasets.make_crm_data(n_customers=n_customers, seed=seed)
    t = syn.truth
    frame = strategy.experiment_from_log(
        syn.transactions, syn.campaign,
        pre=(t.start, t.calibration_end), post=(t.holdout_start, t.holdout_end),
    ).fillna({c: 0.0 for c in CHECK_COVARIATES})  # fmt: skip
    res = strategy.campaign_analysis(
        frame, arm="arm", outcomes=["revenue"], control="control", tier="tier",
        covariates=list(CHECK_COVARIATES),
    )  # fmt: skip
    planted = t.campaign_effects["revenue"].rename(index=str)
    tier_of = frame["tier"].astype(str)
    eff = res.effects.copy()
    eff["tier"] = eff["tier"].astype(str)
    # the pooled effect estimates the customers' mean planted effect (every tier together)
    pooled = float(tier_of.map(planted).mean())
    table = pd.DataFrame(
        {
            "tier": ["all tiers" if x == "overall" else x for x in eff["tier"]],
            "planted": [pooled if x == "overall" else float(planted[x]) for x in eff["tier"]],
            "estimate": eff["effect"].to_numpy(),
            "ci_low": eff["ci_low"].to_numpy(),
            "ci_high": eff["ci_high"].to_numpy(),
            "se": eff["se"].to_numpy(),
        }
    )
    table["covered"] = (table["ci_low"] < table["planted"]) & (table["planted"] < table["ci_high"])
    table["detectable_bias"] = _DETECT_Z * table["se"]
    pooled_row = table["tier"] == "all tiers"
    return MethodCheck(table=table[~pooled_row].reset_index(drop=True), customers=len(frame),
                       seed=seed, pooled=table[pooled_row].reset_index(drop=True))  # fmt: skip


# ---------------------------------------------------------------------------- targeting (reach)


def targeting(study, *, budget: float, n_boot: int, seed: int):
    """Top ``budget`` by volume vs by the index on the transaction log's holdout: reach, not an
    effect. The computation of the core-customer-loss report's validity table
    (:func:`compare.baseline_validity`: same-size top tiers, ties at the cut broken at random
    with ``seed``), so both reports give the same numbers for the same data and parameters."""
    from crmresearch import compare

    result = compare.baseline_validity(
        {"volume": study.features["monetary"], "index": study.composite}, study.outcomes,
        top=budget, n_boot=n_boot, seed=seed, labels=TARGETING_LABELS,
    )  # fmt: skip
    tt = result.table
    cells = {
        label: [
            f"{fmt_pct(v)} ({fmt_pct(lo)} – {fmt_pct(hi)})"
            for v, lo, hi in zip(tt[m], tt[m + "_low"], tt[m + "_high"], strict=True)
        ]
        for m, label in (("precision", "precision"), ("value_capture", "reach (revenue share)"))
    }
    table = pd.DataFrame(
        {"customers targeted": tt["k"].astype("int64").to_numpy(), **cells},
        index=pd.Index([f"top by {s}" for s in tt.index], name="policy"),
    )
    return result, table


#: The schemes' names as in the core-customer-loss report's validity table.
TARGETING_LABELS = {"volume": "calibration revenue (volume)", "index": "classification index"}


# ---------------------------------------------------------------------------- shown


def _check_metrics(check: MethodCheck) -> dict:
    rows = {
        r.tier: {
            "planted": r.planted,
            "estimate": float(r.estimate),
            "ci": [float(r.ci_low), float(r.ci_high)],
            "covered": bool(r.covered),
            "detectable_bias": float(r.detectable_bias),
            "informative": bool(ok),
        }
        for r, ok in zip(check.rows.itertuples(), check.informative, strict=True)
    }
    pooled = rows.pop("all tiers", None)
    return {"synthetic": True, "customers": check.customers, "all_covered": check.all_covered,
            "tiers": rows, "pooled": pooled}  # fmt: skip


def show_targeting(se) -> None:
    """Section 7: the schemes' reach on the transaction log's holdout (not an effect): a
    different data set from the campaign, named here; the loss report's numbers."""
    from crmresearch.reports.context import holdout_coverage, rows_line, subtitle

    study = se.study
    D.note(
        f"Data of this section: {subtitle(study)}; {rows_line(study)}. Not the campaign of "
        "sections 1–6 and the summary. Same computation, seed and tie-breaking as the "
        "core-customer-loss report's validity table, so its numbers are the same for the same "
        "data and parameters.",
        kind="info",
        title="A different data set.",
    )
    truncated = holdout_coverage(study)
    if truncated:
        D.note(truncated, kind="warning", title="Truncated holdout.")
    D.table(
        se.targeting_table,
        caption=f"Targeting the top {fmt_pct(se.budget, 0)} of customers: precision and reach "
        "of next-period revenue (who holds the value; not what a campaign would change; 95 % "
        f"bootstrap CIs, {fmt_int(se.targeting.n_boot)} resamples)",
    )


def show_method_check(se) -> None:
    """Appendix: the synthetic method check (planted vs recovered) and what it can detect."""
    c = se.check
    if c is None:
        D.note("Method check not run (method_check_customers = 0).", kind="info")
        return
    D.note(
        f"SYNTHETIC data ({fmt_int(c.customers)} simulated customers, seed {c.seed}): a check "
        "that the method recovers planted effects. None of these numbers describe real customers.",
        kind="synthetic",
        title="Synthetic data.",
    )
    t = c.rows

    def money(v, digits=2):  # synthetic amounts: the report's currency; sign joined to symbol
        return labels.money(v, digits).replace(MINUS, MINUS + _JOIN)

    view = pd.DataFrame(
        {
            "planted effect": [money(v) for v in t["planted"]],
            "recovered": [money(v) for v in t["estimate"]],
            "95 % CI": [
                f"{money(lo)} to {money(hi)}"
                for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)
            ],  # fmt: skip
            "planted inside CI": ["yes" if v else "no" for v in t["covered"]],
            "detectable bias (80 % power)": [money(v, 0) for v in t["detectable_bias"]],
        },
        index=pd.Index(t["tier"], name="tier"),
    )
    D.table(view, caption="Method check: planted vs recovered revenue effect per tier and "
            "pooled (synthetic)")  # fmt: skip
    D.note(_check_sentence(c, money), kind="synthetic")


def _check_sentence(c: MethodCheck, money) -> str:
    """What the check shows and what it could not show (its power), from its own table."""
    t, ok = c.rows, c.informative
    tiers_ = t[t["tier"] != "all tiers"]
    pooled = t[t["tier"] == "all tiers"]
    if pooled.empty:
        in_pooled = ""
    else:
        in_pooled = " and in the pooled row" if pooled["covered"].all() else "; not in the pooled row"
    text = (
        f"The planted effect lies inside the recovered 95 % CI in {int(tiers_['covered'].sum())} "
        f"of {len(tiers_)} tiers{in_pooled}. A row can fail only when the method's error "
        "exceeds its detectable bias (2.8 standard errors, found with 80 % power). "
    )
    can = t.loc[ok, "tier"].astype(str).tolist()
    text += (f"Rows that can fail (detectable bias below the planted effect): {', '.join(can)}."
             if can else "No row can detect a bias as large as its planted effect.")  # fmt: skip
    need = c.customers_needed()
    for r, n in zip(t[~ok].itertuples(), need[~ok], strict=True):
        text += (
            f" Row {r.tier} cannot tell a working method from a broken one (detectable bias "
            f"{money(r.detectable_bias, 0)} against a planted {money(r.planted, 0)}; it would "
            f"need about {fmt_int(n)} synthetic customers)."
        )
    return text
