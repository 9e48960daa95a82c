"""The core-customer-loss section with the report's currency (review item 2), lists and
pseudonyms as the text promises (item 7), and the loss-report polish items."""

from __future__ import annotations

import re

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from crmresearch.reports import labels  # noqa: E402
from crmresearch.reports.sections import core_customer_loss as S  # noqa: E402
from crmresearch.study import Study  # noqa: E402


@pytest.fixture(scope="module")
def study():
    return Study.from_params("synthetic", n_customers=600, seed=2)


@pytest.fixture
def yuan():
    labels.set_currency("¥")
    yield "¥"
    labels.set_currency("$")


def _figure_texts(fig) -> list[str]:
    fig.canvas.draw()  # tick labels come from the formatters only when drawn
    texts = [t.get_text() for t in fig.findobj(Text)]
    plt.close(fig)
    return [t for t in texts if t]


def _core_loss(study, **kw):
    return S.core_loss(study, n_boot=20, out_of_time_windows=1, **kw)


def test_yuan_report_has_no_dollar_in_findings_lists_and_figures(study, yuan, monkeypatch):
    monkeypatch.delenv("CRMRESEARCH_REPORT_DIR", raising=False)
    cl = _core_loss(study)
    money_findings = [s for s in cl.findings if "¥" in s]
    assert money_findings, "the findings state money (revenue at risk, rising-star revenue)"
    assert not [s for s in cl.findings if "$" in s]
    assert not [s for s in cl.rising_validation.findings(currency="¥") if "$" in s]
    assert cl.adjusted_interpretation.count("$") == 0
    # list files and the report's preview use the same bands, in yuan
    bands = set(cl.lists.table["revenue_band"])
    assert bands and all("¥" in b or b == "unknown" for b in bands)
    preview = set(cl.neglected_list["revenue before"]) | set(cl.neglected_list["revenue after"])
    assert all("$" not in b for b in preview) and any("¥" in b for b in preview)
    assert preview <= set(__import__("crmresearch").loss.revenue_band(
        cl.result.customers["revenue_before"].tolist() + cl.result.customers["revenue_after"].tolist(),
        symbol="¥"))  # fmt: skip
    texts = _figure_texts(cl.result.plot_revenue(currency="¥"))
    texts += _figure_texts(cl.result.plot_overlap(currency="¥"))
    assert "net revenue (¥)" in texts and any(t.startswith("¥") for t in texts)
    assert any("volume cut ¥" in t for t in texts)
    assert not [t for t in texts if "$" in t and not t.startswith("$\\mathdefault")]  # log ticks
    # the report-side tables built from the result
    from crmresearch.reports.sections.core_loss_tables import rising_table

    cells = rising_table(cl.rising_validation).astype(str).to_numpy().ravel()
    assert not [c for c in cells if "$" in c]


def test_no_files_and_new_key_are_said_as_they_are(study, monkeypatch):
    monkeypatch.delenv("CRMRESEARCH_REPORT_DIR", raising=False)
    cl = _core_loss(study)
    text = S.lists_text(cl)
    assert cl.list_files == []
    assert "No list files were written" in text and "complete lists are in" not in text
    assert "new key for this run only" in text and "id_key" in text
    assert "same pseudonyms in every run" not in text


def test_lists_dir_and_key_file_give_files_and_stable_pseudonyms(study, tmp_path, monkeypatch):
    monkeypatch.delenv("CRMRESEARCH_REPORT_DIR", raising=False)
    key = tmp_path / "firm.key"
    runs = []
    for k in (1, 2):
        out = tmp_path / f"run{k}"
        cl = _core_loss(study, id_key=str(key), lists_dir=str(out))
        runs.append(cl)
        names = sorted(p.name for p in out.iterdir())
        assert set(cl.list_files) <= set(names) and any(n.endswith(".csv") for n in names)
        assert any(n.endswith(".xlsx") for n in names)
        text = S.lists_text(cl)
        assert all(f in text for f in cl.list_files) and "next to this report" in text
        assert "same key file gives the same pseudonyms in every run" in text
        assert cl.lists.key_fingerprint in text and str(tmp_path) not in text
    assert list(runs[0].lists.table["customer"]) == list(runs[1].lists.table["customer"])
    csv = next(n for n in runs[0].list_files if n.endswith(".csv"))
    assert (tmp_path / "run1" / csv).read_bytes() == (tmp_path / "run2" / csv).read_bytes()


