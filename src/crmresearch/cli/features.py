"""``crmresearch features PATH --end DATE --out FILE``: customer indicators for a window."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import pandas as pd

from crmresearch._io import write_frame, write_text
from crmresearch.cli._args import (
    HelpFormatter,
    add_log_options,
    check_order,
    date_type,
    load_data,
    one_line_errors,
)
from crmresearch.features import INDICATORS, available_configs, describe_features, load_config
from crmresearch.study import Source, Study, StudyParams

HELP = "compute customer indicators (RFM, tenure, regularity, profit, credit, ...) for a window"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "features",
        help=HELP,
        description=(
            "Compute one row of indicators per customer active in the window START..END (dates, "
            "both inclusive; no START = from the first date in the log). Indicators whose columns "
            "the log lacks are skipped and listed. PATH is a transaction file (CSV, delimited "
            "text or Parquet; validated like `crmresearch validate`), 'cdnow' for the bundled "
            "CDNOW log, or 'synthetic' for generated data. Indicators: " + ", ".join(INDICATORS)
        ),
        formatter_class=HelpFormatter,
    )
    one_line_errors(parser)
    parser.add_argument("path", metavar="PATH", help="transaction file, 'cdnow' or 'synthetic'")
    parser.add_argument(
        "--end", required=True, type=date_type("--end"), metavar="DATE",
        help="last day of the window",
    )  # fmt: skip
    parser.add_argument(
        "--start", default=None, type=date_type("--start"), metavar="DATE",
        help="first day of the window",
    )  # fmt: skip
    parser.add_argument(
        "--config",
        default=None,
        metavar="NAME|FILE",
        help=f"index system whose indicators to compute ({', '.join(available_configs())} or a "
        ".yaml file); default: every indicator the log allows",
    )
    parser.add_argument(
        "--indicators",
        default=None,
        metavar="A,B",
        help="comma-separated indicator names; a requested indicator whose column is missing "
        "is an error",
    )
    parser.add_argument(
        "--out", required=True, metavar="FILE", help="output table (.parquet or .csv)"
    )
    parser.add_argument(
        "--summary", default=None, metavar="FILE.md", help="also write a Markdown summary table"
    )
    add_log_options(parser)
    parser.add_argument(
        "--direct",
        action="store_true",
        help="scan a Parquet/CSV file with canonical columns directly in DuckDB (out of core, "
        "for logs larger than memory; rows are not validated one by one)",
    )
    parser.set_defaults(func=run)


def _source(args: argparse.Namespace) -> Source:
    if args.direct and args.path.lower() not in ("cdnow", "synthetic"):
        # DuckDB scans the file itself (out of core); rows are not validated one by one.
        return Source(Path(args.path).name, Path(args.path), path=args.path)
    return load_data(args.path, args, command="features")


def run(args: argparse.Namespace) -> int:
    if args.indicators and args.config:
        raise ValueError("give either --indicators or --config, not both")
    indicators = None
    if args.indicators:
        indicators = tuple(s.strip() for s in args.indicators.split(",") if s.strip())
    if Path(args.out).suffix.lower() not in (".parquet", ".csv"):
        raise ValueError(f"--out {args.out}: use a .parquet or .csv file name")
    check_order(("--start", args.start), ("--end", args.end))
    config = load_config(args.config) if args.config else None
    t0 = time.perf_counter()
    print(f"reading {args.path} ...", file=sys.stderr)
    params = StudyParams(
        calibration_start=f"{args.start:%Y-%m-%d}" if args.start is not None else "",
        calibration_end=f"{args.end:%Y-%m-%d}",
        indicators=indicators,
        seed=args.seed,
    )
    study = Study(_source(args), params, require_holdout=False)
    print("aggregating in DuckDB ...", file=sys.stderr)
    features = study.features
    if config is not None:
        # The config's indicators are wanted, not demanded: missing columns skip, not fail.
        keep = [c for c in features.columns if c in config.indicators]
        skipped = {k: v for k, v in features.attrs["skipped"].items() if k in config.indicators}
        attrs = {**features.attrs, "skipped": skipped}
        features = features[keep]
        features.attrs = attrs
    elapsed = time.perf_counter() - t0
    write_frame(args.out, features)
    window = features.attrs["window"]
    rows = features.attrs["rows"]
    print(
        f"window {window['start']} .. {window['end']} ({window['days']} days); "
        f"rows: {rows['read']:,} read, {rows['in_window']:,} in window, "
        f"{rows['before_start']:,} before start, {rows['after_end']:,} after end"
    )
    print(f"customers: {len(features):,}")
    print(f"indicators ({features.shape[1]}): {', '.join(features.columns)}")
    skipped = features.attrs["skipped"]
    if skipped:
        print(f"skipped ({len(skipped)}):")
        for name, reason in skipped.items():
            print(f"  {name}: {reason}")
    else:
        print("skipped: none")
    for name, n in features.attrs["undefined"].items():
        print(f"undefined: {name} is NaN for {n:,} customers (see its definition)")
    for note in features.attrs["notes"]:
        print(f"note: {note}")
    print(f"wrote {args.out} in {elapsed:.1f} s")
    if args.summary:
        write_text(args.summary, summary_markdown(features, source=args.path))
        print(f"wrote {args.summary}")
    return 0


def summary_markdown(features: pd.DataFrame, *, source: str = "") -> str:
    """A readable per-indicator summary (labels, units, count, mean, sd, min, quartiles, max)."""
    window = features.attrs.get("window", {})
    rows = features.attrs.get("rows", {})
    desc = describe_features(features)
    lines = ["# Customer indicators", ""]
    if source:
        lines.append(f"- Source: `{source}`")
    if window:
        lines.append(
            f"- Window: {window['start']} to {window['end']} "
            f"(both inclusive, {window['days']} days)"
        )
    if rows:
        lines.append(
            f"- Rows: {rows['read']:,} read, {rows['in_window']:,} in the window, "
            f"{rows['before_start']:,} before it (used for tenure only), "
            f"{rows['after_end']:,} after its end (not used)"
        )
    lines.append(f"- Customers active in the window: {len(features):,}")
    skipped = features.attrs.get("skipped", {})
    if skipped:
        lines.append("- Skipped: " + "; ".join(f"`{k}` ({v})" for k, v in skipped.items()))
    for note in features.attrs.get("notes", []):
        lines.append(f"- Note: {note}")
    lines += [
        "",
        "| indicator | label | 中文 | unit | dir. | count | missing | mean | sd | min | 25% | "
        "median | 75% | max |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in desc.iterrows():
        direction = {1: "+", -1: "−"}.get(int(r["direction"]), "")
        stats = " | ".join(_fmt(r[k]) for k in ("mean", "sd", "min", "q25", "median", "q75", "max"))
        lines.append(
            f"| `{name}` | {r['label_en']} | {r['label_zh']} | {r['unit']} | {direction} | "
            f"{int(r['count']):,} | {int(r['missing']):,} | {stats} |"
        )
    lines += ["", "Direction: + benefit (more is better), − cost (less is better).", ""]
    lines += ["## Definitions", ""]
    for name in desc.index:
        if name in INDICATORS:
            lines.append(f"- `{name}`: {INDICATORS[name].description}")
    return "\n".join(lines) + "\n"


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if float(x).is_integer():
        return f"{x:.0f}"
    return f"{x:.3g}" if abs(x) < 1 else f"{x:.2f}"
