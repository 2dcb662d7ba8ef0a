"""Tag Parquet rows by regular expressions from a small rules table.

Glue:  --INPUT_PATH s3://…/in/ --RULES_PATH s3://…/rules.csv --OUTPUT_PATH s3://…/tagged/
       or, instead of --OUTPUT_PATH: --JDBC_CONNECTION_NAME pg --JDBC_TABLE public.tagged
Local: python scripts/regex_tagging.py --INPUT_PATH in/ --RULES_PATH rules.csv --OUTPUT_PATH out/
       (or --JDBC_URL jdbc:postgresql://localhost/db?user=…&password=… --JDBC_TABLE tagged)

Rules CSV: a header ``tag,column,pattern`` and one rule per row; a pattern is a Java regular
expression (``(?i)`` for case-insensitive) searched anywhere in the column's text (for a
non-string column, its Spark string form: ``12.5``, ``2024-01-31 10:00:00``, ``[a, b]``).
Every rule is checked before any data is read: an unknown column or a bad pattern is an error
naming the rule.

Input: every Parquet file below --INPUT_PATH, ``key=value/`` partition folders included; names
starting with ``_`` or ``.`` are skipped, as Spark does; any other file that is not Parquet is an
error naming it. Files may differ in columns: the output has every column of every file (null
where a file lacks it), and a column whose type widened (int → bigint, float → double, a wider
decimal, a struct with more fields) takes the wider type. Types that cannot be merged without
loss are an error naming the column and the files.

Output: the input columns plus ``tags`` (``--TAGS_COLUMN`` renames it; an array of the matching
tags in rule order, without repeats, empty when none). The rows written must equal the rows the
input files' footers hold, or nothing is published. Parquet output is written to a hidden staging
folder and swapped in, so readers see the previous output or the new one (docs/outputs.md). A
JDBC table is loaded into a staging table ``<table>_tagging_staging`` first, then its rows are
replaced in one transaction (delete + insert), so it holds the old rows or the new ones, and
keeps its definition, grants and indexes. A retry never duplicates.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

import glue_etl_common as common
from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

JOB = "regex_tagging"
TAGS = "tags"
RULE_FIELDS = ("tag", "column", "pattern")


@dataclass(frozen=True)
class Rule:
    number: int  # 1-based row of the rules table, for messages
    tag: str
    column: str
    pattern: str

    def describe(self) -> str:
        return f"rule {self.number} (tag {self.tag!r}, column {self.column!r})"


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


def parse_rules(text: str, source: str) -> list[Rule]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [f for f in RULE_FIELDS if f not in header]
    if missing:
        raise common.JobInputError(
            f"rules table {source} needs the columns {', '.join(RULE_FIELDS)}; "
            f"missing {', '.join(missing)} (header: {reader.fieldnames})"
        )
    reader.fieldnames = header
    rules: list[Rule] = []
    for i, row in enumerate(reader, start=1):
        values = {k: (row.get(k) or "").strip() for k in RULE_FIELDS}
        if row.get(None):  # type: ignore[call-overload]
            raise common.JobInputError(
                f"rules table {source}, rule {i} (tag {values['tag']!r}) has more fields than "
                f'the header; quote a pattern that contains commas: "a{{2,}}"'
            )
        if not any(values.values()):
            continue
        # Patterns keep their spaces: they may be meaningful.
        rules.append(Rule(i, values["tag"], values["column"], row.get("pattern") or ""))
    if not rules:
        raise common.JobInputError(f"rules table {source} has no rules")
    return rules


def validate_rules(
    spark: SparkSession, rules: Sequence[Rule], columns: Sequence[str]
) -> list[Rule]:
    """Every problem of every rule at once; columns resolved to the input's spelling."""
    by_lower = {c.lower(): c for c in columns}
    problems: list[str] = []
    resolved: list[Rule] = []
    pattern_class = spark.sparkContext._jvm.java.util.regex.Pattern  # type: ignore[attr-defined]
    for rule in rules:
        if not rule.tag:
            problems.append(f"{rule.describe()}: the tag is empty")
        column = by_lower.get(rule.column.lower())
        if column is None:
            problems.append(f"{rule.describe()}: no such column; the input has {list(columns)}")
        if not rule.pattern:
            problems.append(f"{rule.describe()}: the pattern is empty")
        else:
            # Compiled by the JVM, the engine that runs it, so its syntax is what is checked.
            try:
                pattern_class.compile(rule.pattern)
            except Exception as e:  # py4j wraps PatternSyntaxException
                detail = str(e).split("PatternSyntaxException:", 1)[-1].strip().splitlines()[0]
                problems.append(
                    f"{rule.describe()}: invalid regular expression {rule.pattern!r}: {detail}"
                )
        resolved.append(Rule(rule.number, rule.tag, column or rule.column, rule.pattern))
    if problems:
        raise common.JobInputError("bad rules:\n  " + "\n  ".join(problems))
    return resolved


