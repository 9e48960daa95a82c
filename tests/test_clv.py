"""crmresearch.clv against published numbers (Fader, Hardie & Lee 2005 on the CDNOW 1/10
sample), against planted truth (data simulated from the models) and hand computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln, gammaln

from crmresearch.clv import (
    BetaGeoModel,
    GammaGammaModel,
    customer_lifetime_value,
    customer_value,
    holdout_length,
    holdout_purchases,
    rfm_summary,
)
from crmresearch.errors import DataError

CALIBRATION_END = "1997-09-30"  # 39 weeks after the cohort's first day, 1997-01-01
HOLDOUT_END = "1998-06-30"  # weeks 40-78

# Fader, Hardie & Lee (2005), Marketing Science 24(2), Table/sec. 6; the same values are asserted
# by lifetimes' tests (test_params_out_is_close_to_Hardie_paper) and Hardie's spreadsheets.
BGNBD_PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
BGNBD_LL_PUBLISHED = -9582.4
# Fader, Hardie & Lee (2005), JMR 42(4) / Fader & Hardie (2013) note 025; lifetimes' tests.
GAMMA_GAMMA_PUBLISHED = {"p": 6.25, "q": 3.74, "gamma": 15.44}
REL = 0.005  # issue 10: within 0.5 %


# -- rfm_summary -------------------------------------------------------------------------------


def _log(rows):
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).assign(
        date=lambda d: pd.to_datetime(d["date"])
    )


def test_rfm_summary_by_hand():
    log = _log(
        [
            ("a", "2020-01-01", 10.0),
            ("a", "2020-01-01", 5.0),  # same day: merged, 15
            ("a", "2020-01-15", 20.0),
            ("a", "2020-01-29", 40.0),
            ("a", "2020-03-01", 99.0),  # after the calibration end: ignored
            ("b", "2020-01-08", 7.0),
            ("c", "2020-02-15", 0.0),  # first purchase after the end
        ]
    )
    s = rfm_summary(log, calibration_end="2020-02-12")
    assert list(s.index) == ["a", "b"]
    a = s.loc["a"]
    assert a["frequency"] == 2  # three purchase days
    assert a["recency"] == pytest.approx(28 / 7) and a["T"] == pytest.approx(42 / 7)
    assert a["monetary_value"] == pytest.approx((20 + 40) / 2)  # first day excluded
    b = s.loc["b"]
    assert (b["frequency"], b["recency"], b["monetary_value"]) == (0, 0.0, 0.0)
    assert b["T"] == pytest.approx(35 / 7)
    days = rfm_summary(log, calibration_end="2020-02-12", time_unit="D")
    assert days.loc["a", "T"] == 42
    assert s.attrs["rows_after_calibration"] == 2
    h = holdout_purchases(log, s.index, calibration_end="2020-02-12", holdout_end="2020-03-31")
    assert h.to_dict() == {"a": 1, "b": 0}


def test_rfm_summary_bad_input():
    with pytest.raises(DataError, match="lacks column"):
        rfm_summary(pd.DataFrame({"customer_id": [1]}), calibration_end="2020-01-01")
    with pytest.raises(DataError, match="no transaction on or before"):
        rfm_summary(_log([("a", "2021-01-01", 1.0)]), calibration_end="2020-01-01")
    with pytest.raises(ValueError, match="time_unit"):
        rfm_summary(_log([("a", "2020-01-01", 1.0)]), calibration_end="2020-01-01", time_unit="Y")
    with pytest.raises(DataError, match="recency"):
        BetaGeoModel().fit([1, 0, 2, 1], [5, 0, 1, 1], [4, 4, 4, 4])


# -- planted truth -----------------------------------------------------------------------------


def simulate_bgnbd(n, r, alpha, a, b, T, rng):
    """Simulate BG/NBD customers observed for T: (frequency, recency) by the model's story."""
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n, dtype=int)
    t_x = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:  # drops out right after this purchase
                break
    return x, t_x, np.full(n, float(T))


def test_bgnbd_recovers_planted_parameters():
    rng = np.random.default_rng(7)
    truth = {"r": 0.5, "alpha": 4.0, "a": 1.2, "b": 3.0}
    x, t_x, T = simulate_bgnbd(8000, *truth.values(), T=52, rng=rng)
    model = BetaGeoModel().fit(x, t_x, T)
    ci = model.confidence_intervals(0.99)
    for name, value in truth.items():
        assert ci.loc[name, "ci_low"] < value < ci.loc[name, "ci_high"], (name, ci.loc[name])
    assert model.converged_


