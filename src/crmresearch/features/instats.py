"""In-engine statistics: features kept in the engine, their correlation matrix, scores and tiers.

For logs that do not fit one machine only small results leave the cluster: the p x p
correlation matrix with the means, SDs and the number of complete rows (:meth:`FeatureTable.
correlation`: one aggregate for the means, one Gram-matrix aggregate of the centred values),
and the tier thresholds. The index is fitted on the matrix
(``ClassificationIndex().fit_correlation(corr.matrix, corr.n_obs)``) and its coefficients go
back into the engine (:meth:`FeatureTable.write_scores`), which writes customer scores, the
composite and tiers as Parquet or a table.

Example (Spark)::

    with FeatureTable("db.transactions", end="2024-12-31", engine="spark", spark=spark) as ft:
        corr = ft.correlation("ecommerce")
        index = ClassificationIndex().fit_correlation(corr.matrix, corr.n_obs)
        ft.write_scores(corr, index.score_coefficients_, index.composite_weights_,
                        composite_sign=composite_sign(corr, index.score_coefficients_,
                                                      index.composite_weights_),
                        out="hdfs:///crm/scores.parquet")
"""

from __future__ import annotations

import math
import os
import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crmresearch.features import compute, spec
from crmresearch.features.config import IndexConfig, load_config
from crmresearch.features.registry import INDICATORS

__all__ = ["Correlation", "FeatureTable", "composite_sign", "rank_tier_cutoffs"]

_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")
_TIER_TOL = 1e-9  # as crmresearch.tiers: 0.05 * 20 customers must give exactly 1


@dataclass(frozen=True)
class Correlation:
    """What leaves the engine: the correlation of the prepared indicators and their moments.

    ``matrix`` (p x p), ``mean`` and ``sd`` (ddof=1) are of the prepared columns (config fill,
    signed log, cost indicators negated as ``directions`` says); ``n_obs`` complete customers
    (listwise), ``n_excluded`` customers with an undefined indicator.
    """

    matrix: pd.DataFrame
    mean: pd.Series
    sd: pd.Series
    n_obs: int
    n_excluded: int
    directions: dict[str, int]
    fill: dict[str, float]
    log_transform: tuple[str, ...]


def rank_tier_cutoffs(n: int, shares: Sequence[float]) -> list[int]:
    """Rank cutoffs floor(c_j n) of the cumulative shares, as ``crmresearch.tiers.abc`` uses."""
    cum = np.cumsum(np.asarray(shares, dtype=float))
    if (np.asarray(shares) <= 0).any() or not math.isclose(cum[-1], 1.0, abs_tol=1e-6):
        raise ValueError(f"tier shares must be > 0 and sum to 1, got {list(shares)}")
    return [math.floor(c * n + _TIER_TOL) for c in cum[:-1]]


def composite_sign(corr: Correlation, coefficients: pd.DataFrame, weights: pd.Series) -> float:
    """+1 or -1 so that the composite correlates positively with net revenue (``monetary``).

    The composite is linear in the standardized indicators, ``C = Z a`` with ``a = W w``, so
    its covariance with indicator j is ``(R a)_j``: the sign ``ClassificationIndex.fit`` picks
    from the customers follows from the matrix alone. Without ``monetary``: the sign of the
    covariance with the mean of the standardized indicators.
    """
    columns = list(corr.matrix.columns)
    a = coefficients.loc[columns].to_numpy() @ weights.to_numpy()
    cov = corr.matrix.to_numpy() @ a
    ref = cov[columns.index("monetary")] if "monetary" in columns else cov.mean()
    return -1.0 if ref < 0 else 1.0


