"""sales_raw_to_processed on a generated adversarial corpus: every input row must land exactly
once, either written with its exact values or rejected with a reason.

The truth is computed independently of the job: rows are counted with Python's csv and json
modules from the files as written, and the output is read back with DuckDB and pyarrow."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
import sales_raw_to_processed as sales
from support import read_json_lines, write_bytes

OK, REJECT = "ok", "reject"

# (id, event_time, amount, quantity, expected): every case is a row with a unique id.
CSV_CASES = [
    ("a-max", "2026-11-20T10:00:00Z", "9999999999.99", "1", OK),
    ("a-over", "2026-11-20T10:00:00Z", "10000000000.00", "1", REJECT),
    ("a-huge", "2026-11-20T10:00:00Z", "12345678901234567890", "1", REJECT),
    ("a-beyond-18", "2026-11-20T10:00:00Z", "1234567890123456789.00", "1", REJECT),
    ("a-zeros", "2026-11-20T10:00:00Z", "0000000000012.50", "1", OK),
    ("a-thousands", "2026-11-20T10:00:00Z", "$1,234,567,890.12", "1", OK),
    ("a-thousands-over", "2026-11-20T10:00:00Z", "99,999,999,999.00", "1", REJECT),
    ("a-scale", "2026-11-20T10:00:00Z", "1.999", "1", REJECT),
    ("a-exp", "2026-11-20T10:00:00Z", "1e3", "1", REJECT),
    ("a-hex", "2026-11-20T10:00:00Z", "0x10", "1", REJECT),
    ("a-arabic-digits", "2026-11-20T10:00:00Z", "\u0661\u0662", "1", REJECT),
    ("a-spaces", "2026-11-20T10:00:00Z", "  7 ", "1", OK),
    ("a-plus", "2026-11-20T10:00:00Z", "+5", "1", REJECT),
    ("a-inf", "2026-11-20T10:00:00Z", "Infinity", "1", REJECT),
    ("t-nanos", "2026-11-20T10:15:00.1234567Z", "1.00", "1", REJECT),
    ("t-micros", "2026-11-20T10:15:00.123456Z", "1.00", "1", OK),
    ("t-before", "2019-12-31T23:59:59Z", "1.00", "1", REJECT),
    ("t-offset-before", "2020-01-01T00:30:00+01:00", "1.00", "1", REJECT),
    ("t-future", "2099-01-01", "1.00", "1", REJECT),
    ("t-year-5-digits", "20260-01-01", "1.00", "1", REJECT),
    ("t-epoch-frac", "1763683200.5", "1.00", "1", OK),
    ("t-epoch-11", "17636832000", "1.00", "1", REJECT),
    ("t-epoch-neg", "-1763683200", "1.00", "1", REJECT),
    ("t-offset", "2026-11-21T01:00:00+02:00", "1.00", "1", OK),
    ("t-half-hour", "2026-11-20T02:00:00+05:30", "1.00", "1", OK),
    ("t-feb-30", "2026-02-30", "1.00", "1", REJECT),
    ("t-leap", "2026-11-20T23:59:60Z", "1.00", "1", REJECT),
    ("t-hour-25", "2026-11-20T25:00:00", "1.00", "1", REJECT),
    ("q-max", "2026-11-20T10:00:00Z", "1.00", "2147483647", OK),
    ("q-over", "2026-11-20T10:00:00Z", "1.00", "2147483648", REJECT),
    ("q-long", "2026-11-20T10:00:00Z", "1.00", "99999999999999999999", REJECT),
    ("q-fraction", "2026-11-20T10:00:00Z", "1.00", "1.5", REJECT),
    ("q-negative", "2026-11-20T10:00:00Z", "1.00", "-1", REJECT),
    ("q-empty", "2026-11-20T10:00:00Z", "1.00", "", OK),
    ("q-zeros", "2026-11-20T10:00:00Z", "1.00", "007", OK),
    ("q-many-zeros", "2026-11-20T10:00:00Z", "1.00", "0000000000000000042", OK),
    # Spaces a value can carry: a line break inside a quoted field, Unicode line separators and
    # no-break spaces. Around a value they are stripped; inside it they make it invalid.
    ("t-slash-line-break", "2026/11/20 10:00:00\n", "1.00", "1", OK),
    ("t-slash-date-line-separator", "2026/11/20\u2028", "1.00", "1", OK),
    ("t-iso-next-line", "2026-11-20T10:00:00Z\u0085", "1.00", "1", OK),
    ("t-inner-line-break", "2026/11/20\n10:00:00", "1.00", "1", REJECT),
    ("a-line-break", "2026-11-20T10:00:00Z", "12.50\r\n", "1", OK),
    ("a-line-separator", "2026-11-20T10:00:00Z", "12.50\u2028", "1", OK),
    ("a-no-break-space", "2026-11-20T10:00:00Z", "\u00a012.50\u0085", "1", OK),
    ("a-inner-line-break", "2026-11-20T10:00:00Z", "12\n.50", "1", REJECT),
    ("q-next-line", "2026-11-20T10:00:00Z", "1.00", "3\u0085", OK),
    ("q-paragraph-separator", "2026-11-20T10:00:00Z", "1.00", " 4\u2029", OK),
]
# Expected UTC dates of some good rows (offsets move them).
CSV_DATES = {
    "t-offset": "2026-11-20",
    "t-half-hour": "2026-11-19",
    "t-epoch-frac": "2025-11-21",
    "a-max": "2026-11-20",
    "t-slash-line-break": "2026-11-20",
    "t-slash-date-line-separator": "2026-11-20",
}


def csv_text(header: list[str], rows: list[list[str]], newline: str = "\n") -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerows([header, *rows])
    return buf.getvalue()


def reference_csv_rows(files: list[Path]) -> list[dict[str, str]]:
    """All data rows of the CSV files, by Python's csv module (BOM, gzip and CRLF handled)."""
    rows: list[dict[str, str]] = []
    for f in files:
        data = f.read_bytes()
        if f.name.endswith(".gz"):
            data = gzip.decompress(data)
        text = data.decode("utf-8-sig")
        if not text.strip():
            continue
        rows += list(csv.DictReader(io.StringIO(text, newline="")))
    return rows


