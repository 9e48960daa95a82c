"""Every result object's summary() prints labels and numbers plainly (issue 11, item 5).

Each result class of the package that has a ``summary()`` is built here from small data through
the public functions, with numpy-typed labels where a user's table would have them (0/1 arms,
integer tiers), and its text must contain neither a numpy repr (``np.int64(0)``) nor a default
object repr (``object at 0x``). A discovery test fails when a new result class with a
``summary()`` appears that no builder here covers.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings

import numpy as np
import pandas as pd
import pytest

import crmresearch

BAD = ("np.", "object at 0x")


@pytest.fixture(scope="module")
def world():
    from crmresearch import features, tiers
    from crmresearch.datasets import make_crm_data
    from crmresearch.index import ClassificationIndex

    crm = make_crm_data(600, seed=3)
    truth = crm.truth
    feats = features.customer_features(
        crm.transactions, start=truth.start, end=truth.calibration_end
    )
    outcomes = features.holdout_outcomes(
        crm.transactions, start=truth.holdout_start, end=truth.holdout_end, customers=feats.index
    )
    cols = ["recency_days", "frequency", "monetary", "tenure_days", "avg_order_value"]
    X = feats[cols].fillna(0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        index = ClassificationIndex(n_factors=2).fit(X)
    composite = index.composite(X)
    return {
        "crm": crm,
        "features": feats,
        "X": X,
        "outcomes": outcomes,
        "index": index,
        "composite": composite,
        "volume_tier": tiers.abc(feats["monetary"], shares=(0.2, 0.3, 0.5)),
        "index_tier": tiers.abc(composite, shares=(0.2, 0.3, 0.5)),
    }


def numpy_labelled_experiment(n=900, seed=0):
    """Arms 0/1/2 and tiers 1/2/3 as numpy integers: what a user's CSV gives."""
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 3, n)
    tier = rng.integers(1, 4, n)
    y = 10 + 2.0 * (arm == 1) + rng.normal(0, 3, n)
    return pd.DataFrame(
        {
            "arm": arm,
            "tier": tier,
            "y": y,
            "buy": (y > 11).astype(int),
            "score": rng.normal(size=n),
            "volume": rng.gamma(2, 10, n),
        }
    )


# ------------------------------------------------------------------ builders
def build_transaction_log(w):
    from crmresearch.data import read_transactions

    return read_transactions(w["crm"].transactions.frame.head(500))


def build_customer_table(w):
    from crmresearch.data import read_customers

    return read_customers(w["crm"].customers.head(200))


def build_index(w):
    return w["index"]


def build_index_bootstrap(w):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return w["index"].bootstrap(w["X"], n_boot=5, seed=0)


def build_low_msa_refit(w):
    from crmresearch.index import refit_without_low_msa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return refit_without_low_msa(w["features"], "ecommerce")


def build_scheme_comparison(w):
    from crmresearch.compare import compare_schemes

    return compare_schemes(w["volume_tier"], w["index_tier"], value=w["features"]["monetary"])


def build_tier_profiles(w):
    from crmresearch.compare import tier_profiles

    return tier_profiles(w["X"], w["volume_tier"])


def build_migration(w):
    from crmresearch.compare import migration_matrix

    return migration_matrix(w["volume_tier"], w["index_tier"])


def build_predictive_validity(w):
    from crmresearch.compare import predictive_validity

    return predictive_validity(
        {"volume": w["volume_tier"], "index": w["index_tier"]}, w["outcomes"], n_boot=20
    )


def build_core_loss(w):
    from crmresearch.loss import potential_core_loss

    return potential_core_loss(
        w["composite"],
        w["volume_tier"],
        w["outcomes"],
        revenue_before=w["features"]["monetary"],
    )


def build_customer_lists(w):
    return build_core_loss(w).customer_lists()


def build_baseline_validity(w):
    from crmresearch.compare import baseline_validity

    scores = {"volume": w["features"]["monetary"], "index": w["composite"]}
    return baseline_validity(scores, w["outcomes"], n_boot=20)


def _rfm(w):
    from crmresearch.clv import rfm_summary

    crm = w["crm"]
    return rfm_summary(crm.transactions, calibration_end=crm.truth.calibration_end)


