"""NDJSON manifest batch → Snappy Parquet: the job, the reference approach and DuckDB, as whole
processes on the same files (interleaved, medians, ratios; see harness.py).

    .venv/bin/python bench/ndjson.py              # 200 files x 3.5 MB (700 MB) per shape
    .venv/bin/python bench/ndjson.py --quick      # 4 files per shape
    .venv/bin/python bench/ndjson.py --files 40   # another size

Shapes: ``flat`` records, and ``nested`` records (an object and an array per record) whose
``amount`` and ``user_id`` are numbers in even files and strings in odd ones (both written by
DuckDB, compact); ``python`` records written by Python's ``json.dumps`` (a space after every
separator, non-ASCII text as backslash-u escapes, optional keys in varying order, an array of
objects, ``amount`` a number or a string by file). Contenders:

- ``job``: ``scripts/ndjson_manifest_to_parquet.py --MANIFEST_PATH … --OUTPUT_PATH …`` on
  ``local[2]``;
- ``naive``: the reference job's approach (``spark.read.json`` with an inferred schema, cache
  and count, coalesce by record count, values cast to text, append), on ``local[2]``;
- ``duckdb``: ``read_json`` → Parquet with values as text, 2 threads.

Each contender's output rows are counted with DuckDB and must equal the generated count.
"""

from __future__ import annotations

import json
import math
import os
import random
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from harness import Contender, Shape, run  # noqa: E402

DATE = "2026-11-21"
FILE_MB = 3.5
ROW_BYTES = {"flat": 150, "nested": 235, "python": 280}  # about, for the records below
NAMES = ["Zoë", "José", "Ærøskøbing", "Łódź", "東京", "Ann", "Bob", "Chloé"]
SCRIPT = ROOT.parent / "scripts" / "ndjson_manifest_to_parquet.py"


def generate(shape: str, folder: Path, files: int) -> int:
    """``files`` NDJSON files of about 3.5 MB and a manifest listing them; returns the rows."""
    rows = int(FILE_MB * 1024 * 1024 / ROW_BYTES[shape])
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    if shape == "python":
        return write_python_shape(data, folder, files, rows)
    con = duckdb.connect()
    con.execute("SET threads=2")
    for f in range(files):
        odd = f % 2 == 1 and shape == "nested"
        amount = "((i % 100000) / 100.0)::VARCHAR" if odd else "(i % 100000) / 100.0"
        user = "'u' || (i % 50000)" if odd else "i % 50000"
        nested = (
            """, {'device': ['ios','android','web'][1 + (i % 3)::INT],
                  'version': (i % 20)::VARCHAR, 'ab': i % 2 = 0} AS context,
               [i % 7, i % 11] AS tags"""
            if shape == "nested"
            else ""
        )
        con.execute(
            f"""
            COPY (
              SELECT i AS event_id, {user} AS user_id, {amount} AS amount,
                     ['click','view','buy','scroll'][1 + (i % 4)::INT] AS event_type,
                     TIMESTAMP '{DATE}' + to_seconds(i % 86400) AS event_time,
                     'https://shop.example.com/p/' || (hash(i) % 100000) AS url {nested}
              FROM range({f * rows}, {(f + 1) * rows}) t(i)
            ) TO '{data / f"events-{DATE}-{f:04d}.ndjson"}' (FORMAT json)
            """
        )
    uris = [str(p) for p in sorted(data.glob("*.ndjson"))]
    (folder / "manifest.json").write_text(json.dumps({"fileLocations": [{"URIPrefixes": uris}]}))
    return rows * files


