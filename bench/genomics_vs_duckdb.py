"""Genomics CSV → Parquet partitioned by chromosome: the job's own I/O function on local[2]
Spark, side by side with DuckDB (2 threads) doing the same conversion of the same files.

    .venv/bin/python bench/genomics_vs_duckdb.py            # 1 GB
    .venv/bin/python bench/genomics_vs_duckdb.py --size-mb 50

Prints input size, wall time and MB/s for both, their ratio, and checks both wrote the same rows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "scripts"))

import genomics_csv_to_parquet as genomics  # noqa: E402
import glue_etl_common as common  # noqa: E402

ROW_BYTES = 53  # about, for the generated layout below
# Mixed naming, as when sources are combined: UCSC (chr1, chrM), Ensembl (1, MT), contigs.
CHROMS = (
    [f"chr{i}" for i in range(1, 23)]
    + [str(i) for i in range(1, 23)]
    + ["chrX", "X", "chrY", "Y", "chrM", "MT", "chrUn_gl000220", "GL000192.1"]
)


def generate(folder: Path, size_mb: int, files: int) -> int:
    """CSV files of about size_mb in total; returns their size in bytes."""
    if folder.exists() and (folder / f"size-{size_mb}").exists():
        return sum(p.stat().st_size for p in folder.glob("*.csv"))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rows = size_mb * 1024 * 1024 // ROW_BYTES
    per_file = rows // files
    con = duckdb.connect()
    con.execute("SET threads=2")
    names = "[" + ",".join(f"'{c}'" for c in CHROMS) + "]"
    for f in range(files):
        start = f * per_file
        con.execute(
            f"""
            COPY (
              SELECT {names}[1 + (hash(i) % {len(CHROMS)})::INT] AS chrom,
                     (hash(i * 7) % 248000000)::BIGINT AS pos,
                     'rs' || i AS id,
                     ['A','C','G','T'][1 + (i % 4)::INT] AS ref,
                     ['C','G','T','A'][1 + (i % 4)::INT] AS alt,
                     round((hash(i) % 10000) / 100.0, 2) AS qual,
                     'PASS' AS filter,
                     'DP=' || (i % 97) || ',AF=0.' || (i % 89) AS info
              FROM range({start}, {start + per_file}) t(i)
            ) TO '{folder}/part-{f:02d}.csv' (HEADER, DELIMITER ',')
            """
        )
    (folder / f"size-{size_mb}").touch()
    return sum(p.stat().st_size for p in folder.glob("*.csv"))


DUCKDB_SQL = r"""
COPY (
  WITH src AS (
    SELECT *, trim(chrom) AS c,
           regexp_replace(trim(chrom), '^(chromosome|chrom|chr)[_-]?', '', 'i') AS bare
    FROM read_csv('{glob}', header = true, all_varchar = true)
  ), norm AS (
    SELECT CASE
             WHEN regexp_matches(bare, '^0*[1-9][0-9]*$') THEN ltrim(bare, '0')
             WHEN upper(bare) IN ('X', 'Y') THEN upper(bare)
             WHEN upper(bare) IN ('M', 'MT') THEN 'MT'
             ELSE c
           END AS chromosome,
           TRY_CAST(trim(pos) AS BIGINT) AS position,
           id, ref, alt, qual, filter, info
    FROM src
  )
  SELECT * FROM norm WHERE chromosome IS NOT NULL AND position IS NOT NULL
  ORDER BY chromosome, position
) TO '{out}' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (chromosome), OVERWRITE true)
"""


def run_duckdb(glob: str, out: Path) -> tuple[float, int]:
    shutil.rmtree(out, ignore_errors=True)
    con = duckdb.connect()
    con.execute("SET threads=2")
    con.execute("SET preserve_insertion_order=false")
    started = time.monotonic()
    con.execute(DUCKDB_SQL.format(glob=glob, out=out))
    seconds = time.monotonic() - started
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}/**/*.parquet')").fetchone()
    return seconds, int(rows[0]) if rows else 0


def folder_stats(out: Path) -> tuple[int, int]:
    files = list(out.rglob("*.parquet"))
    return len(files), sum(f.stat().st_size for f in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="input size (default 1024)")
    parser.add_argument("--files", type=int, default=4, help="number of input CSV files")
    args = parser.parse_args()

    work = ROOT / "out" / "genomics"
    src = work / "csv"
    print(f"generating {args.size_mb} MB of CSV in {args.files} files …", flush=True)
    input_bytes = generate(src, args.size_mb, args.files)
    mb = input_bytes / 1024 / 1024
    glob = str(src / "*.csv")

    spark = common.local_spark("bench-genomics", master="local[2]")
    spark.conf.set("spark.sql.shuffle.partitions", "16")
    spark.sparkContext.setLogLevel("ERROR")
    spark_out = work / "spark-parquet"
    shutil.rmtree(spark_out, ignore_errors=True)
    started = time.monotonic()
    counts = genomics.convert(spark, glob, str(spark_out))
    spark_s = time.monotonic() - started
    spark.stop()

    duck_out = work / "duckdb-parquet"
    duck_s, duck_rows = run_duckdb(glob, duck_out)

    s_files, s_bytes = folder_stats(spark_out)
    d_files, d_bytes = folder_stats(duck_out)
    print(f"input: {mb:.0f} MB CSV, {counts['read']:,} rows, {args.files} files")
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores shared)")
    print(f"{'engine':<22}{'seconds':>9}{'MB/s':>9}{'rows':>14}{'files':>7}{'MB out':>9}")
    print(
        f"{'Spark local[2] (job)':<22}{spark_s:>9.1f}{mb / spark_s:>9.1f}"
        f"{counts['written']:>14,}{s_files:>7}{s_bytes / 1e6:>9.0f}"
    )
    print(
        f"{'DuckDB 2 threads':<22}{duck_s:>9.1f}{mb / duck_s:>9.1f}"
        f"{duck_rows:>14,}{d_files:>7}{d_bytes / 1e6:>9.0f}"
    )
    print(f"ratio DuckDB/Spark: {spark_s / duck_s:.2f}x")
    if duck_rows != counts["written"]:
        print(f"WARNING: row counts differ (spark {counts['written']}, duckdb {duck_rows})")


if __name__ == "__main__":
    main()
