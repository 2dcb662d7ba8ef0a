"""Table splitter: one S3 object per row of a generated 50-column CSV, on local S3 servers, with
and without S3's latency.

    .venv/bin/python bench/splitter_s3.py            # gofakes3, 0 and 15 ms, 5,000 and 30,000 rows
    .venv/bin/python bench/splitter_s3.py --servers moto,gofakes3 --rows 4000 --latency-ms 0,50

For each server, added latency and row count it measures, on the same rows and bodies:
  ceiling   a plain concurrent PUT loop (2 processes x 32 threads, the cheapest signed PUT): what
            the server (and the proxy in front of it) takes at most on this machine
  baseline  one boto3 put_object per row, one after another (the naive splitter)
  job       the job's own split() on local[2] Spark, with the job's default uploads in flight
Latency is added by bench/support/latency_proxy.py in front of the server; 0 ms means no proxy
(the proxy's own ceiling at 0 ms is printed next to the server's). Runs are interleaved across
settings and repeated; the table shows medians. moto is one Python process on the same two
cores, so it is the bottleneck there; gofakes3 (Go, installed by `make bench` from the Go module
proxy when Go is present) is not.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
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
PROXY = ROOT / "support" / "latency_proxy.py"
GOFAKES3 = Path(os.environ.get("GOFAKES3", ROOT / "out" / "bin" / "gofakes3"))


def _users_row(r: int) -> list[str]:
    return [f"user-{r:08d}"] + [
        f"value {c:02d} of row {r:08d} abcdefghijklmn" for c in range(1, COLUMNS)
    ]


TEXT = 'Straße 5, "Hof" 2\nline two; naïve café ☕ 𝄞 ' * 6


def _text_row(r: int) -> list[str]:
    # Few columns, long quoted free text (commas, quotes, line breaks, non-ASCII) and ids with
    # spaces, slashes and non-ASCII: object keys and bodies are not all alike.
    rid = f"id {r:07d}/é" if r % 3 else f"id-{r:07d}"
    return [rid, *(f"{TEXT[c * 7 :]} #{r}" for c in range(5))]


# Shape name -> (header, row); the first column is the id the job keys objects on.
SHAPES = {
    "users": (["user_id"] + [f"attr_{i:02d}" for i in range(1, COLUMNS)], _users_row),
    "text": (["user_id", "note", "address", "comment", "agent", "extra"], _text_row),
}


def generate(path: Path, rows: int, shape: str = "users") -> int:
    """The shape's CSV: `users` is user_info-like (an id and 49 string columns of about 40
    characters); `text` has 6 columns of long quoted free text with line breaks."""
    header, row = SHAPES[shape]
    marker = path.with_suffix(".rows")
    if not path.exists() or not marker.exists() or marker.read_text() != str(rows):
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(header)
            for r in range(rows):
                out.writerow(row(r))
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


def job(spark: Any, src: Path, endpoint: str, bucket: str, in_flight: int) -> dict:
    source = splitter.read_source_csv(spark, str(src))
    return splitter.split(
        source, f"s3://{bucket}/job/", endpoint_url=endpoint, max_in_flight=in_flight
    )


@contextmanager
def latency_proxy(target: str, delay_ms: float) -> Iterator[str]:
    """The latency proxy in its own process in front of ``target``; yields its endpoint."""
    port = free_port()
    host_port = target.removeprefix("http://")
    command = [sys.executable, str(PROXY), "--port", str(port), "--target", host_port]
    with server([*command, "--delay-ms", str(delay_ms)], port) as endpoint:
        yield endpoint


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def load() -> float:
    return os.getloadavg()[0]


def numbers(text: str, kind: type) -> list[Any]:
    return [kind(v) for v in text.split(",") if v.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="5000,30000", help="row counts the job splits")
    parser.add_argument("--baseline-rows", type=int, default=1_000, help="rows PUT sequentially")
    parser.add_argument(
        "--latency-ms", default="0,15", help="latency added to each request (0: no proxy)"
    )
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--max-in-flight", type=int, default=splitter.MAX_IN_FLIGHT, help="per partition"
    )
    parser.add_argument("--servers", default="gofakes3")
    parser.add_argument("--shapes", default="users,text", help=f"of {', '.join(SHAPES)}")
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_REGION="eu-west-1",
    )
    row_counts = numbers(args.rows, int)
    latencies = numbers(args.latency_ms, float)
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    sources = {}
    for shape in shapes:
        for rows in row_counts:
            src = ROOT / "out" / "splitter" / f"{shape}-{rows}.csv"
            size = generate(src, rows, shape)
            sources[(shape, rows)] = (src, bodies(src, rows))
            columns = len(SHAPES[shape][0])
            print(f"input {shape}: {rows:,} rows x {columns} columns, {size / 1e6:.1f} MB CSV")
    servers = {"moto": moto, "gofakes3": gofakes3}
    wanted = [s.strip() for s in args.servers.split(",") if s.strip()]
    if "gofakes3" in wanted and not GOFAKES3.exists():
        print(f"gofakes3 not installed at {GOFAKES3} (make bench installs it with Go); using moto")
        wanted = [w for w in wanted if w != "gofakes3"] or ["moto"]
    largest = max(row_counts)

    spark = common.local_spark("bench-splitter", master="local[2]")
    spark.sparkContext.setLogLevel("ERROR")
    # (server, shape, latency, rows, figure) -> one value per repeat
    runs: dict[tuple[str, str, float, int, str], list[float]] = defaultdict(list)
    cpu: dict[str, tuple[float, float]] = {}
    for name in wanted:
        with ExitStack() as stack:
            direct = stack.enter_context(servers[name]())
            s3 = boto3.client("s3", endpoint_url=direct)
            bucket = f"bench-{uuid.uuid4().hex[:8]}"
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )
            first = (shapes[0], largest)
            cpu[name] = client_cpu_ms(direct, bucket, sources[first][1][:300])
            # The proxy with no delay: its own ceiling, to show it is not what bounds the rest.
            proxy0 = stack.enter_context(latency_proxy(direct, 0))
            endpoints = {
                ms: direct if ms == 0 else stack.enter_context(latency_proxy(direct, ms))
                for ms in latencies
            }
            for repeat in range(args.repeats):
                items = sources[first][1]
                pair = [(-2.0, "direct", direct), (-1.0, "proxy 0 ms", proxy0)]
                for key, label, endpoint in pair if repeat % 2 == 0 else pair[::-1]:
                    value = ceiling(endpoint, bucket, items)
                    runs[(name, shapes[0], key, largest, "ceiling")].append(value)
                    print(
                        f"{name} {label}: ceiling {value:,.0f}/min ({largest:,} PUTs); "
                        f"load {load():.1f}",
                        flush=True,
                    )
                order = latencies if repeat % 2 == 0 else list(reversed(latencies))
                for ms in order:
                    endpoint = endpoints[ms]
                    for shape in shapes if repeat % 2 == 0 else list(reversed(shapes)):
                        some = sources[(shape, largest)][1][: args.baseline_rows]
                        base = baseline(endpoint, bucket, some)
                        runs[(name, shape, ms, 0, "baseline")].append(base)
                        print(
                            f"{name} +{ms:g} ms, {shape}: baseline {base:,.0f}/min; "
                            f"load {load():.1f}",
                            flush=True,
                        )
                        for rows in row_counts if repeat % 2 == 0 else list(reversed(row_counts)):
                            src, rows_items = sources[(shape, rows)]
                            ceil = ceiling(endpoint, bucket, rows_items)
                            counts = job(spark, src, endpoint, bucket, args.max_in_flight)
                            assert counts["written"] == rows and counts["failed"] == 0, counts
                            rate = rows / float(counts["seconds"]) * 60  # type: ignore[arg-type]
                            runs[(name, shape, ms, rows, "ceiling")].append(ceil)
                            runs[(name, shape, ms, rows, "job")].append(rate)
                            print(
                                f"{name} +{ms:g} ms, {shape} {rows:,} rows: ceiling "
                                f"{ceil:,.0f}/min, job {rate:,.0f}/min ({counts['seconds']} s); "
                                f"load {load():.1f}",
                                flush=True,
                            )
    spark.stop()
    print()
    print("Proxy ceiling (plain concurrent PUT loop, medians):")
    for name in wanted:
        d = median(runs[(name, shapes[0], -2.0, largest, "ceiling")])
        p = median(runs[(name, shapes[0], -1.0, largest, "ceiling")])
        print(
            f"  {name}: direct {d:,.0f}/min, through the proxy at 0 ms {p:,.0f}/min ({p / d:.0%})"
        )
    print()
    print(
        "| server | shape | latency | rows | ceiling files/min | baseline files/min "
        "| job files/min | job/baseline | job/ceiling |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in wanted:
        for shape in shapes:
            for ms in latencies:
                base = median(runs[(name, shape, ms, 0, "baseline")])
                for rows in row_counts:
                    ceil = median(runs[(name, shape, ms, rows, "ceiling")])
                    rate = median(runs[(name, shape, ms, rows, "job")])
                    print(
                        f"| {name} | {shape} | {ms:g} ms | {rows:,} | {ceil:,.0f} | {base:,.0f} "
                        f"| {rate:,.0f} | {rate / base:.1f}x | {rate / ceil:.0%} |"
                    )
    for name, (cpu_boto, cpu_job) in cpu.items():
        print(
            f"{name}: client CPU per PUT, boto3 put_object {cpu_boto:.2f} ms, job {cpu_job:.2f} ms"
        )
    print(
        f"({args.repeats} interleaved repeats, medians; load average {load():.1f} on "
        f"{os.cpu_count()} cores; job: {args.max_in_flight} uploads in flight per partition)"
    )


if __name__ == "__main__":
    main()