def build_beta_geo(w):
    from crmresearch.clv import BetaGeoModel

    rfm = _rfm(w)
    return BetaGeoModel().fit(rfm["frequency"], rfm["recency"], rfm["T"])


def build_gamma_gamma(w):
    from crmresearch.clv import GammaGammaModel

    rep = _rfm(w)
    rep = rep[rep["frequency"] > 0]
    return GammaGammaModel().fit(rep["frequency"], rep["monetary_value"])


def build_tier_effects(w):
    from crmresearch.strategy import effect_by_tier

    frame = numpy_labelled_experiment()
    frame.loc[(frame["tier"] == 3) & (frame["arm"] == 2), "arm"] = 0  # a skipped tier/arm
    return effect_by_tier(frame, treatment="arm", outcome="y", tier="tier", control=0)


def build_did(w):
    from crmresearch.strategy import diff_in_diff

    crm = w["crm"]
    return diff_in_diff(crm.transactions, crm.rollout, periods=(crm.truth.start,
                        crm.truth.rollout_end))  # fmt: skip


def build_policy_values(w):
    from crmresearch.strategy import policy_value

    frame = numpy_labelled_experiment()
    return policy_value(frame, {"top": "score", "all": "everyone"}, treatment="arm",
                        outcome="y", control=0, treated=1, budget=0.3, n_boot=20)  # fmt: skip


def build_policy_contrasts(w):
    from crmresearch.strategy import policy_contrasts

    frame = numpy_labelled_experiment()
    return policy_contrasts(frame, {"top": "score", "all": "everyone"}, treatment="arm",
                            outcome="y", control=0, treated=1, budget=0.3)  # fmt: skip


def build_campaign_analysis(w):
    from crmresearch.strategy import campaign_analysis

    frame = numpy_labelled_experiment()
    frame = frame[~((frame["tier"] == 3) & (frame["arm"] == 2))]  # arm 2 never reached tier 3
    return campaign_analysis(frame, arm="arm", outcomes=["y", "buy"], control=0, tier="tier",
                             index_score="score", volume_score="volume", revenue="y",
                             margin=0.3, cost_per_customer=0.5)  # fmt: skip


BUILDERS = {
    "TransactionLog": build_transaction_log,
    "CustomerTable": build_customer_table,
    "ClassificationIndex": build_index,
    "BootstrapResult": build_index_bootstrap,
    "LowMsaRefit": build_low_msa_refit,
    "SchemeComparison": build_scheme_comparison,
    "TierProfiles": build_tier_profiles,
    "Migration": build_migration,
    "PredictiveValidity": build_predictive_validity,
    "CoreLossResult": build_core_loss,
    "CustomerLists": build_customer_lists,
    "BaselineValidity": build_baseline_validity,
    "BetaGeoModel": build_beta_geo,
    "GammaGammaModel": build_gamma_gamma,
    "TierEffects": build_tier_effects,
    "DiDResult": build_did,
    "PolicyValues": build_policy_values,
    "PolicyContrasts": build_policy_contrasts,
    "CampaignAnalysis": build_campaign_analysis,
}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_summary_prints_plain_labels_and_numbers(world, name):
    obj = BUILDERS[name](world)
    assert type(obj).__name__ == name
    text = str(obj.summary())
    assert text.strip(), name
    for bad in BAD:
        assert bad not in text, f"{name}.summary() contains {bad!r}:\n{text}"


def test_numpy_labels_print_as_plain_labels(world):
    text = build_tier_effects(world).summary()
    assert "control arm '0'" in text
    assert "tier '3' arm '2'" in text  # the skipped cell, named plainly


def _result_classes_with_summary() -> set[str]:
    found = set()
    for info in pkgutil.walk_packages(crmresearch.__path__, "crmresearch."):
        if ".cli" in info.name or ".reports" in info.name:
            continue  # commands and report builders are not result objects
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or name.startswith("_"):
                continue
            if callable(getattr(cls, "summary", None)):
                found.add(name)
    return found


#: Base classes whose summary() runs only in a fitted subclass (each subclass has a builder).
BASE_CLASSES = {"MLEModel"}  # clv: BetaGeoModel, GammaGammaModel


def test_every_result_class_with_a_summary_is_covered():
    missing = _result_classes_with_summary() - set(BUILDERS) - BASE_CLASSES
    assert not missing, f"add a builder for {sorted(missing)} to tests/test_summaries.py"
