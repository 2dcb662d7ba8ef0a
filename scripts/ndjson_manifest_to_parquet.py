"""The NDJSON files a manifest lists → one batch of Snappy Parquet under merged-parquet-{date}/.

Glue:  --MANIFEST_PATH s3://bucket/manifests/2026-11-21/manifest.json --OUTPUT_PATH s3://bucket/processed/
Local: python scripts/ndjson_manifest_to_parquet.py --MANIFEST_PATH m.json --OUTPUT_PATH out/

Manifest: ``{"fileLocations": [{"URIPrefixes": ["s3://…/a.ndjson", …]}]}`` (``URIs`` works too;
a prefix may name a folder or a glob). The files are read once, with no schema-inference pass: the
columns come from ``--COLUMNS`` or from a sample of the files' first lines. Every value is kept
as its exact JSON text (``1.10`` stays ``1.10``, ``1e400`` stays ``1e400``, a nested object keeps
its text as written); strings are kept decoded. Types that differ between files therefore never
conflict. Keys the sample missed are kept, as a JSON object of texts, in ``_extra_fields``.

Every non-blank line lands exactly once: as a row, or in the rejected path with its text, its
source file and a ``_reject_reason`` (not UTF-8, not JSON, not an object, a repeated key, an
unpaired surrogate escape). Blank lines hold no record and are counted apart.

One batch per manifest: a batch is written to ``merged-parquet-{date}/batch={id}/``, where
``{id}`` comes from the manifest's path, so two manifests of the same date both keep their rows,
and rerunning a manifest replaces its own batch (never a second copy). The day's folder stays the
table's partition (Athena reads the batch folders below it; Spark sees ``batch`` as a partition
column). Each batch folder holds ``_manifest.json`` naming the manifest that wrote it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import json.decoder
import json.scanner
import math
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Any

import glue_etl_common as common
from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

JOB = "ndjson_manifest_to_parquet"
TARGET_FILE_MB = 128
EXTRA = "_extra_fields"
PROCESSING_TS = "_processing_timestamp"
RAW_BASE64 = "_raw_line_base64"
PARSED = "_parsed"
FAST = "_fast"
EXACT = "_exact"
DEFERRED = "_deferred"
# What only a rejected row carries: dropped from every Parquet write.
REJECT_ONLY = (common.RAW_LINE, RAW_BASE64, common.REJECT_REASON)
MARKER = "_manifest.json"
# The head of every file of a typical batch (200 files: 13 MB of reads), so a key that only some
# files carry still becomes a column; beyond that, files spread over the batch.
SAMPLE_FILES = 256
SAMPLE_BYTES_PER_FILE = 64 * 1024
SIZING_ROWS = 20_000
MIN_FILE_MB = 32
# Lines longer than this skip the JVM checks (regular expressions over one huge line) and are
# split by the exact parser instead.
FAST_MAX_CHARS = 100_000
# JSON's whitespace, and the byte-order mark Spark's text reader leaves on a file's first line.
BLANK = " \t\r\n\ufeff"
# Up to this share of sampled files with a line for the Python splitter, the main pass runs in
# the JVM alone and only the files holding such lines are read again; above it, one pass sends
# every row through the Python worker (cheaper than reading most files twice).
PYTHON_ROUTE_MAX_FILE_SHARE = 0.125
ROUTE_LINES_PER_FILE = 100
DATE_IN_NAME = re.compile(r"(?<!\d)(20\d{2}|19\d{2})[-_/.]?(\d{2})[-_/.]?(\d{2})(?!\d)")
# Spark's parser accepts single quotes by default and caps strings at 20M characters and
# numbers at 1,000 digits; JSON has no such limits.
JSON_OPTIONS = {
    "allowSingleQuotes": "false",
    "maxStringLen": str(2**31 - 1),
    "maxNumLen": str(2**31 - 1),
}

# --------------------------------------------------------------------------------------------
# Manifest and batch identity
# --------------------------------------------------------------------------------------------


def manifest_uris(text: str, manifest_path: str) -> list[str]:
    """The URIs a manifest lists, relative ones resolved against the manifest's folder."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise common.JobInputError(f"manifest {manifest_path} is not valid JSON: {e}") from e
    locations = doc.get("fileLocations") if isinstance(doc, dict) else None
    if not isinstance(locations, list):
        raise common.JobInputError(
            f'manifest {manifest_path} has no "fileLocations" list; expected '
            '{"fileLocations": [{"URIPrefixes": ["s3://…"]}]}'
        )
    uris: list[str] = []
    for i, loc in enumerate(locations):
        entries = [
            *(loc.get("URIPrefixes") or [] if isinstance(loc, dict) else []),
            *(loc.get("URIs") or [] if isinstance(loc, dict) else []),
        ]
        bad = [e for e in entries if not isinstance(e, str) or not e.strip()]
        if not isinstance(loc, dict) or bad:
            raise common.JobInputError(
                f"manifest {manifest_path}: fileLocations[{i}] must be an object whose "
                f"URIPrefixes/URIs are non-empty strings, got {json.dumps(loc)[:200]}"
            )
        uris += [resolve(e.strip(), manifest_path) for e in entries]
    if not uris:
        raise common.JobInputError(f"manifest {manifest_path} lists no files")
    return list(dict.fromkeys(uris))


