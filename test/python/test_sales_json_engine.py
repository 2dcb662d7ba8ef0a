"""The sales job's Arrow engine on JSON lines: records parsed in the driver's processes must give
the rows, columns, types, folders and rejects Spark's JSON reader gives, on input whose types
disagree between records and files; input the two parsers would read differently goes to Spark,
whole."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sales_raw_to_processed as sales
from support import assert_each_once, assert_same_as_spark_after_fallback, write_bytes
from test_sales_engines import _run, arrow_time, random_amount, random_quantity

#: Doubles whose shortest spelling Java 17 does not print (the engine asks Java, then reads
#: again), and others at the edges of Java's two notations.
DOUBLES = [1e23, 2e23, 2.82879384806159e17, 9007199254740993.0, 0.001, 0.0001, 1e7, 9999999.0]
DOUBLES += [123.0, -0.0, 0.0, 5e-324, 1.7976931348623157e308, 0.1, -2.5, 1e-5, 1e22]
STRINGS = ["plain", 'quote " and \\ back', "ctl \x01\x1f\x7f", "tab\tnl\n", "é ü 漢", "\u2028"]
STRINGS += ["emoji 😀", "", " spaces ", "slash /", "\\u00e9 literally"]
KEYS = ["Zeta", "_under", "ü", "\U0001f600key", "\ufb01", "a b", "dot.key", ""]


def scalar(rng: random.Random) -> Any:
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice(STRINGS)
    if kind == 1:
        return rng.choice([0, 7, -3, 2**70, 10**20, 123456789])
    if kind == 2:
        return rng.choice(DOUBLES) if rng.random() < 0.3 else rng.randrange(10**6) / 100
    if kind == 3:
        return rng.choice([True, False])
    if kind == 4:
        return None
    return rng.choice(STRINGS)


def value(rng: random.Random, depth: int = 0) -> Any:
    """A JSON value of any kind, nested a few levels."""
    kind = rng.randrange(8 if depth < 3 else 4)
    if kind < 4:
        return scalar(rng)
    if kind in (4, 5):
        return {rng.choice(KEYS): value(rng, depth + 1) for _ in range(rng.randrange(4))}
    return [value(rng, depth + 1) for _ in range(rng.randrange(4))]


def record(rng: random.Random, n: int, file: int) -> dict[str, Any]:
    """One sales event with fields whose kinds depend on the file, so that the inferred schema
    has conflicts between files (struct or array vs text) as well as within them."""
    out: dict[str, Any] = {"order_id": f"o{n}"}
    out["event_time"] = (
        arrow_time(rng).strip()
        if rng.random() < 0.3
        else f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"
    )
    if rng.random() < 0.1:
        out["event_time"] = rng.choice([1_764_000_000, 1_764_000_000_000, 1.7640000005e9])
    amount: Any = (
        random_amount(rng).strip() if rng.random() < 0.3 else f"{rng.randrange(10**5) / 100:.2f}"
    )
    if rng.random() < 0.2:
        amount = rng.choice([12.5, 100, 1e3, 0.1, 12.0, -1, 1e23])
    out["amount"] = amount
    if rng.random() < 0.5:
        out["quantity"] = rng.choice([random_quantity(rng).strip(), rng.randrange(100), 3.0])
    out["user"] = (
        {"id": rng.randrange(10**5), "geo": {"country": rng.choice(["NL", "DE"]), "lat": 5.5}}
        if file % 2
        else rng.choice(["anonymous", None, {"id": "u7"}])
    )
    out["device"] = {"os": "ios", "v": 17, "beta": [1.0, None]} if file % 3 else "unknown"
    out["items"] = [{"sku": f"s{rng.randrange(9)}", "n": rng.randrange(3)}] * rng.randrange(3)
    if file == 2:
        out["items"] = rng.choice([{"sku": "one"}, [], None])
    out["tags"] = [scalar(rng) for _ in range(rng.randrange(4))]
    out["matrix"] = [[rng.randrange(9), None], []] if rng.random() < 0.5 else None
    out["meta"] = {"": value(rng), "k": scalar(rng)} if file % 2 else None
    out["empty"] = {}
    out["empties"] = [{}]
    out["never"] = None
    out["date"] = rng.choice(["yesterday", "2026-01-01", None])
    out["extra"] = value(rng)
    for key in rng.sample(KEYS, 2):
        out[key] = scalar(rng)
    if rng.random() < 0.3:
        out["note"] = {"text": rng.choice(STRINGS), "n": rng.choice(DOUBLES)}
    return out


def corpus(folder: Path, seed: int) -> int:
    """JSON lines files of :func:`record`s in every layout Spark reads line by line: LF, CRLF and
    CR line ends, spaces and tabs around records, blank and space-only lines, a byte-order mark,
    gzip, no final line end; fields that first appear (or first hold something) past the 64 KB
    heads the engine infers its first schema from. Returns how many records they hold."""
    rng = random.Random(seed)
    n = iter(range(10**6))

    def lines(file: int, count: int) -> list[str]:
        out = []
        for _ in range(count):
            text = json.dumps(record(rng, next(n), file), ensure_ascii=rng.random() < 0.3)
            if rng.random() < 0.1:
                text = rng.choice([" ", "\t", " \t"]) + text + rng.choice(["", " ", "\t"])
            out.append(text)
            if rng.random() < 0.05:
                out.append(rng.choice(["", " ", "\t \t"]))
        return out

    a = lines(1, 700)
    # Past the head: a new key, a key that held only nulls, and a raw -0 and 1E5.
    late = {"order_id": f"o{next(n)}", "event_time": "2026-11-20T10:00:00Z", "amount": "1"}
    late |= {"never": "now set", "late_key": {"deep": [1, 2.5]}}
    a.append(json.dumps(late)[:-1] + ', "raw_numbers": [-0, 1E5, 1.0e-7]}')
    write_bytes(folder / "a.ndjson", "\n".join(a) + "\n")
    write_bytes(folder / "b.jsonl", "\r\n".join(lines(2, 120)))
    write_bytes(folder / "c.json", "\ufeff" + "\r".join(lines(3, 80)) + "\r")
    write_bytes(folder / "d.ndjson.gz", gzip.compress(("\n".join(lines(4, 90)) + "\n").encode()))
    write_bytes(folder / "e.ndjson", "\n".join(lines(6, 60)) + "\n")
    write_bytes(folder / "blank.ndjson", "\n \n")
    return next(n)


@pytest.mark.parametrize(("seed", "piece_bytes"), [(5, None), (6, 4096)])
def test_json_engines_write_the_same_rows_folders_and_rejects(
    spark, tmp_path: Path, monkeypatch, seed: int, piece_bytes: int | None
):
    if piece_bytes:  # files read in pieces of a few KB, each ending mid-line
        monkeypatch.setattr(sales, "PIECE_MIN_BYTES", piece_bytes)
        monkeypatch.setattr(sales, "PIECE_MAX_BYTES", piece_bytes)
    total = corpus(tmp_path / "in", seed)
    arrow = _run(spark, tmp_path / "in", tmp_path / "arrow", "auto")
    by_spark = _run(spark, tmp_path / "in", tmp_path / "spark", "spark")
    assert arrow[0]["engine"] == "arrow", arrow[0].get("engine_note")
    assert by_spark[0]["engine"] == "spark"
    # Read again: under the whole input's schema, and with Java's spelling of 1e23.
    assert arrow[0]["passes"] in (2, 3)
    for key in ("read", "written", "rejected", "dates", "timestamp_column", "quantity_column"):
        assert arrow[0][key] == by_spark[0][key], key
    assert arrow[0]["read"] == total
    assert arrow[0]["rejected"] > 50 and arrow[0]["written"] > 300
    assert_each_once(by_spark[1], arrow[1], "rows written")
    assert arrow[2] == by_spark[2]
    assert_each_once(by_spark[3], arrow[3], "rows rejected")
    assert arrow[4] == by_spark[4]
    assert "empty" not in arrow[4] and "empties" not in arrow[4] and "source_date" in arrow[4]
    assert arrow[4]["items"] == "string" and arrow[4]["tags"] == "list<element: string>"


@pytest.mark.parametrize("piece_bytes", [1, 2, 3, 7, 64, 1000])
def test_pieces_hold_every_line_once(tmp_path: Path, piece_bytes: int):
    rng = random.Random(piece_bytes)
    ends = ["\n", "\r", "\r\n", "\n\n", "\r\r\n"]
    text = "".join(
        f'{{"k": "{"é" * rng.randrange(30)}{n}"}}' + rng.choice(ends) for n in range(200)
    )
    path = write_bytes(tmp_path / "a.ndjson", "\ufeff" + text + '{"last": 1}')
    pieces = sales.file_pieces(str(path), "src", path.stat().st_size, piece_bytes)
    assert len(pieces) > 1 or piece_bytes == 1000
    got = [line for p in pieces for line in sales.json_piece_lines(p) if line]
    assert got == [line for line in sales.common.text_lines(text + '{"last": 1}') if line]


def test_doubles_are_spelled_as_java_spells_them(spark):
    reprs = [repr(v) for v in DOUBLES]
    java = sales.java_doubles(spark, reprs)
    assert java[:3] == ["9.999999999999999E22", "1.9999999999999998E23", "2.82879384806159008E17"]
    assert java[3:8] == ["9.007199254740992E15", "0.001", "1.0E-4", "1.0E7", "9999999.0"]
    assert java[DOUBLES.index(5e-324)] == "4.9E-324"
    differ = [v for v, j in zip(DOUBLES, java, strict=True) if sales.java_double(v) != j]
    # Python's shortest spelling in Java's notation is right for all but Java's longer ones.
    assert differ == [1e23, 2e23, 2.82879384806159e17, 5e-324]


_GOOD = "".join(
    json.dumps({"order_id": f"g{i}", "event_time": "2026-11-20T10:00:00Z", "amount": "1.00"}) + "\n"
    for i in range(1000)
)
FALLBACKS = {
    "a line that is not JSON": '{"order_id": "x", "amount": ',
    "single quotes, which Spark reads": "{'order_id': 'x', 'event_time': '2026-11-20'}",
    "NaN, which Spark reads": '{"order_id": "x", "event_time": "2026-11-20", "amount": NaN}',
    "a number beyond a double": '{"order_id": "x", "event_time": "2026-11-20", "amount": 1e400}',
    "a line holding an array": '[{"order_id": "x", "event_time": "2026-11-20"}]',
    "text after the object": '{"order_id": "x", "event_time": "2026-11-20"} trailing',
    "a lone surrogate": '{"order_id": "x\\ud800", "event_time": "2026-11-20"}',
    "keys differing only in case": '{"order_id": "x", "event_time": "2026-11-20", "Amount": "2"}',
    "a key named like the job's": '{"order_id": "x", "_source_file": 1}',
    "a pretty-printed document": '{\n  "order_id": "x",\n  "event_time": "2026-11-20"\n}',
}


@pytest.mark.parametrize("case", sorted(FALLBACKS))
def test_json_arrow_would_read_differently_goes_to_spark(spark, tmp_path: Path, case: str):
    # Past the 64 KB heads, so the engine's own checks find it (not the layout check).
    write_bytes(tmp_path / "in" / "data.ndjson", _GOOD + FALLBACKS[case] + "\n" + _GOOD)
    write_bytes(tmp_path / "in" / "more.ndjson", _GOOD.replace('"g', '"m'))
    auto = _run(spark, tmp_path / "in", tmp_path / "auto", "auto")
    by_spark = _run(spark, tmp_path / "in", tmp_path / "spark", "spark")
    assert_same_as_spark_after_fallback(auto, by_spark, tmp_path / "auto")


def test_invalid_utf8_and_duplicate_keys_go_to_spark(spark, tmp_path: Path):
    write_bytes(tmp_path / "u" / "a.ndjson", _GOOD.encode() + b'{"order_id": "\xff"}\n')
    auto = _run(spark, tmp_path / "u", tmp_path / "u-auto", "auto")
    assert auto[0]["engine"] == "spark" and "UTF-8" in auto[0]["engine_note"]
    # Spark refuses a record with a key twice: the run fails rather than keep one value.
    write_bytes(tmp_path / "d" / "a.ndjson", _GOOD + '{"order_id": "x", "order_id": "y"}\n')
    with pytest.raises(Exception, match="COLUMN_ALREADY_EXISTS"):
        sales.convert(spark, str(tmp_path / "d"), str(tmp_path / "d-auto"))


def test_json_columns_read_under_a_schema_and_widen():
    schema = sales.merge_json_types(
        sales.json_type({"a": {"b": 1, "c": [1.5]}, "d": None}),
        sales.json_type({"a": "text", "e": [{}]}),
    )
    assert schema == {"a": "string", "d": "null", "e": [{}]}
    columns = sales.JsonColumns(schema, {})
    assert [c for c in columns.paths] == [("a",), ("d",)]
    lines = ['{"a": {"z": 1.0, "y": [true, null, 100000000000000000000]}, "e": [{}, null]}']
    assert columns.read([*lines, "", '{"a": 0.1, "d": null}'], 1, "test") == 2
    assert columns.take() == [
        ['{"z":1.0,"y":[true,null,100000000000000000000]}', "0.1"],
        [None, None],
    ]
    for wider in ({"d": "now text"}, {"f": 1}, {"e": [{"g": 1}]}, {"e": "x"}):
        with pytest.raises(sales._Widened):
            columns.read([json.dumps(wider)], 1, "test")


def test_json_engine_reads_and_writes_s3(spark, moto_endpoint: str, monkeypatch, tmp_path: Path):
    """Processes forked from the driver read JSON lines through Arrow's S3 client and write the
    date folders there."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(
        Bucket="sales-json", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    rows = [
        {"order_id": "1", "event_time": "2026-11-20T10:00:00Z", "amount": 12.5, "u": {"id": 1}},
        {"order_id": "2", "event_time": "2026-11-21", "amount": "n/a", "u": {"id": "x"}},
    ]
    for k, row in enumerate(rows):
        s3.put_object(Bucket="sales-json", Key=f"in/{k}.ndjson", Body=json.dumps(row) + "\n")
    plan = sales.JsonPlan(
        [sales.common.InputFile(f"s3://sales-json/in/{k}.ndjson", 100) for k in range(2)],
        [],
        {
            f"s3://sales-json/in/{k}.ndjson": (json.dumps(r) + "\n").encode()
            for k, r in enumerate(rows)
        },
    )
    staging = "s3://sales-json/out/_staging.out.r1/"
    counts, rejects = sales.arrow_json_convert(spark, plan, (None, None), staging, "r1")
    assert (counts["read"], counts["written"], len(rejects)) == (2, 1, 1)
    assert json.loads(rejects[0])["_reject_reason"] == "invalid amount: n/a"
    listed = s3.list_objects_v2(Bucket="sales-json", Prefix="out/")["Contents"]
    [key] = [o["Key"] for o in listed if o["Key"].endswith(".parquet")]
    assert key.split("/")[2] == "date=2026-11-20"
    body = s3.get_object(Bucket="sales-json", Key=key)["Body"].read()
    [row] = pq.read_table(pa.BufferReader(body)).to_pylist()
    assert (row["order_id"], str(row["amount"]), row["u_id"]) == ("1", "12.50", "1")


def test_a_file_blank_for_its_first_64_kb_keeps_its_records(spark, tmp_path: Path):
    record = '{"order_id": "late", "event_time": "2026-11-20T10:00:00Z", "amount": "1.00"}\n'
    write_bytes(tmp_path / "in" / "a.ndjson", "\n" * 70_000 + record)
    for engine in ("auto", "spark"):
        counts = sales.convert(spark, str(tmp_path / "in"), str(tmp_path / engine), engine=engine)
        assert (counts["read"], counts["written"]) == (1, 1), engine
