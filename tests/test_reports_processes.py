"""Issue 13 item 7: killed and concurrent report runs.

A `report all` stopped by SIGTERM or SIGKILL leaves no worker or kernel running; what a killed
run left in --out is removed by the next run; two runs into one folder never collide.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from crmresearch import reports

pytestmark = pytest.mark.slow

SRC = Path(__file__).resolve().parents[1] / "src"


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def _tiny(path: Path, seconds: float = 0.0) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py"}
    nb.cells = [
        new_code_cell('title = "Tiny"\n', metadata={"tags": ["parameters"]}),
        new_code_cell(
            f"import time\ntime.sleep({seconds})\nfrom crmresearch.reports import display as D\n"
            "D.record('metrics', {'title': title})"
        ),
    ]
    nbformat.write(nb, path)
    return path


def _cmdline(p: psutil.Process) -> str:
    # A short-lived helper can exit (or sit as a zombie until reaped) between listing and reading.
    try:
        return " ".join(p.cmdline())
    except psutil.Error:  # NoSuchProcess (ZombieProcess is one), AccessDenied
        return ""


def _alive(procs) -> list:
    alive = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive.append(p)
        except psutil.NoSuchProcess:
            pass
    return alive


def _start_report_all(out: Path) -> tuple[subprocess.Popen, list]:
    cmd = [sys.executable, "-m", "crmresearch.cli", "report", "all", "-p", "data=synthetic",
           "-p", "n_customers=300", "--format", "html", "--no-progress", "--jobs", "2",
           "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        kids = parent.children(recursive=True)
        kernels = [k for k in kids if "ipykernel_launcher" in _cmdline(k)]
        if len(kernels) >= 2:
            return proc, kids
        if proc.poll() is not None:
            pytest.fail(f"report all ended before its kernels started: {proc.stderr.read()}")
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the kernels of report all did not start within 120 s")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_report_all_leaves_no_process_and_next_run_cleans(tmp_path, sig):
    out = tmp_path / "out"
    proc, descendants = _start_report_all(out)
    assert len(descendants) >= 4  # two workers, two kernels (and their helpers)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    gone, alive = psutil.wait_procs(descendants, timeout=20)
    assert _alive(alive) == [], [_cmdline(p) for p in _alive(alive)]
    if sig == signal.SIGTERM:  # the run cleaned up after itself
        assert not list(out.glob(".*.tmp-*"))
    # the next run into the same folder removes whatever a killed run left behind
    (out / ".segment_value.tmp-stale").mkdir(parents=True, exist_ok=True)
    (out / ".segment_value.old-1-2").mkdir(exist_ok=True)
    reports.run("segment_value", {}, out, formats=(), notebook=_tiny(tmp_path / "t.ipynb"),
                progress=False)  # fmt: skip
    assert not list(out.glob(".segment_value.*"))


def test_concurrent_runs_into_one_folder(tmp_path):
    nb = _tiny(tmp_path / "tiny.ipynb", seconds=1.0)
    out = tmp_path / "out"
    code = (
        "import sys; from crmresearch import reports\n"
        f"for i in range(2):\n    reports.run('tiny', {{'title': sys.argv[1]}}, {str(out)!r}, "
        f"formats=('html',), notebook={str(nb)!r}, progress=False)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, f"run{i}"], env=_env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        for i in range(3)
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for rc, err in results:
        assert rc == 0, err
        assert "Directory not empty" not in err
    assert any("waiting for it to finish" in err for _rc, err in results)
    assert sorted(p.name for p in out.iterdir()) == ["tiny"]
    assert sorted(p.name for p in (out / "tiny").iterdir()) == [
        "manifest.json", "metrics.json", "tiny.html", "tiny.ipynb",
    ]  # fmt: skip
