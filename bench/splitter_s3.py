"""Table splitter: one S3 object per row of a generated 50-column CSV, on local S3 servers.

    .venv/bin/python bench/splitter_s3.py                    # 20,000 rows, moto and gofakes3
    .venv/bin/python bench/splitter_s3.py --rows 5000 --servers moto

For each server it measures, on the same rows and bodies:
  ceiling   a plain concurrent PUT loop (2 processes x 32 threads, the cheapest signed PUT): what
            the server takes at most on this machine
  baseline  one boto3 put_object per row, one after another (the naive splitter)
  job       the job's own split() on local[2] Spark
and the client CPU per PUT of boto3's put_object and of the job's uploader. moto is one Python
process on the same two cores, so it is the bottleneck there; gofakes3 (Go, installed by
`make bench` from the Go module proxy when Go is present) is not.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "scripts"))
sys.path.insert(0, str(ROOT.parent / "test" / "python"))

import glue_etl_common as common  # noqa: E402
import table_splitter as splitter  # noqa: E402
from support import free_port  # noqa: E402

COLUMNS = 50
GOFAKES3 = Path(os.environ.get("GOFAKES3", ROOT / "out" / "bin" / "gofakes3"))


def generate(path: Path, rows: int) -> int:
    """A user_info-like CSV: an id and 49 string columns of about 40 characters."""
    marker = path.with_suffix(".rows")
    if not path.exists() or not marker.exists() or marker.read_text() != str(rows):
        path.parent.mkdir(parents=True, exist_ok=True)
        header = ["user_id"] + [f"attr_{i:02d}" for i in range(1, COLUMNS)]
        with path.open("w") as fh:
            fh.write(",".join(header) + "\n")
            for r in range(rows):
                values = [f"user-{r:08d}"] + [
                    f"value {c:02d} of row {r:08d} abcdefghijklmn" for c in range(1, COLUMNS)
                ]
                fh.write(",".join(values) + "\n")
        marker.write_text(str(rows))
    return path.stat().st_size


def bodies(path: Path, limit: int) -> list[tuple[str, bytes]]:
    """(key, body) of the first rows, as the job would write them."""
    out: list[tuple[str, bytes]] = []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            body = json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode()
            out.append((splitter.object_key("", row["user_id"]), body))
            if len(out) == limit:
                break
    return out


@contextmanager
def server(command: list[str], port: int) -> Iterator[str]:
    """A local S3 server on 127.0.0.1:port, stopped (killed if need be) afterwards."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                boto3.client("s3", endpoint_url=endpoint).list_buckets()
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not start on {endpoint}") from None
                time.sleep(0.3)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def moto() -> Any:
    port = free_port()
    return server(
        [str(ROOT.parent / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        port,
    )


def gofakes3() -> Any:
    port = free_port()
    return server([str(GOFAKES3), "-backend", "memory", "-host", f"127.0.0.1:{port}"], port)


def settings(endpoint: str, bucket: str, in_flight: int = 32) -> splitter.UploadSettings:
    return splitter.UploadSettings(bucket, "", "user_id", bucket, "_rejected/", endpoint, in_flight)


def _ceiling_worker(args: tuple[str, str, list[tuple[str, bytes]], str]) -> int:
    endpoint, bucket, items, prefix = args
    uploader = splitter.Uploader(settings(endpoint, bucket))
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda kb: uploader.put(bucket, prefix + kb[0], kb[1], "x"), items))
    return len(items)


def ceiling(endpoint: str, bucket: str, items: list[tuple[str, bytes]]) -> float:
    """Files/min of a plain concurrent PUT loop: 2 processes x 32 threads."""
    halves = [items[0::2], items[1::2]]
    started = time.monotonic()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        done = sum(pool.map(_ceiling_worker, [(endpoint, bucket, h, "ceiling/") for h in halves]))
    return done / (time.monotonic() - started) * 60