def output_rows(out: Path) -> list[dict[str, Any]]:
    """Written rows, read back by DuckDB (hive partitions as strings)."""
    con = duckdb.connect()
    rel = con.sql(
        f"select * from read_parquet('{out}/date=*/*.parquet', hive_partitioning=true, "
        "hive_types_autocast=false, union_by_name=true)"
    )
    return [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]


def assert_each_row_once(ids_in: list[str], written: list[dict], rejected: list[dict], key: str):
    seen = Counter([r[key] for r in written] + [r[key] for r in rejected if r.get(key)])
    assert sorted(seen) == sorted(ids_in), "rows lost or invented"
    assert [k for k, n in seen.items() if n > 1] == [], "rows written or rejected twice"


# A lone LF inside a CRLF file (a quoted line break) sends a run to Spark, so the Arrow engine
# reads the first file with LF rows.
@pytest.mark.parametrize(("engine", "newline"), [("auto", "\n"), ("spark", "\r\n")])
def test_csv_corpus_every_row_once_and_exact(spark, tmp_path: Path, engine: str, newline: str):
    raw = tmp_path / "raw"
    header = ["order_id", "event_time", "amount", "quantity", "date"]
    rows = [[i, t, a, q, "not-a-date"] for i, t, a, q, _ in CSV_CASES]
    half = len(rows) // 2
    files = [
        # BOM (and CRLF).
        write_bytes(raw / "a.csv", "\ufeff" + csv_text(header, rows[:half], newline)),
        # Another header: reordered, different case, an extra column; gzipped.
        write_bytes(
            raw / "b.csv.gz",
            gzip.compress(
                csv_text(
                    ["Quantity", "channel", "Amount", "order_id", "event_time", "DATE"],
                    [[q, "web", a, i, t, d] for i, t, a, q, d in rows[half:]],
                ).encode()
            ),
        ),
        write_bytes(raw / "empty.csv", b""),
        write_bytes(raw / "header-only.csv", "order_id,event_time,amount\n"),
    ]
    truth = reference_csv_rows(files)
    assert len(truth) == len(CSV_CASES)

    out = tmp_path / "out"
    counts = sales.convert(spark, str(raw), str(out), engine=engine)
    assert counts["engine"] == ("arrow" if engine == "auto" else "spark"), counts.get("engine_note")
    written, rejected = output_rows(out), read_json_lines(out / "_rejected")
    assert (counts["read"], counts["written"], counts["rejected"]) == (
        len(truth),
        len(written),
        len(rejected),
    )
    assert_each_row_once([r["order_id"] for r in truth], written, rejected, "order_id")
    assert all(r["_reject_reason"] for r in rejected)

    expected = {i: want for i, _, _, _, want in CSV_CASES}
    got = {r["order_id"]: OK for r in written} | {r["order_id"]: REJECT for r in rejected}
    assert got == expected

    by_id = {r["order_id"]: r for r in written}
    cases = {c[0]: c for c in CSV_CASES}
    for order_id, row in by_id.items():
        text = cases[order_id][2].strip().lstrip("$").replace(",", "")
        assert row["amount"] == Decimal(text), order_id  # exact, never rounded or nulled
        q = cases[order_id][3]
        assert row["quantity"] == (int(q) if q else None), order_id
        assert row["source_date"] == "not-a-date"
    for order_id, date in CSV_DATES.items():
        assert by_id[order_id]["date"] == date
    assert by_id["t-micros"]["event_time"].microsecond == 123456
    reasons = {r["order_id"]: r["_reject_reason"] for r in rejected}
    assert "decimal(12,2)" in reasons["a-over"] and "decimal(12,2)" in reasons["a-huge"]
    assert "microseconds" in reasons["t-nanos"]
    assert "2020-01-01" in reasons["t-offset-before"]
    assert "2147483647" in reasons["q-over"]

    # What is written is what the table declares.
    schema = pq.read_schema(next(out.glob("date=*/*.parquet")))
    assert str(schema.field("amount").type) == "decimal128(12, 2)"
    assert str(schema.field("quantity").type) == "int32"
    assert "date" not in schema.names and "DATE" not in schema.names


