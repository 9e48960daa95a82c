"""Command-line interface: ``crmresearch <command> ...``.

Each command lives in its own module in this package and exposes ``register(subparsers)``,
which adds its parser and sets ``func``. ``main`` turns a ``DataError``/``ValueError``/``OSError``
into one readable line on stderr and exit code 2 (a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import importlib
import sys

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
    try:
        result = args.func(args)
    except KeyboardInterrupt:
        print("crmresearch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `crmresearch validate cdnow | head`: the reader left; stop quietly like other Unix tools.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (DataError, ValueError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        if args.debug:
            raise
        print(f"crmresearch {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # anything unexpected: still one line unless --debug
        if args.debug:
            raise
        print(
            f"crmresearch {args.command}: unexpected {type(exc).__name__}: {_one_line(exc)} "
            "(rerun with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return EXIT_OK if result is None else int(result)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
