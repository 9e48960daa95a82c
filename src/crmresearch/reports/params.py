"""Report parameters: read them from a notebook's ``parameters`` cell and check values against it.

Every parameter of a report is one ``name = literal`` line of the notebook's cell tagged
``parameters``; its default fixes the type, and a comment ``# one of: a, b`` lists the allowed
values. :func:`validate_params` checks what a user passes *before* any kernel starts, so that a
bad value is one clear ``ValueError`` (exit 2 in the CLI), never a failing cell.
"""

from __future__ import annotations

import ast
import datetime as _dt
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crmresearch.errors import DataError

__all__ = [
    "BUILTIN_SOURCES",
    "Parameter",
    "notebook_parameters",
    "PLAIN_TYPES",
    "check_plain",
    "literal",
    "coerce",
    "parse_value",
    "parse_yaml_params",
    "load_params_file",
    "validate_params",
    "PATH_PARAMETERS",
    "public_parameters",
    "public_notebook_text",
]

#: Values of the ``data`` parameter that name a bundled source instead of a file.
BUILTIN_SOURCES = ("cdnow", "synthetic")
BUILTIN_CAMPAIGNS = ("hillstrom", "none")  # the strategy report's campaign without a file
PATH_PARAMETERS = ("data", "campaign", "customers", "lists_dir", "index_config")  # name only
_KEY_SHOWN = "(key file given; see its fingerprint)"