def resolve(uri: str, manifest_path: str) -> str:
    if "://" in uri or uri.startswith("/"):
        return uri
    return manifest_path.rsplit("/", 1)[0] + "/" + uri if "/" in manifest_path else uri


def batch_id(manifest_path: str) -> str:
    """A folder name that stays the same for one manifest and differs between manifests.

    Readable part: the manifest's file name (or its folder's, for the usual ``manifest.json``);
    a hash of the whole path keeps two manifests with the same name apart.
    """
    path = manifest_path.rstrip("/")
    parts = [p for p in re.split(r"[/:]+", path) if p]
    stem = re.sub(r"\.json$", "", parts[-1] if parts else "manifest", flags=re.IGNORECASE)
    if stem.lower() == "manifest" and len(parts) > 1:
        stem = parts[-2]
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-_")[:48] or "manifest"
    digest = hashlib.sha256(path.encode()).hexdigest()[:10]
    return f"{readable}-{digest}"


def batch_date(paths: Iterable[str], fallback: str | None = None) -> tuple[str, list[str]]:
    """The batch date from the file names (the latest if they differ), else from ``fallback``.

    Returns the date and every distinct date seen, so a mixed batch shows in the summary.
    """
    seen: set[str] = set()
    for path in paths:
        found = date_in(path.rsplit("/", 1)[-1]) or date_in(path)
        if found:
            seen.add(found)
    if not seen and fallback:
        found = date_in(fallback)
        if found:
            seen.add(found)
    if not seen:
        raise common.JobInputError(
            "no date (YYYY-MM-DD, YYYY_MM_DD or YYYYMMDD) in the listed file names or the "
            "manifest path, so merged-parquet-{date}/ cannot be named"
        )
    dates = sorted(seen)
    return dates[-1], dates


def date_in(text: str) -> str | None:
    for m in DATE_IN_NAME.finditer(text):
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        except ValueError:
            continue
    return None