def write_python_shape(data: Path, folder: Path, files: int, rows: int) -> int:
    """Records as Python's json module writes them, from a seeded random generator."""
    rnd = random.Random(2026)
    for f in range(files):
        lines = []
        for i in range(f * rows, (f + 1) * rows):
            amount = round(rnd.uniform(0, 5000), 2)
            record: dict[str, object] = {
                "order_id": f"o-{i}",
                "customer": {"name": rnd.choice(NAMES), "tier": rnd.randint(1, 3)},
                "amount": str(amount) if f % 2 else amount,
                "items": [
                    {"sku": f"s{rnd.randint(1, 999)}", "qty": rnd.randint(1, 5)}
                    for _ in range(rnd.randint(1, 3))
                ],
                "ts": f"{DATE}T{i % 24:02d}:{i % 60:02d}:00Z",
                "city": rnd.choice(NAMES),
            }
            if rnd.random() < 0.3:
                record["coupon"] = None if rnd.random() < 0.5 else f"C{rnd.randint(1, 99)}"
            if rnd.random() < 0.5:
                record = dict(reversed(list(record.items())))
            lines.append(json.dumps(record))
        (data / f"orders-{DATE}-{f:04d}.ndjson").write_text("\n".join(lines) + "\n")
    uris = [str(p) for p in sorted(data.glob("*.ndjson"))]
    (folder / "manifest.json").write_text(json.dumps({"fileLocations": [{"URIPrefixes": uris}]}))
    return rows * files


def count_parquet_rows(output: Path) -> int:
    files = [str(p) for p in output.rglob("*.parquet") if not p.name.startswith(("_", "."))]
    if not files:
        return 0
    return int(duckdb.sql(f"SELECT count(*) FROM read_parquet({files!r})").fetchall()[0][0])


def job(input_folder: Path, output: Path) -> list[str]:
    manifest = input_folder / "manifest.json"
    return [
        sys.executable,
        str(SCRIPT),
        "--MANIFEST_PATH",
        str(manifest),
        "--OUTPUT_PATH",
        str(output),
    ]


def naive(input_folder: Path, output: Path) -> list[str]:
    return [sys.executable, __file__, "naive", str(input_folder), str(output)]


def duck(input_folder: Path, output: Path) -> list[str]:
    return [sys.executable, __file__, "duckdb", str(input_folder), str(output)]


def run_naive(input_folder: Path, output: Path) -> None:
    """The reference job's approach, as it was written before this job."""
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    spark = (
        SparkSession.builder.master(os.environ.get("SPARK_MASTER", "local[2]"))
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    df = spark.read.json(str(input_folder / "data" / "*.ndjson")).cache()
    records = df.count()
    out = df.coalesce(max(1, math.ceil(records / 1024 / 1024))).select(
        *[F.col(c).cast("string").alias(c) for c in df.columns],
        F.input_file_name().alias("_source_file"),
        F.current_timestamp().cast("string").alias("_processing_timestamp"),
    )
    out.write.mode("append").option("compression", "snappy").parquet(str(output / DATE))
    spark.stop()


def run_duckdb(input_folder: Path, output: Path) -> None:
    """read_json → Parquet, every value as its JSON text, 2 threads."""
    con = duckdb.connect()
    con.execute("SET threads=2")
    pattern = str(input_folder / "data" / "*.ndjson")
    names = [r[0] for r in con.sql(f"DESCRIBE SELECT * FROM read_json('{pattern}')").fetchall()]
    columns = ", ".join(f"'{n}': 'VARCHAR'" for n in names)
    output.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"""
        COPY (
          SELECT * EXCLUDE (filename), filename AS _source_file,
                 CAST(now() AS VARCHAR) AS _processing_timestamp
          FROM read_json('{pattern}', format='newline_delimited', columns={{{columns}}},
                         filename=true)
        ) TO '{output / "batch.parquet"}' (FORMAT parquet, COMPRESSION snappy)
        """
    )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] in ("naive", "duckdb"):
        (run_naive if sys.argv[1] == "naive" else run_duckdb)(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    os.environ["SPARK_MASTER"] = "local[2]"
    argv = list(sys.argv[1:])
    files = 200
    if "--files" in argv:
        i = argv.index("--files")
        files = int(argv[i + 1])
        del argv[i : i + 2]
    shapes = [
        Shape(name, lambda folder, n, name=name: generate(name, folder, n), files, 4)
        for name in ("flat", "nested", "python")
    ]
    contenders = [
        Contender("job", job, count_parquet_rows),
        Contender("naive", naive, count_parquet_rows),
        Contender("duckdb", duck, count_parquet_rows),
    ]
    run("ndjson", shapes, contenders, argv=argv, description=__doc__.splitlines()[0])


if __name__ == "__main__":
    main()
