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
