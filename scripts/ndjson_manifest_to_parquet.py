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
import gc
import hashlib
import json
import json.decoder
import json.scanner
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
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
    for row in split_lines(line.lstrip("\ufeff") for line in lines).rows:
        keys.update(dict.fromkeys(row))
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
    converted (so no digit limit). ``pairs``: objects as lists of (key, value) pairs, so a
    repeated key stays visible."""

    def __init__(self, pairs: bool = False) -> None:
        self._pairs = pairs
        self._scan: Any = None

    def get(self) -> Any:
        if self._scan is None:
            self._scan = json.scanner.c_make_scanner(  # type: ignore[attr-defined]
                json.JSONDecoder(
                    parse_int=str, parse_float=str, object_pairs_hook=list if self._pairs else None
                )
            )
        return self._scan

    def __reduce__(self) -> tuple[type, tuple[bool]]:
        return (_ValueScanner, (self._pairs,))


_scanner = _ValueScanner()
_record_scanner = _ValueScanner(pairs=True)
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
# The Python engine's pure part: lines → records with Python's C scanner, Spark's exact output
# --------------------------------------------------------------------------------------------


@dataclass
class Split:
    """The lines of a text: records (values as exact text, or still as the scanner gave them
    where ``lines`` holds the record's line; ``compact``: every key of that line is right before
    its colon and none repeats), rejected lines with their reasons, blank lines."""

    rows: list[dict[str, Any]]
    lines: list[str | None]
    compact: list[bool]
    rejects: list[tuple[str, str]]
    blank: int


def split_text(text: str) -> Split:
    """Every line of ``text`` (see common.text_lines) split by :func:`split_lines`."""
    return split_lines(common.text_lines(text))


def split_lines(lines: Iterable[str]) -> Split:
    """Each line split as :func:`split_object` splits it.

    Most lines take one call of Python's C scanner (numbers as their text, never converted); a
    line it cannot take exactly (leading or trailing whitespace, a byte-order mark, a repeated
    key, a lone surrogate escape, invalid JSON) goes to :func:`split_object`, which is the
    reference and gives the reject reason.
    """
    scan, scan_pairs = _scanner.get(), _record_scanner.get()
    rows: list[dict[str, Any]] = []
    kept: list[str | None] = []
    compact: list[bool] = []
    rejects: list[tuple[str, str]] = []
    blank = 0
    for line in lines:
        if line[:1] == "{":
            try:
                spaced = "\\" in line or '" ' in line or '"\t' in line
                if spaced:
                    # Escapes or a space after a string: pairs show a repeated key.
                    pairs, end = scan_pairs(line, 0)
                    row = dict(pairs)
                    exact = len(row) == len(pairs) and not ("\\" in line and _lone_surrogate(pairs))
                else:
                    # No escape and every key right before its colon: each key at any depth
                    # shows as one '":', so a count above the keys read means a repeat.
                    row, end = scan(line, 0)
                    found = line.count('":')
                    exact = found == len(row) or found == _keys_in(row)
            except (StopIteration, ValueError, RecursionError):
                end, exact = -1, False
            if exact and end == len(line):
                rows.append(row)
                kept.append(line)
                compact.append(not spaced)
                continue
        elif not line.strip(BLANK):
            blank += 1
            continue
        try:
            fields = split_object(line[1:] if line[:1] == "\ufeff" else line)
        except RecordError as e:
            rejects.append((line, str(e)))
            continue
        rows.append(dict(fields))
        kept.append(None)
        compact.append(False)
    return Split(rows, kept, compact, rejects, blank)


def _keys_in(value: Any) -> int:
    """Keys of the objects in a parsed value, at every depth."""
    n = 0
    if type(value) is dict:
        n = len(value)
        value = value.values()
    for v in value:
        if type(v) is dict or type(v) is list:
            n += _keys_in(v)
    return n


def _lone_surrogate(pairs: list[tuple[str, Any]]) -> bool:
    return any(_SURROGATE.search(k) or (type(v) is str and _SURROGATE.search(v)) for k, v in pairs)


def text_values(row: dict[str, Any], line: str, compact: bool) -> bool:
    """Turns the values the scanner gave as Python objects into their JSON text, in place:
    ``true`` and ``false``, nested values as written in the line. False when only
    :func:`split_object` can tell (a key not alone in the line, an escape, ``NaN``)."""
    order: list[str] | None = None
    for n, (key, value) in enumerate(row.items()):
        if value is None or type(value) is str:
            continue
        if value is True or value is False:
            row[key] = "true" if value else "false"
            continue
        if (type(value) is not dict and type(value) is not list) or "\\" in line:
            return False
        if compact:
            order = order or list(row)
            raw = _compact_value(line, key, order[n + 1] if n + 1 < len(order) else None)
        else:
            raw = _raw_value(line, key)
        if raw is None:
            return False
        row[key] = raw
    return True


def _compact_value(line: str, key: str, after: str | None) -> str | None:
    """A value's text in a compact line (every '":' is a key, none repeats): from its key to the
    comma before the next key ``after``, or to the closing brace for the last key."""
    quoted = f'"{key}":'
    at = line.find(quoted)
    if at < 0 or line.find(quoted, at + 1) >= 0:
        return None
    start = at + len(quoted)
    if after is None:
        return line[start:-1].strip(" \t")
    quoted = f'"{after}":'
    if line.count(quoted) != 1:
        return None
    end = line.find(quoted, start)
    return line[start : line.rindex(",", start, end)].strip(" \t") if end > 0 else None


def _raw_value(line: str, key: str) -> str | None:
    """The text of ``key``'s value in a line holding no escape (so every quote is a string's
    edge): found after the only ``"key"`` in the line, which must be the top-level key."""
    quoted = f'"{key}"'
    if '"' in key or line.count(quoted) != 1:
        return None
    at = line.find(quoted + ":")
    if at < 0:
        return None
    start = _space(line, at + len(quoted) + 1).end()
    _, end = _scanner.get()(line, start)
    return line[start:end]


def spark_json(row: dict[str, str | None], keys: Iterable[str]) -> str:
    """``keys`` of ``row`` as Spark's ``to_json`` writes a ``map<string,string>``."""

    def text(v: str) -> str:
        return '"' + v.translate(common.JACKSON_ESCAPES) + '"'

    return (
        "{"
        + ",".join(f"{text(k)}:{'null' if row[k] is None else text(row[k])}" for k in keys)  # type: ignore[arg-type]
        + "}"
    )


