"""The NDJSON job's two engines write the same batch: the Python engine (Spark tasks splitting
lines with Python's JSON scanner, Parquet written by Arrow) against the exact splitter line by
line, and against the Spark engine on whole hostile batches; inputs it would read differently go
to Spark."""

from __future__ import annotations

import bz2
import gzip
import json
import random
from pathlib import Path
from typing import Any

import glue_etl_common as common
import ndjson_manifest_to_parquet as ndjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support import read_json_lines
from test_ndjson_hostile import DATE, STAMP, hostile_files, run_corpus

# --------------------------------------------------------------------------------------------
# Line by line, against the exact splitter
# --------------------------------------------------------------------------------------------

KEYS = ["id", "a", "b", "k", "", "é", "a b"]
STRINGS = [
    "x",
    "",
    "é",
    "😀",
    "{",
    "}",
    "[1]",
    '"a":',
    "a,b",
    "\\",
    '"',
    "\t",
    "\u2028",
    "\x7f",
    "\x01",
    "k",
]
ESCAPED = [
    r"\"",
    r"\\",
    r"\/",
    r"\u00e9",
    r"\ud83d\ude00",
    r"\ud800",
    r"\udc00x",
    r"\n",
    r"\u0000",
    r"\b\f\r\t",
    r"\u2028",
]
NUMBERS = ["0", "-0", "1.10", "-0.0", "1e400", "1E+2", "2.5e-10", "12345678901234567890", "7"]
BAD = ["01", "1.", ".5", "+1", "NaN", "-Infinity", "'x'", "tru", "1e", "--1"]


def _string(rnd: random.Random) -> str:
    if rnd.random() < 0.25:
        return '"' + "".join(rnd.choice(ESCAPED) for _ in range(rnd.randint(1, 3))) + '"'
    return json.dumps(rnd.choice(STRINGS), ensure_ascii=rnd.random() < 0.2)


def _space(rnd: random.Random) -> str:
    return rnd.choice(["", "", "", " ", "  ", "\t"])


def _value(rnd: random.Random, depth: int = 0) -> str:
    kind = rnd.random()
    if kind < 0.3:
        return _string(rnd)
    if kind < 0.55:
        return rnd.choice(NUMBERS)
    if kind < 0.65:
        return rnd.choice(["true", "false", "null"])
    if kind < 0.7:
        return rnd.choice(BAD)
    if depth > 2:
        return "1"
    items = [_value(rnd, depth + 1) for _ in range(rnd.randint(0, 3))]
    if kind < 0.85:
        # Nested keys that repeat the top-level ones, so a key's text is not alone in the line.
        pairs = [
            f"{_string(rnd) if rnd.random() < 0.5 else json.dumps(rnd.choice(KEYS))}"
            f"{_space(rnd)}:{_space(rnd)}{v}"
            for v in items
        ]
        return "{" + _space(rnd) + ("," + _space(rnd)).join(pairs) + _space(rnd) + "}"
    return "[" + _space(rnd) + ("," + _space(rnd)).join(items) + _space(rnd) + "]"


def random_line(rnd: random.Random) -> str:
    keys = rnd.sample(KEYS, rnd.randint(0, 4))
    if keys and rnd.random() < 0.1:
        keys.append(keys[0])  # a repeated key
    fields = [
        f"{json.dumps(k, ensure_ascii=rnd.random() < 0.3)}{_space(rnd)}:{_space(rnd)}{_value(rnd)}"
        for k in keys
    ]
    line = "{" + _space(rnd) + ("," + _space(rnd)).join(fields) + _space(rnd) + "}"
    mutation = rnd.random()
    if mutation < 0.04:
        line = line[: rnd.randint(0, len(line))]
    elif mutation < 0.07:
        line = line + rnd.choice([" x", "}", ",", " {}"])
    elif mutation < 0.1:
        line = rnd.choice([" ", "\t", "\ufeff"]) + line + rnd.choice(["", " "])
    elif mutation < 0.12:
        line = rnd.choice(["[1, 2]", '"s"', "42", "null", "", "  ", "\ufeff", "\u2028"])
    return line


