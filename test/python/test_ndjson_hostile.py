"""ndjson_manifest_to_parquet on a generated corpus of hostile NDJSON, checked against an
independent reference built on Python's ``json`` module: every record lands exactly once (a row,
or a reject with its reason), each value equals its exact JSON text, and counts reconcile."""

from __future__ import annotations

import base64
import gzip
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import ndjson_manifest_to_parquet as ndjson
import pytest
from support import read_json_lines, write_bytes

STAMP = "2026-11-23T01:00:00+00:00"
DATE = "2026-11-23"


class Num(str):
    """A number as the text it was written with."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("repeated key")
    return dict(pairs)


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    return False


def reference_records(data: bytes) -> tuple[list[dict[str, Any]], list[bytes], int]:
    """(records, rejected lines' bytes, blank lines) of one file's bytes, by Python's json."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    records: list[dict[str, Any]] = []
    rejected: list[bytes] = []
    blank = 0
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for raw in lines:
        raw = raw[:-1] if raw.endswith(b"\r") else raw
        if not raw.strip(b" \t\r\n"):
            blank += 1
            continue
        try:
            text = raw.decode("utf-8")
            obj = json.loads(
                text, object_pairs_hook=_pairs, parse_float=Num, parse_int=Num, parse_constant=Num
            )
        except (ValueError, RecursionError):
            rejected.append(raw)
            continue
        if not isinstance(obj, dict) or _has_lone_surrogate(obj):
            rejected.append(raw)
            continue
        records.append(obj)
    return records, rejected, blank


def raw_bytes(reject: dict[str, Any]) -> bytes:
    """A rejected line's bytes: its text, or its base64 when the line is not UTF-8."""
    if reject.get("_raw_line_base64"):
        return base64.b64decode(reject["_raw_line_base64"])
    return str(reject["_raw_line"]).encode()


def as_text(value: Any) -> Any:
    """What the output column holds for one top-level value; nested values compare parsed."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return value  # dict or list: compared after parsing the output's text


def reparse(text: str) -> Any:
    return json.loads(text, parse_float=Num, parse_int=Num, parse_constant=Num)


def nested(depth: int) -> str:
    return "[" * depth + "1.50" + "]" * depth


def hostile_files(rnd: random.Random) -> dict[str, bytes]:
    """The class of hostile NDJSON, one concern per file."""
    big = "x" * 20_500_000
    files: dict[str, bytes] = {
        "bom-crlf.ndjson": b"\xef\xbb\xbf"
        + b'{"id": "bom", "amount": 1.10}\r\n\r\n   \r\n{"id": "crlf", "amount": -0.0}\r\n',
        "no-final-newline.ndjson": b'{"id": "last", "amount": 12345678901234567890.123456789}',
        "numbers.ndjson": (
            b'{"id": "n1", "amount": 1e400, "neg": -0, "exp": 1E+2, "big": 1'
            + b"9" * 1500
            + b'}\n{"id": "n2", "amount": 0.1, "neg": -1, "exp": 2.5e-10, "big": 7}\n'
        ),
        "invalid-utf8.ndjson": b'{"id": "u1", "v": "caf\xc3\xa9"}\n'
        b'{"id": "u2", "v": "bad \xff byte"}\n{"id": "u3", "v": "cesu \xed\xa0\x80"}\n',
        "non-objects.ndjson": b'[1, 2]\n"text"\n42\nnull\ntrue\n{"id": "ok1"}\n',
        "truncated.ndjson": b'{"id": "t1", "amount": 3\n{"id": "t2",\n{"id": "t3"} trailing\n'
        b'{"id": "t4"}{"id": "t5"}\n{\'id\': "single"}\n{"id": "t6", "v": NaN}\n',
        "duplicates.ndjson": b'{"id": "d1", "amount": 1, "amount": 2}\n'
        b'{"id": "d2", "ID": "upper", "Id": "mixed"}\n',
        "odd-keys.ndjson": b'{"id": "k1", "a.b": 1, "with space": 2, "": 3, " ": 4}\n',
        "deep.ndjson": (
            '{"id": "deep1", "tree": ' + nested(200) + "}\n"
            '{"id": "deep2", "tree": {"a": {"b": {"c": [1, {"d": 2.50}]}}}}\n'
            '{"id": "deep3", "tree": {"a":1,"b":[1,2]}, "obj": {"x":"y\\"z"}}\n'
            '{"id": "deep4", "tree": {"a": 1}, "obj": {"u":"\\u00e9\\/"}}\n'
        ).encode(),
        "unicode.ndjson": (
            '{"id": "x1", "v": "\\ud83d\\ude00 \\u00e9 \\u0000 tab\\t", "emoji": "😀"}\n'
            '{"id": "x2", "v": "lone \\udc00"}\n'
            '{"id": "x3", "v": "\\u2028 line sep\\u2029", "k\\u00e9y": 1}\n'
        ).encode(),
        "huge.ndjson": ('{"id": "huge", "v": "' + big + '", "n": 1.0}\n{"id": "small"}\n').encode(),
        "types-a.ndjson": b'{"id": "a1", "amount": 12.50, "late": null}\n',
        "types-b.ndjson": b'{"id": "b1", "amount": "12.50"}\n',
        "types-c.ndjson": b'{"id": "c1", "amount": {"value": 12.50, "ccy": "EUR"}}\n',
        "types-d.ndjson": b'{"id": "d9", "amount": [1, "2", 3.0], "only_late": true}\n',
        "empty.ndjson": b"",
        "blank-only.ndjson": b"\n \n\t\n",
        # Unicode line and paragraph separators and NEL are not JSON whitespace: lines of them
        # are rejected, not skipped as blank.
        "separators.ndjson": b'{"id": "s1"}\n\xe2\x80\xa8\n \xc2\x85\n'
        b'\t\xe2\x80\xa9\n{"id": "s2"}\n',
    }
    files["gzipped.ndjson.gz"] = gzip.compress(b'{"id": "gz1", "amount": 5.00}\n{"id": "gz2"}\n')
    for i in range(40):
        files[f"tiny-{i:02d}.ndjson"] = json.dumps({"id": f"tiny{i}", "r": rnd.random()}).encode()
    return {f"{DATE}-{name}": body for name, body in files.items()}


def run_corpus(
    spark,
    tmp_path: Path,
    files: dict[str, bytes],
    uris: list[str],
    engine: str = "spark",
    **options: Any,
) -> dict[str, Any]:
    landing = tmp_path / "landing"
    for name, body in files.items():
        write_bytes(landing / name, body)
    manifest = write_bytes(
        tmp_path / "manifests" / "manifest.json",
        json.dumps({"fileLocations": [{"URIPrefixes": [str(landing / u) for u in uris]}]}),
    )
    out = tmp_path / "out"
    counts = ndjson.convert(
        spark, str(manifest), str(out), processing_timestamp=STAMP, engine=engine, **options
    )
    return {"counts": counts, "out": out}


@pytest.mark.parametrize("route", ["fast", "all", "python"])
def test_hostile_corpus_lands_exactly_once_with_exact_text(
    spark, tmp_path: Path, monkeypatch, route: str
):
    """Both plans of the Spark engine: the JVM-only pass with a second pass over the files
    holding lines for the Python splitter ("fast"), and one pass sending every row through
    Python ("all"); and the Python engine, on the corpus but its invalid UTF-8 (which that
    engine hands to Spark)."""
    share = 1.0 if route == "fast" else -1.0
    monkeypatch.setattr(ndjson, "PYTHON_ROUTE_MAX_FILE_SHARE", share)
    files = hostile_files(random.Random(11))
    if route == "python":
        del files[f"{DATE}-invalid-utf8.ndjson"]
    # Listed twice, and by overlapping prefixes: still read once.
    uris = [*files, f"{DATE}-tiny-0", f"{DATE}-types-a.ndjson"]
    result = run_corpus(spark, tmp_path, files, uris, "python" if route == "python" else "spark")
    counts, out = result["counts"], result["out"]
    assert counts.get("route", "python") == route
    assert counts["engine"] == ("python" if route == "python" else "spark")

    expected: list[tuple[str, dict[str, Any]]] = []
    expected_rejects: Counter[tuple[str, bytes]] = Counter()
    blank = 0
    for name, body in files.items():
        records, rejected, blanks = reference_records(body)
        expected += [(name, r) for r in records]
        expected_rejects.update((name, t) for t in rejected)
        blank += blanks

    assert counts["read"] == len(expected) + sum(expected_rejects.values())
    assert (counts["written"], counts["rejected"]) == (
        len(expected),
        sum(expected_rejects.values()),
    )
    assert counts["blank_lines"] == blank

    batch = out / f"merged-parquet-{DATE}" / f"batch={counts['batch']}"
    df = spark.read.parquet(str(batch))
    rows = [r.asDict() for r in df.collect()]
    # Columns come from the sampled heads of the files (64 KB each: not the 20 MB line).
    sampled = [(n, r) for n, r in expected if not n.endswith("huge.ndjson")]
    names = ndjson.output_names(list(dict.fromkeys(k for _, r in sampled for k in r)))
    assert len(rows) == len(expected)

    # Match every expected record to exactly one output row by source file and id.
    by_key = Counter((r["_source_file"].rsplit("/", 1)[-1], r["id"]) for r in rows)
    assert all(n == 1 for n in by_key.values()), by_key
    assert set(by_key) == {(f, rec["id"]) for f, rec in expected}
    index = {(r["_source_file"].rsplit("/", 1)[-1], r["id"]): r for r in rows}
    for name, rec in expected:
        row = index[(name, rec["id"])]
        extra = json.loads(row["_extra_fields"]) if row["_extra_fields"] else {}
        for key, value in rec.items():
            got = row[names[key]] if key in names else extra[key]
            want = as_text(value)
            if isinstance(want, dict | list):
                assert reparse(got) == want, (name, key, got)
            else:
                assert got == want, (name, key, got[:80] if isinstance(got, str) else got)
        assert row["_processing_timestamp"] == STAMP

    rejects = read_json_lines(
        out / "_rejected" / f"merged-parquet-{DATE}" / f"batch={counts['batch']}"
    )
    got_rejects = Counter((r["_source_file"].rsplit("/", 1)[-1], raw_bytes(r)) for r in rejects)
    assert got_rejects == expected_rejects
    assert all(r["_reject_reason"] for r in rejects)
    reasons = {r["_raw_line"]: r["_reject_reason"] for r in rejects}
    assert "repeated key" in reasons['{"id": "d1", "amount": 1, "amount": 2}']
    assert "not a JSON object" in reasons["[1, 2]"]
    if route != "python":
        assert "not UTF-8" in next(v for k, v in reasons.items() if "bad" in k)
        assert next(r for r in rejects if "bad" in r["_raw_line"])["_raw_line_base64"]


COMPACT = '{"a":123.45,"b":{"c":"d"},"e":[true,false,null]}'
SPLIT_LINES = [
    '{"a": 1.10}',
    '{"a":1,"b":{"c":1.0}}',
    '{"a": {"b": 1}}',
    '{"a":{"b":"\\u0041"}}',
    '{"a":[1,2],"b":"[1,2]"}',
    '{"a":-0}',
    COMPACT,
    '{"a":"x"}{"b":1}',
    '{"a":1,"a":1}',
    '{"a":{"b":{"c":1}}}',
    '{"a":"\\ud800"}',
    '{"a":1E400}',
    '{"a":1.0E10,"b":5.0,"c":-0.0}',
    # Thousands of nested values on one line: the JVM checks must not recurse per value.
    "{" + ",".join(f'"k{i}":[{i}]' for i in range(6000)) + ',"a":{"x":1}}',
]


SPLIT_KEYS = ["a", "b", "c", "e"]


def split_lines_frame(spark):
    """``SPLIT_LINES`` as input rows, line ``i`` from file ``f<i>``."""
    return spark.createDataFrame(
        [(line, f"f{i}") for i, line in enumerate(SPLIT_LINES)], "value string, _source_file string"
    )


def disagreements(rows: dict[str, dict[str, Any]]) -> list[tuple[str, Any, Any]]:
    """Lines whose row (by source file) differs from the Python splitter: reject reason and the
    exact text of each key."""
    wrong = []
    for i, line in enumerate(SPLIT_LINES):
        row = rows[f"f{i}"]
        entries, reason = ndjson.exact_entries(line.encode())
        parsed = json.loads(entries) if entries else {}
        got = (row["_reject_reason"], {k: row[k] for k in SPLIT_KEYS if k in parsed})
        want = (reason, {k: parsed[k] for k in SPLIT_KEYS if k in parsed})
        if got != want:
            wrong.append((line[:80], got, want))
    return wrong


def test_fast_and_exact_paths_agree(spark):
    """Whatever path a line takes, its values are the exact text the Python splitter gives.
    All lines in one Spark job (each row is parsed on its own); every disagreement is listed."""
    parsed = ndjson.parse_lines(split_lines_frame(spark), SPLIT_KEYS, STAMP).collect()
    rows = {r["_source_file"]: r.asDict() for r in parsed}
    assert len(rows) == len(SPLIT_LINES)
    assert not disagreements(rows)


def test_fast_and_slow_routes_split_every_line_once(spark):
    """The JVM-only route defers exactly the lines the Python route takes, and together they
    give what the one-pass plan gives (the Python splitter being the reference)."""
    df = split_lines_frame(spark)
    fast = [r.asDict() for r in ndjson.parse_lines(df, SPLIT_KEYS, STAMP, "fast").collect()]
    slow = [r.asDict() for r in ndjson.parse_lines(df, SPLIT_KEYS, STAMP, "slow").collect()]
    deferred = {r["_source_file"] for r in fast if r["_deferred"]}
    assert deferred == {r["_source_file"] for r in slow}
    assert len(slow) == len(deferred)
    assert all(r["_reject_reason"] is None for r in fast)
    assert all(r[k] is None for r in fast if r["_deferred"] for k in SPLIT_KEYS)
    merged = {r["_source_file"]: r for r in slow}
    merged.update({r["_source_file"]: r for r in fast if not r["_deferred"]})
    assert len(merged) == len(SPLIT_LINES)
    assert not disagreements(merged)
    # A compact line stays in the JVM; a number a double cannot write back does not.
    assert "f0" in deferred  # 1.10
    assert f"f{SPLIT_LINES.index(COMPACT)}" not in deferred


def test_probe_routes_by_files_and_sizes_what_spark_parses(spark, tmp_path: Path, monkeypatch):
    sample = [('{"a":1}', "x"), ('{"a":2}', "x"), ('{"a":1.10}', "y"), ('{"a":3}', "z")]
    sample += [("[]", "w"), ('{"a":4}', "z"), ('{"a":-0}', "z")]
    scratch = tmp_path / "sizing"
    probe = ndjson.probe_sample(spark, sample, ["a"], STAMP, str(scratch))
    # y (1.10), w ([]) and z (-0) hold a line for the Python splitter; x does not.
    assert probe.python_share == 0.75
    assert 0 < probe.parquet_bytes_per_row < 5000
    assert not scratch.exists()
    # Only the first lines of a file route it: z's -0 is its third.
    monkeypatch.setattr(ndjson, "ROUTE_LINES_PER_FILE", 2)
    assert ndjson.probe_sample(spark, sample, ["a"], STAMP, str(scratch)).python_share == 0.5
    # Every line needs the Python splitter: the rows it writes are measured instead.
    prices = [(f'{{"a": {i}.10, "b": "item {i}"}}', "p") for i in range(200)]
    probe = ndjson.probe_sample(spark, prices, ["a", "b"], STAMP, str(scratch))
    assert probe.python_share == 1.0
    assert 0 < probe.parquet_bytes_per_row < 5000
    assert not scratch.exists()