# --------------------------------------------------------------------------------------------
# Pure transforms
# --------------------------------------------------------------------------------------------


# Rules per array of the tags expression: one array of hundreds of matches makes a method too
# large for the JIT and for whole-stage code generation; chunks keep each part small.
RULES_PER_CHUNK = 32
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = str.maketrans(_UPPER, _UPPER.lower())


def tag_column(rules: Sequence[Rule], texts: Mapping[str, tuple[Column, Column]]) -> Column:
    """One expression over all rules: the matching tags in rule order, without repeats.

    ``texts`` maps each rule column to its text and its text with ASCII letters lowered (see
    :func:`tag`). A rule whose pattern needs a literal (see :func:`required_literals`) runs its
    regex only on values that contain one: a substring search over bytes costs a fraction of
    Java's regex scan, which tries the pattern at every position, and most values match few of
    many rules. The rules become literals of this expression, shipped to each executor in the
    task binary, so matching runs in the JVM with no join, shuffle or Python UDF.
    """
    chunks = []
    for start in range(0, len(rules), RULES_PER_CHUNK):
        hits = [
            F.when(_matches(r, *texts[r.column]), F.lit(r.tag))
            for r in rules[start : start + RULES_PER_CHUNK]
        ]
        chunks.append(F.filter(F.array(*hits), lambda t: t.isNotNull()))
    return F.array_distinct(chunks[0] if len(chunks) == 1 else F.flatten(F.array(*chunks)))


def _matches(rule: Rule, text: Column, folded: Column) -> Column:
    match = text.rlike(rule.pattern)
    needs = required_literals(rule.pattern)
    if needs is None:
        return match
    present = [
        folded.contains(n.text.translate(_ASCII_LOWER)) if n.ignore_case else text.contains(n.text)
        for n in sorted(needs, key=lambda n: (n.text, n.ignore_case))
    ]
    # And evaluates its right side only when the left is true: the regex runs on candidates.
    return reduce(lambda a, b: a | b, present) & match


def tag(df: DataFrame, rules: Sequence[Rule], tags_column: str = TAGS) -> DataFrame:
    """``df`` with the tags column. Each rule column becomes text (and, when a rule needs it, text
    with its ASCII letters lowered) once per row, in hidden columns, not once per rule."""
    taken = {c.lower() for c in df.columns} | {tags_column.lower()}
    folding = {
        r.column for r in rules if any(n.ignore_case for n in required_literals(r.pattern) or ())
    }
    texts: dict[str, tuple[str, str]] = {}
    for i, c in enumerate(dict.fromkeys(r.column for r in rules)):
        text = _free(f"__tag_text_{i}", taken)
        texts[c] = (text, _free(f"__tag_folded_{i}", taken) if c in folding else text)
    with_text = df.select("*", *[_col(c).cast("string").alias(t) for c, (t, _) in texts.items()])
    with_text = with_text.select(
        "*",
        *[
            F.translate(_col(t), _UPPER, _UPPER.lower()).alias(f)
            for t, f in texts.values()
            if f != t
        ],
    )
    columns = {c: (_col(t), _col(f)) for c, (t, f) in texts.items()}
    hidden = list(dict.fromkeys(n for pair in texts.values() for n in pair))
    return with_text.withColumn(tags_column, tag_column(rules, columns)).drop(*hidden)


def _free(name: str, taken: set[str]) -> str:
    while name.lower() in taken:
        name += "_"
    taken.add(name.lower())
    return name


# --------------------------------------------------------------------------------------------
# Literals a pattern needs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    text: str
    # Java's (?i) without the u flag: ASCII letters match either case, other characters only
    # themselves, so lowering the ASCII letters of both sides finds every match.
    ignore_case: bool


class _Unknown(Exception):
    """A construct the scan does not model: the pattern gets no prefilter."""


# A set of literals one of which every match of the pattern contains; None when unknown.
Needs = frozenset[Literal] | None

_ZERO_WIDTH_ESCAPES = set("bBAzZG")
_CLASS_ESCAPES = set("dDsSwWhHvV")
_CONTROL_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "a": "\x07", "e": "\x1b"}
_META = set("\\^$.|?*+()[]{}")
_REPEAT = re.compile(r"\{(\d+)(,\d*)?\}")
_FLAGS = re.compile(r"([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])")


def required_literals(pattern: str) -> Needs:
    """Literals one of which every text the Java ``pattern`` finds a match in contains, or None.

    A conservative scan of Java's regex syntax: literal runs, escapes, groups, alternation,
    quantifiers, simple classes, inline ``i``/``m``/``s``/``d`` flags (scoped like Java's, to
    their group). Anything it does not model (back-references, nested or intersected classes,
    Unicode case, comments mode, ``\\x``/``\\p`` escapes) gives None: no prefilter, the regex
    alone decides, so a rule can only get faster, never lose a match.
    """
    scan = _LiteralScan(pattern)
    try:
        needs = scan.alternation()
        if scan.pos != len(pattern):
            raise _Unknown(pattern)
    except _Unknown:
        return None
    return needs


