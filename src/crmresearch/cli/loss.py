"""``crmresearch loss LOG --calibration-end DATE --holdout-end DATE --out loss.json``."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd

from crmresearch._io import write_frame, write_json
from crmresearch.cli._args import (
    HelpFormatter,
    add_log_options,
    check_order,
    date_type,
    index_file,
    load_log,
    one_line_errors,
)

HELP = "potential core-customer loss: valuable customers the volume tiers neglect, and their churn"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "loss",
        help=HELP,
        description=(
            "Compute calibration-period indicators, the classification index (fitted on them, "
            "or loaded with --index) and volume ABC tiers on calibration net revenue; core = top "
            "--core-share of customers by the index; neglected core = core outside the top "
            "volume tier(s). Compares holdout churn (no purchase in the holdout window) and "
            "revenue lost (calibration revenue of churned customers) of neglected core, served "
            "core and others, with risk ratio/difference CIs, a two-proportion z-test and a "
            "logistic regression. LOG is a transaction file, 'cdnow' or 'synthetic'."
        ),
        formatter_class=HelpFormatter,
    )
    one_line_errors(parser)
    parser.add_argument("log", metavar="LOG", help="transaction file, 'cdnow' or 'synthetic'")
    parser.add_argument("--calibration-end", type=date_type("--calibration-end"),
                        required=True, metavar="DATE",
                        help="last day of the calibration window (inclusive)")  # fmt: skip
    parser.add_argument("--calibration-start", type=date_type("--calibration-start"),
                        default=None, metavar="DATE",
                        help="first day of the calibration window; none = start of the log")  # fmt: skip
    parser.add_argument("--holdout-end", type=date_type("--holdout-end"),
                        required=True, metavar="DATE",
                        help="last day of the holdout window (inclusive)")  # fmt: skip
    parser.add_argument("--holdout-start", type=date_type("--holdout-start"),
                        default=None, metavar="DATE",
                        help="first day of the holdout; none = the day after calibration end")  # fmt: skip
    parser.add_argument("--index", default=None, type=index_file, metavar="INDEX.json",
                        help="fitted classification index from `crmresearch index`")  # fmt: skip
    parser.add_argument("--config", default="ecommerce", metavar="NAME|FILE",
                        help="index system (indicators, fills, log transforms)")  # fmt: skip
    parser.add_argument("--core-share", type=float, default=0.2,
                        help="share of customers that are core by the index")  # fmt: skip
    parser.add_argument("--volume-shares", default="0.05,0.15,0.80", metavar="A,B,C",
                        help="ABC customer shares of the volume tiers")  # fmt: skip
    parser.add_argument("--top-tiers", default="A", metavar="T1,T2",
                        help="volume tiers that get core treatment")  # fmt: skip
    parser.add_argument("--out", required=True, metavar="FILE.json", help="result (JSON)")
    parser.add_argument("--list", default=None, metavar="FILE",
                        help="also write the neglected-core list (.csv or .parquet)")  # fmt: skip
    parser.add_argument("--raw-ids", action="store_true",
                        help="list raw customer ids instead of salted-hash pseudonyms")  # fmt: skip
    parser.add_argument(
        "--salt", default=None, metavar="TEXT",
        help="secret salt for pseudonyms; none = $CRMRESEARCH_SALT, else random per run",
    )  # fmt: skip
    add_log_options(parser)
    parser.set_defaults(func=run)


def index_input(features: pd.DataFrame, index, config) -> pd.DataFrame:
    """The matrix a fitted index scores: the config's preparation (fills, log transforms).

    An index that log-transforms by itself (fitted with ``log_transform=``) gets the filled but
    untransformed indicators instead, so that nothing is logged twice.
    """
    from crmresearch.features import apply_config, load_config

    cfg = load_config(config) if isinstance(config, (str, os.PathLike)) else config
    if index is not None and getattr(index, "log_columns_", None):
        X = features[[c for c in index.columns_ if c in features.columns]].astype("float64")
        return X.fillna({c: v for c, v in cfg.fill.items() if c in X.columns})
    return apply_config(features, cfg)


def compute(log, *, calibration_end, holdout_end, calibration_start=None, holdout_start=None,
            index=None, config="ecommerce", core_share=0.2, volume_shares=(0.05, 0.15, 0.80),
            top_tiers=("A",), pseudonymize=True, salt=None):  # fmt: skip
    """Features -> index composite -> volume ABC -> outcomes -> potential_core_loss."""
    from crmresearch.features import apply_config, customer_features, holdout_outcomes
    from crmresearch.index import ClassificationIndex
    from crmresearch.loss import potential_core_loss
    from crmresearch.tiers import abc

    cal_end = pd.Timestamp(calibration_end)
    hold_start = (pd.Timestamp(holdout_start) if holdout_start is not None
                  else cal_end + pd.Timedelta(days=1))  # fmt: skip
    if hold_start <= cal_end:
        raise ValueError(
            f"holdout start {hold_start.date()} must be after calibration end {cal_end.date()}"
        )
    print("calibration indicators ...", file=sys.stderr)
    features = customer_features(log, start=calibration_start, end=cal_end)
    if index is None:
        X = apply_config(features, config)
        print(f"fitting the classification index on {X.shape[1]} indicators ...", file=sys.stderr)
        idx = ClassificationIndex(missing="listwise").fit(X)
    else:
        idx = ClassificationIndex.load(index) if isinstance(index, (str, os.PathLike)) else index
        X = index_input(features, idx, config)
    composite = idx.composite(X)
    volume = abc(features["monetary"], shares=volume_shares)
    print("holdout outcomes ...", file=sys.stderr)
    outcomes = holdout_outcomes(log, start=hold_start, end=holdout_end, customers=features.index)
    result = potential_core_loss(
        composite, volume, outcomes, core_share=core_share, top_volume_tiers=top_tiers,
        revenue_before=features["monetary"], pseudonymize=pseudonymize, salt=salt,
    )  # fmt: skip
    windows = {
        "calibration": {"start": features.attrs.get("window", {}).get("start"),
                        "end": f"{cal_end:%Y-%m-%d}"},
        "holdout": {"start": f"{hold_start:%Y-%m-%d}",
                    "end": f"{pd.Timestamp(holdout_end):%Y-%m-%d}"},
    }  # fmt: skip
    return result, {"windows": windows, "volume_rule": volume.attrs["rule"],
                    "index_indicators": list(X.columns), "config": X.attrs.get("config")}  # fmt: skip


def summary_text(result, list_file: str | None) -> str:
    """The result's summary, its neglected-core line saying where (or whether) the list goes."""
    from crmresearch.loss import NEGLECTED_LINE_START

    n = len(result.neglected)
    where = f"list written to {list_file}" if list_file else "write the list with --list FILE"
    lines = [
        f"{NEGLECTED_LINE_START}{n:,} customers ({where})"
        if line.startswith(NEGLECTED_LINE_START)
        else line
        for line in result.summary().splitlines()
    ]
    return "\n".join(lines)