def public_parameters(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as written for managers: files and folders by their name, never their path;
    the id key file not at all (the report states the key's fingerprint)."""
    out, builtin = dict(params), {"data": BUILTIN_SOURCES, "campaign": BUILTIN_CAMPAIGNS}
    for key, value in [(k, out.get(k)) for k in PATH_PARAMETERS]:
        if isinstance(value, str) and value and value not in builtin.get(key, ()):
            out[key] = Path(value).name
    return {**out, "id_key": _KEY_SHOWN} if out.get("id_key") else out


def public_notebook_text(text: str, params: dict[str, Any]) -> str:
    """The executed notebook's JSON with every path parameter shown as
    :func:`public_parameters` shows it (papermill writes the values into the injected cell
    and the metadata): the notebook travels with the report, the machine's paths do not."""
    shown = public_parameters(params)
    for key in (*PATH_PARAMETERS, "id_key"):
        value, public = params.get(key), str(shown.get(key, ""))
        if not isinstance(value, str) or not value or value == public:
            continue
        # the value as JSON writes it, and inside the injected cell's Python repr
        inner = (value, repr(value)[1:-1])
        forms = {json.dumps(v, ensure_ascii=a)[1:-1] for v in inner for a in (True, False)}
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, json.dumps(public, ensure_ascii=False)[1:-1])
    return text


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
    return "null" if value is None else type(value).__name__


#: The only types a parameter value (or an element of a list/dict value) may have.
PLAIN_TYPES = (str, bool, int, float)

# A number in scientific notation without a dot (1e-9, 2E5): YAML 1.1 reads it as text.
_SCIENTIFIC = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def check_plain(value: Any, where: str) -> None:
    """Refuse anything but str, int, float, bool and lists / str-keyed dicts of those
    (checked recursively); non-finite numbers are refused too.

    This is what keeps a parameter from becoming code: only these types are written into the
    notebook, and they are written as Python literals (:func:`literal`).
    """
    if isinstance(value, bool) or isinstance(value, (str, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value!r} is not a finite number")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} must be text, got {_type_name(key)}")
            check_plain(item, f"{where}[{key!r}]")
        return
    raise ValueError(
        f"{where}: a value of type {_type_name(value)} is not allowed; give text, a number, "
        "true/false, or a list / mapping of those"
    )


def literal(value: Any) -> str:
    """``value`` (already :func:`check_plain`-ed) as Python source, checked to read back as
    exactly ``value`` by :func:`ast.literal_eval` (so it can only ever be data)."""
    check_plain(value, "parameter")
    text = repr(value)
    if ast.literal_eval(text) != value:  # pragma: no cover - repr of plain types round-trips
        raise ValueError(f"parameter value {text[:60]} does not round-trip as a literal")
    return text


def _numeric_text(value: Any) -> Any:
    """``"1e-9"`` → ``1e-09``: numbers in scientific notation are numbers."""
    if isinstance(value, str) and _SCIENTIFIC.match(value.strip()):
        return float(value)
    return value


def _check_list_items(name: str, value: list, default: list, notebook: str) -> list:
    """Elements of a list parameter whose default holds numbers must be numbers too."""
    if not default or not all(
        isinstance(d, (int, float)) and not isinstance(d, bool) for d in default
    ):
        return value
    items = [_numeric_text(v) for v in value]
    bad = [v for v in items if isinstance(v, bool) or not isinstance(v, (int, float))]
    if bad:
        raise ValueError(
            f"report {notebook}: parameter {name!r} must be a list of numbers like its default "
            f"{default!r}, got {bad[0]!r}"
        )
    return [float(v) if isinstance(default[0], float) else v for v in items]


def coerce(name: str, value: Any, spec: Parameter, notebook: str) -> Any:
    """Check ``value`` against the default's type; return the value to inject.

    ``None`` (YAML ``null`` or an empty YAML value) is refused for every parameter whose default
    is not ``None``: leaving a parameter out gives its default, and a null can never switch a
    safeguard off (``-p pseudonymize_ids=null`` is an error, only ``false`` switches it off).
    """
    default = spec.default
    # YAML turns 1997-09-30 into a date; the notebooks take ISO strings.
    if isinstance(value, (_dt.date, _dt.datetime)) and (
        isinstance(default, str) or default is None
    ):
        value = value.isoformat()
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        value = _numeric_text(value)
    if value is not None:
        check_plain(value, f"report {notebook}: parameter {name!r}")
    if isinstance(default, str) and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # e.g. -p n_factors=3 for a text parameter "parallel" | "3"
    if value is None:
        ok = default is None
    elif default is None:
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
        if ok:
            value = _check_list_items(name, value, list(default), notebook)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        hint = " (null is not a value: leave the parameter out for its default)" if value is None else ""
        raise ValueError(
            f"report {notebook}: parameter {name!r} must be {_type_name(default)} "
            f"like its default {default!r}, got {_type_name(value)} {value!r}{hint}"
        )
    choices = spec.choices
    if choices and value is not None and str(value) not in choices:
        raise ValueError(
            f"report {notebook}: parameter {name!r} = {value!r} is not one of: {', '.join(choices)}"
        )
    return value


# ---------------------------------------------------------------------------- YAML input


def _refuse_yaml_features(text: str, where: str) -> None:
    """Refuse YAML tags (``!!binary``, ``!!python/...``, ``!custom``), anchors and aliases:
    parameters are plain data, and aliases can blow a small file up into a huge structure."""
    import yaml

    try:
        for token in yaml.scan(text):
            if isinstance(token, yaml.TagToken):
                raise ValueError(f"{where}: YAML tags such as {token.value[0]}{token.value[1]} are not allowed")
            if isinstance(token, (yaml.AnchorToken, yaml.AliasToken)):
                raise ValueError(f"{where}: YAML anchors and aliases (&name, *name) are not allowed")
    except yaml.YAMLError:
        return  # not YAML at all: the caller decides (a -p value is then taken as text)


def _strict_bool_loader():
    """YAML's safe loader with booleans only from ``true`` / ``false``.

    YAML 1.1 also reads ``yes``, ``no``, ``on``, ``off`` as booleans; a parameter such as
    ``pseudonymize_ids`` must be switched off only by an explicit ``false`` (``no`` stays text and
    is refused for a true/false parameter)."""
    import yaml

    class StrictBoolLoader(yaml.SafeLoader):
        pass

    bool_tag = "tag:yaml.org,2002:bool"
    StrictBoolLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != bool_tag]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    StrictBoolLoader.add_implicit_resolver(
        bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    return StrictBoolLoader


def _load_yaml(text: str) -> Any:
    import yaml

    return yaml.load(text, Loader=_strict_bool_loader())  # noqa: S506 - a SafeLoader subclass


def parse_value(text: str, where: str = "-p") -> Any:
    """One ``-p KEY=VALUE`` value: read as YAML (0.2, true, [a, b], {a: b}, 1e-9), text that is
    not YAML taken as it is; YAML tags, anchors and aliases refused."""
    import yaml

    if text == "":
        return ""
    _refuse_yaml_features(text, where)
    try:
        return _load_yaml(text)
    except yaml.YAMLError:
        return text  # not YAML (e.g. %d.%m.%Y): the text as it is


def parse_yaml_params(text: str, where: str) -> dict:
    """A ``--params`` file's text → mapping (tags, anchors and aliases refused)."""
    import yaml

    _refuse_yaml_features(text, where)
    try:
        loaded = _load_yaml(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{where}: not valid YAML ({exc})") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{where}: expected a mapping of parameter: value")
    return loaded


def load_params_file(path: str | os.PathLike | None) -> dict:
    """Read a ``--params`` YAML file (see :func:`parse_yaml_params`)."""
    if not path:
        return {}
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"--params {path}: file not found")
    return parse_yaml_params(file.read_text(encoding="utf-8"), f"--params {file.name}")


