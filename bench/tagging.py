"""Regex tagging: the job against the naive approach users write and DuckDB, on the same files.

    .venv/bin/python bench/tagging.py            # full size
    .venv/bin/python bench/tagging.py --quick    # smoke run

Contenders, each a whole process on local[2] Spark or 2 DuckDB threads, writing Parquet:

- ``job``: ``scripts/regex_tagging.py`` as users run it (one JVM expression over all rules).
- ``job-1rule``: the same with only the first rule: start-up, reading and writing, nearly no
  matching, so ``job`` minus ``job-1rule`` is what the rules cost.
- ``naive``: a PySpark job with a Python UDF looping over the rules with ``re.search`` (the
  patterns here mean the same in Python and Java).
- ``naive-join``: a cross join of the rows with the rules table, ``rlike`` per pair, then
  ``groupBy`` + ``collect_list`` back to one row per input row.
- ``duckdb``: ``regexp_matches`` over the same rules in one SELECT, 2 threads.

Shapes: ``many-rules`` (3 short columns, 200 rules) and ``wide-long`` (40 columns with a 2 KB
text column, 20 rules over 4 columns). Every contender's output row count is checked with DuckDB.
"""

from __future__ import annotations

import csv
import os
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb
from harness import Contender, Shape, run

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
WORDS = [f"w{i:03d}" for i in range(400)]
# Terms the rules look for: some frequent, most rare, so matching must scan most of the text.
TERMS = [f"term{i:03d}" for i in range(200)]


def _rules(path: Path, rules: Sequence[tuple[str, str, str]]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["tag", "column", "pattern"])
        w.writerows(rules)


def _text(rng: random.Random, words: int) -> str:
    parts = [rng.choice(WORDS) for _ in range(words)]
    if rng.random() < 0.3:
        parts[rng.randrange(words)] = rng.choice(TERMS[:20]).upper()
    if rng.random() < 0.05:
        parts[rng.randrange(words)] = rng.choice(TERMS)
    return " ".join(parts)


def _write(folder: Path, name: str, rows: list[dict[str, object]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), folder / name, compression="snappy")


def many_rules(folder: Path, size: int) -> int:
    """``size`` rows of (id, category, text of 12 words); 200 case-insensitive word rules."""
    rng = random.Random(1)
    per_file = 100_000
    for start in range(0, size, per_file):
        n = min(per_file, size - start)
        rows = [
            {"id": start + i, "category": rng.choice("abcdef"), "text": _text(rng, 12)}
            for i in range(n)
        ]
        _write(folder, f"part-{start // per_file:04d}.parquet", rows)
    _rules(folder.parent / "rules.csv", [(t, "text", f"(?i)\\b{t}\\b") for t in TERMS])
    return size


def wide_long(folder: Path, size: int) -> int:
    """``size`` rows of 40 columns: a 2 KB text, 3 short strings, 36 numbers; 20 rules."""
    rng = random.Random(2)
    per_file = 10_000
    for start in range(0, size, per_file):
        n = min(per_file, size - start)
        rows = []
        for i in range(n):
            row: dict[str, object] = {"id": start + i, "body": _text(rng, 400)}
            row |= {f"s{k}": _text(rng, 3) for k in range(3)}
            row |= {f"n{k}": rng.randrange(10**6) for k in range(35)}
            rows.append(row)
        _write(folder, f"part-{start // per_file:04d}.parquet", rows)
    rules = [(t, "body", f"(?i)\\b{t}\\b") for t in TERMS[:14]]
    rules += [(f"s{k}-{t}", f"s{k}", f"(?i){t}") for k in range(3) for t in TERMS[:2]]
    _rules(folder.parent / "rules.csv", rules)
    return size


def count_parquet_rows(output: Path) -> int:
    con = duckdb.connect()
    row = con.execute(f"SELECT count(*) FROM read_parquet('{output}/*.parquet')").fetchone()
    return int(row[0]) if row else 0


