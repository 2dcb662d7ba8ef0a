"""Hostile CSV through the shared reader (every CSV job reads with it) and the genomics job,
checked row by row against Python's csv module.

The corpus is generated: random values drawn from the kinds of text that break CSV readers,
written in every file shape (line endings, byte-order mark, blank lines, missing last line break,
header drift, gzip, ...). Every data row carries a unique id, and each test asserts that every id
lands exactly once in the output or in the rejected rows, and that counts match the number of
records the reference reads.
"""

from __future__ import annotations

import gzip
import random
import re
from pathlib import Path

import genomics_csv_to_parquet as genomics
import pytest
from support import (
    CsvRecord,
    assert_each_once,
    common,
    parse_csv_line,
    read_json_lines,
    read_partitioned,
    reference_records,
    run_script,
    write_bytes,
)

# Values that break CSV readers: separators, quotes and line breaks inside fields, spaces,
# non-ASCII, empty.
HOSTILE = [
    "plain",
    "a,b",
    'say "hi"',
    '""',
    "two\nlines",
    "two\r\nlines",
    "ends with newline\n",
    "\n",
    ",",
    '"',
    "  padded  ",
    "",
    "naïve — 日本語 😀",
    "tab\there",
    "semi;colon",
    "lone\rcarriage return",
    "\r",
    "line\u2028separator\u0085next line",
]


def field(value: str, rng: random.Random) -> str:
    """``value`` as one CSV field: quoted when it must be, sometimes when it need not be."""
    if any(ch in value for ch in ',"\r\n') or rng.random() < 0.2:
        return '"' + value.replace('"', '""') + '"'
    return value


def render(fields: list[str], rng: random.Random) -> str:
    return ",".join(field(v, rng) for v in fields)


def text_file(
    path: Path,
    header: list[str],
    rows: list[list[str]],
    rng: random.Random,
    newline: str = "\n",
    bom: bool = False,
    last_newline: bool = True,
    blank_lines: bool = False,
    raw_rows: list[str] = (),  # already rendered (malformed on purpose)
    gz: bool = False,
) -> Path:
    lines = [render(header, rng)] + [render(r, rng) for r in rows] + list(raw_rows)
    if blank_lines:
        for _ in range(3):
            lines.insert(rng.randrange(1, len(lines) + 1), "")
    text = newline.join(lines) + (newline if last_newline else "")
    data = ("\ufeff" if bom else "").encode() + text.encode()
    return write_bytes(path, gzip.compress(data) if gz else data)


class Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"id{self.n:06d}"


def generic_corpus(folder: Path, seed: int) -> list[Path]:
    """Files of every shape with columns ``id, a, b, c`` in varying order, naming and number."""
    rng = random.Random(seed)
    next_id = Ids()

    def rows(columns: list[str], n: int) -> list[list[str]]:
        return [
            [next_id() if c.strip().lower() == "id" else rng.choice(HOSTILE) for c in columns]
            for _ in range(n)
        ]

    base = ["id", "a", "b", "c"]
    files = [
        text_file(folder / "lf.csv", base, rows(base, 40), rng),
        text_file(folder / "crlf.csv", base, rows(base, 40), rng, newline="\r\n"),
        text_file(folder / "bom.csv", base, rows(base, 20), rng, bom=True, newline="\r\n"),
        text_file(folder / "no_last_newline.csv", base, rows(base, 20), rng, last_newline=False),
        text_file(folder / "blank_lines.csv", base, rows(base, 20), rng, blank_lines=True),
        text_file(folder / "gzipped.csv.gz", base, rows(base, 30), rng, gz=True),
        # Schema drift: other order, other case and spacing, an extra and a missing column.
        text_file(
            folder / "reordered.csv", ["c", "ID", " b ", "a"], rows(["c", "ID", "b", "a"], 20), rng
        ),
        text_file(folder / "extra.csv", [*base, "d"], rows([*base, "d"], 20), rng),
        text_file(folder / "missing.csv", ["id", "b"], rows(["id", "b"], 20), rng),
        # Duplicate names: the second "a" becomes a_2.
        text_file(folder / "duplicates.csv", ["id", "a", "a"], rows(["id", "a", "a2"], 10), rng),
        text_file(folder / "header_only.csv", base, [], rng),
        write_bytes(folder / "empty.csv", b""),
    ]
    # Wrong field counts, a quote inside an unquoted field, spaces around a quoted field.
    bad = [
        f"{next_id()},1,2,3,4",
        f"{next_id()},1",
        f'{next_id()},x"y,z,w',
        f'{next_id()}, "q,r" ,s,t',
        f'{next_id()},"open\nquote",2,3,extra',
        "   ",
    ]
    files.append(text_file(folder / "malformed.csv", base, rows(base, 10), rng, raw_rows=bad))
    # Invalid UTF-8 bytes in a value.
    files.append(
        write_bytes(
            folder / "invalid_utf8.csv",
            b"id,a,b,c\n"
            + f"{next_id()},ok,\xff\xfe bad,c\n".encode("latin-1")
            + f"{next_id()},fine,b,c\n".encode(),
        )
    )
    # Very long fields (2 MB, with line breaks inside) and many columns.
    long_value = ("x" * 999 + "\n") * 2048
    files.append(text_file(folder / "long.csv", base, [[next_id(), long_value, "b", "c"]], rng))
    wide = ["id", "a", "b", "c"] + [f"col{i}" for i in range(3000)]
    files.append(text_file(folder / "wide.csv", wide, rows(wide, 3), rng))
    return files


