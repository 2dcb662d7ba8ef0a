"""genomics_csv_to_parquet on generated CSV with the oddities real sources have."""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import genomics_csv_to_parquet as genomics
import pytest
from support import (
    SCRIPTS,
    common,
    parquet_files,
    read_json_lines,
    read_partitioned,
    run_script,
    summary_of,
    write_bytes,
)

# Source A: UCSC-style names, CRLF line endings, quoted fields with commas and escaped quotes.
SOURCE_A = (
    "chrom,pos,ref,alt,info\r\n"
    'chr1,100,A,G,"DP=10,AF=0.5"\r\n'
    "chr1,250,C,T,plain\r\n"
    'chrX,300,G,A,"gene ""XIST"", exon 2"\r\n'
    "chrM,16,T,C,mito\r\n"
    "chrUn_gl000220,5,A,C,unplaced\r\n"
    "chr2,abc,A,C,bad-position\r\n"
    "chr2,10,A,C,extra,columns\r\n"
    ",12,A,C,no-chromosome\r\n"
    "\r\n"
)
# Source B: Ensembl/VCF-style header and names, LF endings, a different column order.
SOURCE_B = (
    "#CHROM,POS,ID,REF,ALT\n"
    "1,150,rs1,A,T\n"
    "01,175,rs2,G,C\n"
    "X,310,rs3,C,G\n"
    "MT,20,rs4,A,G\n"
    "GL000192.1,7,rs5,T,A\n"
    "2,,rs6,A,C\n"
    "y,42,rs7,G,T\n"
)


@pytest.fixture()
def sources(tmp_path: Path) -> Path:
    src = tmp_path / "csv"
    write_bytes(src / "a.csv", SOURCE_A)
    write_bytes(src / "b.csv", SOURCE_B)
    write_bytes(src / "empty.csv", b"")
    write_bytes(src / "header_only.csv", "chr,bp,ref\n")
    return src


NAMES = {
    "chr1": "1",
    "1": "1",
    "01": "1",
    " CHR22 ": "22",
    "chromosome7": "7",
    "chrX": "X",
    "x": "X",
    "chrY": "Y",
    "M": "MT",
    "MT": "MT",
    "chrM": "MT",
    "chrMT": "MT",
    "chrUn_gl000220": "chrUn_gl000220",
    "GL000192.1": "GL000192.1",
    "chr1_gl000191_random": "chr1_gl000191_random",
    "": None,
    None: None,
}


def test_chromosome_names_are_normalised(spark):
    df = spark.createDataFrame([(raw,) for raw in NAMES], "c string")
    got = {r.c: r.n for r in genomics.normalise_chromosome(df, "c", "n").select("c", "n").collect()}
    assert got == NAMES


def test_common_spellings_take_the_same_value_as_the_general_steps(spark):
    # A padded value misses the hash-set lookup and goes through the general steps.
    spellings = (
        genomics._NORMAL_FORMS
        + genomics._CHR_FORMS
        + ["chrM", "chrMT", "M", "0", "100", "chr100", "chr0", "chrx", "mt", "Chr7"]
    )
    df = spark.createDataFrame([(v, f" {v} ") for v in spellings], "c string, padded string")
    df = genomics.normalise_chromosome(df, "c", "n")
    got = genomics.normalise_chromosome(df, "padded", "general").collect()
    assert [r.n for r in got] == [r.general for r in got]
    assert {r.c: r.n for r in got}["chr7"] == "7"


