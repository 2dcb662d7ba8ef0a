"""Code every glue-etl job script shares.

Shipped to Glue with ``--extra-py-files`` so each script can ``import glue_etl_common``. It holds
the argument parsing (Glue's ``getResolvedOptions`` on Glue, a strict parser on a laptop), the
Spark/Glue bootstrap, the ``ETL_SUMMARY`` line, rejected-row writing and the few Hadoop
FileSystem calls the scripts need. ``awsglue`` is imported lazily, only inside :func:`start_job`
and :func:`parse_args`, so tests import the scripts with plain PySpark.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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

# Each script's arguments as its pipeline declares them: what main() parses, on Glue and locally.
# BEGIN GENERATED CONTRACTS
# From the pipeline declarations (pipelines/*.ts) by `npm run contracts`; do not edit.
CONTRACTS: dict[str, Any] = json.loads(r"""
{
  "reservedArguments": [
    "JOB_NAME",
    "JOB_ID",
    "JOB_RUN_ID"
  ],
  "metricArguments": [
    "METRICS_NAMESPACE",
    "PIPELINE",
    "ENVIRONMENT"
  ],
  "scripts": {
    "genomics_csv_to_parquet": {
      "pipeline": "genomics",
      "required": [
        "INPUT_PATH",
        "OUTPUT_PATH"
      ],
      "optional": {
        "REJECTED_PATH": null,
        "ENGINE": null
      }
    },
    "table_splitter": {
      "pipeline": "splitter",
      "required": [
        "OUTPUT_PATH"
      ],
      "optional": {
        "DATABASE_NAME": null,
        "TABLE_NAME": null,
        "INPUT_PATH": null,
        "ID_COLUMN": null,
        "MAX_IN_FLIGHT": null,
        "S3_ENDPOINT_URL": null,
        "REJECTED_PATH": null
      }
    },
    "ndjson_manifest_to_parquet": {
      "pipeline": "manifest",
      "required": [
        "MANIFEST_PATH",
        "OUTPUT_PATH"
      ],
      "optional": {
        "REJECTED_PATH": null,
        "TARGET_FILE_MB": null,
        "COLUMNS": null,
        "ENGINE": null
      }
    },
    "sales_raw_to_processed": {
      "pipeline": "sales",
      "required": [
        "INPUT_PATH",
        "OUTPUT_PATH"
      ],
      "optional": {
        "INPUT_FORMAT": null,
        "TIMESTAMP_COLUMN": null,
        "AMOUNT_COLUMN": null,
        "REJECTED_PATH": null,
        "ENGINE": null
      }
    },
    "regex_tagging": {
      "pipeline": "tagging",
      "required": [
        "INPUT_PATH",
        "RULES_PATH"
      ],
      "optional": {
        "OUTPUT_PATH": null,
        "JDBC_CONNECTION_NAME": null,
        "JDBC_URL": null,
        "JDBC_TABLE": null,
        "TAGS_COLUMN": "tags",
        "REJECTED_PATH": null
      }
    }
  }
}
""")
# END GENERATED CONTRACTS

#: Where the run metrics go; the job component passes them to every job. Without
#: ``--METRICS_NAMESPACE`` (a local run) nothing is published.
METRIC_ARGUMENTS: tuple[str, ...] = tuple(CONTRACTS["metricArguments"])


def job_args(argv: Sequence[str], job: str) -> dict[str, str | None]:
    """Resolve the arguments of script ``job`` (its file name without ``.py``) by its contract."""
    contract = CONTRACTS["scripts"].get(job)
    if contract is None:
        raise JobInputError(
            f"no argument contract for script {job!r}; declare its pipeline under pipelines/ "
            "and run npm run contracts"
        )
    return parse_args(argv, contract["required"], contract["optional"])


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
    known = [*required, *optional, *CONTRACTS["reservedArguments"], *METRIC_ARGUMENTS]
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


LOCAL_DRIVER_MEMORY = "4g"


def local_spark(app_name: str, master: str | None = None) -> SparkSession:
    """A SparkSession for runs outside Glue, set up like the Glue 5.0 runtime where it matters."""
    # Python workers must run the interpreter that has this project's packages (boto3).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master or os.environ.get("SPARK_MASTER", "local[*]"))
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        # Spark's local default is a 1 GB heap for the whole job (Glue's driver and executors
        # have several GB): partitioned Parquet writers then spend their time collecting garbage.
        # Only read when this call starts the JVM.
        .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", LOCAL_DRIVER_MEMORY))
    )
    if _debug_log_file:
        # Spark's own console logging (task failures print Java stack traces) goes to the debug
        # log instead of stderr; the JVM reads this only when it starts.
        options = f"-Dlog4j2.configurationFile={_spark_log_config(_debug_log_file)}"
        builder = builder.config("spark.driver.extraJavaOptions", options)
    spark = builder.getOrCreate()
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
    """Entry point of every job: any failure ends with one ``error: ...`` line on stderr.

    Input errors exit 2 with their message; known environment failures (missing paths and
    buckets, unreachable endpoints, credentials, bad encodings, bad JSON) get a line naming the
    resource and what to do (see :func:`explain_failure`); anything else names its type and the
    debug log. The full Python and Java traceback goes to that debug log, never to stderr.
    """
    job = os.path.splitext(os.path.basename(sys.argv[0] or "job"))[0] or "job"
    where = start_debug_log(job)
    try:
        main(sys.argv)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr, flush=True)
        raise SystemExit(130) from None
    except BaseException as e:  # noqa: BLE001 - the one place that turns failures into a line
        debug_log.error("run failed:\n%s", _traceback_text(e))
        message, code = explain_failure(e, where)
        print(f"error: {message}", file=sys.stderr, flush=True)
        raise SystemExit(code) from None


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

    def finish(self, spark: SparkSession, path: str, run_id: str) -> dict[str, int]:
        """read / written / rejected, after replacing ``path`` with the rejected rows (JSON
        lines, staged then published; stale rejects of an earlier run are cleared when there are
        none)."""
        seen = self._all.get
        rejects = json.loads(seen["rejects"] or "[]")
        if len(rejects) != int(seen["rejected"]):
            raise RuntimeError(
                f"gathered {len(rejects)} rejected rows but counted {seen['rejected']}"
            )
        return {
            "read": int(seen["rows"]),
            "written": int(self._written.get["rows"]),
            "rejected": publish_rejects(spark, rejects, path, run_id),
        }


def publish_rejects(
    spark: SparkSession, rejects: Sequence[Mapping[str, Any]], path: str, run_id: str
) -> int:
    """Replace ``path`` with ``rejects`` as JSON lines (staged, then published), or clear stale
    rejects of an earlier run when there are none; returns how many were written."""
    return publish_reject_lines(spark, [json_line(r) for r in rejects], path, run_id)


def publish_reject_lines(spark: SparkSession, lines: Sequence[str], path: str, run_id: str) -> int:
    """:func:`publish_rejects` of rows already written as JSON lines."""
    if not lines:
        delete_path(spark, path)
        return 0
    staging = staging_path(path, run_id)
    if not _write_lines_with_arrow(spark, lines, staging, f"part-00000-{run_id}.json"):
        frame = spark.createDataFrame([(line,) for line in lines], "value string")
        if write_rejected(frame, staging, text=True) != len(lines):
            raise RuntimeError(f"wrote a different number of rejected rows than {len(lines)}")
    publish(spark, staging, path)
    return len(lines)


#: What Spark's JSON writer (Jackson) escapes in a string, and how: control characters as
#: ``\u00XX`` in upper case, the five with a short form as that, quote and backslash.
JACKSON_ESCAPES = {c: f"\\u{c:04X}" for c in range(0x20)} | {
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}


def json_line(row: Mapping[str, Any]) -> str:
    """A row as one line of JSON, as the rejects are written."""
    text = json.dumps(row, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: escaped, so the line stays valid UTF-8
        text = json.dumps(row)
    return text


def _write_lines_with_arrow(
    spark: SparkSession, lines: Sequence[str], folder: str, name: str
) -> bool:
    """Writes ``lines`` as one file in ``folder`` through Arrow's file systems, without a Spark
    job (a second or more on a cold session); False where Arrow cannot write there."""
    if arrow_available() is not None or arrow_refuses([folder]) is not None:
        return False
    try:
        filesystem, inner = arrow_filesystem(folder)
        inner = inner.rstrip("/")
        filesystem.create_dir(inner, recursive=True)
        with filesystem.open_output_stream(f"{inner}/{name}") as out:
            out.write("".join(line + "\n" for line in lines).encode("utf-8"))
    except OSError:
        # Arrow's own S3 client could not write where Spark's may (Hadoop's credentials).
        delete_path(spark, folder)
        return False
    return True


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


@dataclass
class _Hadoop:
    """Hadoop's Path class, configuration and file systems of one SparkContext, looked up once:
    each lookup is a round trip to the JVM (``jvm.org.apache.hadoop.fs.Path`` alone is five),
    and publishing a year of dates made thousands of them."""

    context: Any
    path_class: Any
    conf: Any
    filesystems: dict[tuple[str, str], Any] = field(default_factory=dict)


_hadoop: list[_Hadoop] = []


def _jvm_path(spark: SparkSession, path: str) -> tuple[Any, Any]:
    from urllib.parse import urlsplit

    sc = spark.sparkContext
    if not _hadoop or _hadoop[0].context is not sc:
        jvm = sc._jvm  # type: ignore[attr-defined]
        conf = sc._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
        _hadoop[:] = [_Hadoop(sc, jvm.org.apache.hadoop.fs.Path, conf)]
    hadoop = _hadoop[0]
    hpath = hadoop.path_class(path)
    parts = urlsplit(path)
    key = (parts.scheme, parts.netloc)
    filesystem = hadoop.filesystems.get(key)
    if filesystem is None:
        filesystem = hadoop.filesystems[key] = hpath.getFileSystem(hadoop.conf)
    return filesystem, hpath


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
    source_file: bool = True,
) -> DataFrame:
    """Files of one header as strings: RFC 4180 quoting, quoted line breaks kept as they are in
    the file, a UTF-8 byte-order mark skipped, ``.gz`` decompressed, invalid UTF-8 bytes read as
    U+FFFD. Rows with the wrong number of fields keep their text in ``_corrupt_record``;
    ``_source_file`` names their file unless ``source_file`` is false (a caller that needs the
    name for a few rows only takes :func:`input_file` where it needs it).

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
            )
        )
        if source_file:
            frames[-1] = frames[-1].withColumn(SOURCE_FILE, F.col("_metadata.file_path"))
    return union_all(frames)


