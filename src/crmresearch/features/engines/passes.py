"""Passes over ranges of customer ids for logs whose aggregation state does not fit in memory.

DuckDB aggregates a log of up to 20 M rows in one group-by. Beyond, the customers are split
into ranges of ids with about equal rows (quantiles of a row sample), one group-by a range;
each pass is sorted, the ranges ascend, so the passes are appended in order
(:class:`PassColumns`). The numbers are those of one pass: every customer is in one range.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa

from crmresearch.features.spec import string

__all__ = [
    "CUSTOMERS_PER_PASS",
    "PassColumns",
    "customer_passes",
    "customer_ranges",
    "drop_partitions",
    "partition_rows",
]

# Customers per pass: DuckDB's hash table holds about 0.9 kB of aggregate state a customer
# on 2 threads (measured: 10 M rows / 1 M customers peak at 1.1 GB); 1.25 M customers a pass
# stay well inside the default memory limit, so that no pass spills (100 M rows / 10 M
# customers: 8 passes of ~5 s over their partitions; 4 passes of 2.5 M took 21-33 s each, 16
# passes of 625 k were no faster in all).
CUSTOMERS_PER_PASS = 1_250_000
_PASS_CHECK_MIN_ROWS = 20_000_000
_RANGE_SAMPLE = "0.2%"  # rows sampled (DuckDB system sampling) to place the range bounds


def customer_passes(src) -> int:
    """Number of passes over ranges of customer ids (1 for logs up to 20 M rows).

    ``CRMRESEARCH_DUCKDB_PASSES`` overrides. Otherwise the customers are counted approximately
    (HyperLogLog) and split so that each pass holds about :data:`CUSTOMERS_PER_PASS`.
    """
    configured = os.environ.get("CRMRESEARCH_DUCKDB_PASSES")
    if configured:
        return max(1, int(configured))
    n_rows = src.con.execute("SELECT count(*) FROM src").fetchone()[0]
    if n_rows < _PASS_CHECK_MIN_ROWS:
        return 1
    n_customers = src.con.execute("SELECT approx_count_distinct(customer_id) FROM src").fetchone()[
        0
    ]
    return max(1, -(-int(n_customers) // CUSTOMERS_PER_PASS))


def customer_ranges(src, n_parts: int) -> list[tuple[str | None, str | None]]:
    """``n_parts`` ranges [low, high) of customer ids (byte order) with about equal rows.

    The bounds are quantiles of a row sample, so a customer is in exactly one range whatever
    the sample; a skewed sample only makes the passes unequal. ``None``: unbounded.
    """
    if n_parts <= 1:
        return [(None, None)]
    probs = ", ".join(f"{k / n_parts!r}" for k in range(1, n_parts))
    sample = f"USING SAMPLE {_RANGE_SAMPLE} (system)"
    bounds = src.con.execute(
        f"SELECT quantile_disc(CAST(customer_id AS VARCHAR), [{probs}]) "
        f"FROM (SELECT customer_id FROM src WHERE customer_id IS NOT NULL {sample})"
    ).fetchone()[0]
    if not bounds or all(b is None for b in bounds):
        # small logs: the sample (whole vectors of rows) may be empty; use every row
        bounds = src.con.execute(
            f"SELECT quantile_disc(CAST(customer_id AS VARCHAR), [{probs}]) FROM src "
            "WHERE customer_id IS NOT NULL"
        ).fetchone()[0]
    edges = [None, *sorted({b for b in bounds or [] if b is not None}), None]
    return list(zip(edges[:-1], edges[1:], strict=False))


_PARTITIONS = "passes"  # folder in the source's scratch folder


def partition_rows(src, rows_sql: str, ranges: list[tuple[str | None, str | None]]):
    """Write the projected rows once, one Parquet folder a range; a FROM source each.

    Every pass scanning the whole log costs a full read and filter of it (100 M rows: ~5 s a
    pass); one partitioned write (~25 s) and then reading 1/n of it per pass is cheaper from
    about 6 passes on, and lets a pass read only integers. ``None`` for a range without rows.
    """
    folder = src.scratch / _PARTITIONS
    ident = "CAST(customer_id AS VARCHAR)"
    whens = " ".join(
        f"WHEN {ident} < {string(high)} THEN {k}"
        for k, (_, high) in enumerate(ranges)
        if high is not None
    )
    which = f"CASE {whens} ELSE {len(ranges) - 1} END" if whens else "0"
    src.con.execute(
        f"COPY (SELECT *, {which} AS crm_pass FROM ({rows_sql})) TO {string(str(folder))} "
        "(FORMAT parquet, PARTITION_BY (crm_pass), COMPRESSION snappy)"
    )
    sources = []
    for k in range(len(ranges)):
        files = folder / f"crm_pass={k}"
        glob = string(str(files / "*.parquet"))
        sources.append(
            f"SELECT * FROM read_parquet({glob}, hive_partitioning = false)"
            if files.is_dir()
            else None
        )
    return sources


def drop_partitions(src) -> None:
    """Free the disk of :func:`partition_rows` as soon as the passes are done."""
    shutil.rmtree(src.scratch / _PARTITIONS, ignore_errors=True)


class PassColumns:
    """The passes' results, appended in order into one preallocated array a column.

    The ranges ascend and each pass is sorted (byte-wise, as one pass's ORDER BY), so the
    passes are simply appended. Writing each pass into its slice of the final arrays (not
    keeping the passes and concatenating them) holds one copy of the result, not two: 100 M
    rows / 10 M customers peak at the final 1.5 GB plus one pass.
    """

    _SLACK = 1.1  # room for passes with more customers than the first one

    def __init__(self, n_passes: int):
        self.n_passes = n_passes
        self.ids: list = []
        self.columns: dict[str, np.ndarray] = {}
        self.filled = 0

    def append(self, ids, result: dict[str, np.ndarray]) -> None:
        # a copy: DuckDB's Arrow chunks keep their whole record batch (every column of the
        # pass, bitmasks included) alive while any one column is referenced
        self.ids.append(pa.concat_arrays(ids.chunks) if ids.num_chunks else ids.combine_chunks())
        self._type = ids.type
        m = len(ids)
        if self.n_passes == 1:
            self.columns, self.filled = result, m
            return
        if not self.columns:  # the first pass sizes the arrays for all of them
            capacity = int(m * self.n_passes * self._SLACK) + 1024
            self.columns = {n: np.empty(capacity, dtype=a.dtype) for n, a in result.items()}
        for name, values in result.items():
            column = self.columns[name]
            dtype = np.result_type(column.dtype, values.dtype)
            if self.filled + m > len(column) or dtype != column.dtype:
                # more customers than foreseen, or NULLs made an integer column float
                grown = np.empty(max(len(column), int((self.filled + m) * self._SLACK)), dtype)
                grown[: self.filled] = column[: self.filled]
                self.columns[name] = column = grown
            column[self.filled : self.filled + m] = values
        self.filled += m

    def frame(self) -> pd.DataFrame:
        ids = pa.chunked_array(self.ids, type=self._type).to_pandas()
        columns = {"customer_id": ids}
        columns.update({name: a[: self.filled] for name, a in self.columns.items()})
        self.ids, self.columns = [], {}
        return pd.DataFrame(columns, copy=False)
