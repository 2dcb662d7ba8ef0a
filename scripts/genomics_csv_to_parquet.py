"""Genomics CSV files to Parquet partitioned by normalised chromosome.

Glue:  --INPUT_PATH s3://bucket/csv/*.csv --OUTPUT_PATH s3://bucket/output/ [--REJECTED_PATH …]
       [--ENGINE auto|arrow|spark]
Local: python scripts/genomics_csv_to_parquet.py --INPUT_PATH data/*.csv --OUTPUT_PATH out/

Input contract: UTF-8 CSV (RFC 4180 quoting, line breaks inside quotes, LF or CRLF) with a header
row. The chromosome and position columns are found by name among the usual spellings; every other
column is carried through as a string. Output: ``<OUTPUT_PATH>/chromosome=<name>/part-*.parquet``
with ``position`` as a long; rows that cannot be written go to the rejected path with a reason.

Two engines write the same output (see ``convert``): Arrow in the driver for inputs one machine
converts quickly, Spark for larger ones. Either makes one pass over the input: the counts and
the rejected rows are gathered while the Parquet is written. Rows are not sorted within files:
the rows of a chromosome arrive in no position order, and a sort costs more than the read; a
query on a position range reads the chromosome's folder (a few files for a human genome).
A run writes into a hidden staging folder and then swaps in only the chromosomes it wrote
(``publish_partitions``); the next run first undoes what a killed run left, so a retry never
duplicates rows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import glue_etl_common as common
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

JOB = "genomics_csv_to_parquet"
# In order of preference when a file has more than one of them.
CHROMOSOME_NAMES = ("chromosome", "chrom", "chr", "#chrom", "#chr", "#chromosome")
POSITION_NAMES = ("position", "pos", "bp", "start", "base_pair_location")
TARGET_FILE_BYTES = 128 * 1024 * 1024
# Rough number of chromosomes a human data set spreads over; only used to size the salt.
TYPICAL_CHROMOSOMES = 24
# Parquet files a write task keeps open; past it Spark sorts the task's remaining rows. After
# the shuffle by chromosome a task holds a few chromosomes, so this is rarely reached.
MAX_OPEN_FILES = 200

# --------------------------------------------------------------------------------------------
# Pure transforms
# --------------------------------------------------------------------------------------------


def _digits_only(text: Column) -> Column:
    return (F.length(text) > 0) & (F.translate(text, "0123456789", "") == "")


CHROMOSOME_TEXT = "__chromosome_text"
_NAME_START = "__name_start"
_BARE = "__bare"
_NUMBER = "__number"
_COMMON = "__common"
# The spellings most rows use, already in their normal form or ``chr`` + it; numbers up to 99
# cover every genome's numbered chromosomes that a partition per chromosome suits.
_NORMAL_FORMS = [str(n) for n in range(1, 100)] + ["X", "Y", "MT"]
_CHR_FORMS = [f"chr{n}" for n in _NORMAL_FORMS if n != "MT"]


def _common_spelling(raw: Column) -> Column:
    """The normal form of the most frequent spellings, found by hash-set lookups without copying
    the text; null for anything else, which :func:`normalise_chromosome`'s steps then decide."""
    return (
        F.when(raw.isin(_NORMAL_FORMS), raw)
        .when(raw.isin(_CHR_FORMS), F.substring(raw, 4, 2))
        .when(raw.isin("chrM", "chrMT", "M"), F.lit("MT"))
    )


