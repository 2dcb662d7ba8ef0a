"""The sales job's two engines on the same input: Arrow in the driver and Spark must write the
same rows into the same date folders, with the same types, and reject the same rows for the same
reasons; input Arrow would read or judge differently goes to Spark, whole."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sales_raw_to_processed as sales
from pyspark.sql import functions as F
from support import (
    assert_each_once,
    assert_same_as_spark_after_fallback,
    assert_size_rule,
    common,
    read_json_lines,
    read_partitioned,
    write_bytes,
)
from test_csv_hostile import HOSTILE, text_file
from test_sales_hostile import CSV_CASES

SPACES = ["", " ", "\t", "\n", "\u00a0", "\u2028", "\u0085", "\u3000", "\r\n"]


def _two(rng: random.Random, low: int, high: int) -> str:
    return f"{rng.randint(low, high):02d}"


def random_time(rng: random.Random) -> str:
    """A time text of one of the accepted forms, often with a field out of range, or a near
    miss of one (Arrow either computes it as Spark does or hands the run to Spark)."""
    y = rng.choice(["2019", "2020", "2024", "2026", "2027", "2100", "0000", "1970", "9999"])
    mo, d = _two(rng, 0, 13), _two(rng, 0, 32)
    h, mi, s = _two(rng, 0, 25), _two(rng, 0, 61), _two(rng, 0, 61)
    frac = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 8)))
    zone = rng.choice(
        ["", "", "Z", "+01:00", "-05:30", "+18:00", "-18:00", "+18:01", "+19:00", "+00:60", "z"]
        + ["+0100", "-0530", "+1801", "+0160", "+01", "-00", "+19", "+010", " UTC", "UTC"]
        + [" GMT", " Z", " +01:00", "  UTC", " utc", "GMT+01:00", " UT", "+1", "+01:0"]
    )
    date = f"{y}-{mo}-{d}" if rng.random() < 0.85 else f"{y}-{_two(rng, 1, 12)}-{_two(rng, 1, 28)}"
    form = rng.randrange(12)
    if form == 0:
        text = date
    elif form == 1:
        text = f"{date}{rng.choice('T ')}{h}:{mi}"
    elif form in (2, 3, 4):
        text = f"{date}{rng.choice('T ')}{h}:{mi}:{s}{zone}"
    elif form == 5:
        text = f"{date}T{h}:{mi}:{s}.{frac}{zone}"
    elif form == 6:
        text = f"{y}/{mo}/{d}" + rng.choice(["", f" {h}:{mi}:{s}"])
    elif form == 7:
        text = str(rng.randrange(10**8, 10**13)) + rng.choice(["", f".{frac}"])
    elif form == 8:
        text = str(rng.randrange(1_577_836_800_000, 1_800_000_000_000))
    elif form == 9:
        text = rng.choice(["yesterday", "", "2026-11-20T10", "2026-11-20T", "2026/11/20T10"])
    elif form == 10:
        text = f"{date}T{h}:{mi}Z"
    else:
        text = f"{date} {h}:{mi}:{s} UTC"
    return rng.choice(SPACES) + text + rng.choice(SPACES)


def random_amount(rng: random.Random) -> str:
    digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 14)))
    text = rng.choice(["", "", "$", "€", "£", "-", "-$", "+"]) + digits
    if rng.random() < 0.2:
        text = f"{rng.randint(1, 999)},{rng.randint(0, 999):03d},{rng.randint(0, 999):03d}"
    if rng.random() < 0.6:
        text += "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 4)))
    text = rng.choice([text, text, text, "n/a", "1e3", "0x10", "\u0661\u0662", "1 2", ""])
    return rng.choice(SPACES) + text + rng.choice(SPACES)


def random_quantity(rng: random.Random) -> str:
    text = rng.choice(
        [
            str(rng.randint(0, 100)),
            "0" * rng.randint(1, 12) + str(rng.randint(0, 99)),
            str(rng.randint(2**31 - 3, 2**31 + 3)),
            str(rng.randint(10**10, 10**20)),
            f"-{rng.randint(0, 9)}",
            "1.5",
            "x",
            "",
            "٣",
        ]
    )
    return rng.choice(SPACES) + text + rng.choice(SPACES)


def test_arrow_checks_match_spark(spark):
    """Thousands of times, amounts and quantities through both engines' checks: where Arrow
    claims to know a time, its value and every reason equal Spark's."""
    rng = random.Random(11)
    rows = [(random_time(rng), random_amount(rng), random_quantity(rng)) for _ in range(6000)]
    rows += [(t, a, q) for _, t, a, q, _ in CSV_CASES]
    df = spark.createDataFrame(rows, "t string, a string, q string").withColumn(
        common.CORRUPT, F.lit(None).cast("string")
    )
    cleaned = sales.clean(df, "t", "a", "q").select(
        F.unix_micros(sales.PARSED_TS).alias("ts"),
        sales.timestamp_problem(F.col("t"), F.col(sales.PARSED_TS)).alias("t_reason"),
        sales.amount_problem(F.col("a")).alias("a_reason"),
        F.col(sales.PARSED_AMOUNT).cast("string").alias("amount"),
        sales.quantity_problem(F.col("q")).alias("q_reason"),
        F.col(sales.PARSED_QUANTITY).alias("quantity"),
    )
    by_spark = [tuple(r) for r in cleaned.collect()]

    def stripped(i: int) -> pa.Array:
        return pa.array([r[i].strip() for r in rows], pa.string())

    micros, unknown = sales.arrow_timestamp(stripped(0))
    now = common.time.time_ns() // 1000
    t_reason = sales.arrow_timestamp_problem(stripped(0), micros, now)
    a_reason, amount = sales.arrow_amount(stripped(1))
    q_reason, quantity = sales.arrow_quantity(stripped(2))
    good_amounts = [None if v is None else f"{v:.2f}" for v in amount.to_pylist()]
    # Spark casts every amount; Arrow only valid ones, which is all that is written.
    spark_amounts = [r[3] if r[2] is None else None for r in by_spark]
    by_arrow = list(
        zip(
            micros.to_pylist(),
            t_reason.to_pylist(),
            a_reason.to_pylist(),
            good_amounts,
            q_reason.to_pylist(),
            quantity.to_pylist(),
            strict=True,
        )
    )
    compared = [
        (rows[i], s, a)
        for i, (s, a) in enumerate(zip(by_spark, by_arrow, strict=True))
        if not unknown[i]
    ]
    # Arrow computes most of them itself; the rest must be near misses of the forms.
    assert len(compared) > 0.7 * len(rows)
    differ = [
        (row, s, a)
        for row, s, a in compared
        if (s[0], s[1], s[2], spark_amounts[rows.index(row)], s[4], s[5]) != a
    ]
    assert not differ, differ[:5]
    for i in map(int, unknown.nonzero()[0]):
        assert rows[i][0].strip()[:10].count("-") == 2, rows[i][0]  # only `yyyy-MM-dd…` forms


