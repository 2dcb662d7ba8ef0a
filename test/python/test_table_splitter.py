"""table_splitter against a local moto S3 server, through a proxy that throttles (503 SlowDown)
and measures concurrency."""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from urllib.parse import unquote

import boto3
import pytest
import table_splitter as splitter
from s3_faults import ThrottlingProxy
from support import common, free_port, run_script, summary_of, write_bytes

N = 120


def users_csv() -> str:
    lines = ["user_id,name,city,notes"]
    lines += [f"u{i:04d},User {i},City {i % 7},plain" for i in range(N)]
    lines += [
        'u9000,"Doe, Jane",Paris,"said ""hi"", left"',
        ",Nobody,Nowhere,empty id",
        "u0001,Again,Dup,duplicate id",
        "a/b c,Slash,Space,odd id",
    ]
    return "\r\n".join(lines) + "\r\n"


@pytest.fixture()
def bucket(moto_endpoint: str) -> str:
    name = f"split-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return name


def objects(endpoint: str, bucket: str, prefix: str) -> dict[str, bytes]:
    s3 = boto3.client("s3", endpoint_url=endpoint)
    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for o in page.get("Contents", [])
    ]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def json_lines(stored: dict[str, bytes]) -> list[dict]:
    return [json.loads(ln) for body in stored.values() for ln in body.decode().splitlines()]


def test_keys_are_deterministic_and_safe():
    assert splitter.object_key("processed/", "u0001") == "processed/u0001.json"
    assert splitter.object_key("", "a/b c") == "a%2Fb%20c.json"
    assert splitter.split_s3_path("s3://b/processed") == ("b", "processed/")
    assert splitter.split_s3_path("s3://b/") == ("b", "")
    with pytest.raises(common.JobInputError, match="must be s3://bucket/prefix/"):
        splitter.split_s3_path("/local/dir")


def test_rows_become_objects_despite_throttling(spark, moto_endpoint, bucket, tmp_path: Path):
    src = write_bytes(tmp_path / "users.csv", users_csv())
    # Every third key is throttled on its first two attempts; PUTs take 10 ms.
    with ThrottlingProxy(
        moto_endpoint, lambda path, attempt: hash(path) % 3 == 0 and attempt <= 2, 0.01
    ) as proxy:
        source = splitter.read_source_csv(spark, str(src))
        counts = splitter.split(
            source,
            f"s3://{bucket}/processed/",
            endpoint_url=proxy.url,
            max_in_flight=4,
            rejected_path=f"s3://{bucket}/rejected/",
            retry_base_seconds=0.001,
        )
    assert counts["read"] == N + 4
    assert counts["rejected"] == 3  # empty id, and both rows of the duplicated u0001
    assert counts["failed"] == 0
    assert counts["written"] == N + 4 - 3
    assert counts["retries"] == proxy.injected > 0
    # Bounded: never more PUTs at once than partitions x the in-flight limit, yet concurrent.
    assert 2 <= proxy.max_in_flight <= counts["partitions"] * 4

    stored = objects(moto_endpoint, bucket, "processed/")
    assert len(stored) == counts["written"]
    assert "processed/u0001.json" not in stored
    assert json.loads(stored["processed/u9000.json"]) == {
        "user_id": "u9000",
        "name": "Doe, Jane",
        "city": "Paris",
        "notes": 'said "hi", left',
    }
    assert json.loads(stored["processed/a%2Fb%20c.json"])["name"] == "Slash"

    rejected = json_lines(objects(moto_endpoint, bucket, "rejected/"))
    reasons = sorted((r.get("user_id") or "", r["_reject_reason"]) for r in rejected)
    assert reasons == [
        ("", "empty user_id"),
        ("u0001", "duplicate user_id: u0001 (2 rows)"),
        ("u0001", "duplicate user_id: u0001 (2 rows)"),
    ]

    # A rerun overwrites the same keys: no new objects.
    again = splitter.split(
        source, f"s3://{bucket}/processed/", endpoint_url=moto_endpoint, max_in_flight=8
    )
    assert again["written"] == counts["written"]
    stored = objects(moto_endpoint, bucket, "processed/")
    rejects = {k: v for k, v in stored.items() if k.startswith("processed/_rejected/")}
    assert len(stored) - len(rejects) == counts["written"]
    assert len(json_lines(rejects)) == 3


