"""The segment-value report's index-robustness part: its sentences and metrics are the numbers of
the library results they describe (issue 10, item 9)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone

from crmresearch._format import fmt_int, fmt_num, fmt_pct
from crmresearch.features import load_config
from crmresearch.index import refit_without_low_msa
from crmresearch.reports.sections.segment_value import index_robustness
from crmresearch.study import Study


@pytest.fixture(scope="module")
def robustness():
    study = Study.from_params("synthetic", n_customers=600, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rb = index_robustness(study, n_boot=20)
    return study, rb


def test_bootstrap_numbers_in_the_sentences_and_metrics(robustness):
    study, rb = robustness
    idx, boot = study.index, rb.bootstrap
    top = study.top_tier
    assert rb.top_share == pytest.approx((study.index_tiers == top).mean())
    m = rb.metrics["index_robustness"]
    assert m["bootstrap_n"] == boot.n_boot == 20
    assert m["parallel_iter"] == idx.parallel_.n_iter == 100
    assert m["top_tier_changed_mean"] == pytest.approx(boot.top_tier_changed.mean())
    assert m["n_factors_stability"] == boot.n_factors_stability
    sentence = next(s for s in rb.findings if "bootstrap resamples" in s)
    assert f"in {fmt_pct(boot.n_factors_stability)} of resamples" in sentence
    assert (
        f"{fmt_pct(boot.top_tier_changed.mean())} of customers change their tier-{top}" in sentence
    )
    assert f"{fmt_pct(boot.top_tier_retained.mean())} of tier {top} stays" in sentence


def test_parallel_sentence_states_the_margin_of_the_last_factor(robustness):
    study, rb = robustness
    pa, k = study.index.parallel_, study.index.n_factors_
    sentence = rb.findings[0]
    obs, thr = pa.observed.iloc[k - 1], pa.threshold.iloc[k - 1]
    assert obs > thr  # retained because it beats random data
    assert f"({fmt_num(obs, 3)}) exceeds" in sentence and f"by {fmt_num(obs - thr, 3)}" in sentence
    retained = rb.retention_table["retained"]
    assert (retained == "yes").sum() == k


def test_low_msa_refit_and_imputed_shares_match_direct_calls(robustness):
    study, rb = robustness
    idx = study.index
    direct = refit_without_low_msa(
        study.features, load_config(study.params.index_config), index=clone(idx),
        top_share=rb.top_share,
    )  # fmt: skip
    assert rb.refit.n_changed == direct.n_changed
    assert list(rb.refit.dropped.index) == list(direct.dropped.index) == idx.low_msa_
    m = rb.metrics["index_robustness"]
    assert set(m["low_msa"]) == set(idx.low_msa_)
    # the synthetic world's return_rate shares little with the rest (its MSA is below 0.5)
    assert idx.low_msa_ and rb.refit.reduced is not None
    sentence = next(s for s in rb.findings if s.startswith("Indicators with MSA below 0.5"))
    assert f"{fmt_int(direct.n_changed)} of the {fmt_int(direct.n_top)}" in sentence
    imputed = idx.imputed_share_[idx.imputed_share_ > 0]
    assert len(imputed)  # regularity_cv needs 3 purchase days: some customers have fewer
    assert m["imputed_share"] == pytest.approx(imputed.to_dict())
    for share in imputed:
        assert any(
            re.search(rf"for {re.escape(fmt_pct(share))} of customers", s) for s in rb.findings
        )
    np.testing.assert_allclose(rb.imputed_table["share of customers imputed"], imputed.to_numpy())