def input_file() -> Column:
    """The file the current row was read from, for rows that need it (rejects).

    Wrap it in ``F.when(rare, input_file())`` before any shuffle (it is empty after one): Spark
    evaluates a CASE branch only for rows that take it, while the ``_metadata.file_path`` column
    is built for every row, which cost a third of the CSV parse on short rows.
    """
    return F.input_file_name()


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


# --------------------------------------------------------------------------------------------
# Atomic outputs: write to a hidden staging folder, then swap it in by renames
# --------------------------------------------------------------------------------------------
#
# A reader of a destination sees the previous complete output or the new complete output. The
# job writes into ``<parent>/_staging.<name>.<run>/`` (hidden: Spark, Athena and crawlers skip
# names starting with ``_``), then :func:`publish` swaps it in:
#
#   1. rename ``dest`` -> ``<parent>/_previous.<name>.<run>``   (old output kept aside, complete)
#   2. rename staging -> ``dest``                              (new output in place)
#   3. delete ``_previous.<name>.<run>``
#
# A kill before 1 leaves the old output; between 1 and 2 ``dest`` is missing but its complete
# ``_previous`` sibling is there, and :func:`recover` (the first thing the next run does) renames
# it back; after 2 the new output is in place and recovery only deletes leftovers. Renames are
# atomic on local disks and HDFS. On S3 a rename is a copy then a delete, file by file: during
# that window a reader of ``dest`` can see it empty or partly copied, and a kill inside it can
# leave ``dest`` incomplete. See docs/outputs.md. One run per destination at a time: recovery
# removes every staging folder of its destination.

