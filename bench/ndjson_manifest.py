"""NDJSON manifest batch: 200 files x 3.5 MB (700 MB) + manifest → Snappy Parquet with the job's
own I/O function on local[2] Spark.

    .venv/bin/python bench/ndjson_manifest.py               # 200 files x 3.5 MB
    .venv/bin/python bench/ndjson_manifest.py --files 20    # smaller

The files mix value types between files (numbers in some, strings in others), carry a nested
object, and a few hold a corrupt line, as real batches do. Prints the wall time (target: under
3 minutes on 2 cores) and the output file sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "scripts"))

import glue_etl_common as common  # noqa: E402
import ndjson_manifest_to_parquet as ndjson  # noqa: E402

ROW_BYTES = 204  # about, for the generated records below
DATE = "2026-11-21"


def generate(folder: Path, files: int, file_mb: float) -> tuple[Path, int]:
    """NDJSON files and their manifest; reuses an earlier identical set."""
    rows = int(file_mb * 1024 * 1024 / ROW_BYTES)
    marker = folder / f"set-{files}x{rows}"
    manifest = folder / "manifest.json"
    if not marker.exists():
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "data").mkdir(parents=True)
        con = duckdb.connect()
        con.execute("SET threads=2")
        for f in range(files):
            # Odd files carry amounts and user ids as strings, even files as numbers.
            amount = "(i % 100000) / 100.0" if f % 2 == 0 else "((i % 100000) / 100.0)::VARCHAR"
            user = "i % 50000" if f % 2 == 0 else "'u' || (i % 50000)"
            path = folder / "data" / f"events-{DATE}-{f:04d}.ndjson"
            con.execute(
                f"""
                COPY (
                  SELECT i AS event_id, {user} AS user_id, {amount} AS amount,
                         ['click','view','buy','scroll'][1 + (i % 4)::INT] AS event_type,
                         TIMESTAMP '{DATE}' + to_seconds(i % 86400) AS event_time,
                         'https://shop.example.com/p/' || (hash(i) % 100000) AS url,
                         {{'device': ['ios','android','web'][1 + (i % 3)::INT],
                           'version': (i % 20)::VARCHAR, 'ab': i % 2 = 0}} AS context
                  FROM range({f * rows}, {(f + 1) * rows}) t(i)
                ) TO '{path}' (FORMAT json)
                """
            )
            if f % 50 == 7:
                with path.open("a") as fh:
                    fh.write('{"event_id": "truncated, "user_id"\n')
        uris = [str(p) for p in sorted((folder / "data").glob("*.ndjson"))]
        manifest.write_text(json.dumps({"fileLocations": [{"URIPrefixes": uris}]}))
        marker.touch()
    return manifest, sum(p.stat().st_size for p in (folder / "data").glob("*.ndjson"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200, help="NDJSON files (default 200)")
    parser.add_argument("--file-mb", type=float, default=3.5, help="size of each (default 3.5)")
    args = parser.parse_args()

    work = ROOT / "out" / "ndjson"
    print(f"generating {args.files} x {args.file_mb} MB of NDJSON …", flush=True)
    manifest, input_bytes = generate(work / "landing", args.files, args.file_mb)

    spark_started = time.monotonic()
    spark = common.local_spark("bench-ndjson", master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    startup = time.monotonic() - spark_started
    out = work / "processed"
    shutil.rmtree(out, ignore_errors=True)
    started = time.monotonic()
    counts = ndjson.convert(spark, str(manifest), str(out))
    seconds = time.monotonic() - started
    spark.stop()

    files = sorted((out / f"merged-parquet-{counts['date']}").glob("*.parquet"))
    print(f"input: {counts['files']} files, {input_bytes / 2**20:.0f} MiB")
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores shared)")
    print(
        f"rows read {counts['read']:,}, written {counts['written']:,}, "
        f"rejected {counts['rejected']:,}, columns {counts['columns']}"
    )
    print(f"wall time: {seconds:.1f} s (+ {startup:.1f} s Spark start-up); target < 180 s")
    print(f"throughput: {input_bytes / 1e6 / seconds:.1f} MB/s")
    print(f"output files ({len(files)}), target about 128 MB each:")
    for f in files:
        print(f"  {f.name}  {f.stat().st_size / 1024 / 1024:.1f} MB")


if __name__ == "__main__":
    main()