def _best(a: Needs, b: Needs) -> Needs:
    """The more selective of two requirements (both hold, so either may be used)."""
    if a is None:
        return b
    if b is None:
        return a

    def score(n: frozenset[Literal]) -> tuple[int, int]:
        return (min(len(x.text) for x in n), -len(n))

    return a if score(a) >= score(b) else b


class _LiteralScan:
    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.pos = 0
        self.ignore_case = False

    def peek(self, ahead: int = 0) -> str:
        i = self.pos + ahead
        return self.p[i] if i < len(self.p) else ""

    def alternation(self) -> Needs:
        """Branches up to the end of the group: every branch must need something."""
        branches = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence())
        if any(b is None for b in branches):
            return None
        return frozenset().union(*branches)  # type: ignore[arg-type]

    def sequence(self) -> Needs:
        best: Needs = None
        run: list[str] = []
        run_case = self.ignore_case

        def end_run() -> None:
            nonlocal best, run
            if run:
                best = _best(best, frozenset([Literal("".join(run), run_case)]))
            run = []

        while self.peek() not in ("", "|", ")"):
            kind, value = self.atom()
            low = self.quantifier()
            if kind == "char" and low == 1 and (not run or run_case == self.ignore_case):
                if not run:
                    run_case = self.ignore_case
                run.append(value)  # type: ignore[arg-type]
                continue
            end_run()
            if kind == "char" and low == 1:  # the case mode changed within a run
                run_case = self.ignore_case
                run.append(value)  # type: ignore[arg-type]
            elif kind == "needs" and low >= 1:
                best = _best(best, value)  # type: ignore[arg-type]
        end_run()
        return best

    def quantifier(self) -> int:
        """1 when the atom is not quantified; else 0 when it may be absent, 2 when present."""
        c = self.peek()
        if c in ("?", "*"):
            self.pos += 1
            low = 0
        elif c == "+":
            self.pos += 1
            low = 1
        elif c == "{":
            m = _REPEAT.match(self.p, self.pos)
            if m is None:
                raise _Unknown(self.p)
            self.pos = m.end()
            low = int(m.group(1))
        else:
            return 1
        if self.peek() in ("?", "+"):  # lazy or possessive: the same repeats
            self.pos += 1
        # A quantified atom is not one literal character any more (x+ may be xxx).
        return 0 if low == 0 else 2

    def atom(self) -> tuple[str, object]:
        """("char", c), ("needs", Needs), ("none", None) for an atom that needs nothing, or
        ("zero", None) for an anchor."""
        c = self.peek()
        self.pos += 1
        if c == "(":
            return self.group()
        if c == "[":
            self.char_class()
            return "none", None
        if c == ".":
            return "none", None
        if c in ("^", "$"):
            return "zero", None
        if c == "\\":
            return self.escape()
        if c in _META:  # a quantifier with nothing before it, a stray ] or }
            raise _Unknown(self.p)
        return "char", c

    def escape(self) -> tuple[str, object]:
        c = self.peek()
        self.pos += 1
        if c == "":
            raise _Unknown(self.p)
        if c in _ZERO_WIDTH_ESCAPES:
            return "zero", None
        if c in _CLASS_ESCAPES or c in ("R", "X"):
            return "none", None
        if c in _CONTROL_ESCAPES:
            return "char", _CONTROL_ESCAPES[c]
        if c == "Q":
            end = self.p.find("\\E", self.pos)
            quoted = self.p[self.pos : end if end >= 0 else len(self.p)]
            self.pos = end + 2 if end >= 0 else len(self.p)
            if not quoted:
                return "zero", None
            return "needs", frozenset([Literal(quoted, self.ignore_case)])
        if c.isascii() and not c.isalnum():
            return "char", c
        raise _Unknown(self.p)  # back-references, \x, \u, \p{...}, \k<...>, \N{...}

    def group(self) -> tuple[str, object]:
        saved = self.ignore_case
        keep = True
        if self.peek() == "?":
            self.pos += 1
            c = self.peek()
            if c == ":" or c == ">":
                self.pos += 1
            elif c in ("=", "!"):
                self.pos += 1
                keep = False
            elif c == "<" and self.peek(1) in ("=", "!"):
                self.pos += 2
                keep = False
            elif c == "<" and self.peek(1).isascii() and self.peek(1).isalpha():
                end = self.p.find(">", self.pos)
                if end < 0:
                    raise _Unknown(self.p)
                self.pos = end + 1
            else:
                m = _FLAGS.match(self.p, self.pos)
                if m is None:
                    raise _Unknown(self.p)
                on, off = m.group(1), m.group(2) or ""
                if set(on + off) - set("imsd"):
                    raise _Unknown(self.p)  # u, U, x, c change what a literal matches
                self.pos = m.end()
                case = ("i" in on) or (self.ignore_case and "i" not in off)
                if m.group(3) == ")":  # flags for the rest of the enclosing group
                    self.ignore_case = case
                    return "zero", None
                self.ignore_case = case
        needs = self.alternation()
        if self.peek() != ")":
            raise _Unknown(self.p)
        self.pos += 1
        self.ignore_case = saved
        return ("needs", needs) if keep and needs is not None else ("none", None)

    def char_class(self) -> None:
        """Skips a class of plain characters, ranges and simple escapes; anything else (nested
        classes, intersections, a leading ``]``) is not modelled."""
        if self.peek() == "^":
            self.pos += 1
        if self.peek() == "]":
            raise _Unknown(self.p)
        while True:
            c = self.peek()
            self.pos += 1
            if c == "" or c == "[" or (c == "&" and self.peek() == "&"):
                raise _Unknown(self.p)
            if c == "]":
                return
            if c == "\\":
                e = self.peek()
                self.pos += 1
                if not (
                    e in _CLASS_ESCAPES
                    or e in _CONTROL_ESCAPES
                    or (e.isascii() and e and not e.isalnum())
                ):
                    raise _Unknown(self.p)