def normalise_chromosome(df: DataFrame, raw: str, out: str = "chromosome") -> DataFrame:
    """Adds ``out``: ``chr1``/``01``/``1`` → ``1``; ``x``/``chrX`` → ``X``; ``M``/``MT``/``chrM``
    → ``MT``.

    Prefixes ``chr``, ``chrom`` and ``chromosome`` (any case, then an optional ``_`` or ``-``)
    are dropped. Anything else (unplaced or alternate contigs such as ``chrUn_gl000220`` or
    ``GL000192.1``) is kept as given, trimmed, so each contig stays its own partition. Empty
    becomes null.

    Costs, measured: the common spellings (``1``, ``chr1``, ``X``, ``MT``…) are looked up in a
    hash set first, which halves the cost of this step for typical files; the other values take
    plain string functions (regular expressions cost several times the CSV parse), one small
    projection per step, each skipped (null) for rows the lookup decided. Written as one nested
    expression, each step repeats the previous ones inside CASE branches, where Spark cannot
    share them, and the normalisation cost ten times the parse.
    """
    common_form = F.col(_COMMON)
    pending = common_form.isNull()
    value = F.col(CHROMOSOME_TEXT)
    lower = F.lower(value)
    named = F.col(_BARE)
    bare = F.col(_BARE)
    number = F.col(_NUMBER)
    upper = F.upper(bare)
    return (
        df.withColumn(_COMMON, _common_spelling(F.col(raw)))
        .withColumn(CHROMOSOME_TEXT, F.when(pending, F.trim(F.col(raw))))
        .withColumn(
            _NAME_START,
            F.when(lower.startswith("chromosome"), 11)
            .when(lower.startswith("chrom"), 6)
            .when(lower.startswith("chr"), 4)
            .otherwise(1),
        )
        .withColumn(_BARE, F.expr(f"substr({CHROMOSOME_TEXT}, {_NAME_START})"))
        .withColumn(
            _BARE,
            F.when(
                named.startswith("_") | named.startswith("-"), F.substring(named, 2, 1 << 30)
            ).otherwise(named),
        )
        .withColumn(_NUMBER, F.when(_digits_only(bare) & (F.length(bare) <= 18), bare.cast("long")))
        .withColumn(
            out,
            F.when(~pending, common_form)
            .when(value.isNull() | (value == ""), F.lit(None).cast("string"))
            .when(number > 0, number.cast("string"))
            .when(upper.isin("X", "Y"), upper)
            .when(upper.isin("M", "MT"), F.lit("MT"))
            .otherwise(value),
        )
    ).drop(_COMMON, CHROMOSOME_TEXT, _NAME_START, _BARE, _NUMBER)


def position_value(position_text: str) -> Column:
    """The position as a long from the trimmed text in column ``position_text``: a whole number,
    leading zeros and a ``+`` allowed; null when it is not one or does not fit in 64 bits."""
    text = F.col(position_text)
    digits = F.when(text.startswith("+"), F.substring(text, 2, 1 << 30)).otherwise(text)
    # try_cast: null on overflow whatever spark.sql.ansi.enabled says.
    return F.when(_digits_only(digits), F.expr(f"try_cast(`{position_text}` AS BIGINT)"))


def reject_reason(
    chromosome: Column, position_text: Column, position: Column, malformed: Column
) -> Column:
    """Why a row cannot be written, or null; ``position`` is :func:`position_value`, null for a
    position that is not a whole number from 0 to 2^63-1."""
    unsigned = F.substring(position_text, 2, 1 << 30)
    return (
        F.when(malformed.isNotNull(), F.lit("malformed row: wrong number of columns"))
        .when(chromosome.isNull(), F.lit("missing chromosome"))
        .when(position_text.isNull() | (position_text == ""), F.lit("missing position"))
        .when(position.isNotNull(), F.lit(None).cast("string"))
        .when(
            position_text.startswith("-") & _digits_only(unsigned),
            F.concat(F.lit("negative position: "), position_text),
        )
        .when(
            _digits_only(F.when(position_text.startswith("+"), unsigned).otherwise(position_text)),
            F.concat(F.lit("position out of range: "), position_text),
        )
        .otherwise(F.concat(F.lit("non-numeric position: "), position_text))
    )


POSITION_TEXT = "__position_text"
POSITION_VALUE = "__position"