def arrow_time(rng: random.Random) -> str:
    """A :func:`random_time` the Arrow engine computes itself (the others go to Spark, below)."""
    while True:
        text = random_time(rng)
        if not sales.arrow_timestamp(pa.array([text.strip()]))[1][0]:
            return text


def arrow_corpus(folder: Path, seed: int) -> list[Path]:
    """Hostile CSV Arrow reads itself: two headers whose names differ in case and order, a
    ``date`` column, text with quotes, commas and quoted line breaks of every kind (CR in LF
    files, lone LF in CRLF ones), a byte-order mark, CRLF, gzip, blank lines, a header-only
    file, and every time, amount and quantity form."""
    rng = random.Random(seed)
    n = iter(range(10**6))

    def rows(columns: list[str], count: int) -> list[list[str]]:
        make = {
            "id": lambda: f"id{next(n):06d}",
            "event_time": lambda: arrow_time(rng),
            "amount": lambda: random_amount(rng),
            "quantity": lambda: random_quantity(rng),
        }
        out = []
        for _ in range(count):
            row = [make.get(c.lower(), lambda: rng.choice(HOSTILE))() for c in columns]
            # Most rows are good, so the folders hold something.
            if rng.random() < 0.6:
                for i, c in enumerate(columns):
                    if c.lower() == "event_time":
                        row[i] = f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"
                    elif c.lower() == "amount":
                        row[i] = f"{rng.randint(0, 10**6) / 100:.2f}"
            out.append(row)
        return out

    a = ["id", "event_time", "amount", "quantity", "note", "date"]
    b = ["Quantity", "ID", "Amount", "channel", "event_time", "DATE"]
    files = [
        text_file(folder / "a.csv", a, rows(a, 400), rng, blank_lines=True),
        text_file(folder / "b.csv.gz", b, rows(b, 300), rng, gz=True, last_newline=False),
        text_file(folder / "header_only.csv", a, [], rng),
    ]
    files.append(text_file(folder / "c.csv", a, rows(a, 150), rng, newline="\r\n", bom=True))
    return files


