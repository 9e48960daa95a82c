"""``crmresearch report NAME|all``: run report notebooks and render them to HTML and PDF."""

from __future__ import annotations

import argparse
import os
import sys
import time

from crmresearch import reports

HELP = "run a report notebook with papermill and render it to HTML and PDF"

DESCRIPTION = f"""\
Execute one of the report notebooks ({", ".join(reports.REPORTS)}) or all of them, and write
OUT/NAME/: the executed NAME.ipynb, NAME.html (no code, no external links), NAME.pdf (A4),
metrics.json (the executive-summary numbers) and manifest.json (parameters, data SHA-256, row
counts, package versions, run time). Parameters are checked against the notebook's `parameters`
cell before anything runs. A failing cell leaves OUT/NAME/ as it was (no partial report).

examples:
  crmresearch report all --out reports
  crmresearch report core_customer_loss -p data=my_log.csv -p core_share=0.1
  crmresearch report segment_value --params my_params.yaml --format html
"""


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "name", metavar="NAME", help=f"report name ({', '.join(reports.REPORTS)}) or 'all'"
    )
    p.add_argument(
        "--params",
        metavar="FILE",
        help="YAML file of parameters; with 'all' it may have one mapping per report name "
        "(keys that are report names) or one mapping shared by all",
    )
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set one parameter (VALUE is read as YAML: 0.2, true, [a, b], {a: b}; text that "
        "is not YAML is taken as is); repeatable; overrides --params",
    )
    p.add_argument(
        "--out", default="reports", metavar="DIR", help="output folder (default: reports)"
    )
    p.add_argument(
        "--format",
        default="html,pdf",
        metavar="LIST",
        help="comma-separated formats to render: html, pdf (default: html,pdf)",
    )
    p.add_argument(
        "--pdf-engine",
        default="weasyprint",
        choices=reports.PDF_ENGINES,
        help="PDF renderer (default: weasyprint; chromium = Debian's headless chromium)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="reports to run at the same time with 'all' (default: 2 if the machine has 2+ cores); "
        "progress bars are shown only with --jobs 1",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=run)


def parse_assignments(items: list[str]) -> dict:
    """``["a=1", "b=x"]`` → ``{"a": 1, "b": "x"}`` (values parsed as YAML, without tags,
    anchors or aliases: :func:`crmresearch.reports.params.parse_value`)."""
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"-p {item!r}: expected KEY=VALUE, e.g. -p core_share=0.1")
        params[key.strip()] = reports.params.parse_value(value, f"-p {key.strip()}")
    return params


def load_params_file(path: str | None) -> dict:
    return reports.params.load_params_file(path)


def params_for(name: str, from_file: dict, overrides: dict) -> dict:
    """Per-report parameters: a section named after the report, or the shared mapping."""
    if any(key in reports.REPORTS for key in from_file):
        shared = {k: v for k, v in from_file.items() if k not in reports.REPORTS}
        section = from_file.get(name) or {}
        if not isinstance(section, dict):
            raise ValueError(f"--params: section {name!r} must be a mapping")
        base = {**shared, **section}
    else:
        base = dict(from_file)
    return {**base, **overrides}


def run(args) -> int:
    names = list(reports.REPORTS) if args.name == "all" else [args.name]
    for name in names:
        reports.notebook_path(name)  # unknown name → ValueError before anything runs
    formats = reports.parse_formats(args.format)
    from_file = load_params_file(args.params)
    overrides = parse_assignments(args.param)
    per_report = {name: params_for(name, from_file, overrides) for name in names}
    if args.name == "all":
        # With one shared mapping, a key only some notebooks know is fine; unknown to all is not.
        per_report = _drop_foreign_keys(per_report, from_file, overrides)
    # Check every report's parameters before the first kernel starts.
    for name in names:
        reports.validate_params(reports.notebook_path(name), per_report[name])
    jobs = args.jobs if args.jobs is not None else min(2, os.cpu_count() or 1, len(names))
    if jobs < 1:
        raise ValueError(f"--jobs {jobs}: give 1 or more")
    jobs = min(jobs, len(names))
    started = time.perf_counter()
    if jobs > 1:
        # Separate spawned processes, each with its own kernel; they end when this one ends.
        print(f"running {len(names)} reports, {jobs} at a time ...", file=sys.stderr)
    outcomes = reports.run_reports(
        names, per_report, args.out, formats=formats, pdf_engine=args.pdf_engine, jobs=jobs,
        progress=not args.no_progress, on_result=_print_outcome,
    )  # fmt: skip
    failed = sum(1 for _name, _result, error in outcomes if error)
    if len(names) > 1:
        print(
            f"{len(names) - failed} of {len(names)} reports written in {time.perf_counter() - started:.1f} s"
        )
    return 1 if failed else 0


def _print_outcome(outcome) -> None:
    _name, result, error = outcome
    if error:
        print(f"crmresearch report: error: {error}", file=sys.stderr)
        return
    print(str(result), flush=True)
    for key in ("html", "pdf"):
        if key in result.files:
            print(f"  {key}: {result.files[key]}", flush=True)


def _drop_foreign_keys(per_report: dict, from_file: dict, overrides: dict) -> dict:
    known = {
        name: set(reports.notebook_parameters(reports.notebook_path(name))) for name in per_report
    }
    all_known = set().union(*known.values())
    shared_keys = set(overrides) | {k for k in from_file if k not in reports.REPORTS}
    unknown = sorted(shared_keys - all_known)
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for every report; "
            f"known: {', '.join(sorted(all_known))}"
        )
    out = {}
    for name, params in per_report.items():
        section = from_file.get(name) or {}
        out[name] = {k: v for k, v in params.items() if k in known[name] or k in section}
    return out
