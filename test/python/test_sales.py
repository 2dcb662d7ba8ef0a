"""sales_raw_to_processed on generated CSV and JSON with bad amounts, many timestamp forms,
nested objects and a rerun."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
import sales_raw_to_processed as sales
from pyspark.sql import functions as F
from support import common, read_json_lines, read_partitioned, run_script, summary_of, write_bytes

UTC = dt.UTC

SALES_CSV = (
    "order_id,event_time,amount,customer\r\n"
    "o1,2026-11-20T10:15:00Z,12.50,ana\r\n"
    'o2,2026-11-20 23:59:59,"$1,234.50","Smith, Jo"\r\n'
    "o3,1763683200,7,bo\r\n"  # epoch seconds: 2025-11-21T00:00:00Z
    "o4,1763683200123,0.99,cy\r\n"  # epoch milliseconds
    "o5,2026/11/21 08:00:00,3.00,dee\r\n"
    "o6,2026-11-21T01:00:00+02:00,4,eve\r\n"  # 2026-11-20T23:00Z
    "o7,2026-11-21,abc,fay\r\n"
    "o8,2026-11-21,,gus\r\n"
    "o9,2026-11-21,-5.00,hal\r\n"
    "o10,2026-11-21,1.234,ivy\r\n"
    "o11,not a date,1.00,jon\r\n"
    "o12,,1.00,kim\r\n"
    "o13,2026-11-21,1.00,lee,extra\r\n"
)


def test_csv_is_cleaned_and_partitioned_by_date(spark, tmp_path: Path):
    raw = tmp_path / "raw"
    write_bytes(raw / "sales-1.csv", SALES_CSV)
    write_bytes(raw / "sales-2.csv", b"")
    out = tmp_path / "processed"
    counts = sales.convert(spark, str(raw), str(out))

    assert counts["format"] == "csv"
    assert (counts["read"], counts["written"], counts["rejected"]) == (13, 6, 7)
    assert counts["timestamp_column"] == "event_time" and counts["amount_column"] == "amount"
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("date=")) == [
        "date=2025-11-21",
        "date=2026-11-20",
        "date=2026-11-21",
    ]
    df = read_partitioned(spark, out)
    types = dict(df.dtypes)
    assert types["amount"] == "decimal(12,2)" and types["event_time"] == "timestamp"
    rows = {r.order_id: r for r in df.collect()}
    assert sorted(rows) == ["o1", "o2", "o3", "o4", "o5", "o6"]
    assert rows["o2"].amount == Decimal("1234.50") and rows["o2"].customer == "Smith, Jo"
    assert rows["o2"].date == "2026-11-20"
    assert rows["o3"].event_time.replace(tzinfo=UTC) == dt.datetime(2025, 11, 21, tzinfo=UTC)
    assert rows["o4"].event_time.replace(tzinfo=UTC).microsecond == 123000
    assert rows["o5"].date == "2026-11-21"
    assert rows["o6"].date == "2026-11-20"  # the offset moves it to the previous UTC day

    rejected = {r["order_id"]: r for r in read_json_lines(out / "_rejected")}
    assert {k: v["_reject_reason"] for k, v in rejected.items()} == {
        "o7": "invalid amount: abc",
        "o8": "missing amount",
        "o9": "negative amount: -5.00",
        "o10": "amount has more than 2 decimal places: 1.234",
        "o11": "unparseable timestamp: not a date",
        "o12": "missing timestamp",
        "o13": "malformed record",
    }
    # Rejects keep the text that failed, not the nulls it would have become.
    assert rejected["o7"]["amount"] == "abc"
    assert rejected["o11"]["event_time"] == "not a date"
    assert rejected["o13"]["_raw_line"] == "o13,2026-11-21,1.00,lee,extra"


def test_nested_json_is_flattened(spark, tmp_path: Path):
    raw = tmp_path / "raw"
    lines = [
        {
            "id": "c1",
            "event": {"time": "2026-11-20T08:00:00Z", "type": "click"},
            "user": {"id": 7, "geo": {"country": "NL"}},
            "items": [1, 2],
        },
        {
            "id": "c2",
            "event": {"time": "2026-11-20T09:00:00Z", "type": "view"},
            "user": {"id": "8", "geo": {"country": "DE", "city": "Berlin"}},
        },
    ]
    body = "\n".join(json.dumps(x) for x in lines) + "\n{broken json\n"
    write_bytes(raw / "clicks.ndjson", body)
    out = tmp_path / "processed"
    counts = sales.convert(spark, str(raw), str(out))
    assert counts["format"] == "json" and counts["amount_column"] is None
    assert counts["timestamp_column"] == "event_time"
    assert (counts["read"], counts["written"], counts["rejected"]) == (3, 2, 1)
    df = read_partitioned(spark, out)
    assert {"event_time", "event_type", "user_id", "user_geo_country", "user_geo_city"} <= set(
        df.columns
    )
    rows = {r.id: r for r in df.collect()}
    assert rows["c1"].user_id == "7" and rows["c2"].user_id == "8"
    assert rows["c2"].user_geo_city == "Berlin" and rows["c1"].user_geo_city is None
    assert rows["c1"].items == ["1", "2"]
    assert read_json_lines(out / "_rejected")[0]["_raw_line"] == "{broken json"


def test_rerun_replaces_only_its_dates(spark, tmp_path: Path):
    raw = tmp_path / "raw"
    write_bytes(raw / "a.csv", SALES_CSV)
    out = tmp_path / "processed"
    older = out / "date=2020-01-01"
    spark.createDataFrame(
        [("old", Decimal("1.00"))], "order_id string, amount decimal(12,2)"
    ).write.parquet(str(older))
    first = sales.convert(spark, str(raw), str(out))
    second = sales.convert(spark, str(raw), str(out))
    assert first["written"] == second["written"] == 6
    df = read_partitioned(spark, out)
    assert df.where(F.col("date") != "2020-01-01").count() == 6
    assert df.where(F.col("date") == "2020-01-01").count() == 1  # other dates untouched


def test_amount_rules(spark):
    cases = {
        "12": None,
        "12.5": None,
        "0.00": None,
        "€3.10": None,
        "$1,234,567.89": None,
        "1,23": "invalid amount: 1,23",
        "12.345": "amount has more than 2 decimal places: 12.345",
        "-0.01": "negative amount: -0.01",
        "1e3": "invalid amount: 1e3",
        "NaN": "invalid amount: NaN",
        " ": "missing amount",
    }
    df = spark.createDataFrame([(k,) for k in cases], "a string")
    got = {r.a: r.p for r in df.select("a", sales.amount_problem(F.col("a")).alias("p")).collect()}
    assert got == cases


def test_clear_errors(spark, tmp_path: Path):
    write_bytes(tmp_path / "mixed" / "a.csv", "x\n")
    write_bytes(tmp_path / "mixed" / "b.json", "{}\n")
    with pytest.raises(common.JobInputError, match="pass --INPUT_FORMAT"):
        sales.convert(spark, str(tmp_path / "mixed"), str(tmp_path / "o"))
    write_bytes(tmp_path / "nots" / "a.csv", "id,amount\n1,2\n")
    with pytest.raises(common.JobInputError, match=r"no timestamp column among \['id', 'amount'\]"):
        sales.convert(spark, str(tmp_path / "nots"), str(tmp_path / "o"))
    with pytest.raises(common.JobInputError, match="column 'price' not found"):
        sales.convert(
            spark,
            str(tmp_path / "nots"),
            str(tmp_path / "o"),
            timestamp_column="id",
            amount_column="price",
        )


@pytest.mark.slow
def test_runs_as_a_command_line_script(tmp_path: Path):
    write_bytes(tmp_path / "raw" / "export.txt", SALES_CSV)
    proc = run_script(
        "sales_raw_to_processed.py",
        "--INPUT_PATH",
        str(tmp_path / "raw"),
        "--OUTPUT_PATH",
        str(tmp_path / "out"),
        "--INPUT_FORMAT",
        "csv",
    )
    summary = summary_of(proc)
    assert (summary["read"], summary["written"], summary["rejected"]) == (13, 6, 7)
