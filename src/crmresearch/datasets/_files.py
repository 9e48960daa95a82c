"""Finding the bundled raw files, in a source checkout and after a (non-editable) install.

The files live once, in the repository's ``data/raw/``. A wheel ships them as data files under
``<prefix>/share/crmresearch/raw/`` (``[tool.setuptools.data-files]`` in ``pyproject.toml``),
where ``<prefix>`` is the scheme's data directory of the environment (``sys.prefix`` for a venv,
the user base for ``pip install --user``). Search order:

1. ``$CRMRESEARCH_DATA_DIR/raw/<file>`` or ``$CRMRESEARCH_DATA_DIR/<file>`` when the variable is
   set (and nothing else: an explicit folder that lacks the file is an error, not a fallback);
2. ``data/raw/<file>`` above the package (a source checkout or editable install);
3. ``share/crmresearch/raw/<file>`` under every installation scheme's data directory.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

from crmresearch.errors import DataError

DATA_DIR_ENV = "CRMRESEARCH_DATA_DIR"
RAW = Path("raw")
SHARE = Path("share") / "crmresearch" / "raw"


def installed_data_dirs() -> list[Path]:
    """``<data>/share/crmresearch/raw`` for the running environment's installation schemes."""
    roots: list[Path] = []
    schemes = [sysconfig.get_default_scheme()]
    user = f"{os.name}_user" if os.name != "nt" else "nt_user"
    if user in sysconfig.get_scheme_names():
        schemes.append(user)
    for scheme in schemes:
        try:
            roots.append(Path(sysconfig.get_path("data", scheme)))
        except KeyError:  # pragma: no cover - scheme without a data path
            continue
    roots += [Path(sys.prefix), Path(sys.base_prefix)]
    out: list[Path] = []
    for root in roots:
        if root / SHARE not in out:
            out.append(root / SHARE)
    return out


def candidates(filename: str, *, package_dir: Path | None = None, data_dirs=None) -> list[Path]:
    """Every place :func:`raw_path` looks for ``filename``, in order (``package_dir`` and
    ``data_dirs`` default to this package's folder and :func:`installed_data_dirs`)."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return [Path(env) / RAW / filename, Path(env) / filename]
    if package_dir is None:
        package_dir = Path(__file__).resolve().parent  # .../crmresearch/datasets
    tree = [parent / "data" / RAW / filename for parent in Path(package_dir).parents[:4]]
    dirs = installed_data_dirs() if data_dirs is None else [Path(d) for d in data_dirs]
    return tree + [d / filename for d in dirs]


#: Every bundled raw file and its SHA-256 (pyproject.toml's data-files must list them all).
BUNDLED = {
    "cdnow_master.txt": "eff6889ed364c5199d6eacbbeb7a6d559971df4406ac876f322c373f00a072ef",
    "cdnow_sample.txt": "6fae10155c0b0ba363c2c386e30f77990d22328220efd862a5edd1443420d94a",
    "hillstrom.csv.zip": "295d868d600270624f32a70e548489e13b1266d987e5e76a27c3a6665e512dd1",
}


def raw_path(filename: str, *, what: str, loader: str, **where) -> Path:
    """The path of a bundled raw file; :class:`DataError` listing the places tried otherwise."""
    if not os.environ.get(DATA_DIR_ENV) and "data_dirs" not in where:
        # the source tree first, without asking sysconfig (the common case stays cheap)
        for candidate in candidates(filename, data_dirs=[], **where):
            if candidate.is_file():
                return candidate
    tried = candidates(filename, **where)
    for candidate in tried:
        if candidate.is_file():
            return candidate
    where = "; ".join(str(p) for p in tried)
    raise DataError(
        f"bundled {what} file {filename} not found (looked in: {where}). Fix: install the "
        f"package (pip install .) or run from a source checkout that has data/raw/{filename}, "
        f"set {DATA_DIR_ENV} to the folder holding raw/{filename}, or call {loader}(path=...)."
    )
