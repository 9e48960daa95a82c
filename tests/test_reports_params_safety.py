"""Issue 13 items 1-2: report parameters never become code; null never switches a safeguard off.

Payloads that would create a file if they ever ran as code are fed through ``-p``, ``--params``
YAML and ``reports.run``; accepted ones must arrive in the notebook as exactly the text given,
refused ones must stop the run with exit 2 before any kernel starts.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from crmresearch import reports
from crmresearch.cli import main
from crmresearch.reports import params as P
from crmresearch.reports import runner

PARAMS_CELL = """\
title = "Tiny"  # report title
columns = {}  # mapping
shares = [0.05, 0.15, 0.80]  # shares
scale = 1.5
flag = True  # a safeguard
"""


def _notebook(path: Path) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py"}
    nb.cells = [
        new_code_cell(PARAMS_CELL, metadata={"tags": ["parameters"]}),
        new_code_cell(
            "from crmresearch.reports import display as D\n"
            "D.record('metrics', {'title': title, 'columns': columns, 'shares': shares, "
            "'scale': scale, 'flag': flag})"
        ),
    ]
    nbformat.write(nb, path)
    return path


def _payloads(marker: Path) -> list[str]:
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    return [
        f'x"; {code}; "',
        f"x'; {code}; '",
        f"x\n{code}\n",
        f'"""\n{code}\n"""',
        f"'''\n{code}\n'''",
        f'x\\"; {code}; "',
        f"x\\\n{code}",
        "{" + code + "}",
        f"\\N{{LATIN SMALL LETTER A}}\"; {code}; \"",
    ]


def test_text_payloads_arrive_as_text_and_never_run(tmp_path):
    marker = tmp_path / "PWNED"
    payloads = _payloads(marker)
    nb = _notebook(tmp_path / "tiny.ipynb")
    columns = {f"k{i}": p for i, p in enumerate(payloads)}
    columns["nested"] = {"deeper": {"x": payloads[0]}, "list": payloads[1:3]}
    result = reports.run(
        "tiny", {"title": payloads[3], "columns": columns}, tmp_path / "out", formats=(),
        notebook=nb, progress=False,
    )  # fmt: skip
    assert not marker.exists()
    assert result.metrics["title"] == payloads[3]
    assert result.metrics["columns"] == columns
    # the same values through the CLI's -p parser (YAML) and a --params file
    cli_columns = json.dumps(columns)  # JSON is YAML
    parsed = P.parse_value(cli_columns)
    assert parsed == columns


@pytest.mark.parametrize(
    "value",
    [
        "!!binary aGVsbG8=",
        "{a: !!binary aGVsbG8=}",
        "{a: {b: !!python/object/apply:os.system [touch PWNED]}}",
        "!!python/name:os.system",
        "[1, !!python/tuple [1, 2]]",
        "!custom x",
        "{a: &anchor [1, 2], b: *anchor}",
        "!!str x",
    ],
)
def test_yaml_tags_anchors_refused_in_minus_p(tmp_path, monkeypatch, capsys, value):
    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started for a refused parameter")

    monkeypatch.setattr(runner, "_execute", no_kernel)
    monkeypatch.chdir(tmp_path)
    code = main(["report", "segment_value", "-p", f"columns={value}", "--out", "out"])
    assert code == 2
    err = capsys.readouterr().err
    assert "not allowed" in err
    assert not (tmp_path / "PWNED").exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "text",
    [
        "columns:\n  a: !!binary aGVsbG8=\n",
        "columns:\n  a:\n    b: !!python/object/apply:os.system ['touch PWNED']\n",
        "title: !!python/object/new:str [x]\n",
        "base: &b {a: x}\ncolumns: *b\n",
    ],
)
def test_yaml_tags_refused_in_params_file(tmp_path, monkeypatch, capsys, text):
    monkeypatch.setattr(runner, "_execute", lambda *a, **k: pytest.fail("kernel started"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text(text)
    code = main(["report", "segment_value", "--params", "p.yaml", "--out", "out"])
    assert code == 2
    assert "not allowed" in capsys.readouterr().err
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"columns": {"a": b"bytes"}}, r"type bytes is not allowed"),
        ({"columns": {1: "a"}}, r"key 1 must be text"),
        ({"columns": {"a": {"b": object()}}}, r"type object is not allowed"),
        ({"shares": [0.1, None]}, r"type null is not allowed"),
        ({"shares": [0.1, "x"]}, r"list of numbers"),
        ({"scale": float("nan")}, r"not a finite number"),
        ({"title": ("a", b"b")}, r"type bytes is not allowed"),
        ({"flag": None}, r"must be bool.*got null"),
        ({"title": None}, r"must be str.*got null"),
    ],
)
def test_other_types_refused_before_kernel(tmp_path, monkeypatch, params, match):
    monkeypatch.setattr(runner, "_execute", lambda *a, **k: pytest.fail("kernel started"))
    nb = _notebook(tmp_path / "tiny.ipynb")
    with pytest.raises(ValueError, match=match):
        reports.run("tiny", params, tmp_path / "out", notebook=nb, progress=False)
    assert not (tmp_path / "out").exists()


def test_literal_round_trips_and_refuses_code():
    for value in ["a\"b'c\n\\", {"k": [1, 2.5e-9, True, "x"]}, -0.0, 10**30]:
        assert eval(P.literal(value), {"__builtins__": {}}) == value  # noqa: S307 (a literal)
    with pytest.raises(ValueError):
        P.literal(b"x")


def test_scientific_notation_is_a_number(tmp_path, monkeypatch):
    spec = reports.notebook_parameters(reports.notebook_path("core_customer_loss"))
    assert P.parse_value("1e-9") == "1e-9"  # YAML 1.1 reads it as text ...
    merged = reports.validate_params(
        reports.notebook_path("core_customer_loss"), {"core_share": P.parse_value("1e-9")}
    )
    assert merged["core_share"] == 1e-9 and isinstance(merged["core_share"], float)  # ... we don't
    assert P.coerce("rise", "2.5E+1", spec["rise"], "x") == 25.0
    assert P.coerce("title", "1e5", spec["title"], "x") == "1e5"  # text stays text

    seen = {}

    def capture(name, notebook, params, **kwargs):  # what would reach the notebook
        seen.update(params)
        raise reports.ReportError("stopped before the kernel")

    monkeypatch.setattr(runner, "_execute", capture)
    out = tmp_path / "o"
    assert main(["report", "core_customer_loss", "-p", "core_share=1e-9", "--out", str(out)]) == 1
    assert seen["core_share"] == 1e-9 and isinstance(seen["core_share"], float)


@pytest.mark.parametrize("argv", [["-p", "pseudonymize_ids=null"], ["-p", "pseudonymize_ids=~"]])
def test_null_never_switches_pseudonymization_off(tmp_path, monkeypatch, capsys, argv):
    monkeypatch.setattr(runner, "_execute", lambda *a, **k: pytest.fail("kernel started"))
    code = main(["report", "core_customer_loss", *argv, "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert "'pseudonymize_ids' must be bool" in err and "got null" in err


def test_empty_yaml_value_and_text_do_not_switch_it_off(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "_execute", lambda *a, **k: pytest.fail("kernel started"))
    (tmp_path / "p.yaml").write_text("pseudonymize_ids:\n")
    assert main(["report", "core_customer_loss", "--params", str(tmp_path / "p.yaml")]) == 2
    for text in ("", "no", "0", "off"):
        spec = reports.notebook_parameters(reports.notebook_path("core_customer_loss"))
        value = P.parse_value(text)
        if value is False:  # YAML 1.1 reads "no"/"off" as false: an explicit false
            continue
        with pytest.raises(ValueError, match="must be bool"):
            P.coerce("pseudonymize_ids", value, spec["pseudonymize_ids"], "core_customer_loss")
    merged = reports.validate_params(
        reports.notebook_path("core_customer_loss"), {"pseudonymize_ids": P.parse_value("false")}
    )
    assert merged["pseudonymize_ids"] is False  # only an explicit false switches it off


@pytest.mark.parametrize("word", ["no", "off", "No", "OFF", "n"])
def test_only_an_explicit_false_switches_pseudonymization_off(tmp_path, monkeypatch, capsys, word):
    """YAML 1.1 reads no/off as false; a safeguard must need the word false (issue 13 item 2)."""
    monkeypatch.setattr(runner, "_execute", lambda *a, **k: pytest.fail("kernel started"))
    code = main(["report", "core_customer_loss", "-p", f"pseudonymize_ids={word}",
                 "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 2
    assert "'pseudonymize_ids' must be bool" in capsys.readouterr().err
    assert P.parse_yaml_params(f"pseudonymize_ids: {word}\n", "x") == {"pseudonymize_ids": word}


def test_true_and_false_stay_booleans_everywhere():
    assert P.parse_value("false") is False and P.parse_value("True") is True
    assert P.parse_value("{a: false, b: [true, off]}") == {"a": False, "b": [True, "off"]}
