"""Sales / clickstream raw CSV or JSON → cleaned Parquet partitioned by date=YYYY-MM-DD.

Glue:  --INPUT_PATH s3://bucket/raw/sales/ --OUTPUT_PATH s3://bucket/processed/sales/
       [--ENGINE auto|arrow|spark]
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
Two engines write the same output (see ``convert``): Arrow in the driver for CSV and JSON lines
inputs one machine cleans quickly, Spark for JSON documents and larger inputs, or whatever Arrow
would read or judge differently.
Only the dates present in the run are replaced, each swapped in whole from a hidden staging folder
(``glue_etl_common.publish_partitions``), so readers never see a date half-written and a retried
run never duplicates rows; what a killed run left behind is repaired first (``recover``).
"""

from __future__ import annotations

import gc
import gzip
import json
import json.scanner
import math
import multiprocessing
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

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
    return df.select(
        *[
            F.col(".".join(f"`{p}`" for p in path)).alias(name)
            for path, name in zip(paths, flat_names(paths, sep), strict=True)
        ]
    )


def flat_names(paths: Sequence[Sequence[str]], sep: str = "_") -> list[str]:
    """The column name of each leaf path, in order: its parts joined by ``sep``, with ``_2``,
    ``_3``… on a name already taken."""
    taken: set[str] = set()
    names: list[str] = []
    for path in paths:
        base = sep.join(path) or "_blank"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}{sep}{n}", n + 1
        taken.add(name)
        names.append(name)
    return names


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
    groups = case_groups(df.columns)
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
        columns.append(F.coalesce(*values).alias(merged_name(names)))
    if all(len(n) == 1 for n in groups.values()):
        return df.withColumn(CASE_CONFLICT, F.lit(None).cast("string"))
    return df.select(*columns, conflict.alias(CASE_CONFLICT))


def case_groups(columns: Sequence[str]) -> dict[str, list[str]]:
    """Column names by their lower-case spelling, in order of first appearance."""
    groups: dict[str, list[str]] = {}
    for c in columns:
        groups.setdefault(c.lower(), []).append(c)
    return groups


def merged_name(names: Sequence[str]) -> str:
    """The name case variants merge under: the lower-case one when present, else the first."""
    return next((n for n in names if n == n.lower()), names[0])


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


def _quantity_digits(t: Column) -> tuple[Column, Column]:
    """(the digits without leading zeros, whether they exceed the table's int)."""
    digits = F.regexp_replace(t, r"^0+(?=\d)", "")
    too_big = (F.length(digits) > len(str(QUANTITY_MAX))) | (
        (F.length(digits) == len(str(QUANTITY_MAX))) & (digits > F.lit(str(QUANTITY_MAX)))
    )
    return digits, too_big


def quantity_problem(text: Column) -> Column:
    """Why a quantity is invalid, or null when it is good or absent (clickstream has none)."""
    t = strip_space(text)
    _, too_big = _quantity_digits(t)
    return (
        F.when(t.isNull() | (t == ""), F.lit(None).cast("string"))
        .when(t.rlike(r"^-\d+$"), F.concat(F.lit("negative quantity: "), t))
        .when(~t.rlike(r"^\d+$"), F.concat(F.lit("quantity is not a whole number: "), t))
        .when(too_big, F.concat(F.lit(f"quantity larger than {QUANTITY_MAX}: "), t))
    )


def quantity_value(text: Column) -> Column:
    # From the digits without leading zeros: `0000000000012` is 12, not a value too long to
    # cast; only a valid quantity is cast (an ANSI session would fail on an overflowing one).
    t = strip_space(text)
    digits, too_big = _quantity_digits(t)
    return F.when(t.rlike(r"^\d+$") & ~too_big, digits.cast("int"))


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
    lines = _head_lines(head.decode("utf-8-sig", errors="replace"), complete)
    seen = False
    for line in lines:
        if line.strip():
            try:
                json.loads(line)
            except ValueError:
                return "document"
            seen = True
    return "lines" if seen or complete else "document"


def _head_lines(text: str, complete: bool) -> list[str]:
    """The whole lines of a file's head, as Spark's reader splits them (at LF, CR and CRLF; not
    at U+2028 and the like): the last one is cut short unless the head is the whole file or ends
    with a line break."""
    lines = common.text_lines(text)
    return lines if complete or text.endswith(("\n", "\r")) else lines[:-1]


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
# The Arrow engine: CSV input cleaned and written in the driver
# --------------------------------------------------------------------------------------------
#
# The same rules as the expressions above, on Arrow arrays. A value whose meaning to Spark the
# engine does not know exactly (a time in a form outside the ones below), a file Arrow would
# read differently (see common.arrow_csv_batches) or a path Arrow cannot reach sends the whole run
# to the Spark engine before anything is published.

#: Inputs up to this size (decompressed) take the Arrow engine under ``--ENGINE auto``.
ARROW_MAX_INPUT_BYTES = 2 << 30
#: About how much CSV text one output file holds (Parquet is several times smaller).
TARGET_FILE_BYTES = 128 * 1024 * 1024
#: Session time zones in which a time without an offset is UTC, as the Arrow engine reads it.
UTC_ZONES = frozenset({"UTC", "Etc/UTC", "GMT", "Etc/GMT", "Z", "+00:00", "UTC0"})
#: Names the Spark engine gives its own columns; an input column so named takes Spark.
OWN_COLUMNS = frozenset(
    c.lower() for c in (*INTERNAL, common.CORRUPT, common.SOURCE_FILE, common.REJECT_REASON)
)
_MICROS_PER_DAY = 86_400_000_000
_EARLIEST_DAYS = (date.fromisoformat(EARLIEST) - date(1970, 1, 1)).days
# The forms of Spark's string-to-timestamp cast the engine computes itself; any other text the
# cast would see (a ``yyyy-MM-dd`` prefix followed by something else) takes Spark. A zone after
# minutes without seconds is not among them: Spark reads such a text as null. Zones: Z, UTC, GMT
# and offsets of hours (``+01``), hours and minutes (``+0100``, ``+01:00``), after one optional
# space.
_ISO = (
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,6}))?(?: ?(?P<z>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?))?)?)?$"
)
_SLASH = r"^(?P<y>\d{4})/(?P<mo>\d{2})/(?P<d>\d{2})(?: (?P<h>\d{2}):(?P<mi>\d{2}):(?P<s>\d{2}))?$"
_EPOCH_SECONDS = r"^(?P<s>\d{9,10})(?:\.(?P<f>\d{1,6}))?$"


@dataclass(frozen=True)
class Roles:
    """The data columns of a run and which of them hold the time, amount and quantity."""

    columns: tuple[str, ...]
    renamed: dict[str, str]  # input name -> written name (an input ``date``)
    timestamp: str
    amount: str | None
    quantity: str | None


def roles_of(
    data_columns: Sequence[str], timestamp_column: str | None, amount_column: str | None
) -> Roles:
    """Renames an input ``date`` (the partition column is ours) and finds the time, amount and
    quantity columns; both engines call it on their merged column names."""
    renamed = {
        c: free_name("source_date", data_columns) for c in data_columns if c.lower() == PARTITION
    }
    columns = tuple(renamed.get(c, c) for c in data_columns)
    by_old = {old.lower(): new for old, new in renamed.items()}
    timestamp_column = by_old.get((timestamp_column or "").lower(), timestamp_column)
    amount_column = by_old.get((amount_column or "").lower(), amount_column)
    ts_col = pick(columns, timestamp_column, TIMESTAMP_NAMES)
    if ts_col is None:
        raise common.JobInputError(
            f"no timestamp column among {list(columns)}; expected one of "
            f"{', '.join(TIMESTAMP_NAMES)} or --TIMESTAMP_COLUMN"
        )
    return Roles(
        columns,
        renamed,
        ts_col,
        pick(columns, amount_column, AMOUNT_NAMES),
        pick(columns, None, QUANTITY_NAMES),
    )