def read_all(spark, folder: Path):
    plan = common.plan_csv(spark, common.list_input(spark, str(folder)))
    return common.union_all(
        common.read_csv(spark, cols, paths, plan.line_seps) for cols, paths in plan.groups.items()
    )


def key_of(record: CsvRecord) -> tuple[str | None, ...]:
    """A reference row as the reader returns it: id and the a/b/c values, a missing column or an
    empty field as null (Spark reads an empty field as null)."""
    names = [h.strip().lower() for h in record.header]
    return tuple((record.value(c) if c in names else None) or None for c in ("id", "a", "b", "c"))


def key_of_row(row) -> tuple[str | None, ...]:
    values = {k.lower(): v for k, v in row.asDict().items()}
    return tuple(values.get(c) or None for c in ("id", "a", "b", "c"))


def first_id(fields) -> str:
    return next(f for f in fields if f.startswith("id"))


@pytest.mark.parametrize("seed", [1, 2])
def test_shared_reader_keeps_every_row_once(spark, tmp_path: Path, seed: int):
    files = generic_corpus(tmp_path / "in", seed)
    reference = reference_records(files)
    df = read_all(spark, tmp_path / "in")
    # Only the columns checked: collecting all 3,000 of the wide file's columns costs seconds.
    # Selecting the corrupt-record column keeps every column parsed, as the jobs read.
    checked = ("id", "a", "b", "c", common.CORRUPT.lower(), common.SOURCE_FILE.lower())
    rows = df.select(*[f"`{c}`" for c in df.columns if c.lower() in checked]).collect()

    assert len(rows) == len(reference)
    good = [r for r in rows if r[common.CORRUPT] is None]
    bad = [r for r in rows if r[common.CORRUPT] is not None]
    # Well-formed rows: every value exactly as the reference reads it (quoted line breaks,
    # CRLF inside quotes, escaped quotes, non-ASCII, U+FFFD for invalid bytes).
    assert_each_once(
        [key_of(r) for r in reference if r.well_formed],
        [key_of_row(r) for r in good],
        "well-formed rows",
    )
    # Rows with the wrong number of fields keep their text, which reads back as the reference.
    assert_each_once(
        [r.fields for r in reference if not r.well_formed],
        [parse_csv_line(r[common.CORRUPT]) for r in bad],
        "malformed rows",
    )
    assert all(r[common.SOURCE_FILE] for r in rows)


