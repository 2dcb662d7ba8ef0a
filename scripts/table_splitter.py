"""One S3 object per row of a table, uploaded concurrently from every partition.

Glue:  --DATABASE_NAME db --TABLE_NAME user_info_large --OUTPUT_PATH s3://bucket/processed/
Local: python scripts/table_splitter.py --INPUT_PATH users.csv --OUTPUT_PATH s3://bucket/processed/
       --S3_ENDPOINT_URL http://127.0.0.1:5000   (any S3-compatible endpoint)

Each row becomes ``<OUTPUT_PATH><id>.json`` (a JSON object of the row's columns), the id taken
from ``--ID_COLUMN`` (default: the first column) and percent-encoded (UTF-8; ``%`` itself is
encoded, so two different ids never share a key and ``/`` never makes a folder), so a rerun
overwrites the same keys and never duplicates. Rows with an empty or repeated id would collide,
and ids whose key exceeds S3's 1,024 bytes cannot be stored, so they are rejected rather than
silently overwriting each other. Before any row is read, the output and rejected buckets are
checked to exist and accept writes; an unreachable endpoint, missing credentials, a missing
bucket or a denied write stops the run with one line saying which and what to do.

Every partition opens one S3 client with a pool of ``--MAX_IN_FLIGHT`` connections and keeps at
most that many uploads in flight; throttling (503 SlowDown) and transient errors are retried with
capped exponential backoff and full jitter. Rows whose upload still fails are reported as failed,
written to the rejected path, and fail the run (a rerun is safe and retries only what it must
overwrite anyway).
"""

from __future__ import annotations

import json
import os
import queue
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import glue_etl_common as common
from pyspark.sql import DataFrame, Row, SparkSession, Window
from pyspark.sql import functions as F

JOB = "table_splitter"
MAX_IN_FLIGHT = 64
MAX_ATTEMPTS = 8
RETRY_BASE_SECONDS = 0.05
RETRY_CAP_SECONDS = 5.0
MAX_KEY_BYTES = 1024
RETRYABLE_CODES = {
    "SlowDown",
    "ServiceUnavailable",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "InternalError",
    "500",
    "502",
    "503",
    "504",
}
DUPLICATES = "__id_rows"

# --------------------------------------------------------------------------------------------
# Pure parts
# --------------------------------------------------------------------------------------------


def split_s3_path(path: str) -> tuple[str, str]:
    """``s3://bucket/prefix/`` → (bucket, ``prefix/``)."""
    scheme, sep, rest = path.partition("://")
    if not sep or scheme not in ("s3", "s3a", "s3n") or not rest.split("/", 1)[0]:
        raise common.JobInputError(f"--OUTPUT_PATH must be s3://bucket/prefix/, got {path!r}")
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def object_key(prefix: str, row_id: str) -> str:
    # Encoding keeps "/" in an id from creating folders and makes every id a valid key.
    return f"{prefix}{quote(row_id, safe='-_.~@=+')}.json"


def mark_rejects(df: DataFrame, id_column: str, partitions: int) -> DataFrame:
    """Adds ``_reject_reason`` for rows whose id is empty (or blank) or shared with another row
    (their objects would overwrite each other).

    The one shuffle, by id, serves both the duplicate count and the uploads: ``partitions`` is
    set explicitly because upload parallelism follows cores, not data size (adaptive execution
    would merge a small table into one task).
    """
    rows_per_id = F.count(F.lit(1)).over(Window.partitionBy(F.col(id_column)))
    return (
        df.repartition(partitions, F.col(id_column))
        .withColumn(DUPLICATES, rows_per_id)
        .withColumn(
            common.REJECT_REASON,
            F.when(F.col(common.CORRUPT).isNotNull(), F.lit("malformed row"))
            # Blank in any script: tabs, line breaks and no-break spaces too, not just " ".
            .when(
                F.col(id_column).isNull() | F.col(id_column).rlike(r"(?U)^\s*$"),
                F.lit(f"empty {id_column}"),
            )
            .when(
                F.col(DUPLICATES) > 1,
                F.concat(
                    F.lit(f"duplicate {id_column}: "),
                    F.col(id_column),
                    F.lit(" ("),
                    F.col(DUPLICATES).cast("string"),
                    F.lit(" rows)"),
                ),
            ),
        )
        .drop(DUPLICATES)
    )


