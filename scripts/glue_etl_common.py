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
    known = [*required, *optional, "JOB_NAME", *METRIC_ARGUMENTS]
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
    publish_run_metrics(job, summary)
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
# Run metrics: the summary's figures as CloudWatch metrics, published by the driver
# --------------------------------------------------------------------------------------------

#: Job arguments the program sets on every job so the driver knows where its metrics go.
#: Without ``--METRICS_NAMESPACE`` (a local run) nothing is published.
METRIC_ARGUMENTS = ("METRICS_NAMESPACE", "PIPELINE", "ENVIRONMENT")
METRIC_DIMENSIONS = ("pipeline", "environment", "job")
#: The metric names alarms and the dashboard read; the same names in lib/observability.ts.
METRIC_UNITS = {
    "RowsRead": "Count",
    "RowsWritten": "Count",
    "RowsRejected": "Count",
    "RejectedShare": "Percent",
    "InputBytes": "Bytes",
    "RunSeconds": "Seconds",
    "RunsCompleted": "Count",
}
_IMPORTED = time.monotonic()


@dataclass(frozen=True)
class MetricTarget:
    """Where a run's metrics go: a namespace and the dimensions of every datum."""

    namespace: str
    dimensions: tuple[tuple[str, str], ...]


def _argv_value(argv: Sequence[str], name: str) -> str | None:
    flag = f"--{name}"
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(flag + "="):
            return a[len(flag) + 1 :]
    return None


def metric_target(argv: Sequence[str], job: str) -> MetricTarget | None:
    """The run's metric namespace and dimensions from its arguments; None when not asked for.

    The ``job`` dimension is Glue's ``--JOB_NAME`` (what the alarms name), else ``job``.
    Raises JobInputError when a namespace is given without what the dimensions need.
    """
    namespace = _argv_value(argv, "METRICS_NAMESPACE")
    if not namespace:
        return None
    if len(namespace) > 255 or namespace.startswith("AWS/") or not namespace.isprintable():
        raise JobInputError(
            f"--METRICS_NAMESPACE {namespace!r}: allowed: 1-255 printable characters, "
            "not starting with AWS/"
        )
    values = {
        "pipeline": _argv_value(argv, "PIPELINE"),
        "environment": _argv_value(argv, "ENVIRONMENT"),
        "job": _argv_value(argv, "JOB_NAME") or job,
    }
    missing = [f"--{n.upper()}" for n, v in values.items() if not v]
    if missing:
        raise JobInputError(
            f"--METRICS_NAMESPACE is given but {', '.join(missing)} is not; the metrics' "
            "dimensions need it"
        )
    return MetricTarget(namespace, tuple((n, str(values[n])) for n in METRIC_DIMENSIONS))


def run_metrics(summary: Mapping[str, Any], input_bytes: int | None) -> dict[str, float]:
    """The metric values of one run from its summary. Pure.

    RejectedShare is rejected / read in percent, left out when nothing was read (no share to
    judge). RunsCompleted is 1 for a run whose counts reconcile, the run the late-data alarm
    waits for.
    """
    read = int(summary.get("read", 0))
    rejected = int(summary.get("rejected", 0))
    values: dict[str, float] = {
        "RowsRead": float(read),
        "RowsWritten": float(int(summary.get("written", 0))),
        "RowsRejected": float(rejected),
    }
    if read > 0:
        values["RejectedShare"] = round(100.0 * rejected / read, 4)
    if input_bytes is not None:
        values["InputBytes"] = float(input_bytes)
    seconds = summary.get("seconds")
    values["RunSeconds"] = float(
        seconds if isinstance(seconds, int | float) else time.monotonic() - _IMPORTED
    )
    if summary.get("reconciled"):
        values["RunsCompleted"] = 1.0
    return values


def spark_input_bytes() -> int | None:
    """Bytes the run's Spark stages read from storage (their input metrics), from the driver's
    status store; a file read twice counts twice. None when there is no SparkContext."""
    from pyspark import SparkContext

    sc = SparkContext._active_spark_context  # type: ignore[attr-defined]
    if sc is None:
        return None
    gateway = sc._gateway  # type: ignore[attr-defined]
    store = sc._jsc.sc().statusStore()  # type: ignore[attr-defined]
    stages = store.stageList(None, False, False, gateway.new_array(gateway.jvm.double, 0), None)
    total, it = 0, stages.iterator()
    while it.hasNext():
        total += int(it.next().inputBytes())
    return total