def records_table(split: Split, keys: Sequence[str], source: str, processing_timestamp: str) -> Any:
    """The records of ``split`` as the Arrow table of the rows :func:`parse_lines` gives."""
    import pyarrow as pa

    known = frozenset(keys)
    rows, lines = split.rows, split.lines
    # Columns whose values the scanner left as Python objects (booleans, nested values) fail
    # the string conversion: only their values are turned into text, then they are rebuilt.
    arrays: dict[str, Any] = {}
    loose: list[str] = []
    for key in keys:
        try:
            arrays[key] = pa.array([r.get(key) for r in rows], pa.string())
        except (pa.ArrowTypeError, pa.ArrowInvalid):
            loose.append(key)
    extra = (
        []
        if known.issuperset(set().union(*rows))
        else [i for i, r in enumerate(rows) if not known.issuperset(r)]
    )
    again: set[int] = set()
    fix = set()
    for key in loose:
        for i, row in enumerate(rows):
            value = row.get(key)
            if value is not None and type(value) is not str:
                fix.add(i)
    for i in extra:
        if any(v is not None and type(v) is not str for v in rows[i].values()):
            fix.add(i)
    for i in fix:
        if not text_values(rows[i], lines[i], split.compact[i]):  # type: ignore[arg-type]
            again.add(i)
    for i in again:
        rows[i] = dict(split_object(lines[i]))  # type: ignore[arg-type]
    for key in loose:
        arrays[key] = pa.array([r.get(key) for r in rows], pa.string())
    extras: list[str | None] = [None] * len(rows)
    for i in extra:
        extras[i] = spark_json(rows[i], [k for k in rows[i] if k not in known])
    return output_table(
        [arrays[k] for k in keys], pa.array(extras, pa.string()), keys, source, processing_timestamp
    )


def output_table(
    columns: list[Any], extras: Any, keys: Sequence[str], source: str, processing_timestamp: str
) -> Any:
    """The written columns: one per key, ``_extra_fields``, ``_source_file``, the stamp."""
    import pyarrow as pa

    n = len(extras)
    return pa.Table.from_arrays(
        [
            *columns,
            extras,
            pa.array([source] * n, pa.string()),
            pa.array([processing_timestamp] * n, pa.string()),
        ],
        names=[*output_names(keys).values(), EXTRA, common.SOURCE_FILE, PROCESSING_TS],
    )


