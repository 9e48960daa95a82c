"""A bounded-memory pass over a text file before it is parsed: line length and NUL bytes.

A pathological file (one 16 MB line, a binary dump renamed ``.csv``, old Mac line ends) must fail
fast with a clear message instead of making a CSV parser allocate gigabytes. The file is read in
8 MB chunks and never holds more than one. NUL bytes are found with ``bytes.find`` (memchr);
line lengths are bounded by probing every window of half the limit for a line break (each probe
stops at the first break, so a normal file costs almost nothing); only a chunk where a window has
no break is measured exactly with NumPy, to name the line and its length.
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
    longest_line: int  # -1: not measured (every line is within the limit)


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
    run = 0  # bytes since the last line break, carried across chunks
    offset = 0  # bytes before the current chunk
    half = max(max_line_bytes // 2, 1)
    with (opener or open)(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            if not utf16 and not has_nul:
                has_nul = chunk.find(b"\x00") >= 0  # memchr: a fast C pass
            if run + len(chunk) <= max_line_bytes or _breaks_everywhere(
                chunk, half, run, max_line_bytes
            ):
                # no line can be longer than the limit: only the carried run needs updating
                last = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
                run = run + len(chunk) if last < 0 else len(chunk) - last - 1
                offset += len(chunk)
                continue
            lines = _lines_before(path, offset, opener)  # only on the slow path
            run = _exact(chunk, run, lines, name, max_line_bytes)
            offset += len(chunk)
    if run > max_line_bytes:
        _too_long(
            name, _lines_before(path, offset, opener) + 1, run, max_line_bytes, at_least=False
        )
    return ScanResult(has_nul=has_nul, longest_line=-1)


def _breaks_everywhere(chunk: bytes, half: int, run: int, limit: int) -> bool:
    """True when the line carried in (``run`` bytes) ends within the limit and every window of
    ``half`` bytes holds a line break (then no line of the chunk exceeds ``2 * half <= limit``).
    Each probe stops at the first break, so a normal file costs a few bytes per window."""
    if run:
        first = _first_break(chunk, 0, min(len(chunk), limit - run + 1))
        if first < 0 or run + first > limit:
            return False
    for start in range(0, len(chunk), half):
        if _first_break(chunk, start, min(start + half, len(chunk))) < 0:
            return False
    return True


def _first_break(chunk: bytes, start: int, end: int) -> int:
    i = chunk.find(b"\n", start, end)
    return i if i >= 0 else chunk.find(b"\r", start, end)


def _lines_before(path: Path, offset: int, opener) -> int:
    """Line breaks (``\\n``) in the first ``offset`` bytes (for the error message only)."""
    count = 0
    with (opener or open)(path, "rb") as fh:
        while offset > 0:
            chunk = fh.read(min(_CHUNK, offset))
            if not chunk:
                break
            count += chunk.count(b"\n")
            offset -= len(chunk)
    return count


def _exact(chunk: bytes, run: int, lines: int, name: str, limit: int) -> int:
    """Line lengths of one chunk computed exactly (NumPy); raises at the first over-long line."""
    a = np.frombuffer(chunk, dtype=np.uint8)
    breaks = np.flatnonzero((a == 10) | (a == 13))
    if len(breaks) == 0:
        run += len(a)
        if run > limit:
            _too_long(name, lines + 1, run, limit, at_least=True)
        return run
    first = run + int(breaks[0])
    gaps = np.diff(breaks) - 1
    if first > limit:
        _too_long(name, lines + 1, first, limit, at_least=False)
    if len(gaps) and int(gaps.max()) > limit:
        where = int(np.argmax(gaps > limit)) + 1
        before = int(np.count_nonzero(a[breaks[:where]] == 10))
        _too_long(name, lines + before + 1, int(gaps[where - 1]), limit, at_least=False)
    return len(a) - int(breaks[-1]) - 1


def _too_long(name: str, line: int, length: int, limit: int, *, at_least: bool) -> None:
    size = f"{'at least ' if at_least else ''}{length:,} bytes"
    raise DataError(
        f"{name}: line {line:,} is {size} long, more than max_line_bytes={limit:,}; this is "
        "not a delimited table of transactions (a binary or minified file, or line ends the "
        "reader does not see). Fix: export the table again as CSV with one row per line, or "
        "pass a larger max_line_bytes if such long lines are intended."
    )