def test_uploads_that_keep_failing_are_reported(spark, moto_endpoint, bucket, tmp_path: Path):
    src = write_bytes(tmp_path / "users.csv", "id,v\nok1,a\npoison,b\nok2,c\n")
    with ThrottlingProxy(moto_endpoint, lambda path, _attempt: "poison" in path) as proxy:
        counts = splitter.split(
            splitter.read_source_csv(spark, str(src)),
            f"s3://{bucket}/out/",
            endpoint_url=proxy.url,
            max_attempts=3,
            retry_base_seconds=0.001,
        )
    assert (counts["read"], counts["written"], counts["failed"], counts["rejected"]) == (3, 2, 1, 0)
    assert proxy.injected == 3
    [row] = json_lines(objects(moto_endpoint, bucket, "out/_rejected/"))
    assert row["id"] == "poison" and row["_outcome"] == "failed"
    assert row["_reject_reason"].startswith("upload failed after 3 attempts: S3PutError")
    assert "SlowDown" in row["_reject_reason"]


@pytest.mark.slow
def test_runs_as_a_command_line_script(moto_endpoint, bucket, tmp_path: Path):
    src = write_bytes(tmp_path / "in" / "users.csv", users_csv())
    proc = run_script(
        "table_splitter.py",
        "--INPUT_PATH",
        str(src.parent),
        "--OUTPUT_PATH",
        f"s3://{bucket}/cli/",
        "--S3_ENDPOINT_URL",
        moto_endpoint,
        "--MAX_IN_FLIGHT",
        "16",
        "--ID_COLUMN",
        "name",
    )
    summary = summary_of(proc)
    assert (summary["read"], summary["written"], summary["rejected"]) == (N + 4, N + 4, 0)
    assert summary["max_in_flight"] == 16 and summary["files_per_minute"] > 0
    assert len(objects(moto_endpoint, bucket, "cli/")) == N + 4


# --------------------------------------------------------------------------------------------
# Hostile ids and unusable destinations
# --------------------------------------------------------------------------------------------

LONG_ASCII = "x" * 1100
HOSTILE_IDS = [
    "plain",
    "dup",
    "dup",
    "",
    "   ",
    None,
    "\t",
    "\u00a0\u3000\n",
    "A",
    "a",
    "a/b",
    "a%2Fb",
    "a%2fb",
    "a b",
    "a+b",
    "a%20b",
    "..",
    ".",
    "../../etc/passwd",
    "%",
    "100%",
    "caf\u00e9",  # NFC
    "cafe\u0301",  # NFD: looks the same, is another id
    "\U0001f600 emoji",
    "\u65e5\u672c",
    "ctl\x01\x7f",
    "line\nbreak",
    "cr\rlf",
    "nul\x00byte",
    "trailing ",
    " leading",
    "_rejected",
    "_write_check",
    LONG_ASCII,
    "\u00e9" * 200,  # 400 bytes of UTF-8, 1,200 once encoded
    "y" * 1000,  # 1,005-byte key with the ".json" suffix: fits
]


def hostile_expectation(ids: list[str | None], prefix: str) -> dict[int, str]:
    """Per row: "written" or the start of its reject reason, decided from the ids alone."""
    counts: dict[str | None, int] = {}
    for i in ids:
        counts[i] = counts.get(i, 0) + 1
    out: dict[int, str] = {}
    for n, i in enumerate(ids):
        if i is None or not i.strip():
            out[n] = "empty id"
        elif counts[i] > 1:
            out[n] = "duplicate id"
        elif len(splitter.object_key(prefix, i).encode()) > 1024:
            out[n] = "object key longer"
        else:
            out[n] = "written"
    return out


