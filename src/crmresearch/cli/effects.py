"""``crmresearch effects``: per-tier strategy effects from a customer-level experiment table."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from crmresearch.cli._args import check_output, writing
from crmresearch.errors import DataError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "effects",
        help="estimate strategy effects per tier from a customer-level experiment table",
        description="Difference in means (risk difference for 0/1 outcomes) of each arm against "
        "control, per tier and overall, with HC2 (or cluster-robust) SEs, 95 % CIs, Holm-adjusted "
        "p-values across tiers and a joint test of treatment x tier heterogeneity.",
    )
    p.add_argument("frame", metavar="FRAME", help="CSV or Parquet file, one row per customer")
    p.add_argument("--treatment", required=True, metavar="COL", help="arm column")
    p.add_argument("--outcome", required=True, metavar="COL", help="numeric or 0/1 outcome column")
    p.add_argument("--tier", metavar="COL", help="segment column (effects per tier)")
    p.add_argument("--cluster", metavar="COL", help="assignment-group column (cluster-robust SE)")
    p.add_argument(
        "--covariates", metavar="A,B", help="comma-separated pre-treatment covariates (ANCOVA)"
    )
    p.add_argument(
        "--control", metavar="LABEL", help="control arm label (default: control / 0 / False)"
    )
    p.add_argument("--out", metavar="PATH", help="write the table to this .csv or .parquet file")
    p.set_defaults(func=run)


def _read_frame(path: str) -> pd.DataFrame:
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(f"{path}: no such file")
    suffix = source.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(source)
        if suffix in (".csv", ".txt", ".gz"):
            return pd.read_csv(source)
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: cannot read as {suffix[1:]} ({exc})") from exc
    raise DataError(f"{path}: unsupported file type {suffix!r}; give a .csv or .parquet file")


def _control_label(frame: pd.DataFrame, column: str, label: str | None):
    """A label typed on the command line is a string; match it to the column's own value."""
    if label is None or column not in frame.columns:
        return label
    for value in pd.unique(frame[column].dropna()):
        if str(value) == label:
            return value
    return label


def run(args: argparse.Namespace) -> int:
    from crmresearch._io import write_frame
    from crmresearch.strategy import effect_by_tier

    if args.out:
        check_output(args.out)
    frame = _read_frame(args.frame)
    result = effect_by_tier(
        frame,
        treatment=args.treatment,
        outcome=args.outcome,
        tier=args.tier,
        cluster=args.cluster,
        covariates=args.covariates,
        control=_control_label(frame, args.treatment, args.control),
    )
    print(result.summary())
    if args.out:
        with writing(args.out):
            write_frame(args.out, result.table, index=False)
        print(f"\nwrote {args.out}")
    return 0
