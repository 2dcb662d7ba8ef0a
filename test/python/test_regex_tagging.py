"""regex_tagging: rules validated and applied as one JVM expression, tags as an array, Parquet
or JDBC output (Derby in memory, the driver Spark ships), credentials from Secrets Manager."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import regex_tagging as tagging
from support import common, run_script, summary_of, write_bytes

RULES = (
    "tag,column,pattern\n"
    'email,body,"(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}"\n'
    "refund,body,(?i)\\brefund\n"
    "urgent,subject,(?i)urgent|asap\n"
    '"card, visa",body,\\b4[0-9]{15}\\b\n'
    "refund,subject,(?i)money back\n"
)
MESSAGES = [
    ("m1", "URGENT: help", "mail me at Ana.B@example.com please"),
    ("m2", "hello", "I want a REFUND, card 4111111111111111"),
    ("m3", "asap money back", "refund now"),
    ("m4", "nothing", "plain text"),
    ("m5", None, None),
]


@pytest.fixture()
def inputs(spark, tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "in"
    spark.createDataFrame(MESSAGES, "id string, subject string, body string").coalesce(
        2
    ).write.parquet(str(data))
    return data, write_bytes(tmp_path / "rules.csv", RULES)


def test_rows_are_tagged_in_rule_order(spark, inputs, tmp_path: Path):
    data, rules = inputs
    out = tmp_path / "out"
    counts = tagging.run(spark, str(data), str(rules), output_path=str(out))
    assert (counts["read"], counts["written"], counts["rejected"]) == (5, 5, 0)
    assert counts["tagged"] == 3
    assert counts["per_tag"] == {"email": 1, "refund": 2, "urgent": 2, "card, visa": 1}
    df = spark.read.parquet(str(out))
    assert dict(df.dtypes)["tags"] == "array<string>"
    tags = {r.id: r.tags for r in df.collect()}
    assert tags == {
        "m1": ["email", "urgent"],
        "m2": ["refund", "card, visa"],
        "m3": ["refund", "urgent"],
        "m4": [],
        "m5": [],
    }
    # A rerun replaces the output.
    tagging.run(spark, str(data), str(rules), output_path=str(out))
    assert spark.read.parquet(str(out)).count() == 5


def test_bad_rules_are_named(spark, inputs, tmp_path: Path):
    data, _ = inputs
    rules = write_bytes(
        tmp_path / "bad.csv",
        "Tag,Column,Pattern\nok,BODY,x\nbroken,body,(unclosed\nwhere,nope,x\n,body,\n",
    )
    with pytest.raises(common.JobInputError) as err:
        tagging.run(spark, str(data), str(rules), output_path=str(tmp_path / "o"))
    text = str(err.value)
    assert "rule 2 (tag 'broken', column 'body'): invalid regular expression '(unclosed': " in text
    assert "Unclosed group" in text
    assert "rule 3 (tag 'where', column 'nope'): no such column" in text
    assert "rule 4 (tag '', column 'body'): the tag is empty" in text
    assert "rule 4 (tag '', column 'body'): the pattern is empty" in text
    assert "rule 1" not in text
    assert not (tmp_path / "o").exists()

    no_header = write_bytes(tmp_path / "h.csv", "name,regex\na,b\n")
    with pytest.raises(common.JobInputError, match="missing tag, column, pattern"):
        tagging.run(spark, str(data), str(no_header), output_path=str(tmp_path / "o"))
    unquoted = write_bytes(tmp_path / "u.csv", "tag,column,pattern\nx,body,a{2,}\n")
    with pytest.raises(common.JobInputError, match=r"rule 1 \(tag 'x'\) has more fields"):
        tagging.run(spark, str(data), str(unquoted), output_path=str(tmp_path / "o"))
    with pytest.raises(common.JobInputError, match="exactly one output"):
        tagging.run(spark, str(data), str(no_header))


def test_jdbc_output_to_an_embedded_database(spark, inputs):
    data, rules = inputs
    target = tagging.JdbcTarget("jdbc:derby:memory:tagging_test;create=true")
    for _ in range(2):  # the second run must replace, not append
        counts = tagging.run(spark, str(data), str(rules), jdbc=target, jdbc_table="TAGGED")
    assert counts["written"] == 5 and counts["output"].endswith("table TAGGED")
    back = spark.read.jdbc(target.url, "TAGGED", properties=target.options())
    rows = {r.id: json.loads(r.tags) for r in back.collect()}
    assert len(rows) == 5
    assert rows["m2"] == ["refund", "card, visa"]


def test_jdbc_credentials_come_from_secrets_manager(moto_endpoint: str):
    glue = boto3.client("glue", endpoint_url=moto_endpoint)
    secrets = boto3.client("secretsmanager", endpoint_url=moto_endpoint)
    arn = secrets.create_secret(
        Name="tagging/pg", SecretString=json.dumps({"username": "tagger", "password": "s3cret"})
    )["ARN"]
    glue.create_connection(
        ConnectionInput={
            "Name": "pg-tagging",
            "ConnectionType": "JDBC",
            "ConnectionProperties": {
                "JDBC_CONNECTION_URL": "jdbc:postgresql://db.internal:5432/analytics",
                "SECRET_ID": arn,
            },
        }
    )
    target = tagging.jdbc_target_from_glue("pg-tagging", glue, secrets)
    assert target == tagging.JdbcTarget(
        "jdbc:postgresql://db.internal:5432/analytics", "tagger", "s3cret"
    )
    assert target.options()["driver"] == "org.postgresql.Driver"
    with pytest.raises(common.JobInputError, match="Glue connection 'missing' does not exist"):
        tagging.jdbc_target_from_glue("missing", glue, secrets)


@pytest.mark.slow
def test_runs_as_a_command_line_script(inputs, tmp_path: Path):
    data, rules = inputs
    proc = run_script(
        "regex_tagging.py",
        "--INPUT_PATH",
        str(data),
        "--RULES_PATH",
        str(rules),
        "--OUTPUT_PATH",
        str(tmp_path / "cli"),
        "--REJECTED_PATH",
        str(tmp_path / "rejected"),
    )
    summary = summary_of(proc)
    assert (summary["read"], summary["written"], summary["tagged"]) == (5, 5, 3)
    assert summary["rejected"] == 0 and not (tmp_path / "rejected").exists()
