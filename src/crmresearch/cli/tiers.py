"""``crmresearch tiers FEATURES --scheme ... --out FILE``: tier customers from a features table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from crmresearch import tiers as T
from crmresearch._io import write_frame
from crmresearch.cli._args import (
    HelpFormatter,
    check_output,
    index_file,
    one_line_errors,
    read_features_table,
    writing,
)
from crmresearch.errors import DataError
from crmresearch.study import Study

HELP = "tier customers (ABC, Pareto, quantiles, fixed grades, value matrix, RFM, k-means)"
SCHEMES = ("abc", "pareto", "quantiles", "grades", "value-matrix", "rfm", "clusters")


def _floats(text: str | None, what: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise ValueError(f"{what}: expected comma-separated numbers, got {text!r}") from None


def _labels(text: str | None) -> list[str] | None:
    return None if text is None else [s.strip() for s in text.split(",")]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "tiers",
        help=HELP,
        description=(
            "Assign every customer of FEATURES (a .parquet/.csv table from `crmresearch "
            "features`) to a tier and write the tiers (best tier first, missing values kept as "
            "an empty tier and counted). Schemes: abc (top 5% / next 15% / rest of customers "
            "by --value), pareto (cumulative value share 80% / 95%), quantiles, grades (fixed "
            "edges, upper limits inclusive; default the eight monthly-volume grades on "
            "monthly_volume), value-matrix (current x potential value -> core / potential / "
            "general / problem), rfm (PyMC-Marketing RFM segments), clusters (k-means on factor "
            "scores of the classification index)."
        ),
        formatter_class=HelpFormatter,
    )
    one_line_errors(parser)
    parser.add_argument("features", metavar="FEATURES", help="features table (.parquet or .csv)")
    parser.add_argument("--scheme", required=True, choices=SCHEMES, help="tiering scheme")
    parser.add_argument("--out", required=True, metavar="FILE", help="output (.parquet or .csv)")
    parser.add_argument(
        "--value", default=None, metavar="COLUMN",
        help="column to tier (default monetary; monthly_volume for grades; 'index' = the "
        "classification-index composite)",
    )  # fmt: skip
    parser.add_argument("--shares", default=None, metavar="S1,S2,..", help="abc/quantiles shares")
    parser.add_argument("--q", type=int, default=4, help="quantiles: number of tiers")
    parser.add_argument("--cum", default=None, metavar="C1,C2", help="pareto cumulative shares")
    parser.add_argument("--edges", default=None, metavar="E1,E2,..", help="grades upper limits")
    parser.add_argument("--labels", default=None, metavar="L1,L2,..", help="tier names, best first")
    parser.add_argument("--current", default="monetary", metavar="COLUMN",
                        help="value-matrix current value")  # fmt: skip
    parser.add_argument(
        "--potential", default="index", metavar="COLUMN",
        help="value-matrix potential value ('index' = classification-index composite)",
    )  # fmt: skip
    parser.add_argument("--split", type=float, default=0.5, help="value-matrix low/high split")
    parser.add_argument(
        "--credit", action="store_true",
        help="value-matrix: customers failing the default problem rules are 'problem'",
    )  # fmt: skip
    parser.add_argument("--k", type=int, default=4, help="clusters: number of clusters")
    parser.add_argument("--seed", type=int, default=0, help="clusters: k-means seed")
    parser.add_argument(
        "--index", default=None, type=index_file, metavar="INDEX.json",
        help="fitted classification index (`crmresearch index`); default: fit one on FEATURES",
    )  # fmt: skip
    parser.add_argument(
        "--config", default="ecommerce", metavar="NAME|FILE",
        help="index system preparing the indicators for the index",
    )  # fmt: skip
    parser.set_defaults(func=run)


def _study(features: pd.DataFrame, args) -> Study:
    """The study on FEATURES: the saved index (--index) or one fitted with the Study's defaults."""
    from crmresearch.index import ClassificationIndex

    index = ClassificationIndex.load(args.index) if args.index else None
    if index is None:
        print("fitting a classification index ...", file=sys.stderr)
    return Study.from_features(features, index=index, index_config=args.config)


