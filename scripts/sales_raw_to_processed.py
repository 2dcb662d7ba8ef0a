"""Sales / clickstream raw CSV or JSON → cleaned Parquet partitioned by date=YYYY-MM-DD.

Glue:  --INPUT_PATH s3://bucket/raw/sales/ --OUTPUT_PATH s3://bucket/processed/sales/
Local: python scripts/sales_raw_to_processed.py --INPUT_PATH raw/ --OUTPUT_PATH out/

Input: CSV files (headers may differ between files), NDJSON, or JSON documents (one object, an
array of objects, pretty-printed or concatenated), optionally gzipped. Nested JSON objects are
flattened to ``parent_child`` columns; keys differing only in case are one column (a row where
they disagree is rejected); an input column named ``date`` becomes ``source_date``.

Cleaning: the event time (found by name, or ``--TIMESTAMP_COLUMN``) is parsed from ISO 8601 (with
an offset or zone, at most microseconds), ``yyyy/MM/dd[ HH:mm:ss]`` or epoch seconds/milliseconds,
naive times read in the session time zone (UTC on Glue and locally), and must fall between
2020-01-01 (the first date the ``sales_processed`` table projects) and a day after the run; the
amount (``amount`` or ``--AMOUNT_COLUMN``, optional for clickstream) must be a non-negative number
with at most two decimals and ten integer digits (the table's ``decimal(12,2)``), an optional
currency sign and thousands separators; a quantity (``quantity``/``qty``), when given, a whole
number that fits the table's ``int``. Spaces around these three values (any kind: line breaks
inside quoted fields, no-break spaces, Unicode separators) are ignored. Everything else goes to
the rejected path with a reason.
Only the dates present in the run are replaced, each swapped in whole from a hidden staging folder
(``glue_etl_common.publish_partitions``), so readers never see a date half-written and a retried
run never duplicates rows; what a killed run left behind is repaired first (``recover``).
"""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import glue_etl_common as common
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Row, SparkSession
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
QUANTITY_NAMES = ("quantity", "qty")
PARTITION = "date"
# The catalog table (sales_processed) declares amount decimal(12,2) and quantity int: what is
# written must have exactly these types, or readers of the table see nulls or errors.
AMOUNT_PRECISION, AMOUNT_SCALE = 12, 2
AMOUNT_TYPE = T.DecimalType(AMOUNT_PRECISION, AMOUNT_SCALE)
QUANTITY_MAX = 2**31 - 1
# The table's partition projection starts here; earlier dates would be written but never read.
EARLIEST = "2020-01-01"
FORMATS = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".json": "json",
    ".json.gz": "json",
    ".ndjson": "json",
    ".ndjson.gz": "json",
    ".jsonl": "json",
    ".jsonl.gz": "json",
}
CASE_CONFLICT = "__case_conflict"
HEAD_BYTES = 64 * 1024

# --------------------------------------------------------------------------------------------
# Pure transforms
# --------------------------------------------------------------------------------------------


def flatten(df: DataFrame, sep: str = "_") -> DataFrame:
    """Struct columns become top-level ``parent_child`` columns, at any depth. Arrays are kept as
    they are (exploding would change row counts). A flattened name that is already taken (a key
    ``user_id`` next to ``user.id``) gets a ``_2`` suffix."""
    paths: list[list[str]] = []

    def walk(path: list[str], dtype: T.DataType) -> None:
        if isinstance(dtype, T.StructType):
            for f in dtype.fields:
                walk([*path, f.name], f.dataType)
        else:
            paths.append(path)

    walk([], df.schema)
    taken: set[str] = set()
    columns: list[Column] = []
    for path in paths:
        base = sep.join(path) or "_blank"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}{sep}{n}", n + 1
        taken.add(name)
        columns.append(F.col(".".join(f"`{p}`" for p in path)).alias(name))
    return df.select(*columns)


