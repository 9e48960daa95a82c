"""Atomic output: every file the package writes goes through here.

A reader never sees a half-written file: we write to a temporary file in the same folder and
``os.replace`` it into place (atomic on POSIX within one file system).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(
    path: str | os.PathLike, write: Callable[[Path], Any], *, private: bool = False
) -> Path:
    """Call ``write(tmp_path)`` then move ``tmp_path`` onto ``path``; clean up on failure.

    The file gets mode ``0666 & ~umask`` (as with ``open(path, "w")``), not mkstemp's 0600;
    ``private=True`` keeps it owner-only (0600: real customer ids, keys).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        # mkstemp makes the file owner-only (0600); an output file is for sharing, so give it
        # the permissions a plain open() would: 0666 minus the umask.
        tmp_path.chmod(0o600 if private else 0o666 & ~_current_umask())
        os.replace(tmp_path, target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return target


def _current_umask() -> int:
    # os.umask can only be read by setting it; set it straight back.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return write_text(
        path, json.dumps(obj, indent=2, ensure_ascii=False, default=_json_default) + "\n"
    )


#: Rows of an Excel sheet, the header's included.
EXCEL_ROWS = 1_048_576


def write_frame(
    path: str | os.PathLike, frame, *, index: bool = True, for_excel: bool = False,
    sheet: str = "data",
) -> Path:
    """Write a DataFrame as .parquet or .csv (by suffix), atomically.

    ``for_excel=True`` (a file a manager opens in Excel): CSV as UTF-8 with a byte-order mark
    (without it Excel shows 合计 and 客户编号 garbled), and .xlsx too (one sheet, control
    characters such as a NUL byte shown as U+FFFD: a sheet cannot store them), named ``sheet``."""
    suffix = Path(path).suffix.lower()
    if suffix == ".parquet":
        return atomic_write(path, lambda p: frame.to_parquet(p, index=index))
    if suffix == ".csv":
        encoding = "utf-8-sig" if for_excel else "utf-8"
        return atomic_write(path, lambda p: frame.to_csv(p, index=index, encoding=encoding))
    if suffix == ".xlsx" and for_excel:
        return atomic_write(path, lambda p: _write_sheet(p, frame, index, sheet))
    allowed = ".parquet, .csv or .xlsx" if for_excel else ".parquet or .csv"
    raise ValueError(f"output file {path}: unsupported suffix {suffix!r}; use {allowed}")


def _write_sheet(path: Path, frame, index: bool, sheet: str) -> None:
    import pandas as pd
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if len(frame) >= EXCEL_ROWS:
        raise ValueError(
            f"{path.name}: {len(frame):,} rows do not fit an Excel sheet ({EXCEL_ROWS - 1:,} rows "
            "at most). Fix: write .csv or .parquet"
        )
    frame = frame.copy()
    for col in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[col].dtype):
            frame[col] = frame[col].map(
                lambda x: ILLEGAL_CHARACTERS_RE.sub("\ufffd", x) if isinstance(x, str) else x
            )
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        frame.to_excel(xw, sheet_name=sheet, index=index)


def _json_default(obj: Any):
    import numpy as np
    import pandas as pd

    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (pd.Timestamp,)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")
