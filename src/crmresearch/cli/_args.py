"""Argument types and checks shared by the command modules (errors name the option)."""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from pathlib import Path

import pandas as pd

from crmresearch.study import MAX_REJECTED_SHARE

# 05.01.2024, 5/1/24, 05-01-2024: January 5 in some countries, May 1 in others.
_DAY_FIRST_OR_MONTH_FIRST = re.compile(r"^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")


def date_type(option: str):
    """An argparse ``type=`` for a calendar date, ISO 8601 only (YYYY-MM-DD or YYYYMMDD).

    Returns a ``pd.Timestamp`` at midnight. Ambiguous forms such as 05.01.2024 (January 5 or
    May 1?) and times of day are refused with a message naming the option.
    """
    from crmresearch.errors import DataError
    from crmresearch.study import iso_date

    def parse(text: str) -> pd.Timestamp:
        try:
            return pd.Timestamp(iso_date(text, option))
        except DataError:
            message = f"{option}: {text!r} is not a date (use YYYY-MM-DD)"
            if _DAY_FIRST_OR_MONTH_FIRST.match(text.strip()):
                message = (
                    f"{option}: {text!r} is ambiguous (day or month first?); "
                    "give the date as YYYY-MM-DD"
                )
            raise argparse.ArgumentTypeError(message) from None

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
def add_log_options(
    parser: argparse.ArgumentParser, *, synthetic: bool = True, study: bool = True
) -> None:
    """The options every command that reads a transaction log shares (``validate``, ``features``,
    ``loss``): column mapping, date format, delimiter, encoding, decimal mark, Excel sheet; where the command
    accepts the source ``synthetic``, the generator's size and seed; where it builds a study, the
    largest share of rejected rows it accepts and the customer attribute file."""
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
        "--encoding",
        metavar="E",
        default=None,
        help="text encoding, e.g. gb18030 (default: UTF-8, else detected and reported)",
    )
    parser.add_argument(
        "--decimal",
        choices=(".", ","),
        default=None,
        help="decimal mark of amounts, quantities and profits: ',' for 1.234,50 (default: '.')",
    )
    parser.add_argument(
        "--sheet",
        metavar="NAME|N",
        default=None,
        help="Excel (.xlsx) sheet by name or 0-based number (default: the first sheet)",
    )
    if study:
        parser.add_argument(
            "--max-rejected-share",
            type=share_type("--max-rejected-share"),
            default=MAX_REJECTED_SHARE,
            metavar="S",
            help="stop (exit 2) when more than this share of the rows is rejected by validation",
        )
        parser.add_argument(
            "--customers",
            metavar="FILE",
            default=None,
            help="customer attribute file (region, industry, store type ...; CSV, Excel or "
            "Parquet with a customer_id column): results broken down by its static fields",
        )
        parser.add_argument(
            "--customer-columns",
            metavar="MAP",
            type=mapping_type("--customer-columns"),
            default=None,
            help="map the --customers file's column names, e.g. 客户编号=customer_id (default: its "
            "customer_id column, else the column --columns maps onto customer_id)",
        )
    if synthetic:
        parser.add_argument(
            "--n-customers", type=int, default=5000, help="customers to generate for 'synthetic'"
        )
        parser.add_argument("--seed", type=int, default=0, help="seed for 'synthetic'")


def mapping_type(option: str):
    """An argparse ``type=`` for a column mapping ``a=b,c=d`` (the syntax of ``--columns``)."""

    def parse(text: str) -> dict[str, str]:
        from crmresearch.data import parse_column_mapping
        from crmresearch.errors import DataError

        try:
            mapping = parse_column_mapping(text)
        except DataError:
            mapping = {}
        if not mapping or not all(k and v for k, v in mapping.items()):
            raise argparse.ArgumentTypeError(
                f"{option}: {text!r} is not a mapping; write FILE_NAME=NEW_NAME pairs separated "
                "by commas, e.g. 客户编号=customer_id"
            )
        return mapping

    parse.__name__ = "mapping"
    return parse


