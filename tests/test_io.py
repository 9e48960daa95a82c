"""Output files: atomic, and with the permissions a plain open() would give."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from crmresearch._io import atomic_write, write_frame, write_json, write_text


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield 0o022
    finally:
        os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_written_files_get_0666_minus_umask(tmp_path, umask_022):
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    paths = [
        write_text(tmp_path / "t.txt", "x"),
        write_json(tmp_path / "j.json", {"a": 1}),
        write_frame(tmp_path / "f.csv", frame),
        write_frame(tmp_path / "f.parquet", frame),
    ]
    for path in paths:
        assert _mode(path) == 0o644, path
    # the same as a plain open() under this umask
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert _mode(paths[0]) == _mode(plain)


def test_mode_follows_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        path = write_text(tmp_path / "private.txt", "x")
    finally:
        os.umask(old)
    assert _mode(path) == 0o600


def test_failed_write_leaves_no_file(tmp_path):
    def fail(p):
        p.write_text("half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_write(tmp_path / "out.txt", fail)
    assert list(tmp_path.iterdir()) == []


def test_unsupported_suffix_is_named(tmp_path):
    with pytest.raises(ValueError, match=r"\.xlsx"):
        write_frame(tmp_path / "f.xlsx", pd.DataFrame({"a": [1]}))