def normalise(
    df: DataFrame, chromosome_col: str, position_col: str, carried: Sequence[str]
) -> DataFrame:
    """Rows of one CSV layout → ``chromosome, position, <carried…>, __position_text,
    _source_file, _raw_line, _reject_reason``; ``_reject_reason`` is null for good rows, and so
    is ``_source_file`` (only a rejected row needs its file, taken from the scan, so ``df`` must
    not have been shuffled)."""
    # Projections in steps, so each value is computed once per row and then referenced by name.
    named = (
        normalise_chromosome(df, chromosome_col, "__chromosome")
        .select(
            F.col("__chromosome").alias("chromosome"),
            F.trim(F.col(position_col)).alias(POSITION_TEXT),
            *[F.col(c) for c in carried],
            F.col(common.CORRUPT).alias(common.RAW_LINE),
        )
        .withColumn(POSITION_VALUE, position_value(POSITION_TEXT))
    )
    reason = reject_reason(
        F.col("chromosome"),
        F.col(POSITION_TEXT),
        F.col(POSITION_VALUE),
        F.col(common.RAW_LINE),
    )
    return named.select(
        "chromosome",
        F.when(reason.isNull(), F.col(POSITION_VALUE)).alias("position"),
        *[F.col(c) for c in carried],
        POSITION_TEXT,
        F.when(reason.isNotNull(), common.input_file()).alias(common.SOURCE_FILE),
        common.RAW_LINE,
        reason.alias(common.REJECT_REASON),
    )


def spread(df: DataFrame, salt_buckets: int) -> DataFrame:
    """One shuffle that puts each chromosome in ``salt_buckets`` tasks, so the number of files
    per chromosome follows the data size, not the number of input splits."""
    salt = (
        F.pmod(F.xxhash64(POSITION_TEXT, common.RAW_LINE), F.lit(salt_buckets))
        if salt_buckets > 1
        else F.lit(0)
    )
    return df.repartition("chromosome", salt)


# --------------------------------------------------------------------------------------------
# Reading the input layout
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """The header of a group of files and the roles of its columns."""

    columns: tuple[str, ...]
    chromosome: str
    position: str
    carried: tuple[str, ...]