def share_type(option: str):
    """An argparse ``type=`` for a share between 0 and 1 (``0.05``, ``5e-2``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not 0 <= value <= 1:
            raise argparse.ArgumentTypeError(f"{option}: {text!r} is not a share between 0 and 1")
        return value

    parse.__name__ = "share"
    return parse


def _sheet(text: str | None):
    return int(text) if text is not None and text.strip().isdigit() else text


def load_data(source: str, args: argparse.Namespace, *, command: str, report_rejected: bool = True):
    """The :class:`crmresearch.study.Source` of ``source``: 'cdnow' (bundled), 'synthetic' (when
    the command offers it) or a validated file, read with the options of :func:`add_log_options`.

    A file of 100 MB or more is announced on stderr (reading takes a while); rejected rows are
    counted on stdout, never dropped silently.
    """
    from crmresearch.data import parse_column_mapping
    from crmresearch.study import load_source

    key = str(source).lower()
    if key == "synthetic" and not hasattr(args, "n_customers"):
        key = source  # a command without the generator's options reads a file of that name
    if key not in ("cdnow", "synthetic"):
        _announce_if_large(source, command)
    loaded = load_source(
        key if key in ("cdnow", "synthetic") else source,
        columns=parse_column_mapping(getattr(args, "columns", None)),
        date_format=getattr(args, "date_format", None),
        n_customers=getattr(args, "n_customers", 5000),
        seed=getattr(args, "seed", 0),
        max_rejected_share=getattr(args, "max_rejected_share", None) if report_rejected else None,
        encoding=getattr(args, "encoding", None),
        sep="\t" if getattr(args, "sep", None) in ("\\t", "tab") else getattr(args, "sep", None),
        sheet=_sheet(getattr(args, "sheet", None)),
        decimal=getattr(args, "decimal", None),
    )
    log = loaded.log
    encoding, how = getattr(log, "encoding", None), getattr(log, "encoding_how", "detected")
    if (
        report_rejected
        and encoding
        and how not in ("given", "utf-8")
        and key
        not in (
            "cdnow",
            "synthetic",
        )
    ):  # validate prints the log's summary, which names the encoding itself
        # The reader says how it decided: "detected", "byte-order mark" or "utf-8".
        note = "; override with --encoding" if how == "detected" else ""
        print(f"encoding: {encoding} ({how}{note})")
    if report_rejected and log.n_rejected:
        print(
            f"{log.n_rejected:,} of {log.n_read:,} rows rejected by validation "
            "(see `crmresearch validate --rejected FILE`)"
        )
    return loaded


def read_features_table(path: str | Path, *, require_id: bool = True) -> pd.DataFrame:
    """A features table written by ``crmresearch features`` (.parquet or .csv), indexed by
    ``customer_id`` as text (leading zeros kept), one row per customer. Without ``require_id`` a
    table lacking ``customer_id`` is numbered by row."""
    from crmresearch.errors import DataError

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(
            f"features file {path} not found; create it with "
            "`crmresearch features LOG --end DATE --out FILE`"
        )
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(p)
    elif suffix == ".csv":
        frame = pd.read_csv(p, dtype={"customer_id": "str"})
    else:
        raise DataError(
            f"features file {path}: unsupported suffix {suffix!r}; use .parquet or .csv"
        )
    if "customer_id" in frame.columns:
        frame = frame.set_index("customer_id")
    if frame.index.name != "customer_id" and (
        require_id or not isinstance(frame.index, pd.RangeIndex)
    ):
        raise DataError(f"features file {path}: no customer_id column or index")
    frame.index = frame.index.astype("str")
    frame.index.name = "customer_id"
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][:5].tolist()
        raise DataError(f"{path}: customer_id repeated (e.g. {dup}); one row per customer needed")
    return frame


def _announce_if_large(path: str, command: str, threshold_mb: float = 100.0) -> None:
    """Tell the user a big file is being read (a 10 M-row log takes tens of seconds)."""
    try:
        size_mb = Path(path).stat().st_size / 1e6
    except OSError:
        return  # read_transactions reports missing files properly
    if size_mb >= threshold_mb:
        print(f"crmresearch {command}: reading {path} ({size_mb:,.0f} MB) ...", file=sys.stderr)


# --------------------------------------------------------------------------- outputs
def check_output(path: str | Path) -> None:
    """Fail now, naming ``path``, when the output cannot be written there (read-only folder, a
    folder in the way, ...), rather than after minutes of computing."""
    import errno
    import os
    import tempfile

    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "a folder of that name is in the way", str(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(exc.errno, exc.strerror or str(exc), str(target)) from None


class OutputError(OSError):
    """An output file could not be written; ``filename`` is the file the user asked for."""


@contextlib.contextmanager
def writing(path: str | Path):
    """Name ``path`` in any OS error raised while writing it (disk full, permission, ...):
    pyarrow and the atomic writers report a temporary name or none."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or " ".join(str(exc).split())
        raise OutputError(exc.errno, reason, str(path)) from exc


# --------------------------------------------------------------------------- engines
def add_engine_options(parser: argparse.ArgumentParser, *, table: bool = False) -> None:
    """``--engine duckdb|spark`` and ``--spark-master`` (and ``--table`` where a command can read
    a warehouse table instead of a file)."""
    parser.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="aggregation engine: embedded DuckDB, or Spark for logs that live in a cluster "
        "(needs `pip install 'crmresearch[spark]'` and Java 17+)",
    )
    parser.add_argument(
        "--spark-master",
        metavar="URL",
        default=None,
        help="Spark master with --engine spark: local[2], spark://host:7077, yarn "
        "(default: local[2])",
    )
    if table:
        parser.add_argument(
            "--table",
            metavar="DB.TABLE",
            default=None,
            help="with --engine spark: read this Spark/Hive table instead of a file",
        )


SPARK_INSTALL = "pip install 'crmresearch[spark]' (PySpark; needs Java 17+)"


def engine_session(args: argparse.Namespace):
    """The SparkSession for ``--engine spark`` (None for DuckDB); a clear message when PySpark
    is not installed or this version's features cannot run on Spark."""
    import inspect

    from crmresearch.errors import DataError

    if getattr(args, "engine", "duckdb") != "spark":
        if getattr(args, "spark_master", None) or getattr(args, "table", None):
            raise ValueError("--spark-master and --table need --engine spark")
        return None
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise DataError(f"--engine spark needs PySpark: {SPARK_INSTALL}") from None
    from crmresearch.features import customer_features

    if "engine" not in inspect.signature(customer_features).parameters:
        raise DataError("--engine spark: this version of crmresearch.features has no Spark engine")
    master = args.spark_master or "local[2]"
    print(f"starting Spark ({master}) ...", file=sys.stderr)
    return (
        SparkSession.builder.appName("crmresearch")
        .master(master)
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
