"""Tables of the potential core-customer loss report, built from the library results."""

from __future__ import annotations

import pandas as pd

from crmresearch._format import DASH, fmt_num, fmt_pct, is_missing, signed
from crmresearch.reports.labels import currency
from crmresearch.reports.labels import money as fmt_money  # the report's currency

__all__ = [
    "GROUP_NAMES",
    "points",
    "group_table",
    "effect_table",
    "neglected_list",
    "overlap_table",
    "sensitivity_table",
    "rising_table",
    "validity_table",
    "out_of_time_table",
    "lists_text",
    "attribute_tables",
    "attribute_metrics",
    "attribute_display",
    "CHURN_COLUMNS",
]

GROUP_NAMES = {
    "served_core": "served core",
    "neglected_core": "neglected core",
    "over_served": "over-served",
    "other": "other customers",
}



def group_table(result) -> pd.DataFrame:
    """The four cells: customers, churn (with its Wilson CI), revenue before, after, at risk."""
    g = result.groups
    out = pd.DataFrame(
        {
            "customers": g["customers"].astype("int64"),
            "share": g["share"],
            "churn rate": g["churn_rate"],
            "churn 95 % CI": [
                f"{fmt_pct(lo)} – {fmt_pct(hi)}"
                for lo, hi in zip(g["churn_ci_low"], g["churn_ci_high"], strict=True)
            ],
            "revenue before": g["revenue_before"],
            "revenue after": g["revenue_after"],
            "revenue at risk": g["revenue_at_risk"],
        }
    )
    out.index = pd.Index([GROUP_NAMES.get(i, i) for i in g.index], name="group")
    return out


def points(x) -> str:
    """A share difference in percentage points: ``+1.8 pts``."""
    return f"{signed(100 * x)} pts"


def effect_table(result) -> pd.DataFrame:
    """Each comparison's churn difference with the CI and p-value of one score test, plus the
    spend-adjusted odds ratios (linear and spline) with their Wald CI and p."""
    rows = []
    for _name, r in result.comparisons.iterrows():
        rows.append({
            "comparison": f"{GROUP_NAMES[r['group']]} − {GROUP_NAMES[r['reference']]}",
            "churn": f"{fmt_pct(r['churn_group'])} vs {fmt_pct(r['churn_reference'])}",
            "estimate": points(r["risk_difference"]),
            "95 % CI": f"{signed(100 * r['ci_low'])} to {signed(100 * r['ci_high'])} pts",
            "p-value": r["p_value"],
            "test": "score test (Miettinen-Nurminen), difference of churn rates",
        })  # fmt: skip
    c = result.comparison
    for key, label, test in (
        ("odds_ratio", "odds ratio, linear log spend",
         f"logistic regression on the core (n = {c['logit_n']:,}), Wald"),
        ("odds_ratio_spline", "odds ratio, spline of log spend",
         f"logistic regression with a natural spline (df {result.adjustment.spline['df']}), Wald"),
    ):  # fmt: skip
        lo, hi = c[key + "_ci"]
        rows.append({
            "comparison": f"neglected core vs served core: {label}",
            "churn": "",
            "estimate": fmt_num(c[key], 2),
            "95 % CI": f"{fmt_num(lo, 2)} to {fmt_num(hi, 2)}",
            "p-value": c[key + "_p_value"],
            "test": test + (" (extrapolation)" if result.adjustment.extrapolation else ""),
        })  # fmt: skip
    return pd.DataFrame(rows).set_index("comparison")


def neglected_list(result, rows: int = 15) -> pd.DataFrame:
    """A preview of the neglected-core list: the first ``rows`` by index rank, without the
    index itself; revenue in bands when the ids are pseudonymized."""
    from crmresearch import loss

    nl = result.neglected.head(rows)
    out = pd.DataFrame({"volume tier": nl["volume_tier"]}, index=nl.index)
    if result.pseudonymized:
        out["revenue before"] = loss.revenue_band(nl["revenue_before"], symbol=currency()).to_numpy()
        out["revenue after"] = loss.revenue_band(nl["revenue_after"], symbol=currency()).to_numpy()
    else:
        out["revenue before"] = nl["revenue_before"]
        out["revenue after"] = nl["revenue_after"]
    out["bought in holdout"] = (~nl["churned"].astype(bool)).map({True: "yes", False: "no"})
    return out


def overlap_table(result) -> pd.DataFrame:
    """Calibration spend of neglected vs served core: quantiles and common support."""
    ov = result.adjustment.overlap.copy()
    ov.index = [GROUP_NAMES.get(i, i) for i in ov.index]
    ov.index.name = "group"
    return ov.rename(columns={"share_in_other_range": "in the other group's range"})


