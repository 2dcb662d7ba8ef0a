"""run_main: every failure a user can cause ends with one line naming the resource, a non-zero
exit code, and no Python or Java stack trace on stderr (it is in the debug log instead)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO, SCRIPTS, free_port

CASES = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import glue_etl_common as common

def main(argv):
    case, arg = argv[2], argv[3]
    if case == "input":
        raise common.JobInputError(f"--INPUT_PATH {arg!r} matches no files")
    if case == "endpoint":
        import boto3, botocore.config
        cfg = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=2)
        boto3.client("s3", endpoint_url=arg, config=cfg).list_objects_v2(Bucket="b")
    if case == "bucket":
        import boto3
        boto3.client("s3", endpoint_url=arg).list_objects_v2(Bucket="no-such-bucket-x")
    if case == "encoding":
        with common.about(f"manifest {arg}"):
            b"\xff\xfe\x00bad".decode("utf-8")
    if case == "json":
        with common.about(f"manifest {arg}"):
            json.loads("not json")
    if case == "bug":
        {}["missing"]
    spark = common.local_spark("run-main-test", "local[1]")
    if case == "spark-path":
        spark.read.json(arg).collect()
    if case == "java-missing-file":
        common.read_head(spark, arg, 10)
    if case == "unknown-host":
        spark.sparkContext._jvm.java.net.InetAddress.getByName(arg)
    if case == "task-failure":
        def boom(i):
            raise ValueError("bad row " + str(i))
        spark.sparkContext.parallelize([1, 2], 2).map(boom).collect()

common.run_main(main)
"""

STACK_TRACE = re.compile(r"Traceback|at org\.apache|Py4JJavaError|\tat |Exception in thread")


def run_case(tmp_path: Path, case: str, arg: str) -> tuple[int, str, Path]:
    script = tmp_path / "job_under_test.py"
    script.write_text(CASES)
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, str(script), str(SCRIPTS), case, arg],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert not STACK_TRACE.search(proc.stderr), proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    (log,) = tmp_path.glob("glue-etl-job_under_test-*.log")
    return proc.returncode, lines[0], log


@pytest.mark.parametrize(
    ("case", "code", "expected"),
    [
        ("input", 2, r"^error: --INPUT_PATH 'ARG' matches no files$"),
        ("endpoint", 1, r"cannot reach ARG.*check the endpoint URL"),
        ("encoding", 2, r"manifest ARG: not valid utf-8 text \(byte 0: invalid start byte\)"),
        ("json", 2, r"manifest ARG: not valid JSON \(Expecting value at line 1 column 1\)"),
        ("bug", 1, r"unexpected failure: KeyError: 'missing'; details in .*\.log$"),
    ],
)
def test_python_failures(tmp_path: Path, case: str, code: int, expected: str) -> None:
    arg = {"endpoint": f"http://127.0.0.1:{free_port()}"}.get(case, "s3://in/manifest.json")
    rc, line, log = run_case(tmp_path, case, arg)
    assert rc == code
    assert re.search(expected.replace("ARG", re.escape(arg)), line), line
    if case == "bug":
        assert str(log) in line
        assert "Traceback" in log.read_text() and "KeyError" in log.read_text()


def test_missing_bucket_names_the_bucket(tmp_path: Path, moto_endpoint: str) -> None:
    rc, line, _ = run_case(tmp_path, "bucket", moto_endpoint)
    assert rc == 2
    assert "S3 bucket no-such-bucket-x does not exist" in line, line


@pytest.mark.parametrize(
    ("case", "code", "expected"),
    [
        ("spark-path", 2, r"path not found: file:ARG; check the path arguments"),
        ("java-missing-file", 2, r"path not found: ARG"),
        ("unknown-host", 1, r"cannot resolve host ARG"),
        (
            "task-failure",
            1,
            r"unexpected failure: org\.apache\.spark\.SparkException: .*details in",
        ),
    ],
)
@pytest.mark.slow
def test_spark_and_java_failures(tmp_path: Path, case: str, code: int, expected: str) -> None:
    arg = {"unknown-host": "no-such-host.invalid"}.get(case, str(tmp_path / "nowhere" / "x.json"))
    rc, line, log = run_case(tmp_path, case, arg)
    assert rc == code
    assert re.search(expected.replace("ARG", re.escape(arg)), line), line
    text = log.read_text()
    if case == "task-failure":
        # Both stack traces are kept for whoever debugs it: Spark's own log and the Python one.
        assert "ValueError: bad row" in text and "at org.apache.spark" in text
        assert "Traceback" in text