def engine_rows(lines: list[str], keys: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The Python engine's rows (known keys and extras merged; the columnar path's first, then
    the scanner's) and reject reasons."""
    tables, split = ndjson.chunk_tables("".join(f"{line}\n" for line in lines), keys, "f", STAMP)
    names = ndjson.output_names(keys)
    rows = []
    for row in (r for t in tables for r in t.to_pylist()):
        got = {k: row[names[k]] for k in keys if row[names[k]] is not None}
        got.update(json.loads(row[ndjson.EXTRA]) if row[ndjson.EXTRA] else {})
        rows.append({k: v for k, v in got.items() if v is not None})
    return rows, [reason for _, reason in split.rejects]


@pytest.mark.parametrize("columnar", [True, False])
def test_every_line_splits_as_the_exact_splitter_splits_it(monkeypatch, columnar: bool):
    """Thousands of generated lines (escapes, nesting that repeats the top-level keys, spacing,
    bad numbers, repeated keys, truncation, text after the object), each alone: the same values
    as exact text, or the same reject reason; with the columnar path offered every line (fewer
    lines: it compiles its expression for each), and with the scanner alone."""
    monkeypatch.setattr(ndjson, "COLUMNAR_MIN_LINES", 1 if columnar else 1 << 30)
    rnd = random.Random(7)
    keys = KEYS[:4]
    lines = [random_line(rnd) for _ in range(800 if columnar else 4000)]
    wrong = []
    for line in lines:
        entries, reason = ndjson.exact_entries(line.encode())
        rows, reasons = engine_rows([line], keys)
        if not line.strip(ndjson.BLANK):
            got, want = (rows, reasons), ([], [])
        elif entries is None:
            got, want = (rows, reasons), ([], [reason])
        else:
            parsed = {k: v for k, v in json.loads(entries).items() if v is not None}
            got, want = (rows, reasons), ([parsed], [])
        if got != want:
            wrong.append((line, got, want))
    assert not wrong, wrong[:5]
    # The generator reaches every path: columnar rows, scanner rows, exact rows, rejects.
    share = len(lines) / 4000
    assert len(ndjson.columnar_split(pa.array(lines), keys)[1]) < len(lines) - 500 * share
    split = ndjson.split_text("\n".join(lines))
    assert sum(line is None for line in split.lines) > 100 * share
    assert sum(line is not None for line in split.lines) > 1000 * share
    assert len(split.rejects) > 300 * share


def test_many_lines_at_once_give_each_record_once():
    """Generated lines with plain ones among them (as Python's json writes them, compact or
    spaced): the columnar path takes the plain ones, across line boundaries, and the rows
    are those of the exact splitter, each once."""
    rnd = random.Random(8)
    lines = [random_line(rnd) for _ in range(3000)]
    for i in range(3000):
        record = {"id": i, "a": rnd.choice([1.10, "x", None, True, [1, {"b": 2}], {"c": []}])}
        if rnd.random() < 0.5:
            record["b"] = "é\t" * rnd.randint(0, 2)
        lines.append(json.dumps(record, separators=rnd.choice([(",", ":"), (", ", ": ")])))
    rnd.shuffle(lines)
    rows, reasons = engine_rows(lines, KEYS)
    expected_rows, expected_reasons = [], []
    for line in lines:
        if not line.strip(ndjson.BLANK):
            continue
        entries, reason = ndjson.exact_entries(line.encode())
        if entries is None:
            expected_reasons.append(reason)
        else:
            expected_rows.append({k: v for k, v in json.loads(entries).items() if v is not None})
    assert reasons == expected_reasons

    def text(row: dict[str, Any]) -> str:
        return json.dumps(row, sort_keys=True)

    assert sorted(map(text, rows)) == sorted(map(text, expected_rows))
    assert len(ndjson.columnar_split(pa.array(lines), KEYS)[1]) < 4000


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("a\nb", ["a", "b"]),
        ("a\r\nb\r\n", ["a", "b"]),
        ("a\rb\r\rc", ["a", "b", "", "c"]),
        ("a\n\n", ["a", ""]),
        ("", []),
        ("\n", [""]),
    ],
)
def test_lines_end_where_spark_ends_them(text: str, lines: list[str]):
    """LF, CRLF and a lone CR end a line; a final line break starts no empty line."""
    split = ndjson.split_text(text)
    assert [line for line, _ in split.rejects] == [ln for ln in lines if ln.strip()]
    assert split.blank == sum(1 for ln in lines if not ln.strip())


@pytest.mark.parametrize("compressed", [False, True])
def test_chunks_end_after_a_line_feed(tmp_path: Path, compressed: bool):
    """A file read in chunks of a few bytes: whole lines, CRLF and multi-byte characters never
    cut, lines longer than a chunk kept whole, every byte once; invalid UTF-8 named by offset."""
    bodies = [b"", b"a\nb", b"a\nb\n", b"x" * 25 + b"\n" + b"y" * 7, "é\r\n".encode() * 20]
    for n, body in enumerate(bodies):
        path = tmp_path / f"f{n}.ndjson{'.gz' if compressed else ''}"
        path.write_bytes(gzip.compress(body) if compressed else body)
        for size in (1, 3, 10, 1000):
            chunks = list(ndjson.file_texts(str(path), size))
            assert "".join(chunks) == body.decode()
            assert all(c.endswith("\n") for c in chunks[:-1])
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(b"ok\nbad \xff\n")
    with pytest.raises(common.ArrowFallback, match="not UTF-8 at byte 7"):
        list(ndjson.file_texts(str(bad), 2))