def csv_names(headers: Sequence[tuple[str, ...]]) -> tuple[list[str], dict[str, str]]:
    """(the merged data columns, input name -> merged name) of CSV files with these headers, as
    the Spark engine's union by name and :func:`merge_case_variants` make them."""
    union: list[str] = []
    for header in headers:
        union += [c for c in header if c not in union]
    groups = case_groups(union)
    merged = {n: merged_name(names) for names in groups.values() for n in names}
    return [merged_name(names) for names in groups.values()], merged


def _days_from_civil(y: Any, m: Any, d: Any) -> Any:
    """Days since 1970-01-01 of proleptic Gregorian dates (NumPy arrays)."""
    import numpy as np

    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _field(parts: Any, name: str, pad: int = 0) -> Any:
    """An extracted group as int64 NumPy values; absent (empty) counts 0, ``pad`` right-pads a
    fraction to microseconds."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = parts.field(name)
    if pad:
        text = pc.utf8_rpad(text, width=pad, padding="0")
    text = pc.if_else(pc.equal(text, ""), "0", text)
    return pc.cast(text, pa.int64()).to_numpy(zero_copy_only=False)


def _civil_micros(parts: Any) -> tuple[Any, Any]:
    """(microseconds since the epoch, valid) of extracted date and time groups: a date that does
    not exist, an hour past 23 or an offset beyond ±18:00 is not valid (Spark gives null)."""
    import numpy as np

    names = {f.name for f in parts.type}
    y, mo, d = (_field(parts, n) for n in ("y", "mo", "d"))
    h, mi, s = (_field(parts, n) for n in ("h", "mi", "s"))
    frac = _field(parts, "f", pad=6) if "f" in names else 0
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(mo, 1, 12) - 1]
    month_days = month_days + ((mo == 2) & leap)
    valid = (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= month_days) & (h < 24) & (mi < 60) & (s < 60)
    offset = np.zeros(len(y), dtype=np.int64)
    if "z" in names:
        import pyarrow.compute as pc

        zone = pc.replace_substring(parts.field("z"), ":", "")
        sign_minus = pc.starts_with(zone, "-").to_numpy(zero_copy_only=False)
        numeric = sign_minus | pc.starts_with(zone, "+").to_numpy(zero_copy_only=False)
        zh = _field_slice(zone, 1, 3)
        zm = _field_slice(zone, 3, 5)
        sign = np.where(sign_minus, -1, 1)
        minutes = np.where(numeric, zh * 60 + zm, 0)
        valid &= ~numeric | ((zm < 60) & (minutes <= 18 * 60))
        offset = sign * minutes * 60_000_000
    days = _days_from_civil(y, mo, d)
    micros = (((days * 24 + h) * 60 + mi) * 60 + s) * 1_000_000 + frac - offset
    return micros, valid


def _field_slice(text: Any, start: int, stop: int) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    part = pc.utf8_slice_codeunits(text, start, stop)
    part = pc.if_else(pc.fill_null(pc.utf8_is_digit(part), False), part, "0")
    return pc.cast(part, pa.int64()).to_numpy(zero_copy_only=False)


def arrow_timestamp(text: Any) -> tuple[Any, Any]:
    """:func:`parse_timestamp` on an Arrow string array of stripped texts: (microseconds since
    the epoch as int64, null where Spark's is null; true where the engine does not know what
    Spark makes of the text)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(text)
    micros = np.zeros(n, dtype=np.int64)
    known = np.zeros(n, dtype=bool)
    unknown = np.zeros(n, dtype=bool)
    # ISO texts first, in one pass (most times are); the other forms on the rest only. An ISO
    # match has at most six fraction digits, so it is never "finer than microseconds".
    parts = pc.extract_regex(text, _ISO)
    iso = parts.is_valid().to_numpy(zero_copy_only=False)
    if iso.any():
        index = np.flatnonzero(iso)
        value, valid = _civil_micros(parts if len(index) == n else parts.take(pa.array(index)))
        micros[index] = value
        known[index[valid]] = True
    rest = np.flatnonzero(~iso)
    if len(rest):
        other = text if len(rest) == n else pc.take(text, pa.array(rest))
        micros[rest], known[rest], unknown[rest] = _other_timestamps(other)
    return pa.array(micros, pa.int64(), mask=~known), unknown


def _other_timestamps(text: Any) -> tuple[Any, Any, Any]:
    """(micros, known, unknown) of texts that are not ISO times as :data:`_ISO` reads them."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(text)
    micros = np.zeros(n, dtype=np.int64)
    known = np.zeros(n, dtype=bool)

    def where(pattern: str) -> Any:
        return pc.fill_null(pc.match_substring_regex(text, pattern), False).to_numpy(
            zero_copy_only=False
        )

    def take(pattern: str, rows: Any, compute: Callable[[Any], tuple[Any, Any]]) -> None:
        if rows.any():
            index = np.flatnonzero(rows)
            parts = pc.extract_regex(pc.take(text, pa.array(index)), pattern)
            value, valid = compute(parts)
            micros[index] = value
            known[index[valid]] = True

    millis = where(r"^\d{12,13}$")
    if millis.any():
        index = np.flatnonzero(millis)
        ms = pc.cast(pc.take(text, pa.array(index)), pa.int64()).to_numpy(zero_copy_only=False)
        micros[index], known[index] = ms * 1000, True
    take(
        _EPOCH_SECONDS,
        where(r"^\d{9,10}(\.\d{1,6})?$"),
        lambda p: (_field(p, "s") * 1_000_000 + _field(p, "f", pad=6), np.ones(len(p), bool)),
    )
    take(_SLASH, where(_SLASH), _civil_micros)
    # Any other text starting like an ISO date is read by Spark's cast in ways not computed here.
    unknown = where(r"^\d{4}-\d{2}-\d{2}") & ~where(TS_FRACTION_TOO_FINE)
    return micros, known, unknown


def _prefixed(pc: Any, prefix: str, text: Any) -> tuple[str, Any]:
    """A reason made of ``prefix`` and the row's text (spelled out for the rejected rows only)."""
    return prefix, text


def _first_reason(pa: Any, pc: Any, n: int, cases: Sequence[tuple[Any, Any]]) -> Any:
    """The first case's reason whose condition holds (null when none): ``cases`` are (condition,
    reason) pairs, conditions null-free Arrow arrays, reasons scalars or :func:`_prefixed`.
    Reasons are spelled for the rows that have one only: few rows do."""
    import numpy as np

    held = cases[0][0]
    for condition, _ in cases[1:]:
        held = pc.or_(held, condition)
    rows = np.flatnonzero(held.to_numpy(zero_copy_only=False))
    if not len(rows):
        return pa.nulls(n, pa.string())
    index = pa.array(rows)
    reason = pa.nulls(len(rows), pa.string())
    for condition, text in reversed(cases):
        if isinstance(text, tuple):
            text = pc.binary_join_element_wise(text[0], pc.take(text[1], index), "")
        reason = pc.if_else(pc.take(condition, index), text, reason)
    return pc.replace_with_mask(pa.nulls(n, pa.string()), held, reason)


def _true(pc: Any, condition: Any) -> Any:
    return pc.fill_null(condition, False)