# Per-tag counts per observation: one aggregate over hundreds of counts is too large to be
# compiled and runs interpreted (it cost more than the matching); stacked chunks stay compiled.
TAGS_PER_OBSERVATION = 25


def observe_tags(
    df: DataFrame, rules: Sequence[Rule], tags_column: str = TAGS
) -> tuple[DataFrame, Callable[[], dict[str, int]]]:
    """Rows per tag, counted while the next action runs; call the function after it."""
    tags = list(dict.fromkeys(r.tag for r in rules))
    observations: list[tuple[Observation, list[str]]] = []
    for start in range(0, len(tags), TAGS_PER_OBSERVATION):
        chunk = tags[start : start + TAGS_PER_OBSERVATION]
        obs = Observation(f"tags_{start}")
        df = df.observe(
            obs,
            *[
                F.count(F.when(F.array_contains(_col(tags_column), t), 1)).alias(f"tag_{i}")
                for i, t in enumerate(chunk)
            ],
        )
        observations.append((obs, chunk))

    def per_tag() -> dict[str, int]:
        counts: dict[str, int] = {}
        for obs, chunk in observations:
            got = obs.get
            counts |= {t: int(got[f"tag_{i}"]) for i, t in enumerate(chunk)}
        return {t: counts[t] for t in tags}

    return df, per_tag


def _col(name: str) -> Column:
    """A column by its exact name, even with dots, spaces or backticks in it."""
    return F.col("`" + name.replace("`", "``") + "`")


# --------------------------------------------------------------------------------------------
# Input files and their schemas
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParquetFile:
    path: str
    schema: T.StructType  # the file's own columns, as Spark reads them
    rows: int  # from the footer, independent of what the job later counts


def _hidden(name: str) -> bool:
    """Names Spark's file listing skips (so do we): ``_x`` (unless a partition), ``.x``."""
    return (name.startswith("_") and "=" not in name) or name.startswith(".")


def find_input_files(spark: SparkSession, input_path: str) -> tuple[list[str], str | None]:
    """The visible files below ``input_path`` and the base path for partition discovery.

    The base path is the input folder when every subfolder is a ``key=value`` partition, None when
    there are no subfolders with files (or the input is one file or a glob).
    """
    fs, hpath = common._jvm_path(spark, input_path)
    statuses = fs.globStatus(hpath)
    if not statuses:
        raise common.JobInputError(f"--INPUT_PATH {input_path!r} does not exist")
    files: list[tuple[str, list[str]]] = []
    roots = [st for st in statuses if not _hidden(st.getPath().getName()) or len(statuses) == 1]
    for st in roots:
        root = st.getPath().toString().rstrip("/")
        if not st.isDirectory():
            files.append((root, []))
            continue
        listing = fs.listFiles(st.getPath(), True)
        while listing.hasNext():
            child = listing.next()
            full = child.getPath().toString()
            rel = full[len(root) + 1 :].split("/")
            if not any(_hidden(part) for part in rel):
                files.append((full, rel[:-1]))
    if not files:
        raise common.JobInputError(
            f"--INPUT_PATH {input_path!r} holds no data files (names starting with _ or . are "
            "skipped); check the path, or that the upstream job wrote its output"
        )
    folders = {tuple(dirs) for _, dirs in files}
    partitioned = [d for d in folders if d and all("=" in part for part in d)]
    plain = [d for d in folders if d and not all("=" in part for part in d)]
    if plain and partitioned:
        bad = "/".join(sorted(plain)[0])
        raise common.JobInputError(
            f"--INPUT_PATH {input_path!r} mixes key=value partition folders with the folder "
            f"{bad!r}; move that folder out of the input"
        )
    single_dir = len(statuses) == 1 and statuses[0].isDirectory()
    base = statuses[0].getPath().toString() if partitioned and single_dir else None
    return sorted(path for path, _ in files), base


