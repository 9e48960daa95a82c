"""Issue 10 item 7 on the command line: `crmresearch loss --list FILE` writes complete lists a
manager can open in Excel (CSV with BOM or XLSX), without an index column, with keyed pseudonyms
that a kept `--id-key` file reproduces, revenue in bands, and real ids only in a separate file."""

from __future__ import annotations

import hashlib
import hmac
import json
import stat

import pandas as pd
import pytest

from crmresearch.cli import main

ARGS = ["loss", "synthetic", "--n-customers", "900", "--seed", "2"]


def run_loss(tmp_path, name, *extra):
    out = tmp_path / f"{name}.json"
    assert main([*ARGS, "--out", str(out), *map(str, extra)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def read_csv_list(path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"customer_id": "str"})


def test_csv_list_is_complete_excel_ready_and_has_no_index(tmp_path, capsys):
    lst = tmp_path / "lists.csv"
    d = run_loss(tmp_path, "a", "--list", lst)
    raw = lst.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel opens it as UTF-8
    table = read_csv_list(lst)
    assert list(table.columns[:2]) == ["list", "customer"]
    assert not any(str(c).startswith("Unnamed") or c == "index" for c in table.columns)
    neglected = table[table["list"] == "neglected_core"]
    assert len(neglected) == d["n_neglected"] == d["groups"]["neglected_core"]["customers"]
    assert neglected["customer"].str.fullmatch(r"C-[0-9a-f]{10}").all()
    # revenue in bands, not to the cent
    assert "revenue_before" not in table.columns and "revenue_before_band" in table.columns
    assert neglected["revenue_before_band"].str.fullmatch(r"(< 1|0|< 0|[\d,.]+–[\d,.]+)").all()
    assert "pseudonyms from a fresh key" in capsys.readouterr().out


def test_xlsx_list_has_one_sheet_per_list_and_no_index(tmp_path):
    from openpyxl import load_workbook

    lst = tmp_path / "lists.xlsx"
    d = run_loss(tmp_path, "a", "--list", lst)
    book = load_workbook(lst, read_only=True)
    assert "neglected_core" in book.sheetnames
    rows = list(book["neglected_core"].iter_rows(values_only=True))
    assert rows[0][0] == "customer" and len(rows) - 1 == d["n_neglected"]


def test_the_same_id_key_gives_the_same_pseudonyms(tmp_path, capsys):
    key = tmp_path / "firm" / "crm.key"
    first, second, other = tmp_path / "1.csv", tmp_path / "2.csv", tmp_path / "3.csv"
    d1 = run_loss(tmp_path, "a", "--list", first, "--id-key", key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert f"created id key {key} (mode 0600)" in capsys.readouterr().out
    d2 = run_loss(tmp_path, "b", "--list", second, "--id-key", key)
    assert "created id key" not in capsys.readouterr().out
    a, b = read_csv_list(first), read_csv_list(second)
    assert list(a["customer"]) == list(b["customer"])
    assert d1["id_key_fingerprint"] == d2["id_key_fingerprint"]
    assert key.read_text().strip() not in json.dumps(d1)  # only the fingerprint is kept
    run_loss(tmp_path, "c", "--list", other)  # no key: a fresh one, other pseudonyms
    assert set(read_csv_list(other)["customer"]).isdisjoint(a["customer"])


def test_raw_ids_go_to_a_separate_file(tmp_path):
    key = tmp_path / "crm.key"
    lst = tmp_path / "lists.csv"
    run_loss(tmp_path, "a", "--list", lst, "--id-key", key, "--raw-ids")
    raw = read_csv_list(tmp_path / "lists.raw-ids.csv")
    shared = read_csv_list(lst)
    assert list(raw["customer"]) == list(shared["customer"])
    # the pseudonym is HMAC-SHA256(key, id): recomputed independently of the package
    secret = bytes.fromhex(key.read_text().strip())
    expected = [
        "C-" + hmac.new(secret, i.encode(), hashlib.sha256).hexdigest()[:10]
        for i in raw["customer_id"]
    ]
    assert list(raw["customer"]) == expected
    # real ids only in the raw file; exact amounts there, bands in the shared list
    text = lst.read_text(encoding="utf-8-sig")
    assert not any(f",{i}," in text or text.startswith(f"{i},") for i in raw["customer_id"])
    assert "revenue_before" in raw.columns and "revenue_before_band" in shared.columns


def test_raw_ids_need_a_list(tmp_path, capsys):
    assert main([*ARGS, "--out", str(tmp_path / "l.json"), "--raw-ids"]) == 2
    assert "--raw-ids writes the lists with real ids next to --list FILE" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".parquet", ".txt"])
def test_list_suffix_is_csv_or_xlsx(tmp_path, capsys, suffix):
    assert main([*ARGS, "--out", str(tmp_path / "l.json"),
                 "--list", str(tmp_path / f"l{suffix}")]) == 2  # fmt: skip
    assert "use a .csv or .xlsx file name" in capsys.readouterr().err


def test_revenue_bands():
    from crmresearch.cli._args import revenue_band

    assert [revenue_band(x) for x in (0, -5, 0.4, 1, 2.5, 99.99, 100, 1234.5, 10_000)] == [
        "0", "< 0", "< 1", "1–2.5", "2.5–5", "50–100", "100–250", "1,000–2,500",
        "10,000–25,000",
    ]  # fmt: skip
