"""Architecture rules, checked on the source text (issue 9; docs/architecture.md).

- No import cycle between modules, nor between the packages (concepts) of ``crmresearch``:
  every import counts, also one inside a function, under ``if TYPE_CHECKING`` or through
  ``importlib.import_module("crmresearch....")`` with a literal name.
- ``crmresearch.plots`` takes plain data: it imports no analysis code.
- Nothing in the repository cites a file outside it.
- Modules stay short enough to read (about 600 lines), functions too (about 150 lines); the few
  exceptions are listed below, each with its reason.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "crmresearch"

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 150

# module path (relative to src/crmresearch) -> reason it may be longer than MAX_MODULE_LINES
LONG_MODULES: dict[str, str] = {}
# "module path:qualified.function" -> reason it may be longer than MAX_FUNCTION_LINES
LONG_FUNCTIONS: dict[str, str] = {}

# Analysis code that the figures must not import (they receive DataFrames, arrays, numbers).
ANALYSIS = (
    "data", "datasets", "synthetic", "features", "index", "tiers", "compare", "loss", "clv",
    "strategy", "study", "reports", "present", "cli",
)  # fmt: skip


# ------------------------------------------------------------------------------ the import graph


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package under src/."""
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _resolve(importer: str, module: str | None, level: int) -> str | None:
    """Absolute module name of ``from <level dots><module> import ...`` inside ``importer``."""
    if level == 0:
        return module
    base = importer.split(".")
    if not _is_package(importer):
        base = base[:-1]  # a module's relative imports start from its package
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, module] if module else base)


def _existing(name: str) -> str | None:
    """``name`` or its longest prefix that is a module of the package (``a.b.func`` -> ``a.b``)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def _imported_names(importer: str, tree: ast.AST) -> list[tuple[str, int]]:
    """Every crmresearch module ``importer`` names in an import, with the line (all levels of
    the file: module level, functions, classes, conditionals)."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(importer, node.module, node.level)
            if not base:
                continue
            for alias in node.names:
                # `from pkg import sub` imports pkg.sub when sub is a module, else a name of pkg
                sub = f"{base}.{alias.name}"
                found.append((sub if sub in MODULES else base, node.lineno))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
        ):
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append((arg.value, node.lineno))
            elif isinstance(arg, ast.JoinedStr) and arg.values:
                head = arg.values[0]
                if isinstance(head, ast.Constant) and str(head.value).startswith(PACKAGE):
                    # f"crmresearch.cli.{name}": the modules of that package, all of them
                    prefix = str(head.value).rstrip(".")
                    found += [
                        (m, node.lineno)
                        for m in MODULES
                        if m.startswith(prefix + ".") and not m.endswith(".__main__")
                    ]
    return [(name, line) for name, line in found if name.split(".")[0] == PACKAGE]


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _graph() -> dict[str, dict[str, int]]:
    """importer -> {imported module: first line}. Importing ``a.b.c`` also runs ``a/__init__``
    and ``a/b/__init__``: those parents are edges too, unless they are the importer's own
    parents (already running when the importer runs)."""
    graph: dict[str, dict[str, int]] = defaultdict(dict)
    for importer, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        own = set(_ancestors(importer))
        for name, line in _imported_names(importer, tree):
            target = _existing(name)
            if target is None or target == importer:
                continue
            graph[importer].setdefault(target, line)
            for parent in _ancestors(target):
                if parent not in own and parent != importer:
                    graph[importer].setdefault(parent, line)
    return graph


