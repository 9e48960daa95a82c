"""`crmresearch loss` and the core-customer-loss report, run on the same parameters, state the same
figures: both build one `Study` and make the same `potential_core_loss` call (issue 9, point 1)."""

from __future__ import annotations

import json

import pytest

from crmresearch.cli import main

# Headline figures of the report's metrics.json, and where `crmresearch loss --out` has each.
FIGURES = {
    "customers": lambda d: d["n"],
    "core_customers": lambda d: (
        d["groups"]["neglected_core"]["customers"] + d["groups"]["served_core"]["customers"]
    ),
    "neglected_core": lambda d: d["groups"]["neglected_core"]["customers"],
    "risk_difference": lambda d: d["comparison"]["risk_difference"],
    "risk_difference_ci": lambda d: list(d["comparison"]["risk_difference_ci"]),
    "odds_ratio_adjusted": lambda d: d["comparison"]["odds_ratio"],
}


@pytest.mark.slow
@pytest.mark.parametrize(
    "cli_args, report_params",
    [
        # the defaults of both: the bundled CDNOW log and its documented windows
        ([], {}),
        # a generated log, another core share and tier shares, given the same way to both
        (["--n-customers", "2000", "--seed", "1", "--core-share", "0.1",
          "--volume-shares", "0.1,0.2,0.7"],
         {"n_customers": 2000, "seed": 1, "core_share": 0.1, "tier_shares": [0.1, 0.2, 0.7]}),
    ],
    ids=["cdnow-defaults", "synthetic"],
)  # fmt: skip
def test_cli_loss_and_report_state_identical_figures(tmp_path, capsys, cli_args, report_params):
    from crmresearch import reports

    data = "synthetic" if "n_customers" in report_params else "cdnow"
    out = tmp_path / "loss.json"
    assert main(["loss", data, *cli_args, "--out", str(out)]) == 0
    capsys.readouterr()
    cli = json.loads(out.read_text(encoding="utf-8"))

    params = {"data": data, "n_boot": 20, **report_params}  # n_boot: CIs of other figures only
    result = reports.run("core_customer_loss", params, tmp_path / "reports", formats=())
    metrics = json.loads((result.out_dir / "metrics.json").read_text(encoding="utf-8"))

    for key, from_cli in FIGURES.items():
        assert metrics[key] == from_cli(cli), key
    assert metrics["customers"] > 1000 and metrics["neglected_core"] > 0