def validate_params(
    notebook: str | os.PathLike,
    params: dict[str, Any] | None,
    *,
    base_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Check ``params`` against the notebook's ``parameters`` cell, before any kernel starts.

    Returns the full parameter set (defaults overridden by ``params``) with a relative ``data``
    path made absolute (relative to ``base_dir``, default the current directory); so is a
    ``campaign`` file, a ``customers`` file and an ``index_config`` YAML file (which must
    exist), and the ``id_key`` file and ``lists_dir`` folder the kernel writes.
    A ``customers`` file is read here as the study reads it (``customer_columns``), so that one
    without a ``customer_id`` column is refused before any kernel starts.

    Raises
    ------
    ValueError
        unknown parameter name (the message lists the known ones), a value whose type differs
        from the default's (an int is accepted for a float), or a value outside ``# one of:``.
    DataError
        ``data`` is neither ``"cdnow"``/``"synthetic"`` nor an existing file; ``campaign`` is
        neither ``"hillstrom"``/``"none"`` nor an existing file; the ``customers`` file cannot
        be read or has no id column.
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
        fix = f"give an existing CSV/Parquet path or one of: {', '.join(BUILTIN_SOURCES)}"
        merged["data"] = _existing_file("data", data, fix, label, base_dir)
    campaign = merged.get("campaign")  # strategy report: a campaign file, resolved like data
    if isinstance(campaign, str) and campaign not in BUILTIN_CAMPAIGNS:
        fix = f"give an existing CSV/Parquet path or one of: {', '.join(BUILTIN_CAMPAIGNS)}"
        merged["campaign"] = _existing_file("campaign", campaign, fix, label, base_dir)
    customers = merged.get("customers")  # customer attribute file ("" = none), resolved like data
    if isinstance(customers, str) and customers:
        fix = 'give an existing CSV/Parquet/XLSX path or "" for none'
        merged["customers"] = _existing_file("customers", customers, fix, label, base_dir)
        _check_customers(merged, label)
    config = merged.get("index_config")  # a built-in name, or a YAML file resolved like data
    if isinstance(config, str) and not re.fullmatch(r"[A-Za-z0-9_\-]+", config):
        fix = "give an existing .yaml file or a built-in index system (ecommerce, retail, bank)"
        merged["index_config"] = _existing_file("index_config", config, fix, label, base_dir)
    for name in ("id_key", "lists_dir"):  # written by the kernel: where the caller means them
        value = merged.get(name)
        if isinstance(value, str) and value:
            merged[name] = _absolute(value, base_dir)
    check_settings(merged, label)
    return merged


def _absolute(value: str, base_dir) -> str:
    """``value`` as an absolute path, relative ones against ``base_dir`` (else the working
    folder): the kernel must not resolve them against its own folder."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = Path(base_dir or os.getcwd()) / path
    return str(path.absolute())


def _check_customers(params: dict[str, Any], label: str) -> None:
    """Read the ``customers`` file as the study will (``customer_columns``, else the log's id
    mapping in ``columns``), so that a missing id column stops the run before any kernel starts."""
    from crmresearch.data import read_customers

    mapping = params.get("customer_columns") or {}
    bad = {k: v for k, v in mapping.items() if not isinstance(v, str) or not v}
    if bad:
        raise ValueError(
            f"report {label}: customer_columns = {bad!r}: map each column name of the customer "
            "file onto a new name (text), e.g. -p 'customer_columns={客户编号: customer_id}'"
        )
    own_data = params.get("data") not in BUILTIN_SOURCES  # the log's columns apply to a file only
    read_customers(
        params["customers"], columns=mapping or None,
        log_columns=(params.get("columns") or {}) if own_data else None,
    )  # fmt: skip


def _existing_file(kind: str, value: str, fix: str, label: str, base_dir) -> str:
    """The absolute path of a file parameter (relative to ``base_dir``, else the working
    folder); a missing file raises naming where it was looked for and ``fix``."""
    path = Path(_absolute(value, base_dir))
    if not path.is_file():
        raise DataError(
            f"report {label}: {kind} file {value} not found (looked at {path}); {fix}"
        )
    return str(path.resolve())


_WINDOW_NAMES = ("calibration_start", "calibration_end", "holdout_start", "holdout_end")


def check_settings(params: dict[str, Any], label: str) -> None:
    """Checks of values that need no data: window dates (ISO, calibration before holdout),
    windows given for one's own data, shares in [0, 1], a known text encoding.

    The window rules are the study's own (:class:`~crmresearch.study.Study` is built on a source
    without data, which checks the given dates and their order and nothing else).
    """
    from crmresearch.study import Source, Study, StudyParams

    data = params.get("data")
    if isinstance(data, str) and data not in BUILTIN_SOURCES:
        missing = [k for k in ("calibration_end", "holdout_end") if k in params and not params[k]]
        if missing:
            raise ValueError(
                f"report {label}: give {' and '.join(missing)} (YYYY-MM-DD) for your own data, "
                "e.g. -p calibration_end=2024-06-30 -p holdout_end=2024-12-31"
            )
    windows = {k: params[k] for k in _WINDOW_NAMES if params.get(k)}
    if windows:
        Study(Source("parameters", log=None), StudyParams.from_mapping(windows))
    share = params.get("max_rejected_share")
    if share is not None and not 0 <= share <= 1:
        raise ValueError(f"report {label}: max_rejected_share = {share!r}: give a share in [0, 1]")
    encoding = params.get("encoding")
    if encoding:
        import codecs

        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(
                f"report {label}: encoding = {encoding!r} is not a known text encoding "
                "(e.g. utf-8, gb18030, big5, utf-16)"
            ) from None
    from crmresearch.reports.render import check_fonts

    check_fonts(str(params.get("language", "en")))  # a Chinese report needs a CJK font
    currency = params.get("currency")
    if currency is not None and len(str(currency)) > 8:
        raise ValueError(
            f"report {label}: currency = {currency!r}: give a symbol such as $, ¥, € "
            '(or "" for the one the amounts carry)'
        )


_coerce = coerce  # the name used before the split (tests, callers)
