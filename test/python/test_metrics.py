"""Run metrics: a script run publishes its rows, share, bytes and seconds to CloudWatch (moto's),
read back here; publishing is off unless asked for and never fails a run."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from support import SCRIPTS, common, free_port, read_json_lines, summary_of, write_bytes

NAMESPACE = "GlueETL/test"
# Good rows, rows with a position that is no number, and one with a field too many.
GOOD = [f"chr{1 + i % 3},{100 + i},A,G" for i in range(17)]
BAD = ["chr2,abc,A,C", "chrX,,G,T", "chr1,12x,C,A", "chr3,5,A,C,extra"]
CSV_TEXT = "chrom,pos,ref,alt\n" + "\n".join(GOOD[:9] + BAD + GOOD[9:]) + "\n"


def run_with_env(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPTS / "genomics_csv_to_parquet.py"), *args],
        cwd=SCRIPTS.parent,
        env={**os.environ, "SPARK_MASTER": "local[2]", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def metric_args(namespace: str = NAMESPACE) -> list[str]:
    return [
        "--METRICS_NAMESPACE",
        namespace,
        "--PIPELINE",
        "genomics",
        "--ENVIRONMENT",
        "dev",
        "--JOB_NAME",
        "csv_to_parquet_genomic_data-dev",
    ]


def read_back(cw: Any, namespace: str) -> dict[str, tuple[float, str, dict[str, str]]]:
    """Every metric in the namespace: its Sum over the last hour, unit and dimensions."""
    out: dict[str, tuple[float, str, dict[str, str]]] = {}
    now = dt.datetime.now(dt.UTC)
    for m in cw.list_metrics(Namespace=namespace)["Metrics"]:
        stats = cw.get_metric_statistics(
            Namespace=namespace,
            MetricName=m["MetricName"],
            Dimensions=m["Dimensions"],
            StartTime=now - dt.timedelta(hours=1),
            EndTime=now + dt.timedelta(minutes=5),
            Period=3600,
            Statistics=["Sum"],
        )["Datapoints"]
        assert len(stats) == 1, m
        dims = {d["Name"]: d["Value"] for d in m["Dimensions"]}
        out[m["MetricName"]] = (stats[0]["Sum"], stats[0]["Unit"], dims)
    return out


@pytest.mark.slow
def test_a_run_publishes_its_metrics_to_cloudwatch(moto_endpoint: str, tmp_path: Path):
    src = write_bytes(tmp_path / "csv" / "variants.csv", CSV_TEXT)
    out, rejected = tmp_path / "out", tmp_path / "rejected"
    proc = run_with_env(
        {"AWS_ENDPOINT_URL": moto_endpoint},
        "--INPUT_PATH",
        str(src.parent),
        "--OUTPUT_PATH",
        str(out),
        "--REJECTED_PATH",
        str(rejected),
        *metric_args(),
    )
    summary = summary_of(proc)
    assert "NOT published" not in proc.stderr

    # The reference: Python's csv module for the input, the files on disk for the output.
    read = sum(1 for row in csv.reader(io.StringIO(CSV_TEXT)) if row) - 1
    written = sum(pq.read_metadata(f).num_rows for f in out.rglob("*.parquet"))
    rejects = len(read_json_lines(rejected))
    assert (read, written + rejects) == (21, 21)
    assert (summary["read"], summary["written"], summary["rejected"]) == (read, written, rejects)

    cw = boto3.client("cloudwatch", endpoint_url=moto_endpoint, region_name="eu-west-1")
    metrics = read_back(cw, NAMESPACE)
    dims = {"pipeline": "genomics", "environment": "dev", "job": "csv_to_parquet_genomic_data-dev"}
    assert {name: dims_ for name, (_, _, dims_) in metrics.items()} == {
        name: dims
        for name in [
            "RowsRead",
            "RowsWritten",
            "RowsRejected",
            "RejectedShare",
            "InputBytes",
            "RunSeconds",
            "RunsCompleted",
        ]
    }
    assert metrics["RowsRead"][:2] == (read, "Count")
    assert metrics["RowsWritten"][:2] == (written, "Count")
    assert metrics["RowsRejected"][:2] == (rejects, "Count")
    assert metrics["RejectedShare"][0] == pytest.approx(100 * rejects / read, abs=1e-3)
    assert metrics["RejectedShare"][1] == "Percent"
    # Spark reads the whole file at least once.
    assert metrics["InputBytes"][0] >= len(CSV_TEXT.encode())
    assert metrics["InputBytes"][1] == "Bytes"
    assert 0 < metrics["RunSeconds"][0] < 300
    assert metrics["RunsCompleted"][:2] == (1, "Count")


def test_publishing_failure_never_fails_the_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setattr(sys, "argv", ["genomics_csv_to_parquet.py", *metric_args()])
    summary = common.emit_summary(
        "genomics_csv_to_parquet", {"read": 5, "written": 4, "rejected": 1}
    )
    assert summary["reconciled"] is True
    out = capsys.readouterr()
    assert common.parse_summary(out.out)["read"] == 5
    assert "run metrics NOT published (EndpointConnectionError" in out.err
    assert "the run's result is unaffected" in out.err


def test_nothing_is_published_unless_asked(monkeypatch: pytest.MonkeyPatch):
    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("PutMetricData called")

    monkeypatch.setattr(common, "publish_metrics", refuse)
    summary = {"job": "j", "read": 3, "written": 3, "rejected": 0, "reconciled": True}
    assert common.publish_run_metrics("j", summary, ["script.py", "--INPUT_PATH", "x"]) is None


def test_incomplete_metric_arguments_are_logged_not_raised(capsys: pytest.CaptureFixture[str]):
    summary = {"job": "j", "read": 3, "written": 3, "rejected": 0, "reconciled": True}
    argv = ["script.py", "--METRICS_NAMESPACE", NAMESPACE, "--PIPELINE", "genomics"]
    assert common.publish_run_metrics("j", summary, argv) is None
    assert "--ENVIRONMENT is not" in capsys.readouterr().err


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def put_metric_data(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def test_metric_values_follow_the_summary():
    target = common.metric_target(metric_args(), "genomics_csv_to_parquet")
    assert target is not None
    assert dict(target.dimensions)["job"] == "csv_to_parquet_genomic_data-dev"
    summary = {"read": 8, "written": 6, "rejected": 2, "seconds": 4.5, "reconciled": True}
    values = common.run_metrics(summary, 1234)
    assert values == {
        "RowsRead": 8,
        "RowsWritten": 6,
        "RowsRejected": 2,
        "RejectedShare": 25.0,
        "InputBytes": 1234,
        "RunSeconds": 4.5,
        "RunsCompleted": 1,
    }
    rec = Recorder()
    common.publish_metrics(target, values, rec)
    [call] = rec.calls
    assert call["Namespace"] == NAMESPACE
    assert {d["MetricName"]: d["Unit"] for d in call["MetricData"]}["RejectedShare"] == "Percent"

    # An empty run has no share to judge; an unreconciled one is no completed run.
    empty = common.run_metrics({"read": 0, "written": 0, "rejected": 0, "reconciled": False}, None)
    assert "RejectedShare" not in empty and "RunsCompleted" not in empty
    assert "InputBytes" not in empty


def test_job_dimension_falls_back_to_the_script_name_and_bad_namespaces_are_named():
    argv = ["s.py", "--METRICS_NAMESPACE=X", "--PIPELINE=p", "--ENVIRONMENT=dev"]
    target = common.metric_target(argv, "script_job")
    assert target is not None and dict(target.dimensions)["job"] == "script_job"
    with pytest.raises(common.JobInputError, match="not starting with AWS/"):
        common.metric_target(["s.py", "--METRICS_NAMESPACE", "AWS/Glue"], "j")
