"""`make lab` works as root (issue 12): --allow-root is added for root, LAB_ARGS passes options."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")


def _dry_run(*args: str) -> str:
    # -n prints the commands; STAMP counts as made (-o) so nothing is installed
    # a clean environment: under `make test` MAKEFLAGS/MAKELEVEL would make this a sub-make
    # that prints "Entering/Leaving directory" lines
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    out = subprocess.run(
        ["make", "-n", "-s", "--no-print-directory", "-o", ".venv/.installed", "lab", *args],
        cwd=ROOT, capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1]


def test_lab_adds_allow_root_only_for_root():
    line = _dry_run()
    assert line.startswith(".venv/bin/jupyter lab") and line.endswith("notebooks")
    assert ("--allow-root" in line) == (os.geteuid() == 0)


def test_lab_args_replace_the_default():
    line = _dry_run("LAB_ARGS=--no-browser --port 8899")
    assert "--no-browser --port 8899" in line and "--allow-root" not in line


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="the root case needs root")
def test_jupyter_lab_starts_as_root_with_the_makefile_options(tmp_path):
    """The options the Makefile passes really start JupyterLab as root (then it is stopped)."""
    args = _dry_run("LAB_ARGS=--allow-root --no-browser --port 0").split()[2:-1]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path), "JUPYTER_CONFIG_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", *args, "--ServerApp.token=", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        seen, deadline = "", time.monotonic() + 60
        while time.monotonic() < deadline and "is running at" not in seen:
            line = proc.stdout.readline()
            if not line:
                break
            seen += line
        assert "is running at" in seen, seen[-2000:]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
