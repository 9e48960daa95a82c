"""``crmresearch features PATH --end DATE --out FILE``: customer indicators for a window."""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from pathlib import Path

import pandas as pd

from crmresearch._io import write_frame, write_text
from crmresearch.cli._args import (
    HelpFormatter,
    add_engine_options,
    add_log_options,
    check_order,
    check_output,
    date_type,
    engine_session,
    load_data,
    one_line_errors,
    writing,
)
from crmresearch.errors import DataError
from crmresearch.features import INDICATORS, available_configs, describe_features, load_config
from crmresearch.features.describe import attribute_columns
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
            "text, Excel .xlsx or Parquet; validated like `crmresearch validate`), 'cdnow' for the bundled "
            "CDNOW log, or 'synthetic' for generated data. Indicators: " + ", ".join(INDICATORS)
        ),
        formatter_class=HelpFormatter,
    )
    one_line_errors(parser)
    parser.add_argument(
        "path", metavar="PATH", nargs="?", default=None,
        help="transaction file, 'cdnow' or 'synthetic' (none with --table)",
    )  # fmt: skip
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
    add_engine_options(parser, table=True)
    parser.set_defaults(func=run)


def _source(args: argparse.Namespace) -> Source:
    if args.table:
        return Source(args.table, args.table)  # a Spark/Hive table, read by the Spark engine
    named = args.path.lower() in ("cdnow", "synthetic")
    if (args.direct or args.engine == "spark") and not named:
        # The engine scans the file itself (out of core); rows are not validated one by one.
        return Source(Path(args.path).name, Path(args.path), path=args.path)
    return load_data(args.path, args, command="features")


CANONICAL = ("customer_id", "date", "amount", "quantity", "profit", "category", "channel",
             "due_date", "paid_date")  # fmt: skip


def _direct_error(exc: Exception, path: str) -> DataError:
    """A DuckDB error on a file scanned directly, as the one line a user can act on: the file,
    the column and the fix (never the SQL)."""
    full = " ".join(str(exc).split())
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    missing = re.search(r'[Rr]eferenced column "?([^"\s]+)"? not found', full)
    if missing:
        return DataError(
            f"{path}: column {missing.group(1)!r} not found; --direct needs the canonical columns "
            "customer_id, date, amount. Fix: rename the file's columns, or drop --direct to read "
            "it with --columns (validated row by row)"
        )
    names = "|".join(CANONICAL)
    used = re.search(rf"LINE \d+:.*?\b\w+\(\s*({names})\s*\)", full) or re.search(
        rf"\b({names})\b", full.split("LINE", 1)[-1] if "LINE" in full else ""
    )
    if used:
        text = "text where numbers or dates are expected" if "VARCHAR" in full else "bad values"
        what = f"column {used.group(1)!r} holds {text}"
    else:
        what = "cannot be read directly"
    return DataError(
        f"{path}: {what} ({type(exc).__name__}: {first[:160]}). Fix: drop --direct to read and "
        "validate the file row by row (bad rows are rejected with their reason)"
    )


def run(args: argparse.Namespace) -> int:
    if args.indicators and args.config:
        raise ValueError("give either --indicators or --config, not both")
    if bool(args.path) == bool(args.table):
        raise ValueError("give a transaction file PATH or --table (with --engine spark), not both")
    indicators = None
    if args.indicators:
        indicators = tuple(s.strip() for s in args.indicators.split(",") if s.strip())
    if Path(args.out).suffix.lower() not in (".parquet", ".csv"):
        raise ValueError(f"--out {args.out}: use a .parquet or .csv file name")
    check_order(("--start", args.start), ("--end", args.end))
    config = load_config(args.config) if args.config else None
    for path in filter(None, (args.out, args.summary)):
        check_output(path)
    spark = engine_session(args)
    t0 = time.perf_counter()
    print(f"reading {args.path or args.table} ...", file=sys.stderr)
    params = StudyParams(
        calibration_start=f"{args.start:%Y-%m-%d}" if args.start is not None else "",
        calibration_end=f"{args.end:%Y-%m-%d}",
        indicators=indicators,
        seed=args.seed,
        engine=args.engine,
    )
    source = _source(args)
    study = Study(source, params, require_holdout=False, customers=args.customers,
                  customer_columns=args.customer_columns, spark=spark)  # fmt: skip
    if args.customers:
        study.customers  # noqa: B018 - read (and validated) before the long part
    print(f"aggregating in {'Spark' if args.engine == 'spark' else 'DuckDB'} ...", file=sys.stderr)
    try:
        features = study.features
    except Exception as exc:
        if isinstance(source.log, Path) and "duckdb" in type(exc).__module__:
            raise _direct_error(exc, args.path) from exc
        raise
    if config is not None:
        # The config's indicators are wanted, not demanded: missing columns skip, not fail.
        keep = [c for c in features.columns if c in config.indicators]
        skipped = {k: v for k, v in features.attrs["skipped"].items() if k in config.indicators}
        attrs = {**features.attrs, "skipped": skipped}
        features = features[keep]
        features.attrs = attrs
    if args.customers:
        features = _with_attributes(features, study, args.customers)
    elapsed = time.perf_counter() - t0
    # the summary is composed before anything is written: a failure leaves no half output
    summary = summary_markdown(features, source=args.path or args.table) if args.summary else None
    with writing(args.out):
        write_frame(args.out, features)
    window = features.attrs["window"]
    rows = features.attrs["rows"]
    print(
        f"window {window['start']} .. {window['end']} ({window['days']} days); "
        f"rows: {rows['read']:,} read, {rows['in_window']:,} in window, "
        f"{rows['before_start']:,} before start, {rows['after_end']:,} after end"
    )
    print(f"customers: {len(features):,}")
    attributes = attribute_columns(features)
    names = [c for c in features.columns if c not in attributes]
    print(f"indicators ({len(names)}): {', '.join(names)}")
    if attributes:
        print(f"customer attributes ({len(attributes)}): {', '.join(attributes)}")
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
        with writing(args.summary):
            write_text(args.summary, summary)
        print(f"wrote {args.summary}")
    return 0


def _with_attributes(features: pd.DataFrame, study: Study, path: str) -> pd.DataFrame:
    """The indicators with the customers' static attributes appended (``--customers FILE``)."""
    static = study.static_attributes
    clash = [c for c in static.columns if c in features.columns]
    if clash:
        raise DataError(f"{path}: attribute field(s) {clash} have an indicator's name; rename them")
    table = study.customers
    matched = int(features.index.isin(table.frame.index.astype("str")).sum())
    print(
        f"customer attributes: {Path(path).name}: {table.n_accepted:,} customers; static fields "
        f"added: {', '.join(static.columns) or 'none'}; {matched:,} of {len(features):,} "
        "customers in the window have a row"
    )
    out = features.join(static)
    out.attrs = {**features.attrs, "attributes": list(static.columns), "attributes_file": path}
    return out


def summary_markdown(features: pd.DataFrame, *, source: str = "") -> str:
    """A readable per-indicator summary (labels, units, count, mean, sd, min, quartiles, max).

    Attribute columns joined from a customer file (text such as 区域, 行业) are named, not
    described: the table and its count cover indicators only."""
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
    attributes = attribute_columns(features)
    if attributes:
        origin = features.attrs.get("attributes_file")
        origin = f" from `{Path(origin).name}`" if origin else ""
        lines.append(
            f"- Customer attributes joined{origin} (in the table, not described here): "
            + ", ".join(f"`{c}`" for c in attributes)
        )
    lines.append(f"- Indicators: {len(desc)}")
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
