"""The too-many-rejected refusal: shares that read differently, and the fix for the top reason."""

from __future__ import annotations

import pandas as pd
import pytest

from crmresearch._format import NBSP, fmt_share
from crmresearch.data import read_transactions
from crmresearch.data.log import fix_for
from crmresearch.errors import DataError


def pct(text: str) -> str:
    return text.replace(" %", f"{NBSP}%")


def refusal(tmp_path, rows: list[str], max_share: float = 0.01, **read) -> str:
    path = tmp_path / "export.csv"
    path.write_text("customer_id,date,amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    log = read_transactions(path, **read)
    return str(pytest.raises(DataError, log.check_rejected_share, max_share).value)


def good(n: int) -> list[str]:
    return [f"c{i % 50},2024-01-{1 + i % 28:02d},{10 + i % 7}" for i in range(n)]


@pytest.mark.parametrize(
    "share, than, expected",
    [(4 / 14585, None, "0.027 %"), (1e-4, 4 / 14585, "0.010 %"), (0.00069, None, "0.069 %"),
     (0.0104, 0.01, "1.04 %"), (0.01, 0.0104, "1.00 %"), (0.02, 0.01, "2.0 %"),
     (0.5, None, "50.0 %"), (0.0, None, "0.0 %"), (1 / 10**7, None, "0.000010 %")],
)  # fmt: skip
def test_fmt_share_never_hides_a_nonzero_share(share, than, expected):
    assert fmt_share(share, than=than) == pct(expected)


def test_refusal_shows_a_tiny_share_and_its_threshold_apart(tmp_path):
    rows = good(14581) + ["合计,2024-01-31,999", "总计,,1", "小计,,1", "Total,,1"]
    msg = refusal(tmp_path, rows, max_share=0.0001)
    assert (
        pct(
            "export.csv: 4 of 14,585 rows (0.027 %) were rejected, more than max_rejected_share "
            "0.010 %; "
        )
        in msg
    )
    assert "\n" not in msg


def test_refusal_just_above_the_threshold_reads_differently(tmp_path):
    rows = good(9896) + [f"x{i},2024-01-01,abc" for i in range(104)]
    msg = refusal(tmp_path, rows, max_share=0.01)
    assert (
        pct("104 of 10,000 rows (1.04 %) were rejected, more than max_rejected_share 1.00 %") in msg
    )


def test_fix_for_summary_rows_says_they_are_rejected_on_purpose(tmp_path):
    msg = refusal(tmp_path, good(10) + ["合计,2024-01-31,999", "Total,,1"])
    assert "Top reasons: summary row 2 (rows 11, 12)" in msg
    assert msg.endswith(
        "Fix: totals rows (合计, 总计, 小计, Total, Sum ...) are rejected on purpose: they are not "
        "customers; drop them from the export, or raise max_rejected_share (CLI "
        "--max-rejected-share) to accept their loss."
    )
    assert "decimal" not in msg and "thousands" not in msg


def test_fix_for_missing_ids_names_the_id_mapping(tmp_path):
    msg = refusal(tmp_path, good(10) + [",2024-01-31,9", ",2024-01-30,8", "z,2024-01-01,x"])
    assert "Top reasons: missing customer_id 2 (rows 11, 12); unparseable amount 1 (rows 13)" in msg
    assert (
        "Fix: these rows have no customer id: map the file's id column onto customer_id with "
        "columns= (CLI --columns NAME=customer_id)"
    ) in msg
    assert msg.endswith("(or raise max_rejected_share knowingly).")
    assert "decimal" not in msg


def test_fix_for_bad_dates_names_the_date_format(tmp_path):
    msg = refusal(tmp_path, good(10) + ["a,31/01/2024,9", "b,30/01/2024,8", "z,2024-01-01,x"])
    assert "Top reasons: unparseable date 2 (rows 11, 12)" in msg
    assert (
        "Fix: pass date_format='%d/%m/%Y' (day first: some first fields exceed 12) (CLI: "
        "--date-format)" in msg
    )
    assert "decimal" not in msg


def test_fix_for_amounts_names_only_options_that_exist(tmp_path):
    msg = refusal(tmp_path, good(10) + ['a,2024-01-31,"1.234,50"', 'b,2024-01-30,"9,5"'])
    assert "Top reasons: unparseable amount 2 (rows 11, 12)" in msg
    assert "pass decimal=',' (CLI --decimal ,)" in msg


@pytest.mark.parametrize(
    "reason, expected",
    [("missing date", "the date column is empty in these rows; map the right column with "
                      "columns={NAME: 'date'} (CLI --columns NAME=date)"),
     ("date out of range", "dates must lie in date_range"),
     ("amount out of range", "amount values of 1e15 or more are no money or count"),
     ("non-finite amount", "the amount column holds inf or -inf"),
     ("mixed currency", "the amount column uses one currency"),
     ("mixed currency in profit", "the profit column uses one currency"),
     ("unparseable due_date", "pass the date format with date_format= (CLI: --date-format)"),
     ("empty row", "blank rows carry no data"),
     ("NUL byte", "give the encoding (CLI --encoding, e.g. utf-16)"),
     ("5 fields, header has 3", "pass the right sep= (CLI --sep)")],
)  # fmt: skip
def test_fix_for_each_reason(reason, expected):
    rejected = pd.DataFrame({"row": [1, 2, 3], "reason": [reason, reason, "unparseable amount"]})
    assert expected in fix_for(rejected)


def test_report_page_one_rows_line_shows_a_tiny_share():
    from types import SimpleNamespace

    from crmresearch.reports.context import rows_line

    log = SimpleNamespace(n_read=14585, n_accepted=14581, n_rejected=4)
    study = SimpleNamespace(source=SimpleNamespace(log=log))
    assert rows_line(study) == pct("rows read 14,585 / accepted 14,581 / rejected 4 (0.027 %)")