def _column(features: pd.DataFrame, name: str, args, cache: dict) -> pd.Series:
    if name == "index":
        if "index" not in cache:
            study = cache.setdefault("study", _study(features, args))
            cache["index"] = study.index.composite(study.index_input).rename("index")
        return cache["index"]
    if name not in features.columns:
        raise DataError(
            f"features lack column {name!r}; available: {', '.join(map(str, features.columns))}"
        )
    return features[name]


def run(args: argparse.Namespace) -> int:
    if Path(args.out).suffix.lower() not in (".parquet", ".csv"):
        raise ValueError(f"--out {args.out}: use a .parquet or .csv file name")
    check_output(args.out)
    features = read_features_table(args.features)
    labels = _labels(args.labels)
    cache: dict = {}
    out = pd.DataFrame(index=features.index)
    scheme = args.scheme
    if scheme in ("abc", "pareto", "quantiles", "grades"):
        default = "monthly_volume" if scheme == "grades" else "monetary"
        values = _column(features, args.value or default, args, cache)
        out[values.name or "value"] = values
        if scheme == "abc":
            shares = _floats(args.shares, "--shares") or (0.05, 0.15, 0.80)
            tiers = T.abc(values, shares=shares, labels=labels)
        elif scheme == "pareto":
            tiers = T.pareto(values, cum=_floats(args.cum, "--cum") or (0.80, 0.95), labels=labels)
        elif scheme == "quantiles":
            q = _floats(args.shares, "--shares") or args.q
            tiers = T.quantiles(values, q=q, labels=labels)
        else:
            edges = _floats(args.edges, "--edges") or T.MONTHLY_VOLUME_GRADES
            tiers = T.grades(values, edges, labels=labels)
    elif scheme == "value-matrix":
        cur = _column(features, args.current, args, cache)
        pot = _column(features, args.potential, args, cache)
        credit = None
        if args.credit:
            from crmresearch.loss import problem_customers

            probs = problem_customers(features)
            credit = pd.Series(features.index.isin(probs.index), index=features.index)
            print(f"credit rules: {len(probs):,} customers fail at least one "
                  f"(skipped rules: {probs.attrs['skipped_rules'] or 'none'})")  # fmt: skip
        out["current"], out["potential"] = cur, pot
        tiers = T.value_matrix(cur, pot, split=args.split, credit_fail=credit)
    elif scheme == "rfm":
        tiers = T.rfm_segments(features)
        sc = T.rfm_scores(features)
        out["rfm_score"] = sc["rfm_score"]
    else:  # clusters
        study = cache.setdefault("study", _study(features, args))
        scores = study.index.transform(study.index_input)
        comp = study.index.composite(study.index_input)
        tiers = T.clusters(scores, k=args.k, seed=args.seed, composite=comp)
        for c in scores.columns:
            out[str(c)] = scores[c]
        out["index"] = comp
    out.insert(0, "tier", tiers)
    with writing(args.out):
        write_frame(args.out, out.reset_index())
    print(f"scheme: {tiers.attrs['rule']}")
    counts = T.tier_counts(tiers)
    if counts["<NA>"] == 0:
        counts = counts.drop("<NA>")  # no empty "<NA> 0 0.0" row when every customer has a tier
    table = pd.DataFrame({"customers": counts, "share %": (counts / len(tiers) * 100).round(1)})
    if "monetary" in features.columns:
        rev = features["monetary"].groupby(tiers, observed=False).sum()
        rev = rev.reindex(tiers.cat.categories)
        if "<NA>" in counts.index:
            rev.loc["<NA>"] = features["monetary"][tiers.isna()].sum()
        total = features["monetary"].sum()
        table["revenue share %"] = (rev / total * 100).round(1) if total else float("nan")
    print(table.to_string(formatters={"customers": "{:,}".format}))
    if tiers.attrs["n_missing"]:
        print(f"{tiers.attrs['n_missing']:,} customers have no tier (missing value); kept in the "
              "output with an empty tier")  # fmt: skip
    print(f"wrote {args.out} ({len(out):,} customers)")
    return 0