STAGING_PREFIX = "_staging."
PREVIOUS_PREFIX = "_previous."


def new_run_id() -> str:
    """Sortable and unique enough for one destination: UTC time plus random hex."""
    import uuid

    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:8]


def _split(path: str) -> tuple[str, str]:
    """(parent, name) of a folder path, with or without a trailing slash."""
    trimmed = path.rstrip("/")
    parent, _, name = trimmed.rpartition("/")
    if not name or not parent or parent.endswith((":", ":/")):
        raise JobInputError(
            f"output path {path!r} must be a folder below a parent folder (not a bucket root)"
        )
    return parent, name


def staging_path(dest: str, run_id: str) -> str:
    """Where a run writes before :func:`publish`: ``<parent>/_staging.<name>.<run>/``, hidden."""
    if not run_id or any(c in run_id for c in "./ "):
        raise ValueError(f"run id {run_id!r} must be non-empty, without '.', '/' or spaces")
    parent, name = _split(dest)
    return join_path(parent, f"{STAGING_PREFIX}{_hide(name)}.{run_id}")


def _previous_path(dest: str, run_id: str) -> str:
    parent, name = _split(dest)
    return join_path(parent, f"{PREVIOUS_PREFIX}{_hide(name)}.{run_id}")


def _hide(name: str) -> str:
    # Spark's partition discovery reads "_" folders whose name has "=" (they might be partitions),
    # so a partition's staging and previous folders carry its name with "=" escaped.
    return name.replace("%", "%25").replace("=", "%3D")


# Every change to storage goes through these two, so tests can interrupt a publish at any step.
def _rename(spark: SparkSession, src: str, dst: str) -> None:
    fs, hsrc = _jvm_path(spark, src)
    _, hdst = _jvm_path(spark, dst)
    fs.mkdirs(hdst.getParent())
    if not fs.rename(hsrc, hdst):
        raise OSError(f"could not rename {src} to {dst}")


def _delete(spark: SparkSession, path: str) -> None:
    delete_path(spark, path)


def _exists(spark: SparkSession, path: str) -> bool:
    fs, hpath = _jvm_path(spark, path)
    return bool(fs.exists(hpath))


def _run_of(staging: str) -> str:
    name = _split(staging)[1]
    if not name.startswith(STAGING_PREFIX):
        raise ValueError(f"{staging!r} is not a staging folder from staging_path()")
    return name.rsplit(".", 1)[1]