def test_report_dir_from_the_runner_environment(study, tmp_path, monkeypatch):
    monkeypatch.setenv("CRMRESEARCH_REPORT_DIR", str(tmp_path))
    cl = _core_loss(study)
    assert cl.list_files and all((tmp_path / f).is_file() for f in cl.list_files)


def test_polish_texts(study, monkeypatch):
    monkeypatch.delenv("CRMRESEARCH_REPORT_DIR", raising=False)
    cl = _core_loss(study)
    text = " ".join(cl.findings)
    assert not re.search(r"\b1 customers\b", text)
    assert "not estimable extrapolate" not in text
    assert "when the CLV package is installed" not in text
    caveat = cl.rising_validation.recency_caveat
    assert "bought in the last period" in caveat and "recent purchase" in caveat
    # the sensitivity table shows the equal-size core once
    from crmresearch.reports.sections.core_loss_tables import sensitivity_table

    st = sensitivity_table(cl.sensitivity)
    assert st["core customers"].is_unique
    assert sum("size of top tier" in i for i in st.index) == 1


@pytest.fixture(scope="module")
def yuan_report(tmp_path_factory):
    """Run as the README shows: from the analyst's folder, with a relative --out and id_key."""
    import os

    from crmresearch import reports

    folder, before = tmp_path_factory.mktemp("yuan"), _package_notebook_files()
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        result = reports.run("core_customer_loss",
                             {"data": "synthetic", "n_customers": 400, "n_boot": 20, "currency": "¥",
                              "id_key": "keys/firm.key"},
                             "out", progress=False, formats=("html",))  # fmt: skip
    finally:
        os.chdir(cwd)
    assert _package_notebook_files() == before  # nothing written into the package
    return result, folder


