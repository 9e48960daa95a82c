"""``crmresearch validate PATH``: read a transaction log, report what was accepted and rejected."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crmresearch._io import write_frame
from crmresearch.data import parse_column_mapping, read_transactions

HELP = "check a transaction log: rows read / accepted / rejected by reason, customers, date span"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "validate",
        help=HELP,
        description=(
            "Read a transaction log (CSV, delimited text or Parquet) and validate every row. "
            "Prints rows read, accepted and rejected by reason, zero-amount and duplicate rows "
            "(kept), customers and the date span. Use PATH 'cdnow' for the bundled CDNOW log."
        ),
    )
    parser.add_argument("path", metavar="PATH", help="transaction file, or 'cdnow'")
    parser.add_argument(
        "--columns",
        metavar="MAP",
        default=None,
        help="map the file's column names onto canonical ones, e.g. "
        "cust=customer_id,dt=date,value=amount (canonical: customer_id, date, amount, quantity, "
        "profit, category, channel, due_date, paid_date)",
    )
    parser.add_argument(
        "--date-format",
        metavar="FMT",
        default=None,
        help="strptime format of the dates, e.g. %%d/%%m/%%Y (default: YYYYMMDD or ISO 8601)",
    )
    parser.add_argument(
        "--sep",
        metavar="S",
        default=None,
        help=r"field delimiter, e.g. ';' or '\s+' (default: sniffed)",
    )
    parser.add_argument(
        "--encoding", metavar="E", default=None, help="text encoding, e.g. gb18030 (default: UTF-8)"
    )
    parser.add_argument(
        "--rejected",
        metavar="FILE",
        default=None,
        help="write the rejected rows (row, reason, raw values) to FILE (.csv or .parquet)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.path.lower() == "cdnow":
        from crmresearch.datasets import load_cdnow

        log = load_cdnow()
    else:
        _announce_if_large(args.path)
        sep = args.sep
        if sep in ("\\t", "tab"):
            sep = "\t"
        log = read_transactions(
            args.path,
            columns=parse_column_mapping(args.columns),
            date_format=args.date_format,
            encoding=args.encoding,
            sep=sep,
        )
    print(log.summary())
    if log.n_rejected:
        first = ", ".join(str(r) for r in log.rejected["row"].head(5))
        print(f"  first rejected rows: {first}")
    if args.rejected:
        path = write_frame(args.rejected, log.rejected, index=False)
        print(f"rejected rows ({log.n_rejected:,}) written to {path}", file=sys.stdout)
    return 0


def _announce_if_large(path: str, threshold_mb: float = 100.0) -> None:
    """Tell the user a big file is being read (a 10 M-row log takes tens of seconds)."""
    try:
        size_mb = Path(path).stat().st_size / 1e6
    except OSError:
        return  # read_transactions reports missing files properly
    if size_mb >= threshold_mb:
        print(f"crmresearch validate: reading {path} ({size_mb:,.0f} MB) ...", file=sys.stderr)
