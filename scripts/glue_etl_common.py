"""Code every glue-etl job script shares.

Shipped to Glue with ``--extra-py-files`` so each script can ``import glue_etl_common``. It holds
the argument parsing (Glue's ``getResolvedOptions`` on Glue, a strict parser on a laptop), the
Spark/Glue bootstrap, the ``ETL_SUMMARY`` line, rejected-row writing and the few Hadoop
FileSystem calls the scripts need. ``awsglue`` is imported lazily, only inside :func:`start_job`
and :func:`parse_args`, so tests import the scripts with plain PySpark.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

SUMMARY_MARKER = "ETL_SUMMARY"
REJECT_REASON = "_reject_reason"
SOURCE_FILE = "_source_file"
CORRUPT = "_corrupt_record"
RAW_LINE = "_raw_line"

log = logging.getLogger("glue_etl")
A = TypeVar("A")
B = TypeVar("B")


class JobInputError(ValueError):
    """Input the job cannot work with (bad arguments, missing files, bad rules); said for people."""


# --------------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------------


def glue_available() -> bool:
    try:
        import awsglue  # noqa: F401
    except ImportError:
        return False
    return True


def parse_args(
    argv: Sequence[str],
    required: Sequence[str],
    optional: Mapping[str, str | None],
) -> dict[str, str | None]:
    """Resolve ``--NAME value`` arguments; names without the leading dashes.

    On Glue this defers to ``getResolvedOptions`` (asking only for the optional arguments that
    are present, since it fails on absent ones). Elsewhere unknown arguments are an error, so a
    typo on a laptop does not silently fall back to a default.
    """
    if glue_available():
        from awsglue.utils import getResolvedOptions

        present = [n for n in optional if _given(argv, n)]
        resolved: dict[str, str | None] = dict(optional)
        # Glue always passes --JOB_NAME; Job.init needs it for bookmarks.
        resolved.update(getResolvedOptions(list(argv), ["JOB_NAME", *required, *present]))
        return resolved
    return _parse_local(argv, required, optional)


def _given(argv: Sequence[str], name: str) -> bool:
    flag = f"--{name}"
    return any(a == flag or a.startswith(flag + "=") for a in argv)


def _parse_local(
    argv: Sequence[str], required: Sequence[str], optional: Mapping[str, str | None]
) -> dict[str, str | None]:
    known = [*required, *optional, "JOB_NAME"]
    usage = "arguments: " + " ".join(
        [f"--{n} VALUE" for n in required] + [f"[--{n} VALUE]" for n in optional]
    )
    values: dict[str, str | None] = {"JOB_NAME": None, **optional}
    args = list(argv[1:])
    i = 0
    while i < len(args):
        token = args[i]
        if token in ("-h", "--help"):
            raise SystemExit(usage)
        if not token.startswith("--"):
            raise JobInputError(f"unexpected argument {token!r}; {usage}")
        name, eq, value = token[2:].partition("=")
        if name not in known:
            raise JobInputError(f"unknown argument --{name}; {usage}")
        if not eq:
            if i + 1 >= len(args):
                raise JobInputError(f"--{name} needs a value; {usage}")
            i += 1
            value = args[i]
        values[name] = value
        i += 1
    missing = [f"--{n}" for n in required if not values.get(n)]
    if missing:
        raise JobInputError(f"missing required argument(s) {', '.join(missing)}; {usage}")
    return values


def positive_int(args: Mapping[str, str | None], name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise JobInputError(f"--{name} must be a whole number of at least 1, got {raw!r}")
    return value


# --------------------------------------------------------------------------------------------
# Spark / Glue bootstrap
# --------------------------------------------------------------------------------------------


def local_spark(app_name: str, master: str | None = None) -> SparkSession:
    """A SparkSession for runs outside Glue, set up like the Glue 5.0 runtime where it matters."""
    # Python workers must run the interpreter that has this project's packages (boto3).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master(master or os.environ.get("SPARK_MASTER", "local[*]"))
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    # Functions of this module run on executors; they need it on their path like --extra-py-files.
    spark.sparkContext.addPyFile(os.path.abspath(__file__))
    return spark


@dataclass
class JobRun:
    spark: SparkSession
    glue_context: Any = None
    _job: Any = None
    started: float = field(default_factory=time.monotonic)

    def commit(self) -> None:
        if self._job is not None:
            self._job.commit()


def start_job(app_name: str, args: Mapping[str, str | None]) -> JobRun:
    """Glue's GlueContext and Job when running on Glue, otherwise a local SparkSession."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if not glue_available():
        return JobRun(spark=local_spark(app_name))
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from pyspark.context import SparkContext

    glue_context = GlueContext(SparkContext.getOrCreate())
    job = Job(glue_context)
    job.init(args.get("JOB_NAME") or app_name, {k: v for k, v in args.items() if v is not None})
    return JobRun(spark=glue_context.spark_session, glue_context=glue_context, _job=job)


