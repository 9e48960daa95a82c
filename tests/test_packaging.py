"""The two dependency lists (pip: pyproject.toml, conda: environment.yml) name the same packages."""

from __future__ import annotations

import re
import tomllib

import yaml


def _name(requirement: str) -> str:
    # "scikit-learn>=1.8" -> "scikit-learn"; PEP 503 normalisation so "factor_analyzer" == "factor-analyzer"
    name = re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def test_environment_yml_lists_the_same_packages_as_pyproject(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    pip_names = {_name(r) for r in project["dependencies"]}

    env = yaml.safe_load((root / "environment.yml").read_text())
    conda_names = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    conda_names -= {"python", "pip"}

    assert pip_names == conda_names, (
        f"only in pyproject.toml: {sorted(pip_names - conda_names)}; "
        f"only in environment.yml: {sorted(conda_names - pip_names)}"
    )


def test_python_floor_matches(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((root / "environment.yml").read_text())
    floor = project["requires-python"].removeprefix(">=")
    assert f"python>={floor}" in env["dependencies"]


def test_console_script_is_declared(root):
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["crmresearch"] == "crmresearch.cli:main"


def test_cli_without_command_prints_help_and_exits_2(capsys):
    from crmresearch.cli import main

    assert main([]) == 2
    assert "usage: crmresearch" in capsys.readouterr().out