# Failures reading a footer that are the environment's, not the file's: they stay errors as such.
_ENVIRONMENT = (
    "java.io.FileNotFoundException",
    "java.nio.file.AccessDeniedException",
    "java.net.",
    "org.apache.hadoop.fs.s3a.",
    "com.amazonaws.",
    "software.amazon.",
)


def _is_format_error(e: Exception) -> bool:
    java = getattr(e, "java_exception", None)
    if java is None:
        return False
    kind = str(java.getClass().getName())
    return not kind.startswith(_ENVIRONMENT) and "Interrupted" not in kind


def read_footer(spark: SparkSession, path: str) -> ParquetFile | str:
    """The file's schema and row count from its footer, read on the driver (no Spark job); a
    sentence saying why it is not readable Parquet otherwise."""
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    fs, hpath = common._jvm_path(spark, path)
    if int(fs.getFileStatus(hpath).getLen()) == 0:
        return "is empty (0 bytes)"
    conf = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
    parquet = jvm.org.apache.parquet.hadoop
    try:
        reader = parquet.ParquetFileReader.open(parquet.util.HadoopInputFile.fromPath(hpath, conf))
        try:
            footer = reader.getFooter()
        finally:
            reader.close()
    except Exception as e:  # py4j wraps the Java exception
        if not _is_format_error(e):
            raise
        if common.read_head(spark, path, 4) == b"PAR1":
            return "is a damaged Parquet file (truncated, or its footer is corrupt)"
        return "is not a Parquet file"
    pkg = jvm.org.apache.spark.sql.execution.datasources.parquet
    sql_conf = spark._jsparkSession.sessionState().conf()  # type: ignore[attr-defined]
    converter = pkg.ParquetToSparkSchemaConverter(sql_conf)
    # Spark's own schema when Spark wrote the file (kept in the footer), else converted.
    schema = pkg.ParquetFileFormat.readSchemaFromFooter(
        parquet.Footer(hpath, footer), converter
    ).json()
    rows = sum(int(b.getRowCount()) for b in footer.getBlocks())
    return ParquetFile(path, T.StructType.fromJson(json.loads(schema)), rows)


def read_footers(spark: SparkSession, input_path: str, paths: Sequence[str]) -> list[ParquetFile]:
    results = common.map_in_threads(lambda p: read_footer(spark, p), list(paths))
    bad = [f"{p} {r}" for p, r in zip(paths, results, strict=True) if isinstance(r, str)]
    if bad:
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise common.JobInputError(
            f"--INPUT_PATH {input_path!r}: {'; '.join(bad[:5])}{more}. Only Parquet files may "
            "sit in the input folder: move other files out (names starting with _ or . are "
            "skipped), or rewrite a damaged file from its source"
        )
    return [r for r in results if isinstance(r, ParquetFile)]


# Integral types by width, and the decimal each fits in exactly.
_INTEGRAL = {"byte": (1, 3), "short": (2, 5), "integer": (3, 10), "long": (4, 20)}


def widen(a: T.DataType, b: T.DataType) -> T.DataType | None:
    """The narrowest type holding every value of both without loss, or None if there is none."""
    if a == b:
        return a
    na, nb = a.typeName(), b.typeName()
    if na in _INTEGRAL and nb in _INTEGRAL:
        return a if _INTEGRAL[na][0] >= _INTEGRAL[nb][0] else b
    floats = {"float", "double"}
    if {na, nb} <= floats:
        return T.DoubleType()
    # A double holds every int exactly and a float every byte/short; long → double would round.
    for x, y in ((na, nb), (nb, na)):
        if x == "double" and y in ("byte", "short", "integer"):
            return T.DoubleType()
        if x == "float" and y in ("byte", "short"):
            return T.FloatType()
    if isinstance(a, T.DecimalType) or isinstance(b, T.DecimalType):
        da, db = _as_decimal(a), _as_decimal(b)
        if da is None or db is None:
            return None
        scale = max(da.scale, db.scale)
        digits = max(da.precision - da.scale, db.precision - db.scale)
        return T.DecimalType(digits + scale, scale) if digits + scale <= 38 else None
    if isinstance(a, T.ArrayType) and isinstance(b, T.ArrayType):
        element = widen(a.elementType, b.elementType)
        return T.ArrayType(element, True) if element is not None else None
    if isinstance(a, T.MapType) and isinstance(b, T.MapType):
        value = widen(a.valueType, b.valueType)
        if a.keyType != b.keyType or value is None:
            return None
        return T.MapType(a.keyType, value, True)
    if isinstance(a, T.StructType) and isinstance(b, T.StructType):
        try:
            return merge_fields([a, b])
        except _Conflict:
            return None
    return None