def run_main(main: Any) -> None:
    """Entry point wrapper: input errors end the run with their message and exit code 2."""
    try:
        main(sys.argv)
    except JobInputError as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        raise SystemExit(2) from e


# --------------------------------------------------------------------------------------------
# Counting and the summary line
# --------------------------------------------------------------------------------------------


def observe_counts(df: DataFrame, name: str, **metrics: Column) -> tuple[DataFrame, Observation]:
    """Attach metrics computed while the next action runs, so counting costs no extra pass.

    Call it on the DataFrame that is written, after any shuffle: metrics of the final stage are
    merged once per partition, so task retries do not count twice.
    """
    obs = Observation(name)
    exprs = [F.count(F.lit(1)).alias("rows")] + [
        F.coalesce(F.sum(c.cast("long")), F.lit(0)).alias(k) for k, c in metrics.items()
    ]
    return df.observe(obs, *exprs), obs


def is_rejected() -> Column:
    return F.col(REJECT_REASON).isNotNull()


class Tally:
    """Counts a run while its good rows are written, with no extra pass over the data.

    ``rows`` carries ``_reject_reason`` (null for good rows) and should be the shuffled data the
    write consumes; ``prepare`` turns the good rows into what is written. Write ``self.good``,
    then call :meth:`finish`.
    """

    def __init__(
        self, rows: DataFrame, name: str, prepare: Callable[[DataFrame], DataFrame]
    ) -> None:
        observed, self._all = observe_counts(rows, name, rejected=is_rejected())
        self.good, self._written = observe_counts(
            prepare(observed.where(~is_rejected())), name + "_written"
        )

    def finish(self, spark: SparkSession, rejected: DataFrame, path: str) -> dict[str, int]:
        """read / written / rejected, after writing ``rejected`` (the rows with a reason)."""
        seen = self._all.get
        return {
            "read": int(seen["rows"]),
            "written": int(self._written.get["rows"]),
            "rejected": finish_rejected(spark, rejected, path, int(seen["rejected"])),
        }


class OnePass:
    """Counts a run and gathers its rejected rows while its good rows are written: one pass over
    the input, whatever is rejected.

    ``rows`` carries ``_reject_reason`` (null for good rows); ``rejected`` is what a rejected row
    keeps (a struct). Write ``self.good`` (``prepare`` applied to the good rows), then call
    :meth:`finish`. The rejected rows travel to the driver with the tasks' results, so they
    must fit in its memory: rejects are meant to be the exception, not most of a large input.
    """

    def __init__(
        self,
        rows: DataFrame,
        name: str,
        rejected: Column,
        prepare: Callable[[DataFrame], DataFrame],
    ) -> None:
        self._all = Observation(name)
        observed = rows.observe(
            self._all,
            F.count(F.lit(1)).alias("rows"),
            F.count(F.col(REJECT_REASON)).alias("rejected"),
            F.to_json(F.collect_list(F.when(is_rejected(), rejected))).alias("rejects"),
        )
        self.good, self._written = observe_counts(
            prepare(observed.where(~is_rejected())), name + "_written"
        )

    def finish(self, spark: SparkSession, path: str) -> dict[str, int]:
        """read / written / rejected, after writing the rejected rows to ``path`` (JSON lines;
        stale rejects of an earlier run are cleared when there are none)."""
        seen = self._all.get
        rejects = json.loads(seen["rejects"] or "[]")
        if len(rejects) != int(seen["rejected"]):
            raise RuntimeError(
                f"gathered {len(rejects)} rejected rows but counted {seen['rejected']}"
            )
        if rejects:
            lines = [(json.dumps(r, ensure_ascii=False),) for r in rejects]
            written = write_rejected(spark.createDataFrame(lines, "value string"), path, text=True)
        else:
            delete_path(spark, path)
            written = 0
        return {
            "read": int(seen["rows"]),
            "written": int(self._written.get["rows"]),
            "rejected": written,
        }


