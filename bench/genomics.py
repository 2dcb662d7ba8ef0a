"""Genomics CSV → Parquet partitioned by normalised chromosome: the job's real entry point against
the naive Spark approach and DuckDB (2 threads), as whole processes on the same files.

    .venv/bin/python bench/genomics.py                  # two shapes of about 1 GB each
    .venv/bin/python bench/genomics.py --size-mb 100    # quicker
    .venv/bin/python bench/genomics.py --quick          # smoke run (harness sizes)

Shapes: ``short`` (8 columns: chromosome, half of them ``chr``-prefixed, position, random ``rs``
ids, ref, alt, qual, filter, a quoted ``"DP=…;AF=…"`` info) and ``wide`` (20 columns with quoted
text holding commas, quotes and line breaks, and random hex ids). The harness checks that every
contender's output has as many rows as the generator wrote.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import duckdb
from harness import Contender, Shape, run

ROOT = Path(__file__).resolve().parent.parent
FILES = 2
# Bytes per row, about, of the generated layouts (to turn a size into a row count).
SHORT_ROW_BYTES = 56
WIDE_ROW_BYTES = 420
# Mixed naming, as when sources are combined: UCSC (chr1, chrM), Ensembl (1, MT), contigs.
CHROMS = (
    [f"chr{i}" for i in range(1, 23)]
    + [str(i) for i in range(1, 23)]
    + ["chrX", "X", "chrY", "Y", "chrM", "MT", "chrUn_gl000220", "GL000192.1"]
)
CHROM_LIST = "[" + ",".join(f"'{c}'" for c in CHROMS) + "]"


def _write(folder: Path, rows: int, select: str) -> int:
    """``FILES`` CSV files of ``rows`` rows in total from a DuckDB ``select`` over ``range`` i."""
    con = duckdb.connect()
    con.execute("SET threads=2")
    per_file = rows // FILES
    for f in range(FILES):
        start = f * per_file
        con.execute(
            f"COPY (SELECT {select} FROM range({start}, {start + per_file}) t(i)) "
            f"TO '{folder}/part-{f:02d}.csv' (HEADER, DELIMITER ',')"
        )
    return per_file * FILES


def generate_short(folder: Path, size_mb: int) -> int:
    return _write(
        folder,
        size_mb * 1_000_000 // SHORT_ROW_BYTES,
        f"""{CHROM_LIST}[1 + (hash(i) % {len(CHROMS)})::INT] AS chrom,
            (hash(i * 7) % 248000000)::BIGINT AS pos,
            'rs' || (hash(i * 13) % 1000000000) AS id,
            ['A','C','G','T'][1 + (i % 4)::INT] AS ref,
            ['C','G','T','A'][1 + (hash(i) % 4)::INT] AS alt,
            round((hash(i) % 10000) / 100.0, 2) AS qual,
            'PASS' AS filter,
            'DP=' || (i % 97) || ';AF=0.' || (i % 89) || ',x' AS info""",
    )


def generate_wide(folder: Path, size_mb: int) -> int:
    texts = ",\n".join(
        f"""'note {n} for ' || (hash(i * {n + 3}) % 100000) || ', see "ref ' || (i % 31)
            || '"' || CASE WHEN (i + {n}) % 5 = 0 THEN chr(10) || 'continued, line 2' ELSE '' END
            AS text_{n}"""
        for n in range(8)
    )
    return _write(
        folder,
        size_mb * 1_000_000 // WIDE_ROW_BYTES,
        f"""{CHROM_LIST}[1 + (hash(i) % {len(CHROMS)})::INT] AS chrom,
            (hash(i * 7) % 248000000)::BIGINT AS pos,
            md5(i::VARCHAR) AS variant_id,
            ['A','C','G','T'][1 + (i % 4)::INT] AS ref,
            ['C','G','T','A'][1 + (hash(i) % 4)::INT] AS alt,
            round((hash(i) % 10000) / 100.0, 2) AS qual,
            'PASS' AS filter,
            'DP=' || (i % 97) || ';AF=0.' || (i % 89) AS info,
            (hash(i * 17) % 1000) AS depth,
            'sample_' || (i % 500) AS sample,
            (i % 3)::VARCHAR || '/' || (i % 2)::VARCHAR AS genotype,
            {texts}""",
    )


# --------------------------------------------------------------------------------------------
# Contenders
# --------------------------------------------------------------------------------------------

NAIVE = r"""
import sys
from pyspark.sql import SparkSession, functions as F
src, out, multiline = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
df = spark.read.csv(src, header=True, inferSchema=True, multiLine=multiline, escape='"')
bare = F.regexp_replace(F.trim(F.col("chrom").cast("string")), "(?i)^chr", "")
df = df.withColumn("chromosome", F.when(F.upper(bare) == "M", "MT").otherwise(bare))
df = df.withColumnRenamed("pos", "position").drop("chrom")
df.repartition("chromosome").write.mode("overwrite").partitionBy("chromosome").parquet(out)
"""

DUCKDB_SQL = r"""
COPY (
  WITH src AS (
    SELECT *, trim(chrom) AS c,
           regexp_replace(trim(chrom), '^(chromosome|chrom|chr)[_-]?', '', 'i') AS bare
    FROM read_csv('{glob}', header = true, all_varchar = true)
  )
  SELECT CASE
           WHEN regexp_matches(bare, '^0*[1-9][0-9]*$') THEN ltrim(bare, '0')
           WHEN upper(bare) IN ('X', 'Y') THEN upper(bare)
           WHEN upper(bare) IN ('M', 'MT') THEN 'MT'
           ELSE c
         END AS chromosome,
         TRY_CAST(trim(pos) AS BIGINT) AS position,
         * EXCLUDE (chrom, pos, c, bare)
  FROM src
) TO '{out}' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (chromosome), OVERWRITE true)
"""


def run_duckdb(src: str, out: str) -> None:
    con = duckdb.connect()
    con.execute("SET threads=2")
    con.execute("SET preserve_insertion_order=false")
    con.execute(DUCKDB_SQL.format(glob=f"{src}/*.csv", out=out))


def parquet_rows(folder: Path) -> int:
    con = duckdb.connect()
    found = con.execute(f"SELECT count(*) FROM read_parquet('{folder}/**/*.parquet')").fetchone()
    return int(found[0]) if found else 0


def contenders() -> list[Contender]:
    py = sys.executable
    here = str(Path(__file__).resolve())
    return [
        Contender(
            "job",
            lambda src, out: [
                py,
                str(ROOT / "scripts" / "genomics_csv_to_parquet.py"),
                "--INPUT_PATH",
                str(src),
                "--OUTPUT_PATH",
                str(out),
            ],
            parquet_rows,
        ),
        Contender(
            "naive",
            # The wide shape has quoted line breaks: without multiLine naive Spark cuts rows.
            lambda src, out: [py, "-c", NAIVE, str(src), str(out), str(int("wide" in str(src)))],
            parquet_rows,
        ),
        Contender(
            "duckdb", lambda src, out: [py, here, "--duckdb-run", str(src), str(out)], parquet_rows
        ),
    ]


def main(argv: list[str]) -> None:
    if argv[:1] == ["--duckdb-run"]:
        run_duckdb(argv[1], argv[2])
        return
    size_mb = 1000
    if "--size-mb" in argv:
        i = argv.index("--size-mb")
        size_mb = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2 :]
    os.environ["SPARK_MASTER"] = "local[2]"
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    print(f"load average before: {os.getloadavg()[0]:.1f} (2 cores shared)", flush=True)
    run(
        "genomics",
        [
            Shape("short", generate_short, size=size_mb, quick_size=20),
            Shape("wide", generate_wide, size=size_mb, quick_size=20),
        ],
        contenders(),
        argv,
        description=__doc__.splitlines()[0],
    )
    shutil.rmtree(ROOT / "bench" / "out" / "genomics" / "runs", ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
