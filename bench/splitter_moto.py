"""Table splitter: rows of a generated 50-column CSV, one S3 object each, uploaded by the job's
own I/O function on local[2] Spark to a local moto S3 server.

    .venv/bin/python bench/splitter_moto.py                      # 50,000 rows, 64 in flight
    .venv/bin/python bench/splitter_moto.py --rows 5000 --max-in-flight 32

Prints files per minute (reference: 7,500/min on Glue) with the in-flight limit used. The local
S3 server is a single Python process on the same 2 cores, so it bounds the figure here.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "scripts"))
sys.path.insert(0, str(ROOT.parent / "test" / "python"))

import glue_etl_common as common  # noqa: E402
import table_splitter as splitter  # noqa: E402
from support import moto_server  # noqa: E402

COLUMNS = 50


def generate(path: Path, rows: int) -> int:
    """A user_info-like CSV: an id and 49 string columns of about 40 characters."""
    if not path.exists() or path.with_suffix(".rows").read_text() != str(rows):
        path.parent.mkdir(parents=True, exist_ok=True)
        header = ["user_id"] + [f"attr_{i:02d}" for i in range(1, COLUMNS)]
        with path.open("w") as fh:
            fh.write(",".join(header) + "\n")
            for r in range(rows):
                values = [f"user-{r:08d}"] + [
                    f"value {c:02d} of row {r:08d} abcdefghijklmn" for c in range(1, COLUMNS)
                ]
                fh.write(",".join(values) + "\n")
        path.with_suffix(".rows").write_text(str(rows))
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows to split (default 50000)")
    parser.add_argument("--max-in-flight", type=int, default=splitter.MAX_IN_FLIGHT)
    args = parser.parse_args()

    src = ROOT / "out" / "splitter" / "users.csv"
    size = generate(src, args.rows)
    with moto_server() as endpoint:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        s3 = boto3.client("s3", endpoint_url=endpoint)
        s3.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        spark = common.local_spark("bench-splitter", master="local[2]")
        spark.sparkContext.setLogLevel("ERROR")
        source = splitter.read_source_csv(spark, str(src))
        started = time.monotonic()
        counts = splitter.split(
            source,
            f"s3://{bucket}/processed/",
            endpoint_url=endpoint,
            max_in_flight=args.max_in_flight,
        )
        seconds = time.monotonic() - started
        spark.stop()
        listed = sum(
            page.get("KeyCount", 0)
            for page in s3.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix="processed/"
            )
        )
    print(f"input: {args.rows:,} rows x {COLUMNS} columns, {size / 1e6:.0f} MB CSV")
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores shared, moto on the same cores)")
    print(
        f"written {counts['written']:,}, rejected {counts['rejected']}, failed {counts['failed']}, "
        f"throttling retries {counts['retries']}, objects listed {listed:,}"
    )
    print(f"in-flight limit {args.max_in_flight} per partition x {counts['partitions']} partitions")
    print(f"wall time {seconds:.1f} s: {counts['written'] / seconds * 60:,.0f} files/min")
    print("reference: 7,500 files/min on Glue (10,000 needed)")


if __name__ == "__main__":
    main()