def test_converts_mixed_sources_and_rejects_bad_rows(spark, sources: Path, tmp_path: Path):
    out = tmp_path / "out"
    counts = genomics.convert(spark, str(sources / "*.csv"), str(out))

    assert counts["files"] == 4
    assert counts["read"] == 15
    assert counts["written"] == 11
    assert counts["rejected"] == 4
    assert counts["read"] == counts["written"] + counts["rejected"]

    partitions = sorted(p.name for p in out.iterdir() if p.name.startswith("chromosome="))
    assert partitions == [
        "chromosome=1",
        "chromosome=GL000192.1",
        "chromosome=MT",
        "chromosome=X",
        "chromosome=Y",
        "chromosome=chrUn_gl000220",
    ]
    df = read_partitioned(spark, out)
    assert dict(df.dtypes)["position"] == "bigint"
    rows = {(r.chromosome, r.position): r for r in df.collect()}
    assert sorted(rows) == [
        ("1", 100),
        ("1", 150),
        ("1", 175),
        ("1", 250),
        ("GL000192.1", 7),
        ("MT", 16),
        ("MT", 20),
        ("X", 300),
        ("X", 310),
        ("Y", 42),
        ("chrUn_gl000220", 5),
    ]
    # Columns of both layouts are carried through; quoted commas and quotes survive.
    assert rows[("1", 100)].info == "DP=10,AF=0.5"
    assert rows[("X", 300)].info == 'gene "XIST", exon 2'
    assert rows[("1", 150)].ID == "rs1" and rows[("1", 150)].info is None

    rejected = read_json_lines(out / "_rejected")
    reasons = sorted(r["_reject_reason"] for r in rejected)
    assert reasons == [
        "malformed row: wrong number of columns",
        "missing chromosome",
        "missing position",
        "non-numeric position: abc",
    ]
    malformed = next(r for r in rejected if r["_reject_reason"].startswith("malformed"))
    assert malformed["_raw_line"] == "chr2,10,A,C,extra,columns"
    assert all(r["_source_file"].endswith(".csv") for r in rejected)


def test_rerun_replaces_instead_of_duplicating(spark, sources: Path, tmp_path: Path):
    out = tmp_path / "out"
    first = genomics.convert(spark, str(sources), str(out))
    second = genomics.convert(spark, str(sources), str(out))
    assert first == {**second, "seconds": first["seconds"]}
    assert read_partitioned(spark, out).count() == first["written"]
    assert len(read_json_lines(out / "_rejected")) == first["rejected"]

    # Once the bad rows are fixed at the source, a rerun leaves no stale rejects behind.
    (sources / "a.csv").unlink()
    third = genomics.convert(spark, str(sources), str(out))
    assert third["rejected"] == 1  # b.csv's row without a position
    assert len(read_json_lines(out / "_rejected")) == 1


def test_files_per_chromosome_follow_size_not_input_splits(spark, tmp_path: Path):
    src = tmp_path / "many"
    for i in range(12):
        lines = ["chromosome,position,value"]
        lines += [f"chr{c},{i * 1000 + n},{c}-{n}" for c in ("1", "2", "X") for n in range(50)]
        write_bytes(src / f"part{i:02d}.csv", "\n".join(lines) + "\n")
    out = tmp_path / "out"
    # Tiny splits: every file is read by its own task (12+ input tasks).
    spark.conf.set("spark.sql.files.maxPartitionBytes", "2048")
    try:
        counts = genomics.convert(spark, str(src / "*.csv"), str(out))
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert counts["written"] == 12 * 150 and counts["rejected"] == 0
    for chrom in ("1", "2", "X"):
        assert len(parquet_files(out / f"chromosome={chrom}")) == 1
    assert not (out / "_rejected").exists()

    # As many large files as cores (the session's parallelism is 4): still one file per
    # chromosome, not one per input file.
    for extra in sorted(src.glob("part*.csv"))[4:]:
        extra.unlink()
    spark.conf.set("spark.sql.files.maxPartitionBytes", "2048")
    try:
        counts = genomics.convert(spark, str(src / "*.csv"), str(out))
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert counts["written"] == 4 * 150
    for chrom in ("1", "2", "X"):
        assert len(parquet_files(out / f"chromosome={chrom}")) == 1

    # A small target size splits a chromosome's rows over files of bounded size.
    big = tmp_path / "big"
    write_bytes(
        big / "one.csv", "chr,pos\n" + "".join(f"chr1,{n}\n" for n in range(2500)) + "chr2,1\n"
    )
    out2 = tmp_path / "out2"
    genomics.convert(spark, str(big), str(out2), target_file_bytes=1000 * 7)
    files = parquet_files(out2 / "chromosome=1")
    assert len(files) == 3
    assert sum(spark.read.parquet(str(f)).count() for f in files) == 2500