def _as_decimal(t: T.DataType) -> T.DecimalType | None:
    if isinstance(t, T.DecimalType):
        return t
    if t.typeName() in _INTEGRAL:
        return T.DecimalType(_INTEGRAL[t.typeName()][1], 0)
    return None


class _Conflict(Exception):
    def __init__(self, column: str, first: T.DataType, second: T.DataType, index: int):
        super().__init__(column)
        self.column, self.first, self.second, self.index = column, first, second, index


def merge_fields(schemas: Sequence[T.StructType]) -> T.StructType:
    """Every field of every schema, in order of first appearance, matched by name ignoring case
    (as Spark resolves columns) and widened; raises _Conflict naming the schema that clashed."""
    merged: dict[str, T.StructField] = {}
    for i, schema in enumerate(schemas):
        for field in schema.fields:
            key = field.name.lower()
            seen = merged.get(key)
            if seen is None:
                merged[key] = T.StructField(field.name, field.dataType, True)
                continue
            wider = widen(seen.dataType, field.dataType)
            if wider is None:
                raise _Conflict(seen.name, seen.dataType, field.dataType, i)
            merged[key] = T.StructField(seen.name, wider, True)
    return T.StructType(list(merged.values()))


def merge_schemas(files: Sequence[ParquetFile]) -> T.StructType:
    try:
        return merge_fields([f.schema for f in files])
    except _Conflict as c:
        clash = files[c.index]
        key = c.column.lower()
        first = next(
            f for f in files[: c.index] if any(x.name.lower() == key for x in f.schema.fields)
        )
        raise common.JobInputError(
            f"column {c.column!r} has types that cannot be merged without loss: "
            f"{c.first.simpleString()} (in {first.path}) and {c.second.simpleString()} "
            f"(in {clash.path}); rewrite the files with one type for "
            "the column, or tag them in separate runs"
        ) from None


def conform(col: Column, source: T.DataType, target: T.DataType) -> Column:
    """``col`` of type ``source`` as ``target`` (a widening of it), null where it was null."""
    if source == target:
        return col
    if isinstance(source, T.StructType) and isinstance(target, T.StructType):
        have = {f.name.lower(): f for f in source.fields}
        parts = []
        for f in target.fields:
            src = have.get(f.name.lower())
            value = (
                conform(col.getField(src.name), src.dataType, f.dataType)
                if src is not None
                else F.lit(None).cast(f.dataType)
            )
            parts.append(value.alias(f.name))
        # Building a struct from the fields of a null struct would invent a non-null one.
        return F.when(col.isNull(), F.lit(None).cast(target)).otherwise(F.struct(*parts))
    if isinstance(source, T.ArrayType) and isinstance(target, T.ArrayType):
        return F.transform(col, lambda x: conform(x, source.elementType, target.elementType))
    if isinstance(source, T.MapType) and isinstance(target, T.MapType):
        return F.transform_values(col, lambda _, v: conform(v, source.valueType, target.valueType))
    return col.cast(target)


def read_input(spark: SparkSession, input_path: str) -> tuple[DataFrame, int, list[str]]:
    """All rows of all Parquet files below ``input_path`` with the merged schema; their true row
    count (from the footers); the columns that come from partition folders."""
    paths, base = find_input_files(spark, input_path)
    files = read_footers(spark, input_path, paths)
    merged = merge_schemas(files)
    reader = spark.read.option("basePath", base) if base else spark.read
    # Partition columns and their types, inferred over all files at once (no footer is read).
    probe = reader.schema(files[0].schema).parquet(*paths).schema
    own = {f.name.lower() for f in files[0].schema.fields}
    partitions = [f for f in probe.fields if f.name.lower() not in own]
    clash = [f.name for f in partitions if f.name.lower() in {m.name.lower() for m in merged}]
    if clash:
        raise common.JobInputError(
            f"--INPUT_PATH {input_path!r}: column {clash[0]!r} is both a partition folder name "
            "and a column inside the files; rename one of them"
        )
    groups: dict[str, list[ParquetFile]] = {}
    for f in files:
        groups.setdefault(f.schema.json(), []).append(f)
    frames = []
    for group in groups.values():
        schema = group[0].schema
        df = reader.schema(T.StructType(schema.fields + partitions)).parquet(
            *[f.path for f in group]
        )
        have = {f.name.lower(): f for f in schema.fields}
        cols = []
        for field in merged.fields:
            src = have.get(field.name.lower())
            if src is None:
                cols.append(F.lit(None).cast(field.dataType).alias(field.name))
            else:
                cols.append(conform(_col(src.name), src.dataType, field.dataType).alias(field.name))
        frames.append(df.select(*cols, *[_col(p.name) for p in partitions]))
    rows = sum(f.rows for f in files)
    return reduce(DataFrame.union, frames), rows, [p.name for p in partitions]


# --------------------------------------------------------------------------------------------
# JDBC
# --------------------------------------------------------------------------------------------