def _concept(module: str) -> str:
    """The package (concept) a module belongs to: crmresearch.index.rotation -> index."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    nodes = set(graph) | {w for targets in graph.values() for w in targets}
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def _describe(component: list[str], graph: dict[str, dict[str, int]]) -> str:
    members = set(component)
    edges = [
        f"{a} -> {b} (line {line})"
        for a in component
        for b, line in sorted(graph.get(a, {}).items())
        if b in members
    ]
    return "; ".join(edges)


def test_the_graph_sees_function_level_and_relative_imports():
    """The checker itself: a function-level import and a relative import are edges."""
    tree = ast.parse(
        "def f():\n    from crmresearch.index import ClassificationIndex\n"
        "from . import tiers\nfrom .errors import DataError\n"
    )
    names = {n for n, _ in _imported_names("crmresearch._format", tree)}
    assert "crmresearch.index" in names
    assert "crmresearch.tiers" in names and "crmresearch.errors" in names
    # inside a package's __init__, "." is the package itself
    in_package = ast.parse("from . import params\nfrom .source import Source\n")
    names = {n for n, _ in _imported_names("crmresearch.study", in_package)}
    assert names == {"crmresearch.study.params", "crmresearch.study.source"}
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycle_between_modules():
    graph = _graph()
    cycles = [_describe(c, graph) for c in _cycles(graph)]
    assert not cycles, "import cycles between modules:\n" + "\n".join(cycles)


def test_no_import_cycle_between_packages():
    modules = _graph()
    graph: dict[str, dict[str, int]] = defaultdict(dict)
    where: dict[tuple[str, str], str] = {}
    for importer, targets in modules.items():
        for target, line in targets.items():
            a, b = _concept(importer), _concept(target)
            if a != b and b != PACKAGE:
                graph[a].setdefault(b, line)
                where.setdefault((a, b), f"{importer} -> {target} (line {line})")
    problems = []
    for component in _cycles(graph):
        members = set(component)
        problems.append(
            " / ".join(where[(a, b)] for a in component for b in graph[a] if b in members)
        )
    assert not problems, "import cycles between packages:\n" + "\n".join(problems)


# The flow of docs/architecture.md: a package imports only packages of its own or a lower layer.
LAYERS = {
    PACKAGE: 0, "errors": 0, "_io": 0, "_format": 0, "_stats": 0, "_privacy": 0,
    "plots": 1, "data": 2, "datasets": 3, "features": 4, "index": 5, "tiers": 6,
    "compare": 7, "loss": 7, "clv": 7, "strategy": 8, "study": 9, "reports": 10, "cli": 11,
}  # fmt: skip


def test_every_package_has_its_place_in_the_flow():
    unknown = sorted({_concept(m) for m in MODULES} - set(LAYERS))
    assert not unknown, (
        f"new package(s) {unknown}: give each its layer in LAYERS here and in docs/architecture.md"
    )


def _downstream(graph: dict[str, dict[str, int]]) -> list[str]:
    return [
        f"{importer} imports {target} (line {line}): {_concept(target)} is downstream of "
        f"{_concept(importer)}"
        for importer, targets in sorted(graph.items())
        for target, line in sorted(targets.items())
        if LAYERS.get(_concept(target), -1) > LAYERS.get(_concept(importer), 99)
    ]


def test_imports_go_upstream_only():
    """A module never imports a module downstream of it (not even inside a function)."""
    assert _downstream({"crmresearch.features.engine": {"crmresearch.study": 7}}) == [
        "crmresearch.features.engine imports crmresearch.study (line 7): study is downstream of "
        "features"
    ]
    assert _downstream({"crmresearch.study": {"crmresearch.features": 1}}) == []
    problems = _downstream(_graph())
    assert not problems, "imports against the data flow:\n" + "\n".join(problems)


def test_plots_import_no_analysis_code():
    graph = _graph()
    bad = [
        f"{importer} imports {target} (line {line})"
        for importer, targets in sorted(graph.items())
        if _concept(importer) == "plots"
        for target, line in sorted(targets.items())
        if _concept(target) in ANALYSIS
    ]
    assert not bad, "plots must take plain data:\n" + "\n".join(bad)


# ------------------------------------------------------------------------------ citations

# Built from pieces so that this file does not cite them itself.
_SHARED = "../" + "shared"
# The session's shared notes, however they are written (``shared/design.md``, the field notes).
_NOTES = re.compile(r"(?<![\w-])(?:" + "shared" + r"/[\w.-]+\.md|" + "field-notes" + r"(?:\.md)?)")
_MACHINE_PATHS = re.compile(r"(?<![\w.])/(?:" + "work|home|Users|root" + r")/[\w.-]+")
_UP_PATH = re.compile(r"(?<![\w/])((?:\.\./)+)([\w.-]+)")
TEXT_SUFFIXES = {".py", ".md", ".ipynb", ".yaml", ".yml", ".toml", ".txt", ".j2", ".css", ".R",
                 ".cfg", ".ini", ".json", ".html", ".sh", ""}  # fmt: skip
SCANNED = ("src", "tests", "notebooks", "docs", "benchmarks", "data", ".ci", "README.md",
           "Makefile", "pyproject.toml", "environment.yml")  # fmt: skip
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints", "raw"}
MAX_SCANNED_BYTES = 2_000_000  # data files are not citations; sources and notebooks are small


def _repository_text_files():
    for entry in SCANNED:
        path = ROOT / entry
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if SKIP_PARTS & set(file.relative_to(ROOT).parts):
                continue
            if file.suffix not in TEXT_SUFFIXES or file.stat().st_size > MAX_SCANNED_BYTES:
                continue
            yield file


def _outside_citations(file: Path, text: str) -> list[str]:
    found = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if _SHARED in line:
            found.append(f"{lineno}: {_SHARED}")
        found += [f"{lineno}: {m.group(0)}" for m in _MACHINE_PATHS.finditer(line)]
        found += [f"{lineno}: {m.group(0)}" for m in _NOTES.finditer(line)]
        for m in _UP_PATH.finditer(line):
            target = (file.parent / m.group(1) / m.group(2)).resolve()
            if not target.is_relative_to(ROOT):
                found.append(f"{lineno}: {m.group(0)}")
    return found


def test_citation_checker_catches_outside_paths(tmp_path):
    doc = ROOT / "docs" / "example.md"
    assert _outside_citations(doc, "see ../README.md") == []
    assert _outside_citations(doc, "see ../../notes.md")
    assert _outside_citations(doc, "the design in " + _SHARED + "/design.md")
    assert _outside_citations(doc, "data at /" + "work/main/x.csv")
    assert _outside_citations(doc, "(see ``" + "shared/field-notes.md``)")
    assert _outside_citations(doc, "measured in the " + "field-notes")


def test_no_file_cites_a_path_outside_the_repository():
    cited = {}
    for file in _repository_text_files():
        if file == Path(__file__).resolve():
            continue
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found = _outside_citations(file, text)
        if found:
            cited[str(file.relative_to(ROOT))] = found[:5]
    assert not cited, f"files citing paths outside the repository: {cited}"


# ------------------------------------------------------------------------------ sizes


def _functions(tree: ast.AST, prefix: str = ""):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = f"{prefix}{node.name}"
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            yield name, node.end_lineno - start + 1
            yield from _functions(node, f"{name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")


def test_modules_are_short():
    long = {}
    for path in MODULES.values():
        rel = str(path.relative_to(SRC / PACKAGE))
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_MODULE_LINES and rel not in LONG_MODULES:
            long[rel] = n
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them): {long}"


def test_functions_are_short():
    long = {}
    for path in MODULES.values():
        rel = str(path.relative_to(SRC / PACKAGE))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, n in _functions(tree):
            if n > MAX_FUNCTION_LINES and f"{rel}:{name}" not in LONG_FUNCTIONS:
                long[f"{rel}:{name}"] = n
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (split them): {long}"


@pytest.mark.parametrize("table", [LONG_MODULES, LONG_FUNCTIONS])
def test_exceptions_are_justified_and_still_needed(table):
    """Every allow-listed exception has a reason and is still longer than the limit."""
    for key, reason in table.items():
        assert len(reason.split()) >= 5, f"{key}: give the reason in a sentence"
        rel, _, function = key.partition(":")
        path = SRC / PACKAGE / rel
        assert path.is_file(), f"{key}: no such module any more; drop the entry"
        if not function:
            assert len(path.read_text(encoding="utf-8").splitlines()) > MAX_MODULE_LINES, key
        else:
            sizes = dict(_functions(ast.parse(path.read_text(encoding="utf-8"))))
            assert sizes.get(function, 0) > MAX_FUNCTION_LINES, f"{key}: short now; drop it"


def test_cli_commands_call_the_study_not_each_other():
    """A command module imports no other command module (shared helpers live in cli/_args.py)
    and does not wire features -> index itself: it gets them from crmresearch.study."""
    graph = _graph()
    shared = {"crmresearch.cli", "crmresearch.cli._args", "crmresearch.cli.__main__"}
    commands = [m for m in MODULES if m.startswith("crmresearch.cli.") and m not in shared]
    crossed = [
        f"{m} imports {t}"
        for m in commands
        for t in graph.get(m, {})
        if t.startswith("crmresearch.cli.") and t not in shared
    ]
    assert not crossed, crossed
    wiring = [
        f"{m} calls {name}"
        for m in commands
        for name in ("customer_features", "holdout_outcomes", "apply_config")
        if re.search(rf"\b{name}\s*\(", MODULES[m].read_text(encoding="utf-8"))
    ]
    assert not wiring, f"commands build features/index/outcomes through Study: {wiring}"