def json_files(raw: Path) -> tuple[list[str], int]:
    """Writes the JSON corpus; returns the ids of its records and how many non-object values
    (rejected without an id) it holds, both known by construction."""
    ids: list[str] = []

    def rec(i: str, **extra: Any) -> dict[str, Any]:
        ids.append(i)
        return {"order_id": i, "event_time": "2026-11-20T10:00:00Z", "amount": "1.00", **extra}

    nested = [
        rec("n1", user={"id": 7, "geo": {"country": "NL"}}, items=[{"sku": "x", "n": 1}]),
        rec("n2", user={"id": "8"}, items=[]),
        rec("n3", amount=12345678901234, user={"id": None}),  # overflow as a JSON number
        rec("n4", amount=12.5),  # a JSON number is read by its text
    ]
    write_bytes(raw / "nested.ndjson", "\n".join(json.dumps(r) for r in nested) + "\n")
    # The same keys with other types in another file (user a string, items an object).
    drift = [rec("d1", user="anonymous", items={"sku": "y"}), rec("d2", price={"net": "1"})]
    write_bytes(raw / "drift.jsonl", "\r\n".join(json.dumps(r) for r in drift) + "\r\n")
    # A pretty-printed single document, with a BOM.
    write_bytes(raw / "pretty.json", "\ufeff" + json.dumps(rec("p1"), indent=2) + "\n")
    # A pretty-printed array, with a scalar element that is no record.
    arr = [rec("arr1"), rec("arr2"), 42]
    write_bytes(raw / "array.json", json.dumps(arr, indent=2))
    # Several documents on one line and across lines.
    write_bytes(
        raw / "concat.json",
        json.dumps(rec("c1"))
        + " "
        + json.dumps(rec("c2"))
        + "\n"
        + json.dumps(rec("c3"), indent=1),
    )
    # Keys differing only in case: across files, and within one object (agreeing or not).
    case_a = rec("k1")
    case_a["Amount"] = case_a.pop("amount")
    agree = {**rec("k2"), "AMOUNT": "1.00"}
    disagree = {**rec("k3"), "AMOUNT": "2.00"}
    write_bytes(raw / "case.ndjson", "\n".join(json.dumps(r) for r in [case_a, agree, disagree]))
    # Gzipped NDJSON with a date key, an amount too large, and a timestamp before the table.
    gz = [rec("g1", date="yesterday"), rec("g2", amount="10000000000"), rec("g3", event_time="0")]
    write_bytes(raw / "z.json.gz", gzip.compress("\n".join(json.dumps(r) for r in gz).encode()))
    write_bytes(raw / "empty.json", b"")
    write_bytes(raw / "blank.json", b"\n  \n")
    write_bytes(raw / "empty-array.json", b"[]")
    return ids, 1