def _run(spark, src: Path, out: Path, engine: str) -> tuple[dict, list, list, list, dict]:
    counts = sales.convert(spark, str(src), str(out), engine=engine)
    rows = sorted(
        json.dumps(r.asDict(), sort_keys=True, default=str)
        for r in read_partitioned(spark, out).collect()
    )
    folders = sorted({p.parent.name for p in out.glob("date=*/*.parquet")})
    rejects = sorted(json.dumps(r, sort_keys=True) for r in read_json_lines(out / "_rejected"))
    schema = pq.read_schema(next(out.glob("date=*/*.parquet")))
    types = {f.name: str(f.type) for f in schema}
    return counts, rows, folders, rejects, types


@pytest.mark.parametrize("seed", [3, 4])
def test_engines_write_the_same_rows_folders_and_rejects(spark, tmp_path: Path, seed: int):
    arrow_corpus(tmp_path / "in", seed)
    arrow = _run(spark, tmp_path / "in", tmp_path / "arrow", "auto")
    by_spark = _run(spark, tmp_path / "in", tmp_path / "spark", "spark")
    assert arrow[0]["engine"] == "arrow", arrow[0].get("engine_note")
    assert by_spark[0]["engine"] == "spark"
    for key in ("read", "written", "rejected", "dates", "timestamp_column", "quantity_column"):
        assert arrow[0][key] == by_spark[0][key], key
    assert arrow[0]["read"] == 850
    assert arrow[0]["rejected"] > 50 and arrow[0]["written"] > 150
    assert_each_once(by_spark[1], arrow[1], "rows written")
    assert arrow[2] == by_spark[2]
    assert_each_once(by_spark[3], arrow[3], "rows rejected")
    assert arrow[4] == by_spark[4]
    assert arrow[4]["amount"] == "decimal128(12, 2)" and arrow[4]["quantity"] == "int32"
    assert "source_date" in arrow[4] and "quantity" in arrow[4]


_GOOD = "id,event_time,amount\n1,2026-11-20T10:00:00Z,1.00\n"
FALLBACKS = {
    "a time Spark's cast reads and Arrow leaves to it": _GOOD + "2,2026-11-20T10 UTC,2.00\n",
    "a row with a missing field": _GOOD + "2,2026-11-20T10:00:00Z\n",
    "a row with an extra field": _GOOD + "2,2026-11-20T10:00:00Z,2.00,x\n",
    # Past the 64 KB head the job inspects (a mixed line ending there is refused by name),
    # Arrow would read two good rows where Spark reads one of five fields.
    "an unquoted carriage return in an LF file": (
        _GOOD
        + "".join(f"p{n},2026-11-20T10:00:00Z,1.00\n" for n in range(3000))
        + "3,2026-11-20T10:00:00Z,1.00\r4,2026-11-20T10:00:00Z,2.00\n"
    ),
    "a column named like the job's own": _GOOD.replace("amount", "_source_file"),
}