def as_text(df: DataFrame, name: str) -> Column:
    """A column as a string; arrays and maps as their JSON text."""
    dtype = df.schema[name].dataType
    col = F.col(f"`{name}`")
    if isinstance(dtype, T.StringType):
        return col
    if isinstance(dtype, T.ArrayType | T.MapType | T.StructType):
        return F.to_json(col)
    return col.cast("string")


def align_types(frames: Sequence[DataFrame]) -> list[DataFrame]:
    """Columns whose type differs between frames become strings in every frame (arrays as JSON
    text), as Spark's own JSON reader does between files, so the frames can be unioned."""
    types: dict[str, set[str]] = {}
    for df in frames:
        for f in df.schema.fields:
            types.setdefault(f.name, set()).add(f.dataType.simpleString())
    mixed = {name for name, seen in types.items() if len(seen) > 1}
    return [
        df.select(*[as_text(df, c).alias(c) if c in mixed else F.col(f"`{c}`") for c in df.columns])
        for df in frames
    ]


def merge_case_variants(df: DataFrame) -> DataFrame:
    """Columns whose names differ only in case (``Amount`` in one file, ``amount`` in another)
    become one, named in lower case when one of them is. A row in which they hold different
    values gets a reason in ``__case_conflict`` instead of one value winning in silence. Needs a
    case-sensitive session (see :data:`SESSION_SETTINGS`)."""
    groups: dict[str, list[str]] = {}
    for c in df.columns:
        groups.setdefault(c.lower(), []).append(c)
    conflict: Column = F.lit(None).cast("string")
    columns: list[Column] = []
    for names in groups.values():
        if len(names) == 1:
            columns.append(F.col(f"`{names[0]}`"))
            continue
        values = [as_text(df, n) for n in names]
        for i, a in enumerate(values):
            for b in values[i + 1 :]:
                conflict = F.coalesce(
                    conflict,
                    F.when(
                        a.isNotNull() & b.isNotNull() & (a != b),
                        F.concat(
                            F.lit(f"keys differing only in case disagree ({', '.join(names)}): "),
                            F.to_json(F.array(*values)),
                        ),
                    ),
                )
        name = next((n for n in names if n == n.lower()), names[0])
        columns.append(F.coalesce(*values).alias(name))
    if all(len(n) == 1 for n in groups.values()):
        return df.withColumn(CASE_CONFLICT, F.lit(None).cast("string"))
    return df.select(*columns, conflict.alias(CASE_CONFLICT))


def free_name(wanted: str, taken: Sequence[str]) -> str:
    lowered = {t.lower() for t in taken}
    name, n = wanted, 2
    while name.lower() in lowered:
        name, n = f"{wanted}_{n}", n + 1
    return name


#: What Python's ``str.isspace`` calls space: ASCII and Unicode spaces, line and paragraph
#: separators. Stripped from both ends of a time, amount or quantity before it is checked: a
#: trailing line break inside a quoted field is a space, and the checks and the cast must see the
#: same text (a check anchored with ``$`` passes ``12\u2028``, whose cast is null).
SPACE = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


def strip_space(text: Column) -> Column:
    return F.call_function("btrim", text, F.lit(SPACE))


TS_FRACTION_TOO_FINE = r"[T ]\d{2}:\d{2}:\d{2}\.\d{7,}"


def parse_timestamp(raw: Column) -> Column:
    """Null when the text is none of the accepted forms."""
    text = strip_space(raw)
    return F.coalesce(
        F.when(text.rlike(r"^\d{12,13}$"), F.timestamp_millis(text.cast("long"))),
        F.when(
            text.rlike(r"^\d{9,10}(\.\d{1,6})?$"),
            F.timestamp_seconds(text.cast("decimal(16,6)")),
        ),
        F.when(
            text.rlike(r"^\d{4}-\d{2}-\d{2}") & ~text.rlike(TS_FRACTION_TOO_FINE),
            text.cast("timestamp"),
        ),
        F.when(
            text.rlike(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}$"),
            F.to_timestamp(text, "yyyy/MM/dd HH:mm:ss"),
        ),
        F.when(text.rlike(r"^\d{4}/\d{2}/\d{2}$"), F.to_timestamp(text, "yyyy/MM/dd")),
    )