def not_text(head: bytes) -> str | None:
    """Why the first bytes of a file show it is not UTF-8 text, or None."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "it is UTF-16 text (starts with a UTF-16 byte-order mark); save it as UTF-8"
    if b"\x00" in head:
        return (
            "it holds NUL bytes, so it is binary or UTF-16/32 text, not NDJSON; "
            "save it as UTF-8 text (gzip is fine with a .gz name)"
        )
    return None


# --------------------------------------------------------------------------------------------
# Columns
# --------------------------------------------------------------------------------------------


def sample_keys(lines: Iterable[str]) -> list[str]:
    """Top-level keys in order of first appearance among the lines that are JSON objects."""
    keys: dict[str, None] = {}
    for line in lines:
        try:
            fields = split_object(line.lstrip("\ufeff"))
        except ValueError:
            continue
        keys.update(dict.fromkeys(k for k, _ in fields))
    return list(keys)


def output_names(keys: Sequence[str]) -> dict[str, str]:
    """JSON key → column name, unique without regard to case (Spark and Athena ignore case)."""
    taken = {EXTRA.lower(), PROCESSING_TS.lower(), common.SOURCE_FILE.lower()}
    names: dict[str, str] = {}
    for key in keys:
        base = key.strip() or "_blank"
        name, n = base, 2
        while name.lower() in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name.lower())
        names[key] = name
    return names


# --------------------------------------------------------------------------------------------
# Exact splitting of one line (pure Python; the reference for what a value's text is)
# --------------------------------------------------------------------------------------------


class _ValueScanner:
    """Python's C scanner for one JSON value, built where it runs: it cannot be pickled to
    Spark's Python workers. parse_int/parse_float as str: numbers are only skipped over, never
    converted (so no digit limit)."""

    def __init__(self) -> None:
        self._scan: Any = None

    def get(self) -> Any:
        if self._scan is None:
            self._scan = json.scanner.c_make_scanner(  # type: ignore[attr-defined]
                json.JSONDecoder(parse_int=str, parse_float=str)
            )
        return self._scan

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return (_ValueScanner, ())


_scanner = _ValueScanner()
_scan_string = json.decoder.scanstring
_space = re.compile(r"[ \t\r\n]*").match
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class RecordError(ValueError):
    """A line that holds no usable record; the message is the reject reason."""


def split_object(line: str) -> list[tuple[str, str | None]]:
    """A line holding one JSON object → its (key, value text) pairs in order.

    String values are decoded; any other value is its exact text from the line (numbers as
    written, nested objects and arrays as written); ``null`` is None. Raises RecordError.
    """
    scan = _scanner.get()
    end = len(line)
    i = _space(line).end()
    if i == end:
        raise RecordError("blank line")
    if line[i] != "{":
        raise RecordError(_not_object(line, i))
    i = _space(line, i + 1).end()
    fields: list[tuple[str, str | None]] = []
    seen: set[str] = set()
    if line.startswith("}", i):
        i += 1
    else:
        while True:
            if not line.startswith('"', i):
                raise RecordError(_syntax("a quoted key", line, i))
            key, i = _string(line, i)
            if key in seen:
                raise RecordError(f"repeated key {json.dumps(key)}: its value is ambiguous")
            seen.add(key)
            i = _space(line, i).end()
            if not line.startswith(":", i):
                raise RecordError(_syntax("':'", line, i))
            i = _space(line, i + 1).end()
            value: str | None
            if line.startswith('"', i):
                value, i = _string(line, i)
            else:
                try:
                    _, stop = scan(line, i)
                except StopIteration:
                    raise RecordError(_syntax("a value", line, i)) from None
                except json.JSONDecodeError as e:
                    raise RecordError(f"not valid JSON: {e.msg} at character {e.pos}") from None
                except RecursionError:
                    raise RecordError("nested too deeply to split (about 900 levels)") from None
                value = None if line[i:stop] == "null" else line[i:stop]
                i = stop
            fields.append((key, value))
            i = _space(line, i).end()
            if line.startswith(",", i):
                i = _space(line, i + 1).end()
                continue
            if line.startswith("}", i):
                i += 1
                break
            raise RecordError(_syntax("',' or '}'", line, i))
    if _space(line, i).end() != end:
        raise RecordError(f"not valid JSON: text after the object at character {i}")
    return fields


def _string(line: str, i: int) -> tuple[str, int]:
    try:
        text, stop = _scan_string(line, i + 1, True)
    except json.JSONDecodeError as e:
        raise RecordError(f"not valid JSON: {e.msg} at character {e.pos}") from None
    bad = _SURROGATE.search(text)
    if bad:
        raise RecordError(
            f"string at character {i} holds an unpaired surrogate escape "
            f"\\u{ord(bad.group()):04x}, which no UTF-8 text can hold"
        )
    return text, stop


def _syntax(expected: str, line: str, i: int) -> str:
    if i >= len(line):
        return f"not valid JSON: the line ends where {expected} was expected (truncated?)"
    return f"not valid JSON: expected {expected} at character {i}, found {line[i]!r}"


def _not_object(line: str, i: int) -> str:
    try:
        value, stop = _scanner.get()(line, i)
    except (StopIteration, ValueError, RecursionError):
        return _syntax("'{'", line, i)
    if _space(line, stop).end() != len(line):
        return f"not valid JSON: text after the value at character {stop}"
    kind = {list: "an array", str: "a string or number", bool: "true/false"}.get(
        type(value), "null" if value is None else "a number"
    )
    return f"not a JSON object: the line holds {kind}"


def exact_entries(raw: bytes | None) -> tuple[str | None, str | None]:
    """One line's bytes → (a JSON object of key → value text, None) or (None, reject reason).

    The object's values are all JSON strings (or null), so Spark's own parser reads them back
    unchanged.
    """
    if raw is None:
        return None, None
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, f"not UTF-8 text: byte 0x{raw[e.start]:02x} at byte {e.start}"
    try:
        fields = split_object(line[1:] if line.startswith("\ufeff") else line)
    except RecordError as e:
        return None, str(e)
    return json.dumps(dict(fields), ensure_ascii=False), None


# --------------------------------------------------------------------------------------------
# Pure transforms
# --------------------------------------------------------------------------------------------


_SHAPE_WS = "__shape_ws"
_SHAPE = "__shape"
_FLAT = "__flat"


def with_fast_path(df: DataFrame, value: str, parsed: str, out: str) -> DataFrame:
    """Adds ``out``: true when Spark's own parse of the line (``parsed``, key → text) is exact.

    Spark renders numbers through a double (``1.10`` → ``1.1``), drops the sign of ``-0``,
    re-writes nested values compactly, keeps the last of repeated keys, ignores text after
    the object and reads invalid UTF-8 and unpaired surrogates as replacement characters. A
    line is taken from Spark's parse only when none of that can apply: valid UTF-8, no
    surrogate escape, one object whose values are flat or hold one level of compactly written
    nesting, as many keys as the parse holds, and only numbers that a double writes back
    exactly. Anything else goes to :func:`exact_entries`.

    The intermediate texts are columns of their own, one projection per step: as one nested
    expression each regular expression ran again for every later check that used its result
    (Spark shares no work between the operands of ``AND``), several times per line.
    """
    line = F.col(value)
    # Most lines hold no backslash: the checks about escapes are skipped for them, and a plain
    # search for a character replaces a regular expression where one character decides.
    escaped = line.contains("\\")

    def holds_any(text: Column, chars: str) -> Column:
        return reduce(lambda a, b: a | b, [text.contains(c) for c in chars])

    # The line with every string reduced to '"': what is left is structure and bare tokens.
    shape_ws, shape, flat = F.col(_SHAPE_WS), F.col(_SHAPE), F.col(_FLAT)
    inner = shape.substr(F.lit(2), F.length(shape) - 2)
    keys = (F.length(flat) - F.length(F.replace(flat, F.lit('":'), F.lit("")))) / 2
    nested = holds_any(inner, "{[")
    tokens = F.regexp_extract_all(shape, F.lit(r'[^{}\[\]:,"]+'), 0)
    number = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
    exact_token = F.forall(
        tokens,
        lambda t: (
            t.isin("true", "false", "null")
            | t.rlike(r"^(0|-?[1-9][0-9]*)$")
            | (t.rlike(number) & (t.cast("double").cast("string") == t))
        ),
    )
    fast = (
        F.col(parsed).isNotNull()
        & (F.length(line) <= FAST_MAX_CHARS)
        & (F.decode(line.cast("binary"), "UTF-8") == line)
        & ~(escaped & line.rlike(r"(?i)\\ud[89a-f]"))
        & shape.startswith("{")
        & shape.endswith("}")
        # One object with at most one level of nesting: once its flat groups are removed, no
        # bracket is left (a repeated-group pattern would recurse per group in Java's regex).
        & ~holds_any(flat, "{}[]")
        & (keys == F.size(F.array_distinct(F.map_keys(F.col(parsed)))))
        & exact_token
        & (
            ~nested
            | (
                ~shape_ws.rlike(r"[{\[][^{}\[\]]*[ \t\r\n][^{}\[\]]*[}\]]")
                & ~(escaped & line.rlike(r'\\[^"\\nrt]'))
            )
        )
    )
    return (
        df.withColumn(
            _SHAPE_WS,
            F.regexp_replace(
                F.when(escaped, F.regexp_replace(line, r"\\.", "")).otherwise(line),
                r'"[^"]*"',
                '"',
            ),
        )
        .withColumn(_SHAPE, F.regexp_replace(shape_ws, r"[ \t\r\n]+", ""))
        .withColumn(_FLAT, F.regexp_replace(inner, r"[{\[][^{}\[\]]*[}\]]", ""))
        .withColumn(out, fast)
        .drop(_SHAPE_WS, _SHAPE, _FLAT)
    )


_EXACT_SCHEMA = T.StructType(
    [T.StructField("entries", T.StringType()), T.StructField("reason", T.StringType())]
)


def _exact_udf() -> object:
    return F.udf(lambda raw: exact_entries(raw), _EXACT_SCHEMA)


def is_blank(line: Column) -> Column:
    """True for a line of JSON whitespace and byte-order marks only: such a line holds no record.

    A trim by character set, not a regular expression: ``^[…]*$`` also matches a line that
    ends in U+2028, U+2029 or U+0085 (Java's ``$`` matches before a final line terminator),
    which are not JSON whitespace, so such lines were skipped instead of rejected.
    """
    return F.call_function("btrim", line, F.lit(BLANK)) == ""


def parse_lines(
    lines: DataFrame,
    keys: Sequence[str],
    processing_timestamp: str,
    route: str = "all",
    keep: Sequence[str] = (),
) -> DataFrame:
    """``value`` (a line) and ``_source_file`` → one string column per key, ``_extra_fields``,
    ``_source_file``, ``_processing_timestamp``, and for rejects ``_raw_line``,
    ``_raw_line_base64`` (lines that are not UTF-8) and ``_reject_reason``.

    Spark's JSON parser splits the common line; lines where its text would not be exact (see
    :func:`with_fast_path`) are split in Python. ``route`` says which lines go where:

    - ``all``: every line, in one plan; the Python worker still receives every row (with a null
      argument for the fast ones), which costs about as much as the JSON parse itself;
    - ``fast``: no Python at all; lines that need the Python splitter come out with every field
      null and ``_deferred`` true, for a later ``slow`` pass over the files that hold them;
    - ``slow``: only the lines that need the Python splitter, split there.

    A line is fast or not by its text alone, so ``fast`` and ``slow`` over the same files hold
    every line exactly once between them. Columns named in ``keep`` are carried through.
    """
    if route not in ("all", "fast", "slow"):
        raise ValueError(f"route must be all, fast or slow, got {route!r}")
    names = output_names(keys)
    known = F.array(*[F.lit(k) for k in keys]) if keys else F.array().cast("array<string>")
    value = F.col("value")
    checked = (
        lines.where(~is_blank(value))
        .withColumn(PARSED, F.from_json(value, "map<string,string>", JSON_OPTIONS))
        .transform(lambda df: with_fast_path(df, "value", PARSED, FAST))
        # Never null, so the fast and slow routes are exact complements.
        .withColumn(FAST, F.coalesce(F.col(FAST), F.lit(False)))
    )
    if route == "slow":
        checked = checked.where(~F.col(FAST))
    if route == "fast":
        fields = F.when(F.col(FAST), F.col(PARSED))
        reason = F.lit(None).cast("string")
    else:
        checked = checked.withColumn(
            EXACT,
            _exact_udf()(F.when(~F.col(FAST), value.cast("binary"))),  # type: ignore[operator]
        )
        fields = F.when(F.col(FAST), F.col(PARSED)).otherwise(
            F.from_json(F.col(EXACT).entries, "map<string,string>", JSON_OPTIONS)
        )
        reason = F.when(~F.col(FAST), F.col(EXACT).reason)
    extra = F.map_filter(F.col("_fields"), lambda k, _v: ~F.array_contains(known, k))
    # map_filter runs interpreted, row by row: only for the few rows holding a key outside the
    # columns, found first by a compiled set difference of the keys.
    has_extra = F.size(F.array_except(F.map_keys(F.col("_fields")), known)) > 0
    valid_utf8 = F.decode(value.cast("binary"), "UTF-8") == value
    deferred = [(~F.col(FAST)).alias(DEFERRED)] if route == "fast" else []
    return checked.select(
        "value",
        common.SOURCE_FILE,
        FAST,
        fields.alias("_fields"),
        reason.alias(common.REJECT_REASON),
        *keep,
    ).select(
        *[F.col("_fields").getItem(k).alias(names[k]) for k in keys],
        F.when(has_extra, F.to_json(extra)).alias(EXTRA),
        F.col(common.SOURCE_FILE),
        F.lit(processing_timestamp).alias(PROCESSING_TS),
        F.when(common.is_rejected(), F.decode(value.cast("binary"), "UTF-8")).alias(
            common.RAW_LINE
        ),
        F.when(common.is_rejected() & ~valid_utf8, F.base64(value.cast("binary"))).alias(
            RAW_BASE64
        ),
        F.col(common.REJECT_REASON),
        *deferred,
        *keep,
    )


def plan_files(
    input_bytes: int, bytes_per_line: float, parquet_bytes_per_row: float, target_bytes: int
) -> tuple[int, int | None]:
    """How many output files, and the most rows one may hold, for files of about the target.

    The row count is estimated from the input size and the sampled line length; the cap keeps
    a file near the target even when the estimate is low.
    """
    if bytes_per_line <= 0 or parquet_bytes_per_row <= 0:
        return 1, None
    rows = input_bytes / bytes_per_line
    files = max(1, math.ceil(rows * parquet_bytes_per_row / target_bytes))
    return files, max(1, int(1.1 * target_bytes / parquet_bytes_per_row))


# --------------------------------------------------------------------------------------------
# I/O
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    files: list[common.InputFile]
    date: str
    dates: list[str]


def locate(spark: SparkSession, manifest_path: str) -> Batch:
    """Reads the manifest and checks every listed location; all missing ones are named at once."""
    try:
        text = common.read_text(spark, manifest_path)
    except UnicodeDecodeError as e:
        raise common.JobInputError(
            f"manifest {manifest_path} is not UTF-8 text (byte 0x{e.object[e.start]:02x} at "
            f"byte {e.start}); write it as UTF-8 JSON"
        ) from e
    uris = manifest_uris(text, manifest_path)
    listed = common.map_in_threads(lambda u: list_location(spark, u), uris)
    missing = [u for u, files in zip(uris, listed, strict=True) if not files]
    if missing:
        shown = ", ".join(missing[:20]) + (
            f" and {len(missing) - 20} more" if len(missing) > 20 else ""
        )
        raise common.JobInputError(
            f"manifest {manifest_path} lists {len(missing)} of {len(uris)} location(s) "
            f"that do not exist or hold no files: {shown}"
        )
    files = list({f.path: f for group in listed for f in group}.values())
    date, dates = batch_date([f.path for f in files], fallback=manifest_path)
    return Batch(files, date, dates)


def list_location(spark: SparkSession, uri: str) -> list[common.InputFile]:
    """A file, a folder or a glob; failing those, a key prefix as S3 manifests mean it."""
    files = common.list_files(spark, uri)
    if not files and not uri.endswith("/") and not any(c in uri for c in "*?[{"):
        files = common.list_files(spark, uri + "*")
    return files


def read_heads(spark: SparkSession, files: Sequence[common.InputFile]) -> list[bytes]:
    """The first bytes of every file (decompressed); files that are not text stop the run."""

    def head(f: common.InputFile) -> bytes:
        if f.size == 0:
            return b""
        try:
            return common.read_head(spark, f.path, SAMPLE_BYTES_PER_FILE)
        except Exception as e:  # noqa: BLE001 - a corrupt .gz surfaces as a JVM error
            raise common.JobInputError(
                f"input file {f.path} cannot be read ({str(e).splitlines()[0][:200]}); "
                "check that it is NDJSON text, gzip only with a .gz name"
            ) from e

    heads = common.map_in_threads(head, list(files))
    bad = [(f.path, why) for f, h in zip(files, heads, strict=True) if (why := not_text(h))]
    if bad:
        more = f" (and {len(bad) - 1} more file(s))" if len(bad) > 1 else ""
        raise common.JobInputError(
            f"input file {bad[0][0]} is not NDJSON text: {bad[0][1]}{more}; "
            "fix or remove it from the manifest and rerun"
        )
    return heads


def sample_lines(
    files: Sequence[common.InputFile], heads: Sequence[bytes]
) -> list[tuple[str, str]]:
    """Complete lines, each with its file's path, from the start of up to SAMPLE_FILES files
    spread over the batch."""
    step = max(1, len(files) // SAMPLE_FILES)
    lines: list[tuple[str, str]] = []
    for f, data in list(zip(files, heads, strict=True))[::step][:SAMPLE_FILES]:
        if not data:
            continue
        text = data.decode("utf-8-sig", errors="replace")
        split = text.splitlines()
        # A cut-off last line would look corrupt and skew the size measure.
        complete = split if len(data) < SAMPLE_BYTES_PER_FILE else split[:-1]
        lines += [(ln, f.path) for ln in complete if ln.strip()]
    return lines


ROUTED = "_routed"
SIZED = "_sized"


@dataclass(frozen=True)
class Probe:
    """What the sampled lines say about the main pass."""

    #: Share of the routed files (see :func:`probe_sample`) holding a line for the Python splitter.
    python_share: float
    #: Snappy Parquet bytes per written row.
    parquet_bytes_per_row: float


def probe_sample(
    spark: SparkSession,
    sample: Sequence[tuple[str, str]],
    keys: Sequence[str],
    processing_timestamp: str,
    scratch: str,
) -> Probe:
    """One small Spark job over the sampled (line, file) pairs, in the JVM alone (no Python
    worker to start): which route the main pass takes, and how large its Parquet rows are.

    The first ROUTE_LINES_PER_FILE lines of each sampled file decide the route. Every few lines,
    up to SIZING_ROWS, are parsed as the main pass parses them and written as Snappy Parquet
    under ``scratch`` (where the output goes: on Glue, executors do the writing), then removed.
    Lines left for the Python splitter are not written and the others stand for them; when they
    are most of the sized lines (prices written ``12.50`` on every line, say), the sized lines
    are written once more through the Python splitter instead.
    """
    step = max(1, len(sample) // SIZING_ROWS)
    taken: dict[str, int] = {}
    rows = []
    for i, (line, path) in enumerate(sample):
        taken[path] = taken.get(path, 0) + 1
        rows.append((line, path, taken[path] <= ROUTE_LINES_PER_FILE, i % step == 0))
    lines = spark.createDataFrame(
        rows, f"value string, {common.SOURCE_FILE} string, {ROUTED} boolean, {SIZED} boolean"
    )
    parsed = parse_lines(lines, keys, processing_timestamp, "fast", keep=(ROUTED, SIZED))
    seen = Observation("ndjson_probe")
    routed, source = F.col(ROUTED), F.col(common.SOURCE_FILE)
    observed = parsed.observe(
        seen,
        F.to_json(F.collect_set(F.when(routed, source))).alias("files"),
        F.to_json(F.collect_set(F.when(routed & F.col(DEFERRED), source))).alias("python"),
        F.count(F.when(F.col(SIZED), F.lit(1))).alias("sized"),
    )
    per_row = written_bytes_per_row(
        spark,
        observed.where(F.col(SIZED) & ~F.col(DEFERRED)).drop(ROUTED, SIZED, DEFERRED),
        scratch,
    )
    files, python = (json.loads(seen.get[k]) for k in ("files", "python"))
    if per_row.rows * 2 < int(seen.get["sized"]):
        exact = parse_lines(
            lines.where(F.col(SIZED)).drop(ROUTED, SIZED), keys, processing_timestamp
        )
        per_row = written_bytes_per_row(spark, exact.where(~common.is_rejected()), scratch)
    return Probe(len(python) / len(files) if files else 0.0, per_row.size)


@dataclass(frozen=True)
class RowSize:
    rows: int
    #: Bytes per row, 0.0 when no row was written.
    size: float


def written_bytes_per_row(spark: SparkSession, rows: DataFrame, scratch: str) -> RowSize:
    """Writes ``rows`` (as :func:`parse_lines` gives them) as one Snappy Parquet file under
    ``scratch``, measures it, and removes it."""
    counted, written = common.observe_counts(rows.drop(*REJECT_ONLY).coalesce(1), "ndjson_sized")
    try:
        counted.write.mode("overwrite").option("compression", "snappy").parquet(scratch)
        size = sum(f.size for f in common.list_files(spark, scratch) if f.path.endswith(".parquet"))
    finally:
        common.delete_path(spark, scratch)
    n = int(written.get["rows"])
    return RowSize(n, size / n if n else 0.0)


def shape_output(
    spark: SparkSession, rows: DataFrame, n_files: int, parquet_bytes: float
) -> DataFrame:
    """About ``n_files`` output partitions, without a shuffle where possible.

    Merging input partitions (``coalesce``) costs nothing but runs the whole job in that many
    tasks, so when there are fewer files than cores, files down to MIN_FILE_MB are allowed to
    keep every core busy; when even that leaves a core idle, one shuffle is paid: the parse and
    its checks cost several times what shuffling their output does, and a merged plan would run
    them all in the writing tasks (one 130 MB batch in one task on a 2-core machine).
    """
    cores = spark.sparkContext.defaultParallelism
    files = max(n_files, min(cores, int(parquet_bytes // (MIN_FILE_MB * 1024 * 1024))))
    if files >= cores or rows.rdd.getNumPartitions() <= files:
        return rows.coalesce(files)
    return rows.repartition(files)


def convert(
    spark: SparkSession,
    manifest_path: str,
    output_path: str,
    rejected_path: str | None = None,
    target_file_mb: int = TARGET_FILE_MB,
    columns: Sequence[str] | None = None,
    processing_timestamp: str | None = None,
) -> dict[str, object]:
    started = time.monotonic()
    batch = locate(spark, manifest_path)
    heads = read_heads(spark, batch.files)
    bid = batch_id(manifest_path)
    destination = common.join_path(output_path, f"merged-parquet-{batch.date}", f"batch={bid}")
    rejected_path = common.join_path(
        rejected_path or common.default_rejected_path(output_path),
        f"merged-parquet-{batch.date}",
        f"batch={bid}",
    )
    stamp = processing_timestamp or dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    # What a killed run left (staging folders, a set-aside previous batch) is repaired first;
    # this run writes beside the batch and swaps it in only when complete.
    recovered = common.recover(spark, destination)
    recovered_rejects = common.recover(spark, rejected_path)
    run_id = common.new_run_id()
    staging = common.staging_path(destination, run_id)
    staging_rejects = common.staging_path(rejected_path, run_id)

    sample = sample_lines(batch.files, heads)
    keys = list(columns) if columns else sample_keys(ln for ln, _ in sample)
    target_bytes = target_file_mb * 1024 * 1024
    total_bytes = sum(f.size for f in batch.files)
    n_files, rows_per_file, parquet_bytes, per_row = 1, None, 0.0, 0.0
    route = "fast"
    if sample:
        probe = probe_sample(spark, sample, keys, stamp, common.join_path(staging, "_sizing"))
        if probe.python_share > PYTHON_ROUTE_MAX_FILE_SHARE:
            route = "all"
        per_row = probe.parquet_bytes_per_row
        bytes_per_line = sum(len(ln.encode()) + 1 for ln, _ in sample) / len(sample)
        n_files, rows_per_file = plan_files(total_bytes, bytes_per_line, per_row, target_bytes)
        parquet_bytes = total_bytes / bytes_per_line * per_row

    lines = read_lines(spark, [f.path for f in batch.files])
    # Informational only (not part of the reconciliation): lines that hold no record.
    observed_lines, line_obs = common.observe_counts(lines, "lines", blank=is_blank(F.col("value")))
    rows = shape_output(
        spark, parse_lines(observed_lines, keys, stamp, route), n_files, parquet_bytes
    )
    # What a second, smaller pass handles: the lines left for the Python splitter (fast route),
    # or the rejects (one-pass route). Only the files holding them are read again.
    pending = F.col(DEFERRED) if route == "fast" else common.is_rejected()
    # Counted on the rows the write consumes (after any shuffle), so retried tasks count once.
    seen = Observation("ndjson")
    counted = rows.observe(
        seen,
        F.count(F.lit(1)).alias("rows"),
        F.count(F.when(pending, F.lit(1))).alias("pending"),
        F.to_json(F.collect_set(F.when(pending, F.col(common.SOURCE_FILE)))).alias("files"),
    )
    good, written = common.observe_counts(
        counted.where(~pending).drop(*REJECT_ONLY, DEFERRED),
        "ndjson_written",
    )
    writer = good.write.mode("overwrite").option("compression", "snappy")
    if rows_per_file:
        writer = writer.option("maxRecordsPerFile", rows_per_file)
    writer.parquet(staging)
    metrics = seen.get
    n_written, rejected = int(written.get["rows"]), 0
    if int(metrics["pending"]):
        files = sorted(uri_to_path(spark, u) for u in json.loads(metrics["files"]))
        again = parse_lines(read_lines(spark, files), keys, stamp, "slow")
        if route == "fast":
            # Two writes from these lines: kept, so their files are read only once more.
            again = again.persist()
            n_written += append_rows(
                again, staging, int(metrics["pending"]) * per_row, target_bytes
            )
        rejected = common.write_rejected(again.where(common.is_rejected()), staging_rejects)
        again.unpersist()
    write_marker(spark, staging, manifest_path, batch)
    # Rows first, then their rejects: a kill between the two leaves the new rows complete and
    # the previous rejects, both readable; the next run of the manifest replaces both.
    common.publish(spark, staging, destination)
    if rejected:
        common.publish(spark, staging_rejects, rejected_path)
    else:
        common.delete_path(spark, staging_rejects)
        common.delete_path(spark, rejected_path)
    return {
        "read": int(metrics["rows"]),
        "written": n_written,
        "rejected": rejected,
        "blank_lines": int(line_obs.get["blank"]),
        "files": len(batch.files),
        "input_bytes": total_bytes,
        "columns": len(keys),
        "route": route,
        "date": batch.date,
        "dates": batch.dates,
        "batch": bid,
        "output_files": sum(
            f.path.endswith(".parquet") for f in common.list_files(spark, destination)
        ),
        "output": destination,
        "rejected_path": rejected_path,
        "recovered": {k: recovered[k] + recovered_rejects[k] for k in ("restored", "removed")},
        "seconds": round(time.monotonic() - started, 1),
    }


def read_lines(spark: SparkSession, paths: Sequence[str]) -> DataFrame:
    return spark.read.text(list(paths)).select(
        "value", F.col("_metadata.file_path").alias(common.SOURCE_FILE)
    )


def append_rows(rows: DataFrame, folder: str, parquet_bytes: float, target_bytes: int) -> int:
    """Adds the good rows of a ``slow`` pass to the batch's Parquet files; returns how many.

    Sized like the main write: about ``parquet_bytes`` of output in files near the target.
    """
    good, written = common.observe_counts(
        rows.where(~common.is_rejected()).drop(*REJECT_ONLY),
        "ndjson_python_written",
    )
    files = max(1, math.ceil(parquet_bytes / target_bytes))
    good.coalesce(files).write.mode("append").option("compression", "snappy").parquet(folder)
    return int(written.get["rows"])


def write_marker(spark: SparkSession, folder: str, manifest_path: str, batch: Batch) -> None:
    """``_manifest.json`` in the batch folder: which manifest wrote it (hidden from readers)."""
    doc = {"manifest": manifest_path, "date": batch.date, "files": len(batch.files)}
    write_text(spark, folder.rstrip("/") + "/" + MARKER, json.dumps(doc))


def uri_to_path(spark: SparkSession, uri: str) -> str:
    """A ``_metadata.file_path`` URI (percent-encoded) as the path Spark reads."""
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    return str(jvm.org.apache.hadoop.fs.Path(jvm.java.net.URI(uri)).toString())


def write_text(spark: SparkSession, path: str, text: str) -> None:
    jvm = spark.sparkContext._jvm  # type: ignore[attr-defined]
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    fs = hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())  # type: ignore[attr-defined]
    out = fs.create(hpath, True)
    try:
        out.write(bytearray(text.encode()))
    finally:
        out.close()


# --------------------------------------------------------------------------------------------
# Glue bootstrap
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> None:
    args = common.job_args(argv, JOB)
    run = common.start_job(JOB, args)
    columns = [c.strip() for c in (args.get("COLUMNS") or "").split(",") if c.strip()]
    counts = convert(
        run.spark,
        str(args["MANIFEST_PATH"]),
        str(args["OUTPUT_PATH"]),
        args.get("REJECTED_PATH"),
        target_file_mb=common.positive_int(args, "TARGET_FILE_MB", TARGET_FILE_MB),
        columns=columns or None,
    )
    common.emit_summary(JOB, counts)
    run.commit()


if __name__ == "__main__":
    common.run_main(main)