def arrow_timestamp_problem(text: Any, micros: Any, now_micros: int) -> Any:
    """:func:`timestamp_problem` on stripped texts and :func:`arrow_timestamp`'s values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    missing = _true(pc, pc.or_kleene(pc.is_null(text), pc.equal(text, "")))
    too_fine = _true(
        pc,
        pc.or_(
            pc.match_substring_regex(text, TS_FRACTION_TOO_FINE),
            pc.match_substring_regex(text, r"^\d{9,10}\.\d{7,}$"),
        ),
    )
    early = _EARLIEST_DAYS * _MICROS_PER_DAY
    return _first_reason(
        pa,
        pc,
        len(text),
        [
            (missing, pa.scalar("missing timestamp")),
            (too_fine, _prefixed(pc, "timestamp finer than microseconds: ", text)),
            (pc.is_null(micros), _prefixed(pc, "unparseable timestamp: ", text)),
            (
                _true(pc, pc.less(micros, early)),
                _prefixed(pc, f"timestamp before {EARLIEST} (the table's first date): ", text),
            ),
            (
                _true(pc, pc.greater(micros, now_micros + _MICROS_PER_DAY)),
                _prefixed(pc, "timestamp more than a day in the future: ", text),
            ),
        ],
    )


def arrow_amount(text: Any) -> tuple[Any, Any]:
    """:func:`amount_problem` and :func:`amount_value` on stripped texts: (reason, the value as
    ``decimal(12,2)`` where there is no reason)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    # Plain amounts (digits, at most two decimals, no sign, separator or leading zero) are
    # valid and cast as they are; only the others take every check below.
    plain = pc.fill_null(pc.match_substring_regex(text, _PLAIN_AMOUNT), False)
    others = np.flatnonzero(~plain.to_numpy(zero_copy_only=False))
    if len(others) < len(text):
        value = pc.cast(pc.if_else(plain, text, "0"), pa.decimal128(AMOUNT_PRECISION, AMOUNT_SCALE))
        reason = pa.nulls(len(text), pa.string())
        if len(others):
            index = pa.array(others)
            other_reason, other_value = _arrow_amount(pc.take(text, index))
            reason = pc.replace_with_mask(reason, pc.invert(plain), other_reason)
            value = pc.replace_with_mask(value, pc.invert(plain), other_value)
        return reason, value
    return _arrow_amount(text)


#: An amount :func:`arrow_amount` casts without further checks.
_PLAIN_AMOUNT = rf"^(0|[1-9]\d{{0,{INTEGER_DIGITS - 1}}})(\.\d{{1,{AMOUNT_SCALE}}})?$"


def _arrow_amount(text: Any) -> tuple[Any, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    unsigned = pc.replace_substring_regex(text, r"^-", "", max_replacements=1)
    integer_part = pc.replace_substring_regex(
        pc.replace_substring_regex(unsigned, r"^[$€£]|,|\..*$", ""), r"^0+", ""
    )
    reason = _first_reason(
        pa,
        pc,
        len(text),
        [
            (
                _true(pc, pc.or_kleene(pc.is_null(text), pc.equal(text, ""))),
                pa.scalar("missing amount"),
            ),
            (
                pc.invert(_true(pc, pc.match_substring_regex(unsigned, AMOUNT_TEXT))),
                _prefixed(pc, "invalid amount: ", text),
            ),
            (_true(pc, pc.starts_with(text, "-")), _prefixed(pc, "negative amount: ", text)),
            (
                _true(pc, pc.match_substring_regex(unsigned, rf"\.\d{{{AMOUNT_SCALE + 1},}}$")),
                _prefixed(pc, f"amount has more than {AMOUNT_SCALE} decimal places: ", text),
            ),
            (
                _true(pc, pc.greater(pc.utf8_length(integer_part), INTEGER_DIGITS)),
                _prefixed(
                    pc,
                    f"amount too large for decimal({AMOUNT_PRECISION},{AMOUNT_SCALE}) "
                    f"(at most {INTEGER_DIGITS} digits before the point): ",
                    text,
                ),
            ),
        ],
    )
    good = pc.is_null(reason)
    # Only valid texts are cast; leading zeros go first (Arrow counts them as precision).
    digits = pc.replace_substring_regex(
        pc.replace_substring_regex(pc.if_else(good, text, "0"), r"[$€£,]", ""), r"^0+(\d)", r"\1"
    )
    value = pc.cast(digits, pa.decimal128(AMOUNT_PRECISION, AMOUNT_SCALE))
    return reason, pc.if_else(good, value, pa.scalar(None, value.type))


def arrow_quantity(text: Any) -> tuple[Any, Any]:
    """:func:`quantity_problem` and :func:`quantity_value` on stripped texts."""
    import pyarrow as pa
    import pyarrow.compute as pc

    digits = pc.replace_substring_regex(text, r"^0+", "")
    width = pc.utf8_length(digits)
    limit = str(QUANTITY_MAX)
    too_big = _true(
        pc,
        pc.or_(
            pc.greater(width, len(limit)),
            pc.and_(pc.equal(width, len(limit)), pc.greater(digits, limit)),
        ),
    )
    whole = _true(pc, pc.match_substring_regex(text, r"^\d+$"))
    given = _true(pc, pc.not_equal(text, ""))  # an absent quantity is no problem
    reason = _first_reason(
        pa,
        pc,
        len(text),
        [
            (
                pc.and_(given, _true(pc, pc.match_substring_regex(text, r"^-\d+$"))),
                _prefixed(pc, "negative quantity: ", text),
            ),
            (
                pc.and_(given, pc.invert(whole)),
                _prefixed(pc, "quantity is not a whole number: ", text),
            ),
            (too_big, _prefixed(pc, f"quantity larger than {QUANTITY_MAX}: ", text)),
        ],
    )
    ok = pc.and_(whole, pc.invert(too_big))
    value = pc.cast(pc.if_else(ok, pc.if_else(pc.equal(digits, ""), "0", digits), "0"), pa.int32())
    return reason, pc.if_else(ok, value, pa.scalar(None, pa.int32()))


def arrow_rows(
    batch: Any, fields: Sequence[str], roles: Roles, now_micros: int, source: str
) -> tuple[Any, list[dict[str, object]]]:
    """One batch of CSV rows (``f0…fN`` strings, ``fields`` naming them as written) → the good
    rows as written (with ``__folder``, ``date=YYYY-MM-DD``) and the rejected rows as the Spark
    engine writes them (their text as read, nulls left out)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = batch.num_rows
    index = {name: i for i, name in enumerate(fields)}
    texts = {
        c: batch.column(index[c]) if c in index else pa.nulls(n, pa.string()) for c in roles.columns
    }
    ts_text = pc.utf8_trim(texts[roles.timestamp], characters=SPACE)
    micros, unknown = arrow_timestamp(ts_text)
    if unknown.any():
        value = ts_text[int(np.flatnonzero(unknown)[0])].as_py()
        raise common.ArrowFallback(
            f"{source}: a time in a form the Arrow engine leaves to Spark's parser: {value!r}"
        )
    reasons = [arrow_timestamp_problem(ts_text, micros, now_micros)]
    values = {roles.timestamp: pc.cast(micros, pa.timestamp("us", tz="UTC"))}
    for column, check in ((roles.amount, arrow_amount), (roles.quantity, arrow_quantity)):
        if column is not None:
            reason, values[column] = check(pc.utf8_trim(texts[column], characters=SPACE))
            reasons.append(reason)
    reason = pc.coalesce(*reasons) if len(reasons) > 1 else reasons[0]
    rejects: list[dict[str, object]] = []
    arrays = [values.get(c, texts[c]) for c in roles.columns]
    if reason.null_count < n:
        bad = pc.is_valid(reason)
        table = pa.table([*texts.values(), reason], names=[*roles.columns, common.REJECT_REASON])
        for row in table.filter(bad).to_pylist():
            out = {
                k: _without_nulls(v)
                for k, v in row.items()
                if v is not None and k != common.REJECT_REASON
            }
            out[common.SOURCE_FILE] = source
            out[common.REJECT_REASON] = row[common.REJECT_REASON]
            rejects.append(out)
        good = pc.is_null(reason)
        arrays = [pc.filter(a, good) for a in arrays]
        micros = pc.filter(micros, good)
    days = np.floor_divide(micros.to_numpy(zero_copy_only=False), _MICROS_PER_DAY)
    distinct, which = np.unique(days, return_inverse=True)
    folders = pa.array(
        [f"{PARTITION}={date(1970, 1, 1) + timedelta(days=int(d))}" for d in distinct], pa.string()
    )
    arrays.append(pc.take(folders, pa.array(which.reshape(-1))))
    return pa.RecordBatch.from_arrays(arrays, names=[*roles.columns, "__folder"]), rejects


def _without_nulls(value: Any) -> Any:
    """A value as Spark's JSON writer writes it: struct fields that are null left out (inside
    arrays too; an array keeps its null elements)."""
    if type(value) is dict:
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if type(value) is list:
        return [_without_nulls(v) for v in value]
    return value


def parquet_options() -> Any:
    """Parquet as the Spark engine writes it: Snappy, times as INT96 (Spark's default, so the
    column reads as a timestamp with time zone everywhere) and decimals as integers."""
    import pyarrow.dataset as ds

    options = {"compression": "snappy", "use_deprecated_int96_timestamps": True}
    try:
        return ds.ParquetFileFormat().make_write_options(**options, store_decimal_as_integer=True)
    except TypeError:  # pyarrow before 19 writes fixed-length decimals; readers take both
        return ds.ParquetFileFormat().make_write_options(**options)


def arrow_convert(
    spark: SparkSession,
    plan: common.CsvPlan,
    roles: Roles,
    merged: Mapping[str, str],
    staging: str,
    run_id: str,
) -> tuple[dict[str, int], list[dict[str, object]]]:
    """Writes the good rows under ``staging`` (``date=YYYY-MM-DD/`` folders) with Arrow; returns
    the counts and the rejected rows. Raises ArrowFallback before writing a row the Spark engine
    would read or judge differently."""
    import pyarrow as pa

    now_micros = time.time_ns() // 1000
    items = [(header, path) for header, paths in plan.groups.items() for path in paths]
    types = _role_types(roles)
    schema = pa.schema(
        [(c, types.get(c, pa.string())) for c in roles.columns] + [("__folder", pa.string())]
    )
    counts = {"read": 0, "written": 0}
    rejects: list[dict[str, object]] = []

    def batches() -> Iterator[Any]:
        for (header, path), data in common.prefetched(
            items, lambda i: common.arrow_csv_bytes(i[1])
        ):
            fields = [roles.renamed.get(merged[c], merged[c]) for c in header]
            source = common.spark_file_uri(spark, path)
            for batch in common.arrow_csv_batches(
                path, data, len(header), plan.line_seps.get(path)
            ):
                counts["read"] += batch.num_rows
                good, bad = arrow_rows(batch, fields, roles, now_micros, source)
                rejects.extend(bad)
                yield good

    max_rows = max(1000, int(TARGET_FILE_BYTES / plan.bytes_per_line))
    counts["written"] = common.arrow_write_folders(
        schema, batches(), staging, run_id, max_rows, parquet_options()
    )
    counts["rejected"] = len(rejects)
    return counts, rejects


def _role_types(roles: Roles) -> dict[str, Any]:
    """The Arrow types of the time, amount and quantity columns as written."""
    import pyarrow as pa

    types = {roles.timestamp: pa.timestamp("us", tz="UTC")}
    if roles.amount:
        types[roles.amount] = pa.decimal128(AMOUNT_PRECISION, AMOUNT_SCALE)
    if roles.quantity:
        types[roles.quantity] = pa.int32()
    return types


def choose_engine(
    requested: str,
    fmt: str,
    files: Sequence[common.InputFile],
    paths: Sequence[str],
    spark: SparkSession,
) -> tuple[str, str | None]:
    """(engine, why not Arrow) for ``--ENGINE`` ``requested`` (see common.choose_arrow_engine):
    Arrow takes CSV and JSON lines in a UTC session only."""
    chosen, why = common.choose_arrow_engine(
        requested, files, paths, ARROW_MAX_INPUT_BYTES, numpy=True
    )
    if chosen != "arrow":
        return chosen, why
    zone = spark.conf.get("spark.sql.session.timeZone", "UTC") or "UTC"
    if zone not in UTC_ZONES:
        return "spark", f"the session time zone is {zone}; the Arrow engine reads times in UTC"
    return "arrow", None


# --------------------------------------------------------------------------------------------
# The Arrow engine for JSON lines: each line parsed on the driver as Spark's reader reads it
# --------------------------------------------------------------------------------------------
#
# Spark reads JSON lines (``primitivesAsString``) under one schema inferred from every record:
# numbers, booleans and strings are strings (numbers spelled as Java spells them), objects are
# structs with their fields sorted by name, and a field whose kinds disagree (an object in one
# record, a string in another) is a string holding the value's compact JSON. The engine guesses
# that schema from the files' heads, reads every line with Python's parser into columns under it
# and, if a record holds a type the guess lacks, infers the whole schema and reads again. The
# files are shared between processes forked from the driver, one per core. What Python's parser
# and Spark's would read differently (a line that is not one JSON object, a duplicate key, a lone
# surrogate, a number too large for a double, invalid UTF-8) sends the run to Spark before
# anything is published.

#: Lines per Arrow batch: bounds each process's memory on large files.
JSON_BATCH_LINES = 1 << 14
#: Bounds of the pieces large files are read in (a piece per process at least, when it can).
PIECE_MIN_BYTES, PIECE_MAX_BYTES = 8 << 20, 64 << 20
#: Inferred types as the engine spells them: these two strings, a dict (a struct: field -> type)
#: or a one-element list (an array of that element type).
JSON_TEXT, JSON_NULL = "string", "null"
# A \uD800-\uDBFF escape not followed by a \uDC00-\uDFFF one, or the reverse: a surrogate
# pair escaped (as Python's json.dumps writes non-BMP characters) is one character to both.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # a quick scan first: rarely present
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def json_type(value: Any) -> Any:
    """The type Spark's reader infers for one parsed JSON value."""
    if value is None:
        return JSON_NULL
    if type(value) is dict:
        return {k: json_type(v) for k, v in value.items()}
    if type(value) is list:
        element: Any = JSON_NULL
        for item in value:
            element = merge_json_types(element, json_type(item))
        return [element]
    return JSON_TEXT