def timestamp_problem(raw: Column, ts: Column) -> Column:
    """Why an event time is invalid, or null when it is a good one."""
    text = strip_space(raw)
    return (
        F.when(text.isNull() | (text == ""), F.lit("missing timestamp"))
        .when(
            text.rlike(TS_FRACTION_TOO_FINE) | text.rlike(r"^\d{9,10}\.\d{7,}$"),
            F.concat(F.lit("timestamp finer than microseconds: "), text),
        )
        .when(ts.isNull(), F.concat(F.lit("unparseable timestamp: "), text))
        .when(
            ts < F.lit(EARLIEST).cast("timestamp"),
            F.concat(F.lit(f"timestamp before {EARLIEST} (the table's first date): "), text),
        )
        .when(
            ts > F.current_timestamp() + F.expr("INTERVAL 1 DAY"),
            F.concat(F.lit("timestamp more than a day in the future: "), text),
        )
    )


AMOUNT_TEXT = r"^[$€£]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$"
INTEGER_DIGITS = AMOUNT_PRECISION - AMOUNT_SCALE


def amount_problem(text: Column) -> Column:
    """Why an amount is invalid, or null when it is a good one."""
    t = strip_space(text)
    unsigned = F.regexp_replace(t, r"^-", "")
    integer_part = F.regexp_replace(
        F.regexp_replace(unsigned, r"^[$€£]|,|\..*$", ""), r"^0+(?=\d)", ""
    )
    return (
        F.when(t.isNull() | (t == ""), F.lit("missing amount"))
        .when(~unsigned.rlike(AMOUNT_TEXT), F.concat(F.lit("invalid amount: "), t))
        .when(t.startswith("-"), F.concat(F.lit("negative amount: "), t))
        .when(
            unsigned.rlike(rf"\.\d{{{AMOUNT_SCALE + 1},}}$"),
            F.concat(F.lit(f"amount has more than {AMOUNT_SCALE} decimal places: "), t),
        )
        .when(
            F.length(integer_part) > INTEGER_DIGITS,
            F.concat(
                F.lit(
                    f"amount too large for decimal({AMOUNT_PRECISION},{AMOUNT_SCALE}) "
                    f"(at most {INTEGER_DIGITS} digits before the point): "
                ),
                t,
            ),
        )
    )


def amount_value(text: Column) -> Column:
    return F.regexp_replace(strip_space(text), r"[$€£,]", "").cast(AMOUNT_TYPE)


def quantity_problem(text: Column) -> Column:
    """Why a quantity is invalid, or null when it is good or absent (clickstream has none)."""
    t = strip_space(text)
    digits = F.regexp_replace(t, r"^0+(?=\d)", "")
    too_big = (F.length(digits) > len(str(QUANTITY_MAX))) | (
        (F.length(digits) == len(str(QUANTITY_MAX))) & (digits > F.lit(str(QUANTITY_MAX)))
    )
    return (
        F.when(t.isNull() | (t == ""), F.lit(None).cast("string"))
        .when(t.rlike(r"^-\d+$"), F.concat(F.lit("negative quantity: "), t))
        .when(~t.rlike(r"^\d+$"), F.concat(F.lit("quantity is not a whole number: "), t))
        .when(too_big, F.concat(F.lit(f"quantity larger than {QUANTITY_MAX}: "), t))
    )


def quantity_value(text: Column) -> Column:
    t = strip_space(text)
    return F.when(t.rlike(r"^\d{1,10}$"), t.cast("long")).cast("int")


PARSED_TS = "__parsed_timestamp"
PARSED_AMOUNT = "__parsed_amount"
PARSED_QUANTITY = "__parsed_quantity"
INTERNAL = (PARSED_TS, PARSED_AMOUNT, PARSED_QUANTITY, CASE_CONFLICT)


