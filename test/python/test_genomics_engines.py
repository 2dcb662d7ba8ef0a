"""The genomics job's two engines on the same input: Arrow in the driver and Spark must write the
same rows into the same folders and reject the same rows for the same reasons; input that Arrow
would read differently goes to Spark, whole."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import genomics_csv_to_parquet as genomics
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import functions as F
from support import (
    assert_each_once,
    assert_same_as_spark_after_fallback,
    assert_size_rule,
    common,
    read_json_lines,
    read_partitioned,
    reference_records,
    write_bytes,
)
from test_csv_hostile import CHROMOSOMES, HOSTILE, POSITIONS, Ids, text_file

# Spellings beyond the hostile corpus's: characters Spark escapes in folder names, case and
# separators around the prefix, Unicode digits and case, numbers at the 18-digit edge.
MORE_CHROMOSOMES = [
    "chrUn/x:1",
    "a=b",
    "q?#%[]{}^*'\"\\",
    "tab\there",
    "chr 1",
    "naïve",
    "İstanbul",
    "ß",
    "CHROMOSOME_x",
    "Chrom-M",
    "chr_",
    "chr-",
    "١٢",
    "000000000000000001",
    "999999999999999999",
    "1000000000000000000",
    "chr\u00a01",
    "\u2028",
]
MORE_POSITIONS = [
    "+",
    "++1",
    "+-1",
    "-",
    "--1",
    "1 2",
    " +7",
    "٣",
    "\u00a012",
    "-9223372036854775809",
]


def test_arrow_expressions_match_spark(spark):
    """Every spelling and position, through both engines' expressions (empty fields as each
    reader gives them: null in Spark, an empty string in Arrow)."""
    chromosomes = CHROMOSOMES + MORE_CHROMOSOMES
    positions = POSITIONS + MORE_POSITIONS
    pairs = [(c, p) for c in chromosomes for p in positions[:: max(1, len(positions) // 12)]]
    pairs += [(chromosomes[i % len(chromosomes)], p) for i, p in enumerate(positions)]
    df = spark.createDataFrame(
        [(c or None, p or None) for c, p in pairs], "c string, p string"
    ).withColumn(common.CORRUPT, F.lit(None).cast("string"))
    got_spark = [
        (r.chromosome, r.position, r._reject_reason)
        for r in genomics.normalise(df, "c", "p", []).collect()
    ]
    chromosome = genomics.arrow_chromosome(pa.array([c for c, _ in pairs]))
    text = pa.array([p.strip(" ") if p else None for _, p in pairs], pa.string())
    position, reason = genomics.arrow_position(text, chromosome)
    got_arrow = list(
        zip(chromosome.to_pylist(), position.to_pylist(), reason.to_pylist(), strict=True)
    )
    assert len(got_spark) == len(pairs)
    mismatches = [
        (pair, s, a) for pair, s, a in zip(pairs, got_spark, got_arrow, strict=True) if s != a
    ]
    assert not mismatches, mismatches[:10]


@pytest.mark.parametrize("bad", [None, "", "x", "-1", "99999999999999999999"])
def test_one_bad_position_among_good_ones_is_rejected(bad):
    """A batch whose only bad row is one position (the engine skips the reasons when none is
    needed)."""
    chromosome = genomics.arrow_chromosome(pa.array(["chr1", "2", "X"]))
    position, reason = genomics.arrow_position(pa.array(["5", bad, "7"], pa.string()), chromosome)
    assert position.to_pylist() == [5, None, 7]
    assert reason.to_pylist()[0::2] == [None, None] and reason.to_pylist()[1]


def test_partition_folders_are_named_as_spark_names_them(spark, tmp_path: Path):
    values = ["1", "chrUn/x:1", "a=b", "q?#%[]{}^*'\"\\", "tab\there", "naïve", "x y", "\x7f"]
    df = spark.createDataFrame([(v, 1) for v in values], "chromosome string, n int")
    df.write.partitionBy("chromosome").parquet(str(tmp_path / "out"))
    spark_names = {p.name for p in (tmp_path / "out").iterdir() if p.name.startswith("chrom")}
    assert {genomics.partition_folder(v) for v in values} == spark_names


def _values(rng: random.Random, crlf: bool) -> list[str]:
    # Every hostile value, line breaks of any kind among them: inside quotes Arrow keeps them
    # as Spark does (unquoted ones go to Spark, see the fallback test).
    return list(HOSTILE)


def arrow_corpus(folder: Path, seed: int) -> list[Path]:
    """Hostile CSV that Arrow reads itself: two header layouts, LF and CRLF files, a byte-order
    mark, blank lines, gzip, a header-only file, quoted line breaks, commas and quotes."""
    rng = random.Random(seed)
    next_id = Ids()
    spellings = CHROMOSOMES + MORE_CHROMOSOMES

    def rows(columns: list[str], n: int, crlf: bool = False) -> list[list[str]]:
        values = {
            "chrom": lambda: rng.choice(spellings),
            "#chrom": lambda: rng.choice(spellings),
            "pos": lambda: rng.choice(POSITIONS + MORE_POSITIONS),
            "position": lambda: rng.choice(POSITIONS + MORE_POSITIONS),
            "id": next_id,
        }
        hostile = _values(rng, crlf)
        return [
            [values.get(c.lower(), lambda: rng.choice(hostile))() for c in columns]
            for _ in range(n)
        ]

    a = ["chrom", "pos", "id", "info"]
    b = ["id", "#CHROM", "POSITION", "note", "INFO"]
    return [
        text_file(folder / "a.csv", a, rows(a, 300), rng, blank_lines=True),
        text_file(folder / "b.csv", b, rows(b, 200, crlf=True), rng, newline="\r\n", bom=True),
        text_file(folder / "c.csv.gz", a, rows(a, 120), rng, gz=True, last_newline=False),
        text_file(folder / "header_only.csv", a, [], rng),
    ]


def _run(spark, src: Path, out: Path, engine: str) -> tuple[dict, list, list, list]:
    counts = genomics.convert(spark, str(src), str(out), engine=engine, target_file_bytes=4000)
    rows = sorted(
        tuple(sorted((k, str(v)) for k, v in r.asDict().items()))
        for r in read_partitioned(spark, out).collect()
    )
    folders = sorted(
        str(p.relative_to(out)) for p in out.rglob("*.parquet") if "_rejected" not in p.parts
    )
    rejects = sorted(json.dumps(r, sort_keys=True) for r in read_json_lines(out / "_rejected"))
    return counts, rows, [f.split("/")[0] for f in folders], rejects


@pytest.mark.parametrize("seed", [5, 6])
def test_engines_write_the_same_rows_folders_and_rejects(spark, tmp_path: Path, seed: int):
    files = arrow_corpus(tmp_path / "in", seed)
    arrow = _run(spark, tmp_path / "in", tmp_path / "arrow", "auto")
    by_spark = _run(spark, tmp_path / "in", tmp_path / "spark", "spark")
    assert arrow[0]["engine"] == "arrow", arrow[0].get("engine_note")
    assert by_spark[0]["engine"] == "spark"
    for key in ("read", "written", "rejected"):
        assert arrow[0][key] == by_spark[0][key], key
    assert arrow[0]["read"] == len(reference_records(files))
    assert arrow[0]["rejected"] > 0 and arrow[0]["written"] > 0
    assert_each_once(by_spark[1], arrow[1], "rows written")
    assert sorted(set(arrow[2])) == sorted(set(by_spark[2]))
    # The same size rule: files per chromosome within one of Spark's count.
    for folder in set(by_spark[2]):
        assert abs(arrow[2].count(folder) - by_spark[2].count(folder)) <= 1, folder
    assert_each_once(by_spark[3], arrow[3], "rows rejected")


# Past the 64 KB head the job inspects (a mixed line ending there is refused by name).
_PAD = b"".join(b"chr1,%d,pad\n" % n for n in range(7000))
FALLBACKS = {
    "a row with an extra field": b"chrom,pos,id\nchr1,5,a\nchr1,6,b,extra\nchr2,7,c\n",
    "a row with a missing field": b"chrom,pos,id\nchr1,5,a\nchr1\nchr2,7,c\n",
    "a carriage return in an LF file": b"chrom,pos,id\n" + _PAD + b"chr2,7,c\rd\nchr3,8,e\n",
    "a lone LF in a CRLF file": (
        b"chrom,pos,id\r\n" + _PAD.replace(b"\n", b"\r\n") + b"chr1,5,a\nb\r\nchr2,7,c\r\n"
    ),
    "invalid UTF-8": b"chrom,pos,id\nchr1,5,\xff\xfe\nchr2,7,c\n",
    "spaces on a line of their own": b"chrom,pos,id\nchr1,5,a\n   \nchr2,7,c\n",
}


@pytest.mark.parametrize("case", sorted(FALLBACKS))
def test_input_arrow_would_read_differently_goes_to_spark(spark, tmp_path: Path, case: str):
    write_bytes(tmp_path / "in" / "data.csv", FALLBACKS[case])
    write_bytes(tmp_path / "in" / "more.csv", b"chrom,pos,id\nchrX,9,z\n")
    auto = _run(spark, tmp_path / "in", tmp_path / "auto", "auto")
    by_spark = _run(spark, tmp_path / "in", tmp_path / "spark", "spark")
    assert_same_as_spark_after_fallback(auto, by_spark, tmp_path / "auto")


def test_unknown_engine_is_refused_by_name(spark, tmp_path: Path):
    write_bytes(tmp_path / "in" / "data.csv", b"chrom,pos\nchr1,5\n")
    with pytest.raises(common.JobInputError, match=r"--ENGINE must be one of auto, arrow, spark"):
        genomics.convert(spark, str(tmp_path / "in"), str(tmp_path / "out"), engine="duckdb")


def test_large_input_takes_spark_under_auto(spark, tmp_path: Path, monkeypatch):
    write_bytes(tmp_path / "in" / "data.csv", b"chrom,pos\nchr1,5\nchr2,6\n")
    assert_size_rule(genomics, spark, tmp_path, monkeypatch, written=2)


def test_arrow_engine_reads_and_writes_s3(spark, moto_endpoint: str, monkeypatch):
    """The Arrow engine's own S3 client (the AWS SDK's default credential chain and endpoint),
    against a local S3 server: a quoted line break read back exactly, folders and rejects."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.create_bucket(
        Bucket="genomics-raw", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    data = b'chrom,pos,id\nchr1,5,"a\nb"\nchrX,9,z\nchr2,x,bad\n'
    s3.put_object(Bucket="genomics-raw", Key="csv/a.csv", Body=data)
    path = "s3://genomics-raw/csv/a.csv"
    plan = common.CsvPlan({("chrom", "pos", "id"): [path]}, 1, len(data), 12.0, {path: "\n"})
    counts, rejects = genomics.arrow_convert(
        spark, plan, "s3://genomics-raw/out/_staging.out.r1/", genomics.TARGET_FILE_BYTES, "r1"
    )
    assert counts == {"read": 3, "written": 2, "rejected": 1}
    assert rejects == [
        {
            "chromosome": "2",
            "id": "bad",
            common.SOURCE_FILE: path,
            common.REJECT_REASON: "non-numeric position: x",
            "position": "x",
        }
    ]
    listed = s3.list_objects_v2(Bucket="genomics-raw", Prefix="out/")["Contents"]
    keys = sorted(o["Key"] for o in listed if o["Key"].endswith(".parquet"))
    assert [k.split("/")[2] for k in keys] == ["chromosome=1", "chromosome=X"]
    body = s3.get_object(Bucket="genomics-raw", Key=keys[0])["Body"].read()
    assert pq.read_table(pa.BufferReader(body)).to_pylist() == [{"position": 5, "id": "a\nb"}]


def test_gzip_input_counts_at_its_decompressed_size(spark, tmp_path: Path, monkeypatch):

    data = b"chrom,pos\n" + b"".join(b"chr1,%d\n" % n for n in range(200))
    write_bytes(tmp_path / "plain" / "data.csv", data)
    write_bytes(tmp_path / "gz" / "data.csv.gz", gzip.compress(data))
    assert (tmp_path / "gz" / "data.csv.gz").stat().st_size * genomics.GZIP_EXPANSION > len(data)
    monkeypatch.setattr(genomics, "ARROW_MAX_INPUT_BYTES", len(data))
    plain = genomics.convert(spark, str(tmp_path / "plain"), str(tmp_path / "a"))
    packed = genomics.convert(spark, str(tmp_path / "gz"), str(tmp_path / "b"))
    assert plain["engine"] == "arrow"
    assert packed["engine"] == "spark" and "decompressed" in str(packed["engine_note"])