def test_tasks_share_the_bytes():
    files = [(f"f{i}", f"s{i}", size) for i, size in enumerate([90, 10, 50, 40, 10, 0])]
    tasks = ndjson.plan_tasks(files, 2)
    loads = sorted(sum(dict((p, s) for p, _, s in files)[p] for p, _ in t.files) for t in tasks)
    assert loads == [100, 100]
    assert sorted(p for t in tasks for p, _ in t.files) == sorted(p for p, _, _ in files)
    assert ndjson.plan_tasks(files[:1], 4)[0].files == (("f0", "s0"),)


# --------------------------------------------------------------------------------------------
# Whole batches, against the Spark engine
# --------------------------------------------------------------------------------------------


def run(spark, root: Path, files: dict[str, bytes], engine: str, **kwargs: Any) -> dict[str, Any]:
    """Both engines' batch: counts, rows and rejects, with the run's folder taken out of the
    file names so two runs compare."""
    result = run_corpus(spark, root, files, list(files), engine, **kwargs)
    counts, out = result["counts"], result["out"]
    folder = f"merged-parquet-{DATE}/batch={counts['batch']}"
    frame = spark.read.parquet(str(out / folder))

    def text(row: dict[str, Any]) -> str:
        return json.dumps(row, sort_keys=True).replace(str(root), "ROOT")

    return {
        "counts": counts,
        "schema": frame.schema.simpleString(),
        "rows": sorted(text(r.asDict()) for r in frame.collect()),
        "rejects": sorted(text(r) for r in read_json_lines(out / "_rejected" / folder)),
        "staged": [p.name for p in out.rglob("_staging.*")],
    }


def corpus() -> dict[str, bytes]:
    """The hostile corpus but its invalid UTF-8 (which goes to Spark), with lone CR line breaks,
    odd file names and values that land in ``_extra_fields``."""
    files = hostile_files(random.Random(12))
    del files[f"{DATE}-invalid-utf8.ndjson"]
    files[f"{DATE}-cr #1 %41.ndjson"] = b'{"id":"cr1","v":1}\r{"id":"cr2","v":true}\r\r{"id":"cr3"}'
    files[f"{DATE}-extras.ndjson"] = (
        b'{"id":"e1","zz":"a\\u0001b\\u001fc\\"d\\\\e\\u2028f\\t\\n\\b\\f\\r\\u007f\\u00e9",'
        b'"yy":null,"xx":{"a": [1, 2.50]},"ww":false,"vv":-0.0}\n'
        b'{"id":"e2","vv":"1","ww":[]}\n'
    )
    rnd = random.Random(13)
    files[f"{DATE}-random.ndjson"] = "".join(random_line(rnd) + "\n" for _ in range(400)).encode()
    return files


@pytest.mark.parametrize("columns", [None, ["id", "amount"]])
def test_both_engines_write_the_same_batch(spark, tmp_path: Path, columns):
    """Rows (every column, ``_extra_fields`` as Spark's ``to_json`` writes it, ``_source_file``
    as Spark spells it), the Parquet schema, rejects and counts, on the hostile corpus; with the
    sampled columns and with two given columns (the rest in ``_extra_fields``)."""
    files = corpus()
    python = run(spark, tmp_path / "python", files, "python", columns=columns)
    spark_run = run(spark, tmp_path / "spark", files, "spark", columns=columns)
    assert python["counts"]["engine"] == "python", python["counts"].get("engine_note")
    assert spark_run["counts"]["engine"] == "spark"
    for key in ("read", "written", "rejected", "blank_lines"):
        assert python["counts"][key] == spark_run["counts"][key], key
    assert python["schema"] == spark_run["schema"]
    assert python["rows"] == spark_run["rows"]
    assert python["rejects"] == spark_run["rejects"]
    assert python["counts"]["rejected"] > 100
    assert python["staged"] == []