def job(rules_limit: int | None = None):
    def command(input_folder: Path, output: Path) -> list[str]:
        rules = input_folder.parent / "rules.csv"
        if rules_limit is not None:
            lines = rules.read_text().splitlines()[: rules_limit + 1]
            rules = input_folder.parent / f"rules-{rules_limit}.csv"
            rules.write_text("\n".join(lines) + "\n")
        return [
            PY,
            str(ROOT / "scripts" / "regex_tagging.py"),
            *("--INPUT_PATH", str(input_folder), "--RULES_PATH", str(rules)),
            *("--OUTPUT_PATH", str(output)),
        ]

    return command


def this(mode: str):
    def command(input_folder: Path, output: Path) -> list[str]:
        rules = input_folder.parent / "rules.csv"
        return [PY, __file__, mode, str(input_folder), str(rules), str(output)]

    return command


def read_rules(path: str) -> list[tuple[str, str, str]]:
    with open(path, newline="") as f:
        return [(r["tag"], r["column"], r["pattern"]) for r in csv.DictReader(f)]


def naive_spark(mode: str, input_folder: str, rules_path: str, output: str) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import glue_etl_common as common
    from pyspark.sql import functions as F

    spark = common.local_spark("bench-tagging-naive", "local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    rules = read_rules(rules_path)
    df = spark.read.parquet(input_folder)
    if mode == "naive":
        import re

        compiled = [(t, c, re.compile(p)) for t, c, p in rules]
        columns = sorted({c for _, c, _ in rules})

        @F.udf("array<string>")
        def tags(*values):
            row = dict(zip(columns, values, strict=True))
            out = []
            for t, c, p in compiled:
                v = row[c]
                if v is not None and p.search(str(v)) and t not in out:
                    out.append(t)
            return out

        df = df.withColumn("tags", tags(*[F.col(c) for c in columns]))
    else:
        rules_df = spark.createDataFrame(
            [(i, t, c, p) for i, (t, c, p) in enumerate(rules)],
            "n int, tag string, col string, p string",
        )
        columns = sorted({c for _, c, _ in rules})
        keyed = df.withColumn("_row", F.monotonically_increasing_id())
        value = F.coalesce(*[F.when(F.col("col") == c, F.col(c).cast("string")) for c in columns])
        hits = (
            keyed.select("_row", *columns)
            .crossJoin(rules_df)
            .withColumn("v", value)
            .where(F.expr("v rlike p"))
            .groupBy("_row")
            .agg(
                F.array_distinct(
                    F.transform(
                        F.array_sort(F.collect_list(F.struct("n", "tag"))), lambda s: s["tag"]
                    )
                ).alias("tags")
            )
        )
        df = (
            keyed.join(hits, "_row", "left")
            .withColumn("tags", F.coalesce("tags", F.array().cast("array<string>")))
            .drop("_row")
        )
    df.write.mode("overwrite").parquet(output)
    spark.stop()


def duckdb_tagging(input_folder: str, rules_path: str, output: str) -> None:
    rules = read_rules(rules_path)

    def lit(s: str) -> str:
        return "'" + s.replace("'", "''") + "'"

    hits = ", ".join(
        f'CASE WHEN regexp_matches(CAST("{c}" AS VARCHAR), {lit(p)}) THEN {lit(t)} END'
        for t, c, p in rules
    )
    os.makedirs(output, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET threads=2")
    con.execute(
        f"COPY (SELECT *, list_filter([{hits}], lambda x: x IS NOT NULL) AS tags "
        f"FROM read_parquet('{input_folder}/**/*.parquet')) "
        f"TO '{output}/part-0.parquet' (FORMAT parquet, COMPRESSION snappy)"
    )


SHAPES = [
    Shape("many-rules", many_rules, size=200_000, quick_size=20_000),
    Shape("wide-long", wide_long, size=20_000, quick_size=2_000),
]
CONTENDERS = [
    Contender("job", job(), count_parquet_rows),
    Contender("job-1rule", job(1), count_parquet_rows),
    Contender("naive", this("naive"), count_parquet_rows),
    Contender("naive-join", this("naive-join"), count_parquet_rows),
    Contender("duckdb", this("duckdb"), count_parquet_rows),
]

if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] in ("naive", "naive-join"):
        naive_spark(*sys.argv[1:])
    elif len(sys.argv) == 5 and sys.argv[1] == "duckdb":
        duckdb_tagging(*sys.argv[2:])
    else:
        run("tagging", SHAPES, CONTENDERS, description=__doc__.splitlines()[0])