def clean(
    df: DataFrame, timestamp_col: str, amount_col: str | None, quantity_col: str | None = None
) -> DataFrame:
    """Flattened string rows + the parsed time, amount and quantity, the ``date`` partition column
    and ``_reject_reason`` (null for good rows). The original text stays for the rejected output.
    """
    if CASE_CONFLICT not in df.columns:
        df = df.withColumn(CASE_CONFLICT, F.lit(None).cast("string"))
    raw_ts = as_text(df, timestamp_col)
    # Parsed values first, in their own columns: the checks and the date then read them instead
    # of parsing the text again, and each check is one expression, evaluated once per row.
    out = df.withColumn(PARSED_TS, parse_timestamp(raw_ts))
    problems = [
        F.when(F.col(common.CORRUPT).isNotNull(), F.lit("malformed record")),
        F.col(CASE_CONFLICT),
        timestamp_problem(raw_ts, F.col(PARSED_TS)),
    ]
    if amount_col is not None:
        raw_amount = as_text(df, amount_col)
        out = out.withColumn(PARSED_AMOUNT, amount_value(raw_amount))
        problems.append(amount_problem(raw_amount))
    if quantity_col is not None:
        raw_quantity = as_text(df, quantity_col)
        out = out.withColumn(PARSED_QUANTITY, quantity_value(raw_quantity))
        problems.append(quantity_problem(raw_quantity))
    return out.withColumn(common.REJECT_REASON, F.coalesce(*problems)).withColumn(
        PARTITION, F.date_format(F.col(PARSED_TS), "yyyy-MM-dd")
    )


def typed(
    rows: DataFrame, timestamp_col: str, amount_col: str | None, quantity_col: str | None = None
) -> DataFrame:
    """Good rows of :func:`clean` as written: parsed values in place of their text."""
    out = rows.withColumn(timestamp_col, F.col(PARSED_TS))
    if amount_col is not None:
        out = out.withColumn(amount_col, F.col(PARSED_AMOUNT))
    if quantity_col is not None:
        out = out.withColumn(quantity_col, F.col(PARSED_QUANTITY))
    return out.drop(*INTERNAL, common.CORRUPT, common.SOURCE_FILE, common.REJECT_REASON)


def as_rejected(rows: DataFrame) -> DataFrame:
    """Rejected rows of :func:`clean` as they arrived, with the unparsed line when malformed."""
    return rows.drop(*INTERNAL, PARTITION).withColumnRenamed(common.CORRUPT, common.RAW_LINE)


# --------------------------------------------------------------------------------------------
# JSON layouts
# --------------------------------------------------------------------------------------------


def json_layout(head: bytes, complete: bool) -> str:
    """``lines`` when every whole line of a file's head is one JSON value (NDJSON, which Spark
    reads natively), else ``document``: a pretty-printed object, an array spread over lines, or
    several values on a line, which a line reader would turn into corrupt or lost rows."""
    lines = head.decode("utf-8-sig", errors="replace").splitlines()
    if not complete:
        lines = lines[:-1]  # may be cut short
    seen = False
    for line in lines:
        if line.strip():
            try:
                json.loads(line)
            except ValueError:
                return "document"
            seen = True
    return "lines" if seen or complete else "document"


def json_records(text: str) -> Iterator[tuple[dict | None, str | None]]:
    """Every record of a JSON document as (object, None), or (None, text) for what is not an
    object: top-level values one after another, arrays giving their elements. Text that does not
    parse is skipped to the end of its line and reported, so a broken file still accounts for
    what it holds."""
    decoder = json.JSONDecoder()
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos] in " \t\r\n\ufeff":
            pos += 1
        if pos >= end:
            return
        try:
            value, pos = decoder.raw_decode(text, pos)
        except ValueError:
            stop = text.find("\n", pos)
            stop = end if stop < 0 else stop
            yield None, text[pos:stop].rstrip("\r")
            pos = stop
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                yield item, None
            else:
                yield None, json.dumps(item, ensure_ascii=False)