def merge_json_types(a: Any, b: Any) -> Any:
    """Spark's merge of two inferred types: a null type gives way, structs merge by field and
    arrays by element, and any other pair of different kinds is a string."""
    if a == JSON_NULL:
        return b
    if b == JSON_NULL:
        return a
    if type(a) is dict and type(b) is dict:
        merged = dict(a)
        for name, t in b.items():
            merged[name] = merge_json_types(merged[name], t) if name in merged else t
        return merged
    if type(a) is list and type(b) is list:
        return [merge_json_types(a[0], b[0])]
    return JSON_TEXT


def _utf16(name: str) -> bytes:
    return name.encode("utf-16-be", "surrogatepass")


def sorted_fields(struct: Mapping[str, Any]) -> list[str]:
    """Field names in Spark's order (Java's string order: by UTF-16 code unit)."""
    return sorted(struct, key=_utf16)


def spark_json_type(t: Any) -> Any:
    """The type a field is read as once inference ends (fields sorted, a null-only field a
    string), or None for one Spark drops (an object that is always empty, arrays of them); a
    field whose key is empty is dropped too."""
    if t in (JSON_NULL, JSON_TEXT):
        return JSON_TEXT
    if type(t) is list:
        element = spark_json_type(t[0])
        return None if element is None else [element]
    fields = {k: c for k in sorted_fields(t) if k and (c := spark_json_type(t[k])) is not None}
    return fields or None


def arrow_json_type(t: Any) -> Any:
    """The Arrow type of a field Spark reads as ``t`` (see :func:`spark_json_type`)."""
    import pyarrow as pa

    if t == JSON_TEXT:
        return pa.string()
    if type(t) is list:
        return pa.list_(arrow_json_type(t[0]))
    return pa.struct([(k, arrow_json_type(v)) for k, v in t.items()])


def java_double(value: float) -> str:
    """A double as Java's ``Double.toString`` spells it when that is the shortest round-trip
    form (almost always; :func:`java_doubles` asks Java for the exceptions): plain between
    1e-3 and 1e7, else ``d.dddE±n``, always with a fractional digit."""
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)  # Python's spelling there is Java's notation already
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign, text = ("-", repr(-value)) if value < 0 else ("", repr(value))
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    point = len(whole) + int(exponent or 0) - (len(whole + fraction) - len(digits))
    digits = digits.rstrip("0") or "0"
    if 1e-3 <= abs(value) < 1e7:
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{sign}{digits}{'0' * (point - len(digits))}.0"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{point - 1}"


