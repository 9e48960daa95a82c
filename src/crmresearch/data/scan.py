"""A bounded-memory pass over a text file before it is parsed: line length and NUL bytes.

A pathological file (one 16 MB line, a binary dump renamed ``.csv``, old Mac line ends) must fail
fast with a clear message instead of making a CSV parser allocate gigabytes. The file is read in
8 MB chunks; line breaks (``\\n`` or ``\\r``) and NUL bytes are found with NumPy, so the pass costs
a few milliseconds per megabyte and never holds more than one chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crmresearch.errors import DataError

#: Default longest accepted line (bytes). A transaction line of a CRM export is < 1 KB.
MAX_LINE_BYTES = 1024 * 1024
_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ScanResult:
    has_nul: bool
    longest_line: int


def scan_text(
    path: Path, name: str, *, max_line_bytes: int = MAX_LINE_BYTES, opener=None, utf16=False
) -> ScanResult:
    """Check every line is at most ``max_line_bytes`` long; report whether NUL bytes occur.

    Raises
    ------
    DataError
        A line is longer than ``max_line_bytes``; the message gives the line number and length
        but never the line's content.
    """
    if max_line_bytes is None or max_line_bytes <= 0:
        raise DataError(
            f"{name}: max_line_bytes must be a positive integer, got {max_line_bytes!r}."
        )
    has_nul = False
    longest = 0
    run = 0  # bytes since the last line break, carried across chunks
    lines = 0
    with (opener or open)(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            a = np.frombuffer(chunk, dtype=np.uint8)
            if not utf16 and not has_nul:
                has_nul = chunk.find(b"\x00") >= 0  # memchr: cheaper than a NumPy pass
            breaks = np.flatnonzero((a == 10) | (a == 13))
            if len(breaks) == 0:
                run += len(a)
                if run > max_line_bytes:
                    _too_long(name, lines + 1, run, max_line_bytes, at_least=True)
                continue
            first = run + int(breaks[0])
            gaps = np.diff(breaks) - 1
            worst = max(first, int(gaps.max()) if len(gaps) else 0)
            if worst > max_line_bytes:
                if first > max_line_bytes:
                    where = 0
                else:
                    where = int(np.argmax(gaps > max_line_bytes)) + 1
                before = int(np.count_nonzero(a[breaks[:where]] == 10))
                _too_long(name, lines + before + 1, worst, max_line_bytes, at_least=False)
            longest = max(longest, worst)
            lines += int(np.count_nonzero(a[breaks] == 10))
            run = len(a) - int(breaks[-1]) - 1
    if run > max_line_bytes:
        _too_long(name, lines + 1, run, max_line_bytes, at_least=False)
    return ScanResult(has_nul=has_nul, longest_line=max(longest, run))


def _too_long(name: str, line: int, length: int, limit: int, *, at_least: bool) -> None:
    size = f"{'at least ' if at_least else ''}{length:,} bytes"
    raise DataError(
        f"{name}: line {line:,} is {size} long, more than max_line_bytes={limit:,}; this is "
        "not a delimited table of transactions (a binary or minified file, or line ends the "
        "reader does not see). Fix: export the table again as CSV with one row per line, or "
        "pass a larger max_line_bytes if such long lines are intended."
    )