def publish(spark: SparkSession, staging: str, dest: str) -> None:
    """Replace the whole folder ``dest`` with ``staging`` (see the section comment for the steps).

    ``staging`` must come from :func:`staging_path` for this ``dest``; it is gone afterwards.
    """
    run_id = _run_of(staging)
    previous = _previous_path(dest, run_id)
    had_old = _exists(spark, dest)
    if had_old:
        _rename(spark, dest, previous)
    _rename(spark, staging, dest)
    if had_old:
        _delete(spark, previous)


def _children(spark: SparkSession, path: str) -> list[Any]:
    fs, hpath = _jvm_path(spark, path)
    if not fs.exists(hpath):
        return []
    return list(fs.listStatus(hpath))


def _leaf_partitions(spark: SparkSession, root: str, rel: str = "") -> list[str]:
    """Relative paths (``a=1/b=2``) of the deepest ``key=value`` folders below ``root``."""
    found: list[str] = []
    for st in _children(spark, join_path(root, rel) if rel else root):
        name = st.getPath().getName()
        if not st.isDirectory() or name.startswith(("_", ".")) or "=" not in name:
            continue
        sub = f"{rel}/{name}" if rel else name
        deeper = _leaf_partitions(spark, root, sub)
        found += deeper or [sub]
    return found


def publish_partitions(spark: SparkSession, staging: str, dest: str) -> list[str]:
    """Replace, in the ``key=value/`` partitioned ``dest``, only the partitions ``staging`` holds.

    Each partition is swapped like :func:`publish` (its ``_previous``/``_staging`` siblings live
    beside it), so a reader sees each partition old or new; partitions not in ``staging`` stay
    untouched. Returns the partitions replaced. ``staging`` is gone afterwards.
    """
    run_id = _run_of(staging)
    parts = _leaf_partitions(spark, staging)

    def swap(rel: str) -> None:
        target = join_path(dest, rel)
        part_staging = staging_path(target, run_id)
        # Move the partition beside its target first: the swap itself is then the same as publish.
        _rename(spark, join_path(staging, rel), part_staging)
        publish(spark, part_staging, target)

    # Partitions are independent (recovery repairs each on its own), so their renames overlap:
    # a run over a year of dates waited for 1,000 sequential rounds of file system calls (a copy
    # each on S3).
    map_in_threads(swap, parts)
    _delete(spark, staging)
    return parts


def _latest(statuses: list[Any]) -> Any:
    return max(statuses, key=lambda st: (st.getModificationTime(), st.getPath().getName()))


def _recover_folder(spark: SparkSession, dest: str, done: dict[str, list[str]]) -> None:
    parent, name = _split(dest)
    staged: list[Any] = []
    previous: list[Any] = []
    for st in _children(spark, parent):
        child = st.getPath().getName()
        # Exact name match: "_staging.sales.v2.<run>" belongs to "sales.v2", not to "sales".
        if _hidden_of(child, STAGING_PREFIX) == name:
            staged.append(st)
        elif _hidden_of(child, PREVIOUS_PREFIX) == name:
            previous.append(st)
    if previous and not _exists(spark, dest):
        keep = _latest(previous)
        _rename(spark, keep.getPath().toString(), dest)
        done["restored"].append(dest.rstrip("/"))
        previous.remove(keep)
    for st in staged + previous:
        _delete(spark, st.getPath().toString())
        done["removed"].append(st.getPath().toString())


def _hidden_of(child: str, prefix: str) -> str | None:
    """The folder name a ``<prefix><name>.<run>`` entry stands for, else None."""
    from urllib.parse import unquote

    if not child.startswith(prefix) or "." not in child[len(prefix) :]:
        return None
    return unquote(child[len(prefix) :].rsplit(".", 1)[0])


def _hidden_partitions(spark: SparkSession, folder: str, rel: str = "") -> set[str]:
    """Partition paths named by ``_staging.``/``_previous.`` folders anywhere below ``folder``."""
    found: set[str] = set()
    for st in _children(spark, join_path(folder, rel) if rel else folder):
        name = st.getPath().getName()
        if not st.isDirectory():
            continue
        for prefix in (STAGING_PREFIX, PREVIOUS_PREFIX):
            part = _hidden_of(name, prefix)
            if part:
                found.add(f"{rel}/{part}" if rel else part)
        if "=" in name and not name.startswith(("_", ".")):
            found |= _hidden_partitions(spark, folder, f"{rel}/{name}" if rel else name)
    return found


def recover(spark: SparkSession, dest: str) -> dict[str, list[str]]:
    """Undo what a killed run left at ``dest``; call it before writing.

    A folder (``dest`` or one of its partitions) that is missing while a ``_previous`` copy sits
    beside it gets that copy back; every leftover ``_staging.*``/``_previous.*`` of ``dest`` and
    of its partitions is deleted. Returns ``{"restored": [...], "removed": [...]}``.
    """
    done: dict[str, list[str]] = {"restored": [], "removed": []}
    _recover_folder(spark, dest, done)
    if _exists(spark, dest):
        for rel in sorted(_hidden_partitions(spark, dest)):
            _recover_folder(spark, join_path(dest, rel), done)
    return done