def java_doubles(spark: SparkSession, reprs: Sequence[str]) -> list[str]:
    """Java's ``Double.toString`` of each double (given as Python's repr), as Spark's JSON reader
    spells a number it reads as a string; in one call to the driver's JVM."""
    if not reprs:
        return []
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    try:
        # MLlib's dense vector parses with Double.parseDouble and prints with Double.toString.
        text = jvm.org.apache.spark.mllib.linalg.Vectors.parse(f"[{','.join(reprs)}]").toString()
        spelled = str(text)[1:-1].split(",")
    except Exception:  # noqa: BLE001 - MLlib missing: Spark's cast spells them alike, slower
        frame = spark.createDataFrame([("\n".join(reprs),)], "v string")
        row = frame.selectExpr(
            "concat_ws('\\n', transform(split(v, '\\n'), x -> string(double(x))))"
        ).first()
        spelled = str(row[0]).split("\n")  # type: ignore[index]
    if len(spelled) != len(reprs):
        raise RuntimeError(f"Java spelled {len(spelled)} doubles of {len(reprs)}")
    return spelled


_quote = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _text_of(value: str, name: str | None = None) -> str:
    """Source of an expression for :meth:`JsonColumns.text` of ``value`` (assigned to ``name``
    first when given), with strings, integers and known doubles spelled inline."""
    x = name or value
    bound = f"({name} := {value})" if name else value
    return (
        f"({x} if (t := type({bound})) is str else str({x}) if t is int"
        f" else known({x}) or text({x}) if t is float else text({x}))"
    )


class _Widened(Exception):
    """A record holds a type the schema its lines are read under lacks."""


def _null_only(v: Any) -> None:
    if v is not None:
        raise _Widened


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record = dict(pairs)
    if len(record) != len(pairs):
        raise _DuplicateKey("an object repeats a key")
    return record


class JsonColumns:
    """Parsed JSON records read into flat columns under one inferred schema, as Spark's reader
    reads them under it: structs flattened to leaves (in Spark's order), strings and arrays
    kept. Raises _Widened at a record holding a type the schema lacks. ``floats``: Java's
    spelling of doubles met so far, shared between readers."""

    def __init__(self, schema: dict[str, Any], floats: dict[float, str]) -> None:
        self.floats = floats
        self.paths: list[tuple[str, ...]] = []
        self.types: list[Any] = []
        self._columns: list[list[Any]] = []
        self._appends: list[str] = []
        # The reader is compiled from the schema to Python source: a record is read in one call,
        # with its fields' tests and appends inline (a tree of closures is several times slower).
        self._env: dict[str, Any] = {"W": _Widened, "text": self.text, "known": floats.get}
        self._env |= {"scan": _scanner(), "parse_line": _parse_line, "check_line": _check_line}
        self._functions: list[str] = []
        body = self._struct(schema, "r", (), 2)
        # Every line's record in one loop: a generator and a call per record cost as much as
        # reading a small record.
        loop = [
            "def read(lines, first, source):",
            "    count = 0",
            "    for number, line in enumerate(lines, first):",
            "        try:",
            "            r, end = scan(line, 0)",
            "        except (StopIteration, ValueError):",
            "            r, end = parse_line(line, number, source)",
            "            if r is None:",
            "                continue",
            "        if end != len(line) or type(r) is not dict:",
            "            check_line(line, end, r, number, source)",
            *body,
            "        count += 1",
            "    return count",
        ]
        source = "\n".join([*self._functions, *loop])
        try:
            exec(compile(source, "<json reader>", "exec"), self._env)  # noqa: S102 - our source
        except (RecursionError, SyntaxError, MemoryError) as e:
            raise common.ArrowFallback(f"JSON nested too deep for the Arrow engine: {e}") from e
        #: read(lines, number of the first, source name) → how many records they held.
        self.read: Callable[[Sequence[str], int, str], int] = self._env["read"]

    def take(self) -> list[list[Any]]:
        """The columns read since the last call (the reader appends to new lists from here)."""
        columns = self._columns
        self._columns = [[] for _ in columns]
        for name, column in zip(self._appends, self._columns, strict=True):
            self._env[name] = column.append
        return columns

    def _name(self, prefix: str, value: Any) -> str:
        name = f"{prefix}{len(self._env)}"
        self._env[name] = value
        return name

    def _column(self, path: tuple[str, ...], kept: Any) -> str:
        column: list[Any] = []
        self._columns.append(column)
        self.paths.append(path)
        self.types.append(kept)
        self._appends.append(self._name("c", column.append))
        return self._appends[-1]

    def _struct(self, t: dict[str, Any], var: str, path: tuple[str, ...], depth: int) -> list[str]:
        """Lines reading the struct in ``var`` (a dict) into columns, leaves in Spark's order."""
        pad = "    " * depth
        names = self._name("N", frozenset(t))
        lines = [f"{pad}if not {names}.issuperset({var}):", f"{pad}    raise W"]
        for field in sorted_fields(t):
            if not field:
                continue  # Spark drops a field whose key is empty, whatever it holds
            ft, sub = t[field], f"v{depth}"
            lines.append(f"{pad}{sub} = {var}.get({field!r})")
            if type(ft) is dict:
                first = len(self._columns)
                inner = self._struct(ft, sub, (*path, field), depth + 1)
                nulls = [f"{pad}    {a}(None)" for a in self._appends[first:]]
                lines += [f"{pad}if {sub} is None:", *(nulls or [f"{pad}    pass"])]
                lines += [
                    f"{pad}elif type({sub}) is dict:",
                    *inner,
                    f"{pad}else:",
                    f"{pad}    raise W",
                ]
                continue
            kept = spark_json_type(ft)
            if ft == JSON_TEXT:
                append = self._column((*path, field), kept)
                lines.append(f"{pad}{append}({_text_of(sub)})")
                continue
            convert = self._converter(ft)
            if kept is None:  # read for its type only: Spark drops the field
                lines.append(f"{pad}{convert}({sub})")
            else:
                lines.append(f"{pad}{self._column((*path, field), kept)}({convert}({sub}))")
        return lines

    def _converter(self, t: Any) -> str:
        """The name of a function converting a value of type ``t`` (not a string) as it is
        kept in an array or a struct inside one."""
        if t == JSON_NULL:
            return self._name("null", _null_only)
        name = self._name("f", None)
        if type(t) is list:
            element = t[0]
            item = _text_of("x") if element == JSON_TEXT else f"{self._converter(element)}(x)"
            body = [
                "    if type(v) is not list:",
                "        raise W",
                f"    return [{item} for x in v]",
            ]
        else:
            names = self._name("N", frozenset(t))
            body = [f"    if type(v) is not dict or not {names}.issuperset(v):", "        raise W"]
            kept: list[str] = []
            for field in filter(None, sorted_fields(t)):
                ft = t[field]
                if ft == JSON_TEXT:
                    kept.append(f"{field!r}: {_text_of(f'v.get({field!r})', 'x')}")
                elif spark_json_type(ft) is None:
                    body.append(f"    {self._converter(ft)}(v.get({field!r}))")
                else:
                    kept.append(f"{field!r}: {self._converter(ft)}(v.get({field!r}))")
            body.append(f"    return {{{', '.join(kept)}}}")
        self._functions += [f"def {name}(v):", "    if v is None:", "        return None", *body]
        return name

    def text(self, v: Any) -> str | None:
        """A value as Spark's reader gives it to a string field (strings are handled inline)."""
        if v is None:
            return None
        kind = type(v)
        if kind is float:
            return self.floats.get(v) or self.double(v)
        if kind is int:
            return str(v)
        if kind is str:
            return v
        if kind is bool:
            return "true" if v else "false"
        return self.compact(v)

    def double(self, v: float) -> str:
        if not math.isfinite(v):
            raise common.ArrowFallback(
                f"a JSON number beyond a double ({v}): Spark's reader spells it its own way"
            )
        text = java_double(v)
        if v != 0:  # 0.0 and -0.0 are one key
            self.floats.setdefault(v, text)
        return self.floats.get(v, text)

    def compact(self, v: Any) -> str:
        """An object or array as Spark's reader (Jackson) writes it into a string field: keys in
        their order, no spaces, numbers spelled as Java spells them."""
        kind = type(v)
        if kind is dict:
            parts = []
            for k, x in v.items():
                kx = type(x)
                if kx is str:
                    parts.append(f"{_jackson_string(k)}:{_jackson_string(x)}")
                elif kx is int:
                    parts.append(f"{_jackson_string(k)}:{x}")
                else:
                    parts.append(f"{_jackson_string(k)}:{self.compact(x)}")
            return "{" + ",".join(parts) + "}"
        if kind is list:
            return "[" + ",".join(self.compact(x) for x in v) + "]"
        if kind is str:
            return _jackson_string(v)
        return "null" if v is None else str(self.text(v))