def sensitivity_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per core share: sizes, what the construction forces, the churn difference."""
    return pd.DataFrame(
        {
            "core customers": table["core_customers"].astype("int64").to_numpy(),
            "neglected share": table["neglected_share"].to_numpy(),
            "minimum by construction": table["minimum_by_construction"].to_numpy(),
            "churn neglected vs served": [
                f"{fmt_pct(a)} vs {fmt_pct(b)}"
                for a, b in zip(table["churn_neglected"], table["churn_served"], strict=True)
            ],
            "difference (95 % CI)": [
                f"{points(d)} ({signed(100 * lo)} to {signed(100 * hi)})"
                for d, lo, hi in zip(table["risk_difference"], table["ci_low"], table["ci_high"],
                                     strict=True)  # fmt: skip
            ],
            "p-value": table["p_value"].to_numpy(),
            "odds ratio, spend-adjusted": table["odds_ratio_adjusted"].to_numpy(),
            "odds ratio, spline": table["odds_ratio_spline"].to_numpy(),
        },
        index=pd.Index([_share_label(r) for _, r in table.iterrows()], name="core share"),
    )



def _share_label(row) -> str:
    """``10.0 %``; the equal-size row ``5.0 % = size of top tier`` (shown once even when a
    requested share gives the same core)."""
    if not row["equal_size"]:
        return fmt_pct(row["core_share"])
    same = row.get("same_as_share", float("nan"))
    shown = same if same == same else row["core_share"]  # NaN != NaN
    return f"{fmt_pct(shown)} = size of top tier"


def rising_table(rising) -> pd.DataFrame:
    t = rising.table
    return pd.DataFrame(
        {
            "rising stars": t["n_rising"].astype("int64"),
            "peers": t["n_peers"].astype("int64"),
            "churn rising vs peers": [f"{fmt_pct(a)} vs {fmt_pct(b)}" for a, b in
                                      zip(t["churn_rising"], t["churn_peers"], strict=True)],
            "difference (95 % CI)": [f"{points(d)} ({signed(100 * lo)} to {signed(100 * hi)})"
                                     for d, lo, hi in zip(t["risk_difference"], t["ci_low"],
                                                          t["ci_high"], strict=True)],
            "p-value": t["p_value"],
            "holdout revenue rising vs peers": [
                f"{fmt_money(a)} vs {fmt_money(b)}"
                for a, b in zip(t["revenue_rising"], t["revenue_peers"], strict=True)],
            "revenue difference (95 % CI)": [
                f"{fmt_money(d)} ({fmt_money(lo)} to {fmt_money(hi)})"
                for d, lo, hi in zip(t["revenue_difference"], t["revenue_ci_low"],
                                     t["revenue_ci_high"], strict=True)],
        },
        index=pd.Index([str(i) for i in t.index], name="index tier"),
    )  # fmt: skip



def validity_table(validity) -> pd.DataFrame:
    """Each scheme's same-size top tier: precision, value capture, churn with bootstrap CIs,
    and the paired-bootstrap difference to the index."""
    t, d = validity.table, validity.differences
    rows = {}
    for s, r in t.iterrows():
        row = {"customers in top tier": int(r["k"])}
        for m, label in (("precision", "precision"), ("value_capture", "value capture"),
                         ("churn", "holdout churn")):  # fmt: skip
            if not r.get("estimable", True):  # undersized top tier: nothing to compare
                row[label] = row[f"{label} − index"] = "not estimable"
                continue
            row[label] = f"{fmt_pct(r[m])} ({fmt_pct(r[m + '_low'])} – {fmt_pct(r[m + '_high'])})"
            if s in d.index:
                dr = d.loc[s]
                row[f"{label} − index"] = (
                    f"{points(dr[f'diff_{m}'])} ({signed(100 * dr[f'diff_{m}_low'])} to "
                    f"{signed(100 * dr[f'diff_{m}_high'])})"
                )
            else:
                row[f"{label} − index"] = "reference"
        rows[r["label"]] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "scheme (same-size top tier)"
    return out


def out_of_time_table(validity) -> pd.DataFrame | None:
    if validity.spread is None:
        return None
    sp = validity.spread.reset_index()
    sp = sp[sp["metric"] == "value_capture"].set_index("scheme")
    out = pd.DataFrame(
        {"windows": sp["windows"].astype("int64"), "mean": sp["mean"], "sd": sp["std"],
         "min": sp["min"], "max": sp["max"]}
    )  # fmt: skip
    labels = validity.table["label"] if "label" in validity.table else pd.Series(dtype=str)
    out.index = [labels.get(k, k) for k in out.index]  # the schemes' names, as in the table above
    out.index.name = "scheme"
    return out


def _recency_caveat(study, values, tiers_by_period, rising) -> str:
    """Plain words on what the rising-star rule selects: an index that rose in the last period
    mostly means a purchase in that period, so the holdout comparison with peers is partly a
    comparison of recent with less recent buyers (measured here, not assumed)."""
    last = values.columns[-1]
    frame = getattr(study.log, "frame", study.log)
    dates = pd.to_datetime(frame["date"])
    period = dates.dt.to_period(last.freq) if isinstance(last, pd.Period) else None
    if period is None or not len(rising):
        return ""
    bought = pd.Index(frame.loc[(period == last).to_numpy(), "customer_id"].unique())
    now = tiers_by_period[last]
    peers = now.index[now.isin(set(rising["tier"].astype(str))) & ~now.index.isin(rising.index)
                      & values[last].notna()]  # fmt: skip
    share_r = float(rising.index.isin(bought).mean())
    share_p = float(peers.isin(bought).mean()) if len(peers) else float("nan")
    return (
        f"What the rule selects: {fmt_pct(share_r)} of the rising stars bought in the last "
        f"period ({last}), against {fmt_pct(share_p)} of their peers. A rise of the index mostly "
        "means a recent purchase, so part of the rising stars' lower churn simply reflects that "
        "they bought recently; the comparison is not one of equally recent customers."
    )


def _problems_applicable(problems: pd.DataFrame) -> bool:
    return bool(problems.attrs.get("rules", []))


def lists_text(cl) -> str:
    """Where the complete lists are and what the ids are, true to this run's parameters: no
    files are promised that were not written, no stable pseudonyms without the firm's key."""
    if cl.list_files:
        where = (f"The complete lists are in {' and '.join(cl.list_files)} next to this report "
                 "(CSV with BOM for Excel, XLSX with one sheet per list).")  # fmt: skip
    else:
        where = ("No list files were written in this run (set lists_dir to a folder to get the "
                 "complete lists as CSV and XLSX); this report shows counts and a preview.")  # fmt: skip
    if not cl.pseudonymized:
        ids = "Ids are the real customer ids."
    elif cl.stable_key:
        ids = (f"Ids are keyed pseudonyms from the firm's key file (fingerprint "
               f"{cl.lists.key_fingerprint}): the same key file gives the same pseudonyms in "
               "every run.")  # fmt: skip
    else:
        ids = ("Ids are pseudonyms made with a new key for this run only: they cannot be matched "
               "with another run's lists. To keep them, run with id_key set to a key file the "
               "firm keeps (created with mode 0600 when missing).")  # fmt: skip
    return f"{where} {ids} No list carries an index column; revenue is shown in bands."