def test_clear_errors_for_unusable_input(spark, tmp_path: Path):
    with pytest.raises(common.JobInputError, match=r"matches no files"):
        genomics.convert(spark, str(tmp_path / "nothing" / "*.csv"), str(tmp_path / "out"))
    write_bytes(tmp_path / "odd" / "x.csv", "sample,locus\nS1,chr1:100\n")
    with pytest.raises(common.JobInputError, match=r"x\.csv: header \['sample', 'locus'\]"):
        genomics.convert(spark, str(tmp_path / "odd"), str(tmp_path / "out"))


def test_only_empty_files_is_an_empty_run(spark, tmp_path: Path):
    write_bytes(tmp_path / "in" / "empty.csv", b"")
    write_bytes(tmp_path / "in" / "header.csv", "chrom,pos\r\n")
    counts = genomics.convert(spark, str(tmp_path / "in"), str(tmp_path / "out"))
    assert (counts["read"], counts["written"], counts["rejected"]) == (0, 0, 0)


@pytest.mark.slow
def test_runs_as_a_command_line_script(sources: Path, tmp_path: Path):
    out = tmp_path / "cli-out"
    rejected = tmp_path / "cli-rejected"
    proc = run_script(
        "genomics_csv_to_parquet.py",
        "--INPUT_PATH",
        f"file://{sources}/*.csv",
        "--OUTPUT_PATH",
        str(out),
        f"--REJECTED_PATH={rejected}",
    )
    summary = summary_of(proc)
    assert summary["job"] == "genomics_csv_to_parquet"
    assert (summary["read"], summary["written"], summary["rejected"]) == (15, 11, 4)
    assert summary["reconciled"] is True
    assert len(read_json_lines(rejected)) == 4
    assert (out / "chromosome=MT").is_dir()

    bad = run_script(
        "genomics_csv_to_parquet.py", "--INPUT_PATH", str(sources), "--OUTPUT-PATH", "x"
    )
    assert bad.returncode == 2
    assert "unknown argument --OUTPUT-PATH" in bad.stderr


def _deployed_input_glob() -> str:
    """The glob the Pulumi program gives the deployed job under csv/ (its declaration)."""
    source = (SCRIPTS.parent / "pipelines" / "genomics.ts").read_text()
    match = re.search(r'GENOMICS_INPUT_GLOB = "([^"]+)"', source)
    assert match, "GENOMICS_INPUT_GLOB not found in pipelines/genomics.ts"
    return match.group(1)


def test_deployed_input_glob_reads_plain_and_gzip_csv_and_nothing_else(spark, tmp_path: Path):
    src = tmp_path / "csv"
    plain = "chrom,pos,ref\n1,100,A\nX,200,C\n2,300,G\n"
    packed = 'chrom,pos,ref\r\n3,400,T\r\nMT,16,"A"\r\n1,101,C\r\n'
    write_bytes(src / "plain.csv", plain)
    write_bytes(src / "batch-7.csv.gz", gzip.compress(packed.encode()))
    # Same shape, but not input: the event filter does not start runs for these either.
    write_bytes(src / "notes.txt", "chrom,pos,ref\n9,999,N\n")
    write_bytes(src / "old.csv.bak", "chrom,pos,ref\n8,888,N\n")

    expected = {
        (row["chrom"], int(row["pos"]), row["ref"])
        for text in (plain, packed)
        for row in csv.DictReader(io.StringIO(text, newline=""))
    }
    out = tmp_path / "out"
    counts = genomics.convert(spark, f"{src}/{_deployed_input_glob()}", str(out))

    got = {(r.chromosome, r.position, r.ref) for r in read_partitioned(spark, out).collect()}
    assert got == expected
    assert counts["files"] == 2
    assert counts["written"] == len(expected) and counts["rejected"] == 0
