"""Genomics CSV files to Parquet partitioned by normalised chromosome.

Glue:  --INPUT_PATH s3://bucket/csv/*.csv --OUTPUT_PATH s3://bucket/output/ [--REJECTED_PATH …]
Local: python scripts/genomics_csv_to_parquet.py --INPUT_PATH data/*.csv --OUTPUT_PATH out/

Input contract: UTF-8 CSV (RFC 4180 quoting, line breaks inside quotes, LF or CRLF) with a header
row. The chromosome and position columns are found by name among the usual spellings; every other
column is carried through as a string. Output: ``<OUTPUT_PATH>/chromosome=<name>/part-*.parquet``
with ``position`` as a long; rows that cannot be written go to the rejected path with a reason.

One pass over the input: the counts and the rejected rows are gathered while the Parquet is
written. Rows are not sorted within files: a file holds one Parquet row group (files and row
groups are both about 128 MB), so a sort would buy no row-group pruning for position ranges.
A run writes into a hidden staging folder and then swaps in only the chromosomes it wrote
(``publish_partitions``); the next run first undoes what a killed run left, so a retry never
duplicates rows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

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


def read_layout(
    spark: SparkSession, layout: Layout, paths: list[str], plan: common.CsvPlan
) -> DataFrame:
    raw = common.read_csv(spark, layout.columns, paths, plan.line_seps, source_file=False)
    return normalise(raw, layout.chromosome, layout.position, layout.carried)


# --------------------------------------------------------------------------------------------
# I/O
# --------------------------------------------------------------------------------------------


def convert(
    spark: SparkSession,
    input_path: str,
    output_path: str,
    rejected_path: str | None = None,
    target_file_bytes: int = TARGET_FILE_BYTES,
) -> dict[str, object]:
    """Reads the CSV files, writes Parquet by chromosome and the rejected rows; returns counts."""
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

    rows = common.union_all(
        read_layout(spark, layout_of(columns, paths[0]), paths, plan)
        for columns, paths in plan.groups.items()
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
    run_id = common.new_run_id()
    staging = common.staging_path(output_path, run_id)
    (
        run.good.write.mode("overwrite")
        .option("compression", "snappy")
        # CSV text is larger than its Parquet, so this caps files at about the target size.
        .option("maxRecordsPerFile", max(1000, int(target_file_bytes / plan.bytes_per_line)))
        .partitionBy("chromosome")
        .parquet(staging)
    )
    tally = run.finish(spark, rejected_path, run_id)
    # Only the chromosomes this run wrote are replaced, each by a swap of folders.
    common.publish_partitions(spark, staging, output_path)
    return {
        **counts,
        **tally,
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
    )
    common.emit_summary(JOB, counts)
    run.commit()


if __name__ == "__main__":
    common.run_main(main)
