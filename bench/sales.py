"""Sales job against its naive approach and DuckDB, as whole processes on the same files.

    .venv/bin/python bench/sales.py                  # both shapes, 2 interleaved repeats
    .venv/bin/python bench/sales.py --quick          # small sizes, a smoke run

Shapes (generated once into bench/out/sales/ by the harness):
  csv   8 CSV files, headers in two orders, ~1% bad amounts or timestamps
  csv-text  8 CSV files of 12 columns: quoted text with commas, quotes, line breaks and
        non-ASCII, times in five forms, amounts with currency signs and thousands separators
  json  8 NDJSON files of nested events whose types disagree between files (a user id that is a
        number in some files and a string in others, a device that is an object or a string,
        an amount that is a number or a string)
  json-flat  8 NDJSON files of flat records, four times as many: times to the millisecond, an
        amount that is a double, an integer or a string within each file, escaped and raw
        non-ASCII text
Contenders, each a fresh process on local[2] Spark or 2 DuckDB threads, writing Parquet
partitioned by date=YYYY-MM-DD:
  job    scripts/sales_raw_to_processed.py as a user runs it
  naive  spark.read (inferSchema / read.json), amount cast to decimal, to_timestamp, partitionBy
         date, append
  duckdb the same cleaning in SQL, COPY ... PARTITION_BY (date), rejects as JSON lines
Every contender's output (written + rejected rows) is counted with DuckDB and Python and must
equal the rows generated.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

from harness import Contender, Shape, run

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent
FILES = 8


def gen_csv(folder: Path, rows: int) -> int:
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
    return per * FILES


NAMES = ["Zoë Ångström", "José Núñez", "李小龍", "O'Brien, Pat", 'Mo "the" Salah', "Ødegaard"]
NOTES = [
    "gift wrap, please",
    'said "ASAP"',
    "line one\nline two",
    "windows\r\nline",
    "émoji 😀 ok",
    "",
]


def gen_csv_text(folder: Path, rows: int) -> int:
    """Wide rows of quoted text (commas, quotes, line breaks, non-ASCII), times in five forms
    (ISO with an offset, space-separated, slashes, epoch seconds and milliseconds), amounts with
    currency signs and thousands separators."""
    import csv

    rng = random.Random(3)
    folder.mkdir(parents=True, exist_ok=True)
    per = rows // FILES
    cols = [
        "order_id", "event_time", "amount", "quantity", "customer", "email", "note", "sku",
        "channel", "country", "referrer", "user_agent",
    ]  # fmt: skip
    for f in range(FILES):
        order = cols if f % 2 else [*cols[6:], *cols[:6]]
        with (folder / f"orders-{f:02d}.csv").open("w", newline="") as fh:
            out = csv.writer(fh, lineterminator="\n")
            out.writerow(order)
            for i in range(per):
                epoch = 1_780_000_000 + rng.randrange(20_000_000)
                form = rng.randrange(5)
                when = [
                    f"2026-{1 + rng.randrange(11):02d}-{1 + rng.randrange(28):02d}T"
                    f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
                    f".{rng.randrange(1000):03d}+0{rng.randrange(3)}:00",
                    f"2026-{1 + rng.randrange(11):02d}-{1 + rng.randrange(28):02d} "
                    f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}",
                    f"2026/{1 + rng.randrange(11):02d}/{1 + rng.randrange(28):02d}",
                    str(epoch),
                    str(epoch * 1000 + rng.randrange(1000)),
                ][form]
                cents = rng.randrange(10_000_000)
                amount = rng.choice(
                    [f"{cents / 100:.2f}", f"${cents // 100:,}.{cents % 100:02d}", f" {cents}"]
                )
                values = {
                    "order_id": f"ord-{f}-{i}",
                    "event_time": when if rng.random() > 0.01 else "n/a",
                    "amount": amount if rng.random() > 0.01 else "-1.00",
                    "quantity": rng.choice(["1", "2", "007", "", "12"]),
                    "customer": rng.choice(NAMES),
                    "email": f"user{rng.randrange(10**6)}@example.com",
                    "note": rng.choice(NOTES),
                    "sku": f"SKU-{rng.randrange(10**5):05d}",
                    "channel": rng.choice(["web", "app", "store"]),
                    "country": rng.choice(["NL", "DE", "FR", "JP"]),
                    "referrer": f"https://example.com/p?id={rng.randrange(10**6)}&utm=a,b",
                    "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36, like Gecko",
                }
                out.writerow([values[c] for c in order])
    return per * FILES


def gen_json(folder: Path, rows: int) -> int:
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
    return per * FILES


def gen_json_flat(folder: Path, rows: int) -> int:
    rng = random.Random(3)
    folder.mkdir(parents=True, exist_ok=True)
    per = rows // FILES
    notes = ["", "très bien", "two\nlines", 'a "quoted" word', "emoji 😀", "tab\tand \\ slash"]
    for f in range(FILES):
        with (folder / f"flat-{f:02d}.ndjson").open("w") as fh:
            for i in range(per):
                cents = rng.randrange(10**6)
                kind = rng.random()
                amount: object = cents / 100
                if kind < 0.35:
                    amount = f"{cents / 100:.2f}"
                elif kind < 0.39:
                    amount = cents // 100
                elif kind < 0.40:
                    amount = "n/a"
                record = {
                    "order_id": f"f{f}-{i}",
                    "event_time": (
                        f"2026-11-{1 + rng.randrange(28):02d}T{rng.randrange(24):02d}:"
                        f"{rng.randrange(60):02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z"
                    ),
                    "amount": amount,
                    "quantity": 1 + rng.randrange(9)
                    if rng.random() < 0.8
                    else str(rng.randrange(9)),
                    "customer": f"c{rng.randrange(10**6)}",
                    "channel": rng.choice(["web", "app", "store"]),
                    "country": rng.choice(["NL", "DE", "FR", "BE"]),
                    "coupon": "SAVE10" if rng.random() < 0.1 else None,
                    "gift": rng.random() < 0.05,
                    "note": rng.choice(notes),
                }
                fh.write(json.dumps(record, ensure_ascii=f % 2 == 0) + "\n")
    return per * FILES


# ---------------------------------------------------------------------------------------------
# Contenders (run as `bench/sales.py --run NAME --shape S --input DIR --output DIR`)
# ---------------------------------------------------------------------------------------------


def shape_of(input_dir: str) -> str:
    names = os.listdir(input_dir)
    if any(n.startswith("orders-") for n in names):
        return "csv-text"
    if any(n.startswith("flat-") for n in names):
        return "json-flat"
    return "csv" if any(n.endswith(".csv") for n in names) else "json"


def run_naive(input_dir: str, output: str) -> None:
    sys.path.insert(0, str(REPO / "scripts"))
    import glue_etl_common as common
    from pyspark.sql import functions as F

    spark = common.local_spark("naive", master="local[2]")
    if shape_of(input_dir) == "csv":
        df = spark.read.csv(input_dir, header=True, inferSchema=True)
    elif shape_of(input_dir) == "csv-text":
        # Quoted fields hold line breaks: without multiLine the rows are split.
        df = spark.read.csv(input_dir, header=True, inferSchema=True, multiLine=True, escape='"')
    else:
        df = spark.read.json(input_dir)
    df = (
        df.withColumn("amount", F.col("amount").cast("decimal(12,2)"))
        .withColumn("event_time", F.to_timestamp(F.col("event_time").cast("string")))
        .withColumn("date", F.date_format("event_time", "yyyy-MM-dd"))
    )
    df.write.mode("append").partitionBy("date").parquet(output)
    spark.stop()


def run_duckdb(input_dir: str, output: str) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    if shape_of(input_dir).startswith("csv"):
        src = f"read_csv('{input_dir}/*.csv', union_by_name = true, all_varchar = true)"
        amount = "trim(amount)"
    elif shape_of(input_dir) == "json-flat":
        src = (
            f"read_json('{input_dir}/*.ndjson', union_by_name = true, format = 'newline_delimited')"
        )
        amount = "trim(amount::varchar)"
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


def count_rows(output: Path) -> int:
    """Rows written (Parquet, counted by DuckDB) plus rows rejected (JSON lines, by Python)."""
    import duckdb

    written = 0
    if list(output.glob("date=*/*.parquet")):
        rel = duckdb.sql(f"select count(*) from read_parquet('{output}/date=*/*.parquet')")
        written = int(rel.fetchall()[0][0])
    rejected = sum(
        1
        for part in (output / "_rejected").glob("*.json")
        # Split on LF only: JSON writers leave U+2028 and U+0085 unescaped inside strings.
        for line in part.read_text(encoding="utf-8").split("\n")
        if line.strip()
    )
    return written + rejected


def job_argv(input_dir: Path, output: Path) -> list[str]:
    script = REPO / "scripts" / "sales_raw_to_processed.py"
    return [
        sys.executable,
        str(script),
        "--INPUT_PATH",
        str(input_dir),
        "--OUTPUT_PATH",
        str(output),
    ]


def contender_argv(name: str):
    def argv(input_dir: Path, output: Path) -> list[str]:
        return [sys.executable, __file__, "--run", name, str(input_dir), str(output)]

    return argv


def main() -> None:
    if sys.argv[1:2] == ["--run"]:
        name, input_dir, output = sys.argv[2:5]
        {"naive": run_naive, "duckdb": run_duckdb}[name](input_dir, output)
        return
    os.environ["SPARK_MASTER"] = "local[2]"
    run(
        "sales",
        [
            Shape("csv", gen_csv, size=400_000, quick_size=8_000),
            Shape("csv-text", gen_csv_text, size=200_000, quick_size=4_000),
            Shape("json", gen_json, size=200_000, quick_size=4_000),
            Shape("json-flat", gen_json_flat, size=800_000, quick_size=8_000),
        ],
        [
            Contender("job", job_argv, count_rows),
            Contender("naive", contender_argv("naive"), count_rows),
            Contender("duckdb", contender_argv("duckdb"), count_rows),
        ],
        description=__doc__.splitlines()[0],
    )


if __name__ == "__main__":
    main()
