"""Shared test fixtures. Module-specific fixtures live in their own test files."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"
CDNOW_PATH = DATA_DIR / "raw" / "cdnow_master.txt"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def cdnow_path() -> Path:
    return CDNOW_PATH
