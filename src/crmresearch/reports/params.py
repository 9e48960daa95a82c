"""Report parameters: read them from a notebook's ``parameters`` cell and check values against it.

Every parameter of a report is one ``name = literal`` line of the notebook's cell tagged
``parameters``; its default fixes the type, and a comment ``# one of: a, b`` lists the allowed
values. :func:`validate_params` checks what a user passes *before* any kernel starts, so that a
bad value is one clear ``ValueError`` (exit 2 in the CLI), never a failing cell.
"""

from __future__ import annotations

import ast
import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crmresearch.errors import DataError

__all__ = [
    "BUILTIN_SOURCES",
    "Parameter",
    "notebook_parameters",
    "coerce",
    "validate_params",
]

#: Values of the ``data`` parameter that name a bundled source instead of a file.
BUILTIN_SOURCES = ("cdnow", "synthetic")


@dataclass(frozen=True)
class Parameter:
    """One assignment in a notebook's ``parameters`` cell."""

    name: str
    default: Any
    help: str = ""

    @property
    def choices(self) -> tuple[str, ...] | None:
        """Allowed values named in the cell comment as ``# one of: a, b, c``."""
        marker = "one of:"
        text = self.help.lower()
        if marker not in text:
            return None
        tail = self.help[text.index(marker) + len(marker) :]
        tail = tail.split(";")[0].split("(")[0]
        items = [t.strip().strip("\"'") for t in tail.split(",")]
        return tuple(t for t in items if t)


def notebook_parameters(path: str | os.PathLike) -> dict[str, Parameter]:
    """Parse the ``parameters``-tagged cell of a notebook: name → default (a Python literal).

    Every statement in the cell must be ``name = literal`` (optionally annotated) so that the
    parameters can be checked without running anything.
    """
    import nbformat

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(
            f"notebook {path.name}: expected one cell tagged 'parameters', found {len(cells)}"
        )
    source = cells[0].source
    lines = source.splitlines()
    params: dict[str, Parameter] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            raise ValueError(
                f"notebook {path.name}: parameters cell line {node.lineno} is not `name = value`"
            )
        if not isinstance(target, ast.Name):
            raise ValueError(
                f"notebook {path.name}: parameters cell line {node.lineno}: bad target"
            )
        try:
            default = ast.literal_eval(value)
        except ValueError as exc:
            raise ValueError(
                f"notebook {path.name}: parameter {target.id!r} must have a literal default"
            ) from exc
        # The comment on the first line of the assignment is its help text.
        first = lines[node.lineno - 1]
        help_text = first.split("#", 1)[1].strip() if "#" in first else ""
        params[target.id] = Parameter(target.id, default, help_text)
    return params


def _type_name(value: Any) -> str:
    return type(value).__name__


def coerce(name: str, value: Any, spec: Parameter, notebook: str) -> Any:
    """Check ``value`` against the default's type; return the value to inject."""
    default = spec.default
    # YAML turns 1997-09-30 into a date; the notebooks take ISO strings.
    if isinstance(value, (_dt.date, _dt.datetime)) and (
        isinstance(default, str) or default is None
    ):
        value = value.isoformat()
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(default, str) and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # e.g. -p n_factors=3 for a text parameter "parallel" | "3"
    if default is None or value is None:
        ok = True
    elif isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            value = float(value)
    elif isinstance(default, (list, tuple)):
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ValueError(
            f"report {notebook}: parameter {name!r} must be {_type_name(default)} "
            f"like its default {default!r}, got {_type_name(value)} {value!r}"
        )
    choices = spec.choices
    if choices and value is not None and str(value) not in choices:
        raise ValueError(
            f"report {notebook}: parameter {name!r} = {value!r} is not one of: {', '.join(choices)}"
        )
    return value


def validate_params(
    notebook: str | os.PathLike,
    params: dict[str, Any] | None,
    *,
    base_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Check ``params`` against the notebook's ``parameters`` cell, before any kernel starts.

    Returns the full parameter set (defaults overridden by ``params``) with a relative ``data``
    path made absolute (relative to ``base_dir``, default the current directory).

    Raises
    ------
    ValueError
        unknown parameter name (the message lists the known ones), a value whose type differs
        from the default's (an int is accepted for a float), or a value outside ``# one of:``.
    DataError
        ``data`` is neither ``"cdnow"``/``"synthetic"`` nor an existing file.
    """
    path = Path(notebook)
    spec = notebook_parameters(path)
    label = path.stem
    params = dict(params or {})
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise ValueError(
            f"report {label}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(spec)}"
        )
    merged = {name: p.default for name, p in spec.items()}
    for name, value in params.items():
        merged[name] = coerce(name, value, spec[name], label)
    data = merged.get("data")
    if isinstance(data, str) and data not in BUILTIN_SOURCES:
        data_path = Path(data).expanduser()
        if not data_path.is_absolute():
            data_path = Path(base_dir or os.getcwd()) / data_path
        if not data_path.is_file():
            raise DataError(
                f"report {label}: data file {data} not found (looked at {data_path}); give an "
                f"existing CSV/Parquet path or one of: {', '.join(BUILTIN_SOURCES)}"
            )
        merged["data"] = str(data_path.resolve())
    return merged


_coerce = coerce  # the name used before the split (tests, callers)
