"""Tag Parquet rows by regular expressions from a small rules table.

Glue:  --INPUT_PATH s3://…/in/ --RULES_PATH s3://…/rules.csv --OUTPUT_PATH s3://…/tagged/
       or, instead of --OUTPUT_PATH: --JDBC_CONNECTION_NAME pg --JDBC_TABLE public.tagged
Local: python scripts/regex_tagging.py --INPUT_PATH in/ --RULES_PATH rules.csv --OUTPUT_PATH out/
       (or --JDBC_URL jdbc:postgresql://localhost/db?user=…&password=… --JDBC_TABLE tagged)

Rules CSV: a header ``tag,column,pattern`` and one rule per row; a pattern is a Java regular
expression (``(?i)`` for case-insensitive) searched anywhere in the column's text. Every rule is
checked before any data is read: an unknown column or a bad pattern is an error naming the rule.
Output: the input columns plus ``tags`` (array of the matching tags in rule order, empty when
none). Parquet output and the JDBC table are replaced on each run, so a retry never duplicates.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import glue_etl_common as common
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.utils import AnalysisException

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


def tag_column(rules: Sequence[Rule]) -> Column:
    """One expression over all rules: the matching tags in rule order, without repeats.

    The rules become literals of this expression, compiled once per task. Spark ships the plan
    to each executor in the task binary it broadcasts, so the rules table reaches every executor
    once per stage with no join or shuffle, and matching runs in the JVM with no Python UDF.
    """
    hits = [F.when(F.col(r.column).cast("string").rlike(r.pattern), F.lit(r.tag)) for r in rules]
    return F.array_distinct(F.filter(F.array(*hits), lambda t: t.isNotNull()))


def tag(df: DataFrame, rules: Sequence[Rule]) -> DataFrame:
    return df.withColumn(TAGS, tag_column(rules))


def tag_metrics(rules: Sequence[Rule]) -> dict[str, Column]:
    """Observed while writing: rows with any tag, and rows per tag."""
    metrics = {"tagged": F.size(TAGS) > 0}
    for i, t in enumerate(dict.fromkeys(r.tag for r in rules)):
        metrics[f"tag_{i}"] = F.array_contains(TAGS, t)
    return metrics


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


def write_jdbc(df: DataFrame, target: JdbcTarget, table: str) -> None:
    """Replaces the table's rows (truncate keeps its definition, grants and indexes)."""
    if not target.url.startswith("jdbc:postgresql:"):
        # Only PostgreSQL takes arrays over JDBC; elsewhere the tags are a JSON array as text.
        df = df.withColumn(TAGS, F.to_json(F.col(TAGS)))
    (
        df.write.format("jdbc")
        .options(**target.options())
        .option("dbtable", table)
        .option("truncate", "true")
        .option("batchsize", "5000")
        .mode("overwrite")
        .save()
    )


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
) -> dict[str, object]:
    started = time.monotonic()
    if (output_path is None) == (jdbc is None):
        raise common.JobInputError(
            "give exactly one output: --OUTPUT_PATH, or --JDBC_CONNECTION_NAME/--JDBC_URL "
            "with --JDBC_TABLE"
        )
    if jdbc is not None and not jdbc_table:
        raise common.JobInputError("--JDBC_TABLE is required for JDBC output")
    rules = parse_rules(common.read_text(spark, rules_path), rules_path)
    try:
        df = spark.read.parquet(input_path)
    except AnalysisException as e:
        raise common.JobInputError(f"--INPUT_PATH {input_path!r}: no Parquet data ({e})") from e
    if TAGS in df.columns:
        raise common.JobInputError(f"the input already has a {TAGS!r} column")
    rules = validate_rules(spark, rules, df.columns)
    tagged, obs = common.observe_counts(tag(df, rules), "tagging", **tag_metrics(rules))
    if jdbc is not None and jdbc_table:
        write_jdbc(tagged, jdbc, jdbc_table)
        destination = f"{jdbc.url.split('?')[0]} table {jdbc_table}"
    else:
        tagged.write.mode("overwrite").option("compression", "snappy").parquet(str(output_path))
        destination = str(output_path)
    metrics = obs.get
    tags = list(dict.fromkeys(r.tag for r in rules))
    return {
        "read": int(metrics["rows"]),
        "written": int(metrics["rows"]),
        "rejected": 0,
        "tagged": int(metrics["tagged"]),
        "per_tag": {t: int(metrics[f"tag_{i}"]) for i, t in enumerate(tags)},
        "rules": len(rules),
        "output": destination,
        "seconds": round(time.monotonic() - started, 1),
    }


# --------------------------------------------------------------------------------------------
# Glue bootstrap
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str]) -> None:
    args = common.parse_args(
        argv,
        required=["INPUT_PATH", "RULES_PATH"],
        optional={
            "OUTPUT_PATH": None,
            "JDBC_CONNECTION_NAME": None,
            "JDBC_URL": None,
            "JDBC_TABLE": None,
            # Every job takes it; typed Parquet input has no unparseable rows, so it stays unused.
            "REJECTED_PATH": None,
        },
    )
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
    )
    common.emit_summary(JOB, counts)
    job.commit()


if __name__ == "__main__":
    common.run_main(main)