def wrapped_records(row: Row) -> Iterator[str]:
    """One JSON line per record of a binary file row, wrapped with its file name."""
    data = bytes(row.content)
    if row.path.lower().endswith(".gz"):
        data = gzip.decompress(data)
    for record, bad in json_records(data.decode("utf-8-sig", errors="replace")):
        wrapper = {"file": row.path, "record": record} if bad is None else {"file": row.path}
        if bad is not None:
            wrapper["corrupt"] = bad
        yield json.dumps(wrapper, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# I/O
# --------------------------------------------------------------------------------------------


#: Session settings a conversion runs under; the previous values come back afterwards.
SESSION_SETTINGS = {
    # JSON keys (and CSV headers) that differ only in case are separate columns while reading,
    # so none is dropped and :func:`merge_case_variants` can merge them; case-insensitive Spark
    # refuses such input outright.
    "spark.sql.caseSensitive": "true",
    # A time that passes the format checks but that Spark 3's parser refuses becomes null, so
    # its row is rejected with a reason; the default raises an upgrade error that fails the run.
    "spark.sql.legacy.timeParserPolicy": "CORRECTED",
}


@contextmanager
def session_settings(spark: SparkSession) -> Iterator[None]:
    before = {key: spark.conf.get(key, None) for key in SESSION_SETTINGS}
    for key, value in SESSION_SETTINGS.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


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


def read_json_lines(spark: SparkSession, paths: list[str]) -> DataFrame:
    # Values as strings: amounts keep their exact text (no float rounding) until validated.
    raw = spark.read.json(
        paths,
        primitivesAsString=True,
        mode="PERMISSIVE",
        columnNameOfCorruptRecord=common.CORRUPT,
    )
    if common.CORRUPT not in raw.columns:
        raw = raw.withColumn(common.CORRUPT, F.lit(None).cast("string"))
    return flatten(raw.withColumn(common.SOURCE_FILE, F.col("_metadata.file_path")))


def read_json_documents(spark: SparkSession, paths: list[str]) -> DataFrame | None:
    files = spark.read.format("binaryFile").load(paths).select("path", "content")
    wrapped = files.rdd.flatMap(wrapped_records)
    if wrapped.isEmpty():
        return None
    raw = spark.read.json(wrapped, primitivesAsString=True)
    record = [F.col("record.*")] if "record" in raw.columns else []
    corrupt = F.col("corrupt") if "corrupt" in raw.columns else F.lit(None).cast("string")
    out = raw.select(
        *record, corrupt.alias(common.CORRUPT), F.col("file").alias(common.SOURCE_FILE)
    )
    return flatten(out)


def read_raw(spark: SparkSession, files: Sequence[common.InputFile], fmt: str) -> DataFrame | None:
    """All input rows as flat string columns with ``_corrupt_record`` and ``_source_file``; None
    when the input holds no rows."""
    if fmt == "csv":
        plan = common.plan_csv(spark, files)
        if not plan.groups:
            return None
        return common.union_all(
            common.read_csv(spark, cols, paths) for cols, paths in plan.groups.items()
        )
    nonempty = [f for f in files if f.size > 0]
    heads = common.map_in_threads(
        lambda f: common.read_head(spark, f.path, HEAD_BYTES + 1), nonempty
    )
    lines: list[str] = []
    documents: list[str] = []
    for f, head in zip(nonempty, heads, strict=True):
        if not head.strip():
            continue
        layout = json_layout(head[:HEAD_BYTES], complete=len(head) <= HEAD_BYTES)
        (lines if layout == "lines" else documents).append(f.path)
    frames = [read_json_lines(spark, lines)] if lines else []
    if documents:
        if __name__ != "__main__":
            # Imported (a test, a benchmark): workers unpickle the record splitter by module name.
            spark.sparkContext.addPyFile(os.path.abspath(__file__))
        frame = read_json_documents(spark, documents)
        frames += [frame] if frame is not None else []
    if not frames:
        return None
    return common.union_all(align_types(frames))


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
    with session_settings(spark):
        return _convert(
            spark,
            input_path,
            output_path,
            rejected_path,
            input_format,
            timestamp_column,
            amount_column,
        )


def _convert(
    spark: SparkSession,
    input_path: str,
    output_path: str,
    rejected_path: str | None,
    input_format: str | None,
    timestamp_column: str | None,
    amount_column: str | None,
) -> dict[str, object]:
    started = time.monotonic()
    rejected_path = rejected_path or common.default_rejected_path(output_path)
    # What a killed earlier run left half-published is put right before anything is read.
    recovered = common.recover(spark, output_path)
    files = common.list_input(spark, input_path)
    fmt = detect_format(files, input_format)
    raw = read_raw(spark, files, fmt)
    stages = {"plan": round(time.monotonic() - started, 1)}
    counts: dict[str, object] = {"read": 0, "written": 0, "rejected": 0, "files": len(files)}
    if raw is None:
        common.delete_path(spark, rejected_path)
        return {**counts, "format": fmt, "seconds": round(time.monotonic() - started, 1)}

    flat = merge_case_variants(raw)
    data_columns = [
        c for c in flat.columns if c not in (common.CORRUPT, common.SOURCE_FILE, CASE_CONFLICT)
    ]
    # The partition column is ours: an input `date` keeps its values under another name.
    renamed = {
        c: free_name("source_date", data_columns) for c in data_columns if c.lower() == PARTITION
    }
    for old, new in renamed.items():
        flat = flat.withColumnRenamed(old, new)
    data_columns = [renamed.get(c, c) for c in data_columns]
    by_old = {old.lower(): new for old, new in renamed.items()}
    timestamp_column = by_old.get((timestamp_column or "").lower(), timestamp_column)
    amount_column = by_old.get((amount_column or "").lower(), amount_column)
    ts_col = pick(data_columns, timestamp_column, TIMESTAMP_NAMES)
    if ts_col is None:
        raise common.JobInputError(
            f"no timestamp column among {data_columns}; expected one of "
            f"{', '.join(TIMESTAMP_NAMES)} or --TIMESTAMP_COLUMN"
        )
    amount_col = pick(data_columns, amount_column, AMOUNT_NAMES)
    quantity_col = pick(data_columns, None, QUANTITY_NAMES)
    # Parsed once: the rejects are taken from the cached rows after the write instead of a
    # second read and parse of the whole input (spills to disk when memory is short).
    rows = clean(flat, ts_col, amount_col, quantity_col).persist(StorageLevel.MEMORY_AND_DISK)
    tally = common.Tally(
        rows.repartition(PARTITION),
        "sales",
        lambda good: typed(good, ts_col, amount_col, quantity_col),
    )
    # Written aside, then each date the run holds is swapped in whole (others stay untouched):
    # readers see a date's old rows or its new ones, and a retried run never duplicates rows.
    staging = common.staging_path(output_path, common.new_run_id())
    mark = time.monotonic()
    (
        tally.good.write.mode("overwrite")
        .option("compression", "snappy")
        .partitionBy(PARTITION)
        .parquet(staging)
    )
    stages["write"], mark = round(time.monotonic() - mark, 1), time.monotonic()
    finished = tally.finish(spark, as_rejected(rows.where(common.is_rejected())), rejected_path)
    stages["rejects"], mark = round(time.monotonic() - mark, 1), time.monotonic()
    rows.unpersist()
    dates = common.publish_partitions(spark, staging, output_path)
    stages["publish"] = round(time.monotonic() - mark, 1)
    return {
        **counts,
        **finished,
        "dates": len(dates),
        "recovered": len(recovered["restored"]) + len(recovered["removed"]),
        "format": fmt,
        "timestamp_column": ts_col,
        "amount_column": amount_col,
        "quantity_column": quantity_col,
        "output": output_path,
        "rejected_path": rejected_path,
        "stage_seconds": stages,
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
        rejected_path=args.get("REJECTED_PATH"),
        input_format=args.get("INPUT_FORMAT"),
        timestamp_column=args.get("TIMESTAMP_COLUMN"),
        amount_column=args.get("AMOUNT_COLUMN"),
    )
    common.emit_summary(JOB, counts)
    run.commit()


if __name__ == "__main__":
    common.run_main(main)
