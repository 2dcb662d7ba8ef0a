"""The NDJSON files a manifest lists → one batch of Snappy Parquet under merged-parquet-{date}/.

Glue:  --MANIFEST_PATH s3://bucket/manifests/2026-11-21/manifest.json --OUTPUT_PATH s3://bucket/processed/
Local: python scripts/ndjson_manifest_to_parquet.py --MANIFEST_PATH m.json --OUTPUT_PATH out/

Manifest: ``{"fileLocations": [{"URIPrefixes": ["s3://…/a.ndjson", …]}]}`` (``URIs`` works too;
a prefix may name a folder or a glob). The files are read once, with no schema-inference pass: the
columns come from ``--COLUMNS`` or from a sample of the files' first lines, and every value is
kept as its JSON text, so types that differ between files never conflict. Keys the sample missed
are kept, as JSON, in ``_extra_fields``. Lines that are not JSON objects go to the rejected path
with their source file. The batch replaces ``merged-parquet-{date}/``, so rerunning a manifest
leaves one copy of every row.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import glue_etl_common as common
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

JOB = "ndjson_manifest_to_parquet"
TARGET_FILE_MB = 128
EXTRA = "_extra_fields"
PROCESSING_TS = "_processing_timestamp"
PARSED = "_parsed"
# The head of every file of a typical batch (200 files: 13 MB of reads), so a key that only some
# files carry still becomes a column; beyond that, files spread over the batch.
SAMPLE_FILES = 256
SAMPLE_BYTES_PER_FILE = 64 * 1024
SIZING_ROWS = 20_000
DATE_IN_NAME = re.compile(r"(?<!\d)(20\d{2}|19\d{2})[-_/.]?(\d{2})[-_/.]?(\d{2})(?!\d)")

# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


def manifest_uris(text: str, manifest_path: str) -> list[str]:
    """The URIs a manifest lists, relative ones resolved against the manifest's folder."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise common.JobInputError(f"manifest {manifest_path} is not valid JSON: {e}") from e
    locations = doc.get("fileLocations") if isinstance(doc, dict) else None
    if not isinstance(locations, list):
        raise common.JobInputError(
            f'manifest {manifest_path} has no "fileLocations" list; expected '
            '{"fileLocations": [{"URIPrefixes": ["s3://…"]}]}'
        )
    uris: list[str] = []
    for i, loc in enumerate(locations):
        entries = [
            *(loc.get("URIPrefixes") or [] if isinstance(loc, dict) else []),
            *(loc.get("URIs") or [] if isinstance(loc, dict) else []),
        ]
        bad = [e for e in entries if not isinstance(e, str) or not e.strip()]
        if not isinstance(loc, dict) or bad:
            raise common.JobInputError(
                f"manifest {manifest_path}: fileLocations[{i}] must be an object whose "
                f"URIPrefixes/URIs are non-empty strings, got {json.dumps(loc)[:200]}"
            )
        uris += [resolve(e.strip(), manifest_path) for e in entries]
    if not uris:
        raise common.JobInputError(f"manifest {manifest_path} lists no files")
    return list(dict.fromkeys(uris))


def resolve(uri: str, manifest_path: str) -> str:
    if "://" in uri or uri.startswith("/"):
        return uri
    return manifest_path.rsplit("/", 1)[0] + "/" + uri if "/" in manifest_path else uri


def batch_date(paths: Iterable[str], fallback: str | None = None) -> tuple[str, list[str]]:
    """The batch date from the file names (the latest if they differ), else from ``fallback``.

    Returns the date and every distinct date seen, so a mixed batch shows in the summary.
    """
    seen: set[str] = set()
    for path in paths:
        found = date_in(path.rsplit("/", 1)[-1]) or date_in(path)
        if found:
            seen.add(found)
    if not seen and fallback:
        found = date_in(fallback)
        if found:
            seen.add(found)
    if not seen:
        raise common.JobInputError(
            "no date (YYYY-MM-DD, YYYY_MM_DD or YYYYMMDD) in the listed file names or the "
            "manifest path, so merged-parquet-{date}/ cannot be named"
        )
    dates = sorted(seen)
    return dates[-1], dates


def date_in(text: str) -> str | None:
    for m in DATE_IN_NAME.finditer(text):
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            continue
    return None


# --------------------------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------------------------


def sample_keys(lines: Iterable[str]) -> list[str]:
    """Top-level keys in order of first appearance among the lines that are JSON objects."""
    keys: dict[str, None] = {}
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            keys.update(dict.fromkeys(obj))
    return list(keys)


