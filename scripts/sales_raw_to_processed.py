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
Two engines write the same output (see ``convert``): Arrow in the driver for CSV inputs one machine
cleans quickly, Spark for JSON and larger inputs, or whatever Arrow would judge differently.
Only the dates present in the run are replaced, each swapped in whole from a hidden staging folder
(``glue_etl_common.publish_partitions``), so readers never see a date half-written and a retried
run never duplicates rows; what a killed run left behind is repaired first (``recover``).
"""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
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
    too_fine = where(TS_FRACTION_TOO_FINE)
    iso_gate = where(r"^\d{4}-\d{2}-\d{2}") & ~too_fine
    iso = where(_ISO) & iso_gate
    take(_ISO, iso, _civil_micros)
    take(_SLASH, where(_SLASH), _civil_micros)
    unknown = iso_gate & ~iso
    return pa.array(micros, pa.int64(), mask=~known), unknown


def _prefixed(pc: Any, prefix: str, text: Any) -> Any:
    return pc.binary_join_element_wise(prefix, text, "")


def _first_reason(pa: Any, pc: Any, n: int, cases: Sequence[tuple[Any, Any]]) -> Any:
    """The first case's reason whose condition holds (null when none): ``cases`` are (condition,
    reason) pairs of Arrow arrays, conditions null-free."""
    reason = pa.nulls(n, pa.string())
    for condition, text in reversed(cases):
        reason = pc.if_else(condition, text, reason)
    return reason


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
            out = {k: v for k, v in row.items() if v is not None and k != common.REJECT_REASON}
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
    types = {roles.timestamp: pa.timestamp("us", tz="UTC")}
    if roles.amount:
        types[roles.amount] = pa.decimal128(AMOUNT_PRECISION, AMOUNT_SCALE)
    if roles.quantity:
        types[roles.quantity] = pa.int32()
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


def choose_engine(
    requested: str,
    fmt: str,
    files: Sequence[common.InputFile],
    paths: Sequence[str],
    spark: SparkSession,
) -> tuple[str, str | None]:
    """(engine, why not Arrow) for ``--ENGINE`` ``requested`` (see common.choose_arrow_engine):
    Arrow takes CSV in a UTC session only."""
    chosen, why = common.choose_arrow_engine(
        requested, files, paths, ARROW_MAX_INPUT_BYTES, numpy=True
    )
    if chosen != "arrow":
        return chosen, why
    if fmt != "csv":
        return "spark", "the Arrow engine reads CSV; JSON input takes Spark"
    zone = spark.conf.get("spark.sql.session.timeZone", "UTC") or "UTC"
    if zone not in UTC_ZONES:
        return "spark", f"the session time zone is {zone}; the Arrow engine reads times in UTC"
    return "arrow", None


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
    plan: common.CsvPlan | None = None,
) -> DataFrame | None:
    """All input rows as flat string columns with ``_corrupt_record`` and ``_source_file``; None
    when the input holds no rows. ``plan``: the CSV files' heads, when already read."""
    if fmt == "csv":
        plan = plan or common.plan_csv(spark, files)
        if not plan.groups:
            return None
        return common.union_all(
            common.read_csv(spark, cols, paths, plan.line_seps)
            for cols, paths in plan.groups.items()
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
    engine: str = "auto",
) -> dict[str, object]:
    """Cleans the input into Parquet by date and the rejected rows; returns counts.

    ``engine``: ``auto`` (Arrow in the driver for CSV inputs up to :data:`ARROW_MAX_INPUT_BYTES`,
    else Spark), ``arrow`` (Arrow for CSV whatever the size) or ``spark``. Both write the same
    rows, folders and rejects; Arrow hands any input it would read differently to Spark.
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
    counts: dict[str, object] = {"read": 0, "written": 0, "rejected": 0, "files": len(files)}
    run_id = common.new_run_id()
    staging = common.staging_path(output_path, run_id)
    stages = {"plan": round(time.monotonic() - started, 1)}
    tally: dict[str, Any] | None = None
    if chosen == "arrow" and plan is not None and plan.groups:
        mark = time.monotonic()
        try:
            tally = _arrow_run(spark, plan, given, staging, rejected_path, run_id)
        except (common.ArrowFallback, OSError) as e:
            # OSError: Arrow's own S3 client could not read or write where Spark's may.
            why_not_arrow, chosen = str(e).splitlines()[0][:300], "spark"
            common.delete_path(spark, staging)
            run_id = common.new_run_id()
            staging = common.staging_path(output_path, run_id)
        stages["write"] = round(time.monotonic() - mark, 1)
    if tally is None:
        chosen = "spark"
        raw = read_raw(spark, files, fmt, plan)
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
    plan: common.CsvPlan,
    given: tuple[str | None, str | None],
    staging: str,
    rejected_path: str,
    run_id: str,
) -> dict[str, Any]:
    """The Arrow engine's run: the good rows staged, the rejects published."""
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