@pytest.mark.parametrize(
    ("files", "note", "patch"),
    [
        (
            {f"{DATE}-u.ndjson": b'{"id": "ok"}\n{"id": "bad \xff"}\n'},
            "not UTF-8 at byte 25",
            {},
        ),
        (
            {f"{DATE}-a.ndjson.bz2": bz2.compress(b'{"id": "z1"}\n{"id": 2}\n')},
            "plain text and gzip only",
            {},
        ),
        (
            {f"{DATE}-r.ndjson": b'{"id": "ok"}\n' + b"not json\n" * 50},
            "bytes of rejected lines in one task",
            {"REJECT_MAX_BYTES": 100},
        ),
    ],
    ids=["invalid-utf8", "bz2", "many-rejects"],
)
def test_what_the_python_engine_cannot_read_alike_goes_to_spark(
    spark, tmp_path: Path, monkeypatch, files, note, patch
):
    """The whole run goes to Spark before anything is published, the summary says why, and
    the batch is the one the Spark engine writes."""
    for name, value in patch.items():
        monkeypatch.setattr(ndjson, name, value)
    auto = run(spark, tmp_path / "auto", files, "auto")
    forced = run(spark, tmp_path / "spark", files, "spark")
    assert auto["counts"]["engine"] == "spark"
    assert note in auto["counts"]["engine_note"]
    assert "engine_note" not in forced["counts"]
    assert (auto["rows"], auto["rejects"]) == (forced["rows"], forced["rejects"])
    assert auto["staged"] == []


def test_output_files_stay_near_the_target(spark, tmp_path: Path, monkeypatch):
    """Row groups of a quarter of a small target: several files per task, each about the target
    (the last of a task smaller), every row once."""
    monkeypatch.setattr(ndjson, "ROW_GROUP_BYTES", 64 * 1024)
    monkeypatch.setattr(ndjson, "CHUNK_BYTES", 64 * 1024)
    rnd = random.Random(3)
    files = {}
    for f in range(4):
        lines = [
            json.dumps({"id": f"{f}-{i}", "text": f"{rnd.getrandbits(120):030x}", "n": i})
            for i in range(30_000)
        ]
        files[f"{DATE}-big-{f}.ndjson"] = ("\n".join(lines) + "\n").encode()
    result = run(spark, tmp_path, files, "python", target_file_mb=1)
    counts = result["counts"]
    assert counts["engine"] == "python"
    assert counts["written"] == 120_000 == len(result["rows"])
    folder = tmp_path / "out" / f"merged-parquet-{DATE}" / f"batch={counts['batch']}"
    sizes = sorted(p.stat().st_size for p in folder.glob("*.parquet"))
    assert counts["output_files"] == len(sizes) >= 3
    assert max(sizes) <= 1.25 * 1024 * 1024
    # Every task writes files of about the target, then one with what is left.
    assert sum(s < 0.9 * 1024 * 1024 for s in sizes) <= counts["tasks"] < len(sizes)
    assert max(pq.ParquetFile(p).metadata.num_row_groups for p in folder.glob("*.parquet")) > 1


def test_unknown_engine_is_refused(spark, tmp_path: Path):
    with pytest.raises(common.JobInputError, match="--ENGINE must be one of auto, python, spark"):
        run(spark, tmp_path, {f"{DATE}-a.ndjson": b'{"id": 1}\n'}, "fast")


def test_python_engine_reads_and_writes_s3(moto_endpoint: str, monkeypatch):
    """A task on S3 through Arrow's own client (the AWS SDK's default credentials and
    endpoint), against a local S3 server: gzip read, Parquet part written, rejects returned."""
    import gzip

    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(
        Bucket="ndjson-raw", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    body = b'{"id": "s1", "amount": 1.10}\r\n{"id": "s2", "tags": [1, 2]}\r\nnope\r\n'
    s3.put_object(Bucket="ndjson-raw", Key="in/a.ndjson.gz", Body=gzip.compress(body))
    path = "s3://ndjson-raw/in/a.ndjson.gz"
    job = ndjson.EngineJob(
        ("id", "amount"), STAMP, "s3://ndjson-raw/out/_staging.b.r1", "r1", 128 << 20
    )
    result = ndjson.run_task(ndjson.EngineTask(3, ((path, path),)), job)
    assert result["fallback"] is None
    assert (result["read"], result["written"], result["files"]) == (3, 2, 1)
    assert [r[common.REJECT_REASON] for r in result["rejects"]] == [
        "not valid JSON: expected '{' at character 0, found 'n'"
    ]
    listed = s3.list_objects_v2(Bucket="ndjson-raw", Prefix="out/")["Contents"]
    assert [o["Key"] for o in listed] == ["out/_staging.b.r1/part-00003-0000-r1.snappy.parquet"]
    data = s3.get_object(Bucket="ndjson-raw", Key=listed[0]["Key"])["Body"].read()
    assert pq.read_table(pa.BufferReader(data)).to_pylist() == [
        {
            "id": "s1",
            "amount": "1.10",
            ndjson.EXTRA: None,
            common.SOURCE_FILE: path,
            ndjson.PROCESSING_TS: STAMP,
        },
        {
            "id": "s2",
            "amount": None,
            ndjson.EXTRA: '{"tags":"[1, 2]"}',
            common.SOURCE_FILE: path,
            ndjson.PROCESSING_TS: STAMP,
        },
    ]