def _package_notebook_files() -> list[str]:
    from crmresearch import reports

    folder = reports.notebook_path("core_customer_loss").parent
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.slow
def test_rendered_yuan_report_has_no_dollar(yuan_report):
    yuan_report, _folder = yuan_report
    html = (yuan_report.out_dir / "core_customer_loss.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S))
    assert "¥" in text and "Revenue at risk in the neglected core: ¥" in text
    assert "$" not in text


@pytest.mark.slow
def test_rendered_report_holds_its_lists(yuan_report):
    from crmresearch._privacy import key_fingerprint, load_key

    yuan_report, folder = yuan_report
    assert yuan_report.out_dir == folder / "out" / "core_customer_loss"
    files = {p.name for p in yuan_report.out_dir.iterdir()}
    assert "customer_lists.csv" in files and "customer_lists.xlsx" in files
    # the relative id_key is the caller's file: created there, and the lists are keyed with it
    key = folder / "keys" / "firm.key"
    assert key.is_file()
    assert yuan_report.metrics["id_key_fingerprint"] == key_fingerprint(load_key(key, create=False))
    html = (yuan_report.out_dir / "core_customer_loss.html").read_text(encoding="utf-8")
    assert "The complete lists are in customer_lists.csv and customer_lists.xlsx" in html


# ---------------------------------------------------------------- the summary's validity sentence


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", text)  # fmt_pct writes "20\xa0%"


def _diffs(**ci):
    """Differences baseline − index (shares) with the CI of each metric from ``ci``."""
    out = {}
    for m, (lo, hi) in ci.items():
        out |= {f"diff_{m}": (lo + hi) / 2, f"diff_{m}_low": lo, f"diff_{m}_high": hi}
    return out


def test_validity_sentence_follows_each_ci():
    above, below, covers = (0.060, 0.187), (-0.187, -0.060), (-0.019, 0.011)
    s = S.validity_sentence("calibration revenue (volume)", 0.2,
                            _diffs(precision=above, value_capture=covers, churn=below))  # fmt: skip
    assert _plain(s) == (
        "Against the index's top 20 %, the top 20 % by calibration revenue (volume) picks more "
        "of next period's top customers (precision +12.3 pts, 95 % CI +6.0 to +18.7), captures "
        "about as much next-period revenue (value capture −0.4 pts, 95 % CI −1.9 to +1.1) and "
        "churns less often (holdout churn −12.3 pts, 95 % CI −18.7 to −6.0)."
    )
    s = _plain(S.validity_sentence("RFM score", 0.2,
                                   _diffs(precision=below, value_capture=above, churn=covers)))
    assert "picks fewer of next period's top customers (precision −12.3 pts, 95 % CI −18.7 to −6.0)" in s
    assert "captures more next-period revenue (value capture +12.3 pts, 95 % CI +6.0 to +18.7)" in s
    assert "churns about as often (holdout churn −0.4 pts, 95 % CI −1.9 to +1.1)" in s
    s = _plain(S.validity_sentence("RFM score", 0.1,
                                   _diffs(precision=covers, value_capture=below, churn=above)))
    assert "top 10 %" in s and "picks about as many of next period's top customers" in s
    assert "captures less next-period revenue" in s and "churns more often" in s
    # a CI touching 0 or missing is no difference
    for lo, hi in ((0.0, 0.1), (-0.1, 0.0), (float("nan"), float("nan"))):
        assert S.validity_verdict(0.05, lo, hi) == 0
    assert S.validity_verdict(0.1, 0.01, 0.2) == 1 and S.validity_verdict(-0.1, -0.2, -0.01) == -1


def test_validity_sentence_is_translated():
    s = S.validity_sentence("calibration revenue (volume)", 0.2,
                            _diffs(precision=(0.06, 0.187), value_capture=(-0.019, 0.011),
                                   churn=(-0.05, -0.01)))  # fmt: skip
    labels.set_language("zh")
    try:
        zh = labels.t(s)
    finally:
        labels.set_language("en")
    assert "下期头部客户更多（精确率差值 +12.3 个百分点，95% 置信区间 +6.0 至 +18.7）" in zh
    assert "获取的下期收入大致相当" in zh and "验证期流失率更低" in zh


@pytest.mark.slow
def test_rendered_summary_states_validity_from_metrics(yuan_report):
    """The report's sentence on each baseline is the one its metrics.json estimates give: the
    numbers are those estimates (baseline − index) and each word follows its CI."""
    import html as H

    yuan_report, _folder = yuan_report

    page = (yuan_report.out_dir / "core_customer_loss.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", page, flags=re.S))
    text = _plain(H.unescape(text))
    validity = yuan_report.metrics["validity"]
    compared = [s for s, v in validity.items() if s != "index" and v["estimable"]]
    assert "volume" in compared
    for scheme in compared:
        v = validity[scheme]
        diffs = {}
        for m in ("precision", "value_capture", "churn"):
            lo, hi = v[f"{m}_minus_index_ci"]
            diffs |= {f"diff_{m}": v[f"{m}_minus_index"], f"diff_{m}_low": lo, f"diff_{m}_high": hi}
        sentence = _plain(S.validity_sentence(v["label"], 0.2, diffs))
        assert sentence in text, sentence
    # the volume sentence read back: its numbers and words against metrics.json
    v = validity["volume"]
    got = re.search(r"by calibration revenue \(volume\) picks (.+?) of next period's top customers "
                    r"\(precision (\S+) pts, 95 % CI (\S+) to (\S+)\), captures (.+?) next-period "
                    r"revenue \(value capture (\S+) pts, 95 % CI (\S+) to (\S+)\) and churns (.+?) "
                    r"\(holdout churn (\S+) pts, 95 % CI (\S+) to (\S+)\)\.", text)  # fmt: skip
    assert got, "the summary compares the volume scheme with the index"
    words = {"precision": ("more", "fewer", "about as many"),
             "value_capture": ("more", "less", "about as much"),
             "churn": ("more often", "less often", "about as often")}  # fmt: skip
    for i, m in enumerate(("precision", "value_capture", "churn")):
        word, d, lo, hi = got.groups()[4 * i: 4 * i + 4]
        num = [float(x.replace("−", "-")) / 100 for x in (d, lo, hi)]
        want = [v[f"{m}_minus_index"], *v[f"{m}_minus_index_ci"]]
        assert num == pytest.approx(want, abs=0.0005)
        wlo, whi = want[1:]
        assert word == words[m][0 if wlo > 0 else 1 if whi < 0 else 2]
