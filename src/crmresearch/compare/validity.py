"""Predictive validity of tier schemes on next-period outcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmresearch import tiers as _tiers
from crmresearch.compare._common import _as_tiers
from crmresearch.errors import DataError


# --------------------------------------------------------------------------------------------
# predictive validity
# --------------------------------------------------------------------------------------------
@dataclass
class PredictiveValidity:
    """Result of :func:`predictive_validity`."""

    table: pd.DataFrame  # scheme x metric (+ _low/_high CI columns)
    gain: dict[str, pd.DataFrame]
    top_share: float
    outcome: str
    n: int
    n_boot: int
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        cols = ["predicted_top", "precision", "recall", "value_capture"]
        t = self.table.copy()
        for m in ("precision", "recall", "value_capture"):
            t[m] = [
                f"{v:.3f} [{lo:.3f}, {hi:.3f}]"
                for v, lo, hi in zip(t[m], t[m + "_low"], t[m + "_high"], strict=True)
            ]
        return "\n".join(
            [
                f"Predictive validity: top {self.top_share:.0%} of customers by next-period "
                f"{self.outcome} (n = {self.n}; {self.n_boot} bootstrap resamples, 95% CI)",
                t[cols].to_string(),
                *[f"note: {x}" for x in self.notes],
            ]
        )

    def plot_gain(self, ax=None):
        from crmresearch.plots.tiers import gain_curves

        return gain_curves(self.gain, outcome=self.outcome, n=self.n, ax=ax)


def _gain_curve(codes: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """Cumulative customer and value shares adding whole tiers, best first."""
    total = y.sum()
    rows = [{"tier_code": -1, "customer_share": 0.0, "value_share": 0.0}]
    n = len(y)
    cum_c, cum_v = 0, 0.0
    for c in np.unique(codes):
        m = codes == c
        cum_c += int(m.sum())
        cum_v += float(y[m].sum())
        rows.append(
            {
                "tier_code": int(c),
                "customer_share": cum_c / n,
                "value_share": cum_v / total if total else np.nan,
            }
        )
    return pd.DataFrame(rows)


def predictive_validity(
    scheme_tiers: Mapping[str, pd.Series] | pd.DataFrame,
    outcomes: pd.DataFrame | pd.Series,
    top: float = 0.2,
    *,
    outcome: str = "revenue",
    top_tiers: Mapping[str, Sequence[str]] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> PredictiveValidity:
    """How well each scheme's top tier captures next period's top customers and revenue.

    Parameters
    ----------
    scheme_tiers : mapping name -> tiers Series, or DataFrame of tier columns
        Tiers assigned in the calibration period.
    outcomes : DataFrame or Series
        Next-period outcome per customer (``outcomes[outcome]``, e.g. holdout ``revenue``).
    top : float
        Share of customers defining the *actual* top (by outcome; :func:`crmresearch.tiers.abc`
        rank rule, ties in the lower group).
    top_tiers : mapping name -> tiers, optional
        Which tiers count as a scheme's predicted top (default: its best category).
    n_boot, seed, ci : bootstrap settings (customers resampled with replacement; percentile CI).

    Returns
    -------
    PredictiveValidity
        ``table`` per scheme: ``predicted_top`` (count), ``precision`` = |P and T| / |P|,
        ``recall`` = |P and T| / |T|, ``value_capture`` = outcome of P / total outcome, and
        ``*_low``/``*_high`` CIs; ``gain`` per scheme (cumulative customer vs outcome share adding
        tiers best first).

    Notes
    -----
    Customers are those in ``outcomes`` with an outcome value; a customer missing a tier in a
    scheme is treated as not predicted top (counted in ``notes``). The actual-top flag is fixed
    on the full sample and carried with each customer into the resamples.
    """
    if isinstance(outcomes, pd.DataFrame):
        if outcome not in outcomes.columns:
            raise DataError(f"predictive_validity: outcomes lack column {outcome!r}")
        y = outcomes[outcome]
    else:
        y = outcomes
    y = _tiers._as_values(y, "outcome")
    n_nan = int(y.isna().sum())
    y = y.dropna()
    notes = []
    if n_nan:
        notes.append(f"{n_nan} customers without an outcome value excluded")
    if isinstance(scheme_tiers, pd.DataFrame):
        scheme_tiers = {c: scheme_tiers[c] for c in scheme_tiers.columns}
    if not scheme_tiers:
        raise ValueError("predictive_validity: give at least one scheme")
    n = len(y)
    actual_top = _tiers._rank_tiers(y, [top, 1.0]) == 0
    yv = y.to_numpy()
    total = yv.sum()
    rng = np.random.default_rng(seed)
    boot_idx = rng.integers(0, n, size=(n_boot, n)) if n_boot else None
    alpha = (1 - ci) / 2
    rows, gains = [], {}
    for name, t in scheme_tiers.items():
        t = _as_tiers(t, name).reindex(y.index)
        n_missing = int(t.isna().sum())
        if n_missing:
            notes.append(f"{name}: {n_missing} customers without a tier count as not predicted top")
        tops = list(top_tiers[name]) if top_tiers and name in top_tiers else [t.cat.categories[0]]
        pred = t.isin(tops).to_numpy()
        hit = pred & actual_top

        def metrics(idx=None, pred=pred, hit=hit):
            p_, h_, a_, v_ = (pred, hit, actual_top, yv) if idx is None else (
                pred[idx], hit[idx], actual_top[idx], yv[idx])  # fmt: skip
            npred, nact, tot = p_.sum(), a_.sum(), v_.sum()
            return (
                h_.sum() / npred if npred else np.nan,
                h_.sum() / nact if nact else np.nan,
                v_[p_].sum() / tot if tot else np.nan,
            )

        prec, rec, cap = metrics()
        row = {
            "scheme": name,
            "predicted_top": int(pred.sum()),
            "actual_top": int(actual_top.sum()),
            "precision": prec,
            "recall": rec,
            "value_capture": cap,
        }
        if n_boot:
            bs = np.array([metrics(b) for b in boot_idx], dtype=float)
            for j, m in enumerate(("precision", "recall", "value_capture")):
                col = bs[:, j][~np.isnan(bs[:, j])]
                row[m + "_low"] = float(np.quantile(col, alpha)) if len(col) else np.nan
                row[m + "_high"] = float(np.quantile(col, 1 - alpha)) if len(col) else np.nan
        else:
            for m in ("precision", "recall", "value_capture"):
                row[m + "_low"] = row[m + "_high"] = np.nan
        rows.append(row)
        codes = t.cat.codes.to_numpy().copy()
        codes[codes < 0] = len(t.cat.categories)  # untiered customers last
        g = _gain_curve(codes, yv)
        labels = [*t.cat.categories, "<NA>"]
        g["tier"] = ["(none)"] + [labels[c] for c in g["tier_code"].iloc[1:]]
        gains[name] = g
    table = pd.DataFrame(rows).set_index("scheme")
    if total <= 0:
        notes.append("total outcome is not positive: value capture is not meaningful")
    return PredictiveValidity(table, gains, top, outcome, n, int(n_boot), notes)


# --------------------------------------------------------------------------------------------
# baselines: every scheme as a top tier of the same size
# --------------------------------------------------------------------------------------------
#: Scheme keys of :func:`baseline_validity` (``metrics.json`` key ``validity``).
BASELINES = ("volume", "index", "rfm", "single", "clv")
_METRICS = ("precision", "value_capture", "churn")


def rfm_score(features: pd.DataFrame) -> pd.Series:
    """One RFM score per customer: ``R + F + M`` quartile points (3-12, PyMC-Marketing quartiles
    of :func:`crmresearch.tiers.rfm_scores`), ties broken by the cell code ``RFM`` (R first).

    Higher = better. Customers with a missing quartile get NaN.
    """
    sc = _tiers.rfm_scores(features)
    r, f, m = (sc[c].astype("float64") for c in ("r_quartile", "f_quartile", "m_quartile"))
    return ((r + f + m) + (100 * r + 10 * f + m) / 1000.0).rename("rfm_score")


def best_single_indicator(features: pd.DataFrame, outcomes: pd.DataFrame, *, top: float = 0.2,
                          candidates: Sequence[str] | None = None,
                          directions: Mapping[str, int] | None = None,
                          outcome: str = "revenue") -> tuple[str, pd.Series]:  # fmt: skip
    """The single indicator whose top ``top`` share captures most next-period ``outcome``.

    Each candidate is oriented so that higher = better (``directions``: +1 benefit, -1 cost;
    default the registry's :data:`crmresearch.features.INDICATORS` directions). Chosen *on the
    holdout itself*: an optimistic baseline, which makes a win of the index conservative.
    Returns ``(name, oriented values)``.
    """
    if directions is None:
        from crmresearch.features import INDICATORS

        directions = {k: getattr(v, "direction", 1) for k, v in INDICATORS.items()}
    cols = list(candidates) if candidates is not None else [
        c for c in features.columns
        if pd.api.types.is_numeric_dtype(features[c]) and not pd.api.types.is_bool_dtype(features[c])
    ]  # fmt: skip
    y = _tiers._as_values(outcomes[outcome], outcome).reindex(features.index).fillna(0.0)
    total = y.sum()
    best, best_cap, best_vals = None, -np.inf, None
    for c in cols:
        x = _tiers._as_values(features[c], c) * (directions.get(c, 1) or 1)
        if x.notna().sum() == 0 or x.nunique() < 2:
            continue
        top_m = _top_k(x, int(np.floor(top * len(x) + 1e-9)), 0)
        cap = y.to_numpy()[top_m].sum() / total if total else np.nan
        if cap > best_cap:
            best, best_cap, best_vals = c, cap, x.rename(c)
    if best is None:
        raise DataError("best_single_indicator: no candidate indicator varies")
    return best, best_vals


@dataclass
class BaselineValidity:
    """Result of :func:`baseline_validity`.

    ``table``: per scheme ``label``, ``k`` (customers in its top tier), ``estimable`` (False
    when ``k < floor(top * n)``: its metrics and differences are NaN), ``precision``,
    ``value_capture``, ``churn`` with percentile-bootstrap CIs (``*_low``/``*_high``);
    ``differences``: per scheme the paired-bootstrap difference to the reference scheme for each
    metric (``diff_<metric>``, ``_low``, ``_high``); ``out_of_time``: per window and scheme the
    three metrics; ``spread``: per scheme and metric mean/sd/min/max over the windows.
    """

    table: pd.DataFrame
    differences: pd.DataFrame
    out_of_time: pd.DataFrame | None
    spread: pd.DataFrame | None
    top: float
    reference: str
    n: int
    n_boot: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """``metrics.json`` form: keyed by scheme (volume, index, rfm, single, clv)."""
        def num(v):
            return float(v) if v is not None and np.isfinite(v) else None

        out = {}
        for s, row in self.table.iterrows():
            d = {"label": row["label"], "k": int(row["k"]),
                 "estimable": bool(row.get("estimable", True))}  # fmt: skip
            for m in _METRICS:
                d[m] = num(row[m])
                d[m + "_ci"] = [num(row[m + "_low"]), num(row[m + "_high"])]
                if s != self.reference:
                    dr = self.differences.loc[s]
                    d[f"{m}_minus_{self.reference}"] = num(dr[f"diff_{m}"])
                    d[f"{m}_minus_{self.reference}_ci"] = [num(dr[f"diff_{m}_low"]),
                                                           num(dr[f"diff_{m}_high"])]  # fmt: skip
            if self.spread is not None and s in self.spread.index.get_level_values(0):
                sp = self.spread.loc[s]
                d["out_of_time"] = {m: {k: num(sp.loc[m, k]) for k in sp.columns} for m in sp.index}
            out[str(s)] = d
        return out

    def summary(self) -> str:
        t = self.table.copy()
        for m in _METRICS:
            t[m] = [f"{v:.3f} [{lo:.3f}, {hi:.3f}]" for v, lo, hi in
                    zip(t[m], t[m + "_low"], t[m + "_high"], strict=True)]  # fmt: skip
        lines = [f"Baselines: each scheme's top {self.top:.0%} (n = {self.n:,}; paired bootstrap, "
                 f"{self.n_boot} resamples)", t[["label", "k", *_METRICS]].to_string()]  # fmt: skip
        return "\n".join(lines + [f"note: {x}" for x in self.notes])


def _top_k(values: pd.Series, k: int, seed: int) -> np.ndarray:
    """Flags of the ``k`` highest values; ties at the cut broken at random (seeded), so every
    scheme's tier has exactly ``k`` customers; NaN never counts as top."""
    x = values.to_numpy(dtype=float)
    jitter = np.random.default_rng(seed).random(len(x))
    order = np.lexsort((jitter, -np.nan_to_num(x, nan=-np.inf)))
    order = [i for i in order[:k] if np.isfinite(x[i])]
    flags = np.zeros(len(x), dtype=bool)
    flags[order] = True
    return flags


def _top_flags(scores: Mapping[str, pd.Series], ids: pd.Index, top: float,
               seed: int = 0) -> dict[str, np.ndarray]:  # fmt: skip
    k = int(np.floor(top * len(ids) + 1e-9))
    return {
        name: _top_k(_tiers._as_values(s, name).reindex(ids), k, seed)
        for name, s in scores.items()
    }


def _point_metrics(pred: np.ndarray, actual_top: np.ndarray, y: np.ndarray, churned: np.ndarray):
    k = pred.sum()
    total = y.sum()
    return (
        (pred & actual_top).sum() / k if k else np.nan,
        y[pred].sum() / total if total else np.nan,
        churned[pred].mean() if k else np.nan,
    )


def _window_metrics(scores, outcomes, top, outcome, seed=0):
    y = _tiers._as_values(outcomes[outcome], outcome).dropna()
    actual = _top_k(y, int(np.floor(top * len(y) + 1e-9)), seed)
    ch = outcomes["churned"].reindex(y.index).fillna(False).astype(bool).to_numpy()
    flags = _top_flags(scores, y.index, top, seed)
    k = int(np.floor(top * len(y) + 1e-9))
    return {s: _point_metrics(f, actual, y.to_numpy(), ch) if f.sum() >= k else (np.nan,) * 3
            for s, f in flags.items()}  # fmt: skip


def baseline_validity(scores: Mapping[str, pd.Series], outcomes: pd.DataFrame, *, top: float = 0.2,
                      labels: Mapping[str, str] | None = None, reference: str = "index",
                      outcome: str = "revenue", n_boot: int = 1000, seed: int = 0,
                      ci: float = 0.95, out_of_time=None) -> BaselineValidity:  # fmt: skip
    """Each scheme as a top tier of the same size, judged on the next period.

    Parameters
    ----------
    scores : mapping scheme -> Series
        Higher = better, one value per customer, from the calibration period, e.g. ``volume`` =
        calibration revenue, ``index`` = the composite, ``rfm`` = :func:`rfm_score`, ``single``
        = :func:`best_single_indicator`, ``clv`` = CLV per customer (e.g. from
        :mod:`crmresearch.clv`; any Series).
    outcomes : DataFrame
        Holdout ``revenue`` and ``churned`` per customer.
    top : float
        Share of customers in every scheme's top tier: ``k = floor(top * n)`` customers each;
        ties at the cut are broken at random (``seed``), the same way for the actual top by
        next-period outcome, so every tier has the same size (customers without a score are
        never top; ``k`` shows the size).
    reference : str
        Scheme the differences are taken against.
    out_of_time : sequence of (label, scores, outcomes) or callable returning it
        Refits on rolling calibration windows, computed by the caller (this function never fits
        anything): each window's scores and next-period outcomes. The spread of each metric over
        the windows is reported.

    Notes
    -----
    ``precision`` = share of the scheme's top tier that is in the actual top ``top`` by
    next-period ``outcome``; ``value_capture`` = share of next-period outcome in the tier;
    ``churn`` = holdout churn rate of the tier. The actual-top and predicted flags are fixed on
    the full sample; customers are resampled with replacement, the same resample for every
    scheme (paired bootstrap), percentile CIs of each metric and of each difference to the
    reference.
    """
    if reference not in scores:
        raise ValueError(f"baseline_validity: reference scheme {reference!r} not in scores")
    for col in (outcome, "churned"):
        if col not in outcomes.columns:
            raise DataError(f"baseline_validity: outcomes lack column {col!r}")
    y_s = _tiers._as_values(outcomes[outcome], outcome).dropna()
    ids = y_s.index
    notes = []
    if len(ids) < len(outcomes):
        notes.append(f"{len(outcomes) - len(ids)} customers without {outcome} excluded")
    y = y_s.to_numpy()
    ch = outcomes["churned"].reindex(ids).fillna(False).astype(bool).to_numpy()
    actual = _top_k(y_s, int(np.floor(top * len(ids) + 1e-9)), seed)
    flags = _top_flags(scores, ids, top, seed)
    for name, s in scores.items():
        miss = int(_tiers._as_values(s, name).reindex(ids).isna().sum())
        if miss:
            notes.append(f"{name}: {miss} customers without a score count as outside its top tier")
    names = list(scores)
    n = len(ids)
    k_target = int(np.floor(top * n + 1e-9))
    labels = dict(labels or {})
    # a scheme whose top tier is undersized (customers without a score) is not comparable with
    # same-size tiers: no metric, no difference, a note instead (never a finding)
    short = {s: int(flags[s].sum()) for s in names if int(flags[s].sum()) < k_target}
    for s, k in short.items():
        notes.append(f"{labels.get(s, s)}: not estimable, its top tier holds {k:,} of the "
                     f"{k_target:,} customers of every other tier (too few customers have a score)")  # fmt: skip
    if reference in short:
        raise DataError(f"baseline_validity: the reference scheme {reference!r} has scores for "
                        f"too few customers ({short[reference]:,} of {k_target:,} in its top tier)")  # fmt: skip
    point = {s: (_point_metrics(flags[s], actual, y, ch) if s not in short else (np.nan,) * 3)
             for s in names}  # fmt: skip
    alpha = (1 - ci) / 2
    boot = {s: [] for s in names}
    rng = np.random.default_rng(seed)
    for start in range(0, n_boot, 50):
        idx = rng.integers(0, n, size=(min(50, n_boot - start), n))
        yb, ab, cb = y[idx], actual[idx], ch[idx]
        tot = yb.sum(axis=1)
        for s in names:
            pb = flags[s][idx]
            k = pb.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                boot[s].append(np.column_stack([(pb & ab).sum(axis=1) / k, (yb * pb).sum(axis=1) / tot,
                                                (cb & pb).sum(axis=1) / k]))  # fmt: skip
    boot = {s: np.vstack(v) if v else np.empty((0, 3)) for s, v in boot.items()}
    for s in short:
        boot[s] = np.full_like(boot[s], np.nan)
    rows, diffs = [], []
    for s in names:
        row = {"scheme": s, "label": labels.get(s, s), "k": int(flags[s].sum()),
               "estimable": s not in short}  # fmt: skip
        for j, m in enumerate(_METRICS):
            row[m] = point[s][j]
            col = boot[s][:, j]
            col = col[np.isfinite(col)]
            row[m + "_low"] = float(np.quantile(col, alpha)) if len(col) else np.nan
            row[m + "_high"] = float(np.quantile(col, 1 - alpha)) if len(col) else np.nan
        rows.append(row)
        if s != reference:
            d = {"scheme": s}
            for j, m in enumerate(_METRICS):
                delta = boot[s][:, j] - boot[reference][:, j]
                delta = delta[np.isfinite(delta)]
                d[f"diff_{m}"] = point[s][j] - point[reference][j]
                d[f"diff_{m}_low"] = float(np.quantile(delta, alpha)) if len(delta) else np.nan
                d[f"diff_{m}_high"] = float(np.quantile(delta, 1 - alpha)) if len(delta) else np.nan
            diffs.append(d)
    table = pd.DataFrame(rows).set_index("scheme")
    differences = pd.DataFrame(diffs).set_index("scheme") if diffs else pd.DataFrame()

    oot, spread = None, None
    windows = out_of_time() if callable(out_of_time) else out_of_time
    if windows:
        recs = []
        for label, w_scores, w_outcomes in windows:
            for s, vals in _window_metrics(w_scores, w_outcomes, top, outcome, seed).items():
                recs.append({"window": label, "scheme": s, **dict(zip(_METRICS, vals, strict=True))})
        oot = pd.DataFrame(recs)
        long = oot.melt(id_vars=["window", "scheme"], var_name="metric")
        spread = long.groupby(["scheme", "metric"])["value"].agg(["mean", "std", "min", "max"])
        spread["windows"] = long.groupby(["scheme", "metric"])["value"].count()
    return BaselineValidity(table, differences, oot, spread, top, reference, n, int(n_boot), notes)
