"""Sales job against its naive approach and DuckDB, as whole processes on the same files.

    .venv/bin/python bench/sales.py                     # 3 rounds, both shapes
    .venv/bin/python bench/sales.py --rounds 1 --scale 0.25

Shapes (generated into bench/out/sales/, reused by later runs of the same scale):
  csv   8 CSV files, headers in two orders, ~1% bad amounts or timestamps
  json  8 NDJSON files of nested events whose types disagree between files (an id that is a
        number in some files and a string in others, an object that is sometimes a string)
Contenders, each a fresh process on local[2] Spark or 2 DuckDB threads, writing Parquet
partitioned by date=YYYY-MM-DD:
  job    scripts/sales_raw_to_processed.py as a user runs it
  naive  spark.read (inferSchema / read.json), amount cast to decimal, to_timestamp, partitionBy
         date, append
  duckdb the same cleaning in SQL, COPY ... PARTITION_BY (date)
Runs are interleaved (round by round, every contender on every shape) so load changes on the
machine hit them alike; the table shows medians and the ratios to the job.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
OUT = ROOT / "out" / "sales"
FILES = 8


def gen_csv(folder: Path, rows: int) -> None:
    rng = random.Random(1)
    folder.mkdir(parents=True, exist_ok=True)
    per = rows // FILES
    for f in range(FILES):
        cols = ["order_id", "event_time", "amount", "quantity", "customer_id", "product_id"]
        if f % 2:
            cols = ["event_time", "order_id", "customer_id", "amount", "product_id", "quantity"]
        with (folder / f"sales-{f:02d}.csv").open("w") as fh:
            fh.write(",".join(cols) + "\n")
            for i in range(per):
                day = 1 + rng.randrange(28)
                values = {
                    "order_id": f"o{f}-{i}",
                    "event_time": f"2026-11-{day:02d}T{rng.randrange(24):02d}:00:00Z",
                    "amount": f"{rng.randrange(100000) / 100:.2f}",
                    "quantity": str(1 + rng.randrange(9)),
                    "customer_id": f"c{rng.randrange(100000)}",
                    "product_id": f"p{rng.randrange(5000)}",
                }
                if rng.random() < 0.01:
                    values["amount"] = "n/a"
                if rng.random() < 0.005:
                    values["event_time"] = "yesterday"
                fh.write(",".join(values[c] for c in cols) + "\n")


def gen_json(folder: Path, rows: int) -> None:
    rng = random.Random(2)
    folder.mkdir(parents=True, exist_ok=True)
    per = rows // FILES
    for f in range(FILES):
        with (folder / f"events-{f:02d}.ndjson").open("w") as fh:
            for i in range(per):
                user_id: object = rng.randrange(100000) if f % 2 else f"u{rng.randrange(100000)}"
                record = {
                    "event_id": f"e{f}-{i}",
                    "event_time": f"2026-11-{1 + rng.randrange(28):02d}T{rng.randrange(24):02d}:00",
                    "amount": rng.randrange(100000) / 100 if f % 3 else f"{rng.randrange(1000)}.50",
                    "user": {"id": user_id, "geo": {"country": rng.choice(["NL", "DE", "FR"])}},
                    "device": {"os": "ios", "v": 17} if f % 4 else "unknown",
                    "items": [{"sku": f"s{rng.randrange(100)}", "n": 1 + rng.randrange(3)}],
                }
                if rng.random() < 0.01:
                    record["amount"] = "n/a"
                fh.write(json.dumps(record) + "\n")


SHAPES = {"csv": gen_csv, "json": gen_json}

# ---------------------------------------------------------------------------------------------
# Contenders (run as `bench/sales.py --run NAME --shape S --input DIR --output DIR`)
# ---------------------------------------------------------------------------------------------


def run_naive(shape: str, input_dir: str, output: str) -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    import glue_etl_common as common
    from pyspark.sql import functions as F

    spark = common.local_spark("naive", master="local[2]")
    if shape == "csv":
        df = spark.read.csv(input_dir, header=True, inferSchema=True)
    else:
        df = spark.read.json(input_dir)
    df = (
        df.withColumn("amount", F.col("amount").cast("decimal(12,2)"))
        .withColumn("event_time", F.to_timestamp(F.col("event_time").cast("string")))
        .withColumn("date", F.date_format("event_time", "yyyy-MM-dd"))
    )
    df.write.mode("append").partitionBy("date").parquet(output)
    spark.stop()


def run_duckdb(shape: str, input_dir: str, output: str) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    if shape == "csv":
        src = f"read_csv('{input_dir}/*.csv', union_by_name = true, all_varchar = true)"
        amount = "trim(amount)"
    else:
        src = (
            f"(select * exclude (user), user.id::varchar as user_id, "
            f"user.geo.country as user_geo_country from read_json('{input_dir}/*.ndjson', "
            "union_by_name = true, format = 'newline_delimited'))"
        )
        amount = "trim(amount::varchar)"
    ts = "try_cast(event_time::varchar as timestamptz)"
    good_amount = f"regexp_full_match({amount}, '\\d+(\\.\\d{{1,2}})?')"
    con.execute(
        f"""
        create view cleaned as
        select * replace (try_cast({amount} as decimal(12,2)) as amount, {ts} as event_time),
               strftime({ts} at time zone 'UTC', '%Y-%m-%d') as date,
               case when {ts} is null then 'bad timestamp'
                    when not coalesce({good_amount}, false) then 'bad amount' end as _reject_reason
        from {src}
        """
    )
    con.execute(
        f"copy (select * exclude (_reject_reason) from cleaned where _reject_reason is null) "
        f"to '{output}' (format parquet, partition_by (date), overwrite_or_ignore)"
    )
    os.makedirs(f"{output}/_rejected", exist_ok=True)
    con.execute(
        f"copy (select * from cleaned where _reject_reason is not null) "
        f"to '{output}/_rejected/part-0.json' (format json)"
    )


def run_job(shape: str, input_dir: str, output: str) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "sales_raw_to_processed.py"),
            "--INPUT_PATH",
            input_dir,
            "--OUTPUT_PATH",
            output,
        ],
        env={**os.environ, "SPARK_MASTER": "local[2]"},
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        raise SystemExit(proc.stderr[-3000:])
    print([ln for ln in proc.stdout.splitlines() if ln.startswith("ETL_SUMMARY")][-1])


CONTENDERS = {"job": run_job, "naive": run_naive, "duckdb": run_duckdb}


def timed(name: str, shape: str, input_dir: Path, output: Path) -> float:
    shutil.rmtree(output, ignore_errors=True)
    started = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--run",
            name,
            "--shape",
            shape,
            "--input",
            str(input_dir),
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    if proc.returncode:
        raise SystemExit(f"{name} on {shape} failed:\n{proc.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 800k CSV, 400k JSON rows")
    parser.add_argument("--shapes", default="csv,json")
    parser.add_argument("--contenders", default="job,naive,duckdb")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        CONTENDERS[args.run](args.shape, args.input, args.output)
        return

    sizes = {"csv": int(800_000 * args.scale), "json": int(400_000 * args.scale)}
    shapes = [s for s in args.shapes.split(",") if s]
    contenders = [c for c in args.contenders.split(",") if c]
    inputs: dict[str, Path] = {}
    for shape in shapes:
        folder = OUT / f"{shape}-{sizes[shape]}"
        if not folder.exists():
            SHAPES[shape](folder, sizes[shape])
        inputs[shape] = folder
        mb = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        print(f"{shape}: {sizes[shape]:,} rows in {FILES} files, {mb:.0f} MB")
    times: dict[tuple[str, str], list[float]] = {}
    for r in range(args.rounds):
        for shape in shapes:
            for name in contenders:
                t = timed(name, shape, inputs[shape], OUT / "result" / f"{shape}-{name}")
                times.setdefault((shape, name), []).append(t)
                print(
                    f"round {r + 1} {shape:4} {name:6} {t:6.1f} s  load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    print()
    print("| shape | contender | median s | runs | job speed-up vs it |")
    print("| --- | --- | --- | --- | --- |")
    for shape in shapes:
        job = statistics.median(times.get((shape, "job"), [float("nan")]))
        for name in contenders:
            med = statistics.median(times[(shape, name)])
            print(
                f"| {shape} | {name} | {med:.1f} | {len(times[(shape, name)])} | {med / job:.2f}x |"
            )


if __name__ == "__main__":
    main()
