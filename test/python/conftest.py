"""Shared fixtures: one local[2] SparkSession for the whole run, configured like the jobs' local
runs (UTC, small shuffles, UI off) so the suite stays within a few minutes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest
from support import SCRIPTS

# Python workers import the script modules the tests pass functions from.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(SCRIPTS), *filter(None, [os.environ.get("PYTHONPATH")])]
)
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


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
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