def reference_json_values(files: list[Path]) -> int:
    """Top-level records of every file by Python's json module (arrays give their elements)."""
    n = 0
    for f in files:
        data = f.read_bytes()
        text = (gzip.decompress(data) if f.name.endswith(".gz") else data).decode("utf-8-sig")
        dec, pos = json.JSONDecoder(), 0
        while text[pos:].strip():
            pos += len(text[pos:]) - len(text[pos:].lstrip())
            value, pos = dec.raw_decode(text, pos)
            n += len(value) if isinstance(value, list) else 1
    return n


def test_json_corpus_every_record_once(spark, tmp_path: Path):
    raw = tmp_path / "raw"
    ids, non_objects = json_files(raw)
    true_rows = reference_json_values(sorted(raw.iterdir()))
    assert true_rows == len(ids) + non_objects

    out = tmp_path / "out"
    counts = sales.convert(spark, str(raw), str(out))
    written, rejected = output_rows(out), read_json_lines(out / "_rejected")
    assert counts["read"] == true_rows
    assert (counts["written"], counts["rejected"]) == (len(written), len(rejected))
    assert counts["read"] == counts["written"] + counts["rejected"]
    assert_each_row_once(ids, written, rejected, "order_id")

    reasons = {r.get("order_id"): r["_reject_reason"] for r in rejected}
    assert set(reasons) == {"n3", "k3", "g2", "g3", None}
    assert "decimal(12,2)" in reasons["n3"] and "decimal(12,2)" in reasons["g2"]
    assert "differing only in case" in reasons["k3"]
    [scalar] = [r for r in rejected if r.get("order_id") is None]
    assert scalar["_raw_line"] == "42" and scalar["_reject_reason"] == "malformed record"

    by_id = {r["order_id"]: r for r in written}
    assert by_id["k1"]["amount"] == Decimal("1.00")  # "Amount" in its file is the same column
    assert by_id["n4"]["amount"] == Decimal("12.50")
    assert by_id["g1"]["source_date"] == "yesterday" and by_id["g1"]["date"] == "2026-11-20"
    # Types that disagree between files become text, nothing is dropped.
    assert json.loads(by_id["d1"]["items"]) == {"sku": "y"}
    assert json.loads(by_id["n1"]["items"]) == [{"sku": "x", "n": 1}]
    assert by_id["d1"]["user"] == "anonymous" and json.loads(by_id["n1"]["user"])["id"] == 7
    assert by_id["d2"]["price_net"] == "1"
    assert {c.lower() for c in by_id["k1"]}.isdisjoint({"amount_2"})


def test_json_layout_and_records():
    assert sales.json_layout(b'{"a":1}\n{"a":2}\n', complete=True) == "lines"
    assert sales.json_layout(b'[{"a":1},{"a":2}]', complete=True) == "lines"
    assert sales.json_layout(b'{\n "a": 1\n}\n', complete=True) == "document"
    assert sales.json_layout(b'{"a":1} {"a":2}\n', complete=True) == "document"
    assert sales.json_layout(b'{"a":1}\n{"a":', complete=False) == "lines"
    assert sales.json_layout(b'{"a":', complete=False) == "document"
    records = list(sales.json_records('[{"a":1},2]\n{"b":\n3}\nnot json\n{"c":4}'))
    assert records == [
        ({"a": 1}, None),
        (None, "2"),
        ({"b": 3}, None),
        (None, "not json"),
        (
            {"c": 4},
            None,
        ),
    ]


def test_csv_quoted_line_breaks_stay_in_their_row(spark, tmp_path: Path):
    body = csv_text(
        ["order_id", "event_time", "amount", "note"],
        [
            ["m1", "2026-11-20T10:00:00Z", "1.00", "line one\nline two"],
            ["m2", "2026-11-20T10:00:00Z", "2.00", 'a\r\nb, "quoted"'],
            ["m3", "2026-11-20T10:00:00Z", "3.00", "plain"],
        ],
    )
    f = write_bytes(tmp_path / "raw" / "m.csv", body)
    truth = reference_csv_rows([f])
    out = tmp_path / "out"
    counts = sales.convert(spark, str(f.parent), str(out))
    written = {r["order_id"]: r for r in output_rows(out)}
    assert counts["read"] == len(truth) == 3
    assert {k: v["note"] for k, v in written.items()} == {r["order_id"]: r["note"] for r in truth}