class FeatureTable:
    """Customer features computed and kept in the engine (a DuckDB table or a Spark view).

    Same arguments as :func:`crmresearch.features.customer_features`; the definitions are the
    portable two-stage query (:func:`crmresearch.features.spec.portable_sql`), so the values
    equal ``customer_features``. Use as a context manager (drops the views, closes DuckDB).
    """

    def __init__(
        self,
        log: Any,
        *,
        start: Any = None,
        end: Any,
        indicators: Sequence[str] | None = None,
        engine: str = "duckdb",
        spark: Any = None,
    ):
        end_ts = compute._as_date(end, "end")
        start_ts = None if start is None else compute._as_date(start, "start")
        self.src = compute.open_source(log, engine, spark)
        self.engine = engine
        requested = indicators is not None
        names = compute._requested_names(indicators)
        present = set(self.src.columns)
        chosen, skipped = compute._choose(names, requested, present, self.src.label)
        rows, first, exact = compute.row_accounting(self.src, start_ts, end_ts)
        window_start = start_ts if start_ts is not None else (first or end_ts)
        sql = spec.portable_sql(
            self.src.view,
            chosen,
            present,
            window_start,
            end_ts,
            start_ts is not None,
            exact,
            self.src.dialect,
            compute._value_codes(self.src, chosen, end_ts),
        )
        self.view = self._materialize(sql)
        self.n_customers, returned = self._one(
            f"SELECT count(*) AS n, sum({'_returned_total' if 'return_rate' in chosen else '0'})"
            f" AS r FROM {self.view}"
        )
        if "return_rate" in chosen and not requested and not returned:
            chosen.remove("return_rate")
            skipped["return_rate"] = "no returns (negative amounts) in the window"
        self.columns = chosen
        self.attrs = {
            "window": {
                "start": f"{window_start:%Y-%m-%d}",
                "end": f"{end_ts:%Y-%m-%d}",
                "days": int((end_ts - window_start).days) + 1,
                "start_given": start_ts is not None,
            },
            "rows": rows,
            "skipped": skipped,
            "source": self.src.label,
        }

    # -- engine plumbing -------------------------------------------------------------------------
    def _materialize(self, sql: str) -> str:
        name = f"crm_features_{uuid.uuid4().hex[:12]}"
        if self.engine == "spark":
            from pyspark import StorageLevel

            frame = self.src.spark.sql(sql).persist(StorageLevel.MEMORY_AND_DISK)
            frame.createOrReplaceTempView(name)
            self.src._views.append(name)
            self._persisted = frame
        else:
            self.src.con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
        return name

    def _one(self, sql: str) -> tuple:
        return tuple(self.src.fetch_one(sql).values())

    def close(self) -> None:
        if getattr(self, "_persisted", None) is not None:
            self._persisted.unpersist()
            self._persisted = None
        self.src.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def to_pandas(self) -> pd.DataFrame:
        """The features as :func:`~crmresearch.features.customer_features` returns them."""
        cols = ", ".join(["customer_id", *self.columns])
        frame = self.src.to_pandas(f"SELECT {cols} FROM {self.view}")
        frame = frame.sort_values("customer_id", kind="stable", ignore_index=True)
        attrs = self.attrs
        out = compute._finish(
            frame,
            chosen=list(self.columns),
            skipped=dict(attrs["skipped"]),
            requested=True,
            present=set(self.src.columns),
            rows=attrs["rows"],
            window_start=pd.Timestamp(attrs["window"]["start"]),
            end_ts=pd.Timestamp(attrs["window"]["end"]),
            start_given=attrs["window"]["start_given"],
            label=attrs["source"],
        )
        return out

    # -- statistics ------------------------------------------------------------------------------
    def _prepared(self, columns, directions, fill, logs) -> dict[str, str]:
        """SQL of each prepared column: fill, signed log, direction."""
        out = {}
        for c in columns:
            x = f"CAST({c} AS DOUBLE)"
            if c in fill:
                x = f"coalesce({x}, {spec.double(fill[c])})"
            if c in logs:  # sign(x) log(1 + |x|); DuckDB has no log1p (differs by ulps)
                mag = f"log1p(abs({x}))" if self.engine == "spark" else f"ln(1 + abs({x}))"
                x = f"(sign({x}) * {mag})"
            out[c] = f"(-{x})" if directions[c] < 0 else x
        return out

    def correlation(
        self,
        config: IndexConfig | str | None = "ecommerce",
        *,
        columns: Sequence[str] | None = None,
        directions: dict[str, int] | None = None,
    ) -> Correlation:
        """Correlation matrix of the prepared indicators, computed in the engine.

        ``config``: the index system whose indicators, fill values and log transform to apply
        (as :func:`~crmresearch.features.apply_config`); ``columns`` restricts them. Cost
        indicators (``INDICATORS[c].direction == -1``) are negated unless ``directions`` says
        otherwise, so that the matrix can go to ``ClassificationIndex.fit_correlation`` as is.
        Customers with an undefined indicator after filling are excluded (listwise).

        Two aggregates: the means and count, then ``sum((x_i - m_i)(x_j - m_j))`` for i <= j.
        Only p (p + 3) / 2 + 1 numbers leave the engine.
        """
        cfg = load_config(config) if isinstance(config, str) else config
        cols = list(columns or (cfg.indicators if cfg else self.columns))
        cols = [c for c in cols if c in self.columns]
        if len(cols) < 2:
            raise ValueError(f"need at least 2 indicators in the feature table, got {cols}")
        dirs = {c: INDICATORS[c].direction if c in INDICATORS else 1 for c in cols}
        dirs.update({c: -1 if d < 0 else 1 for c, d in (directions or {}).items() if c in dirs})
        fill = {c: v for c, v in (cfg.fill if cfg else {}).items() if c in cols}
        logs = tuple(c for c in (cfg.log_transform if cfg else ()) if c in cols)
        prep = self._prepared(cols, dirs, fill, logs)
        complete = " AND ".join(f"{x} IS NOT NULL" for x in prep.values())
        base = f"(SELECT {', '.join(f'{x} AS {c}' for c, x in prep.items())} FROM {self.view} WHERE {complete})"
        moments = self._one(
            f"SELECT count(*) AS n, {', '.join(f'avg({c}) AS m_{c}' for c in cols)} FROM {base} AS p"
        )
        n, mean = int(moments[0]), np.array(moments[1:], dtype=float)
        if n < 2:
            raise ValueError(f"only {n} customer(s) with every indicator defined")
        centred = {c: f"({c} - {spec.double(m)})" for c, m in zip(cols, mean, strict=True)}
        pairs = [(i, j) for i in range(len(cols)) for j in range(i, len(cols))]
        terms = ", ".join(
            f"sum({centred[cols[i]]} * {centred[cols[j]]}) AS s_{i}_{j}" for i, j in pairs
        )
        sums = self._one(f"SELECT {terms} FROM {base} AS p")
        gram = np.empty((len(cols), len(cols)))
        for (i, j), v in zip(pairs, sums, strict=True):
            gram[i, j] = gram[j, i] = float(v)
        sd = np.sqrt(np.diag(gram) / (n - 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = gram / np.sqrt(np.outer(np.diag(gram), np.diag(gram)))
        np.fill_diagonal(r, 1.0)
        return Correlation(
            matrix=pd.DataFrame(r, index=cols, columns=cols),
            mean=pd.Series(mean, index=cols),
            sd=pd.Series(sd, index=cols),
            n_obs=n,
            n_excluded=int(self.n_customers) - n,
            directions=dirs,
            fill=fill,
            log_transform=logs,
        )

    def write_scores(
        self,
        corr: Correlation,
        coefficients: pd.DataFrame,
        composite_weights: pd.Series | None = None,
        *,
        composite_sign: float = 1.0,
        tier_shares: Sequence[float] | None = (0.05, 0.15, 0.80),
        tier_labels: Sequence[str] | None = None,
        out: str | os.PathLike,
        table: bool = False,
    ) -> dict:
        """Write ``customer_id``, factor scores, ``composite`` and ``tier`` in the engine.

        Scores ``F = Z W`` with ``Z`` the prepared columns standardized by ``corr.mean`` and
        ``corr.sd`` and ``W = coefficients`` (p x k, e.g. ``index.score_coefficients_``);
        ``composite = sign * F w``. Tiers by customer share of the composite ranking, the rule
        of ``crmresearch.tiers.abc`` (ties stay together in the lower tier): a customer is in
        tier j or better when their composite exceeds the (cutoff_j + 1)-th largest one, so
        only k - 1 thresholds are looked up (``ORDER BY ... LIMIT 1 OFFSET cutoff``).
        ``tier`` is the tier number (1 = best), ``tier_label`` its label. Customers with an
        undefined prepared indicator get NULL scores and tier.

        ``out``: a Parquet path (written to a temporary name, then renamed when local), or with
        ``table=True`` a table name. Returns the thresholds, counts and where it was written.
        """
        cols = list(corr.matrix.columns)
        prep = self._prepared(cols, corr.directions, corr.fill, corr.log_transform)
        coef = coefficients.loc[cols]
        score_sql = {}
        for k, name in enumerate(coef.columns):
            w_raw = coef.iloc[:, k].to_numpy() / corr.sd.to_numpy()
            offset = float((corr.mean.to_numpy() * w_raw).sum())
            terms = " + ".join(
                f"{prep[c]} * {spec.double(w)}" for c, w in zip(cols, w_raw, strict=True)
            )
            score_sql[f"score_{k + 1}"] = (f"({terms} - {spec.double(offset)})", str(name))
        names = list(score_sql)
        selects = [f"{sql} AS {alias}" for alias, (sql, _) in score_sql.items()]
        if composite_weights is not None:
            w = composite_weights.loc[list(coef.columns)].to_numpy() * float(composite_sign)
            combo = " + ".join(f"{a} * {spec.double(x)}" for a, x in zip(names, w, strict=True))
        else:
            combo = names[0]
        scored = (
            f"SELECT customer_id, {', '.join(names)}, {combo} AS composite FROM "
            f"(SELECT customer_id, {', '.join(selects)} FROM {self.view}) AS s"
        )
        scored_view = self._register_sql(scored, "scored")
        result: dict[str, Any] = {
            "score_columns": dict(zip(names, [v[1] for v in score_sql.values()], strict=True))
        }
        tier_sql = "CAST(NULL AS INT)"
        if tier_shares is not None:
            n = int(self._one(f"SELECT count(composite) AS n FROM {scored_view}")[0])
            cutoffs = rank_tier_cutoffs(n, tier_shares)
            labels = list(tier_labels or [chr(ord("A") + i) for i in range(len(tier_shares))])
            if len(labels) != len(tier_shares) or len(set(labels)) != len(labels):
                raise ValueError(f"need {len(tier_shares)} distinct tier labels, got {labels}")
            thresholds = [self._kth_largest(scored_view, int(cut), n) for cut in cutoffs]
            cases = " ".join(
                f"WHEN composite > {spec.double(t)} THEN {j + 1}"
                for j, t in enumerate(thresholds)
                if t is not None
            )
            last = len(labels)
            tier_sql = f"CASE WHEN composite IS NULL THEN NULL {cases} ELSE {last} END"
            label_view = self._register_labels(labels)
            result.update({"cutoffs": cutoffs, "thresholds": thresholds, "labels": labels, "n": n})
        final = (
            f"SELECT t.*, l.label AS tier_label FROM (SELECT customer_id, {', '.join(names)}, "
            f"composite, {tier_sql} AS tier FROM {scored_view}) AS t "
            f"LEFT JOIN {label_view if tier_shares is not None else self._register_labels([])} AS l "
            "ON t.tier = l.code"
        )
        result["out"] = self._write(final, str(out), table)
        return result

    # Spark: above this many customers an order statistic is found from an approximate
    # quantile bracket refined exactly, instead of a top-k of k + 1 rows on the driver
    EXACT_TOPK_MAX = 1_000_000
    BRACKET_EPS = 1e-4

    def _kth_largest(self, view: str, k: int, n: int) -> float | None:
        """The (k + 1)-th largest non-null composite (None when k >= n); exact either way."""
        if k >= n:
            return None
        if self.engine != "spark" or n <= self.EXACT_TOPK_MAX:
            row = self.src.fetch_one(
                f"SELECT composite FROM {view} WHERE composite IS NOT NULL "
                f"ORDER BY composite DESC LIMIT 1 OFFSET {k}"
            )
            return float(row["composite"])
        # ascending rank of the answer: r = n - k. approxQuantile's rank error is <= eps n, so
        # [q(r/n - 2 eps), q(r/n + 2 eps)] holds it; count below, then sort only the bracket.
        frame = self.src.spark.table(view).where("composite IS NOT NULL")
        eps = self.BRACKET_EPS
        p = (n - k) / n
        lo, hi = frame.approxQuantile(
            "composite", [max(0.0, p - 2 * eps), min(1.0, p + 2 * eps)], eps
        )
        below = frame.where(f"composite < {spec.double(lo)}").count()
        inside = (
            frame.where(f"composite >= {spec.double(lo)} AND composite <= {spec.double(hi)}")
            .select("composite")
            .toPandas()["composite"]
            .sort_values(ignore_index=True)
        )
        position = (n - k) - below  # 1-based within the bracket
        if not 1 <= position <= len(inside):  # bracket missed (should not happen): exact
            saved, self.EXACT_TOPK_MAX = self.EXACT_TOPK_MAX, n
            try:
                return self._kth_largest(view, k, n)
            finally:
                self.EXACT_TOPK_MAX = saved
        return float(inside.iloc[position - 1])

    def _register_sql(self, sql: str, stem: str) -> str:
        name = f"crm_{stem}_{uuid.uuid4().hex[:12]}"
        if self.engine == "spark":
            self.src.spark.sql(sql).createOrReplaceTempView(name)
            self.src._views.append(name)
        else:
            self.src.con.execute(f"CREATE TEMP VIEW {name} AS {sql}")
        return name

    def _register_labels(self, labels: list[str]) -> str:
        frame = pd.DataFrame(
            {
                "code": np.arange(1, len(labels) + 1, dtype="int32"),
                "label": pd.Series(labels, dtype="object"),
            }
        )
        name = f"crm_labels_{uuid.uuid4().hex[:12]}"
        if self.engine == "spark":
            self.src.spark.createDataFrame(frame, "code INT, label STRING").createOrReplaceTempView(
                name
            )
            self.src._views.append(name)
        else:
            self.src.con.register(name, frame)
        return name

    def _write(self, sql: str, out: str, table: bool) -> str:
        if table:
            if not _TABLE_NAME.fullmatch(out):
                raise ValueError(
                    f"table name {out!r} must be [catalog.][db.]name of letters, digits and _"
                )
            if self.engine == "spark":
                self.src.spark.sql(sql).write.mode("overwrite").saveAsTable(out)
            else:
                self.src.con.execute(f"CREATE OR REPLACE TABLE {out} AS {sql}")
            return out
        local = "://" not in out
        target = f"{out}.tmp-{uuid.uuid4().hex[:8]}" if local else out
        if self.engine == "spark":
            self.src.spark.sql(sql).write.mode("overwrite").parquet(target)
        else:
            self.src.con.execute(f"COPY ({sql}) TO {spec.string(target)} (FORMAT parquet)")
        if local:
            dest = Path(out)
            if dest.is_dir():
                shutil.rmtree(dest)
            elif dest.exists():
                dest.unlink()
            os.replace(target, dest)
        return out