# ---------------------------------------------------------------------------- customer attributes

#: Report names of the churn columns of :func:`loss.cells_by_attribute` (cells: GROUP_NAMES).
CHURN_COLUMNS = {
    "neglected_churn_rate": "neglected core churn",
    "neglected_churn_low": "95 % CI low",
    "neglected_churn_high": "95 % CI high",
}
ATTRIBUTE_COLUMNS = {**GROUP_NAMES, **CHURN_COLUMNS}


def attribute_tables(result, static: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The four cells per value of each attribute (``loss.cells_by_attribute``), with the
    report's column names: customers, one column per cell, the neglected core's churn and its
    95 % Wilson interval."""
    from crmresearch.loss import cells_by_attribute

    tables = cells_by_attribute(result, static)
    return {column: t.rename(columns=ATTRIBUTE_COLUMNS) for column, t in tables.items()}


def attribute_display(table: pd.DataFrame) -> pd.DataFrame:
    """One table of :func:`attribute_tables` as shown: the interval as one text column
    ``churn 95 % CI`` (as in the groups table) instead of its two bounds."""
    low, high = CHURN_COLUMNS["neglected_churn_low"], CHURN_COLUMNS["neglected_churn_high"]
    shown = table.drop(columns=[low, high])
    shown["churn 95 % CI"] = [
        DASH if is_missing(lo) else f"{fmt_pct(lo)} – {fmt_pct(hi)}"
        for lo, hi in zip(table[low], table[high], strict=True)
    ]
    return shown


def attribute_metrics(tables: dict[str, pd.DataFrame]) -> dict:
    """metrics.json's ``by_attribute``: attribute -> value -> {customers, served_core, ...,
    neglected_churn_rate, neglected_churn_low, neglected_churn_high} (the machine names of
    :func:`loss.cells_by_attribute`)."""
    keys = {v: k for k, v in {**ATTRIBUTE_COLUMNS, "customers": "customers"}.items()}
    rates = set(CHURN_COLUMNS.values())
    out = {}
    for column, t in tables.items():
        out[column] = {str(value): {keys[k]: (None if pd.isna(x) else float(x))
                                    if k in rates else int(x)
                                    for k, x in row.items()}
                       for value, row in t.iterrows()}  # fmt: skip
    return out
