"""``crmresearch index FEATURES --config NAME --out index.json``: fit the classification index."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crmresearch.cli._args import (
    HelpFormatter,
    check_output,
    one_line_errors,
    read_features_table,
    writing,
)
from crmresearch.errors import DataError

HELP = "fit the factor-analytic customer classification index on a features table"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "index",
        help=HELP,
        description=(
            "Fit the customer classification index: KMO/Bartlett adequacy, factor retention, "
            "extraction and rotation, factor scores and the composite index weighted by each "
            "factor's share of explained variance. FEATURES is a table from `crmresearch "
            "features` (.parquet or .csv, one row per customer). The index system (--config) "
            "chooses the indicators, fills undefined values and log-transforms skewed ones; cost "
            "indicators (recency, returns, late payment...) are reversed. Prints adequacy, the "
            "total-variance-explained table, sorted loadings, composite weights and warnings; "
            "saves the fitted index as JSON for `crmresearch score`."
        ),
        formatter_class=HelpFormatter,
    )
    one_line_errors(parser)
    parser.add_argument("features", metavar="FEATURES", help="features table (.parquet/.csv)")
    parser.add_argument(
        "--config",
        default="ecommerce",
        metavar="NAME|FILE",
        help="index system (bundled name or .yaml file)",
    )
    parser.add_argument(
        "--method", default="pc", choices=["pc", "minres", "ml"], help="extraction method"
    )
    parser.add_argument(
        "--rotation",
        default="varimax",
        choices=["none", "varimax", "promax", "oblimin"],
        help="rotation",
    )
    parser.add_argument(
        "--n-factors",
        default="parallel",
        metavar="N|kaiser|parallel|0.x",
        help="factors to retain: a number, 'kaiser' (eigenvalue > 1), 'parallel' (Horn), or a "
        "cumulative variance share such as 0.8",
    )
    parser.add_argument(
        "--score-method",
        default="regression",
        choices=["regression", "bartlett"],
        help="factor scores: regression (Thurstone, W = R⁻¹S, as psych) or Bartlett "
        "(weighted least squares, unbiased)",
    )
    parser.add_argument(
        "--weights",
        default="rotated",
        choices=["rotated", "initial"],
        help="composite weights: share of rotated SS loadings or of initial eigenvalues",
    )
    parser.add_argument(
        "--missing",
        default=None,
        choices=["listwise", "pairwise"],
        help="what to do with customers whose indicators are still undefined after filling "
        "(default: stop with an error that counts them)",
    )
    parser.add_argument(
        "--varimax",
        default="r",
        choices=["r", "max"],
        help="varimax stopping rule: as R/psych, or iterate to the maximum",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the parallel analysis")
    parser.add_argument("--out", required=True, metavar="index.json", help="fitted index (JSON)")
    parser.add_argument(
        "--scores",
        default=None,
        metavar="FILE",
        help="also write factor scores and the composite per customer (.parquet/.csv)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from crmresearch._io import write_frame
    from crmresearch.features import load_config
    from crmresearch.study import Study, parse_n_factors

    for path in filter(None, (args.out, args.scores)):
        check_output(path)
    config = load_config(args.config)
    features = read_features_table(args.features, require_id=False)
    present = [c for c in config.indicators if c in features.columns]
    absent = [c for c in config.indicators if c not in features.columns]
    if len(present) < 3:
        found = ", ".join(map(str, features.columns)) or "none"
        which = "none" if not present else "only " + ", ".join(present)
        raise DataError(
            f"{which} of the {config.name} indicators ({', '.join(config.indicators)}) "
            f"{'are' if len(present) != 1 else 'is'} columns of {args.features}; columns found: "
            f"{found}. Need at least 3: compute them with `crmresearch features LOG --config "
            f"{config.name} --end DATE --out FILE`"
        )
    try:
        n_factors = parse_n_factors(args.n_factors.strip().lower())
    except ValueError:
        raise ValueError(
            f"--n-factors {args.n_factors!r}: use a number, 'kaiser', 'parallel' or a share like 0.8"
        ) from None
    # A bundled system is saved by name, a YAML file by its path: `score` reloads it from there.
    config_ref = (
        args.config if Path(args.config).suffix.lower() in (".yaml", ".yml") else config.name
    )
    study = Study.from_features(
        features, index_config=config_ref, method=args.method, rotation=args.rotation,
        n_factors=n_factors, score_method=args.score_method, weights=args.weights,
        missing=args.missing, varimax=args.varimax, seed=args.seed,
    )  # fmt: skip
    index = study.index
    X = study.index_input
    index.meta_ = {
        "config": config_ref,
        "features": Path(args.features).name,
        "fill": {c: v for c, v in config.fill.items() if c in present},
    }
    print(f"index system: {config.name} ({len(present)} indicators in {args.features})")
    if absent:
        print(f"not in the table (skipped): {', '.join(absent)}")
    for col, n in X.attrs.get("filled", {}).items():
        print(f"filled: {col} undefined for {n:,} customers -> {config.fill[col]:g}")
    print()
    print(index.summary())
    print()
    with writing(args.out):
        index.save(args.out)
    print(f"wrote {args.out}")
    if args.scores:
        scores = study.scores()
        with writing(args.scores):
            write_frame(args.scores, scores)
        missing = int(scores["composite"].isna().sum())
        print(
            f"wrote {args.scores}: {len(scores):,} customers"
            + (f", {missing:,} without a composite (undefined indicators)" if missing else "")
        )
    if index.warnings_:
        print(f"{len(index.warnings_)} warning(s); see the summary above", file=sys.stderr)
    return 0
