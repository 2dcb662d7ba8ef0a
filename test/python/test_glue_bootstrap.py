"""main() on Glue: arguments through getResolvedOptions, GlueContext, Job.init and Job.commit.

A stand-in ``awsglue`` package (the real one exists only on Glue) records the calls; the script
runs as Glue runs it, with Glue's own extra arguments on the command line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import REPO, SCRIPTS, common, write_bytes

FAKE_AWSGLUE = {
    "__init__.py": "",
    "utils.py": """
def getResolvedOptions(argv, options):
    import json, os
    values = {}
    for i, arg in enumerate(argv):
        if arg.startswith("--") and arg[2:] in options:
            values[arg[2:]] = argv[i + 1]
    missing = [o for o in options if o not in values]
    if missing:
        raise SystemExit("missing " + ",".join(missing))
    with open(os.environ["GLUE_CALLS"], "a") as fh:
        fh.write(json.dumps({"resolved": sorted(options)}) + "\\n")
    return values
""",
    "context.py": """
from pyspark.sql import SparkSession

class GlueContext:
    def __init__(self, sc):
        self.spark_session = SparkSession.builder.getOrCreate()
""",
    "job.py": """
import json, os

class Job:
    def __init__(self, glue_context):
        pass

    def init(self, name, args):
        with open(os.environ["GLUE_CALLS"], "a") as fh:
            fh.write(json.dumps({"init": name, "args": sorted(args)}) + "\\n")

    def commit(self):
        with open(os.environ["GLUE_CALLS"], "a") as fh:
            fh.write(json.dumps({"commit": True}) + "\\n")
""",
}


@pytest.mark.slow
def test_main_uses_glue_when_it_is_there(tmp_path: Path):
    fake = tmp_path / "glue-lib"
    for name, body in FAKE_AWSGLUE.items():
        write_bytes(fake / "awsglue" / name, body)
    write_bytes(tmp_path / "csv" / "a.csv", "CHROM,POS\nchr1,10\n2,x\n")
    calls = tmp_path / "calls.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(fake), str(SCRIPTS)]),
        "GLUE_CALLS": str(calls),
        # What Glue's SparkContext would be configured with.
        "PYSPARK_SUBMIT_ARGS": "--master local[1] pyspark-shell",
    }
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "genomics_csv_to_parquet.py"),
            "--JOB_NAME",
            "csv_to_parquet_genomic_data-dev",
            "--job-bookmark-option",
            "job-bookmark-enable",
            "--TempDir",
            "s3://temp/glue/",
            "--INPUT_PATH",
            str(tmp_path / "csv"),
            "--OUTPUT_PATH",
            str(tmp_path / "out"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = common.parse_summary(proc.stdout)
    assert (summary["read"], summary["written"], summary["rejected"]) == (2, 1, 1)
    recorded = [json.loads(ln) for ln in calls.read_text().splitlines()]
    assert recorded == [
        {"resolved": ["INPUT_PATH", "JOB_NAME", "OUTPUT_PATH"]},
        {
            "init": "csv_to_parquet_genomic_data-dev",
            "args": ["INPUT_PATH", "JOB_NAME", "OUTPUT_PATH"],
        },
        {"commit": True},
    ]
