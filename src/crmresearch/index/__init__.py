"""Customer classification index: factor analysis of customer indicators.

The method of the applied CRM literature: indicators → sampling adequacy (KMO, Bartlett) →
retain *k* factors → extract and rotate → factor scores → a composite index
``C = Σ wᵢ Fᵢ`` where ``wᵢ`` is factor *i*'s share of the explained (rotated) variance.

Modules: ``estimator`` (:class:`ClassificationIndex`), ``preparation`` (directions, logs,
missing values, correlations), ``adequacy`` (KMO, Bartlett), ``retention`` (parallel analysis),
``extraction`` (pc / minres / ml), ``rotation`` (varimax, promax, oblimin, congruence),
``_factor_analyzer`` (every use of, and work-around for, factor_analyzer 0.5.1), ``naming``,
``tables`` (variance and loadings tables, ``summary()``), ``persistence`` (save / load) and
``bootstrap`` (stability of factors, weights and tiers) and ``robustness`` (refit without
indicators of low sampling adequacy).
"""

from __future__ import annotations

from crmresearch.index._common import IndexWarning
from crmresearch.index.adequacy import bartlett_sphericity, kmo
from crmresearch.index.bootstrap import BootstrapResult
from crmresearch.index.estimator import ClassificationIndex
from crmresearch.index.retention import ParallelAnalysis, parallel_analysis
from crmresearch.index.robustness import LowMsaRefit, refit_without_low_msa
from crmresearch.index.rotation import tucker_congruence

__all__ = [
    "ClassificationIndex",
    "BootstrapResult",
    "ParallelAnalysis",
    "kmo",
    "bartlett_sphericity",
    "parallel_analysis",
    "tucker_congruence",
    "IndexWarning",
    "LowMsaRefit",
    "refit_without_low_msa",
]
