"""``crmresearch validate PATH``: read a transaction log, report what was accepted and rejected."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crmresearch._io import write_frame
from crmresearch.cli._args import add_log_options, check_output, load_data, writing

HELP = "check a transaction log: rows read / accepted / rejected by reason, customers, date span"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "validate",
        help=HELP,
        description=(
            "Read a transaction log (CSV, delimited text, Excel .xlsx or Parquet) and validate every row. "
            "Prints rows read, accepted and rejected by reason, zero-amount and duplicate rows "
            "(kept), customers and the date span. Use PATH 'cdnow' for the bundled CDNOW log."
        ),
    )
    parser.add_argument("path", metavar="PATH", help="transaction file, or 'cdnow'")
    add_log_options(parser, synthetic=False, study=False)
    parser.add_argument(
        "--rejected",
        metavar="FILE",
        default=None,
        help="write the rejected rows (row, reason, raw values) to FILE: .csv (UTF-8 with a "
        "byte-order mark, so that Excel shows Chinese text), .xlsx or .parquet",
    )
    parser.set_defaults(func=run)


_REJECTED_SUFFIXES = (".csv", ".xlsx", ".parquet")


def run(args: argparse.Namespace) -> int:
    if args.rejected:
        suffix = Path(args.rejected).suffix.lower()
        if suffix not in _REJECTED_SUFFIXES:
            raise ValueError(
                f"--rejected {args.rejected}: unsupported suffix {suffix!r}; use .csv, .xlsx "
                "or .parquet"
            )
        check_output(args.rejected)
    log = load_data(args.path, args, command="validate", report_rejected=False).log
    print(log.summary())
    if log.n_rejected:
        first = ", ".join(str(r) for r in log.rejected["row"].head(5))
        print(f"  first rejected rows: {first} [row numbers: {log.row_numbering}]")
    if args.rejected:
        with writing(args.rejected):
            # for Excel: CSV with a byte-order mark, or one sheet "rejected"
            path = write_frame(args.rejected, log.rejected, index=False, for_excel=True,
                               sheet="rejected")  # fmt: skip
        print(f"rejected rows ({log.n_rejected:,}) written to {path}", file=sys.stdout)
    return 0

