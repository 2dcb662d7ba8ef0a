"""ndjson_manifest_to_parquet on generated manifests and NDJSON with corrupt lines, CRLF,
inconsistent types and missing files."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import ndjson_manifest_to_parquet as ndjson
import pyarrow.parquet as pq
import pytest
from support import (
    REPO,
    SCRIPTS,
    common,
    parquet_files,
    read_json_lines,
    run_script,
    summary_of,
    write_bytes,
)

STAMP = "2026-11-21T02:00:00+00:00"

# Numbers as numbers here, as strings in file 2; a nested object; CRLF; a corrupt line; blanks.
FILE_1 = (
    '{"id": 1, "user": "ana", "amount": 12.50, "meta": {"device": "ios", "v": 2}}\r\n'
    '{"id": 2, "user": "bo", "amount": 3, "active": true}\r\n'
    "\r\n"
    '{"id": 3, "user": "cy", "amount": null\r\n'
    '{"id": 4, "user": "dee", "amount": -1e3, "meta": "none"}\r\n'
)
FILE_2 = (
    '{"id": "5", "user": "eve", "amount": "7.25"}\n'
    "[1, 2, 3]\n"
    '{"id": 6, "user": "fay", "note": "only in file 2"}\n'
    "   \n"
    '{"id": 7, "user": "gus", "amount": 1, "id": 8}\n'
)


def make_batch(root: Path, names: list[str], manifest_name: str = "manifest.json") -> Path:
    data = root / "landing"
    write_bytes(data / "events-2026-11-20-000.ndjson", FILE_1)
    write_bytes(data / "events-2026-11-20-001.ndjson", FILE_2)
    write_bytes(data / "events-2026-11-20-002.ndjson", b"")
    manifest = {"fileLocations": [{"URIPrefixes": [str(data / n) for n in names]}]}
    return write_bytes(root / "manifests" / manifest_name, json.dumps(manifest))


ALL = [
    "events-2026-11-20-000.ndjson",
    "events-2026-11-20-001.ndjson",
    "events-2026-11-20-002.ndjson",
]


def test_batch_is_converted_with_lineage_and_strings(spark, tmp_path: Path):
    manifest = make_batch(tmp_path, ALL)
    out = tmp_path / "processed"
    counts = ndjson.convert(spark, str(manifest), str(out), processing_timestamp=STAMP)

    assert counts["date"] == "2026-11-20"
    assert counts["files"] == 3
    assert (counts["read"], counts["written"], counts["rejected"]) == (8, 5, 3)
    assert counts["blank_lines"] == 2

    # Nothing else is left under the output root (the row-size measure cleans up after itself).
    assert sorted(p.name for p in out.iterdir()) == ["_rejected", "merged-parquet-2026-11-20"]
    folder = out / "merged-parquet-2026-11-20" / f"batch={counts['batch']}"
    assert json.loads((folder / "_manifest.json").read_text())["manifest"] == str(manifest)
    files = parquet_files(folder)
    assert files and all(
        pq.ParquetFile(f).metadata.row_group(0).column(0).compression == "SNAPPY" for f in files
    )
    df = spark.read.parquet(str(folder))
    assert {t for _, t in df.dtypes} == {"string"}
    rows = {r["id"]: r.asDict() for r in df.collect()}
    assert sorted(rows) == ["1", "2", "4", "5", "6"]
    # Every value becomes a string whatever its JSON type in each file: numbers and nested
    # values as written in the file, strings decoded.
    assert rows["1"]["amount"] == "12.50"
    assert rows["5"]["amount"] == "7.25"
    assert rows["4"]["amount"] == "-1e3"
    assert rows["2"]["amount"] == "3"
    assert rows["1"]["meta"] == '{"device": "ios", "v": 2}'
    assert rows["4"]["meta"] == "none"
    assert rows["2"]["active"] == "true"
    assert rows["6"]["note"] == "only in file 2"
    assert all(r["_processing_timestamp"] == STAMP for r in rows.values())
    assert rows["5"]["_source_file"].endswith("events-2026-11-20-001.ndjson")
    assert rows["1"]["_extra_fields"] is None

    rejected = read_json_lines(
        out / "_rejected" / "merged-parquet-2026-11-20" / f"batch={counts['batch']}"
    )
    reasons = {r["_raw_line"]: r["_reject_reason"] for r in rejected}
    assert reasons == {
        "[1, 2, 3]": "not a JSON object: the line holds an array",
        '{"id": 3, "user": "cy", "amount": null': (
            "not valid JSON: the line ends where ',' or '}' was expected (truncated?)"
        ),
        '{"id": 7, "user": "gus", "amount": 1, "id": 8}': (
            'repeated key "id": its value is ambiguous'
        ),
    }
    assert {r["_source_file"].rsplit("/", 1)[-1] for r in rejected} == {
        "events-2026-11-20-000.ndjson",
        "events-2026-11-20-001.ndjson",
    }


def test_same_manifest_twice_leaves_one_copy(spark, tmp_path: Path):
    manifest = make_batch(tmp_path, ALL)
    out = tmp_path / "processed"
    first = ndjson.convert(spark, str(manifest), str(out))
    second = ndjson.convert(spark, str(manifest), str(out))
    assert first["written"] == second["written"] == 5
    assert first["batch"] == second["batch"]
    df = spark.read.parquet(str(out / "merged-parquet-2026-11-20"))
    assert df.count() == 5 and df.select("id").distinct().count() == 5
    assert sorted(r.id for r in df.collect()) == ["1", "2", "4", "5", "6"]
    day = out / "_rejected" / "merged-parquet-2026-11-20"
    assert len(read_json_lines(day / f"batch={first['batch']}")) == 3


def test_two_manifests_of_one_date_both_keep_their_rows(spark, tmp_path: Path):
    """The batch is the manifest: a second manifest of the same date adds a batch beside the
    first, and the day's folder (the table's partition) holds both."""
    morning = make_batch(tmp_path, ALL[:1], "morning.json")
    evening = make_batch(tmp_path, ALL[1:2], "evening.json")
    out = tmp_path / "processed"
    a = ndjson.convert(spark, str(morning), str(out))
    b = ndjson.convert(spark, str(evening), str(out))
    ndjson.convert(spark, str(morning), str(out))  # a rerun replaces its own batch only
    assert a["batch"] != b["batch"] and a["date"] == b["date"] == "2026-11-20"
    df = spark.read.parquet(str(out / "merged-parquet-2026-11-20"))
    assert sorted(r.id for r in df.collect()) == ["1", "2", "4", "5", "6"]
    assert df.count() == a["written"] + b["written"] == 5


def test_batch_ids_follow_the_manifest_path():
    a = ndjson.batch_id("s3://b/manifests/2026-11-20/manifest.json")
    assert a.startswith("2026-11-20-")
    assert a == ndjson.batch_id("s3://b/manifests/2026-11-20/manifest.json")
    assert a != ndjson.batch_id("s3://b/manifests/2026-11-20-late/../2026-11-20/manifest.json")
    assert ndjson.batch_id("s3://b/m/evening.json").startswith("evening-")


def test_keys_outside_the_given_columns_are_kept(spark, tmp_path: Path):
    manifest = make_batch(tmp_path, ALL[:2])
    out = tmp_path / "processed"
    ndjson.convert(spark, str(manifest), str(out), columns=["id", "user"])
    df = spark.read.parquet(str(out / "merged-parquet-2026-11-20"))
    assert df.columns[:3] == ["id", "user", "_extra_fields"]
    extra = {r["id"]: json.loads(r["_extra_fields"] or "{}") for r in df.collect()}
    assert extra["6"] == {"note": "only in file 2"}
    assert extra["1"]["meta"] == '{"device": "ios", "v": 2}'
    assert extra["1"]["amount"] == "12.50"


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (None, r"file not found: .*missing\.json"),
        ("{not json", r"is not valid JSON"),
        ('{"files": []}', r'has no "fileLocations" list'),
        ('{"fileLocations": []}', r"lists no files"),
        ('{"fileLocations": [{"URIPrefixes": []}]}', r"lists no files"),
        ('{"fileLocations": [{"URIPrefixes": [42]}]}', r"fileLocations\[0\] must be an object"),
    ],
)
def test_unusable_manifests_fail_clearly(spark, tmp_path: Path, manifest, message):
    path = tmp_path / "missing.json"
    if manifest is not None:
        path = write_bytes(tmp_path / "m.json", manifest)
    with pytest.raises(common.JobInputError, match=message):
        ndjson.convert(spark, str(path), str(tmp_path / "out"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"a": 1}'.encode("utf-16-le"), r"not NDJSON text: .*NUL bytes"),
        (b"\xff\xfe" + '{"a": 1}'.encode("utf-16-le"), r"UTF-16"),
        (bytes(range(256)) * 4, r"NUL bytes"),
    ],
)
def test_input_files_that_are_not_text_fail_clearly(spark, tmp_path: Path, body, message):
    data = tmp_path / "landing"
    write_bytes(data / "2026-11-20-good.ndjson", FILE_2)
    bad = write_bytes(data / "2026-11-20-bad.ndjson", body)
    manifest = write_bytes(
        tmp_path / "m.json", json.dumps({"fileLocations": [{"URIPrefixes": [str(data) + "/"]}]})
    )
    with pytest.raises(common.JobInputError, match=message) as err:
        ndjson.convert(spark, str(manifest), str(tmp_path / "out"))
    assert str(bad) in str(err.value)
    assert not (tmp_path / "out").exists()


def test_manifest_that_is_not_utf8_fails_clearly(spark, tmp_path: Path):
    path = write_bytes(tmp_path / "m.json", '{"fileLocations": []}'.encode("utf-16"))
    with pytest.raises(common.JobInputError, match=r"m\.json is not UTF-8 text"):
        ndjson.convert(spark, str(path), str(tmp_path / "out"))


def test_every_missing_file_is_named(spark, tmp_path: Path):
    manifest = make_batch(
        tmp_path, [*ALL, "events-2026-11-20-404.ndjson", "gone/2026-11-20.ndjson"]
    )
    with pytest.raises(common.JobInputError) as err:
        ndjson.convert(spark, str(manifest), str(tmp_path / "out"))
    text = str(err.value)
    assert "2 of 5 location(s)" in text
    assert "events-2026-11-20-404.ndjson" in text and "gone/2026-11-20.ndjson" in text
    assert not (tmp_path / "out").exists()


def test_dates_from_file_names():
    assert ndjson.batch_date(["s3://b/x/events_20261121_01.json"]) == ("2026-11-21", ["2026-11-21"])
    assert ndjson.batch_date(["a/2026-11-20-a.ndjson", "a/2026-11-21-b.ndjson"]) == (
        "2026-11-21",
        ["2026-11-20", "2026-11-21"],
    )
    assert ndjson.batch_date(["s3://b/2026/11/19/part.json"])[0] == "2026-11-19"
    assert ndjson.batch_date(["x/part-0.json"], fallback="s3://m/2026-11-18/manifest.json")[0] == (
        "2026-11-18"
    )
    with pytest.raises(common.JobInputError, match="no date"):
        ndjson.batch_date(["x/part-20261399.json"])


def test_output_files_are_planned_from_measured_row_size():
    mb = 1024 * 1024
    # 700 MB of 250-byte lines at 60 Parquet bytes per row: 2.94M rows, 168 MB → 2 files.
    files, cap = ndjson.plan_files(700 * mb, 250.0, 60.0, 128 * mb)
    assert files == 2
    assert cap == int(1.1 * 128 * mb / 60)
    assert ndjson.plan_files(10 * mb, 0.0, 60.0, 128 * mb) == (1, None)


def test_file_size_target_splits_output(spark, tmp_path: Path):
    data = tmp_path / "big"
    rnd = random.Random(7)
    line = '{{"id": {i}, "payload": "{p}"}}\n'
    for part in range(2):
        # Random payloads: Parquet cannot compress them away, so ~2.6 MB stays ~2.6 MB.
        body = "".join(
            line.format(i=part * 4000 + i, p=rnd.randbytes(160).hex()) for i in range(4000)
        )
        write_bytes(data / f"2026-11-22-{part}.ndjson", body)
    # A folder and a key prefix, as manifests also list them.
    manifest = write_bytes(
        tmp_path / "m.json",
        json.dumps(
            {"fileLocations": [{"URIPrefixes": [str(data) + "/"]}, {"URIs": [str(data / "2026")]}]}
        ),
    )
    out = tmp_path / "out"
    counts = ndjson.convert(spark, str(manifest), str(out), target_file_mb=1)
    files = parquet_files(out / "merged-parquet-2026-11-22" / f"batch={counts['batch']}")
    assert counts["written"] == 8000
    assert len(files) == counts["output_files"] > 1
    assert all(f.stat().st_size < 3 * 1024 * 1024 for f in files)


@pytest.mark.slow
def test_runs_as_a_command_line_script(tmp_path: Path):
    manifest = make_batch(tmp_path, ALL)
    proc = run_script(
        "ndjson_manifest_to_parquet.py",
        "--MANIFEST_PATH",
        str(manifest),
        "--OUTPUT_PATH",
        f"file://{tmp_path}/processed/",
        "--TARGET_FILE_MB",
        "64",
    )
    summary = summary_of(proc)
    assert (summary["read"], summary["written"], summary["rejected"]) == (8, 5, 3)
    assert summary["output"].endswith(
        f"processed/merged-parquet-2026-11-20/batch={summary['batch']}/"
    )


def _visible_ids(folder: Path) -> list[str]:
    """What a reader of the batch folder sees (Parquet files, hidden names skipped)."""
    if not folder.exists():
        return []
    return sorted(pq.read_table(folder).column("id").to_pylist())


def _start(manifest: Path, out: Path, engine: str = "auto") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(SCRIPTS / "ndjson_manifest_to_parquet.py")]
        + ["--MANIFEST_PATH", str(manifest), "--OUTPUT_PATH", str(out), "--ENGINE", engine],
        cwd=REPO,
        env={**os.environ, "SPARK_MASTER": "local[2]"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # the JVM and Python workers die with it
    )


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 600) -> bool:
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if ready():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.02)
    proc.wait()
    return False


# Where each engine's run is killed: Spark writes through _temporary/ and ends with _SUCCESS;
# the Python engine's tasks write their parts in place, then the driver writes the marker.
KILL_POINTS = {
    "spark": {
        "staging exists": "*",
        "parts being written": "_temporary/**/part-*",
        "write finished": "_SUCCESS",
    },
    "python": {"parts written": "part-*.parquet", "marker written": ndjson.MARKER},
}


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["spark", "python"])
def test_a_killed_run_leaves_the_previous_or_the_new_batch(tmp_path: Path, engine: str):
    """SIGKILL a real run while it writes, after its write, and before it ends: a reader sees
    the previous complete batch or the new one, and the next run repairs what was left."""
    source = tmp_path / "landing" / "2026-11-24-events.ndjson"
    manifest = write_bytes(
        tmp_path / "manifests" / "manifest.json",
        json.dumps({"fileLocations": [{"URIPrefixes": [str(source)]}]}),
    )
    out = tmp_path / "out"
    day = out / "merged-parquet-2026-11-24"
    folder = day / f"batch={ndjson.batch_id(str(manifest))}"

    def write_input(tag: str, n: int) -> list[str]:
        write_bytes(source, "".join(f'{{"id": "{tag}{i:05d}", "v": {i}.50}}\n' for i in range(n)))
        return sorted(f"{tag}{i:05d}" for i in range(n))

    old = write_input("old", 3000)
    first = _start(manifest, out, engine)
    assert first.wait(timeout=600) == 0, first.stderr.read() if first.stderr else ""
    assert _visible_ids(folder) == old
    # Enough rows that the Python engine's parts take a while to write.
    new = write_input("new", 4000 if engine == "spark" else 150_000)

    def staged(pattern: str):
        """True once this run's own staging folder holds ``pattern`` (not a killed run's)."""
        before = set(day.glob("_staging.*"))
        return lambda: any(p not in before for p in day.glob("_staging.*") if any(p.glob(pattern)))

    killed = 0
    for name, pattern in KILL_POINTS[engine].items():
        ready = staged(pattern)
        if _kill_when(_start(manifest, out, engine), ready):
            killed += 1
            seen = _visible_ids(folder)
            assert seen in (old, new), f"after a kill at '{name}': {len(seen)} rows"
            if seen == new:  # a kill after the swap: go back to the old batch for the next point
                break
    assert killed >= len(KILL_POINTS[engine]) - 1

    last = _start(manifest, out, engine)
    stdout, stderr = last.communicate(timeout=600)
    assert last.returncode == 0, stderr.decode()[-2000:]
    assert _visible_ids(folder) == new
    assert not [p.name for p in day.iterdir() if p.name.startswith(("_staging", "_previous"))]


@pytest.mark.parametrize(
    ("manifest", "body", "message"),
    [
        ("{not json", b"", "is not valid JSON"),
        ('{"fileLocations": []}'.encode("utf-16"), b"", "is not UTF-8 text"),
        (None, '{"a": 1}'.encode("utf-16-le"), "is not NDJSON text"),
    ],
)
@pytest.mark.slow
def test_command_line_errors_are_one_line_without_a_trace(tmp_path: Path, manifest, body, message):
    source = write_bytes(tmp_path / "landing" / "2026-11-20-a.ndjson", body or FILE_1)
    text = manifest or json.dumps({"fileLocations": [{"URIs": [str(source)]}]})
    path = write_bytes(tmp_path / "m.json", text)
    proc = run_script(
        "ndjson_manifest_to_parquet.py",
        "--MANIFEST_PATH",
        str(path),
        "--OUTPUT_PATH",
        str(tmp_path / "out"),
    )
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], proc.stderr[-2000:]
    assert str(path if manifest else source) in lines[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