# --------------------------------------------------------------------------------------------
# Uploading
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadSettings:
    bucket: str
    prefix: str
    id_column: str
    rejected_bucket: str
    rejected_prefix: str
    endpoint_url: str | None = None
    max_in_flight: int = MAX_IN_FLIGHT
    max_attempts: int = MAX_ATTEMPTS
    retry_base_seconds: float = RETRY_BASE_SECONDS


@dataclass(frozen=True)
class PartitionStats:
    seen: int
    written: int
    rejected: int
    failed: int
    retries: int


class DestinationError(common.JobInputError):
    """The output or rejected location cannot be written; said for people, before any upload."""


def describe_s3_error(error: Exception, bucket: str, what: str, endpoint: str | None) -> str:
    """One line: what failed, for which bucket or endpoint, and what to do about it."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
        ReadTimeoutError,
    )
    from botocore.exceptions import ConnectionError as BotoConnectionError

    where = endpoint or "the AWS S3 endpoint of the job's region"
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError | BotoConnectionError):
        return (
            f"cannot reach S3 at {where} to write {what} s3://{bucket}/ ({type(error).__name__}); "
            "check --S3_ENDPOINT_URL, the network and any VPC endpoint"
        )
    if isinstance(error, ReadTimeoutError):
        return f"S3 at {where} did not answer in time for s3://{bucket}/; retry later"
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return (
            f"no AWS credentials to write {what} s3://{bucket}/; set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (on Glue the job role provides them)"
        )
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        code = str(
            err.get("Code") or error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        )
        if code in ("NoSuchBucket", "404"):
            return f"{what} bucket {bucket!r} does not exist at {where}; create it or fix the path"
        if code in ("AccessDenied", "403", "AllAccessDisabled"):
            return (
                f"no permission to write to {what} s3://{bucket}/ (AccessDenied); the job's role "
                "needs s3:PutObject and s3:DeleteObject there"
            )
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"):
            return f"S3 at {where} rejected the AWS credentials ({code}); refresh or replace them"
        return f"S3 refused a write to {what} s3://{bucket}/: {code}: {err.get('Message', '')}"
    if isinstance(error, ValueError) and endpoint:
        return f"--S3_ENDPOINT_URL {endpoint!r} is not a usable URL: {error}"
    return f"cannot write to {what} s3://{bucket}/: {type(error).__name__}: {error}"


def check_destinations(settings: UploadSettings) -> int:
    """Writes and deletes one small object in the output and the rejected location, so a missing
    bucket, a denied write or an unreachable endpoint stops the run before Spark reads a row.
    (A write is the only proof of write access; HeadBucket would need s3:ListBucket.)"""
    places = [
        (settings.bucket, settings.prefix, "output"),
        (settings.rejected_bucket, settings.rejected_prefix, "rejected"),
    ]
    from botocore.exceptions import ClientError

    def throttled(e: Exception) -> bool:
        # Only S3's own throttling and 5xx answers: an unreachable endpoint is reported at once.
        return isinstance(e, ClientError) and retryable(e)

    retries = 0
    try:
        client = s3_client(settings)
        for bucket, prefix, what in places:
            # A "/" after the prefix: no row's key (its id is encoded) can be this one.
            key = f"{prefix}_write_check/{uuid.uuid4().hex}"
            try:
                # Throttling on the check is no reason to stop: it is retried like the rows.
                retries += retrying(
                    settings,
                    lambda b=bucket, k=key: client.put_object(Bucket=b, Key=k, Body=b""),
                    throttled,
                )
                retries += retrying(
                    settings,
                    lambda b=bucket, k=key: client.delete_object(Bucket=b, Key=k),
                    throttled,
                )
            except Exception as e:
                raise DestinationError(
                    describe_s3_error(e, bucket, what, settings.endpoint_url)
                ) from e
    except DestinationError:
        raise
    except Exception as e:  # the client itself (a malformed endpoint URL)
        raise DestinationError(
            describe_s3_error(e, settings.bucket, "output", settings.endpoint_url)
        ) from e
    return retries


def s3_client(settings: UploadSettings, attempts: int = 1) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        max_pool_connections=settings.max_in_flight,
        # Retries are ours (below): counted, with full jitter, and the same for every error.
        retries={"total_max_attempts": attempts},
        connect_timeout=10,
        read_timeout=60,
        s3={"addressing_style": "path"} if settings.endpoint_url else None,
    )
    return boto3.session.Session().client("s3", endpoint_url=settings.endpoint_url, config=config)


class S3PutError(Exception):
    """An S3 error answer to a PUT: its HTTP status and S3 error code."""

    def __init__(self, status: int, body: bytes) -> None:
        text = body.decode("utf-8", errors="replace")
        found = re.search(r"<Code>([^<]*)</Code>", text)
        message = re.search(r"<Message>([^<]*)</Message>", text)
        self.status = status
        self.code = found.group(1) if found else str(status)
        super().__init__(
            f"{self.code} (HTTP {status})" + (f": {message.group(1)}" if message else "")
        )


class Uploader:
    """PUTs signed by botocore's SigV4 signer and sent over one urllib3 connection pool.

    boto3's ``put_object`` spends about 3 ms of CPU per request on parameter validation, event
    hooks and checksums; this path about 0.7 ms (measured in bench/splitter_s3.py). With a
    request per row on a worker's few cores that CPU, not the network, bounds the files per
    minute. Credentials, region and endpoint come from boto3's usual resolution; credentials are
    frozen per request so refreshing role credentials stay consistent.
    """

    def __init__(self, settings: UploadSettings) -> None:
        import boto3
        import urllib3
        from botocore.exceptions import NoCredentialsError

        session = boto3.session.Session()
        client = session.client("s3", endpoint_url=settings.endpoint_url)
        self.endpoint = client.meta.endpoint_url.rstrip("/")
        self.region = client.meta.region_name
        credentials = session.get_credentials()
        if credentials is None:
            raise NoCredentialsError()
        self.credentials = credentials
        self.pool = urllib3.PoolManager(
            maxsize=settings.max_in_flight,
            block=True,
            retries=False,  # ours: counted, with jitter (put_with_retries)
            timeout=urllib3.Timeout(connect=10, read=60),
        )

    def put(self, bucket: str, key: str, body: bytes, content_type: str) -> None:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest

        # Path style: valid for every bucket name, on AWS and on S3-compatible servers alike.
        url = f"{self.endpoint}/{bucket}/{quote(key, safe='/-_.~')}"
        request = AWSRequest(
            method="PUT", url=url, data=body, headers={"Content-Type": content_type}
        )
        S3SigV4Auth(self.credentials.get_frozen_credentials(), "s3", self.region).add_auth(request)
        response = self.pool.request(
            "PUT", url, body=body, headers=dict(request.headers.items()), preload_content=True
        )
        if response.status >= 300:
            raise S3PutError(response.status, response.data)


def retryable(error: Exception) -> bool:
    import urllib3
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(error, S3PutError):
        return error.code in RETRYABLE_CODES or str(error.status) in RETRYABLE_CODES
    if isinstance(error, ClientError):
        err = error.response.get("Error", {})
        status = str(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        return err.get("Code") in RETRYABLE_CODES or status in RETRYABLE_CODES
    return isinstance(error, ConnectionError | HTTPClientError | urllib3.exceptions.HTTPError)


def retrying(
    settings: UploadSettings,
    call: Callable[[], object],
    should_retry: Callable[[Exception], bool] = lambda e: retryable(e),
) -> int:
    """``call()``, retried with capped, jittered backoff while ``should_retry`` says so; returns
    the retries it took."""
    for attempt in range(settings.max_attempts):
        try:
            call()
            return attempt
        except Exception as e:
            if not should_retry(e) or attempt + 1 == settings.max_attempts:
                raise
            cap = min(RETRY_CAP_SECONDS, settings.retry_base_seconds * 2**attempt)
            time.sleep(random.uniform(0, cap))
    raise AssertionError("unreachable")


def put_with_retries(
    client: Uploader,
    settings: UploadSettings,
    bucket: str,
    key: str,
    body: bytes,
    content_type: str = "application/json",
) -> tuple[str | None, int]:
    """Returns (error or None, retries used)."""
    for attempt in range(settings.max_attempts):
        try:
            client.put(bucket, key, body, content_type)
            return None, attempt
        except Exception as e:  # every failure is reported with its row, none ends the task
            if not retryable(e) or attempt + 1 == settings.max_attempts:
                what = f"after {attempt + 1} attempts" if retryable(e) else "(not retryable)"
                return f"upload failed {what}: {type(e).__name__}: {e}", attempt
            cap = min(RETRY_CAP_SECONDS, settings.retry_base_seconds * 2**attempt)
            time.sleep(random.uniform(0, cap))
    raise AssertionError("unreachable")


def upload_partition(
    settings: UploadSettings, partition: int, rows: Iterator[Row]
) -> Iterator[PartitionStats]:
    """Uploads one partition: one client, ``max_in_flight`` threads taking rows from a short
    queue, so at most that many puts are in flight.

    Rows not written (rejected, or failed after retries) are saved by the same client as one
    JSON-lines object per partition under the rejected prefix. Yields the partition's counts.
    """
    client = Uploader(settings)
    # Long-lived threads and a bounded queue: the reading thread does no per-row bookkeeping
    # of futures (waiting on a set of pending futures per row cost more CPU than the PUT).
    todo: queue.Queue[tuple[str, bytes, dict[str, Any]] | None] = queue.Queue(
        maxsize=2 * settings.max_in_flight
    )
    lock = threading.Lock()
    written = retries = seen = failed = 0
    not_written: list[str] = []

    def work() -> None:
        nonlocal written, retries, failed
        while (item := todo.get()) is not None:
            key, body, values = item
            error, used = put_with_retries(client, settings, settings.bucket, key, body)
            with lock:
                retries += used
                if error is None:
                    written += 1
                else:
                    failed += 1
                    not_written.append(outcome(values, error, "failed"))

    threads = [threading.Thread(target=work, daemon=True) for _ in range(settings.max_in_flight)]
    for t in threads:
        t.start()
    try:
        for row in rows:
            seen += 1
            values = row.asDict()
            reason = values.pop(common.REJECT_REASON)
            values.pop(common.CORRUPT, None)
            key = object_key(settings.prefix, str(values.get(settings.id_column)))
            if reason is None and len(key.encode()) > MAX_KEY_BYTES:
                reason = f"object key longer than {MAX_KEY_BYTES} bytes"
            if reason is not None:
                with lock:
                    not_written.append(outcome(values, reason, "rejected"))
                continue
            body = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()
            todo.put((key, body, values))
    finally:
        # Every thread ends after the rows queued before it: all uploads settle either way.
        for _ in threads:
            todo.put(None)
        for t in threads:
            t.join()
    if not_written:
        key = f"{settings.rejected_prefix}part-{partition:05d}.json"
        body = ("\n".join(not_written) + "\n").encode()
        error, used = put_with_retries(
            client, settings, settings.rejected_bucket, key, body, "application/x-ndjson"
        )
        retries += used
        if error:
            raise RuntimeError(f"could not save rows not written to s3://{key}: {error}")
    yield PartitionStats(seen, written, len(not_written) - failed, failed, retries)


def outcome(values: dict[str, Any], reason: str, kind: str) -> str:
    record = {**values, common.REJECT_REASON: reason, "_outcome": kind}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def clear_prefix(settings: UploadSettings) -> None:
    """Removes the rejected objects of an earlier run, so the prefix lists only this run's."""
    client = s3_client(settings)
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=settings.rejected_bucket, Prefix=settings.rejected_prefix
    )
    for page in pages:
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            client.delete_objects(
                Bucket=settings.rejected_bucket, Delete={"Objects": keys, "Quiet": True}
            )


