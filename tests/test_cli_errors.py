"""Issue 13 on the command line: every error is one line on stderr with exit 2 (a traceback only
with --debug), warnings become one readable line, unwritable outputs and full disks name the path,
and `features --direct` turns DuckDB errors into a DataError naming the file and the column."""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from crmresearch.cli import main
from crmresearch.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
RAW_WARNING = re.compile(r"\.py:\d+: \w*Warning")  # how Python prints a warning


def run_cli(*argv, prefix=(), cwd=None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    return subprocess.run(
        [*prefix, sys.executable, "-m", "crmresearch.cli", *map(str, argv)],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=600,
    )  # fmt: skip


def one_error_line(capsys, code) -> str:
    """The one error line on stderr (progress lines such as "reading ..." may precede it)."""
    assert code == 2
    err = capsys.readouterr().err.strip()
    errors = [line for line in err.splitlines() if ": error: " in line]
    assert len(errors) == 1 and err.splitlines()[-1] == errors[0], err
    assert "Traceback" not in err
    return errors[0]


# ---------------------------------------------------------------------------- one line, --debug


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(tmp_path):
    missing = tmp_path / "no-such-log.csv"
    argv = ["features", missing, "--end", "2024-06-30", "--out", tmp_path / "f.parquet"]
    quiet = run_cli(*argv)
    assert quiet.returncode == 2
    assert quiet.stderr.strip().splitlines()[-1].startswith("crmresearch features: error:")
    assert "Traceback" not in quiet.stderr and "no-such-log.csv" in quiet.stderr
    loud = run_cli("--debug", *argv)
    assert loud.returncode != 0 and "Traceback (most recent call last)" in loud.stderr


def test_a_bug_is_still_one_line(monkeypatch, capsys, tmp_path):
    from crmresearch.cli import tiers

    def broken(args):
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(tiers, "run", broken)
    err = one_error_line(capsys, main(["tiers", "x.parquet", "--scheme", "abc",
                                       "--out", str(tmp_path / "t.csv")]))  # fmt: skip
    assert err == (
        "crmresearch tiers: error: unexpected RuntimeError: something broke "
        "(rerun with --debug for the traceback)"
    )
    with pytest.raises(RuntimeError):
        main(["--debug", "tiers", "x.parquet", "--scheme", "abc", "--out", str(tmp_path / "t.csv")])


# ---------------------------------------------------------------------------- warnings


def test_loss_prints_no_raw_python_warnings(tmp_path):
    done = run_cli("loss", "synthetic", "--n-customers", "800", "--out", tmp_path / "l.json")
    assert done.returncode == 0, done.stderr
    assert not RAW_WARNING.search(done.stderr + done.stdout), done.stderr


def test_warnings_become_one_readable_line(monkeypatch, capsys, tmp_path):
    import warnings

    from crmresearch import loss

    real = loss.potential_core_loss

    def noisy(*args, **kwargs):
        warnings.warn("divide by zero encountered in log", RuntimeWarning, stacklevel=1)
        warnings.warn("divide by zero encountered in log", RuntimeWarning, stacklevel=1)
        warnings.warn(
            "Maximum Likelihood optimization failed to converge", UserWarning, stacklevel=1
        )
        return real(*args, **kwargs)

    monkeypatch.setattr(loss, "potential_core_loss", noisy)
    assert (
        main(["loss", "synthetic", "--n-customers", "800", "--out", str(tmp_path / "l.json")]) == 0
    )
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if "warning(s)" in line]
    assert notes == [
        "crmresearch loss: note: 2 warning(s): divide by zero encountered in log; "
        "Maximum Likelihood optimization failed to converge"
    ]
    assert not RAW_WARNING.search(err)


# ---------------------------------------------------------------------------- outputs


def _read_only_prefix() -> tuple[str, ...]:
    """Root writes into a read-only folder anyway: run the CLI without that capability."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only folder cannot be simulated")
    caps = "-dac_override,-dac_read_search"
    return (setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}")


def test_read_only_output_folder_is_named_before_any_work(tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="crm-readonly-"))
    try:
        folder.chmod(0o555)
        out = folder / "loss.json"
        done = run_cli("loss", "synthetic", "--n-customers", "300", "--out", out,
                       prefix=_read_only_prefix())  # fmt: skip
        assert done.returncode == 2, done.stderr
        last = done.stderr.strip().splitlines()[-1]
        assert last == f"crmresearch loss: error: cannot write {out}: Permission denied"
        assert "reading synthetic" not in done.stderr  # checked before the data were read
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


@pytest.mark.parametrize(
    "error",
    [OSError(errno.ENOSPC, "No space left on device"),
     OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")],
    ids=["errno", "arrow-style"],
)  # fmt: skip
def test_disk_full_names_the_output_path(monkeypatch, capsys, tmp_path, error):
    def full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"PAR1")  # a partial file: it must not survive
        raise error

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    out = tmp_path / "features.parquet"
    err = one_error_line(capsys, main(["features", "cdnow", "--end", "1997-09-30", "--out",
                                       str(out)]))  # fmt: skip
    assert err.startswith(f"crmresearch features: error: cannot write {out}: ")
    assert "No space left on device" in err
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))


def test_an_output_under_a_file_names_the_path(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = blocker / "loss.json"
    err = one_error_line(capsys, main(["loss", "synthetic", "--n-customers", "300", "--out",
                                       str(out)]))  # fmt: skip
    assert str(blocker) in err and err.startswith("crmresearch loss: error: cannot ")


# ---------------------------------------------------------------------------- --direct


@pytest.fixture
def private_tempdir(monkeypatch, tmp_path):
    """The DuckDB engine's temporary folders go here, where the test can count them."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize(
    "text, column",
    [
        ("customer_id,date,amount\na,2024-01-02,12.50\nb,2024-01-03,twelve\n", "amount"),
        ("customer_id,date,amount\na,2024-01-02,1\nb,not a date,2\n", "date"),
    ],
)
def test_direct_errors_are_data_errors_naming_file_and_column(
    capsys, tmp_path, private_tempdir, text, column
):
    log = tmp_path / "log.csv"
    log.write_text(text)
    code = main(["features", str(log), "--direct", "--end", "2024-06-30",
                 "--out", str(tmp_path / "f.parquet")])  # fmt: skip
    err = one_error_line(capsys, code)
    assert err.startswith(f"crmresearch features: error: {log}: column {column!r}")
    assert "drop --direct" in err and "SELECT" not in err and "unexpected" not in err
    assert not list(private_tempdir.glob("crmresearch-duckdb-*"))


def test_direct_error_translation():
    from crmresearch.cli.features import _direct_error

    class BinderException(Exception):
        pass

    exc = BinderException('Binder Error: Referenced column "amount" not found in FROM clause!')
    err = _direct_error(exc, "big.parquet")
    assert isinstance(err, DataError)
    assert str(err).startswith("big.parquet: column 'amount' not found")


def test_unreadable_direct_file_leaves_no_temp_folder(capsys, tmp_path, private_tempdir):
    """DuckDB fails while the view is being created (inside the engine's constructor): the
    engine's temporary folder is removed all the same."""
    log = tmp_path / "log.parquet"
    log.write_text("not a parquet file")
    code = main(["features", str(log), "--direct", "--end", "2024-06-30",
                 "--out", str(tmp_path / "f.parquet")])  # fmt: skip
    err = one_error_line(capsys, code)
    assert err.startswith(f"crmresearch features: error: {log}: cannot be read directly")
    assert not list(private_tempdir.glob("crmresearch-duckdb-*"))
