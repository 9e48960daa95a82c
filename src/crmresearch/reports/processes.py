"""Report runs that end cleanly: workers die with their parent, one run per output folder.

- :func:`die_with_parent` (Linux ``prctl(PR_SET_PDEATHSIG)`` through ctypes) is called in every
  report worker and, through the kernel manager, in every notebook kernel: when the process that
  started them dies — even by SIGKILL — they get SIGTERM and end, so no orphan goes on writing.
- :func:`terminate_on_signals` turns SIGTERM / SIGHUP into ``SystemExit`` in the process that
  runs reports, so ``finally`` blocks remove temporary folders and stop workers and kernels.
- :func:`out_lock` holds one ``fcntl.flock`` lock on the output folder for a whole run; a second
  run into the same folder waits for the first (and says so), then cleans what a killed earlier
  run left behind (:func:`remove_stale`).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "die_with_parent",
    "kernel_preexec",
    "terminate_on_signals",
    "out_lock",
    "remove_stale",
    "temporary_folder",
    "run_many",
]

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(errno)}")


def kernel_preexec(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn`` for a child process: die with ``parent_pid``; if the parent is already
    gone (it died between fork and prctl), end at once."""

    def _preexec() -> None:
        die_with_parent(signal.SIGTERM)
        if os.getppid() != parent_pid:
            os._exit(1)

    return _preexec


#: Temporary report folders of this process that are being written (removed on SIGTERM).
_ACTIVE: set[Path] = set()


@contextlib.contextmanager
def temporary_folder(path: Path) -> Iterator[Path]:
    """Register ``path`` as this process's work in progress: removed if the block fails or the
    process is told to stop (the signal handlers below), kept only if the block moved it."""
    _ACTIVE.add(path)
    try:
        yield path
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    finally:
        _ACTIVE.discard(path)


def _remove_active() -> None:
    for path in list(_ACTIVE):
        shutil.rmtree(path, ignore_errors=True)
        _ACTIVE.discard(path)


def _raise_exit(signum, frame):
    # Remove our temporary folders now: unwinding through papermill/nbclient may be slow.
    _remove_active()
    raise SystemExit(128 + signum)


def _worker_exit(signum, frame):
    """A report worker told to stop: remove its temporary folders and end at once (its kernel
    ends with it, by the parent-death signal)."""
    _remove_active()
    os._exit(128 + signum)


@contextlib.contextmanager
def terminate_on_signals(signals: Sequence[int] = (signal.SIGTERM, signal.SIGHUP)) -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise ``SystemExit`` (main thread only)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise_exit) for s in signals}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def remove_stale(out_root: Path, names: Sequence[str]) -> list[Path]:
    """Remove ``.NAME.tmp-*`` and ``.NAME.old-*`` folders (left by killed runs) in ``out_root``.

    Called under :func:`out_lock`, when no other run can be writing into ``out_root``.
    """
    removed = []
    for name in names:
        for pattern in (f".{name}.tmp-*", f".{name}.old-*"):
            for path in out_root.glob(pattern):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


@contextlib.contextmanager
def out_lock(out_root: Path, *, notice: Callable[[str], Any] | None = None) -> Iterator[None]:
    """Hold the lock of output folder ``out_root`` (created if needed) for the block.

    A second run waits until the first has finished; ``notice`` (default: print to stderr) is
    told once that it waits.
    """
    out_root.mkdir(parents=True, exist_ok=True)
    # The lock is on the folder itself (flock works on a directory's descriptor): no lock file
    # is left behind, and there is no lock file whose removal could race with a waiting run.
    fd = os.open(out_root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say = notice or (lambda text: print(text, file=sys.stderr, flush=True))
            say(f"another report run is writing to {out_root.name}/; waiting for it to finish ...")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _worker_init() -> None:
    """Report worker set-up: die with the parent; SIGTERM raises SystemExit (cleanup runs)."""
    die_with_parent(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _worker_exit)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us


def _stop_children() -> None:
    import multiprocessing

    children = multiprocessing.active_children()
    for child in children:
        child.terminate()
    deadline = time.monotonic() + 10
    for child in children:
        child.join(max(0.0, deadline - time.monotonic()))
        if child.is_alive():
            child.kill()


def run_many(
    task: Callable[..., Any],
    calls: Sequence[dict[str, Any]],
    *,
    jobs: int,
    on_result: Callable[[Any], Any],
) -> None:
    """Call ``task(**kwargs)`` for every ``kwargs`` in ``calls``, ``jobs`` at a time in spawned
    worker processes (in this process when ``jobs`` is 1); ``on_result`` gets each result in the
    order of ``calls``.

    If this process is told to stop (SIGTERM, SIGHUP, Ctrl-C) or a call raises, the workers are
    terminated (and their kernels with them) before the exception propagates.
    """
    with terminate_on_signals():
        if jobs <= 1:
            for kwargs in calls:
                on_result(task(**kwargs))
            return
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init)
        try:
            futures = [pool.submit(task, **kwargs) for kwargs in calls]
            for future in futures:
                on_result(future.result())
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            _stop_children()
            raise
        pool.shutdown(wait=True)