def emit_summary(job: str, counts: Mapping[str, Any], parts: Iterable[str] = ()) -> dict[str, Any]:
    """Log the ``ETL_SUMMARY {json}`` line; fail the run when read != sum of ``parts``.

    ``parts`` defaults to written + rejected. A run whose counts do not reconcile lost or
    invented rows somewhere, so it must not look successful.
    """
    names = list(parts) or ["written", "rejected"]
    summary: dict[str, Any] = {"job": job, **counts}
    accounted = sum(int(summary.get(n, 0)) for n in names)
    summary["reconciled"] = int(summary["read"]) == accounted
    line = f"{SUMMARY_MARKER} {json.dumps(summary, sort_keys=False, default=str)}"
    print(line, flush=True)
    log.info(line)
    if not summary["reconciled"]:
        raise RuntimeError(
            f"counts do not reconcile: read={summary['read']} but "
            + " + ".join(f"{n}={summary.get(n, 0)}" for n in names)
            + f" = {accounted}"
        )
    return summary


def parse_summary(text: str) -> dict[str, Any]:
    """The summary of a run from its log text (the last ``ETL_SUMMARY`` line)."""
    lines = [ln for ln in text.splitlines() if ln.startswith(SUMMARY_MARKER + " ")]
    if not lines:
        raise ValueError(f"no {SUMMARY_MARKER} line in the output")
    return dict(json.loads(lines[-1][len(SUMMARY_MARKER) + 1 :]))


# --------------------------------------------------------------------------------------------
# Paths and the Hadoop FileSystem (works the same for s3:// on Glue and local paths)
# --------------------------------------------------------------------------------------------


def join_path(root: str, *parts: str) -> str:
    out = root.rstrip("/")
    for p in parts:
        out += "/" + p.strip("/")
    return out + "/"


def default_rejected_path(output_path: str) -> str:
    return join_path(output_path, "_rejected")


def _jvm_path(spark: SparkSession, path: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    conf = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
    return hpath.getFileSystem(conf), hpath


@dataclass(frozen=True)
class InputFile:
    path: str
    size: int


def list_files(spark: SparkSession, pattern: str) -> list[InputFile]:
    """Files matching a path, a glob or a folder (non-recursive), hidden files (_ .) skipped.

    An empty list means nothing matched.
    """
    fs, hpath = _jvm_path(spark, pattern)
    statuses = fs.globStatus(hpath)
    files: list[InputFile] = []
    for st in statuses or []:
        children = fs.listStatus(st.getPath()) if st.isDirectory() else [st]
        for child in children:
            name = child.getPath().getName()
            if child.isFile() and not name.startswith(("_", ".")):
                files.append(InputFile(child.getPath().toString(), int(child.getLen())))
    return sorted(files, key=lambda f: f.path)


def map_in_threads(fn: Callable[[A], B], items: Sequence[A], workers: int = 16) -> list[B]:
    """Driver-side calls that wait on storage (S3 GETs, listings), run concurrently, in order."""
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def list_input(spark: SparkSession, input_path: str) -> list[InputFile]:
    files = list_files(spark, input_path)
    if not files:
        raise JobInputError(f"--INPUT_PATH {input_path!r} matches no files")
    return files


def read_head(spark: SparkSession, path: str, max_bytes: int) -> bytes:
    """Up to ``max_bytes`` from the start of a file, decompressed when the name says so (.gz)."""
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    fs, hpath = _jvm_path(spark, path)
    conf = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
    stream = fs.open(hpath)
    try:
        codec = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(conf).getCodec(hpath)
        source = codec.createInputStream(stream) if codec is not None else stream
        return bytes(source.readNBytes(max_bytes))
    finally:
        stream.close()


def read_text(spark: SparkSession, path: str) -> str:
    """A whole small file (a manifest, a rules table) as text."""
    fs, hpath = _jvm_path(spark, path)
    if not fs.exists(hpath):
        raise JobInputError(f"file not found: {path}")
    size = int(fs.getFileStatus(hpath).getLen())
    return read_head(spark, path, size + 1).decode("utf-8-sig")


def delete_path(spark: SparkSession, path: str) -> None:
    fs, hpath = _jvm_path(spark, path)
    if fs.exists(hpath):
        fs.delete(hpath, True)


# --------------------------------------------------------------------------------------------
# CSV input
#
# Every CSV file is read with Spark's multiLine parser: a quoted field may hold line breaks
# (RFC 4180), and only a parser that reads a file from its start knows whether a line break is
# inside quotes. A reader that splits files at byte offsets cannot, and cuts such a row into two
# invented ones. The cost is one task per file (small files are still packed together); on
# 2 cores it parses faster than the line-based reader (7.2 vs 13.3 CPU seconds for 262 MB of
# genomics CSV), so only an input of fewer large files than cores reads with less parallelism.
# --------------------------------------------------------------------------------------------

HEAD_BYTES = 64 * 1024
# A header longer than this (or an unterminated quote in it) is refused rather than guessed.
MAX_HEADER_BYTES = 16 * 1024 * 1024
# Spark's default; raised for wider files so that a row with extra fields is rejected, not fatal.
MIN_MAX_COLUMNS = 20480
_REFUSED_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32 (byte-order mark FF FE 00 00)"),
    (b"\x00\x00\xfe\xff", "UTF-32 (byte-order mark 00 00 FE FF)"),
    (b"\xff\xfe", "UTF-16 (byte-order mark FF FE)"),
    (b"\xfe\xff", "UTF-16 (byte-order mark FE FF)"),
)
# One CSV token: a quoted field (quotes open a field only at its start; inside, they are
# doubled), a line break, a run of other text, or a quote inside an unquoted field (literal).
_CSV_TOKEN = re.compile(r'(?:\A|(?<=[,\r\n]))"(?:[^"]|"")*(")?|\r\n|\n|\r|[^\r\n"]+|"')
LINE_ENDINGS = {"\r\n": "CRLF", "\n": "LF", "\r": "CR"}