def _jackson_string(text: str) -> str:
    quoted = _quote(text)  # C speed; spells control characters' escapes in lower case
    if "\\u00" in quoted:
        quoted = f'"{text.translate(common.JACKSON_ESCAPES)}"'
    if not text.isascii() and max(text) > "\uffff":
        # Jackson's UTF-8 writer escapes a character beyond U+FFFF as its UTF-16 pair.
        quoted = _ASTRAL.sub(_escaped_pair, quoted)
    return quoted


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _escaped_pair(match: re.Match[str]) -> str:
    code = ord(match.group()) - 0x10000
    return f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}"


@dataclass(frozen=True)
class JsonPlan:
    """JSON input files by layout, with each non-empty file's head."""

    lines: list[common.InputFile]
    documents: list[common.InputFile]
    heads: dict[str, bytes]


def plan_json(spark: SparkSession, files: Sequence[common.InputFile]) -> JsonPlan:
    nonempty = [f for f in files if f.size > 0]
    heads = common.map_in_threads(
        lambda f: common.read_head(spark, f.path, HEAD_BYTES + 1), nonempty
    )
    plan = JsonPlan([], [], {})
    for f, head in zip(nonempty, heads, strict=True):
        if not head.strip() and len(head) <= HEAD_BYTES:
            continue  # blank throughout (a longer file is read whole, as a document)
        plan.heads[f.path] = head
        layout = json_layout(head[:HEAD_BYTES], complete=len(head) <= HEAD_BYTES)
        (plan.lines if layout == "lines" else plan.documents).append(f)
    return plan


@dataclass(frozen=True)
class Piece:
    """The lines of a file that start in bytes [start, stop) (stop -1: to the end), as Spark
    splits a file between tasks; ``source`` names the file as Spark's ``_metadata`` does."""

    path: str
    source: str
    start: int = 0
    stop: int = -1


