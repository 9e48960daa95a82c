"""``crmresearch validate PATH``: read a transaction log, report what was accepted and rejected."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from crmresearch._io import atomic_write
from crmresearch.cli._args import add_log_options, check_output, load_data, writing
from crmresearch.errors import DataError

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
_EXCEL_ROWS = 1_048_576  # rows of an Excel sheet, the header's included


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
            path = write_rejected(args.rejected, log.rejected)
        print(f"rejected rows ({log.n_rejected:,}) written to {path}", file=sys.stdout)
    return 0


def write_rejected(path: str | Path, rejected: pd.DataFrame) -> Path:
    """Write the rejected rows atomically, for the manager who opens them in Excel: .csv as
    UTF-8 with a byte-order mark (``utf-8-sig``, as the package's other manager CSVs; without
    it Excel shows 合计 and 客户编号 garbled), .xlsx (one sheet ``rejected``, raw values as text)
    or .parquet."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return atomic_write(path, lambda p: rejected.to_csv(p, index=False, encoding="utf-8-sig"))
    if suffix == ".xlsx":
        if len(rejected) >= _EXCEL_ROWS:
            raise DataError(
                f"--rejected {path}: {len(rejected):,} rejected rows do not fit an Excel sheet "
                f"({_EXCEL_ROWS - 1:,} rows at most). Fix: write .csv or .parquet"
            )
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        def clean(x):  # control characters (a NUL byte row) cannot be stored in a sheet
            return ILLEGAL_CHARACTERS_RE.sub("\ufffd", x) if isinstance(x, str) else x

        frame = rejected.copy()
        for col in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[col].dtype):
                frame[col] = frame[col].map(clean)

        def write(p: Path) -> None:
            with pd.ExcelWriter(p, engine="openpyxl") as xw:
                frame.to_excel(xw, sheet_name="rejected", index=False)

        return atomic_write(path, write)
    return atomic_write(path, lambda p: rejected.to_parquet(p, index=False))