def publish_metrics(target: MetricTarget, values: Mapping[str, float], client: Any = None) -> None:
    """One PutMetricData call (the standard-resolution limit is 1000 datums per call)."""
    if client is None:
        import boto3
        from botocore.config import Config

        # Short timeouts: a run whose network cannot reach CloudWatch must not hang at its end.
        client = boto3.client(
            "cloudwatch",
            config=Config(
                connect_timeout=5, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"}
            ),
        )
    dims = [{"Name": n, "Value": v} for n, v in target.dimensions]
    client.put_metric_data(
        Namespace=target.namespace,
        MetricData=[
            {"MetricName": name, "Dimensions": dims, "Value": value, "Unit": METRIC_UNITS[name]}
            for name, value in values.items()
        ],
    )


def publish_run_metrics(
    job: str, summary: Mapping[str, Any], argv: Sequence[str] | None = None
) -> dict[str, float] | None:
    """Publish the run's metrics when its arguments ask for it; returns what was published.

    A failure is logged and swallowed: the rows are written and the summary line is out, so
    losing the metrics must not fail the run or hide its result.
    """
    try:
        target = metric_target(sys.argv if argv is None else argv, job)
        if target is None:
            return None
        explicit = summary.get("input_bytes")
        input_bytes = int(explicit) if isinstance(explicit, int) else spark_input_bytes()
        values = run_metrics(summary, input_bytes)
        publish_metrics(target, values)
    except Exception as e:  # noqa: BLE001 - any failure here must leave the run's result alone
        message = (
            f"run metrics NOT published ({type(e).__name__}: {e}); the run's result is unaffected "
            f"and its {SUMMARY_MARKER} line holds the same figures. Check the job role's "
            "cloudwatch:PutMetricData permission and the network path to CloudWatch."
        )
        print(f"WARNING {message}", file=sys.stderr, flush=True)
        log.warning(message)
        return None
    log.info("run metrics published to %s: %s", target.namespace, values)
    return values


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
# --------------------------------------------------------------------------------------------


def header_columns(first_line: str) -> tuple[str, ...]:
    """Column names from a header line: trimmed, blanks named ``_c<i>``, duplicates suffixed."""
    fields = next(csv.reader(io.StringIO(first_line)), [])
    names: list[str] = []
    for i, raw in enumerate(fields):
        name = raw.strip() or f"_c{i}"
        base, n = name, 2
        while name.lower() in (x.lower() for x in names):
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return tuple(names)


@dataclass(frozen=True)
class CsvPlan:
    """CSV files grouped by header (sources differ in column order and naming)."""

    groups: dict[tuple[str, ...], list[str]]
    files: int
    total_bytes: int
    bytes_per_line: float


def plan_csv(spark: SparkSession, files: Sequence[InputFile]) -> CsvPlan:
    """Reads the first 64 KB of each file: its header, and line lengths to size the output.

    Empty files and files without a header line hold no rows and are left out.
    """
    groups: dict[tuple[str, ...], list[str]] = {}
    lengths: list[int] = []
    heads = map_in_threads(
        lambda f: read_head(spark, f.path, 64 * 1024) if f.size else b"", list(files)
    )
    for f, head in zip(files, heads, strict=True):
        lines = head.decode("utf-8-sig", errors="replace").splitlines()
        if not lines or not lines[0].strip():
            continue
        groups.setdefault(header_columns(lines[0]), []).append(f.path)
        # The last line of the head may be cut short.
        lengths += [len(ln.encode()) + 1 for ln in lines[1:-1] if ln]
    per_line = sum(lengths) / len(lengths) if lengths else 100.0
    return CsvPlan(groups, len(files), sum(f.size for f in files), per_line)


def read_csv(spark: SparkSession, columns: Sequence[str], paths: list[str]) -> DataFrame:
    """Files of one header as strings, RFC 4180 quoting, LF or CRLF. Rows with the wrong number
    of fields keep their text in ``_corrupt_record``; ``_source_file`` names their file."""
    schema = T.StructType(
        [T.StructField(c, T.StringType()) for c in columns]
        + [T.StructField(CORRUPT, T.StringType())]
    )
    return spark.read.csv(
        paths,
        schema=schema,
        header=True,
        quote='"',
        escape='"',
        mode="PERMISSIVE",
        columnNameOfCorruptRecord=CORRUPT,
    ).withColumn(SOURCE_FILE, F.col("_metadata.file_path"))


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


def write_rejected(rejected: DataFrame, path: str) -> int:
    """Replace ``path`` with the rejected rows as JSON lines; returns how many were written.

    JSON keeps rows readable whatever their columns, and overwrite keeps a retried run from
    piling up copies of the same rejects.
    """
    counted, obs = observe_counts(rejected, "rejected_rows")
    counted.write.mode("overwrite").json(path)
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