def output_names(keys: Sequence[str]) -> dict[str, str]:
    """JSON key → column name, unique without regard to case (Spark and Athena ignore case)."""
    taken = {EXTRA.lower(), PROCESSING_TS.lower(), common.SOURCE_FILE.lower()}
    names: dict[str, str] = {}
    for key in keys:
        base = key.strip() or "_blank"
        name, n = base, 2
        while name.lower() in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name.lower())
        names[key] = name
    return names


# --------------------------------------------------------------------------------------------
# Pure transforms
# --------------------------------------------------------------------------------------------


def parse_lines(lines: DataFrame, keys: Sequence[str], processing_timestamp: str) -> DataFrame:
    """``value`` (a line) and ``_source_file`` → one string column per key, ``_extra_fields``,
    ``_source_file``, ``_processing_timestamp``, ``_raw_line`` and ``_reject_reason``.

    Parsing to map<string,string> keeps each value's JSON text (numbers, booleans, nested
    objects) as a string, which is the cast-to-string the output needs, in one parse. When an
    object repeats a key, the first value is the column's.
    """
    parsed = F.from_json(F.col("value"), "map<string,string>")
    names = output_names(keys)
    known = F.array(*[F.lit(k) for k in keys]) if keys else F.array().cast("array<string>")
    extra = F.map_filter(F.col(PARSED), lambda k, _v: ~F.array_contains(known, k))
    ok = F.col(PARSED).isNotNull()
    return (
        lines.where(F.trim(F.col("value")) != "")
        .withColumn(PARSED, parsed)
        .select(
            *[F.col(PARSED).getItem(k).alias(names[k]) for k in keys],
            F.when(F.size(extra) > 0, F.to_json(extra)).alias(EXTRA),
            F.col(common.SOURCE_FILE),
            F.lit(processing_timestamp).alias(PROCESSING_TS),
            F.when(~ok, F.col("value")).alias(common.RAW_LINE),
            F.when(~ok, F.lit("corrupt line: not a JSON object")).alias(common.REJECT_REASON),
        )
    )


def plan_files(
    input_bytes: int, bytes_per_line: float, parquet_bytes_per_row: float, target_bytes: int
) -> tuple[int, int | None]:
    """How many output files, and the most rows one may hold, for files of about the target.

    The row count is estimated from the input size and the sampled line length; the cap is
    twice the target so a wrong estimate makes files larger, not a crowd of tiny ones.
    """
    if bytes_per_line <= 0 or parquet_bytes_per_row <= 0:
        return 1, None
    rows = input_bytes / bytes_per_line
    files = max(1, math.ceil(rows * parquet_bytes_per_row / target_bytes))
    return files, max(1, int(2 * target_bytes / parquet_bytes_per_row))


# --------------------------------------------------------------------------------------------
# I/O
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    files: list[common.InputFile]
    date: str
    dates: list[str]


def locate(spark: SparkSession, manifest_path: str) -> Batch:
    """Reads the manifest and checks every listed location; all missing ones are named at once."""
    text = common.read_text(spark, manifest_path)
    uris = manifest_uris(text, manifest_path)
    listed = common.map_in_threads(lambda u: list_location(spark, u), uris)
    missing = [u for u, files in zip(uris, listed, strict=True) if not files]
    if missing:
        shown = ", ".join(missing[:20]) + (
            f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        )
        raise common.JobInputError(
            f"manifest {manifest_path} lists {len(missing)} of {len(uris)} location(s) "
            f"that do not exist or hold no files: {shown}"
        )
    files = list({f.path: f for group in listed for f in group}.values())
    date, dates = batch_date([f.path for f in files], fallback=manifest_path)
    return Batch(files, date, dates)


def list_location(spark: SparkSession, uri: str) -> list[common.InputFile]:
    """A file, a folder or a glob; failing those, a key prefix as S3 manifests mean it."""
    files = common.list_files(spark, uri)
    if not files and not uri.endswith("/") and not any(c in uri for c in "*?[{"):
        files = common.list_files(spark, uri + "*")
    return files


