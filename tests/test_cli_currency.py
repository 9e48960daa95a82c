"""`crmresearch loss` prints money in the data's currency (issue 12 item 7), not a hard-coded "$"."""

from __future__ import annotations

import json

import pytest

from crmresearch.cli import main
from crmresearch.datasets import make_crm_data


@pytest.fixture(scope="module")
def yuan_log(tmp_path_factory):
    crm = make_crm_data(n_customers=800, seed=2)
    frame = crm.transactions.frame[["customer_id", "date", "amount"]].copy()
    frame["amount"] = [f"¥{a:,.2f}" for a in frame["amount"]]  # as a Chinese export writes it
    path = tmp_path_factory.mktemp("yuan") / "orders.csv"
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path, crm.truth


def _run(path, truth, out, *extra):
    return main(["loss", str(path), "--calibration-end", f"{truth.calibration_end:%Y-%m-%d}",
                 "--holdout-end", f"{truth.holdout_end:%Y-%m-%d}", "--out", str(out), *extra])  # fmt: skip


def test_loss_uses_the_currency_the_amounts_carry(yuan_log, tmp_path, capsys):
    path, truth = yuan_log
    lists = tmp_path / "lists.csv"
    assert _run(path, truth, tmp_path / "loss.json", "--list", str(lists)) == 0
    out = capsys.readouterr().out
    assert "¥" in out and "$" not in out
    findings = json.loads((tmp_path / "loss.json").read_text())["findings"]
    assert any("¥" in f for f in findings) and not any("$" in f for f in findings)
    text = lists.read_text(encoding="utf-8-sig")
    assert "¥" in text and "$" not in text


def test_currency_option_overrides(yuan_log, tmp_path, capsys):
    path, truth = yuan_log
    assert _run(path, truth, tmp_path / "loss.json", "--currency", "€") == 0
    out = capsys.readouterr().out
    assert "€" in out and "¥" not in out and "$" not in out
