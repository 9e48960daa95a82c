"""Command-line interface: ``crmresearch <command> ...``.

Each command lives in its own module in this package and exposes ``register(subparsers)``,
which adds its parser and sets ``func``. ``main`` turns any error into one readable line on stderr
and exit code 2 (a traceback only with ``--debug``), and Python warnings raised while a command
runs into one ``note:`` line (printed as Python prints them with ``--debug``).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import warnings

from crmresearch import __version__
from crmresearch.errors import DataError

# Order of appearance in `crmresearch --help`; a module missing here is simply not offered.
COMMAND_MODULES = (
    "validate",
    "features",
    "index",
    "score",
    "tiers",
    "loss",
    "effects",
    "report",
)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crmresearch",
        description="Customer classification research for CRM: validate transaction logs, build "
        "customer indicators and a factor-analytic classification index, tier customers, find "
        "potential core-customer loss, measure strategy effects, and render reports.",
    )
    parser.add_argument("--version", action="version", version=f"crmresearch {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when something fails"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"crmresearch.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"crmresearch.cli.{name}":
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    if args.debug:  # tracebacks and warnings as Python prints them
        result = args.func(args)
        return EXIT_OK if result is None else int(result)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            result = args.func(args)
        except KeyboardInterrupt:
            print("crmresearch: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:
            # `crmresearch validate cdnow | head`: the reader left; stop quietly like other tools.
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_OK
        except Exception as exc:  # one line, whatever went wrong; the traceback with --debug
            print(f"crmresearch {args.command}: error: {error_text(exc)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        finally:
            _print_warnings(args.command, caught)
    return EXIT_OK if result is None else int(result)


def error_text(exc: BaseException) -> str:
    """The one line a user reads for ``exc``: our messages as they are; an OS error with the
    path and the reason; a library error translated; anything else named as unexpected."""
    if isinstance(exc, (DataError, ValueError, LookupError)) and not _is_engine_error(exc):
        return _one_line(exc)
    if isinstance(exc, OSError):
        return _os_error_text(exc)
    if _is_engine_error(exc):
        return f"the aggregation engine failed: {_one_line(exc)}"
    return (
        f"unexpected {type(exc).__name__}: {_one_line(exc)} (rerun with --debug for the traceback)"
    )


def _is_engine_error(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0].lstrip("_") in ("duckdb", "pyspark", "py4j")


def _os_error_text(exc: OSError) -> str:
    import errno

    from crmresearch.cli._args import OutputError

    if isinstance(exc, OutputError):
        return f"cannot write {exc.filename}: {exc.strerror}"
    if exc.filename is None or exc.strerror is None:
        return _one_line(exc)
    # Atomic writers write `.NAME.<random>.tmp` next to NAME: name the file the user asked for.
    name = str(exc.filename)
    match = re.match(r"^(.*/)?\.(.+)\.[^./]+\.tmp$", name)
    target = f"{match.group(1) or ''}{match.group(2)}" if match else name
    verb = "cannot write" if exc.errno in (errno.EACCES, errno.EROFS, errno.ENOSPC, errno.EDQUOT,
                                           errno.EPERM) else "cannot use"  # fmt: skip
    if isinstance(exc, FileNotFoundError):
        verb = "not found:"
        return f"{verb} {target}"
    return f"{verb} {target}: {exc.strerror}"


def _print_warnings(command: str, caught) -> None:
    """Python warnings raised while a command ran, as one readable line on stderr."""
    texts = list(dict.fromkeys(" ".join(str(w.message).split()) for w in caught))
    if not texts:
        return
    shown = "; ".join(t if len(t) <= 160 else t[:157] + "..." for t in texts[:3])
    more = f" (+{len(texts) - 3} more)" if len(texts) > 3 else ""
    print(f"crmresearch {command}: note: {len(texts)} warning(s): {shown}{more}", file=sys.stderr)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
