"""Shared fixtures: one local[2] SparkSession for the whole run, configured like the jobs' local
runs (UTC, small shuffles, UI off) so the suite stays within a few minutes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
from support import SCRIPTS, moto_server

# Python workers import the script modules the tests pass functions from.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(SCRIPTS), *filter(None, [os.environ.get("PYTHONPATH")])]
)
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
# Fake credentials before Spark starts, so Python workers inherit them and no test can reach AWS.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="eu-west-1",
    AWS_REGION="eu-west-1",
)


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("glue-etl-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        # Hostile inputs hold 20M-character values: with a 1 GB heap the JVM (driver and executor
        # in one process) can run out of memory, and then every later test loses its session.
        .config("spark.driver.memory", "4g")
        # The throughput collector: G1's concurrent threads compete with the other test
        # processes `make test` runs beside this one (pytest took 2m32s with G1, 2m15s without).
        .config("spark.driver.extraJavaOptions", "-XX:+UseParallelGC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A local AWS endpoint (moto's server) on 127.0.0.1 with a free port, for the whole run."""
    with moto_server() as endpoint:
        yield endpoint
