"""Argument types and checks shared by the command modules (errors name the option)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def date_type(option: str):
    """An argparse ``type=`` for a calendar date: ``--OPTION: 'x' is not a date (use YYYY-MM-DD)``.

    Returns a ``pd.Timestamp`` at midnight. A time of day is refused: the windows are whole days.
    """

    def parse(text: str) -> pd.Timestamp:
        bad = argparse.ArgumentTypeError(f"{option}: {text!r} is not a date (use YYYY-MM-DD)")
        try:
            value = pd.Timestamp(text)
        except (ValueError, TypeError, OverflowError):
            raise bad from None
        if value is pd.NaT or pd.isna(value) or value != value.normalize():
            raise bad
        if value.tzinfo is not None:
            raise bad
        return value

    parse.__name__ = "date"  # argparse names the type in some messages
    return parse


def check_order(earlier: tuple[str, pd.Timestamp | None], later: tuple[str, pd.Timestamp | None],
                *, strict: bool = False) -> None:  # fmt: skip
    """Raise ``ValueError`` unless ``earlier`` ≤ ``later`` (``<`` with ``strict``); None = unset."""
    (name_a, a), (name_b, b) = earlier, later
    if a is None or b is None:
        return
    if b < a or (strict and b == a):
        relation = "after" if strict else "on or after"
        raise ValueError(f"{name_b} {b:%Y-%m-%d} must be {relation} {name_a} {a:%Y-%m-%d}")


def index_file(path: str) -> str:
    """An argparse ``type=`` for a saved index: it must exist (checked before any data is read)."""
    if not Path(path).is_file():
        raise argparse.ArgumentTypeError(
            f"index file {path} not found: fit one with `crmresearch index ...`"
        )
    return path


def one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make ``parser.error`` print one line (``crmresearch CMD: error: ...``) and exit 2.

    argparse prints the whole usage before the message; for a mistyped value the message alone
    (naming the option) is what the user needs, and ``--help`` is one flag away.
    """

    def error(message: str):
        # argparse writes "argument --x: <type's message>"; our types' messages already say
        # which option or file is wrong, so the prefix is dropped for them.
        if message.startswith("argument "):
            option, _, rest = message[len("argument ") :].partition(": ")
            names = option.split("/")
            named = any(rest.startswith(f"{n}:") for n in names) or rest.startswith("index file")
            message = rest if named else f"{option}: {rest}"
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)

    parser.error = error  # type: ignore[method-assign]
    return parser


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show ``(default: X)`` only where it informs: not for None/False/required options, and not
    when the help text already states the default."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            action.default in (None, False, argparse.SUPPRESS)
            or action.required
            or "default" in text
        ):
            return text
        return super()._get_help_string(action)


# --------------------------------------------------------------------------- transaction logs
def add_log_options(parser: argparse.ArgumentParser, *, synthetic: bool = True) -> None:
    """The options every command that reads a transaction log shares (``validate``, ``features``,
    ``loss``): column mapping, date format, delimiter, encoding; and, where the command accepts
    the source ``synthetic``, the generator's size and seed."""
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
        help=r"field delimiter, e.g. ';', tab or '\s+' (default: sniffed)",
    )
    parser.add_argument(
        "--encoding", metavar="E", default=None, help="text encoding, e.g. gb18030 (default: UTF-8)"
    )
    if synthetic:
        parser.add_argument(
            "--customers", type=int, default=5000, help="customers to generate for 'synthetic'"
        )
        parser.add_argument("--seed", type=int, default=0, help="seed for 'synthetic'")


def load_log(source: str, args: argparse.Namespace, *, command: str, report_rejected: bool = True):
    """'cdnow' (bundled), 'synthetic' (when the command offers it) or a validated file.

    Uses the options added by :func:`add_log_options`. A file of 100 MB or more is announced on
    stderr (reading takes a while); rejected rows are counted on stdout, never dropped silently.
    """
    key = str(source).lower()
    if key == "cdnow":
        from crmresearch.datasets import load_cdnow

        return load_cdnow()
    if key == "synthetic" and hasattr(args, "customers"):
        from crmresearch.datasets import make_crm_data

        return make_crm_data(n_customers=args.customers, seed=args.seed).transactions
    from crmresearch.data import parse_column_mapping, read_transactions

    _announce_if_large(source, command)
    log = read_transactions(
        source,
        columns=parse_column_mapping(args.columns),
        date_format=args.date_format,
        encoding=args.encoding,
        sep="\t" if args.sep in ("\\t", "tab") else args.sep,
    )
    if report_rejected and log.n_rejected:
        print(
            f"{log.n_rejected:,} of {log.n_read:,} rows rejected by validation "
            "(see `crmresearch validate --rejected FILE`)"
        )
    return log


def _announce_if_large(path: str, command: str, threshold_mb: float = 100.0) -> None:
    """Tell the user a big file is being read (a 10 M-row log takes tens of seconds)."""
    try:
        size_mb = Path(path).stat().st_size / 1e6
    except OSError:
        return  # read_transactions reports missing files properly
    if size_mb >= threshold_mb:
        print(f"crmresearch {command}: reading {path} ({size_mb:,.0f} MB) ...", file=sys.stderr)