DRIVERS = {
    "postgresql": "org.postgresql.Driver",
    "mysql": "com.mysql.cj.jdbc.Driver",
    "derby": "org.apache.derby.jdbc.EmbeddedDriver",
    "sqlserver": "com.microsoft.sqlserver.jdbc.SQLServerDriver",
}


@dataclass(frozen=True)
class JdbcTarget:
    url: str
    user: str | None = None
    password: str | None = None

    def options(self) -> dict[str, str]:
        opts = {"url": self.url}
        vendor = self.url.split(":")[1] if self.url.startswith("jdbc:") else ""
        if vendor in DRIVERS:
            opts["driver"] = DRIVERS[vendor]
        if self.user is not None:
            opts["user"] = self.user
        if self.password is not None:
            opts["password"] = self.password
        return opts

    def describe(self, table: str) -> str:
        return f"{self.url.split('?')[0]} table {table}"


def jdbc_target_from_glue(name: str, glue: Any, secrets: Any) -> JdbcTarget:
    """URL and credentials of a Glue JDBC connection; the password comes from Secrets Manager
    when the connection names a secret (SECRET_ID or AuthenticationConfiguration.SecretArn)."""
    try:
        conn = glue.get_connection(Name=name, HidePassword=False)["Connection"]
    except glue.exceptions.EntityNotFoundException as e:
        raise common.JobInputError(f"Glue connection {name!r} does not exist") from e
    props: Mapping[str, str] = conn.get("ConnectionProperties", {})
    url = props.get("JDBC_CONNECTION_URL")
    if not url:
        raise common.JobInputError(f"Glue connection {name!r} has no JDBC_CONNECTION_URL")
    secret_id = props.get("SECRET_ID") or conn.get("AuthenticationConfiguration", {}).get(
        "SecretArn"
    )
    user, password = props.get("USERNAME"), props.get("PASSWORD")
    if secret_id:
        secret = json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"])
        user = secret.get("username", user)
        password = secret.get("password", password)
    return JdbcTarget(url, user, password)


def jdbc_connect(spark: SparkSession, target: JdbcTarget) -> Any:
    """A JDBC connection on the driver, through the driver Spark itself loads for the URL."""
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    opts = target.options()
    if "driver" in opts:
        jvm.org.apache.spark.sql.execution.datasources.jdbc.DriverRegistry.register(opts["driver"])
    props = jvm.java.util.Properties()
    for key in ("user", "password"):
        if key in opts:
            props.setProperty(key, opts[key])
    drivers = jvm.java.sql.DriverManager.getDrivers()
    while drivers.hasMoreElements():
        driver = drivers.nextElement()
        if driver.acceptsURL(target.url):
            return driver.connect(target.url, props)
    raise common.JobInputError(
        f"no JDBC driver on the classpath accepts {target.url.split('?')[0]}"
    )


def _sql_error(e: Exception) -> str:
    java = getattr(e, "java_exception", None)
    text = str(java.getMessage() if java is not None else e) or type(e).__name__
    return text.strip().splitlines()[0]


def _jdbc_value(field: T.StructField, url: str) -> Column:
    """JDBC takes no structs or maps, and arrays only on PostgreSQL: those become JSON text."""
    t = field.dataType
    nested = isinstance(t, (T.StructType, T.MapType)) or (
        isinstance(t, T.ArrayType)
        and (not url.startswith("jdbc:postgresql:") or not isinstance(t.elementType, T.AtomicType))
    )
    col = _col(field.name)
    return F.to_json(col).alias(field.name) if nested else col


def jdbc_staging_table(table: str) -> str:
    return f"{table}_tagging_staging"