# --------------------------------------------------------------------------------------------
# Failures for people: one line on stderr, the details in a debug log
# --------------------------------------------------------------------------------------------

debug_log = logging.getLogger("glue_etl.debug")
_debug_log_file: str | None = None


def start_debug_log(job: str) -> str:
    """Send tracebacks (and py4j's and, locally, Spark's logs) to a debug log; says where.

    Locally a file in the system temp folder named after the job and run; on Glue, stdout, which
    Glue sends to the job's CloudWatch output log.
    """
    global _debug_log_file
    import tempfile

    handler: logging.Handler
    if glue_available():
        handler, where = logging.StreamHandler(sys.stdout), "the job run's CloudWatch output log"
    else:
        where = os.path.join(tempfile.gettempdir(), f"glue-etl-{job}-{new_run_id()}.log")
        handler, _debug_log_file = logging.FileHandler(where, encoding="utf-8"), where
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("glue_etl.debug", "py4j"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO if name == "py4j" else logging.DEBUG)
    return where


def _spark_log_config(log_file: str) -> str:
    """A log4j2 configuration writing WARN and above to ``log_file`` and nothing to the console."""
    path = log_file + ".log4j2.properties"
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            "\n".join(
                [
                    "rootLogger.level = warn",
                    "rootLogger.appenderRef.file.ref = file",
                    "appender.file.type = File",
                    "appender.file.name = file",
                    f"appender.file.fileName = {log_file}",
                    "appender.file.append = true",
                    "appender.file.layout.type = PatternLayout",
                    "appender.file.layout.pattern = %d{ISO8601} %p %c: %m%n%ex",
                    "",
                ]
            )
        )
    return "file:" + path


@contextmanager
def about(resource: str) -> Iterator[None]:
    """Name the file or resource being handled in any error raised inside (e.g. a manifest)."""
    try:
        yield
    except Exception as e:
        e.add_note(resource)
        raise


def _safe_str(e: BaseException) -> str:
    # A Py4JJavaError asks the JVM for its text, which fails once the JVM is gone.
    try:
        return str(e)
    except Exception:  # noqa: BLE001
        return type(e).__name__


def _traceback_text(e: BaseException) -> str:
    import traceback

    try:
        return "".join(traceback.format_exception(e))
    except Exception:  # noqa: BLE001
        return "".join(traceback.format_tb(e.__traceback__)) + _safe_str(e)


