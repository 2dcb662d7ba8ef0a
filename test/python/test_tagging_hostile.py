"""regex_tagging on hostile input: files whose columns differ (added, widened, nested), partition
folders, stray and damaged files, awkward values and rules, a run SIGKILLed while publishing, a
JDBC load that fails half-way.

Inputs are written with pyarrow and outputs read back with pyarrow, not with Spark; the expected
tags come from Python's ``re`` on patterns that mean the same in Java and Python, so every check
is against a reference independent of the job.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import regex_tagging as tagging
from support import REPO, SCRIPTS, common, run_script, write_bytes

HUGE = "x" * 3_000_000 + " needle"
UTC = dt.UTC

# (tag, column, pattern, how the reference renders the column's value as text)
RULES: list[tuple[str, str, str, str]] = [
    ("meta", "body", r"a\.b\*c\(d\)\[e\]", "str"),
    ("unicode", "body", "日本|🙂", "str"),
    ("summer", "body", "(?iu)ÉTÉ", "str"),
    ("huge", "body", "needle$", "str"),
    ("comma, tag", "body", "^x{2,3}y", "str"),
    ("noted", "note", "(?i)^important", "str"),  # only day 2's file has the column
    ("forties", "amount", r"^4\d$", "int"),  # int32 in some files, int64 in others
    ("forties", "body", "forty", "str"),  # a duplicate tag: listed once
    ("listed", "extra", r"\[red, null\]", "list"),
    ("morning", "ts", "^2024-01-03 0[0-9]:", "ts"),
    ("nested", "nested", "^\\{7, ", "struct"),
    ("day2", "date", "-02$", "date"),
]


def rules_csv() -> bytes:
    """With a BOM, CRLF line ends and quoted fields holding commas and quotes."""

    def q(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n') else v

    lines = ["tag,column,pattern"] + [f"{q(t)},{q(c)},{q(p)}" for t, c, p, _ in RULES]
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()


def text_of(value: Any, kind: str) -> str | None:
    """The column's text as Spark casts it to string, rendered independently."""
    if value is None:
        return None
    if kind == "list":
        return "[" + ", ".join("null" if v is None else str(v) for v in value) + "]"
    if kind == "struct":
        return "{" + ", ".join("null" if v is None else str(v) for v in value.values()) + "}"
    if kind == "ts":
        return utc(value).strftime("%Y-%m-%d %H:%M:%S")
    if kind == "date":
        return value.isoformat()
    return str(value)


def utc(t: dt.datetime) -> dt.datetime:
    # Spark writes timestamps as instants without a zone (INT96); pyarrow reads them back naive.
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def expected_tags(row: dict[str, Any]) -> list[str]:
    tags: list[str] = []
    for tag, column, pattern, kind in RULES:
        text = text_of(row.get(column), kind)
        if text is not None and re.search(pattern, text) and tag not in tags:
            tags.append(tag)
    return tags


def canonical(row: dict[str, Any]) -> str:
    def norm(v: Any) -> Any:
        if isinstance(v, Decimal):
            return ("dec", str(v.normalize()))
        if isinstance(v, dt.datetime):
            return ("ts", utc(v).isoformat())
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v

    return json.dumps({k: norm(v) for k, v in sorted(row.items())}, default=str, sort_keys=True)


def read_rows(folder: Path) -> list[dict[str, Any]]:
    files = sorted(p for p in folder.rglob("*.parquet") if not p.name.startswith((".", "_")))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def write_day(root: Path, day: str, name: str, table: pa.Table) -> list[dict[str, Any]]:
    """Writes one file under ``date=<day>/``; returns its rows with the partition value."""
    folder = root / f"date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / name)
    date = dt.date.fromisoformat(day)
    return [{**r, "date": date} for r in table.to_pylist()]


