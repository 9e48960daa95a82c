"""The campaign of the strategy-effectiveness report: which table to analyse (Hillstrom, the
user's experiment table, or a campaign table + the transaction log) and the synthetic method
check (planted vs recovered, appendix only); the schemes' reach on the data's holdout."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from crmresearch._format import fmt_pct
from crmresearch.errors import DataError

__all__ = [
    "CHECK_COVARIATES",
    "CampaignInput",
    "MethodCheck",
    "load_campaign",
    "method_check",
    "targeting",
]

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
        table, name, kwargs, f"Customer-level experiment table {name}.", sha256=digest
    )


# ---------------------------------------------------------------------------- method check


@dataclass
class MethodCheck:
    """Synthetic campaign with planted per-tier effects: planted vs recovered (appendix only)."""

    table: pd.DataFrame  # tier, planted, estimate, ci_low, ci_high, covered
    customers: int
    seed: int

    @property
    def all_covered(self) -> bool:
        return bool(self.table["covered"].all())


def method_check(*, n_customers: int, seed: int) -> MethodCheck:
    """Run the campaign analysis on ``make_crm_data`` (ANCOVA on pre-period monetary and
    frequency) and compare the recovered revenue effects per tier with the planted ones."""
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
    eff = res.effects[res.effects["tier"].astype(str) != "overall"]
    planted = t.campaign_effects["revenue"].rename(index=str)
    table = pd.DataFrame(
        {
            "tier": eff["tier"].astype(str).to_numpy(),
            "planted": [float(planted[str(x)]) for x in eff["tier"]],
            "estimate": eff["effect"].to_numpy(),
            "ci_low": eff["ci_low"].to_numpy(),
            "ci_high": eff["ci_high"].to_numpy(),
        }
    )
    table["covered"] = (table["ci_low"] < table["planted"]) & (table["planted"] < table["ci_high"])
    return MethodCheck(table=table, customers=len(frame), seed=seed)


# ---------------------------------------------------------------------------- targeting (reach)


def targeting(study, *, budget: float, n_boot: int, seed: int):
    """Top ``budget`` by volume vs by index on the data's holdout: reach, not an effect."""
    from crmresearch import compare, tiers

    X, share = study.features, (budget, 1 - budget)
    targets = {
        "top by volume": tiers.abc(X["monetary"], shares=share, labels=("target", "other")),
        "top by index": tiers.abc(study.composite, shares=share, labels=("target", "other")),
    }
    result = compare.predictive_validity(
        targets, study.outcomes, top=budget, n_boot=n_boot, seed=seed
    )
    tt = result.table
    cells = {
        label: [
            f"{fmt_pct(v)} ({fmt_pct(lo)} – {fmt_pct(hi)})"
            for v, lo, hi in zip(tt[m], tt[m + "_low"], tt[m + "_high"], strict=True)
        ]
        for m, label in (("precision", "precision"), ("value_capture", "reach (revenue share)"))
    }
    table = pd.DataFrame(
        {"customers targeted": tt["predicted_top"].astype("int64"), **cells},
        index=pd.Index([str(i) for i in tt.index], name="policy"),
    )
    return result, table