def sample_lines(spark: SparkSession, files: Sequence[common.InputFile]) -> list[str]:
    """Complete lines from the start of up to SAMPLE_FILES files spread over the batch."""
    step = max(1, len(files) // SAMPLE_FILES)
    chosen = [f for f in files[::step] if f.size > 0][:SAMPLE_FILES]

    def head(f: common.InputFile) -> list[str]:
        data = common.read_head(spark, f.path, SAMPLE_BYTES_PER_FILE)
        text = data.decode("utf-8-sig", errors="replace")
        lines = text.splitlines()
        # A cut-off last line would look corrupt and skew the size measure.
        complete = lines if len(data) < SAMPLE_BYTES_PER_FILE else lines[:-1]
        return [ln for ln in complete if ln.strip()]

    return [ln for lines in common.map_in_threads(head, chosen) for ln in lines]


def parquet_bytes_per_row(spark: SparkSession, sample: DataFrame, scratch: str) -> float:
    """Measures Snappy Parquet bytes per row by writing the sample under ``scratch``.

    Written where the output goes (not the driver's disk: on Glue, executors do the writing),
    then removed.
    """
    try:
        counted, obs = common.observe_counts(sample.coalesce(1), "sample_rows")
        counted.write.mode("overwrite").option("compression", "snappy").parquet(scratch)
        rows = int(obs.get["rows"])
        size = sum(f.size for f in common.list_files(spark, scratch) if f.path.endswith(".parquet"))
        return size / rows if rows else 0.0
    finally:
        common.delete_path(spark, scratch)


def convert(
    spark: SparkSession,
    manifest_path: str,
    output_path: str,
    rejected_path: str | None = None,
    target_file_mb: int = TARGET_FILE_MB,
    columns: Sequence[str] | None = None,
    processing_timestamp: str | None = None,
) -> dict[str, object]:
    started = time.monotonic()
    batch = locate(spark, manifest_path)
    destination = common.join_path(output_path, f"merged-parquet-{batch.date}")
    rejected_path = rejected_path or common.join_path(
        common.default_rejected_path(output_path), f"merged-parquet-{batch.date}"
    )
    stamp = processing_timestamp or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

    sample = sample_lines(spark, batch.files)
    keys = list(columns) if columns else sample_keys(sample)
    target_bytes = target_file_mb * 1024 * 1024
    total_bytes = sum(f.size for f in batch.files)
    n_files, rows_per_file = 1, None
    if sample:
        step = max(1, len(sample) // SIZING_ROWS)
        sample_df = spark.createDataFrame(
            [(ln, "sample") for ln in sample[::step]],
            f"value string, {common.SOURCE_FILE} string",
        )
        n_files, rows_per_file = plan_files(
            total_bytes,
            sum(len(ln.encode()) + 1 for ln in sample) / len(sample),
            parquet_bytes_per_row(
                spark,
                parse_lines(sample_df, keys, stamp),
                common.join_path(output_path, f"_sizing-{uuid.uuid4().hex}"),
            ),
            target_bytes,
        )

    lines = spark.read.text([f.path for f in batch.files]).select(
        "value", F.col("_metadata.file_path").alias(common.SOURCE_FILE)
    )
    # Informational only (not part of the reconciliation): lines that hold no record.
    observed_lines, line_obs = common.observe_counts(
        lines, "lines", blank=F.trim(F.col("value")) == ""
    )
    rows = parse_lines(observed_lines, keys, stamp)
    tally = common.Tally(
        rows.repartition(n_files),
        "ndjson",
        lambda good: good.drop(common.RAW_LINE, common.REJECT_REASON),
    )
    writer = tally.good.write.mode("overwrite").option("compression", "snappy")
    if rows_per_file:
        writer = writer.option("maxRecordsPerFile", rows_per_file)
    writer.parquet(destination)
    return {
        **tally.finish(spark, rows.where(common.is_rejected()), rejected_path),
        "blank_lines": int(line_obs.get["blank"]),
        "files": len(batch.files),
        "input_bytes": total_bytes,
        "columns": len(keys),
        "date": batch.date,
        "dates": batch.dates,
        "output_files": n_files,
        "output": destination,
        "rejected_path": rejected_path,
        "seconds": round(time.monotonic() - started, 1),
    }


# --------------------------------------------------------------------------------------------
# Glue bootstrap
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> None:
    args = common.parse_args(
        argv,
        required=["MANIFEST_PATH", "OUTPUT_PATH"],
        optional={"REJECTED_PATH": None, "TARGET_FILE_MB": None, "COLUMNS": None},
    )
    run = common.start_job(JOB, args)
    columns = [c.strip() for c in (args.get("COLUMNS") or "").split(",") if c.strip()]
    counts = convert(
        run.spark,
        str(args["MANIFEST_PATH"]),
        str(args["OUTPUT_PATH"]),
        args.get("REJECTED_PATH"),
        target_file_mb=common.positive_int(args, "TARGET_FILE_MB", TARGET_FILE_MB),
        columns=columns or None,
    )
    common.emit_summary(JOB, counts)
    run.commit()


if __name__ == "__main__":
    common.run_main(main)