def baseline(endpoint: str, bucket: str, items: list[tuple[str, bytes]]) -> float:
    """Files/min of one boto3 put_object per row, one after another."""
    s3 = boto3.client("s3", endpoint_url=endpoint)
    started = time.monotonic()
    for key, body in items:
        s3.put_object(Bucket=bucket, Key="baseline/" + key, Body=body)
    return len(items) / (time.monotonic() - started) * 60


def client_cpu_ms(
    endpoint: str, bucket: str, items: list[tuple[str, bytes]]
) -> tuple[float, float]:
    """CPU milliseconds per PUT in this process: boto3 put_object, then the job's uploader."""
    s3 = boto3.client("s3", endpoint_url=endpoint)
    start = time.process_time()
    for key, body in items:
        s3.put_object(Bucket=bucket, Key="cpu-boto3/" + key, Body=body)
    boto = (time.process_time() - start) / len(items) * 1000
    uploader = splitter.Uploader(settings(endpoint, bucket))
    start = time.process_time()
    for key, body in items:
        uploader.put(bucket, "cpu-job/" + key, body, "application/json")
    return boto, (time.process_time() - start) / len(items) * 1000


def job(spark, src: Path, endpoint: str, bucket: str, in_flight: int) -> dict:
    source = splitter.read_source_csv(spark, str(src))
    return splitter.split(
        source, f"s3://{bucket}/job/", endpoint_url=endpoint, max_in_flight=in_flight
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows the job splits")
    parser.add_argument("--baseline-rows", type=int, default=2_000, help="rows PUT sequentially")
    parser.add_argument("--max-in-flight", type=int, default=16, help="per partition")
    parser.add_argument("--servers", default="moto,gofakes3")
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_REGION="eu-west-1",
    )
    src = ROOT / "out" / "splitter" / "users.csv"
    size = generate(src, args.rows)
    items = bodies(src, args.rows)
    servers = {"moto": moto, "gofakes3": gofakes3}
    wanted = [s.strip() for s in args.servers.split(",") if s.strip()]
    if "gofakes3" in wanted and not GOFAKES3.exists():
        print(f"gofakes3 not installed at {GOFAKES3} (make bench installs it with Go); skipped")
        wanted.remove("gofakes3")

    spark = common.local_spark("bench-splitter", master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    print(f"input: {args.rows:,} rows x {COLUMNS} columns, {size / 1e6:.0f} MB CSV")
    results = []
    for name in wanted:
        with servers[name]() as endpoint:
            bucket = f"bench-{uuid.uuid4().hex[:8]}"
            boto3.client("s3", endpoint_url=endpoint).create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
            cpu_boto, cpu_job = client_cpu_ms(endpoint, bucket, items[:300])
            base = baseline(endpoint, bucket, items[: args.baseline_rows])
            ceil = ceiling(endpoint, bucket, items)
            counts = job(spark, src, endpoint, bucket, args.max_in_flight)
            assert counts["written"] == args.rows and counts["failed"] == 0, counts
            rate = counts["written"] / counts["seconds"] * 60 if counts["seconds"] else 0.0
            results.append((name, ceil, base, rate, cpu_boto, cpu_job))
            print(
                f"{name}: ceiling {ceil:,.0f}/min, baseline {base:,.0f}/min, job {rate:,.0f}/min "
                f"({counts['seconds']} s); client CPU per PUT boto3 {cpu_boto:.2f} ms, "
                f"job {cpu_job:.2f} ms; load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    spark.stop()
    print()
    print(
        "| server | ceiling files/min | baseline files/min | job files/min | job/baseline "
        "| job/ceiling | CPU/PUT boto3 | CPU/PUT job |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, ceil, base, rate, cpu_boto, cpu_job in results:
        print(
            f"| {name} | {ceil:,.0f} | {base:,.0f} | {rate:,.0f} | {rate / base:.1f}x "
            f"| {rate / ceil:.0%} | {cpu_boto:.2f} ms | {cpu_job:.2f} ms |"
        )
    print(
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; reference: "
        "7,500 files/min on Glue, 10,000 needed)"
    )


if __name__ == "__main__":
    main()
