"""Helpers the tests share: writing generated files, reading outputs back, running a script the
way a user does."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import glue_etl_common as common  # noqa: E402


def write_bytes(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def read_json_lines(folder: Path) -> list[dict[str, Any]]:
    """All rows of a Spark JSON output folder.

    Split on ``\n`` only: ``splitlines`` would also split at a U+2028 that Spark's writer leaves
    unescaped inside a string (valid JSON)."""
    rows: list[dict[str, Any]] = []
    for part in sorted(folder.glob("part-*")):
        text = part.read_text(encoding="utf-8")
        rows += [json.loads(ln) for ln in text.split("\n") if ln.strip()]
    return rows


def read_partitioned(spark: Any, folder: Path) -> Any:
    """A partitioned Parquet output with partition values as strings, as the catalog declares."""
    key = "spark.sql.sources.partitionColumnTypeInference.enabled"
    spark.conf.set(key, "false")
    try:
        return spark.read.parquet(str(folder))
    finally:
        spark.conf.unset(key)


def parquet_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.parquet"))


def run_script(script: str, *args: str, master: str = "local[2]") -> subprocess.CompletedProcess:
    """Runs ``python scripts/<script> args…`` from the repo root, as a user would."""
    return subprocess.run(
        [sys.executable, str(SCRIPTS / script), *args],
        cwd=REPO,
        env={**os.environ, "SPARK_MASTER": master},
        capture_output=True,
        text=True,
        timeout=300,
    )


def summary_of(proc: subprocess.CompletedProcess) -> dict[str, Any]:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-4000:]}"
    return common.parse_summary(proc.stdout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on 127.0.0.1 with a free port; fake credentials in the environment so no
    request can reach real AWS. Yields the endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_REGION="eu-west-1",
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start on {endpoint}") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --------------------------------------------------------------------------------------------
# Independent reference for CSV input: Python's csv module, to check that every input row lands
# exactly once in a job's output or its rejected rows.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvRecord:
    """One data record of a CSV file as Python's csv module reads it."""

    file: str
    header: tuple[str, ...]
    fields: tuple[str, ...]

    @property
    def well_formed(self) -> bool:
        return len(self.fields) == len(self.header)

    def value(self, column: str) -> str | None:
        """The field under ``column`` (first match, case-insensitive), None if the row is short."""
        i = [h.strip().lower() for h in self.header].index(column.lower())
        return self.fields[i] if i < len(self.fields) else None


def reference_records(files: Iterable[Path]) -> list[CsvRecord]:
    """The data records of CSV files (UTF-8, ``.gz`` decompressed, a byte-order mark skipped,
    invalid bytes as U+FFFD): the first non-empty record is the header, empty lines are not
    records."""
    out: list[CsvRecord] = []
    csv.field_size_limit(2**31 - 1)  # fields of several MB are part of what is checked
    for path in files:
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
        records = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
        if records:
            header = tuple(records[0])
            out += [CsvRecord(path.name, header, tuple(r)) for r in records[1:]]
    return out


def parse_csv_line(text: str) -> tuple[str, ...]:
    """The fields of one record's raw text (a rejected row's ``_raw_line``)."""
    return tuple(next(csv.reader(io.StringIO(text, newline="")), []))


def assert_each_once(expected: Iterable[Hashable], got: Iterable[Hashable], what: str) -> None:
    """``got`` holds exactly the items of ``expected``, each as many times: nothing lost, nothing
    invented, nothing duplicated. The message shows a few of each difference."""
    want, have = Counter(expected), Counter(got)
    lost, extra = want - have, have - want
    assert not lost and not extra, (
        f"{what}: {sum(lost.values())} missing, e.g. {list(lost)[:5]}; "
        f"{sum(extra.values())} unexpected or duplicated, e.g. {list(extra)[:5]}"
    )


def assert_same_as_spark_after_fallback(auto: tuple, by_spark: tuple, auto_out: Path) -> None:
    """A run under ``--ENGINE auto`` that Arrow handed to Spark equals a Spark run: the engine
    and its reason in the summary, the counts and the rest of ``_run``'s outputs, and nothing of
    the abandoned Arrow attempt left beside the output."""
    assert auto[0]["engine"] == "spark" and auto[0]["engine_note"], auto[0]
    assert "engine_note" not in by_spark[0]
    for key in ("read", "written", "rejected"):
        assert auto[0][key] == by_spark[0][key], key
    assert auto[1:] == by_spark[1:]
    assert not [p for p in auto_out.iterdir() if p.name.startswith("_staging")]


def assert_size_rule(job: Any, spark: Any, folder: Path, monkeypatch: Any, written: int) -> None:
    """A job's Arrow engine and the size rule on the input in ``folder/in``: Spark under
    ``--ENGINE auto`` once the input is larger than the engine takes, Arrow when forced (writing
    ``written`` rows)."""
    monkeypatch.setattr(job, "ARROW_MAX_INPUT_BYTES", 10)
    auto = job.convert(spark, str(folder / "in"), str(folder / "a"))
    forced = job.convert(spark, str(folder / "in"), str(folder / "b"), engine="arrow")
    assert auto["engine"] == "spark" and "larger than" in str(auto["engine_note"])
    assert forced["engine"] == "arrow" and forced["written"] == written