def test_file_split_on_a_quoted_line_break(spark, tmp_path: Path):
    """A file larger than a split, with line breaks inside quotes everywhere: no row is cut."""
    rng = random.Random(7)
    next_id = Ids()
    rows = [[next_id(), "line\none\r\nline two", rng.choice(HOSTILE), "c"] for _ in range(4000)]
    files = [
        text_file(tmp_path / "in" / "big.csv", ["id", "a", "b", "c"], rows, rng, newline="\r\n")
    ]
    reference = reference_records(files)
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(16 * 1024))
    try:
        got = read_all(spark, tmp_path / "in").collect()
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert len(got) == len(reference) == 4000
    assert_each_once(
        [key_of(r) for r in reference],
        [key_of_row(r) for r in got],
        "rows of a split file",
    )


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("utf16.csv", "\ufeffid,a\n1,x\n".encode("utf-16-le"), r"utf16\.csv: the file is UTF-16"),
        ("utf16be.csv", "id,a\n1,x\n".encode("utf-16-be"), r"utf16be\.csv: .*NUL bytes"),
        ("mixed.csv", b"id,a\r\n1,x\n2,y\r\n", r"mixed\.csv: its rows end with both CRLF and LF"),
    ],
)
def test_unreadable_files_are_refused_by_name(spark, tmp_path: Path, name, data, message):
    write_bytes(tmp_path / "in" / "fine.csv", "id,a\n1,x\n")
    write_bytes(tmp_path / "in" / name, data)
    with pytest.raises(common.JobInputError, match=message):
        read_all(spark, tmp_path / "in")


def test_header_with_a_quoted_line_break(spark, tmp_path: Path):
    write_bytes(tmp_path / "in" / "h.csv", 'id,"a\nb",c\n1,"x\ny",z\n')
    plan = common.plan_csv(spark, common.list_input(spark, str(tmp_path / "in")))
    assert list(plan.groups) == [("id", "a\nb", "c")]
    rows = read_all(spark, tmp_path / "in").collect()
    assert [tuple(r)[:3] for r in rows] == [("1", "x\ny", "z")]


# --------------------------------------------------------------------------------------------
# Genomics: chromosome and position rules against a Python reference of the documented rules
# --------------------------------------------------------------------------------------------

CHROMOSOMES = [
    "chr1",
    "Chr1",
    "CHR1",
    "1",
    "01",
    "001",
    " chr7 ",
    "chromosome_3",
    "chrom-4",
    "chrX",
    "x",
    "Y",
    "chrM",
    "M",
    "MT",
    "chrMT",
    "mt",
    "chrUn_gl000220",
    "GL000192.1",
    "chr1_KI270706v1_random",
    "HLA-A*01:01:01:01",
    "",
    "  ",
    "0",
    "chr0",
    "chr",
    "22",
    "chr99999999999999999999",
]
POSITIONS = [
    "100",
    "+5",
    "007",
    " 42 ",
    "0",
    "-3",
    "1.5",
    "1e5",
    "abc",
    "",
    "  ",
    "9223372036854775807",
    "9223372036854775808",
    "000000000000000000000000000012",
    "-0",
    "+",
    "12 34",
    "١٢٣",
]


def expected_chromosome(raw: str | None) -> str | None:
    value = (raw or "").strip(" ")
    if not value:
        return None
    bare = re.sub(r"(?i)^(chromosome|chrom|chr)[_-]?", "", value)
    if re.fullmatch(r"[0-9]{1,18}", bare) and int(bare) > 0:
        return str(int(bare))
    if bare.upper() in ("X", "Y"):
        return bare.upper()
    if bare.upper() in ("M", "MT"):
        return "MT"
    return value


def expected_position(raw: str) -> tuple[int | None, str | None]:
    """(position, reason prefix)."""
    text = raw.strip(" ")
    if not text:
        return None, "missing position"
    digits = text[1:] if text.startswith("+") else text
    if re.fullmatch(r"[0-9]+", digits):
        value = int(digits)
        return (value, None) if value < 2**63 else (None, "position out of range")
    if re.fullmatch(r"-[0-9]+", text):
        return None, "negative position"
    return None, "non-numeric position"


