"""Progress of long aggregations, on stderr only (never on stdout, which callers capture).

``CRMRESEARCH_PROGRESS``: ``auto`` (default; logs of at least a million rows), ``1`` (always),
``0`` (never). ``CRMRESEARCH_PROGRESS_INTERVAL``: seconds between lines (default 5).
A background thread polls the engine (DuckDB ``query_progress()``, Spark's status tracker)
while the query runs; nothing is printed for queries shorter than one interval.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["report"]

AUTO_MIN_ROWS = 1_000_000


def _enabled(n_rows: int) -> bool:
    mode = os.environ.get("CRMRESEARCH_PROGRESS", "auto").strip().lower()
    if mode in ("0", "off", "false", "no"):
        return False
    if mode in ("1", "on", "true", "yes"):
        return True
    return n_rows >= AUTO_MIN_ROWS


def _interval() -> float:
    try:
        return max(0.05, float(os.environ.get("CRMRESEARCH_PROGRESS_INTERVAL", "5")))
    except ValueError:
        return 5.0


@contextmanager
def report(src: Any, label: str, n_rows: int) -> Iterator[None]:
    """While the block runs, write ``crmresearch: <label>: <engine progress>, <s> s`` lines."""
    if not _enabled(n_rows):
        yield
        return
    poll = getattr(src, "progress", None)
    stop = threading.Event()
    started = time.monotonic()
    printed = []

    def run() -> None:
        while not stop.wait(_interval()):
            state = poll() if poll else None
            elapsed = time.monotonic() - started
            sys.stderr.write(f"crmresearch: {label}: {state or 'running'}, {elapsed:.0f} s\n")
            sys.stderr.flush()
            printed.append(1)

    thread = threading.Thread(target=run, name="crmresearch-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        if printed:
            elapsed = time.monotonic() - started
            sys.stderr.write(f"crmresearch: {label}: done in {elapsed:.1f} s\n")
            sys.stderr.flush()