@pytest.mark.parametrize(
    "truth",
    [
        {"r": 0.5, "alpha": 4.0, "a": 1.2, "b": 3.0},
        {"r": 2.0, "alpha": 8.0, "a": 0.3, "b": 6.0},  # few drop out (E[p] ≈ 0.05)
    ],
)
def test_bgnbd_with_a_real_dropout_process_stays_estimable(truth):
    """Planted truth with dropout: the identification rule (E[p] ≥ 1e-6 and a log-likelihood
    gain over no dropout ≥ 1e-3) keeps it estimable, and P(alive) is not 1 for everyone."""
    rng = np.random.default_rng(3)
    x, t_x, T = simulate_bgnbd(2000, *truth.values(), T=52, rng=rng)
    model = BetaGeoModel().fit(x, t_x, T)
    assert model.estimable_ and model.problem_ == "" and model.converged_
    assert model.mean_dropout_ > 1e-3 and model.dropout_gain_ > 1
    assert model.p_alive(x, t_x, T).min() < 0.5


def test_gamma_gamma_recovers_planted_parameters():
    rng = np.random.default_rng(11)
    p, q, gamma = 4.0, 5.0, 20.0
    n = 4000
    x = rng.integers(1, 12, n)
    nu = rng.gamma(q, 1 / gamma, n)
    spends = [rng.gamma(p, 1 / nu[i], x[i]).mean() for i in range(n)]
    model = GammaGammaModel().fit(x, spends)
    ci = model.confidence_intervals(0.99)
    for name, value in {"p": p, "q": q, "gamma": gamma}.items():
        assert ci.loc[name, "ci_low"] < value < ci.loc[name, "ci_high"], (name, ci.loc[name])


def test_first_purchase_on_the_last_calibration_day_is_valid(cdnow):
    """T = 0 (first bought on the calibration end, no repeat yet) has likelihood exactly 1, so
    adding such customers leaves the fit unchanged; it must not be refused as bad data."""
    summary, model = cdnow
    model_ll = BetaGeoModel()._log_likelihoods(
        tuple(model.params_[k] for k in ("r", "alpha", "a", "b")),
        np.zeros(3), np.zeros(3), np.zeros(3),
    )  # fmt: skip
    np.testing.assert_allclose(model_ll, 0.0, atol=1e-12)
    x = np.r_[summary["frequency"], np.zeros(50)]
    t_x = np.r_[summary["recency"], np.zeros(50)]
    T = np.r_[summary["T"], np.zeros(50)]
    refit = BetaGeoModel().fit(x, t_x, T)
    for name, value in model.params_.items():
        assert refit.params_[name] == pytest.approx(value, rel=1e-4), name


def test_bgnbd_log_likelihood_is_the_closed_form():
    x, t_x, T = np.array([0, 1, 3]), np.array([0.0, 2.0, 10.0]), np.array([12.0, 12.0, 12.0])
    r, alpha, a, b = 0.7, 3.0, 0.9, 2.0
    model = BetaGeoModel()
    got = model._log_likelihoods((r, alpha, a, b), x, t_x, T)

    def direct(xi, txi, Ti):
        base = np.exp(gammaln(r + xi) - gammaln(r) + r * np.log(alpha))
        term1 = np.exp(betaln(a, b + xi) - betaln(a, b)) / (alpha + Ti) ** (r + xi)
        term2 = 0.0
        if xi > 0:
            term2 = np.exp(betaln(a + 1, b + xi - 1) - betaln(a, b)) / (alpha + txi) ** (r + xi)
        return np.log(base * (term1 + term2))

    np.testing.assert_allclose(got, [direct(*v) for v in zip(x, t_x, T, strict=True)], rtol=1e-12)


