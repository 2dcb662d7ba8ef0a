"""Sales / clickstream raw CSV or JSON → cleaned Parquet partitioned by date=YYYY-MM-DD.

Glue:  --INPUT_PATH s3://bucket/raw/sales/ --OUTPUT_PATH s3://bucket/processed/sales/
Local: python scripts/sales_raw_to_processed.py --INPUT_PATH raw/ --OUTPUT_PATH out/

Cleaning: nested JSON objects are flattened to ``parent_child`` columns; the event time (found by
name, or ``--TIMESTAMP_COLUMN``) is parsed from ISO 8601, ``yyyy/MM/dd[ HH:mm:ss]`` or epoch
seconds/milliseconds, naive times read in the session time zone (UTC on Glue and locally); the
amount (``amount`` or ``--AMOUNT_COLUMN``, optional for clickstream) must be a non-negative number
with at most two decimals, an optional currency sign and thousands separators. Everything else
goes to the rejected path with a reason. Only the dates present in the run are replaced (dynamic
partition overwrite), so a retried run never duplicates rows.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import glue_etl_common as common
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

JOB = "sales_raw_to_processed"
TIMESTAMP_NAMES = (
    "event_time",
    "event_timestamp",
    "timestamp",
    "ts",
    "order_timestamp",
    "order_time",
    "order_date",
    "created_at",
    "event_date",
    "time",
)
AMOUNT_NAMES = ("amount", "sale_amount", "sales_amount", "total_amount")
PARTITION = "date"
AMOUNT_TYPE = T.DecimalType(18, 2)
FORMATS = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".json": "json",
    ".json.gz": "json",
    ".ndjson": "json",
    ".jsonl": "json",
}

# --------------------------------------------------------------------------------------------
# Pure transforms
# --------------------------------------------------------------------------------------------


def flatten(df: DataFrame, sep: str = "_") -> DataFrame:
    """Struct columns become top-level ``parent_child`` columns, at any depth; names stay unique
    without regard to case. Arrays are kept as they are (exploding would change row counts)."""
    fields: list[tuple[list[str], T.DataType]] = []

    def walk(path: list[str], dtype: T.DataType) -> None:
        if isinstance(dtype, T.StructType):
            for f in dtype.fields:
                walk([*path, f.name], f.dataType)
        else:
            fields.append((path, dtype))

    walk([], df.schema)
    taken: set[str] = set()
    columns: list[Column] = []
    for path, _ in fields:
        base = sep.join(path)
        name, n = base, 2
        while name.lower() in taken:
            name, n = f"{base}{sep}{n}", n + 1
        taken.add(name.lower())
        columns.append(F.col(".".join(f"`{p}`" for p in path)).alias(name))
    return df.select(*columns)


def parse_timestamp(raw: Column) -> Column:
    """Null when the text is none of the accepted forms."""
    text = F.trim(raw)
    epoch = text.cast("decimal(20,3)")
    return F.coalesce(
        F.when(text.rlike(r"^\d{12,13}$"), F.timestamp_millis(text.cast("long"))),
        F.when(text.rlike(r"^\d{9,10}(\.\d+)?$"), F.timestamp_seconds(epoch)),
        F.when(text.rlike(r"^\d{4}-\d{2}-\d{2}"), text.cast("timestamp")),
        F.when(
            text.rlike(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}$"),
            F.to_timestamp(text, "yyyy/MM/dd HH:mm:ss"),
        ),
        F.when(text.rlike(r"^\d{4}/\d{2}/\d{2}$"), F.to_timestamp(text, "yyyy/MM/dd")),
    )


AMOUNT_TEXT = r"^[$€£]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$"


def amount_problem(text: Column) -> Column:
    """Why an amount is invalid, or null when it is a good one."""
    t = F.trim(text)
    unsigned = F.regexp_replace(t, r"^-", "")
    return (
        F.when(t.isNull() | (t == ""), F.lit("missing amount"))
        .when(~unsigned.rlike(AMOUNT_TEXT), F.concat(F.lit("invalid amount: "), t))
        .when(t.startswith("-"), F.concat(F.lit("negative amount: "), t))
        .when(
            unsigned.rlike(r"\.\d{3,}$"),
            F.concat(F.lit("amount has more than 2 decimal places: "), t),
        )
    )


def amount_value(text: Column) -> Column:
    return F.regexp_replace(F.trim(text), r"[$€£,]", "").cast(AMOUNT_TYPE)


PARSED_TS = "__parsed_timestamp"
PARSED_AMOUNT = "__parsed_amount"


def clean(df: DataFrame, timestamp_col: str, amount_col: str | None) -> DataFrame:
    """Flattened string rows + the parsed time and amount, the ``date`` partition column and
    ``_reject_reason`` (null for good rows). The original text stays for the rejected output."""
    ts = parse_timestamp(F.col(timestamp_col))
    raw_ts = F.trim(F.col(timestamp_col))
    year = F.year(ts)
    reason = F.when(F.col(common.CORRUPT).isNotNull(), F.lit("malformed record"))
    reason = reason.when(raw_ts.isNull() | (raw_ts == ""), F.lit("missing timestamp"))
    reason = reason.when(ts.isNull(), F.concat(F.lit("unparseable timestamp: "), raw_ts))
    reason = reason.when(
        (year < 1900) | (year > 2100), F.concat(F.lit("timestamp out of range: "), raw_ts)
    )
    out = df.withColumn(PARSED_TS, ts)
    if amount_col is not None:
        problem = amount_problem(F.col(amount_col))
        reason = reason.when(problem.isNotNull(), problem)
        out = out.withColumn(PARSED_AMOUNT, amount_value(F.col(amount_col)))
    return out.withColumn(common.REJECT_REASON, reason).withColumn(
        PARTITION, F.date_format(F.col(PARSED_TS), "yyyy-MM-dd")
    )


def typed(rows: DataFrame, timestamp_col: str, amount_col: str | None) -> DataFrame:
    """Good rows of :func:`clean` as written: parsed values in place of their text."""
    out = rows.withColumn(timestamp_col, F.col(PARSED_TS))
    if amount_col is not None:
        out = out.withColumn(amount_col, F.col(PARSED_AMOUNT))
    return out.drop(
        PARSED_TS, PARSED_AMOUNT, common.CORRUPT, common.SOURCE_FILE, common.REJECT_REASON
    )


def as_rejected(rows: DataFrame) -> DataFrame:
    """Rejected rows of :func:`clean` as they arrived, with the unparsed line when malformed."""
    return rows.drop(PARSED_TS, PARSED_AMOUNT, PARTITION).withColumnRenamed(
        common.CORRUPT, common.RAW_LINE
    )


# --------------------------------------------------------------------------------------------
# I/O
# --------------------------------------------------------------------------------------------


def detect_format(files: Sequence[common.InputFile], given: str | None) -> str:
    if given:
        fmt = given.strip().lower()
        if fmt not in ("csv", "json"):
            raise common.JobInputError(f"--INPUT_FORMAT must be csv or json, got {given!r}")
        return fmt
    found: dict[str, list[str]] = {}
    for f in files:
        name = f.path.lower()
        ext = next((e for e in sorted(FORMATS, key=len, reverse=True) if name.endswith(e)), None)
        found.setdefault(FORMATS[ext] if ext else "unknown", []).append(f.path)
    if len(found) != 1 or "unknown" in found:
        shown = {k: v[:3] for k, v in found.items()}
        raise common.JobInputError(
            f"cannot tell csv from json by the file names {shown}; pass --INPUT_FORMAT csv|json"
        )
    return next(iter(found))


def read_raw(spark: SparkSession, files: Sequence[common.InputFile], fmt: str) -> DataFrame | None:
    """All input rows as strings with ``_corrupt_record`` and ``_source_file``; None if no rows."""
    if fmt == "csv":
        plan = common.plan_csv(spark, files)
        if not plan.groups:
            return None
        return common.union_all(
            common.read_csv(spark, cols, paths) for cols, paths in plan.groups.items()
        )
    paths = [f.path for f in files if f.size > 0]
    if not paths:
        return None
    # Values as strings: amounts keep their exact text (no float rounding) until validated.
    raw = spark.read.json(
        paths,
        primitivesAsString=True,
        mode="PERMISSIVE",
        columnNameOfCorruptRecord=common.CORRUPT,
    )
    if common.CORRUPT not in raw.columns:
        raw = raw.withColumn(common.CORRUPT, F.lit(None).cast("string"))
    return raw.withColumn(common.SOURCE_FILE, F.col("_metadata.file_path"))


def pick(columns: Sequence[str], given: str | None, candidates: Sequence[str]) -> str | None:
    by_lower = {c.lower(): c for c in columns}
    if given:
        if given.lower() not in by_lower:
            raise common.JobInputError(f"column {given!r} not found; the input has {list(columns)}")
        return by_lower[given.lower()]
    return next((by_lower[c] for c in candidates if c in by_lower), None)


def convert(
    spark: SparkSession,
    input_path: str,
    output_path: str,
    rejected_path: str | None = None,
    input_format: str | None = None,
    timestamp_column: str | None = None,
    amount_column: str | None = None,
) -> dict[str, object]:
    started = time.monotonic()
    rejected_path = rejected_path or common.default_rejected_path(output_path)
    files = common.list_input(spark, input_path)
    fmt = detect_format(files, input_format)
    raw = read_raw(spark, files, fmt)
    counts: dict[str, object] = {"read": 0, "written": 0, "rejected": 0, "files": len(files)}
    if raw is None:
        common.delete_path(spark, rejected_path)
        return {**counts, "format": fmt, "seconds": round(time.monotonic() - started, 1)}

    flat = flatten(raw)
    data_columns = [c for c in flat.columns if c not in (common.CORRUPT, common.SOURCE_FILE)]
    ts_col = pick(data_columns, timestamp_column, TIMESTAMP_NAMES)
    if ts_col is None:
        raise common.JobInputError(
            f"no timestamp column among {data_columns}; expected one of "
            f"{', '.join(TIMESTAMP_NAMES)} or --TIMESTAMP_COLUMN"
        )
    amount_col = pick(data_columns, amount_column, AMOUNT_NAMES)
    if any(c.lower() == PARTITION for c in data_columns if c != ts_col):
        flat = flat.withColumnRenamed(
            next(c for c in data_columns if c.lower() == PARTITION), "source_date"
        )
    rows = clean(flat, ts_col, amount_col)
    tally = common.Tally(
        rows.repartition(PARTITION), "sales", lambda good: typed(good, ts_col, amount_col)
    )
    (
        tally.good.write.mode("overwrite")
        .option("partitionOverwriteMode", "dynamic")
        .option("compression", "snappy")
        .partitionBy(PARTITION)
        .parquet(output_path)
    )
    return {
        **counts,
        **tally.finish(spark, as_rejected(rows.where(common.is_rejected())), rejected_path),
        "format": fmt,
        "timestamp_column": ts_col,
        "amount_column": amount_col,
        "output": output_path,
        "rejected_path": rejected_path,
        "seconds": round(time.monotonic() - started, 1),
    }


# --------------------------------------------------------------------------------------------
# Glue bootstrap
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> None:
    args = common.parse_args(
        argv,
        required=["INPUT_PATH", "OUTPUT_PATH"],
        optional={
            "INPUT_FORMAT": None,
            "REJECTED_PATH": None,
            "TIMESTAMP_COLUMN": None,
            "AMOUNT_COLUMN": None,
        },
    )
    run = common.start_job(JOB, args)
    counts = convert(
        run.spark,
        str(args["INPUT_PATH"]),
        str(args["OUTPUT_PATH"]),
        rejected_path=args.get("REJECTED_PATH"),
        input_format=args.get("INPUT_FORMAT"),
        timestamp_column=args.get("TIMESTAMP_COLUMN"),
        amount_column=args.get("AMOUNT_COLUMN"),
    )
    common.emit_summary(JOB, counts)
    run.commit()


if __name__ == "__main__":
    common.run_main(main)