def check_windows(args: argparse.Namespace) -> None:
    """Window order, checked before any data is read: calibration, then holdout."""
    check_order(("--calibration-start", args.calibration_start),
                ("--calibration-end", args.calibration_end))  # fmt: skip
    check_order(("--calibration-end", args.calibration_end),
                ("--holdout-start", args.holdout_start), strict=True)  # fmt: skip
    check_order(("--calibration-end", args.calibration_end), ("--holdout-end", args.holdout_end),
                strict=True)  # fmt: skip
    check_order(("--holdout-start", args.holdout_start), ("--holdout-end", args.holdout_end))


def run(args: argparse.Namespace) -> int:
    if Path(args.out).suffix.lower() != ".json":
        raise ValueError(f"--out {args.out}: use a .json file name")
    if args.list and Path(args.list).suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"--list {args.list}: use a .csv or .parquet file name")
    check_windows(args)
    shares = tuple(float(s) for s in args.volume_shares.split(","))
    tops = tuple(s.strip() for s in args.top_tiers.split(",") if s.strip())
    t0 = time.perf_counter()
    print(f"reading {args.log} ...", file=sys.stderr)
    log = load_log(args.log, args, command="loss")
    result, meta = compute(
        log, calibration_end=args.calibration_end, holdout_end=args.holdout_end,
        calibration_start=args.calibration_start, holdout_start=args.holdout_start,
        index=args.index, config=args.config, core_share=args.core_share, volume_shares=shares,
        top_tiers=tops, pseudonymize=not args.raw_ids,
        salt=args.salt or os.environ.get("CRMRESEARCH_SALT"),
    )  # fmt: skip
    w = meta["windows"]
    print(f"calibration {w['calibration']['start']} .. {w['calibration']['end']}; holdout "
          f"{w['holdout']['start']} .. {w['holdout']['end']}")  # fmt: skip
    print(f"volume tiers: {meta['volume_rule']}")
    print(summary_text(result, args.list))
    write_json(args.out, {**meta, **result.to_dict(include_list=False), "log": args.log})
    print(f"wrote {args.out}")
    if args.list:
        write_frame(args.list, result.neglected.reset_index())
        kind = "raw ids" if args.raw_ids else "pseudonymized ids"
        print(f"wrote {args.list} ({len(result.neglected):,} neglected core customers, {kind})")
    print(f"done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0
