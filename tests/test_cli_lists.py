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
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"customer_id": "str"},
                       keep_default_na=False)  # fmt: skip


def on(table: pd.DataFrame, name: str) -> pd.Series:
    """Customers on list ``name``: as their primary list or named in ``also_in``."""
    return (table["primary_list"] == name) | table["also_in"].str.contains(name)


def test_csv_list_is_complete_excel_ready_and_has_no_index(tmp_path, capsys):
    lst = tmp_path / "lists.csv"
    d = run_loss(tmp_path, "a", "--list", lst)
    raw = lst.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel opens it as UTF-8
    table = read_csv_list(lst)
    assert table.columns[0] == "customer" and table["customer"].is_unique
    assert not any(str(c).startswith("Unnamed") or c == "index" for c in table.columns)
    # complete: every neglected-core and over-served customer of the result is listed
    assert int(on(table, "neglected_core").sum()) == d["n_neglected"]
    assert int(on(table, "over_served").sum()) == d["groups"]["over_served"]["customers"]
    assert sum(d["lists"].values()) == len(table)  # one primary list per customer
    assert table["customer"].str.fullmatch(r"C-[0-9a-f]{10}").all()
    assert table["treatment"].str.len().min() > 20
    # revenue in bands, not to the cent
    assert "revenue_before" not in table.columns and "revenue_band" in table.columns
    printed = capsys.readouterr().out
    assert "pseudonyms from a fresh key" in printed and "Overlaps:" in printed


def test_xlsx_list_has_one_sheet_per_list_and_no_index(tmp_path):
    from openpyxl import load_workbook

    lst = tmp_path / "lists.xlsx"
    d = run_loss(tmp_path, "a", "--list", lst)
    book = load_workbook(lst, read_only=True)
    assert {"all", "neglected_core", "over_served", "problem", "rising_star"} <= set(
        book.sheetnames
    )
    rows = list(book["all"].iter_rows(values_only=True))
    assert rows[0][0] == "customer" and len(rows) - 1 == sum(d["lists"].values())
    neglected = list(book["neglected_core"].iter_rows(values_only=True))
    assert neglected[0][0] == "customer" and len(neglected) - 1 == d["lists"]["neglected_core"]


def test_the_same_id_key_gives_the_same_pseudonyms(tmp_path, capsys):
    key = tmp_path / "firm" / "crm.key"
    first, second, other = tmp_path / "1.csv", tmp_path / "2.csv", tmp_path / "3.csv"
    d1 = run_loss(tmp_path, "a", "--list", first, "--id-key", key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert f"created id key {key} (mode 0600)" in capsys.readouterr().out
    d2 = run_loss(tmp_path, "b", "--list", second, "--id-key", key)
    assert "created id key" not in capsys.readouterr().out
    a, b = read_csv_list(first), read_csv_list(second)
    assert len(a) > 50 and list(a["customer"]) == list(b["customer"])
    assert d1["id_key_fingerprint"] == d2["id_key_fingerprint"]
    assert key.read_text().strip() not in json.dumps(d1)  # only the fingerprint is kept
    d3 = run_loss(tmp_path, "c", "--list", other)  # no key: a fresh one, other pseudonyms
    assert set(read_csv_list(other)["customer"]).isdisjoint(a["customer"])
    assert d3["id_key_fingerprint"] != d1["id_key_fingerprint"]


def test_raw_ids_go_to_a_separate_file(tmp_path):
    key = tmp_path / "crm.key"
    lst = tmp_path / "lists.csv"
    run_loss(tmp_path, "a", "--list", lst, "--id-key", key, "--raw-ids")
    raw = read_csv_list(tmp_path / "lists.raw-ids.csv")
    shared = read_csv_list(lst)
    assert list(raw.columns) == ["customer", "customer_id"]
    assert (tmp_path / "lists.raw-ids.csv").stat().st_mode & 0o777 == 0o600  # as the key file
    assert set(raw["customer"]) == set(shared["customer"])
    # the pseudonym is HMAC-SHA256(key, id): recomputed independently of the package
    secret = bytes.fromhex(key.read_text().strip())
    expected = [
        "C-" + hmac.new(secret, i.encode(), hashlib.sha256).hexdigest()[:10]
        for i in raw["customer_id"]
    ]
    assert list(raw["customer"]) == expected
    # real ids only in the raw file
    text = lst.read_text(encoding="utf-8-sig")
    assert not any(i in text for i in raw["customer_id"])


def test_raw_ids_need_a_list(tmp_path, capsys):
    assert main([*ARGS, "--out", str(tmp_path / "l.json"), "--raw-ids"]) == 2
    assert "--raw-ids writes the real ids next to --list FILE" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".parquet", ".txt"])
def test_list_suffix_is_csv_or_xlsx(tmp_path, capsys, suffix):
    assert main([*ARGS, "--out", str(tmp_path / "l.json"),
                 "--list", str(tmp_path / f"l{suffix}")]) == 2  # fmt: skip
    assert "use a .csv or .xlsx file name" in capsys.readouterr().err