def test_hostile_ids_each_row_once_under_its_own_key(spark, moto_endpoint, bucket):
    prefix = "rows/"
    rows = [(i, n, f"value {n}") for n, i in enumerate(HOSTILE_IDS)]
    source = spark.createDataFrame(rows, "id string, n int, v string")
    counts = splitter.split(source, f"s3://{bucket}/{prefix}", endpoint_url=moto_endpoint)

    stored = objects(moto_endpoint, bucket, prefix)
    written = {
        k: json.loads(v) for k, v in stored.items() if not k.startswith(f"{prefix}_rejected/")
    }
    rejected = json_lines({k: v for k, v in stored.items() if k.startswith(f"{prefix}_rejected/")})
    expect = hostile_expectation(HOSTILE_IDS, prefix)

    # Every row exactly once, written or rejected, by its row number.
    # (Every column is uploaded as text.)
    landed = sorted([int(r["n"]) for r in written.values()] + [int(r["n"]) for r in rejected])
    assert landed == list(range(len(HOSTILE_IDS)))
    assert (counts["read"], counts["written"], counts["rejected"]) == (
        len(HOSTILE_IDS),
        len(written),
        len(rejected),
    )
    assert {int(r["n"]) for r in written.values()} == {
        n for n, w in expect.items() if w == "written"
    }
    for r in rejected:
        assert r["_reject_reason"].startswith(expect[int(r["n"])].replace(" id", "")), r
    # The key decodes back to the exact id, and the object holds the row it names.
    for key, row in written.items():
        assert key.startswith(prefix) and key.endswith(".json") and "/" not in key[len(prefix) :]
        assert unquote(key[len(prefix) : -len(".json")]) == row["id"] == HOSTILE_IDS[int(row["n"])]
        assert row["v"] == f"value {row['n']}"


def test_object_keys_are_injective():
    rng = random.Random(7)
    alphabet = "aA/%2fF. +~-_\u00e9e\u0301\x00\n\t\U0001f600\ufeff\\:?#[]@!$&'()*,;="
    ids = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(20000)}
    ids |= {"a/b", "a%2Fb", "a%2fb", "A%2Fb", "a b", "a+b", "a%20b", "a%2520b"}
    keys = {splitter.object_key("p/", i): i for i in ids}
    assert len(keys) == len(ids)  # no two ids share a key
    for key, i in keys.items():
        assert unquote(key[2:-5]) == i and "/" not in key[2:]


def test_missing_bucket_and_unreachable_endpoint_are_one_clear_error(spark, moto_endpoint, bucket):
    source = spark.createDataFrame([("u1", "x")], "id string, v string")
    with pytest.raises(splitter.DestinationError, match=r"output bucket 'no-such-bucket' does not"):
        splitter.split(source, "s3://no-such-bucket/rows/", endpoint_url=moto_endpoint)
    with pytest.raises(splitter.DestinationError, match=r"rejected bucket 'gone' does not exist"):
        splitter.split(
            source,
            f"s3://{bucket}/rows/",
            endpoint_url=moto_endpoint,
            rejected_path="s3://gone/rejected/",
        )
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(splitter.DestinationError, match=rf"cannot reach S3 at {dead}"):
        splitter.split(source, f"s3://{bucket}/rows/", endpoint_url=dead)
    assert objects(moto_endpoint, bucket, "rows/") == {}  # nothing written, no probe left


@pytest.mark.slow
def test_cli_missing_bucket_exits_non_zero_without_a_traceback(moto_endpoint, tmp_path: Path):
    src = write_bytes(tmp_path / "users.csv", "id,v\nu1,a\n")
    proc = run_script(
        "table_splitter.py",
        "--INPUT_PATH",
        str(src),
        "--OUTPUT_PATH",
        "s3://no-such-bucket/rows/",
        "--S3_ENDPOINT_URL",
        moto_endpoint,
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert "output bucket 'no-such-bucket' does not exist" in proc.stderr
