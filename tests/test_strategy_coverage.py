"""Coverage simulation: 95 % CIs of effect_by_tier cover planted per-tier effects in 90–99 % of
runs (hand-made generator, fast) and on the package's synthetic CRM campaign (slow)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmresearch.strategy import effect_by_tier

PLANTED = {"A": 0.2, "B": 0.6, "C": 1.0}  # extra purchases per treated customer


def hand_made_campaign(seed: int, n: int = 900) -> pd.DataFrame:
    """Skewed count outcome like holdout purchases: overdispersed baseline + Poisson uplift."""
    rng = np.random.default_rng(seed)
    tier = rng.choice(["A", "B", "C"], n, p=[0.15, 0.35, 0.5])
    arm = np.where(rng.random(n) < 0.5, "treatment", "control")
    base_rate = rng.gamma(1.5, pd.Series(tier).map({"A": 4.0, "B": 2.0, "C": 1.0}).to_numpy())
    uplift = pd.Series(tier).map(PLANTED).to_numpy() * (arm == "treatment")
    purchases = rng.poisson(base_rate) + rng.poisson(uplift)
    return pd.DataFrame({"arm": arm, "tier": tier, "purchases": purchases})


def test_coverage_hand_made_generator():
    n_seeds = 80  # coverage A 0.96, B 0.96, C 0.94 with these seeds
    covered = {t: 0 for t in PLANTED}
    for seed in range(n_seeds):
        table = effect_by_tier(
            hand_made_campaign(seed), treatment="arm", outcome="purchases", tier="tier"
        ).table.set_index("tier")
        for t, truth in PLANTED.items():
            covered[t] += table.loc[t, "ci_low"] < truth < table.loc[t, "ci_high"]
    rates = {t: c / n_seeds for t, c in covered.items()}
    for rate in rates.values():
        assert 0.90 <= rate <= 0.99, rates


def _make_crm_data():
    try:
        from crmresearch.datasets import make_crm_data
    except ImportError:
        try:
            from crmresearch.synthetic import make_crm_data
        except ImportError:
            pytest.skip("crmresearch.datasets.make_crm_data is not available yet")
    return make_crm_data


@pytest.mark.slow
def test_coverage_synthetic_crm_campaign():
    """50 draws of the package generator; outcomes built from the log by experiment_from_log."""
    from crmresearch.strategy import experiment_from_log

    make_crm_data = _make_crm_data()
    n_seeds = 50
    covered = {}
    for seed in range(n_seeds):
        crm = make_crm_data(600, seed=1000 + seed)
        truth = crm.truth
        frame = experiment_from_log(
            crm.transactions,
            crm.campaign,
            pre=(truth.start, truth.calibration_end),
            post=(truth.holdout_start, truth.holdout_end),
        )
        assert frame.attrs["n_campaign"] == len(crm.campaign)
        for outcome in ("purchases", "revenue"):
            table = effect_by_tier(
                frame, treatment="arm", outcome=outcome, tier="tier"
            ).table.set_index("tier")
            for t in truth.campaign_effects.index:
                if t not in table.index:
                    continue
                planted = truth.campaign_effects.loc[t, outcome]
                hit = table.loc[t, "ci_low"] < planted < table.loc[t, "ci_high"]
                covered.setdefault((outcome, t), []).append(hit)
    rates = {k: float(np.mean(v)) for k, v in covered.items()}
    for key, rate in rates.items():
        assert len(covered[key]) >= 45, key
        assert 0.90 <= rate <= 0.99, rates