def find_column(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    by_lower = {c.lower(): c for c in columns}
    return next((by_lower[c] for c in candidates if c in by_lower), None)


def layout_of(columns: tuple[str, ...], path: str) -> Layout:
    chromosome = find_column(columns, CHROMOSOME_NAMES)
    position = find_column(columns, POSITION_NAMES)
    missing = [
        f"{role} (one of {', '.join(names)})"
        for role, col, names in (
            ("chromosome", chromosome, CHROMOSOME_NAMES),
            ("position", position, POSITION_NAMES),
        )
        if col is None
    ]
    if chromosome is None or position is None:
        raise common.JobInputError(
            f"{path}: header {list(columns)} has no column for " + " or ".join(missing)
        )
    reserved = {"chromosome", "position"}
    carried = tuple(c for c in columns if c not in (chromosome, position))
    clash = [c for c in carried if c.lower() in reserved]
    if clash:
        raise common.JobInputError(
            f"{path}: columns {clash} would collide with the output's chromosome/position "
            f"columns (the input uses {chromosome!r} and {position!r} for those)"
        )
    return Layout(columns, chromosome, position, carried)


def layouts_of(plan: common.CsvPlan) -> list[tuple[Layout, list[str]]]:
    """Each header group of the plan with its layout; a header without the needed columns fails
    here, by name."""
    return [(layout_of(columns, paths[0]), paths) for columns, paths in plan.groups.items()]


def rows_per_file(plan: common.CsvPlan, target_file_bytes: int) -> int:
    """The row cap of an output file, the same in both engines: CSV text is larger than its
    Parquet, so this keeps files at about the target size or under."""
    return max(1000, int(target_file_bytes / plan.bytes_per_line))


def read_layout(
    spark: SparkSession, layout: Layout, paths: list[str], plan: common.CsvPlan
) -> DataFrame:
    raw = common.read_csv(spark, layout.columns, paths, plan.line_seps, source_file=False)
    return normalise(raw, layout.chromosome, layout.position, layout.carried)


# --------------------------------------------------------------------------------------------
# The Arrow engine: the same conversion in the driver, for inputs one machine reads quickly
# --------------------------------------------------------------------------------------------
#
# Spark's per-row cost sets a floor that no tuning passes: on two cores the smallest Spark
# program that reads this CSV and writes it partitioned takes as long as the whole job. Arrow's
# C++ CSV reader and Parquet writer do the same work several times faster, so inputs up to
# ARROW_MAX_INPUT_BYTES are converted in the driver with Arrow compute kernels that mirror the
# Spark expressions above. Whatever Arrow would read differently from Spark's parser (a row with
# the wrong number of fields, invalid UTF-8, a line break other than the file's own outside
# quotes) sends the whole run to the Spark engine before anything is published.

#: Inputs up to this size (decompressed) take the Arrow engine under ``--ENGINE auto``: the
#: driver holds one decompressed file and the rows waiting to fill a row group at a time.
ARROW_MAX_INPUT_BYTES = 2 << 30
GZIP_EXPANSION = common.GZIP_EXPANSION
#: Characters Spark escapes as ``%XX`` in a partition folder name (Hive's rule).
_PATH_ESCAPED = frozenset("\"#%'*/:=?\\\x7f{[]^") | frozenset(chr(c) for c in range(1, 0x20))
_LONG_MAX = str(2**63 - 1)


def partition_folder(value: str) -> str:
    """``chromosome=<value>`` with the characters Spark escapes in partition folder names as
    ``%XX``, so both engines name a chromosome's folder alike."""
    return "chromosome=" + "".join(f"%{ord(c):02X}" if c in _PATH_ESCAPED else c for c in value)


def _pa() -> tuple[Any, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pa, pc


def _arrow_digits(pc: Any, text: Any) -> Any:
    # ASCII digits only, and at least one, as _digits_only; false for null.
    return pc.fill_null(pc.ascii_is_decimal(text), False)


def _normal_names(value_in: Any) -> Any:
    """The steps of :func:`normalise_chromosome` on an Arrow string array of distinct values."""
    pa, pc = _pa()
    value = pc.utf8_trim(value_in, characters=" ")
    value = pc.if_else(pc.fill_null(pc.equal(value, ""), True), pa.scalar(None, pa.string()), value)
    lower = pc.utf8_lower(value)
    bare = value
    # Longest prefix last, so it wins; each test is on the original value, as in the Spark steps.
    for prefix in ("chr", "chrom", "chromosome"):
        starts = pc.fill_null(pc.starts_with(lower, prefix), False)
        bare = pc.if_else(starts, pc.utf8_slice_codeunits(value, len(prefix)), bare)
    sep = pc.fill_null(pc.or_(pc.starts_with(bare, "_"), pc.starts_with(bare, "-")), False)
    bare = pc.if_else(sep, pc.utf8_slice_codeunits(bare, 1), bare)
    numeric = pc.and_(_arrow_digits(pc, bare), pc.less_equal(pc.binary_length(bare), 18))
    number = pc.cast(pc.if_else(numeric, bare, pa.scalar(None, pa.string())), pa.int64())
    upper = pc.utf8_upper(bare)
    conditions = pc.make_struct(
        pc.fill_null(pc.greater(number, 0), False),
        pc.fill_null(pc.is_in(upper, pa.array(["X", "Y"])), False),
        pc.fill_null(pc.is_in(upper, pa.array(["M", "MT"])), False),
        field_names=["number", "xy", "mt"],
    )
    return pc.case_when(conditions, pc.cast(number, pa.string()), upper, pa.scalar("MT"), value)


def arrow_chromosome_codes(raw: Any) -> tuple[Any, Any]:
    """(normal names of the distinct values, each row's index into them; null for null): the
    steps run once per distinct spelling, as a file holds few."""
    _, pc = _pa()
    encoded = pc.dictionary_encode(raw)
    return _normal_names(encoded.dictionary), encoded.indices


def arrow_chromosome(raw: Any) -> Any:
    """:func:`normalise_chromosome` on an Arrow string array (null for an empty field)."""
    _, pc = _pa()
    names, codes = arrow_chromosome_codes(raw)
    return pc.take(names, codes)


def arrow_position(text: Any, chromosome: Any) -> tuple[Any, Any]:
    """:func:`position_value` and :func:`reject_reason` on Arrow arrays: ``text`` is the trimmed
    position (null for an empty field), ``chromosome`` from :func:`arrow_chromosome`. Returns
    (position, reason)."""
    pa, pc = _pa()
    null = pa.scalar(None, pa.string())
    plus = pc.fill_null(pc.starts_with(text, "+"), False)
    unsigned = (
        pc.if_else(plus, pc.utf8_slice_codeunits(text, 1), text) if pc.any(plus).as_py() else text
    )
    digits = _arrow_digits(pc, unsigned)
    # Kleene logic and fill_null: a null text (an empty field) must count as not fitting.
    fits = pc.fill_null(pc.and_kleene(digits, pc.less_equal(pc.binary_length(unsigned), 18)), False)
    if pc.any(pc.and_(digits, pc.invert(fits))).as_py():
        # 19 digits or more: leading zeros aside, at most 2^63-1.
        significant = pc.utf8_ltrim(unsigned, characters="0")
        length = pc.binary_length(significant)
        small = pc.or_(
            pc.less(length, 19),
            pc.and_(pc.equal(length, 19), pc.less_equal(significant, _LONG_MAX)),
        )
        fits = pc.and_(digits, pc.fill_null(small, False))
        zero = pc.equal(significant, "")
        unsigned = pc.if_else(pc.fill_null(zero, False), pa.scalar("0"), significant)
    value = pc.cast(pc.if_else(fits, unsigned, null), pa.int64())
    if pc.all(fits).as_py() and chromosome.null_count == 0:
        return value, pa.nulls(len(text), pa.string())
    negative = pc.and_(
        pc.fill_null(pc.starts_with(text, "-"), False),
        _arrow_digits(pc, pc.utf8_slice_codeunits(text, 1)),
    )
    conditions = pc.make_struct(
        pc.is_null(chromosome),
        pc.fill_null(pc.equal(text, ""), True),
        fits,
        negative,
        digits,
        field_names=["chromosome", "missing", "fits", "negative", "range"],
    )
    reason = pc.case_when(
        conditions,
        pa.scalar("missing chromosome"),
        pa.scalar("missing position"),
        null,
        pc.binary_join_element_wise("negative position: ", text, ""),
        pc.binary_join_element_wise("position out of range: ", text, ""),
        pc.binary_join_element_wise("non-numeric position: ", text, ""),
    )
    return pc.if_else(pc.is_null(reason), value, pa.scalar(None, pa.int64())), reason


@dataclass(frozen=True)
class ArrowInput:
    """One CSV file as the Arrow engine reads it."""

    path: str  # as listed (a Hadoop path)
    source: str  # the name a rejected row gives, as Spark's input_file_name() does
    layout: Layout


def arrow_batches(
    batch: Any, item: ArrowInput, carried: Sequence[str], seen: dict[str, str]
) -> tuple[Any, list[dict[str, object]]]:
    """One batch of CSV rows (``f0…fN`` strings in ``item.layout``'s column order, null for an
    empty field) → the rows to write (``position``, ``carried``…, ``__folder``) and the rejected
    rows as Spark writes them (nulls left out). ``seen`` caches partition folder names."""
    pa, pc = _pa()
    layout = item.layout
    index = {c.lower(): i for i, c in enumerate(layout.columns)}
    names, codes = arrow_chromosome_codes(batch.column(index[layout.chromosome.lower()]))
    chromosome = pc.take(names, codes)
    # Spaces trim to an empty text (a missing position), as in Spark; an empty field stays null.
    text = pc.utf8_trim(batch.column(index[layout.position.lower()]), characters=" ")
    position, reason = arrow_position(text, chromosome)
    values = [
        batch.column(index[c.lower()])
        if c.lower() in index
        else pa.nulls(batch.num_rows, pa.string())
        for c in carried
    ]
    folder_names = pa.array(
        [None if n is None else seen.setdefault(n, partition_folder(n)) for n in names.to_pylist()],
        pa.string(),
    )
    folders = pc.take(folder_names, codes)
    arrays = [position, *values, folders]
    rejects: list[dict[str, object]] = []
    if reason.null_count < len(reason):
        good = pc.is_null(reason)
        table = pa.table(
            [chromosome, *values, text, reason],
            names=["chromosome", *carried, "position", common.REJECT_REASON],
        ).filter(pc.invert(good))
        for row in table.to_pylist():
            out = {k: row[k] for k in ("chromosome", *carried) if row[k] is not None}
            out[common.SOURCE_FILE] = item.source
            out[common.REJECT_REASON] = row[common.REJECT_REASON]
            if row["position"] is not None:
                out["position"] = row["position"]
            rejects.append(out)
        arrays = [pc.filter(a, good) for a in arrays]
    names_out = ["position", *carried, "__folder"]
    return pa.RecordBatch.from_arrays(arrays, names=names_out), rejects


def carried_union(layouts: Sequence[Layout]) -> list[str]:
    """The carried columns of every layout, as Spark's union by name orders and merges them
    (first spelling of a name wins; names differ only in case merge)."""
    out: list[str] = []
    seen: set[str] = set()
    for layout in layouts:
        for c in layout.carried:
            if c.lower() not in seen:
                seen.add(c.lower())
                out.append(c)
    return out


def arrow_convert(
    spark: SparkSession,
    plan: common.CsvPlan,
    staging: str,
    target_file_bytes: int,
    run_id: str,
) -> tuple[dict[str, int], list[dict[str, object]]]:
    """Writes the good rows under ``staging`` (``chromosome=<name>/`` folders) with Arrow;
    returns the counts and the rejected rows. Raises ArrowFallback before writing a row the
    Spark engine would read differently."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    items = [
        ArrowInput(p, common.spark_file_name(spark, p), layout)
        for layout, paths in layouts_of(plan)
        for p in paths
    ]
    carried = carried_union([i.layout for i in items])
    schema = pa.schema(
        [("position", pa.int64())]
        + [(c, pa.string()) for c in carried]
        + [("__folder", pa.string())]
    )
    counts = {"read": 0, "written": 0}
    rejects: list[dict[str, object]] = []
    folders: dict[str, str] = {}

    def batches() -> Iterator[Any]:
        for item, data in common.prefetched(items, lambda i: common.arrow_csv_bytes(i.path)):
            for batch in common.arrow_csv_batches(
                item.path, data, len(item.layout.columns), plan.line_seps.get(item.path)
            ):
                counts["read"] += batch.num_rows
                good, bad = arrow_batches(batch, item, carried, folders)
                rejects.extend(bad)
                yield good

    counts["written"] = common.arrow_write_folders(
        schema,
        batches(),
        staging,
        run_id,
        rows_per_file(plan, target_file_bytes),
        ds.ParquetFileFormat().make_write_options(compression="snappy"),
    )
    counts["rejected"] = len(rejects)
    return counts, rejects


# --------------------------------------------------------------------------------------------
# I/O
# --------------------------------------------------------------------------------------------


def choose_engine(
    requested: str, plan: common.CsvPlan, files: Sequence[common.InputFile], output_path: str
) -> tuple[str, str | None]:
    """(engine, why not Arrow) for ``--ENGINE`` ``requested`` (see common.choose_arrow_engine)."""
    paths = [output_path, *(p for group in plan.groups.values() for p in group)]
    return common.choose_arrow_engine(requested, files, paths, ARROW_MAX_INPUT_BYTES)


def spark_convert(
    spark: SparkSession,
    plan: common.CsvPlan,
    staging: str,
    rejected_path: str,
    run_id: str,
    target_file_bytes: int,
) -> dict[str, int]:
    """The Spark engine: writes the good rows under ``staging`` and publishes the rejects."""
    rows = common.union_all(
        read_layout(spark, layout, paths, plan) for layout, paths in layouts_of(plan)
    )
    # Always one shuffle by chromosome: it gives each chromosome one file per salt bucket (read
    # tasks writing directly would each leave a small file per chromosome), and a write task
    # then holds few chromosomes, so it keeps their files open without sorting its rows.
    salt = max(1, math.ceil(plan.total_bytes / (target_file_bytes * TYPICAL_CHROMOSOMES)))
    rows = spread(rows, salt)
    rejected = F.struct(
        *[F.col(c) for c in rows.columns if c not in ("position", POSITION_TEXT)],
        F.col(POSITION_TEXT).alias("position"),
    )
    run = common.OnePass(
        rows,
        "genomics",
        rejected,
        lambda good: good.drop(
            POSITION_TEXT, common.SOURCE_FILE, common.RAW_LINE, common.REJECT_REASON
        ),
    )
    spark.conf.set("spark.sql.maxConcurrentOutputFileWriters", str(MAX_OPEN_FILES))
    (
        run.good.write.mode("overwrite")
        .option("compression", "snappy")
        .option("maxRecordsPerFile", rows_per_file(plan, target_file_bytes))
        .partitionBy("chromosome")
        .parquet(staging)
    )
    return run.finish(spark, rejected_path, run_id)


def convert(
    spark: SparkSession,
    input_path: str,
    output_path: str,
    rejected_path: str | None = None,
    target_file_bytes: int = TARGET_FILE_BYTES,
    engine: str = "auto",
) -> dict[str, object]:
    """Reads the CSV files, writes Parquet by chromosome and the rejected rows; returns counts.

    ``engine``: ``auto`` (Arrow in the driver for inputs up to :data:`ARROW_MAX_INPUT_BYTES`,
    else Spark), ``arrow`` (Arrow whatever the size) or ``spark``. Both engines write the same
    rows, folders and rejects; Arrow hands any input it would read differently to Spark.
    """
    started = time.monotonic()
    rejected_path = rejected_path or common.default_rejected_path(output_path)
    # A killed earlier run may have left a partition swapped out or staging folders behind.
    common.recover(spark, output_path)
    common.recover(spark, rejected_path)
    files = common.list_input(spark, input_path)
    plan = common.plan_csv(spark, files)
    counts: dict[str, object] = {"read": 0, "written": 0, "rejected": 0, "files": plan.files}
    if not plan.groups:
        common.delete_path(spark, rejected_path)
        return {**counts, "seconds": round(time.monotonic() - started, 1)}
    layouts_of(plan)  # a header without the needed columns fails before any engine starts

    chosen, why_not_arrow = choose_engine(engine, plan, files, output_path)
    run_id = common.new_run_id()
    staging = common.staging_path(output_path, run_id)
    tally: dict[str, int] | None = None
    if chosen == "arrow":
        try:
            tally, rejects = arrow_convert(spark, plan, staging, target_file_bytes, run_id)
        except (common.ArrowFallback, OSError) as e:
            # OSError: Arrow's own S3 client could not read or write where Spark's may (its
            # credentials or endpoint come from the Hadoop configuration).
            why_not_arrow, chosen = str(e).splitlines()[0][:300], "spark"
            common.delete_path(spark, staging)
            run_id = common.new_run_id()
            staging = common.staging_path(output_path, run_id)
        else:
            tally["rejected"] = common.publish_rejects(spark, rejects, rejected_path, run_id)
            counts["input_bytes"] = plan.total_bytes
    if tally is None:
        tally = spark_convert(spark, plan, staging, rejected_path, run_id, target_file_bytes)
    # Only the chromosomes this run wrote are replaced, each by a swap of folders.
    common.publish_partitions(spark, staging, output_path)
    return {
        **counts,
        **tally,
        "engine": chosen,
        **({"engine_note": why_not_arrow} if why_not_arrow and engine != "spark" else {}),
        "layouts": len(plan.groups),
        "output": output_path,
        "rejected_path": rejected_path,
        "seconds": round(time.monotonic() - started, 1),
    }


# --------------------------------------------------------------------------------------------
# Glue bootstrap
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> None:
    args = common.job_args(argv, JOB)
    run = common.start_job(JOB, args)
    counts = convert(
        run.spark,
        str(args["INPUT_PATH"]),
        str(args["OUTPUT_PATH"]),
        args.get("REJECTED_PATH"),
        engine=(args.get("ENGINE") or "auto").strip().lower(),
    )
    common.emit_summary(JOB, counts)
    run.commit()


if __name__ == "__main__":
    common.run_main(main)
