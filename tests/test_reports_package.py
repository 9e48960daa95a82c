"""The report package's layout: notebooks shipped as package data, thin notebook cells."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from crmresearch import reports

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "crmresearch" / "reports"


def _code_cells(name: str):
    nb = nbformat.read(reports.notebook_path(name), as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("name", reports.REPORTS)
def test_notebooks_are_package_data_and_user_copies_match(name):
    shipped = reports.notebook_path(name)
    assert shipped.parent == PACKAGE / "notebooks"
    # notebooks/ (for JupyterLab users) holds byte-identical copies of the shipped notebooks
    assert (ROOT / "notebooks" / f"{name}.ipynb").read_bytes() == shipped.read_bytes()


def test_package_data_declared():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"crmresearch.reports" = ["templates/*", "notebooks/*.ipynb", "i18n/*.yaml"]' in text


@pytest.mark.parametrize("name", reports.REPORTS)
def test_notebook_cells_are_thin(name):
    cells = _code_cells(name)
    params = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    sources = [c.source for c in cells if c is not params[0]]
    joined = "\n".join(sources)
    assert "PARAMETER_NAMES" not in joined
    for source in sources:
        assert len(source.splitlines()) <= 15, source
        # no private call or attribute of the package (P._effects_table and the like)
        assert not re.search(r"\b\w+\._\w", source), source
    # every imported name is used in some other line of the notebook
    tree = ast.parse(joined)
    imported = [
        (alias.asname or alias.name).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ]
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert set(imported) <= used, set(imported) - used
    # one shared setup call
    assert sum("begin(" in s for s in sources) == 1


def test_no_swallowed_figure_errors_no_gc_freeze():
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert "gc.freeze" not in text, path
        assert "figure not available" not in text, path
        assert not re.search(r"except \([^)]*AttributeError", text), path


def test_setup_reads_parameter_names_from_the_parameters_cell():
    from crmresearch.reports.context import report_parameter_names

    for name in reports.REPORTS:
        spec = reports.notebook_parameters(reports.notebook_path(name))
        assert report_parameter_names(name) == list(spec)