def _chain(e: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    cur: BaseException | None = e
    while cur is not None and cur not in out:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


_JAVA_ERROR = re.compile(r"^(?:Caused by: |: )?((?:[a-z_$][\w$]*\.)+[A-Z][\w$]*): ?(.*)$", re.M)
_S3_PATH = re.compile(r"\bs3a?://[^\s'\",;)]+")


def _first_line(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= 200 else line[:197] + "..."


def explain_failure(e: BaseException, where: str = "the debug log") -> tuple[str, int]:
    """One line for a failure (what failed, on what, what to do) and the exit code.

    2 when the user's input or arguments must change, 1 for the environment or an unknown
    failure. Recognises Python, botocore, Spark and Java (through py4j) exceptions by type and
    text, anywhere in the chain of causes.
    """
    chain = _chain(e)
    text = "\n".join(f"{type(x).__name__}: {_safe_str(x)}" for x in chain)
    notes = [n for x in chain for n in getattr(x, "__notes__", [])]
    named = f"{notes[-1]}: " if notes else ""

    def first(pattern: str) -> str | None:
        m = re.search(pattern, text)
        return m.group(1).rstrip(".") if m else None

    for x in chain:
        if isinstance(x, JobInputError):
            return str(x), 2
        if isinstance(x, UnicodeDecodeError):
            return (
                f"{named or 'input: '}not valid {x.encoding} text (byte {x.start}: {x.reason}); "
                f"save it as {x.encoding}",
                2,
            )
        if isinstance(x, json.JSONDecodeError):
            return (
                f"{named or 'input: '}not valid JSON ({x.msg} at line {x.lineno} column "
                f"{x.colno}); fix the file",
                2,
            )
        if isinstance(x, FileNotFoundError) and x.filename:
            return f"{named}file not found: {x.filename}; check the path arguments", 2
        if isinstance(x, MemoryError):
            return "out of memory; use a larger worker type or more workers", 1
    code = _error_code(chain)
    s3 = _S3_PATH.search(text)
    if code == "NoSuchBucket" or "NoSuchBucket" in text or "UnknownStoreException" in text:
        bucket = _bucket_of(chain) or first(r"[Bb]ucket[^a-z0-9]{1,3}([a-z0-9][a-z0-9.\-]+)")
        return (
            f"{named}S3 bucket {bucket or '(in the path arguments)'} does not exist; check the "
            "bucket name in the path arguments and the region",
            2,
        )
    if re.search(
        r"NoCredentialsError|Unable to locate credentials|NoAuthWithAWSException|"
        r"Unable to load AWS credentials",
        text,
    ):
        return (
            f"{named}no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (on Glue: check the job's IAM role)",
            1,
        )
    if code in ("AccessDenied", "AccessDeniedException", "403") or "AccessDeniedException" in text:
        target = s3.group(0) if s3 else "the resource"
        return f"{named}access denied to {target}; give the job's IAM role access to it", 1
    endpoint = first(r"Could not connect to the endpoint URL: \"?([^\"\s]+)")
    if endpoint:
        return f"{named}cannot reach {endpoint}; check the endpoint URL, region and network", 1
    host = first(r"UnknownHostException: ([^\s:]+)")
    if host:
        return f"{named}cannot resolve host {host}; check the endpoint or bucket name and DNS", 1
    if re.search(r"ConnectException|Connection refused|ConnectionRefusedError", text):
        target = first(r"to ([\w.\-]+:\d+) failed") or first(r"\(('?[\w.\-]+'?, \d+)\)")
        return (
            f"{named}connection refused{' by ' + target if target else ''}; check that the "
            "endpoint is running and reachable",
            1,
        )
    missing = (
        first(r"Path does not exist: (\S+)")
        or first(r"FileNotFoundException: (?:File )?(\S+?)(?: does not exist|$)")
        or first(r"No such file or directory: (\S+)")
    )
    if missing:
        return f"{named}path not found: {missing}; check the path arguments", 2
    if "OutOfMemoryError" in text:
        return "out of memory; use a larger worker type or more workers", 1
    kind, msg = type(e).__name__, _first_line(_safe_str(e))
    java = _JAVA_ERROR.search(_safe_str(e)) if kind == "Py4JJavaError" else None
    if java:
        kind, msg = java.group(1), _first_line(java.group(2))
    return f"{named}unexpected failure: {kind}: {msg}; details in {where}", 1


def _error_code(chain: Sequence[BaseException]) -> str | None:
    for x in chain:
        response = getattr(x, "response", None)
        if isinstance(response, dict):
            return str(response.get("Error", {}).get("Code") or "") or None
    return None


def _bucket_of(chain: Sequence[BaseException]) -> str | None:
    for x in chain:
        response = getattr(x, "response", None)
        if isinstance(response, dict) and response.get("Error", {}).get("BucketName"):
            return str(response["Error"]["BucketName"])
    return None


# --------------------------------------------------------------------------------------------
# Arrow in the job: engines that read and write with pyarrow beside Spark
# --------------------------------------------------------------------------------------------

#: The oldest pyarrow whose CSV reader, compute kernels and dataset writer the engines use.
ARROW_MIN_VERSION = (10, 0)


#: How much larger than its ``.gz`` a text file is counted (CSV and JSON compress 4-6 times).
GZIP_EXPANSION = 6


def text_bytes(f: InputFile) -> int:
    """About how many bytes of text a listed file holds once decompressed."""
    return f.size * (GZIP_EXPANSION if f.path.lower().endswith(".gz") else 1)


class ArrowFallback(Exception):
    """Input an Arrow engine would read differently from Spark's parser; the run goes to the
    Spark engine instead (the message says why)."""


def arrow_filesystem(path: str) -> tuple[Any, str]:
    """(pyarrow file system, path in it) for a local or ``s3://`` path (as Hadoop lists it:
    ``file:/…`` or a bare path; ``s3://bucket/key``); ArrowFallback for any other scheme, whose
    credentials and endpoint live in the Hadoop configuration."""
    from pyarrow import fs

    if path.startswith("file:"):
        local = path[len("file:") :]
        return fs.LocalFileSystem(), local[2:] if local.startswith("///") else local
    if "://" not in path:
        return fs.LocalFileSystem(), path
    if path.startswith("s3://"):
        inner = path[len("s3://") :]
        return _s3_filesystem(inner.split("/", 1)[0]), inner
    raise ArrowFallback(str(arrow_refuses([path])))


def arrow_refuses(paths: Iterable[str]) -> str | None:
    """Why an Arrow engine cannot read or write one of ``paths`` (a scheme other than local and
    ``s3://``), or None."""
    other = next((p for p in paths if "://" in p and not p.startswith("s3://")), None)
    if other is None:
        return None
    return f"the Arrow engines read local and s3:// paths, not {other.split('://', 1)[0]}://"


def arrow_open(path: str) -> Any:
    """An input stream of a local or ``s3://`` file, decompressed when its name ends in .gz."""
    filesystem, inner = arrow_filesystem(path)
    gzip = "gzip" if path.lower().endswith(".gz") else None
    return filesystem.open_input_stream(inner, compression=gzip)


def forget_s3_clients() -> None:
    """Drops the S3 clients made so far (a forked process makes its own)."""
    _s3_filesystem.cache_clear()


@functools.cache
def _s3_filesystem(bucket: str) -> Any:
    """One S3 client per bucket, in the bucket's region (the AWS SDK's default credentials)."""
    from pyarrow import fs

    return fs.FileSystem.from_uri(f"s3://{bucket}/")[0]


def arrow_available(numpy: bool = False) -> str | None:
    """Why an Arrow engine cannot run here, or None; ``numpy``: the engine needs NumPy too."""
    try:
        import pyarrow
    except ImportError:
        return "pyarrow is not installed"
    version = tuple(int(p) for p in pyarrow.__version__.split(".")[:2])
    if version < ARROW_MIN_VERSION:
        return f"pyarrow {pyarrow.__version__} is older than {ARROW_MIN_VERSION[0]}"
    if numpy:
        try:
            import numpy as _  # noqa: F401
        except ImportError:
            return "numpy is not installed"
    return None


def arrow_csv_bytes(path: str) -> Any:
    """The file's bytes, decompressed, without a UTF-8 byte-order mark."""
    import pyarrow as pa

    with arrow_open(path) as stream:
        data = stream.read()
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    return pa.py_buffer(data)[start:]


def _foreign_breaks(
    path: str, counts: tuple[int, int, int], line_sep: str | None
) -> tuple[int, int]:
    """Of (CRs, LFs, CRLFs) in a file or its values, the line breaks Arrow's parser would end a
    row at (it ends one at any of CR, LF and CRLF) and Spark's, told ``line_sep``, would not:
    (CRs, LFs) apart from the file's own. ArrowFallback for a file of CR rows (or of one row)
    that holds any line break."""
    cr, lf, crlf = counts
    if line_sep == "\n":
        return cr, 0
    if line_sep == "\r\n":
        return cr - crlf, lf - crlf
    if cr or lf:
        raise ArrowFallback(f"{path}: line breaks in a file of CR rows (or of one row)")
    return 0, 0


def _count_breaks(data: Any) -> tuple[int, int, int]:
    """(CRs, LFs, CRLFs) in a buffer, without copying it, 64 MB at a time."""
    import numpy as np

    octets = np.frombuffer(data, dtype=np.uint8)
    cr = lf = crlf = 0
    step = 1 << 26
    for start in range(0, len(octets), step):
        part = octets[start : start + step + 1]  # a byte more: a CRLF across the cut
        whole = part[:step]
        cr += int(np.count_nonzero(whole == 13))
        lf += int(np.count_nonzero(whole == 10))
        crlf += int(np.count_nonzero((part[:-1] == 13) & (part[1:] == 10)))
    return cr, lf, crlf


def _breaks_in_values(batch: Any) -> tuple[int, int, int]:
    """(CRs, LFs, CRLFs) inside the batch's values."""
    import pyarrow.compute as pc

    def total(pattern: str) -> int:
        return sum(
            int(pc.sum(pc.count_substring(column, pattern)).as_py() or 0)
            for column in batch.columns
        )

    return total("\r"), total("\n"), total("\r\n")


def arrow_csv_batches(
    path: str, data: Any, width: int, line_sep: str | None = "\n"
) -> Iterator[Any]:
    """The data rows of one file's bytes (from :func:`arrow_csv_bytes`, records ending with
    ``line_sep``) as batches of ``f0…fN`` strings, the header row left out.

    Arrow's parse errors (a row with the wrong number of fields, invalid UTF-8) become
    ArrowFallback: Spark reads such rows as rejects or with U+FFFD, and only these errors, not the
    engine's own, may send a run to Spark. So does a line break other than the file's own that
    is not inside a quoted value (Arrow would end a row there, Spark not): after the last batch,
    the lone CRs and LFs inside the values must be all the file holds. Callers discard what they
    wrote from a file's batches when it raises.
    """
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    try:
        reader = arrow_csv.open_csv(
            pa.BufferReader(data),
            # 4 MB blocks parse faster than larger ones (measured 0.9 s against 1.5 s for 16 MB
            # on a 475 MB file with quoted line breaks).
            read_options=arrow_csv.ReadOptions(autogenerate_column_names=True, block_size=4 << 20),
            parse_options=arrow_csv.ParseOptions(
                delimiter=",", quote_char='"', double_quote=True, newlines_in_values=True
            ),
            convert_options=arrow_csv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)},
                # Spark's CSV reader gives null for an empty field, quoted or not.
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        if len(reader.schema) != width:
            raise ArrowFallback(f"{path}: Arrow reads {len(reader.schema)} header fields")
        foreign = _foreign_breaks(path, _count_breaks(data), line_sep)
        quoted = (0, 0)
        first = True
        for batch in reader:
            if any(foreign):
                inside = _foreign_breaks(path, _breaks_in_values(batch), line_sep)
                quoted = (quoted[0] + inside[0], quoted[1] + inside[1])
            if first:
                batch, first = batch.slice(1), False
            if batch.num_rows:
                yield batch
        if quoted != foreign:
            own = LINE_ENDINGS.get(line_sep or "", "none")
            raise ArrowFallback(f"{path}: a line break other than the file's own ({own}) unquoted")
    except pa.ArrowInvalid as e:
        # First line only, cut short: Arrow's parse errors quote the row they stopped at.
        first_line = (str(e).splitlines() or [type(e).__name__])[0][:200]
        raise ArrowFallback(f"{path}: {first_line}") from e


def prefetched(items: Sequence[A], fetch: Callable[[A], B]) -> Iterator[tuple[A, B]]:
    """Each item with ``fetch(item)``; the next one is fetched (downloaded) in a thread while the
    caller works on this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(fetch, items[0]) if items else None
        for k, item in enumerate(items):
            data = pending.result()  # type: ignore[union-attr]
            if k + 1 < len(items):
                pending = pool.submit(fetch, items[k + 1])
            yield item, data
            del data


def arrow_write_folders(
    schema: Any, batches: Iterable[Any], staging: str, run_id: str, max_rows: int, options: Any
) -> int:
    """Writes record batches whose last column, ``__folder``, names each row's folder
    (``date=…``, spelled as Spark spells it) as Parquet files of at most ``max_rows`` rows under
    ``staging``, named like Spark's (``part-<n>-<run>.snappy.parquet``); returns the rows
    written. ``options``: Parquet write options (Snappy among them)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    written = 0

    def visited(done: Any) -> None:
        nonlocal written
        written += done.metadata.num_rows

    filesystem, inner = arrow_filesystem(staging)
    ds.write_dataset(
        pa.RecordBatchReader.from_batches(schema, iter(batches)),
        inner.rstrip("/"),
        filesystem=filesystem,
        format="parquet",
        partitioning=ds.DirectoryPartitioning(
            pa.schema([("__folder", pa.string())]), segment_encoding="none"
        ),
        basename_template=f"part-{{i}}-{run_id}.snappy.parquet",
        max_rows_per_file=max_rows,
        # Row groups of 128k rows at least (fewer, larger pages), 1M at most (Arrow's default).
        min_rows_per_group=min(max_rows, 1 << 17),
        max_rows_per_group=min(max_rows, 1 << 20),
        max_partitions=1 << 20,
        existing_data_behavior="overwrite_or_ignore",
        file_options=options,
        file_visitor=visited,
    )
    return written


#: ``--ENGINE`` values of the jobs with an Arrow engine in the driver.
ARROW_ENGINES = ("auto", "arrow", "spark")


def choose_arrow_engine(
    requested: str,
    files: Sequence[InputFile],
    paths: Iterable[str],
    max_bytes: int,
    numpy: bool = False,
) -> tuple[str, str | None]:
    """(engine, why not Arrow) for ``--ENGINE`` ``requested``: ``auto`` takes Arrow for inputs up
    to ``max_bytes`` decompressed, ``arrow`` whatever the size, ``spark`` always Spark; Arrow
    falls back to Spark where it cannot run here or cannot reach one of ``paths``."""
    if requested not in ARROW_ENGINES:
        raise JobInputError(
            f"--ENGINE must be one of {', '.join(ARROW_ENGINES)}, got {requested!r}"
        )
    if requested == "spark":
        return "spark", None
    why = arrow_available(numpy)
    size = sum(text_bytes(f) for f in files)
    if why is None and requested == "auto" and size > max_bytes:
        why = (
            f"the input (about {size} bytes decompressed) is larger than the Arrow engine takes "
            f"under --ENGINE auto ({max_bytes} bytes)"
        )
    if why is None:
        why = arrow_refuses(paths)
    return ("spark", why) if why else ("arrow", None)


def spark_file_uri(spark: SparkSession, path: str) -> str:
    """A listed file's name as Spark's ``_metadata.file_path`` spells it (Hadoop's URI of the
    path: ``file:/…`` for local files, percent-encoded)."""
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    return str(jvm.org.apache.hadoop.fs.Path(path).toUri().toString())


def spark_file_name(spark: SparkSession, path: str) -> str:
    """A listed file's name as Spark's ``input_file_name()`` spells it (the URI, local files as
    ``file:///…``), so a rejected row names its file alike in both engines."""
    uri = spark_file_uri(spark, path)
    if uri.startswith("file:/") and not uri.startswith("file:///"):
        uri = "file:///" + uri[len("file:/") :]
    return uri


# Spark's text reader ends a line at LF, CRLF or a lone CR.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def text_lines(text: str) -> list[str]:
    """The lines of ``text`` as Spark's text reader ends them: at LF, CRLF or a lone CR (not at
    U+2028 and the other breaks ``str.splitlines`` knows)."""
    lines = _LINE_BREAK.split(text) if "\r" in text else text.split("\n")
    if lines[-1] == "":
        lines.pop()  # a final line break ends the last line; it starts no other
    return lines


def spread_by_size(sizes: Sequence[int], tasks: int) -> list[list[int]]:
    """Indexes of items of these sizes in ``tasks`` shares of about equal size (largest item
    first to the lightest share), each share in the listed order; no share is empty."""
    shares: list[list[int]] = [[] for _ in range(max(1, min(tasks, len(sizes))))]
    load = [0] * len(shares)
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        lightest = load.index(min(load))
        shares[lightest].append(i)
        load[lightest] += sizes[i]
    return [sorted(share) for share in shares if share]
