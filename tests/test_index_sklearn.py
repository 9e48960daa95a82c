"""ClassificationIndex honours scikit-learn's estimator contract (issue 9, item 5)."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from crmresearch.index import ClassificationIndex, IndexWarning

SRC = Path(__file__).resolve().parents[1] / "src" / "crmresearch"


def planted(n=800, seed=1):
    rng = np.random.default_rng(seed)
    f = rng.standard_normal((n, 2))
    L = np.array([[0.9, 0], [0.8, 0], [0.7, 0], [0, 0.85], [0, 0.75], [0, 0.65]])
    x = f @ L.T + 0.5 * rng.standard_normal((n, 6))
    return pd.DataFrame(x, columns=["a1", "a2", "a3", "recency_days", "b2", "b3"])


def test_is_a_base_estimator_and_clone_works():
    idx = ClassificationIndex(method="ml")
    assert isinstance(idx, BaseEstimator)
    copy = clone(idx)
    assert copy is not idx and copy.get_params() == idx.get_params()
    assert copy.method == "ml"
    fitted = ClassificationIndex(2, method="ml", varimax="max").fit(planted())
    unfitted = clone(fitted)
    assert not hasattr(unfitted, "loadings_")
    assert unfitted.get_params() == fitted.get_params()


def test_get_params_deep_and_set_params():
    idx = ClassificationIndex()
    deep = idx.get_params(deep=True)
    assert deep == idx.get_params(deep=False)
    assert set(deep) == {
        "n_factors", "method", "rotation", "score_method", "weights", "directions",
        "log_transform", "missing", "parallel_iter", "seed", "varimax",
    }  # fmt: skip
    assert idx.set_params(method="minres", n_factors=2) is idx
    assert (idx.method, idx.n_factors) == ("minres", 2)
    with pytest.raises(ValueError, match="Invalid parameter"):
        idx.set_params(not_a_parameter=1)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"rotation": "none"},
        {"rotation": None, "method": "minres", "n_factors": 2},
        {"rotation": "promax", "method": "ml", "score_method": "bartlett", "n_factors": "kaiser"},
        {"rotation": "oblimin", "method": "minres", "n_factors": 0.6, "weights": "initial"},
        {"directions": {"a1": -1}, "log_transform": ("b2",), "varimax": "max", "seed": 3},
    ],
)
def test_fit_never_rewrites_constructor_parameters(params):
    X = planted().assign(b2=lambda d: d["b2"].abs())
    idx = ClassificationIndex(**params)
    before = idx.get_params()
    snapshot = {k: (v.copy() if isinstance(v, dict) else v) for k, v in before.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IndexWarning)
        idx.fit(X)
    assert idx.get_params() == snapshot
    for k, v in before.items():
        assert getattr(idx, k) is v  # the very objects passed in, untouched
    used = params.get("rotation", "varimax")
    assert idx.rotation_ == (None if used == "none" else used)  # the used value, fitted attr


def test_check_is_fitted():
    idx = ClassificationIndex(2)
    with pytest.raises(NotFittedError):
        check_is_fitted(idx)
    with pytest.raises(ValueError, match="not fitted yet; call fit"):
        idx.transform(planted())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IndexWarning)
        idx.fit(planted())
    check_is_fitted(idx)


def test_registry_is_imported_directly_not_swallowed():
    # a broken features install must fail loudly, never turn recency into a benefit
    tree = ast.parse((SRC / "index" / "preparation.py").read_text(encoding="utf-8"))
    handlers = [n for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler)]
    for h in handlers:
        caught = ast.unparse(h.type) if h.type is not None else "everything"
        assert "ImportError" not in caught and caught not in ("Exception", "everything")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IndexWarning)
        idx = ClassificationIndex(2).fit(planted())
    assert idx.directions_["recency_days"] == -1 and idx.labels_["recency_days"] == "Recency"


def test_plots_take_plain_data_and_import_no_analysis():
    tree = ast.parse((SRC / "plots" / "index.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    analysis = [m for m in imported if m.startswith("crmresearch.")]
    assert all(m.startswith("crmresearch.plots") for m in analysis), analysis
    from crmresearch.plots.index import loadings_heatmap, scree

    fig = scree([2.5, 1.2, 0.3], [1.3, 1.1, 0.9], n_retained=1, quantile=0.95, n_iter=100)
    lines = {line.get_label(): line.get_ydata() for line in fig.axes[0].get_lines()}
    np.testing.assert_allclose(lines["observed eigenvalues"], [2.5, 1.2, 0.3])
    np.testing.assert_allclose(lines["parallel analysis (95% of 100 random sets)"], [1.3, 1.1, 0.9])
    table = pd.DataFrame([[0.9, 0.1], [0.2, 0.8]], index=["x", "y"], columns=["F1", "F2"])
    fig = loadings_heatmap(table, factor_names=["X", "Y"], title="t")
    np.testing.assert_allclose(np.asarray(fig.axes[0].images[0].get_array()), table.to_numpy())
