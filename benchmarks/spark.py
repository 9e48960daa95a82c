"""Benchmark the Spark engine in local mode at 10 M transactions; per-stage costs for docs/scaling.md.

Usage::

    .venv/bin/python benchmarks/spark.py                  # 10 M rows, local[2]
    .venv/bin/python benchmarks/spark.py --rows 1e6 --master local[1]

Uses the Parquet logs of ``benchmarks/features.py`` (generated there when missing), rewritten
once with calendar dates (``date32``; Spark does not read nanosecond timestamps) to
``benchmarks/_data/transactions_<N>M_dates.parquet``. Measures, in one SparkSession:

* ``customer_features(engine="spark")`` end to end (features collected to pandas);
* the stages on their own: stage 1 (customer-day aggregate), the gap window + stage 2, from
  Spark's REST API per stage: wall time, input rows, shuffle bytes written;
* in-engine statistics: the correlation (means + one Gram aggregate) and scores + tiers
  written back to Parquet;
* the bare Spark group-by with ``count(DISTINCT date)`` and DuckDB's ``customer_features``
  on the same file for the same-run ratios.

Results are printed as a Markdown table and written to ``benchmarks/_data/spark_results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import features as fbench  # noqa: E402  (the generator and machine info of the other benchmark)

END = fbench.END


def dated_copy(n_rows: int) -> Path:
    """The benchmark log with date32 date columns (what a Spark job would read)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = fbench.generate(n_rows, fbench.DATA / f"transactions_{n_rows // 1_000_000}M.parquet")
    dst = src.with_name(src.stem + "_dates.parquet")
    if dst.exists():
        return dst
    tmp = dst.with_suffix(".tmp")
    reader = pq.ParquetFile(src)
    writer = None
    for batch in reader.iter_batches(batch_size=1_000_000):
        table = pa.Table.from_batches([batch])
        for col in ("date", "due_date", "paid_date"):
            i = table.column_names.index(col)
            table = table.set_column(i, col, table.column(col).cast(pa.date32()))
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema, compression="snappy")
        writer.write_table(table, row_group_size=1_000_000)
    writer.close()
    os.replace(tmp, dst)
    return dst


def stage_metrics(spark, since_stage: int) -> list[dict]:
    """Completed stages after ``since_stage`` from the UI's REST API."""
    url = spark.sparkContext.uiWebUrl
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/stages?status=complete") as r:
        stages = json.load(r)
    out = []
    for s in stages:
        if s["stageId"] <= since_stage:
            continue
        out.append(
            {
                "stage": s["stageId"],
                "name": s["name"][:60],
                "seconds": s.get("executorRunTime", 0) / 1000,
                # CPU time of the tasks: robust to other jobs competing for the cores
                "cpu_seconds": s.get("executorCpuTime", 0) / 1e9,
                "input_rows": s.get("inputRecords", 0),
                "shuffle_read_rows": s.get("shuffleReadRecords", 0),
                "shuffle_write_bytes": s.get("shuffleWriteBytes", 0),
                "shuffle_write_rows": s.get("shuffleWriteRecords", 0),
                "spill_disk_bytes": s.get("diskBytesSpilled", 0),
            }
        )
    return sorted(out, key=lambda s: s["stage"])


def last_stage(spark) -> int:
    url = spark.sparkContext.uiWebUrl
    app = spark.sparkContext.applicationId
    with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/stages") as r:
        return max((s["stageId"] for s in json.load(r)), default=-1)