def chunk_tables(
    text: str, keys: Sequence[str], source: str, processing_timestamp: str
) -> tuple[list[Any], Split]:
    """A chunk of whole lines → the Arrow tables of its records (the columnar path's, then the
    scanner's) and what the scanner saw (its records, rejects and blank lines)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not keys or text.count("\n") < COLUMNAR_MIN_LINES or len(text) > COLUMNAR_MAX_CHARS:
        return _scanner_tables(common.text_lines(text), keys, source, processing_timestamp)
    if "\r" in text:
        lines = pa.array(common.text_lines(text), pa.string())
    else:
        # Cut by Arrow: the scanner only ever sees the lines the columnar path leaves.
        lines = pc.split_pattern(pa.array([text.removesuffix("\n")], pa.string()), "\n")
        lines = lines.flatten()
    columns, left = columnar_split(lines, keys)
    rest = lines.take(pa.array(left, pa.int64())).to_pylist()
    tables, split = _scanner_tables(rest, keys, source, processing_timestamp)
    if len(columns[0]):
        extras = pa.nulls(len(columns[0]), pa.string())
        tables.insert(0, output_table(columns, extras, keys, source, processing_timestamp))
    return tables, split


def _scanner_tables(
    lines: list[str], keys: Sequence[str], source: str, processing_timestamp: str
) -> tuple[list[Any], Split]:
    split = split_lines(lines)
    tables = [records_table(split, keys, source, processing_timestamp)] if split.rows else []
    return tables, split


# --------------------------------------------------------------------------------------------
# The Python engine's columnar path: a chunk's plain lines at once, with Arrow and NumPy
# --------------------------------------------------------------------------------------------

# A line the columnar path takes: one JSON object nested at most COLUMNAR_DEPTH levels, no
# space before or after it (a line of a JSON Lines file). Exactly JSON's grammar (strings with
# their escapes and no control character, numbers without leading zeros, the three words), so
# a line it matches is one the scanner parses; anything else goes to the scanner.
COLUMNAR_DEPTH = 2
# Below this many lines the regular expression's compilation costs more than it saves; above
# this many characters a chunk (one huge line) would pass Arrow's 2 GB string offsets.
COLUMNAR_MIN_LINES = 64
COLUMNAR_MAX_CHARS = 1 << 30


def _valid_object_pattern(depth: int) -> str:
    ws = "[ \\t]*"
    text = '"(?:[^"\\\\\\x00-\\x1f]|\\\\(?:["\\\\/bfnrt]|u[0-9a-fA-F]{4}))*"'
    number = "-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
    scalar = f"(?:{text}|{number}|true|false|null)"

    def obj(value: str) -> str:
        pair = f"{text}{ws}:{ws}{value}"
        return f"\\{{{ws}(?:{pair}(?:{ws},{ws}{pair})*)?{ws}\\}}"

    def arr(value: str) -> str:
        return f"\\[{ws}(?:{value}(?:{ws},{ws}{value})*)?{ws}\\]"

    value = scalar
    for _ in range(depth):
        value = f"(?:{scalar}|{obj(value)}|{arr(value)})"
    return f"^{obj(value)}$"


_VALID_OBJECT = _valid_object_pattern(COLUMNAR_DEPTH)
_QUOTE, _BACKSLASH, _COLON, _COMMA, _CLOSE_BRACE = (ord(c) for c in '"\\:,}')


def _pieces(text: Any, bounds: Any) -> Any:
    """The text between consecutive ``bounds`` (int32 byte offsets) as an Arrow string array
    over the same buffer: nothing is copied."""
    import pyarrow as pa

    if len(bounds) < 2:
        return pa.array([], pa.string())
    return pa.Array.from_buffers(pa.string(), len(bounds) - 1, [None, pa.py_buffer(bounds), text])


def _depth_steps() -> Any:
    import numpy as np

    steps = np.zeros(256, np.int32)
    steps[list(b"{[")] = 1
    steps[list(b"}]")] = -1
    return steps


def columnar_split(lines: Any, keys: Sequence[str]) -> tuple[list[Any], list[int]]:
    """The lines (an Arrow string array) whose record the columnar path can take → one Arrow
    string array per key (in line order); the indexes of the other lines, for
    :func:`split_lines`.

    A line is taken when it is a plain JSON object (see ``_VALID_OBJECT``) whose top-level keys
    are all known, none repeats, no key holds an escape and no string value a lone surrogate.
    For such a line every value's text is a slice of the line: a string's inside (its escapes
    decoded by Python's scanner), any other value as written. The slices are found for all
    lines at once from the positions of the quotes, brackets, colons and commas (NumPy), and cut
    out of the chunk's text by Arrow.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    valid = pc.match_substring_regex(lines, _VALID_OBJECT)
    taken = lines.filter(valid)
    n = len(taken)
    if n == 0:
        return [pa.array([], pa.string()) for _ in keys], list(range(len(lines)))
    offsets = np.frombuffer(taken.buffers()[1], np.int32, n + 1, taken.offset * 4)
    if offsets[0] != 0:
        # A slice of a larger buffer: positions below are counted from the buffer's start.
        taken = taken.take(pa.array(np.arange(n)))
        offsets = np.frombuffer(taken.buffers()[1], np.int32, n + 1)
    text = taken.buffers()[2]
    data = np.frombuffer(text, np.uint8, int(offsets[-1]))
    marked = data == _QUOTE
    for c in b"\\{}[]:,":
        marked |= data == c
    pos = np.flatnonzero(marked)
    char = data[pos]
    quote = char == _QUOTE
    backslash = char == _BACKSLASH
    if backslash.any():
        # A quote right after an odd run of backslashes is escaped: part of a string.
        step = np.arange(len(pos))
        joined = np.zeros(len(pos), bool)
        joined[1:] = backslash[1:] & backslash[:-1] & (np.diff(pos) == 1)
        run_start = np.maximum.accumulate(np.where(backslash & ~joined, step, -1))
        after = np.zeros(len(pos), bool)
        after[1:] = quote[1:] & backslash[:-1] & (np.diff(pos) == 1)
        at = np.flatnonzero(after)
        quote[at[(at - run_start[at - 1]) % 2 == 1]] = False
    rank = np.cumsum(quote, dtype=np.int32)
    structural = ((rank - quote) & 1 == 0) & ~quote & ~backslash
    where = np.flatnonzero(structural)
    kind = char[where]
    depth = np.cumsum(_depth_steps()[kind], dtype=np.int32)
    colon_at = where[(kind == _COLON) & (depth == 1)]
    colons = pos[colon_at]
    ends = pos[where[((kind == _COMMA) & (depth == 1)) | ((kind == _CLOSE_BRACE) & (depth == 0))]]
    stops = ends[np.searchsorted(ends, colons)]
    line = np.searchsorted(offsets, colons, side="right") - 1
    quotes = pos[quote]
    # The quote right before a top-level colon closes its key (only spaces lie between): the
    # strings of the chunk, cut at every quote, hold the keys without copying the text.
    key = rank[colon_at - 1] - 2
    cuts = _pieces(text, (quotes + 1).astype(np.int32))
    names = pc.utf8_slice_codeunits(cuts.take(pa.array(key, pa.int64())), 0, -1)
    column = np.asarray(
        pc.index_in(names, value_set=pa.array(list(keys), pa.string())).fill_null(-1)
    )
    # Values: the text from each colon to its comma or closing brace, without spaces; a
    # string's inside, null for null.
    bounds = np.empty(2 * len(colons), np.int32)
    bounds[0::2], bounds[1::2] = colons + 1, stops
    values = _pieces(text, bounds).take(pa.array(np.arange(0, len(bounds) - 1, 2)))
    values = pc.utf8_trim(values, " \t")
    string = pc.starts_with(values, '"')
    null = pc.and_(pc.equal(values, "null"), pc.invert(string))
    values = pc.if_else(string, pc.utf8_slice_codeunits(values, 1, -1), values)
    values = pc.if_else(null, pa.scalar(None, pa.string()), values)
    # Lines the scanner takes instead: a key outside the columns, a repeated key, an escape in
    # a key, a string value whose escapes make a lone surrogate.
    bad = column < 0
    if backslash.any():
        bad |= np.asarray(pc.match_substring(names, "\\"))
        escaped = np.flatnonzero(
            np.asarray(pc.and_(string, pc.match_substring(values, "\\")).fill_null(False))
        )
        if len(escaped):
            decoded = [_scan_string(v + '"', 0, True)[0] for v in values.take(escaped).to_pylist()]
            lone = np.array([bool(_SURROGATE.search(d)) for d in decoded], bool)
            bad[escaped[lone]] = True
            mask = np.zeros(len(values), bool)
            mask[escaped[~lone]] = True
            kept = [d for d, x in zip(decoded, lone, strict=True) if not x]
            values = pc.replace_with_mask(values, pa.array(mask), pa.array(kept, pa.string()))
    # A key twice in a line: two equal (line, key) codes side by side once sorted.
    codes = np.sort(line.astype(np.int64) * (len(keys) + 1) + column + 1)
    refused = np.zeros(n, bool)
    refused[codes[1:][codes[1:] == codes[:-1]] // (len(keys) + 1)] = True
    refused[line[bad]] = True
    keep = pa.array(~refused)
    arrays = []
    for k in range(len(keys)):
        mine = np.flatnonzero(column == k)
        index = np.full(n, -1, np.int64)
        index[line[mine]] = mine
        arrays.append(values.take(pa.array(index, mask=index < 0)).filter(keep))
    left = np.ones(len(lines), bool)
    left[np.flatnonzero(np.asarray(valid))[~refused]] = False
    return arrays, np.flatnonzero(left).tolist()


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


def read_heads(
    spark: SparkSession, files: Sequence[common.InputFile], arrow: bool = False
) -> list[bytes]:
    """The first bytes of every file (decompressed); files that are not text stop the run.
    ``arrow``: read with Arrow's file systems (Spark's gateway copies each head slowly)."""

    def head(f: common.InputFile) -> bytes:
        if f.size == 0:
            return b""
        try:
            if arrow:
                with common.arrow_open(f.path) as stream:
                    return bytes(stream.read(SAMPLE_BYTES_PER_FILE))
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


# --------------------------------------------------------------------------------------------
# The Python engine: Spark tasks split the files with Python's scanner and write Parquet
# --------------------------------------------------------------------------------------------

ENGINES = ("auto", "python", "spark")
#: Text a task splits at a time: the Python objects of a chunk take about ten times its size.
CHUNK_BYTES = 8 << 20
#: Arrow bytes a task gathers before writing them as one Parquet row group.
ROW_GROUP_BYTES = 64 << 20
#: The least Parquet a task writes when more tasks would only use more cores: smaller files
#: cost the table's readers more than a slower run costs this job.
TASK_MIN_OUTPUT_BYTES = 16 << 20
#: Rejected text a task may hand back to the driver; beyond it the run goes to Spark, which
#: writes rejects from the executors.
REJECT_MAX_BYTES = 64 << 20
#: A column is dictionary-encoded when its first row group holds at most this share of
#: distinct values (encoding a column of unique ids costs more than it saves).
DICTIONARY_MAX_DISTINCT = 0.5
# Compressions Spark's text reader takes by file name; the engine reads plain text and gzip.
_OTHER_CODECS = (".bz2", ".deflate", ".lz4", ".snappy", ".zst", ".zstd", ".br", ".xz")


@dataclass(frozen=True)
class EngineTask:
    """One Spark task's share of the batch: (path, name for ``_source_file``) pairs."""

    index: int
    files: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class EngineJob:
    """What every task needs: the columns, the stamp, where the parts go and the sizes (taken
    in the driver, so a task sees the values the run was started with)."""

    keys: tuple[str, ...]
    processing_timestamp: str
    folder: str
    run_id: str
    target_bytes: int
    chunk_bytes: int = CHUNK_BYTES
    row_group_bytes: int = ROW_GROUP_BYTES
    reject_max_bytes: int = REJECT_MAX_BYTES


def file_texts(path: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[str]:
    """The file's text in chunks of about ``chunk_bytes`` that end after a line feed (so no line,
    CRLF or character is cut); ArrowFallback when it is not UTF-8."""
    offset = 0

    def text(data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise common.ArrowFallback(
                f"{path}: not UTF-8 at byte {offset + e.start} (Spark keeps such lines as "
                "rejects with their bytes)"
            ) from None

    with common.arrow_open(path) as stream:
        # Blocks of a line longer than a chunk wait in a list: joined once, not once per block.
        pending: list[bytes] = []
        while block := stream.read(chunk_bytes):
            cut = block.rfind(b"\n") + 1
            if not cut:
                pending.append(block)
                continue
            data = b"".join([*pending, block[:cut]])
            yield text(data)
            offset += len(data)
            pending = [block[cut:]]
        if rest := b"".join(pending):
            yield text(rest)


class PartWriter:
    """Snappy Parquet files of about ``job.target_bytes`` under ``job.folder``, one row group
    per ``job.row_group_bytes`` of Arrow data, named ``part-<task>-<n>-<run>.snappy.parquet``
    so a retried task overwrites its own files."""

    def __init__(self, job: EngineJob, task: int) -> None:
        from pyarrow import fs

        self._fs, self._root = common.arrow_filesystem(job.folder)
        if isinstance(self._fs, fs.LocalFileSystem):
            self._fs.create_dir(self._root, recursive=True)  # S3 needs no folders
        self._job, self._task = job, task
        self._pending: list[Any] = []
        self._pending_bytes = 0
        self._writer: Any = None
        self._sink: Any = None
        self._dictionary: list[str] | None = None
        self.files = 0
        self.rows = 0

    def add(self, table: Any) -> None:
        self._pending.append(table)
        self._pending_bytes += table.nbytes
        if self._pending_bytes >= self._job.row_group_bytes:
            self._flush()

    def close(self) -> None:
        self._flush()
        self._close_file()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        if not self._pending:
            return
        table = pa.concat_tables(self._pending)
        self._pending, self._pending_bytes = [], 0
        if self._dictionary is None:
            limit = DICTIONARY_MAX_DISTINCT * table.num_rows
            self._dictionary = [
                name
                for name, column in zip(table.column_names, table.columns, strict=True)
                if pc.count_distinct(column).as_py() <= limit
            ]
        if self._writer is None:
            name = f"part-{self._task:05d}-{self.files:04d}-{self._job.run_id}.snappy.parquet"
            self._sink = self._fs.open_output_stream(f"{self._root.rstrip('/')}/{name}")
            self._writer = pq.ParquetWriter(
                self._sink, table.schema, compression="snappy", use_dictionary=self._dictionary
            )
            self.files += 1
        before = self._sink.tell()
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))
        after = self._sink.tell()
        self.rows += table.num_rows
        # Another row group of this size would pass the target: the next one starts a file.
        if after + (after - before) > self._job.target_bytes:
            self._close_file()

    def _close_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._sink.close()
            self._writer = self._sink = None


def run_task(task: EngineTask, job: EngineJob) -> dict[str, Any]:
    """One task of the Python engine: its files → Parquet parts under ``job.folder``; returns
    the counts and the rejected rows, or ``fallback``: why Spark must take the run."""
    writer = PartWriter(job, task.index)
    out: dict[str, Any] = {"read": 0, "blank": 0, "rejects": [], "fallback": None}
    # Where a task's time goes, summed over the tasks in the run's summary.
    seconds = dict.fromkeys(("read", "split", "write"), 0.0)
    clock = time.perf_counter
    rejected_bytes = 0
    # The scanner's objects are short-lived but many: the cyclic collector would walk every
    # kept row of a chunk again and again, for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for path, source in task.files:
            texts = file_texts(path, job.chunk_bytes)
            while True:
                started = clock()
                text = next(texts, None)
                split_at = clock()
                seconds["read"] += split_at - started
                if text is None:
                    break
                tables, split = chunk_tables(text, job.keys, source, job.processing_timestamp)
                write_at = clock()
                seconds["split"] += write_at - split_at
                out["read"] += sum(t.num_rows for t in tables) + len(split.rejects)
                out["blank"] += split.blank
                for line, reason in split.rejects:
                    rejected_bytes += len(line)
                    out["rejects"].append(
                        {
                            common.SOURCE_FILE: source,
                            PROCESSING_TS: job.processing_timestamp,
                            common.RAW_LINE: line,
                            common.REJECT_REASON: reason,
                        }
                    )
                if rejected_bytes > job.reject_max_bytes:
                    raise common.ArrowFallback(
                        f"more than {job.reject_max_bytes} bytes of rejected lines in one task"
                    )
                for table in tables:
                    writer.add(table)
                seconds["write"] += clock() - write_at
        write_at = clock()
        writer.close()
        seconds["write"] += clock() - write_at
    except (common.ArrowFallback, OSError) as e:
        return {"fallback": (str(e).splitlines() or [type(e).__name__])[0][:300]}
    finally:
        if collecting:
            gc.enable()
    return {**out, "written": writer.rows, "files": writer.files, "seconds": seconds}


def warm_workers(spark: SparkSession) -> None:
    """Starts Spark's Python workers (a session's first Python task waits about two seconds
    for them) while the driver reads the heads of the files."""
    context = spark.sparkContext
    cores = context.defaultParallelism
    threading.Thread(
        target=lambda: context.parallelize(range(cores), cores).foreach(_import_engine),
        daemon=True,
    ).start()


def _import_engine(_: int) -> None:
    import numpy  # noqa: F401
    import pyarrow.compute  # noqa: F401
    import pyarrow.parquet  # noqa: F401


def plan_tasks(files: Sequence[tuple[str, str, int]], tasks: int) -> list[EngineTask]:
    """(path, source, bytes) → ``tasks`` shares of about equal bytes, each keeping the listed
    order (see common.spread_by_size)."""
    shares = common.spread_by_size([f[2] for f in files], tasks)
    return [
        EngineTask(n, tuple((files[i][0], files[i][1]) for i in share))
        for n, share in enumerate(shares)
    ]


def parquet_share(sample: Sequence[tuple[str, str]], keys: Sequence[str]) -> float:
    """Snappy Parquet bytes per input byte, measured on (every few of) the sampled lines."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    step = max(1, len(sample) // SIZING_ROWS)
    text = "".join(line + "\n" for line, _ in sample[::step])
    split = split_text(text)
    if not split.rows:
        return 0.25
    sink = pa.BufferOutputStream()
    pq.write_table(records_table(split, keys, sample[0][1], "x" * 25), sink, compression="snappy")
    return max(sink.tell() / len(text.encode()), 0.01)


def engine_why_not(files: Sequence[common.InputFile], output_path: str) -> str | None:
    """Why the Python engine cannot take this batch, or None."""
    why = common.arrow_available(numpy=True)
    if why:
        return why
    other = next((f.path for f in files if f.path.lower().endswith(_OTHER_CODECS)), None)
    if other:
        return f"{other}: the Python engine reads plain text and gzip only"
    return common.arrow_refuses([output_path, *(f.path for f in files)])


def python_convert(
    spark: SparkSession,
    batch: Batch,
    sample: Sequence[tuple[str, str]],
    job: EngineJob,
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The Python engine: Spark tasks split the files and write the Parquet parts under
    ``job.folder``; returns the counts and the rejected rows. ArrowFallback when Spark must
    take the run (nothing is published then)."""
    sizes = [common.text_bytes(f) for f in batch.files]
    output = sum(sizes) * parquet_share(sample, job.keys) if sample else sum(sizes) / 4
    cores = spark.sparkContext.defaultParallelism
    # A task per file of the target size, and more (down to TASK_MIN_OUTPUT_BYTES of Parquet
    # each) while a core would otherwise be idle: splitting costs far more than writing.
    tasks = max(
        math.ceil(output / job.target_bytes),
        min(cores, int(output // TASK_MIN_OUTPUT_BYTES)),
        1,
    )
    listed = [
        (f.path, common.spark_file_uri(spark, f.path), size)
        for f, size in zip(batch.files, sizes, strict=True)
    ]
    plan = plan_tasks(listed, tasks)
    results = (
        spark.sparkContext.parallelize(plan, len(plan)).map(lambda t: run_task(t, job)).collect()
    )
    failed = next((r["fallback"] for r in results if r.get("fallback")), None)
    if failed:
        raise common.ArrowFallback(failed)
    counts: dict[str, Any] = {
        k: sum(int(r[k]) for r in results) for k in ("read", "blank", "written", "files")
    }
    counts["task_seconds"] = {
        k: round(sum(r["seconds"][k] for r in results), 1) for k in results[0]["seconds"]
    }
    counts["tasks"] = len(results)
    return counts, [row for r in results for row in r["rejects"]]


def spark_convert(
    spark: SparkSession,
    batch: Batch,
    sample: Sequence[tuple[str, str]],
    keys: Sequence[str],
    stamp: str,
    staging: str,
    staging_rejects: str,
    target_bytes: int,
) -> dict[str, object]:
    """The Spark engine: writes the batch's rows under ``staging`` and its rejects under
    ``staging_rejects``; returns the counts."""
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
    return {
        "read": int(metrics["rows"]),
        "written": n_written,
        "rejected": rejected,
        "blank_lines": int(line_obs.get["blank"]),
        "route": route,
    }


def choose_engine(
    requested: str, files: Sequence[common.InputFile], output_path: str
) -> tuple[str, str | None]:
    """(engine, why not the Python engine) for ``--ENGINE`` ``requested``."""
    if requested not in ENGINES:
        raise common.JobInputError(
            f"--ENGINE must be one of {', '.join(ENGINES)}, got {requested!r}"
        )
    if requested == "spark":
        return "spark", None
    why = engine_why_not(files, output_path)
    return ("spark", why) if why else ("python", None)


def convert(
    spark: SparkSession,
    manifest_path: str,
    output_path: str,
    rejected_path: str | None = None,
    target_file_mb: int = TARGET_FILE_MB,
    columns: Sequence[str] | None = None,
    processing_timestamp: str | None = None,
    engine: str = "auto",
) -> dict[str, object]:
    """Converts the manifest's batch; returns the counts.

    ``engine``: ``auto`` or ``python`` (Spark tasks split the lines with Python's JSON scanner
    and write Parquet with Arrow; Spark takes any batch that engine cannot read as Spark does)
    or ``spark`` (Spark's JSON parser, with Python for the lines it cannot give exactly). Both
    write the same rows and rejects.
    """
    started = time.monotonic()
    batch = locate(spark, manifest_path)
    chosen, why_not = choose_engine(engine, batch.files, output_path)
    if chosen == "python":
        warm_workers(spark)
    heads = read_heads(spark, batch.files, arrow=chosen == "python")
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
    keys = list(dict.fromkeys(columns)) if columns else sample_keys(ln for ln, _ in sample)
    target_bytes = target_file_mb * 1024 * 1024
    tally: dict[str, object] | None = None
    if chosen == "python":
        job = EngineJob(
            tuple(keys),
            stamp,
            staging,
            run_id,
            target_bytes,
            chunk_bytes=CHUNK_BYTES,
            row_group_bytes=ROW_GROUP_BYTES,
            reject_max_bytes=REJECT_MAX_BYTES,
        )
        try:
            counts, rejects = python_convert(spark, batch, sample, job)
        except (common.ArrowFallback, OSError) as e:
            # OSError: Arrow's own S3 client could not read or write where Spark's may.
            why_not, chosen = str(e).splitlines()[0][:300], "spark"
            common.delete_path(spark, staging)
            run_id = common.new_run_id()
            staging = common.staging_path(destination, run_id)
            staging_rejects = common.staging_path(rejected_path, run_id)
        else:
            tally = {
                "read": counts["read"],
                "written": counts["written"],
                "rejected": write_rejects(spark, rejects, keys, staging_rejects),
                "blank_lines": counts["blank"],
                "tasks": counts["tasks"],
                "task_seconds": counts["task_seconds"],
            }
    if tally is None:
        tally = spark_convert(
            spark, batch, sample, keys, stamp, staging, staging_rejects, target_bytes
        )
    write_marker(spark, staging, manifest_path, batch)
    # Rows first, then their rejects: a kill between the two leaves the new rows complete and
    # the previous rejects, both readable; the next run of the manifest replaces both.
    common.publish(spark, staging, destination)
    if tally["rejected"]:
        common.publish(spark, staging_rejects, rejected_path)
    else:
        common.delete_path(spark, staging_rejects)
        common.delete_path(spark, rejected_path)
    return {
        **tally,
        "files": len(batch.files),
        "input_bytes": sum(f.size for f in batch.files),
        "columns": len(keys),
        "engine": chosen,
        **({"engine_note": why_not} if why_not and engine != "spark" else {}),
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


def write_rejects(
    spark: SparkSession, rejects: Sequence[dict[str, str]], keys: Sequence[str], folder: str
) -> int:
    """The Python engine's rejected rows under ``folder``, as the Spark engine writes them."""
    if not rejects:
        return 0
    columns = [common.SOURCE_FILE, PROCESSING_TS, common.RAW_LINE, common.REJECT_REASON]
    frame = spark.createDataFrame(
        [tuple(r[c] for c in columns) for r in rejects],
        T.StructType([T.StructField(c, T.StringType()) for c in columns]),
    )
    return common.write_rejected(frame, folder)


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
        engine=(args.get("ENGINE") or "auto").strip().lower(),
    )
    common.emit_summary(JOB, counts)
    run.commit()


if __name__ == "__main__":
    common.run_main(main)
