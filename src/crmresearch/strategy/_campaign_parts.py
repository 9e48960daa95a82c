"""The computations behind :func:`crmresearch.strategy.campaign_analysis`, one per table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from crmresearch._stats import holm
from crmresearch.errors import DataError
from crmresearch.strategy._common import OVERALL, _ordered_levels, label_text, scheme_label
from crmresearch.strategy.experiment import effect_by_tier
from crmresearch.strategy.policy import policy_contrasts
from crmresearch.strategy.power import power_table
from crmresearch.strategy.roi import roi

WEIGHTED = "tiers combined"  # size-weighted sum of the tier effects


def _combined_row(tab: pd.DataFrame) -> dict:
    """Size-weighted sum of the tier effects (weights = treated customers) and the pooled one."""
    tiers_ = tab[tab["tier"].map(label_text) != OVERALL]
    pooled = tab[tab["tier"].map(label_text) == OVERALL]
    w = tiers_["n_treated"].to_numpy(dtype=float)
    w = w / w.sum() if w.sum() > 0 else w
    weighted = float(np.sum(w * tiers_["effect"].to_numpy()))
    weighted_se = float(np.sqrt(np.sum((w * tiers_["se"].to_numpy()) ** 2)))
    pooled_effect = float(pooled["effect"].iloc[0]) if len(pooled) else np.nan
    return {
        "tiers": len(tiers_),
        "n_treated": int(tiers_["n_treated"].sum()),
        "n_control": int(tiers_["n_control"].sum()),
        "pooled_effect": pooled_effect,
        "pooled_se": float(pooled["se"].iloc[0]) if len(pooled) else np.nan,
        "weighted_effect": weighted,
        "weighted_se": weighted_se,
        "difference": weighted - pooled_effect,
    }


def _tier_statement(row, eff: pd.DataFrame, alpha: float) -> dict:
    from crmresearch._format import p_text

    arm, outcome = label_text(row["arm"]), row["outcome"]
    by = scheme_label(row["scheme"])
    p, p_adj = row["p_value"], row["p_adjusted"]
    if row["differ"]:
        tiers_ = eff[eff["tier"].map(label_text) != OVERALL]
        best = tiers_.loc[tiers_["effect"].idxmax()]
        return {
            "best_tier": label_text(best["tier"]),
            "statement": f"The effect of {arm} on {outcome} differs by {by} ({p_text(p)}; Holm "
            f"{p_text(p_adj)}); it is largest in {by} {label_text(best['tier'])}.",
        }
    return {
        "best_tier": None,
        "statement": f"No evidence that the effect of {arm} on {outcome} differs by {by} "
        f"({p_text(p)}; Holm-adjusted over arms and outcomes {p_text(p_adj)}; alpha = {alpha:g}).",
    }


def _disagreement(rows: list[dict]) -> None:
    """Where the tier schemes disagree on one arm × outcome (one rejects, another does not),
    say so in each scheme's statement, with the other scheme's test."""
    from crmresearch._format import p_text

    cells: dict = {}
    for r in rows:
        cells.setdefault((label_text(r["arm"]), r["outcome"]), []).append(r)
    for group in cells.values():
        if len({bool(r["differ"]) for r in group}) < 2:
            continue
        for r in group:
            others = [o for o in group if o is not r and bool(o["differ"]) != bool(r["differ"])]
            said = "; ".join(
                f"by {scheme_label(o['scheme'])} the same test "
                + ("rejects" if o["differ"] else "finds no evidence")
                + f" ({p_text(o['p_value'])}; Holm {p_text(o['p_adjusted'])})"
                for o in others
            )
            r["statement"] += f" The tier schemes disagree: {said}."


def _mde_rows(sub, arm_col, outcome, tier, alpha, skip) -> list[dict]:
    rows = []
    tier_values = sub[tier].to_numpy(dtype=object)
    for t in _ordered_levels(sub[tier]):
        part = sub.loc[tier_values == t]
        try:
            table = power_table(part, treatment=arm_col, outcome=outcome, alpha=alpha, **skip)
        except DataError as exc:
            rows.append({"tier": t, "reason": str(exc)})
            continue
        rec = table.iloc[0].to_dict()
        rec["tier"] = t
        rows.append(rec)
    return rows


def _rank_rule(score: pd.Series, k_share: float) -> np.ndarray:
    """0/1: the top ``k_share`` of rows by score (stable: ties by row order)."""
    k = int(round(k_share * len(score)))
    order = np.argsort(-score.to_numpy(dtype=float), kind="stable")
    pi = np.zeros(len(score))
    pi[order[:k]] = 1.0
    return pi


def _reach_rows(frame, arm_col, control, outcomes, rank_rules, budget) -> list[dict]:
    is_control = (frame[arm_col] == control).to_numpy()
    rows = []
    for name, col in rank_rules.items():
        pi = _rank_rule(frame[col], budget)
        for outcome in outcomes:
            y = pd.to_numeric(frame[outcome], errors="coerce").to_numpy(dtype=float)
            ok = is_control & np.isfinite(y)
            total = float(y[ok].sum())
            held = float((pi * y)[ok].sum())
            rows.append(
                {
                    "rule": name,
                    "outcome": outcome,
                    "share_targeted": float(pi[ok].mean()) if ok.any() else np.nan,
                    "reach": held / total if total else np.nan,
                }
            )
    return rows


def _policy_rules(index_score, volume_score, budget) -> tuple[dict, list]:
    pct = f"{100 * budget:.0f} %"
    rules: dict[str, Any] = {}
    if index_score:
        rules[f"top {pct} by index"] = index_score
    if volume_score:
        rules[f"top {pct} by volume"] = volume_score
    rules[f"random {pct}"] = "random"
    rules["everyone"] = "everyone"
    rules["nobody"] = "nobody"
    names = list(rules)
    pairs = []
    ranked = [n for n in names[:2] if n.startswith("top")]
    if len(ranked) == 2:
        pairs.append((ranked[0], ranked[1]))
    pairs += [(r, f"random {pct}") for r in ranked]
    pairs += [(r, "nobody") for r in ranked]
    pairs.append(("everyone", "nobody"))
    return rules, pairs


def _lead(table: pd.DataFrame, lead: list[str]) -> pd.DataFrame:
    return table[lead + [c for c in table.columns if c not in lead]]


def _analyse_arms(frame, arm, control, treated, outcomes, schemes, covariates, alpha) -> dict:
    """effect_by_tier, heterogeneity and MDE for every scheme × arm × outcome; Holm families."""
    eff_parts, het_rows, comb_rows, mde_rows, skipped, excluded = [], [], [], [], [], []
    by_cell = {}
    seen_excluded = set()
    for scheme, col in schemes.items():
        for a in treated:
            sub = frame[frame[arm].isin([a, control])]
            for outcome in outcomes:
                res = effect_by_tier(
                    sub,
                    treatment=arm,
                    outcome=outcome,
                    tier=col,
                    control=control,
                    covariates=covariates,
                    alpha=alpha,
                )
                tab = res.table.assign(scheme=scheme, outcome=outcome)
                eff_parts.append(tab)
                by_cell[(scheme, a, outcome)] = res.table
                comb_rows.append({"scheme": scheme, "arm": a, "outcome": outcome,
                                  **_combined_row(res.table)})  # fmt: skip
                h = res.heterogeneity
                het_rows.append(
                    {
                        "scheme": scheme,
                        "arm": a,
                        "outcome": outcome,
                        "chi2": float(h["chi2"].iloc[0]) if len(h) else np.nan,
                        "df": int(h["df"].iloc[0]) if len(h) else 0,
                        "p_value": res.heterogeneity_p,
                        "n_tiers": int(h["n_tiers"].iloc[0]) if len(h) else 0,
                    }
                )
                skipped += [
                    {
                        "scheme": scheme,
                        "arm": a,
                        "outcome": outcome,
                        "tier": s.tier,
                        "reason": s.reason,
                    }  # fmt: skip
                    for s in res.skipped.itertuples()
                ]
                for e in res.excluded.itertuples():
                    key = (a, outcome, e.reason)
                    if key not in seen_excluded:
                        seen_excluded.add(key)
                        excluded.append({"arm": a, "outcome": outcome, "reason": e.reason,
                                         "rows": int(e.rows)})  # fmt: skip
                for rec in _mde_rows(sub.dropna(subset=[outcome, col]), arm, outcome, col,
                                     alpha, {"control": control}):  # fmt: skip
                    if "reason" in rec:
                        skipped.append({"scheme": scheme, "arm": a, "outcome": outcome,
                                        "tier": rec["tier"], "reason": "MDE: " + rec["reason"]})  # fmt: skip
                    else:
                        mde_rows.append({"scheme": scheme, "arm": a, "outcome": outcome, **rec})
    effects = pd.concat(eff_parts, ignore_index=True)
    effects = _lead(effects, ["scheme", "outcome", "arm", "tier"])
    overall = effects["tier"].map(label_text) == OVERALL
    for scheme in schemes:
        fam = (effects["scheme"] == scheme) & ~overall
        effects.loc[fam, "p_adjusted"] = holm(effects.loc[fam, "p_value"].to_numpy())
        fam_o = (effects["scheme"] == scheme) & overall
        effects.loc[fam_o, "p_adjusted"] = holm(effects.loc[fam_o, "p_value"].to_numpy())
    het = pd.DataFrame(het_rows)
    het["p_adjusted"] = np.nan
    for scheme in schemes:
        fam = het["scheme"] == scheme
        het.loc[fam, "p_adjusted"] = holm(het.loc[fam, "p_value"].to_numpy())
    het["differ"] = het["p_adjusted"] < alpha
    mde_cols = ["scheme", "arm", "outcome", "tier", "n_treated", "n_control", "baseline", "sd",
                "mde", "mde_relative"]  # fmt: skip
    mde = pd.DataFrame(mde_rows).reindex(columns=mde_cols)
    return {
        "effects": effects,
        "het": het,
        "combined": pd.DataFrame(comb_rows),
        "by_cell": by_cell,
        "mde": mde,
        "skipped": pd.DataFrame(skipped, columns=["scheme", "arm", "outcome", "tier", "reason"]),
        "excluded": pd.DataFrame(excluded, columns=["arm", "outcome", "reason", "rows"]),
    }


def _roi_table(pieces, schemes, revenue, margin, cost, treated, alpha) -> pd.DataFrame:
    """ROI per tier of the first scheme, the ``tiers combined`` row and the pooled overall."""
    from scipy import stats

    if revenue is None or margin is None or cost is None or not schemes:
        return pd.DataFrame()
    scheme = next(iter(schemes))
    z = stats.norm.ppf(1 - alpha / 2)
    parts = []
    for a in treated:
        tab = pieces["by_cell"][(scheme, a, revenue)]
        tiers_ = tab[tab["tier"].map(label_text) != OVERALL]
        comb = _combined_row(tab)
        weighted = pd.DataFrame(
            [
                {
                    "tier": WEIGHTED,
                    "arm": a,
                    "n_treated": comb["n_treated"],
                    "effect": comb["weighted_effect"],
                    "ci_low": comb["weighted_effect"] - z * comb["weighted_se"],
                    "ci_high": comb["weighted_effect"] + z * comb["weighted_se"],
                }
            ]
        )
        rows = pd.concat(
            [tiers_, weighted, tab[tab["tier"].map(label_text) == OVERALL]], ignore_index=True
        )
        # per-tier rates: the pooled and combined rows have none of their own
        extra = {WEIGHTED: np.nan, OVERALL: np.nan}
        m = margin if not isinstance(margin, Mapping) else {**extra, **margin}
        c = cost if not isinstance(cost, Mapping) else {**extra, **cost}
        out = roi(rows[["tier", "arm", "n_treated", "effect", "ci_low", "ci_high"]], m, c)
        # the combined row's totals are the sum of the tier totals (exactly, by construction)
        is_w = out["tier"] == WEIGHTED
        # (with per-tier margins or costs the combined row has no single rate: sum the totals)
        if isinstance(margin, Mapping) or isinstance(cost, Mapping):
            is_tier = ~is_w & (out["tier"].map(label_text) != OVERALL)
            out.loc[is_w, "total_profit"] = out.loc[is_tier, "total_profit"].sum()
            out.loc[is_w, ["total_profit_ci_low", "total_profit_ci_high"]] = np.nan
        parts.append(out.assign(scheme=scheme))
    return _lead(pd.concat(parts, ignore_index=True), ["scheme", "arm", "tier"])


def _policies(frame, arm, control, treated, outcomes, rules, pairs, budget, alpha):
    """policy_contrasts for every treated arm × outcome (rows with a missing outcome left out)."""
    values, diffs = [], []
    for a in treated:
        sub = frame[frame[arm].isin([a, control])]
        for outcome in outcomes:
            pc = policy_contrasts(
                sub.dropna(subset=[outcome]),
                rules,
                treatment=arm,
                outcome=outcome,
                budget=budget,
                pairs=pairs,
                control=control,
                treated=a,
                alpha=alpha,
            )
            values.append(pc.values.assign(arm=a, outcome=outcome))
            diffs.append(pc.differences.assign(arm=a, outcome=outcome))
    lead = ["arm", "outcome"]
    return (
        _lead(pd.concat(values, ignore_index=True), lead),
        _lead(pd.concat(diffs, ignore_index=True), lead),
    )


def _findings(heterogeneity: pd.DataFrame, by_cell: dict, alpha: float) -> pd.DataFrame:
    """One statement per scheme × arm × outcome naming its tier scheme; a best tier only where
    the test rejects; where two schemes disagree, both statements say so."""
    rows = [
        {
            "scheme": r["scheme"],
            "arm": r["arm"],
            "outcome": r["outcome"],
            "differ": bool(r["differ"]),
            "p_value": r["p_value"],
            "p_adjusted": r["p_adjusted"],
            **_tier_statement(r, by_cell[(r["scheme"], r["arm"], r["outcome"])], alpha),
        }
        for _, r in heterogeneity.iterrows()
    ]
    _disagreement(rows)
    return pd.DataFrame(rows, columns=["scheme", "arm", "outcome", "best_tier", "statement"])