@pytest.mark.parametrize("case", sorted(FALLBACKS))
def test_input_arrow_would_judge_differently_goes_to_spark(spark, tmp_path: Path, case: str):
    write_bytes(tmp_path / "in" / "data.csv", FALLBACKS[case])
    write_bytes(tmp_path / "in" / "more.csv", _GOOD.replace("1,", "9,"))
    auto = _run(spark, tmp_path / "in", tmp_path / "auto", "auto")
    by_spark = _run(spark, tmp_path / "in", tmp_path / "spark", "spark")
    assert_same_as_spark_after_fallback(auto, by_spark, tmp_path / "auto")


def test_other_time_zones_take_spark(spark, tmp_path: Path):
    write_bytes(tmp_path / "csv" / "a.csv", _GOOD)
    spark.conf.set("spark.sql.session.timeZone", "Europe/Amsterdam")
    try:
        counts = sales.convert(spark, str(tmp_path / "csv"), str(tmp_path / "o2"))
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert counts["engine"] == "spark" and "Europe/Amsterdam" in str(counts["engine_note"])
    assert counts["written"] == 1


def test_unknown_engine_is_refused_by_name(spark, tmp_path: Path):
    write_bytes(tmp_path / "in" / "data.csv", _GOOD)
    with pytest.raises(common.JobInputError, match=r"--ENGINE must be one of auto, arrow, spark"):
        sales.convert(spark, str(tmp_path / "in"), str(tmp_path / "out"), engine="duckdb")


def test_large_input_takes_spark_under_auto(spark, tmp_path: Path, monkeypatch):
    write_bytes(tmp_path / "in" / "data.csv", _GOOD)
    assert_size_rule(sales, spark, tmp_path, monkeypatch, written=1)


def test_arrow_engine_reads_and_writes_s3(spark, moto_endpoint: str, monkeypatch):
    """Arrow's own S3 client (the AWS SDK's default credential chain and endpoint) against a
    local S3 server: a quoted CRLF in an LF file read back exactly, date folders, typed values,
    rejects, and the rejects file written without Spark."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(
        Bucket="sales-raw", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    data = (
        b'id,event_time,amount\n1,2026-11-20T10:00:00Z,"1,234.50"\n'
        b'2,2026-11-21 23:30:00,"7\r\n"\n3,2026-11-21,n/a\n'
    )
    s3.put_object(Bucket="sales-raw", Key="in/a.csv", Body=data)
    path = "s3://sales-raw/in/a.csv"
    header = ("id", "event_time", "amount")
    plan = common.CsvPlan({header: [path]}, 1, len(data), 30.0, {path: "\n"})
    roles = sales.roles_of(list(header), None, None)
    counts, rejects = sales.arrow_convert(
        spark, plan, roles, {c: c for c in header}, "s3://sales-raw/out/_staging.out.r1/", "r1"
    )
    assert counts == {"read": 3, "written": 2, "rejected": 1}
    assert rejects == [
        {
            "id": "3",
            "event_time": "2026-11-21",
            "amount": "n/a",
            common.SOURCE_FILE: path,
            common.REJECT_REASON: "invalid amount: n/a",
        }
    ]
    listed = s3.list_objects_v2(Bucket="sales-raw", Prefix="out/")["Contents"]
    keys = sorted(o["Key"] for o in listed if o["Key"].endswith(".parquet"))
    assert [k.split("/")[2] for k in keys] == ["date=2026-11-20", "date=2026-11-21"]
    body = s3.get_object(Bucket="sales-raw", Key=keys[1])["Body"].read()
    [row] = pq.read_table(pa.BufferReader(body)).to_pylist()
    assert (row["id"], str(row["amount"]), row["event_time"].isoformat()) == (
        "2",
        "7.00",
        "2026-11-21T23:30:00",
    )
    folder = "s3://sales-raw/rejected/_staging.rejected.r1/"
    assert common._write_lines_with_arrow(spark, ['{"id": "3"}'], folder, "part-00000-r1.json")
    got = s3.get_object(Bucket="sales-raw", Key="rejected/_staging.rejected.r1/part-00000-r1.json")
    assert got["Body"].read() == b'{"id": "3"}\n'