def timed(label: str, fn, spark, results: list) -> object:
    since = last_stage(spark)
    t = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t
    stages = stage_metrics(spark, since)
    results.append({"step": label, "seconds": seconds, "stages": stages})
    shuffle = sum(s["shuffle_write_bytes"] for s in stages)
    print(f"  {label:34s} {seconds:7.2f} s  shuffle {shuffle / 1e6:8.1f} MB", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="1e7")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--partitions", type=int, default=8, help="spark.sql.shuffle.partitions")
    parser.add_argument("--driver-memory", default="4g")
    args = parser.parse_args(argv)
    n_rows = int(float(args.rows))
    path = dated_copy(n_rows)

    import warnings

    warnings.simplefilter("ignore", FutureWarning)
    import numpy as np
    import pandas as pd
    from pyspark.sql import SparkSession

    from crmresearch.features import customer_features
    from crmresearch.features.instats import FeatureTable

    print("machine: " + ", ".join(f"{k} {v}" for k, v in fbench.machine().items()))
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    t = time.perf_counter()
    spark = (
        SparkSession.builder.master(args.master)
        .appName("crmresearch-benchmark")
        .config("spark.sql.shuffle.partitions", str(args.partitions))
        .config("spark.driver.memory", args.driver_memory)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    start_s = time.perf_counter() - t
    print(f"\n{n_rows:,} transactions, {args.master}, {args.partitions} shuffle partitions")
    print(f"  {'SparkSession start':34s} {start_s:7.2f} s")
    results: list[dict] = []
    p = str(path)
    bare_sql = (
        "SELECT customer_id, min(date), max(date), count(*), sum(amount), avg(amount), "
        f"stddev_samp(amount), count(DISTINCT date) FROM parquet.`{p}` "
        f"WHERE date <= DATE '{END}' GROUP BY customer_id"
    )
    timed("bare group-by + count(distinct)", lambda: spark.sql(bare_sql).toArrow(), spark, results)
    X = timed(
        "customer_features(engine='spark')",
        lambda: customer_features(p, end=END, engine="spark", spark=spark),
        spark,
        results,
    )
    table = timed(
        "FeatureTable (features kept in Spark)",
        lambda: FeatureTable(p, end=END, engine="spark", spark=spark),
        spark,
        results,
    )
    with table:
        corr = timed("correlation (means + Gram)", table.correlation, spark, results)
        coef = pd.DataFrame(
            np.eye(len(corr.matrix))[:, :3],
            index=corr.matrix.index,
            columns=["F1", "F2", "F3"],
        )
        out = fbench.DATA / "spark_scores.parquet"
        timed(
            "scores + tiers -> Parquet",
            lambda: table.write_scores(corr, coef, out=str(out)),
            spark,
            results,
        )
    t = time.perf_counter()
    Xd = customer_features(p, end=END)
    duck_s = time.perf_counter() - t
    print(f"  {'DuckDB customer_features (same file)':34s} {duck_s:7.2f} s")
    spark.stop()
    same = bool((X.index == Xd.index).all() and (X["frequency"] == Xd["frequency"]).all())
    fbench.DATA.mkdir(exist_ok=True)
    from crmresearch._io import write_json

    write_json(
        fbench.DATA / "spark_results.json",
        {
            "machine": fbench.machine(),
            "rows": n_rows,
            "master": args.master,
            "shuffle_partitions": args.partitions,
            "session_start_s": start_s,
            "duckdb_customer_features_s": duck_s,
            "frequency_identical_to_duckdb": same,
            "steps": results,
        },
    )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}; Spark = DuckDB frequency: {same}")
    print(
        "\n| step | wall (s) | task CPU (s) | rows/s per core (CPU) | shuffle written (MB) "
        "| shuffle bytes/row |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        shuffle = sum(s["shuffle_write_bytes"] for s in r["stages"])
        cpu = sum(s["cpu_seconds"] for s in r["stages"])
        rate = f"{n_rows / cpu:,.0f}" if cpu else ""
        print(
            f"| {r['step']} | {r['seconds']:.2f} | {cpu:.1f} | {rate} | "
            f"{shuffle / 1e6:.1f} | {shuffle / n_rows:.1f} |"
        )
    print("\nper stage (executor run time, input and shuffle):")
    for r in results:
        for s in r["stages"]:
            print(
                f"  {r['step'][:24]:24s} stage {s['stage']:3d} {s['seconds']:7.2f} s "
                f"(CPU {s['cpu_seconds']:6.2f} s)  input "
                f"{s['input_rows']:>11,}  shuffle read rows {s['shuffle_read_rows']:>11,}  "
                f"write {s['shuffle_write_bytes'] / 1e6:8.1f} MB / {s['shuffle_write_rows']:>11,} rows"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
