"""``crmresearch score FEATURES --index index.json --out scores.parquet``: apply a saved index."""

from __future__ import annotations

import argparse

from crmresearch.cli._args import (
    HelpFormatter,
    check_output,
    index_file,
    one_line_errors,
    read_features_table,
    writing,
)
from crmresearch.study import Study

HELP = "score customers with a saved classification index (factor scores + composite)"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "score",
        help=HELP,
        description=(
            "Apply an index saved by `crmresearch index` to a features table (e.g. a later "
            "window): the same fill values, log transforms, directions, standardization (the "
            "fitted means and SDs) and score weights. Writes one row per customer with the factor "
            "scores, the composite and the composite on the fitted 0-100 scale (clipped)."
        ),
        formatter_class=HelpFormatter,
    )
    one_line_errors(parser)
    parser.add_argument("features", metavar="FEATURES", help="features table (.parquet/.csv)")
    parser.add_argument(
        "--index", required=True, type=index_file, metavar="index.json", help="saved index"
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="scores (.parquet/.csv)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from crmresearch._io import write_frame
    from crmresearch.features import load_config
    from crmresearch.index import ClassificationIndex

    check_output(args.out)
    index = ClassificationIndex.load(args.index)
    features = read_features_table(args.features, require_id=False)
    missing = [c for c in index.columns_ if c not in features.columns]
    if missing:
        raise ValueError(
            f"{args.features}: indicator column(s) {missing} missing; the index {args.index} was "
            f"fitted on {index.columns_}"
        )
    config = (getattr(index, "meta_", None) or {}).get("config") or "ecommerce"
    study = Study.from_features(features, index=index, index_config=config)
    scores = study.scores()
    with writing(args.out):
        write_frame(args.out, scores)
    fill = (getattr(index, "meta_", None) or {}).get("fill") or load_config(config).fill
    for col, n in study.index_input.attrs.get("filled", {}).items():
        print(f"filled: {col} undefined for {n:,} customers -> {fill[col]:g}")
    n_missing = int(scores["composite"].isna().sum())
    print(
        f"scored {len(scores):,} customers with {args.index} "
        f"({index.method}, {index.rotation or 'unrotated'}, {index.n_factors_} factors)"
        + (f"; {n_missing:,} have undefined indicators and no composite" if n_missing else "")
    )
    print(f"composite: mean {scores['composite'].mean():.3f}, sd {scores['composite'].std():.3f}")
    print(f"wrote {args.out}")
    return 0