def file_pieces(path: str, source: str, size: int, piece_bytes: int) -> list[Piece]:
    """A file in pieces of equal size, at most ``piece_bytes`` each (a gzip file whole: it
    cannot be split)."""
    if path.lower().endswith(".gz") or size <= piece_bytes:
        return [Piece(path, source)]
    n = -(-size // piece_bytes)
    bounds = [size * k // n for k in range(n)]
    return [
        Piece(path, source, start, bounds[k + 1] if k + 1 < n else -1)
        for k, start in enumerate(bounds)
    ]


def json_piece_lines(piece: Piece) -> list[str]:
    """A piece's lines as Spark's reader splits them (at LF, CR and CRLF), after a leading
    byte-order mark; ArrowFallback for text Python's parser would read differently."""
    if piece.start == 0 and piece.stop < 0:
        with common.arrow_open(piece.path) as stream:
            data = stream.read()
    else:
        filesystem, inner = common.arrow_filesystem(piece.path)
        with filesystem.open_input_file(inner) as f:
            size = f.size()
            begin = _line_start(f, piece.start, size)
            end = size if piece.stop < 0 else _line_start(f, piece.stop, size)
            data = f.read_at(max(0, end - begin), begin)
    try:
        # A byte-order mark counts only at the start of the file, as Spark skips it there.
        text = data.decode("utf-8-sig" if piece.start == 0 else "utf-8")
    except UnicodeDecodeError as e:
        raise common.ArrowFallback(f"{piece.path}: not UTF-8 ({e})") from e
    if _SURROGATE_ESCAPE.search(text) and _LONE_SURROGATE.search(text):
        raise common.ArrowFallback(
            f"{piece.path}: a lone surrogate escape, which Spark reads its own way"
        )
    return common.text_lines(text)


def _line_start(f: Any, offset: int, size: int) -> int:
    """Where the first line starting at or after ``offset`` starts (``size`` if none does): after
    the first LF, CR or CRLF from ``offset - 1`` on."""
    if offset <= 0:
        return 0
    at = offset - 1
    while at < size:
        chunk = f.read_at(min(1 << 16, size - at), at)
        breaks = [i for i in (chunk.find(b"\n"), chunk.find(b"\r")) if i >= 0]
        if not breaks:
            at += len(chunk)
            continue
        i = at + min(breaks)
        if chunk[min(breaks) : min(breaks) + 1] == b"\r" and f.read_at(1, i + 1) == b"\n":
            return i + 2
        return i + 1
    return size


def line_records(lines: Sequence[str], source: str) -> Iterator[dict[str, Any]]:
    """The objects of JSON lines, blank lines skipped; ArrowFallback at any other line."""
    scan = _scanner()
    for number, line in enumerate(lines, 1):
        try:
            record, end = scan(line, 0)
        except (StopIteration, ValueError):
            record, end = _parse_line(line, number, source)
            if record is None:
                continue
        if end != len(line) or type(record) is not dict:
            _check_line(line, end, record, number, source)
        yield record


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)


def _scanner() -> Callable[[str, int], tuple[Any, int]]:
    """Python's JSON scanner, without decode()'s regex for spaces around the value: a line that
    starts with one, or fails, takes :func:`_parse_line` for its exact error."""
    return json.scanner.make_scanner(_DECODER)  # type: ignore[no-any-return,attr-defined]


def _parse_line(line: str, number: int, source: str) -> tuple[Any, int]:
    """(record, its end) of a line the scanner refused: (None, 0) when blank; ArrowFallback when
    it is no JSON Python's parser reads as Spark's does."""
    if not line.strip(" \t"):
        return None, 0
    try:
        return _DECODER.decode(line), len(line)
    except ValueError as e:
        raise common.ArrowFallback(
            f"{source}: line {number} is not one JSON object as Python's parser and Spark's"
            f" both read it: {str(e)[:120]}"
        ) from e


def _check_line(line: str, end: int, record: Any, number: int, source: str) -> None:
    """ArrowFallback for a value followed by text, or a value that is not an object."""
    if line[end:].strip(" \t"):
        raise common.ArrowFallback(f"{source}: line {number} has text after its JSON value")
    if type(record) is not dict:
        raise common.ArrowFallback(f"{source}: line {number} is a JSON value, not an object")


def head_schema(plan: JsonPlan) -> dict[str, Any]:
    """The schema the heads' whole lines infer: the engine's first guess at the input's."""
    schema: Any = {}
    for path, head in plan.heads.items():
        text = head[:HEAD_BYTES].decode("utf-8-sig", errors="replace")
        lines = _head_lines(text, complete=len(head) <= HEAD_BYTES)
        try:
            for record in line_records(lines, path):
                schema = merge_json_types(schema, json_type(record))
        except common.ArrowFallback:
            continue  # the full read reports it
    return schema


def json_shape(
    columns: JsonColumns, given: tuple[str | None, str | None]
) -> tuple[list[str], Roles, dict[str, Any]]:
    """(column names as written, roles, Arrow type by name) of JSON read into ``columns``;
    ArrowFallback where the Spark engine would merge or rename columns differently."""
    import pyarrow as pa

    names = flat_names(columns.paths)
    variants = [g for g in case_groups(names).values() if len(g) > 1]
    if variants:
        raise common.ArrowFallback(f"keys differing only in case: {variants[0]}")
    own = sorted(c for c in names if c.lower() in OWN_COLUMNS)
    if own:
        raise common.ArrowFallback(f"input columns named like the job's own: {own}")
    roles = roles_of(names, *given)
    fields = [roles.renamed.get(n, n) for n in names]
    types = dict(zip(fields, (arrow_json_type(t) for t in columns.types), strict=True))
    for role in (roles.timestamp, roles.amount, roles.quantity):
        if role is not None and types[role] != pa.string():
            raise common.ArrowFallback(f"the column {role} holds {types[role]}, not text")
    return fields, roles, types


@dataclass(frozen=True)
class JsonJob:
    """What every task of the JSON engine needs, taken in the driver."""

    schema: dict[str, Any]
    floats: dict[float, str]  # Java's spelling of doubles where Python's shortest differs
    given: tuple[str | None, str | None]
    staging: str
    run_id: str
    max_rows: int
    now_micros: int


#: The rows a task returns: (kind, value, text) — ("double", the reprs of the doubles
#: it spelled, their spellings; each one per line), ("reject", its rejected rows as JSON lines,
#: ""), ("done", counts as JSON, ""), ("schema", the whole schema of its files as JSON, "") or
#: ("fallback", why, ""). One row of each kind at most: rows cost more than their bytes.
def json_task(index: int, pieces: Sequence[Piece], job: JsonJob) -> Iterator[tuple]:
    """One task of the JSON engine: its pieces of files → Parquet parts under ``job.staging``;
    yields rows as the comment above says."""
    import pyarrow as pa

    # Parsed records are short-lived but many: the cyclic collector would walk every kept value
    # of a batch again and again, for nothing.
    collecting = gc.isenabled()
    gc.disable()
    clock = time.perf_counter
    started = clock()
    # Where a task's time goes: parsing into columns, Arrow arrays and the checks, the rest
    # (reading the files and writing Parquet).
    seconds = {"parse": 0.0, "check": 0.0}
    floats = dict(job.floats)
    rejects: list[dict[str, object]] = []
    read = 0
    try:
        columns = JsonColumns(job.schema, floats)
        fields, roles, types = json_shape(columns, job.given)

        def batch(n: int, source: str) -> Any:
            nonlocal read
            read += n
            mark = clock()
            arrays = [
                pa.array(c, type=types[f]) for c, f in zip(columns.take(), fields, strict=True)
            ]
            rows = pa.RecordBatch.from_arrays(arrays, names=fields)
            good, bad = arrow_rows(rows, fields, roles, job.now_micros, source)
            rejects.extend(bad)
            seconds["check"] += clock() - mark
            return good

        def batches() -> Iterator[Any]:
            for piece, lines in common.prefetched(pieces, json_piece_lines):
                for first in range(0, len(lines), JSON_BATCH_LINES):
                    mark = clock()
                    chunk = lines[first : first + JSON_BATCH_LINES]
                    where = (
                        piece.source if not piece.start else f"{piece.source} byte {piece.start}+"
                    )
                    count = columns.read(chunk, first + 1, where)
                    seconds["parse"] += clock() - mark
                    if count:
                        yield batch(count, piece.source)

        out_types = {**types, **_role_types(roles)}
        schema = pa.schema([(f, out_types[f]) for f in fields] + [("__folder", pa.string())])
        try:
            written = common.arrow_write_folders(
                schema,
                batches(),
                job.staging,
                f"{index:05d}-{job.run_id}",
                job.max_rows,
                parquet_options(),
            )
        except _Widened:
            whole: Any = job.schema
            for piece in pieces:
                for record in line_records(json_piece_lines(piece), piece.source):
                    whole = merge_json_types(whole, json_type(record))
            yield "schema", json.dumps(whole), ""
            return
    except (common.ArrowFallback, OSError) as e:
        yield "fallback", (str(e).splitlines() or [type(e).__name__])[0][:300], ""
        return
    finally:
        if collecting:
            gc.enable()
    spelled = [(repr(v), text) for v, text in floats.items() if v not in job.floats]
    if spelled:
        yield "double", "\n".join(v for v, _ in spelled), "\n".join(t for _, t in spelled)
    if rejects:
        yield "reject", "\n".join(common.json_line(row) for row in rejects), ""
    seconds["other"] = clock() - started - seconds["parse"] - seconds["check"]
    done = {"read": read, "written": written, "seconds": seconds, **_role_summary(roles)}
    yield "done", json.dumps(done), ""


def arrow_json_convert(
    spark: SparkSession,
    plan: JsonPlan,
    given: tuple[str | None, str | None],
    staging: str,
    run_id: str,
) -> tuple[dict[str, Any], list[str]]:
    """Processes forked from the driver write the good rows of JSON lines files under
    ``staging`` with Arrow; returns the counts (with the columns' roles and how many times the
    input was read) and the rejected rows as JSON lines. Raises ArrowFallback before writing a
    row the Spark engine would read or judge differently."""
    cores = os.cpu_count() or 1
    total = sum(common.text_bytes(f) for f in plan.lines)
    # Large files are split, so that one file does not keep the other cores idle.
    piece_bytes = min(max(total // (4 * cores), PIECE_MIN_BYTES), PIECE_MAX_BYTES)
    pieces: list[Piece] = []
    sizes: list[int] = []
    for f in plan.lines:
        split = file_pieces(f.path, common.spark_file_uri(spark, f.path), f.size, piece_bytes)
        pieces += split
        sizes += [common.text_bytes(f) // len(split)] * len(split)
    shares = common.spread_by_size(sizes, cores)
    head_bytes = sum(len(h) for h in plan.heads.values())
    head_lines = sum(len(common.text_lines(h.decode("latin-1"))) for h in plan.heads.values())
    max_rows = max(1000, int(TARGET_FILE_BYTES / max(1.0, head_bytes / head_lines)))
    job = JsonJob(head_schema(plan), {}, given, staging, run_id, max_rows, time.time_ns() // 1000)
    json_shape(JsonColumns(job.schema, {}), given)  # a fallback found before any task starts
    tasks = [(n, [pieces[i] for i in share]) for n, share in enumerate(shares)]
    for passes in range(1, 4):
        rows = run_json_tasks(tasks, job)
        by_kind: dict[str, list[tuple[str, str, str]]] = {}
        for row in rows:
            by_kind.setdefault(row[0], []).append(row)
        if "fallback" in by_kind:
            raise common.ArrowFallback(by_kind["fallback"][0][1])
        # Doubles were spelled in Python's shortest form; Java's is longer for a few (1e23).
        reprs = [v for r in by_kind.get("double", []) for v in r[1].split("\n")]
        texts = [t for r in by_kind.get("double", []) for t in r[2].split("\n")]
        java = java_doubles(spark, reprs)
        wrong = {float(v): j for v, t, j in zip(reprs, texts, java, strict=True) if t != j}
        if "schema" in by_kind or wrong:
            # Read again: under the whole input's schema (a type the heads lacked), or with
            # Java's spelling of the doubles Python spells otherwise.
            schema: Any = job.schema
            for r in by_kind.get("schema", []):
                schema = merge_json_types(schema, json.loads(r[1]))
            job = replace(job, schema=schema, floats={**job.floats, **wrong})
            common.delete_path(spark, staging)
            continue
        done = [json.loads(r[1]) for r in by_kind["done"]]
        seconds = [d.pop("seconds") for d in done]
        counts = {
            **done[0],
            "read": sum(d["read"] for d in done),
            "written": sum(d["written"] for d in done),
            "tasks": len(done),
            "passes": passes,
            "task_seconds": {k: round(sum(t[k] for t in seconds), 1) for k in seconds[0]},
        }
        return counts, [line for r in by_kind.get("reject", []) for line in r[1].split("\n")]
    raise RuntimeError("the JSON schema or the spelling of its numbers did not settle")


def run_json_tasks(tasks: Sequence[tuple[int, list[Piece]]], job: JsonJob) -> list[tuple]:
    """The rows of every task, run in processes forked from the driver, one per core.

    Not Spark tasks: a session's first Python job costs seconds before its first row, more
    than the whole parse of a typical run, and forked processes share the loaded modules."""
    if len(tasks) == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [row for index, files in tasks for row in json_task(index, files, job)]
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(len(tasks), mp_context=context) as pool:
            done = pool.map(_json_task_rows, tasks, [job] * len(tasks))
            return [row for rows in done for row in rows]
    except BrokenProcessPool as e:  # a process killed (out of memory): Spark's engine spills
        raise common.ArrowFallback(f"a process of the JSON engine died: {e}") from e


def _json_task_rows(task: tuple[int, list[Piece]], job: JsonJob) -> list[tuple]:
    import pyarrow as pa

    common.forget_s3_clients()  # the AWS SDK does not survive a fork
    pa.set_cpu_count(1)  # a process per core already: Arrow's own threads would only contend
    return list(json_task(task[0], task[1], job))


def _ship_module(spark: SparkSession) -> None:
    if __name__ != "__main__":
        # Imported (a test, a benchmark): workers unpickle this module's functions by name.
        spark.sparkContext.addPyFile(os.path.abspath(__file__))


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


def read_raw(
    spark: SparkSession,
    files: Sequence[common.InputFile],
    fmt: str,
    plan: common.CsvPlan | JsonPlan | None = None,
) -> DataFrame | None:
    """All input rows as flat string columns with ``_corrupt_record`` and ``_source_file``; None
    when the input holds no rows. ``plan``: the files' heads, when already read."""
    if fmt == "csv":
        csv = plan if isinstance(plan, common.CsvPlan) else common.plan_csv(spark, files)
        if not csv.groups:
            return None
        return common.union_all(
            common.read_csv(spark, cols, paths, csv.line_seps) for cols, paths in csv.groups.items()
        )
    layouts = plan if isinstance(plan, JsonPlan) else plan_json(spark, files)
    lines = [f.path for f in layouts.lines]
    documents = [f.path for f in layouts.documents]
    frames = [read_json_lines(spark, lines)] if lines else []
    if documents:
        _ship_module(spark)
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
    engine: str = "auto",
) -> dict[str, object]:
    """Cleans the input into Parquet by date and the rejected rows; returns counts.

    ``engine``: ``auto`` (Arrow on the driver for CSV and JSON lines inputs up to
    :data:`ARROW_MAX_INPUT_BYTES`, else Spark), ``arrow`` (Arrow whatever the size) or ``spark``.
    Both write the same rows, folders and rejects; Arrow hands any input it would read
    differently to Spark.
    """
    with session_settings(spark):
        return _convert(
            spark,
            input_path,
            output_path,
            rejected_path or common.default_rejected_path(output_path),
            input_format,
            (timestamp_column, amount_column),
            engine,
        )


def _convert(
    spark: SparkSession,
    input_path: str,
    output_path: str,
    rejected_path: str,
    input_format: str | None,
    given: tuple[str | None, str | None],
    engine: str,
) -> dict[str, object]:
    started = time.monotonic()
    # What a killed earlier run left half-published is put right before anything is read.
    recovered = common.recover(spark, output_path)
    files = common.list_input(spark, input_path)
    fmt = detect_format(files, input_format)
    plan = common.plan_csv(spark, files) if fmt == "csv" else None
    chosen, why_not_arrow = choose_engine(
        engine, fmt, files, [output_path, rejected_path, *(f.path for f in files)], spark
    )
    json_plan = plan_json(spark, files) if fmt == "json" else None
    counts: dict[str, object] = {"read": 0, "written": 0, "rejected": 0, "files": len(files)}
    run_id = common.new_run_id()
    staging = common.staging_path(output_path, run_id)
    stages = {"plan": round(time.monotonic() - started, 1)}
    tally: dict[str, Any] | None = None
    if chosen == "arrow" and json_plan is not None and json_plan.documents:
        chosen, why_not_arrow = "spark", "JSON documents (not one object per line) take Spark"
    if chosen == "arrow" and ((plan and plan.groups) or (json_plan and json_plan.lines)):
        mark = time.monotonic()
        try:
            tally = _arrow_run(spark, plan or json_plan, given, staging, rejected_path, run_id)
        except (common.ArrowFallback, OSError) as e:
            # OSError: Arrow's own S3 client could not read or write where Spark's may.
            why_not_arrow, chosen = str(e).splitlines()[0][:300], "spark"
            common.delete_path(spark, staging)
            run_id = common.new_run_id()
            staging = common.staging_path(output_path, run_id)
        stages["write"] = round(time.monotonic() - mark, 1)
    if tally is None:
        chosen = "spark"
        raw = read_raw(spark, files, fmt, plan or json_plan)
        if raw is None:
            common.delete_path(spark, rejected_path)
            return {
                **counts,
                "format": fmt,
                "engine": chosen,
                "seconds": round(time.monotonic() - started, 1),
            }
        tally = spark_convert(spark, raw, given, staging, rejected_path, stages)
    mark = time.monotonic()
    dates = common.publish_partitions(spark, staging, output_path)
    stages["publish"] = round(time.monotonic() - mark, 1)
    return {
        **counts,
        **tally,
        "dates": len(dates),
        "recovered": len(recovered["restored"]) + len(recovered["removed"]),
        "format": fmt,
        "engine": chosen,
        **({"engine_note": why_not_arrow} if why_not_arrow and engine != "spark" else {}),
        "output": output_path,
        "rejected_path": rejected_path,
        "stage_seconds": stages,
        "seconds": round(time.monotonic() - started, 1),
    }


def _arrow_run(
    spark: SparkSession,
    plan: common.CsvPlan | JsonPlan,
    given: tuple[str | None, str | None],
    staging: str,
    rejected_path: str,
    run_id: str,
) -> dict[str, Any]:
    """The Arrow engine's run: the good rows staged, the rejects published."""
    if isinstance(plan, JsonPlan):
        tally, lines = arrow_json_convert(spark, plan, given, staging, run_id)
        tally["rejected"] = common.publish_reject_lines(spark, lines, rejected_path, run_id)
        return tally
    data_columns, merged = csv_names(list(plan.groups))
    roles = roles_of(data_columns, *given)
    own = sorted(c for c in merged if c.lower() in OWN_COLUMNS)
    if own:
        raise common.ArrowFallback(f"input columns named like the job's own: {own}")
    tally, rejects = arrow_convert(spark, plan, roles, merged, staging, run_id)
    tally["rejected"] = common.publish_rejects(spark, rejects, rejected_path, run_id)
    return {**tally, **_role_summary(roles)}


def _role_summary(roles: Roles) -> dict[str, Any]:
    return {
        "timestamp_column": roles.timestamp,
        "amount_column": roles.amount,
        "quantity_column": roles.quantity,
    }


def spark_convert(
    spark: SparkSession,
    raw: DataFrame,
    given: tuple[str | None, str | None],
    staging: str,
    rejected_path: str,
    stages: dict[str, float],
) -> dict[str, Any]:
    """The Spark engine: writes the good rows under ``staging`` and the rejects."""
    flat = merge_case_variants(raw)
    roles = roles_of(
        [c for c in flat.columns if c not in (common.CORRUPT, common.SOURCE_FILE, CASE_CONFLICT)],
        *given,
    )
    for old, new in roles.renamed.items():
        flat = flat.withColumnRenamed(old, new)
    ts_col, amount_col, quantity_col = roles.timestamp, roles.amount, roles.quantity
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
    mark = time.monotonic()
    (
        tally.good.write.mode("overwrite")
        .option("compression", "snappy")
        .partitionBy(PARTITION)
        .parquet(staging)
    )
    stages["write"], mark = round(time.monotonic() - mark, 1), time.monotonic()
    finished = tally.finish(spark, as_rejected(rows.where(common.is_rejected())), rejected_path)
    stages["rejects"] = round(time.monotonic() - mark, 1)
    rows.unpersist()
    return {**finished, **_role_summary(roles)}


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
        engine=str(args.get("ENGINE") or "auto").strip().lower(),
    )
    common.emit_summary(JOB, counts)
    run.commit()


if __name__ == "__main__":
    common.run_main(main)