def header_columns(text: str) -> tuple[str, ...]:
    """Column names from the first record of ``text`` (a header line, or the start of a file,
    where a quoted name may hold a line break): trimmed, blanks named ``_c<i>``, duplicates
    suffixed ``_2``, ``_3``… (case-insensitively, as Spark resolves names)."""
    fields = next(csv.reader(io.StringIO(text, newline="")), [])
    names: list[str] = []
    seen: set[str] = set()
    for i, raw in enumerate(fields):
        name = raw.strip() or f"_c{i}"
        base, n = name, 2
        while name.lower() in seen:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
        seen.add(name.lower())
    return tuple(names)


def csv_records(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, line break)`` of each record of ``text``; the break is ``""`` for a last
    record that has none (the end of the file, or of a head cut short, maybe inside quotes)."""
    records: list[tuple[int, int, str]] = []
    start = 0
    for m in _CSV_TOKEN.finditer(text):
        token = m.group()
        if token in LINE_ENDINGS:
            records.append((start, m.start(), token))
            start = m.end()
    if start < len(text):
        records.append((start, len(text), ""))
    return records


@dataclass(frozen=True)
class CsvHead:
    """What the first bytes of one CSV file say about it."""

    path: str
    columns: tuple[str, ...]  # empty when the file holds no record at all
    line_sep: str | None  # its record separator; None when no record ends in a line break
    record_bytes: tuple[int, ...]  # sizes of the complete data records seen


def _refuse_encoding(path: str, head: bytes) -> None:
    for bom, name in _REFUSED_BOMS:
        if head.startswith(bom):
            raise JobInputError(
                f"{path}: the file is {name}; CSV input must be UTF-8 — convert it "
                "(e.g. iconv -f UTF-16 -t UTF-8) and rerun"
            )
    if b"\x00" in head:
        raise JobInputError(
            f"{path}: the file contains NUL bytes, so it is not UTF-8 text (UTF-16 without a "
            "byte-order mark, or a binary file?); CSV input must be UTF-8"
        )


def inspect_csv(spark: SparkSession, path: str, size: int | None = None) -> CsvHead:
    """Header, line ending and record sizes of one file, from its first bytes (64 KB, more when
    the header is longer).

    Refuses, naming the file, what Spark would read wrong: UTF-16/UTF-32 or NUL bytes (garbage
    text) and rows ending in different line breaks (records would merge). Leading empty lines
    are skipped, as Spark does.
    """
    want = HEAD_BYTES
    while True:
        head = read_head(spark, path, want) if size != 0 else b""
        whole = len(head) < want
        _refuse_encoding(path, head)
        text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
        records = [r for r in csv_records(text) if r[1] > r[0]]
        # A head cut short may end inside a record, or between the CR and LF of a CRLF.
        if not whole and records and records[-1][1] >= len(text) - 1 and records[-1][2] != "\n":
            records.pop()
        if records or whole:
            break
        if want >= MAX_HEADER_BYTES:
            raise JobInputError(
                f"{path}: no complete header record in its first {MAX_HEADER_BYTES >> 20} MB "
                "(an unterminated quote?)"
            )
        want *= 4
    if not records:
        return CsvHead(path, (), None, ())
    start, end, _ = records[0]
    breaks = {b for _, _, b in records if b}
    if len(breaks) > 1:
        found = " and ".join(sorted(LINE_ENDINGS[b] for b in breaks))
        raise JobInputError(
            f"{path}: its rows end with both {found} line breaks; a file must use one line "
            "ending (convert it, e.g. with dos2unix, and rerun)"
        )
    sizes = tuple(len(text[s:e].encode()) + len(b) for s, e, b in records[1:] if b)
    return CsvHead(path, header_columns(text[start:end]), next(iter(breaks), None), sizes)


@dataclass(frozen=True)
class CsvPlan:
    """CSV files grouped by header (sources differ in column order and naming)."""

    groups: dict[tuple[str, ...], list[str]]
    files: int
    total_bytes: int
    bytes_per_line: float
    line_seps: dict[str, str | None] = field(default_factory=dict)


def plan_csv(spark: SparkSession, files: Sequence[InputFile]) -> CsvPlan:
    """Reads the start of each file (see :func:`inspect_csv`): its header, its line ending, and
    record sizes to size the output. Files without a record hold no rows and are left out."""
    heads = map_in_threads(lambda f: inspect_csv(spark, f.path, f.size), list(files))
    groups: dict[tuple[str, ...], list[str]] = {}
    sizes: list[int] = []
    for head in heads:
        if head.columns:
            groups.setdefault(head.columns, []).append(head.path)
            sizes += head.record_bytes
    per_line = sum(sizes) / len(sizes) if sizes else 100.0
    return CsvPlan(
        groups,
        len(files),
        sum(f.size for f in files),
        per_line,
        {h.path: h.line_sep for h in heads if h.columns},
    )


def read_csv(
    spark: SparkSession,
    columns: Sequence[str],
    paths: list[str],
    line_seps: Mapping[str, str | None] | None = None,
) -> DataFrame:
    """Files of one header as strings: RFC 4180 quoting, quoted line breaks kept as they are in
    the file, a UTF-8 byte-order mark skipped, ``.gz`` decompressed, invalid UTF-8 bytes read as
    U+FFFD. Rows with the wrong number of fields keep their text in ``_corrupt_record``;
    ``_source_file`` names their file.

    ``line_seps`` (path → separator, from :func:`plan_csv`) saves reading the files' heads
    again. Files are grouped by line ending: Spark's parser turns a CRLF inside quotes into LF
    unless it is told the file's separator.
    """
    seps = dict(line_seps or {})
    missing = [p for p in paths if p not in seps]
    for head in map_in_threads(lambda p: inspect_csv(spark, p), missing):
        seps[head.path] = head.line_sep
    by_sep: dict[str | None, list[str]] = {}
    for p in paths:
        by_sep.setdefault(seps[p], []).append(p)
    schema = T.StructType(
        [T.StructField(c, T.StringType()) for c in columns]
        + [T.StructField(CORRUPT, T.StringType())]
    )
    frames = []
    for sep, group in by_sep.items():
        options: dict[str, Any] = {"lineSep": sep} if sep else {}
        frames.append(
            spark.read.csv(
                group,
                schema=schema,
                header=True,
                multiLine=True,
                quote='"',
                escape='"',
                encoding="UTF-8",
                mode="PERMISSIVE",
                columnNameOfCorruptRecord=CORRUPT,
                maxColumns=max(MIN_MAX_COLUMNS, 2 * len(columns) + 1),
                **options,
            ).withColumn(SOURCE_FILE, F.col("_metadata.file_path"))
        )
    return union_all(frames)


def union_all(frames: Iterable[DataFrame]) -> DataFrame:
    """Union by column name; a column missing from one input is null in its rows."""
    it = iter(frames)
    out = next(it)
    for df in it:
        out = out.unionByName(df, allowMissingColumns=True)
    return out


# --------------------------------------------------------------------------------------------
# Rejected rows
# --------------------------------------------------------------------------------------------


def write_rejected(rejected: DataFrame, path: str, text: bool = False) -> int:
    """Replace ``path`` with the rejected rows as JSON lines; returns how many were written.

    JSON keeps rows readable whatever their columns, and overwrite keeps a retried run from
    piling up copies of the same rejects. ``text``: the rows are JSON text already (one string
    column), written as they are.
    """
    counted, obs = observe_counts(rejected, "rejected_rows")
    writer = (
        counted.coalesce(1).write.mode("overwrite") if text else counted.write.mode("overwrite")
    )
    if text:
        writer.option("compression", "none").text(path)
    else:
        writer.json(path)
    return int(obs.get["rows"])


def finish_rejected(spark: SparkSession, rejected: DataFrame, path: str, expected: int) -> int:
    """Write the rejects found during the main pass, or clear stale ones when there are none.

    Rejects are usually rare, so the main write counts them (see :func:`observe_counts`) and only
    a run that has any pays for this second pass over the input.
    """
    if expected == 0:
        delete_path(spark, path)
        return 0
    return write_rejected(rejected, path)
