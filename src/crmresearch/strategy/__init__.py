"""Strategy effectiveness: did a tier's strategy work, for which tier, and was it worth its cost?

One function per question:

- :func:`effect_by_tier` — randomized customer-level experiments: effect per tier and overall
  (difference in means by OLS with HC2 or cluster-robust SEs, optional ANCOVA), Holm-adjusted
  p-values across tiers and a joint Wald test of treatment × tier heterogeneity.
- :func:`experiment_from_log` — build the customer-level experiment frame from a transaction log
  and a campaign table (pre-period indicators, post-period outcomes).
- :func:`make_panel` / :func:`diff_in_diff` — non-randomized staggered roll-outs: customer × period
  panel, two-way fixed effects with customer-clustered SEs, event-study leads and lags.
- :func:`roi` — incremental profit per tier and the break-even cost per customer.
- :func:`policy_value` — value of a targeting rule (top-k by index, by volume, random, everyone,
  nobody) from randomized data by inverse-probability weighting, with bootstrap CIs.
- :func:`power_table` — minimum detectable effect per tier and the sample size for a given effect.
- :func:`policy_contrasts` — values of targeting rules and their paired differences, analytic SEs.
- :func:`campaign_analysis` — all of the above for every arm × outcome × tier of one randomized
  campaign (:func:`campaign_experiment` builds its table from a campaign table and the log;
  :func:`hillstrom_experiment` prepares the Hillstrom e-mail campaign).

Modules: ``experiment`` (effects, experiment frame, robust OLS), ``did``, ``roi``, ``policy``,
``power``, ``campaign``, ``hillstrom``. All estimators are plain OLS / sandwich algebra checked against statsmodels in the tests.
"""

from crmresearch.strategy._common import OVERALL, label_text, scheme_label
from crmresearch.strategy.campaign import CampaignAnalysis, campaign_analysis
from crmresearch.strategy.campaign_table import campaign_experiment
from crmresearch.strategy.did import DiDResult, diff_in_diff, make_panel
from crmresearch.strategy.experiment import (
    EFFECT_COLUMNS,
    TierEffects,
    effect_by_tier,
    experiment_from_log,
)
from crmresearch.strategy.hillstrom import hillstrom_experiment, hillstrom_indicators
from crmresearch.strategy.policy import (
    PolicyContrasts,
    PolicyValues,
    policy_contrasts,
    policy_value,
)
from crmresearch.strategy.power import power_table
from crmresearch.strategy.roi import roi

__all__ = [
    "OVERALL",
    "label_text",
    "scheme_label",
    "EFFECT_COLUMNS",
    "TierEffects",
    "DiDResult",
    "PolicyValues",
    "effect_by_tier",
    "experiment_from_log",
    "make_panel",
    "diff_in_diff",
    "roi",
    "policy_value",
    "power_table",
    "PolicyContrasts",
    "policy_contrasts",
    "CampaignAnalysis",
    "campaign_analysis",
    "campaign_experiment",
    "hillstrom_indicators",
    "hillstrom_experiment",
]