def genomics_corpus(folder: Path, seed: int) -> list[Path]:
    rng = random.Random(seed)
    next_id = Ids()

    def rows(columns: list[str], n: int) -> list[list[str]]:
        values = {
            "chrom": lambda: rng.choice(CHROMOSOMES),
            "#chrom": lambda: rng.choice(CHROMOSOMES),
            "pos": lambda: rng.choice(POSITIONS),
            "position": lambda: rng.choice(POSITIONS),
            "id": next_id,
        }
        return [
            [values.get(c.lower(), lambda: rng.choice(HOSTILE))() for c in columns]
            for _ in range(n)
        ]

    a = ["chrom", "pos", "id", "info"]
    b = ["id", "#CHROM", "POSITION", "note", "info"]
    return [
        text_file(folder / "a.csv", a, rows(a, 150), rng),
        text_file(folder / "b.csv", b, rows(b, 150), rng, newline="\r\n", bom=True),
        text_file(folder / "c.csv.gz", a, rows(a, 60), rng, gz=True, last_newline=False),
        text_file(
            folder / "d.csv",
            a,
            rows(a, 40),
            rng,
            blank_lines=True,
            raw_rows=[f"chr1,5,{next_id()},x,extra", f"chr1,{next_id()}"],
        ),
        text_file(folder / "header_only.csv", a, [], rng),
    ]


@pytest.mark.parametrize("seed", [3, 4])
def test_genomics_every_row_in_output_or_rejected(spark, tmp_path: Path, seed: int):
    files = genomics_corpus(tmp_path / "in", seed)
    reference = reference_records(files)
    out = tmp_path / "out"
    counts = genomics.convert(spark, str(tmp_path / "in"), str(out))

    assert counts["read"] == len(reference)
    assert counts["read"] == counts["written"] + counts["rejected"]

    want_good, want_rejected = [], []
    for r in reference:
        if not r.well_formed:
            want_rejected.append((first_id(r.fields), "malformed row"))
            continue
        chrom = expected_chromosome(
            r.value("chrom") if "chrom" in [h.lower() for h in r.header] else r.value("#chrom")
        )
        pos_raw = r.value("pos") if "pos" in [h.lower() for h in r.header] else r.value("position")
        position, reason = expected_position(pos_raw or "")
        if chrom is None:
            want_rejected.append((r.value("id"), "missing chromosome"))
        elif reason:
            want_rejected.append((r.value("id"), reason))
        else:
            want_good.append((r.value("id"), chrom, position, r.value("info") or None))

    got_good = [
        (row["id"], row["chromosome"], row["position"], row["info"])
        for row in read_partitioned(spark, out).collect()
    ]
    assert_each_once(want_good, got_good, "rows written")

    rejected = read_json_lines(out / "_rejected")
    got_rejected = []
    for row in rejected:
        reason = row["_reject_reason"]
        row_id = row.get("id")
        if reason.startswith("malformed"):
            fields = parse_csv_line(row["_raw_line"])
            row_id = first_id(fields)
            reason = "malformed row"
        got_rejected.append((row_id, reason.split(":")[0]))
    assert_each_once(want_rejected, got_rejected, "rows rejected")
    assert len(rejected) == counts["rejected"]


@pytest.mark.slow
def test_genomics_cli_on_split_file_with_quoted_line_breaks(tmp_path: Path, monkeypatch):
    """The job's entry point, one input file over many splits, line breaks inside quotes."""
    rng = random.Random(11)
    next_id = Ids()
    rows = [
        [rng.choice(["chr1", "2", "chrX"]), str(n), next_id(), f'note {n}\nsecond line, "quoted"']
        for n in range(3000)
    ]
    files = [text_file(tmp_path / "in" / "big.csv", ["chrom", "pos", "id", "info"], rows, rng)]
    reference = reference_records(files)
    # Splits of 16 KB: the file is 300 KB, so a line break inside quotes falls on a boundary.
    monkeypatch.setenv(
        "PYSPARK_SUBMIT_ARGS", "--conf spark.sql.files.maxPartitionBytes=16384 pyspark-shell"
    )
    proc = run_script(
        "genomics_csv_to_parquet.py",
        "--INPUT_PATH",
        str(tmp_path / "in"),
        "--OUTPUT_PATH",
        str(tmp_path / "out"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = common.parse_summary(proc.stdout)
    assert (summary["read"], summary["written"], summary["rejected"]) == (len(reference), 3000, 0)