def test_p_alive_formula_and_limits():
    model = BetaGeoModel()
    model.params_ = pd.Series({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    assert model.p_alive(0, 0.0, 30.0) == 1.0  # no repeat: cannot have dropped out
    x, t_x, T = 3, 10.0, 38.0
    odds = 0.793 / (2.426 + x - 1) * ((4.414 + T) / (4.414 + t_x)) ** (0.243 + x)
    assert model.p_alive(x, t_x, T) == pytest.approx(1 / (1 + odds), rel=1e-12)
    # a recent purchase makes the customer more likely alive than an old one
    assert model.p_alive(3, 37.0, 38.0) > model.p_alive(3, 5.0, 38.0)


# -- the published CDNOW estimates ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_log():
    from crmresearch.datasets import load_cdnow_sample

    return load_cdnow_sample()


@pytest.fixture(scope="module")
def cdnow(sample_log):
    summary = rfm_summary(sample_log, calibration_end=CALIBRATION_END)
    return summary, BetaGeoModel().fit(summary["frequency"], summary["recency"], summary["T"])


def test_cdnow_sample_summary_is_fhl_2005s(cdnow):
    summary, _ = cdnow
    assert len(summary) == 2357
    assert int(summary["frequency"].sum()) == 2457  # repeat purchases in weeks 1-39 (FHL 2005)
    assert (summary["frequency"] == 0).sum() == 1411  # FHL 2005: 1,411 made no repeat purchase
    assert summary["T"].max() == pytest.approx(272 / 7)  # 1997-01-01 .. 1997-09-30 = 38.86 weeks
    # rows of the published calibration summary (FHL 2005 data, 2 decimals; ids of the master log)
    published = pd.DataFrame(
        [
            ("00004", 2, 30.43, 38.86, 22.35),
            ("00021", 1, 1.71, 38.86, 11.77),
            ("00111", 7, 29.43, 38.86, 73.74),
            ("00564", 12, 34.43, 38.57, 29.54),
            ("07735", 0, 0.00, 32.86, 0.00),
            ("10879", 5, 32.43, 32.86, 26.18),
        ],
        columns=["customer_id", "frequency", "recency", "T", "monetary_value"],
    ).set_index("customer_id")
    got = summary.loc[published.index, published.columns]
    assert (got["frequency"] == published["frequency"]).all()
    np.testing.assert_allclose(
        got.drop(columns="frequency"), published.drop(columns="frequency"), atol=0.0051
    )


def test_bgnbd_reproduces_fader_hardie_lee_2005(cdnow):
    _, model = cdnow
    for name, value in BGNBD_PUBLISHED.items():
        assert model.params_[name] == pytest.approx(value, rel=REL), name
    assert model.log_likelihood_ == pytest.approx(BGNBD_LL_PUBLISHED, rel=1e-5)
    # FHL 2005 / Hardie's spreadsheet: E[Y(39) | x = 2, t_x = 30.43, T = 38.86] = 1.226
    assert model.expected_purchases(39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=5e-4)
    text = model.summary()
    assert "log-likelihood: −9,582.4" in text and "np." not in text


def test_bgnbd_holdout_forecast_against_actual(sample_log, cdnow):
    summary, model = cdnow
    actual = holdout_purchases(
        sample_log, summary.index, calibration_end=CALIBRATION_END, holdout_end=HOLDOUT_END
    )
    weeks = holdout_length(calibration_end=CALIBRATION_END, holdout_end=HOLDOUT_END)
    assert weeks == 39
    forecast = model.expected_purchases(
        weeks, summary["frequency"], summary["recency"], summary["T"]
    )
    # FHL 2005 report a correlation of 0.626 between conditional expectations and holdout counts
    assert np.corrcoef(forecast, actual)[0, 1] == pytest.approx(0.626, abs=0.002)
    # total holdout repeat purchases: the model under-forecasts (FHL 2005, sec. 6); here within 15 %
    ratio = forecast.sum() / actual.sum()
    assert 0.85 < ratio < 1.0, (forecast.sum(), actual.sum())
    # cumulative repeat purchases at week 78 from the unconditional curve (measured −4.1 %; a
    # summary of FHL 2005 found by search gives "under-forecast 4 %" for the tracking plot)
    cumulative = model.expected_purchases_new_customer(summary["T"].to_numpy() + weeks).sum()
    actual_cumulative = summary["frequency"].sum() + actual.sum()
    assert -0.05 < cumulative / actual_cumulative - 1 < 0


def test_gamma_gamma_reproduces_fader_hardie_lee_2005(cdnow):
    summary, _ = cdnow
    model = GammaGammaModel().fit(summary["frequency"], summary["monetary_value"])
    for name, value in GAMMA_GAMMA_PUBLISHED.items():
        assert model.params_[name] == pytest.approx(value, rel=REL), name
    assert model.n_customers_ == 946 and model.n_excluded_["no repeat purchase"] == 1411
    # Hardie's spreadsheet (note 025; lifetimes' test_conditional_expected_average_profit):
    # customers 1, 2, 3 and 6 of the published summary: (x, m_x) = (2, 22.35), (1, 11.77), (0, -),
    # (7, 73.74)
    x, m = pd.Series([2, 1, 0, 7]), pd.Series([22.35, 11.77, 0.0, 73.74])
    np.testing.assert_allclose(model.expected_spend(x, m), [24.65, 18.91, 35.17, 71.46], rtol=1e-3)
    expected = model.expected_spend(x, m)
    assert model.population_mean_spend() == pytest.approx(expected.iloc[2])


def test_clv_is_the_discounted_sum_of_monthly_expected_value(cdnow):
    summary, bg = cdnow
    gg = GammaGammaModel().fit(summary["frequency"], summary["monetary_value"])
    clv = customer_lifetime_value(bg, gg, summary, months=6, discount_rate=0.02, margin=0.3)
    i = summary.index[0]
    x, t_x, T, m = summary.loc[i, ["frequency", "recency", "T", "monetary_value"]]
    per_month = (365.2425 / 12) / 7
    steps = [bg.expected_purchases(k * per_month, x, t_x, T) for k in range(7)]
    direct = (
        sum((steps[k] - steps[k - 1]) / 1.02**k for k in range(1, 7))
        * gg.expected_spend(x, m)
        * 0.3
    )
    assert clv.loc[i] == pytest.approx(direct, rel=1e-12)
    assert (clv >= 0).all() and clv.index.equals(summary.index)
    undiscounted = customer_lifetime_value(bg, gg, summary, months=6, discount_rate=0.0)
    assert (undiscounted >= clv / 0.3 - 1e-9).all()
    with pytest.raises(ValueError, match="months"):
        customer_lifetime_value(bg, gg, summary, months=0)


def test_customer_value_is_the_published_fit_and_says_when_not_estimable(sample_log, cdnow):
    summary, bg = cdnow
    got = customer_value(sample_log, CALIBRATION_END)
    assert got.estimable and got.note == ""
    assert got.p_alive.to_numpy() == pytest.approx(
        bg.p_alive(summary["frequency"], summary["recency"], summary["T"]).to_numpy(), rel=1e-12
    )
    gg = GammaGammaModel().fit(summary["frequency"], summary["monetary_value"])
    expected = customer_lifetime_value(bg, gg, summary, months=12)
    assert got.clv.to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-12)
    # nobody buys twice: BG/NBD cannot be fitted; the result says so instead of raising
    once = _log([(f"c{i}", "2024-01-0" + str(1 + i % 5), 10.0) for i in range(40)])
    none = customer_value(once, "2024-03-31")
    assert not none.estimable and none.p_alive is None
    assert none.note.startswith("CLV not estimable: ") and none.clv.isna().all()
    assert len(none.clv) == 40


def test_models_follow_the_estimator_contract_and_refuse_bad_input():
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    model = BetaGeoModel(tol=1e-8)
    assert clone(model).get_params() == {"tol": 1e-8, "max_iter": 10_000}
    with pytest.raises(NotFittedError):
        model.p_alive(1, 1.0, 2.0)
    before = model.get_params()
    model.fit([0, 1, 2, 3, 1], [0.0, 1.0, 3.0, 5.0, 2.0], [6.0, 6.0, 6.0, 6.0, 6.0])
    assert model.get_params() == before
    with pytest.raises(DataError, match="whole number"):
        GammaGammaModel().fit([1.5, 2, 3], [10.0, 20.0, 30.0])
    with pytest.warns(UserWarning, match="mean repeat value ≤ 0"):
        gg = GammaGammaModel().fit([1, 2, 3, 2, 1, 4], [-5.0, 20.0, 30.0, 25.0, 12.0, 18.0])
    assert gg.n_excluded_["mean value ≤ 0"] == 1 and gg.n_customers_ == 5
    assert "array(" not in gg.summary() and "np.float" not in gg.summary()
