"""The Spark engine: the log as a temporary view in a SparkSession, the portable query on it.

PySpark is an optional dependency (``pip install "crmresearch[spark]"``, Java 17+). The session
should use ``spark.sql.session.timeZone=UTC`` when the log's dates are timestamps, so that the
cast to a calendar date does not move a purchase to another day.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from crmresearch.errors import DataError
from crmresearch.features.registry import REQUIRED_COLUMNS
from crmresearch.features.spec import SPARK

__all__ = ["SparkSource", "require_pyspark"]

INSTALL_HINT = (
    'engine="spark" needs PySpark and Java 17+: pip install "crmresearch[spark]" '
    "(or pip install pyspark), then pass spark=SparkSession or let one be created"
)
_DATE_COLUMNS = ("date", "due_date", "paid_date")


def sql_types():
    import pyspark.sql.types

    return pyspark.sql.types


def require_pyspark():
    """Import pyspark.sql or raise ImportError with the install command."""
    try:
        import pyspark.sql
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return pyspark.sql


class SparkSource:
    """The log as a temporary view of ``spark`` (a Spark DataFrame, pandas frame, path or table).

    Paths: a directory with ``_delta_log`` is read as Delta (needs the delta-spark package on
    the session), ``*.csv`` as CSV with a header, anything else as Parquet. A string that is
    not an existing path is taken as a table name (``db.transactions``).
    """

    dialect = SPARK

    def __init__(self, log: Any, spark: Any = None):
        sql = require_pyspark()
        self.spark = (
            spark or sql.SparkSession.getActiveSession() or sql.SparkSession.builder.getOrCreate()
        )
        self._views: list[str] = []
        self.label = "DataFrame"
        if hasattr(log, "frame") and isinstance(log.frame, pd.DataFrame):
            self.label = str(getattr(log, "source", "TransactionLog"))
            log = log.frame
        if isinstance(log, sql.DataFrame):
            frame = log
        elif isinstance(log, pd.DataFrame):
            frame = self._from_pandas(log)
        elif isinstance(log, (str, os.PathLike)):
            frame = self._from_path_or_table(str(log))
        else:
            raise TypeError(
                "log must be a Spark DataFrame, a pandas DataFrame, a TransactionLog, a Parquet/"
                f"Delta/CSV path or a table name, not {type(log).__name__}"
            )
        self.columns = list(frame.columns)
        missing = [c for c in REQUIRED_COLUMNS if c not in self.columns]
        if missing:
            raise DataError(
                f"{self.label}: missing required column(s) {', '.join(missing)}; the log needs "
                f"{', '.join(REQUIRED_COLUMNS)} (rename them, e.g. df.withColumnRenamed(...))"
            )
        self.view = self._register(frame, "src")

    def _from_pandas(self, frame: pd.DataFrame):
        import pyarrow as pa

        for col in _DATE_COLUMNS:
            if col in frame.columns and not pd.api.types.is_datetime64_any_dtype(frame[col]):
                raise DataError(
                    f"{self.label}: column {col!r} has dtype {frame[col].dtype}, expected "
                    "datetime64; parse dates first (crmresearch.data.read_transactions does)"
                )
        table = pa.Table.from_pandas(frame, preserve_index=False)
        # calendar dates (the time of day is dropped anyway): no time-zone question in Spark
        for col in _DATE_COLUMNS:
            if col in table.column_names:
                i = table.column_names.index(col)
                day = pa.compute.floor_temporal(table.column(col), unit="day")
                table = table.set_column(i, col, day.cast(pa.date32()))
        for col in table.column_names:
            if pa.types.is_dictionary(table.schema.field(col).type):
                i = table.column_names.index(col)
                table = table.set_column(i, col, table.column(col).cast(pa.string()))
        return self.spark.createDataFrame(table)

    def _from_path_or_table(self, text: str):
        path = Path(text)
        if not path.exists() and not any(ch in text for ch in "*?["):
            if "/" in text or text.endswith((".parquet", ".csv")):
                raise FileNotFoundError(f"{text}: no such file or directory")
            self.label = text
            return self.spark.table(text)
        self.label = text
        if path.is_dir() and (path / "_delta_log").is_dir():
            return self.spark.read.format("delta").load(text)
        if text.endswith(".csv"):
            reader = self.spark.read.option("header", True)
            inferred = reader.option("inferSchema", True).csv(text).schema
            # ids stay text (leading zeros), the rest as inferred
            types = sql_types()
            fields = [
                types.StructField(f.name, types.StringType()) if f.name == "customer_id" else f
                for f in inferred.fields
            ]
            return reader.schema(types.StructType(fields)).csv(text)
        return self.spark.read.parquet(text)

    def _register(self, frame, stem: str) -> str:
        name = f"crm_{stem}_{uuid.uuid4().hex[:12]}"
        frame.createOrReplaceTempView(name)
        self._views.append(name)
        return name

    # -- the interface shared with DuckDBSource -----------------------------------------------
    def progress(self) -> str | None:
        """Tasks done in the active stages (Spark's status tracker), or None."""
        try:
            tracker = self.spark.sparkContext.statusTracker()
            stages = [tracker.getStageInfo(i) for i in tracker.getActiveStageIds()]
        except Exception:  # noqa: BLE001 - progress is best effort, never fatal
            return None
        stages = [s for s in stages if s is not None]
        if not stages:
            return None
        done = sum(s.numCompletedTasks for s in stages)
        total = sum(s.numTasks for s in stages)
        return f"stage {', '.join(str(s.stageId) for s in stages)}: {done}/{total} tasks"

    def fetch_one(self, sql: str) -> dict:
        rows = self.spark.sql(sql).collect()
        return rows[0].asDict() if rows else {}

    def to_pandas(self, sql: str) -> pd.DataFrame:
        return self.spark.sql(sql).toArrow().to_pandas()

    def distinct_values(self, column: str, end: pd.Timestamp, limit: int) -> list[str] | None:
        """Sorted distinct non-null values up to ``end``, or None when there are more than limit."""
        rows = self.spark.sql(
            f"SELECT DISTINCT CAST({column} AS STRING) AS v FROM {self.view} "
            f"WHERE {column} IS NOT NULL AND CAST(date AS DATE) <= {SPARK.date(end)} "
            f"LIMIT {int(limit) + 1}"
        ).collect()
        values = sorted(r["v"] for r in rows)
        return None if len(values) > limit else values

    def register_codes(self, column: str, values: list[str]) -> str:
        frame = self.spark.createDataFrame(
            [(v, i) for i, v in enumerate(values)], "value STRING, code INT"
        )
        return self._register(frame, f"codes_{column}")

    def close(self) -> None:
        for name in self._views:
            self.spark.catalog.dropTempView(name)
        self._views = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