def write_jdbc(
    spark: SparkSession,
    df: DataFrame,
    target: JdbcTarget,
    table: str,
    check: Callable[[], None],
) -> None:
    """Replace the table's rows, all or nothing, keeping its definition, grants and indexes.

    Spark loads the rows into a staging table (recreated each run, so a killed run's leftover is
    replaced); ``check`` then vets the load (row counts); and one transaction deletes the old rows
    and copies the new ones in. A failure at any point leaves the table's old rows.
    """
    df = df.select(*[_jdbc_value(f, target.url) for f in df.schema.fields])
    staging = jdbc_staging_table(table)
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    dialect = jvm.org.apache.spark.sql.jdbc.JdbcDialects.get(target.url)
    writer = df.write.format("jdbc").options(**target.options()).option("batchsize", "5000")
    conn = jdbc_connect(spark, target)
    try:
        exists = True
        try:
            conn.createStatement().executeQuery(dialect.getTableExistsQuery(table)).close()
        except Exception:
            exists = False
        if not exists:  # first run: an empty table with Spark's column types
            # From the schema alone: an action on ``df`` would end its row count observation.
            spark.createDataFrame([], df.schema).write.format("jdbc").options(
                **target.options()
            ).option("dbtable", table).mode("errorifexists").save()
        writer.option("dbtable", staging).mode("overwrite").save()
        check()
        cols = ", ".join(dialect.quoteIdentifier(c) for c in df.columns)
        conn.setAutoCommit(False)
        try:
            st = conn.createStatement()
            st.executeUpdate(f"DELETE FROM {table}")
            st.executeUpdate(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {staging}")
            conn.commit()
        except Exception as e:
            conn.rollback()
            raise common.JobInputError(
                f"{target.describe(table)} keeps its previous rows: copying the new rows in "
                f"from {staging} failed: {_sql_error(e)}"
            ) from e
        conn.setAutoCommit(True)
        try:
            conn.createStatement().executeUpdate(f"DROP TABLE {staging}")
        except Exception:  # a leftover staging table is replaced by the next run
            common.debug_log.warning("could not drop %s", staging, exc_info=True)
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# I/O
# --------------------------------------------------------------------------------------------


def run(
    spark: SparkSession,
    input_path: str,
    rules_path: str,
    output_path: str | None = None,
    jdbc: JdbcTarget | None = None,
    jdbc_table: str | None = None,
    tags_column: str = TAGS,
) -> dict[str, object]:
    started = time.monotonic()
    if (output_path is None) == (jdbc is None):
        raise common.JobInputError(
            "give exactly one output: --OUTPUT_PATH, or --JDBC_CONNECTION_NAME/--JDBC_URL "
            "with --JDBC_TABLE"
        )
    if jdbc is not None and not jdbc_table:
        raise common.JobInputError("--JDBC_TABLE is required for JDBC output")
    if not tags_column:
        raise common.JobInputError("--TAGS_COLUMN must not be empty")
    recovered: dict[str, list[str]] = {"restored": [], "removed": []}
    if output_path is not None:
        # What a killed run left first: it may hold the only complete copy of the output.
        recovered = common.recover(spark, output_path)
    rules = parse_rules(common.read_text(spark, rules_path), rules_path)
    df, true_rows, partitions = read_input(spark, input_path)
    if tags_column.lower() in (c.lower() for c in df.columns):
        raise common.JobInputError(
            f"the input already has a column named {tags_column!r}; name the tags column "
            "differently with --TAGS_COLUMN (e.g. --TAGS_COLUMN rule_tags)"
        )
    rules = validate_rules(spark, rules, df.columns)
    tagged, obs = common.observe_counts(
        tag(df, rules, tags_column), "tagging", tagged=F.size(_col(tags_column)) > 0
    )
    tagged, per_tag = observe_tags(tagged, rules, tags_column)

    def reconcile() -> None:
        # The footers' counts against the rows actually written: a difference publishes nothing.
        written = int(obs.get["rows"])
        if written != true_rows:
            raise RuntimeError(
                f"wrote {written} rows but the input files hold {true_rows}; nothing was "
                "published, the previous output is unchanged"
            )

    if jdbc is not None and jdbc_table:
        write_jdbc(spark, tagged, jdbc, jdbc_table, reconcile)
        destination = jdbc.describe(jdbc_table)
    else:
        dest = str(output_path)
        staging = common.staging_path(dest, common.new_run_id())
        try:
            tagged.write.option("compression", "snappy").parquet(staging)
            reconcile()
        except BaseException:
            common.delete_path(spark, staging)
            raise
        common.publish(spark, staging, dest)
        destination = dest
    metrics = obs.get
    counts: dict[str, object] = {
        "read": true_rows,
        "written": int(metrics["rows"]),
        "rejected": 0,
        "tagged": int(metrics["tagged"]),
        "per_tag": per_tag(),
        "rules": len(rules),
        "columns": len(df.columns),
        "output": destination,
        "seconds": round(time.monotonic() - started, 1),
    }
    if partitions:
        counts["partition_columns"] = partitions
    if recovered["restored"] or recovered["removed"]:
        counts["recovered"] = recovered
    return counts


# --------------------------------------------------------------------------------------------
# Glue bootstrap
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> None:
    args = common.job_args(argv, JOB)
    job = common.start_job(JOB, args)
    jdbc: JdbcTarget | None = None
    if args.get("JDBC_CONNECTION_NAME"):
        import boto3

        jdbc = jdbc_target_from_glue(
            str(args["JDBC_CONNECTION_NAME"]), boto3.client("glue"), boto3.client("secretsmanager")
        )
    elif args.get("JDBC_URL"):
        jdbc = JdbcTarget(str(args["JDBC_URL"]))
    counts = run(
        job.spark,
        str(args["INPUT_PATH"]),
        str(args["RULES_PATH"]),
        output_path=args.get("OUTPUT_PATH"),
        jdbc=jdbc,
        jdbc_table=args.get("JDBC_TABLE"),
        tags_column=str(args.get("TAGS_COLUMN") or TAGS),
    )
    common.emit_summary(JOB, counts)
    job.commit()


if __name__ == "__main__":
    common.run_main(main)