# --------------------------------------------------------------------------------------------
# I/O
# --------------------------------------------------------------------------------------------


def read_source_csv(spark: SparkSession, input_path: str) -> DataFrame:
    plan = common.plan_csv(spark, common.list_input(spark, input_path))
    if not plan.groups:
        raise common.JobInputError(f"--INPUT_PATH {input_path!r} holds no CSV rows")
    return common.union_all(
        common.read_csv(spark, cols, paths) for cols, paths in plan.groups.items()
    ).drop(common.SOURCE_FILE)


def split(
    source: DataFrame,
    output_path: str,
    id_column: str | None = None,
    endpoint_url: str | None = None,
    max_in_flight: int = MAX_IN_FLIGHT,
    rejected_path: str | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    retry_base_seconds: float = RETRY_BASE_SECONDS,
) -> dict[str, object]:
    """Uploads every row of ``source``; rows not written go to ``rejected_path`` (S3)."""
    started = time.monotonic()
    bucket, prefix = split_s3_path(output_path)
    rejected_path = rejected_path or common.default_rejected_path(output_path)
    rejected_bucket, rejected_prefix = split_s3_path(rejected_path)
    columns = [c for c in source.columns if c != common.CORRUPT]
    if not columns:
        raise common.JobInputError("the source table has no columns")
    id_col = id_column or columns[0]
    if id_col not in columns:
        raise common.JobInputError(f"--ID_COLUMN {id_col!r} is not a column of {columns}")
    if common.CORRUPT not in source.columns:
        source = source.withColumn(common.CORRUPT, F.lit(None).cast("string"))
    data = source.select(*[F.col(c).cast("string") for c in columns], common.CORRUPT)
    settings = UploadSettings(
        bucket,
        prefix,
        id_col,
        rejected_bucket,
        rejected_prefix,
        endpoint_url,
        max_in_flight,
        max_attempts,
        retry_base_seconds,
    )
    check_retries = check_destinations(settings)
    clear_prefix(settings)
    if __name__ != "__main__":
        # Imported (a test, a notebook, a benchmark): the workers unpickle the upload function
        # by module name, so they need this file, as glue_etl_common gets --extra-py-files.
        source.sparkSession.sparkContext.addPyFile(os.path.abspath(__file__))
    partitions = 2 * source.sparkSession.sparkContext.defaultParallelism
    stats = (
        mark_rejects(data, id_col, partitions)
        .rdd.mapPartitionsWithIndex(lambda i, rows: upload_partition(settings, i, rows))
        .collect()
    )
    seconds = time.monotonic() - started
    written = sum(s.written for s in stats)
    return {
        "read": sum(s.seen for s in stats),
        "written": written,
        "rejected": sum(s.rejected for s in stats),
        "failed": sum(s.failed for s in stats),
        "retries": check_retries + sum(s.retries for s in stats),
        "max_in_flight": max_in_flight,
        "partitions": len(stats),
        "files_per_minute": round(written / seconds * 60) if seconds else 0,
        "output": output_path,
        "rejected_path": rejected_path,
        "seconds": round(seconds, 1),
    }