def drifting_input(root: Path) -> list[dict[str, Any]]:
    """Three days of a table whose columns change; returns every row as the merged schema holds
    it (missing columns null, widened values equal), with its date."""
    day1 = pa.table(
        {
            "id": pa.array([1, 2, 3, 4], pa.int32()),
            "body": ["a.b*c(d)[e] literal", "été à Paris", None, ""],
            "amount": pa.array([41, None, 7, 40], pa.int32()),
            "score": pa.array([1.5, None, 0.1, -2.0], pa.float32()),
            "price": pa.array([Decimal("1.25"), None, Decimal("-999.99"), Decimal("0")]),
            "nested": pa.array(
                [{"a": 7}, None, {"a": None}, {"a": 8}], pa.struct([("a", pa.int32())])
            ),
        }
    ).cast(
        pa.schema(
            [
                ("id", pa.int32()),
                ("body", pa.string()),
                ("amount", pa.int32()),
                ("score", pa.float32()),
                ("price", pa.decimal128(5, 2)),
                ("nested", pa.struct([("a", pa.int32())])),
            ]
        )
    )
    day2 = pa.table(
        {
            "id": pa.array([5, 6, 7], pa.int64()),  # widened
            "note": ["Important: call back", "important", "not important"],  # added
            "BODY": ["日本語 forty", "xxy", "ÉTÉ 🙂 \n second line"],  # other spelling
            "amount": pa.array([49, 50, None], pa.int64()),
            "score": pa.array([2.25, None, 1e300], pa.float64()),
            "price": pa.array([Decimal("12345.678"), None, Decimal("0.001")], pa.decimal128(8, 3)),
            "nested": pa.array(
                [{"a": 7, "b": "x"}, {"a": None, "b": None}, None],
                pa.struct([("a", pa.int64()), ("b", pa.string())]),
            ),
        }
    )
    day3 = pa.table(
        {
            "id": pa.array([8, 9, 10], pa.int64()),
            "body": [HUGE, None, "plain"],
            "extra": pa.array([["red", None], [], None], pa.list_(pa.string())),
            "ts": pa.array(
                [
                    dt.datetime(2024, 1, 3, 7, 30, tzinfo=UTC),
                    dt.datetime(2024, 1, 3, 12, 0, tzinfo=UTC),
                    None,
                ],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    rows = write_day(root, "2024-01-01", "part-0.parquet", day1)
    rows += write_day(root, "2024-01-02", "part-0.parquet", day2)
    rows += write_day(root, "2024-01-03", "part-0.parquet", day3)
    # What Spark and Hadoop leave beside data, which Spark skips and so must the job.
    write_bytes(root / "_SUCCESS", b"")
    write_bytes(root / "date=2024-01-01" / ".part-0.parquet.crc", b"\x00crc")
    write_bytes(root / "_temporary" / "0" / "junk.txt", "not data")
    columns = ["id", "body", "amount", "score", "price", "nested", "note", "extra", "ts", "date"]
    merged = []
    for r in rows:
        r = {("body" if k == "BODY" else k): v for k, v in r.items()}
        if r.get("nested") is not None:
            r["nested"] = {"a": r["nested"].get("a"), "b": r["nested"].get("b")}
        merged.append({c: r.get(c) for c in columns})
    return merged


def test_every_column_of_every_file_reaches_the_output(spark, tmp_path: Path):
    data = tmp_path / "in"
    expected = drifting_input(data)
    rules = write_bytes(tmp_path / "rules.csv", rules_csv())
    out = tmp_path / "out"
    counts = tagging.run(spark, str(data), str(rules), output_path=str(out))

    assert (counts["read"], counts["written"]) == (len(expected), len(expected)) == (10, 10)
    assert counts["partition_columns"] == ["date"]
    schema = pq.read_schema(next(out.glob("*.parquet")))
    types = {f.name: str(f.type) for f in schema}
    assert types["id"] == "int64" and types["amount"] == "int64"
    assert types["score"] == "double" and types["price"] == "decimal128(8, 3)"
    assert types["nested"] == "struct<a: int64, b: string>"
    got = read_rows(out)
    for row in got:
        assert row.pop("tags") == expected_tags(row), row["id"]
    assert Counter(map(canonical, got)) == Counter(map(canonical, expected))
    by_id = {r["id"]: r for r in got}
    # Spot checks of the reference itself, so a wrong reference cannot pass silently.
    assert by_id[5]["note"] == "Important: call back" and by_id[1]["note"] is None
    assert expected_tags(by_id[1]) == ["meta", "forties", "nested"]
    assert expected_tags(by_id[6]) == ["comma, tag", "noted", "day2"]
    assert expected_tags(by_id[5]) == ["unicode", "noted", "forties", "nested", "day2"]
    assert expected_tags(by_id[8]) == ["huge", "listed", "morning"]
    assert by_id[8]["body"] == HUGE
    assert by_id[3]["nested"] == {"a": None, "b": None} and by_id[2]["nested"] is None


def test_types_that_cannot_be_merged_are_named_with_the_files(spark, tmp_path: Path):
    rules = write_bytes(tmp_path / "rules.csv", "tag,column,pattern\nx,id,1\n")
    for case, (first, second) in enumerate(
        [
            (pa.int64(), pa.string()),
            (pa.int64(), pa.float64()),  # a long does not fit a double exactly
            (pa.timestamp("us", tz="UTC"), pa.date32()),
        ]
    ):
        data = tmp_path / f"in-{case}"
        data.mkdir()
        pq.write_table(
            pa.table({"id": pa.array([1], pa.int64()), "v": pa.nulls(1, first)}), data / "a.parquet"
        )
        pq.write_table(
            pa.table({"id": pa.array([2], pa.int64()), "V": pa.nulls(1, second)}),
            data / "b.parquet",
        )
        with pytest.raises(common.JobInputError) as err:
            tagging.run(spark, str(data), str(rules), output_path=str(tmp_path / "o"))
        text = str(err.value)
        assert "column 'v' has types that cannot be merged" in text, text
        assert f"{data}/a.parquet" in text and f"{data}/b.parquet" in text, text
        assert not (tmp_path / "o").exists()


GOOD = pa.table({"id": pa.array([1, 2], pa.int64()), "body": ["a", "b"]})


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("notes.txt", b"remember to rerun\n", "is not a Parquet file"),
        ("part-0.crc", b"\x00\x01crc", "is not a Parquet file"),
        ("empty.parquet", b"", "is empty (0 bytes)"),
        ("SUCCESS", b"", "is empty (0 bytes)"),
        ("cut.parquet", parquet_bytes(GOOD)[:-20], "is a damaged Parquet file"),
        ("half.parquet", parquet_bytes(GOOD)[:40], None),
    ],
)
def test_a_stray_or_damaged_file_is_named(spark, tmp_path: Path, name, content, problem):
    data = tmp_path / "in"
    data.mkdir()
    pq.write_table(GOOD, data / "part-0.parquet")
    write_bytes(data / "sub=1" / name if name == "SUCCESS" else data / name, content)
    if name == "SUCCESS":  # a bad file inside a partition folder is found there too
        (data / "part-0.parquet").rename(data / "sub=1" / "part-0.parquet")
    rules = write_bytes(tmp_path / "rules.csv", "tag,column,pattern\nx,body,a\n")
    with pytest.raises(common.JobInputError) as err:
        tagging.run(spark, str(data), str(rules), output_path=str(tmp_path / "o"))
    text = str(err.value)
    assert name in text and "move other files out" in text, text
    if problem:
        assert f"{name} {problem}" in text, text
    else:
        assert re.search(r"is not a Parquet file|is a damaged Parquet file", text), text
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_cli_names_every_bad_file_on_one_line(tmp_path: Path):
    data = tmp_path / "in"
    data.mkdir()
    pq.write_table(GOOD, data / "part-0.parquet")
    write_bytes(data / "notes.txt", "hello")
    write_bytes(data / "cut.parquet", parquet_bytes(GOOD)[:-9])
    write_bytes(data / "_SUCCESS", b"")
    rules = write_bytes(tmp_path / "rules.csv", "tag,column,pattern\nx,body,a\n")
    proc = run_script(
        "regex_tagging.py",
        *("--INPUT_PATH", str(data), "--RULES_PATH", str(rules)),
        *("--OUTPUT_PATH", str(tmp_path / "out")),
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "notes.txt is not a Parquet file" in lines[0]
    assert "cut.parquet is a damaged Parquet file" in lines[0]
    assert "_SUCCESS" not in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_empty_input_and_a_tags_column(spark, tmp_path: Path):
    rules = write_bytes(tmp_path / "rules.csv", "tag,column,pattern\nhit,body,^a\n")
    empty = tmp_path / "empty"
    write_bytes(empty / "_SUCCESS", b"")
    with pytest.raises(common.JobInputError, match="holds no data files"):
        tagging.run(spark, str(empty), str(rules), output_path=str(tmp_path / "o"))
    with pytest.raises(common.JobInputError, match="does not exist"):
        tagging.run(spark, str(tmp_path / "nope"), str(rules), output_path=str(tmp_path / "o"))

    data = tmp_path / "in"
    data.mkdir()
    table = pa.table({"body": ["ab", "b", None], "Tags": [["kept"], None, []]})
    pq.write_table(table, data / "part-0.parquet")
    with pytest.raises(common.JobInputError, match="--TAGS_COLUMN"):
        tagging.run(spark, str(data), str(rules), output_path=str(tmp_path / "o"))
    out = tmp_path / "o"
    counts = tagging.run(
        spark, str(data), str(rules), output_path=str(out), tags_column="rule_tags"
    )
    assert counts["written"] == 3
    got = sorted(read_rows(out), key=lambda r: str(r["body"]))
    assert got == sorted(
        [
            {"body": "ab", "Tags": ["kept"], "rule_tags": ["hit"]},
            {"body": "b", "Tags": None, "rule_tags": []},
            {"body": None, "Tags": [], "rule_tags": []},
        ],
        key=lambda r: str(r["body"]),
    )


def test_rules_table_with_bom_crlf_quotes_and_blank_lines():
    text = rules_csv().decode("utf-8-sig") + "\r\n,,\r\n"
    rules = tagging.parse_rules(text, "rules.csv")
    assert [(r.tag, r.column, r.pattern) for r in rules] == [(t, c, p) for t, c, p, _ in RULES]


# --------------------------------------------------------------------------------------------
# Killed runs
# --------------------------------------------------------------------------------------------

CHILD = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
import glue_etl_common as common
import regex_tagging as tagging
from pyspark.sql import functions as F

pause = os.environ.get("PAUSE_AT", "")
real_tag, real_rename, real_publish = tagging.tag, common._rename, common.publish

def slow(v):
    time.sleep(0.3)
    return v

def tag(df, rules, column="tags"):
    if pause == "write":  # a slow write, so the kill lands inside it
        print("PAUSED", flush=True)
        df = df.withColumn("id", F.udf(slow, "bigint")("id"))
    return real_tag(df, rules, column)

def publish(spark, staging, dest):
    if pause == "publish":
        print("PAUSED", flush=True)
        time.sleep(600)
    real_publish(spark, staging, dest)

def rename(spark, src, dst):
    real_rename(spark, src, dst)
    if pause == "renamed":
        print("PAUSED", flush=True)
        time.sleep(600)

tagging.tag, common.publish, common._rename = tag, publish, rename
sys.argv = ["regex_tagging.py", *sys.argv[2:]]
common.run_main(tagging.main)
print("DONE", flush=True)
"""


def run_child(script: Path, args: list[str], pause: str, out: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(script), str(SCRIPTS), *args],
        cwd=REPO,
        env={**os.environ, "PAUSE_AT": pause, "SPARK_MASTER": "local[1]"},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("PAUSED"):
                deadline = time.monotonic() + 180
                while pause == "write" and time.monotonic() < deadline:
                    # Once Spark has a task attempt writing under the staging folder.
                    if any(out.parent.glob("_staging.*/_temporary/*/*")):
                        break
                    time.sleep(0.1)
                os.killpg(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if pause:
        assert proc.returncode == -signal.SIGKILL, "".join(lines)
    else:
        assert proc.returncode == 0 and "DONE" in "".join(lines), "".join(lines)


@pytest.mark.slow
def test_a_run_killed_at_any_point_leaves_the_old_or_the_new_output(spark, tmp_path: Path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    data, out = tmp_path / "in", tmp_path / "tagged"
    rules = write_bytes(tmp_path / "rules.csv", "tag,column,pattern\neven,body,[02468]$\n")
    old_rows = [{"id": i, "body": f"old {i}"} for i in range(6)]
    pq.write_table(pa.Table.from_pylist(old_rows), tmp_path / "seed.parquet")
    data.mkdir()
    (tmp_path / "seed.parquet").rename(data / "part-0.parquet")
    args = ["--INPUT_PATH", str(data), "--RULES_PATH", str(rules), "--OUTPUT_PATH", str(out)]
    run_child(script, args, "", out)
    old = Counter(map(canonical, read_rows(out)))
    assert sum(old.values()) == 6
    # The next day's input: what a complete new output must hold.
    new_rows = [{"id": i, "body": f"new {i}"} for i in range(9)]
    pq.write_table(pa.Table.from_pylist(new_rows), data / "part-0.parquet")

    for pause in ("write", "publish", "renamed"):
        run_child(script, args, pause, out)
        if pause == "renamed":
            # Killed between the two renames: the old output is whole beside the destination,
            # and the recovery every run starts with puts it back.
            assert not out.exists()
            common.recover(spark, str(out))
        assert Counter(map(canonical, read_rows(out))) == old, pause
    run_child(script, args, "", out)
    got = read_rows(out)
    want = [{**r, "tags": ["even"] if r["id"] % 2 == 0 else []} for r in new_rows]
    assert Counter(map(canonical, got)) == Counter(map(canonical, want))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("_", "."))) == []


# --------------------------------------------------------------------------------------------
# JDBC: all or nothing
# --------------------------------------------------------------------------------------------


def test_a_failed_jdbc_load_keeps_the_previous_rows(spark, tmp_path: Path):
    target = tagging.JdbcTarget("jdbc:derby:memory:tagging_atomic;create=true")
    rules = write_bytes(tmp_path / "rules.csv", "tag,column,pattern\nbig,body,^B\n")
    data = tmp_path / "in"
    data.mkdir()
    first = [{"id": f"r{i}", "body": "Big" if i % 2 else "small"} for i in range(20)]
    pq.write_table(pa.Table.from_pylist(first), data / "part-0.parquet")
    tagging.run(spark, str(data), str(rules), jdbc=target, jdbc_table="TAGGED")

    def table_rows() -> Counter[str]:
        conn = tagging.jdbc_connect(spark, target)
        try:
            rs = conn.createStatement().executeQuery('SELECT "id", "body", "tags" FROM TAGGED')
            rows = []
            while rs.next():
                rows.append(
                    canonical(
                        {
                            "id": rs.getString(1),
                            "body": rs.getString(2),
                            "tags": json.loads(rs.getString(3)),
                        }
                    )
                )
            return Counter(rows)
        finally:
            conn.close()

    expected = Counter(
        canonical({**r, "tags": ["big"] if r["body"] == "Big" else []}) for r in first
    )
    assert table_rows() == expected
    # The table's owner adds a constraint the next load breaks on its last rows.
    conn = tagging.jdbc_connect(spark, target)
    conn.createStatement().executeUpdate(
        "ALTER TABLE TAGGED ADD CONSTRAINT no_r99 CHECK (CAST(\"id\" AS VARCHAR(20)) <> 'r99')"
    )
    conn.close()
    second = [{"id": f"r{i}", "body": "Big"} for i in range(80, 100)]
    pq.write_table(pa.Table.from_pylist(second), data / "part-0.parquet")
    with pytest.raises(common.JobInputError, match="TAGGED keeps its previous rows") as err:
        tagging.run(spark, str(data), str(rules), jdbc=target, jdbc_table="TAGGED")
    assert "NO_R99" in str(err.value).upper()
    assert table_rows() == expected