# --------------------------------------------------------------------------------------------
# Glue bootstrap
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> None:
    args = common.job_args(argv, JOB)
    job = common.start_job(JOB, args)
    if args.get("DATABASE_NAME") and args.get("TABLE_NAME") and job.glue_context is not None:
        # No transformation_ctx: a bookmark would skip rows a rerun must overwrite.
        source = job.glue_context.create_dynamic_frame.from_catalog(
            database=args["DATABASE_NAME"], table_name=args["TABLE_NAME"]
        ).toDF()
    elif args.get("INPUT_PATH"):
        source = read_source_csv(job.spark, str(args["INPUT_PATH"]))
    else:
        raise common.JobInputError(
            "give --DATABASE_NAME and --TABLE_NAME (on Glue) or --INPUT_PATH (a CSV source)"
        )
    counts = split(
        source,
        str(args["OUTPUT_PATH"]),
        id_column=args.get("ID_COLUMN"),
        endpoint_url=args.get("S3_ENDPOINT_URL"),
        max_in_flight=common.positive_int(args, "MAX_IN_FLIGHT", MAX_IN_FLIGHT),
        rejected_path=args.get("REJECTED_PATH"),
    )
    common.emit_summary(JOB, counts, parts=["written", "rejected", "failed"])
    if counts["failed"]:
        raise RuntimeError(
            f"{counts['failed']} row(s) could not be uploaded; they are listed in "
            f"{counts['rejected_path']} and a rerun retries them"
        )
    job.commit()


if __name__ == "__main__":
    common.run_main(main)
