"""regex_tagging's literal prefilter: a rule's regex runs only on values holding a literal its
pattern needs. The reference is Java's own regex engine, called directly (java.util.regex, the
engine Spark's rlike uses), on random patterns and texts: whenever Java finds a match, the
prefilter must have let the value through, and the job's tags must equal Java's per-rule finds.
"""

from __future__ import annotations

import random

import pytest
import regex_tagging as tagging
from pyspark.sql import functions as F

Lit = tagging.Literal


@pytest.mark.parametrize(
    ("pattern", "needs"),
    [
        (r"(?i)\bterm007\b", {Lit("term007", True)}),
        (r"refund", {Lit("refund", False)}),
        (r"(?i)urgent|asap", {Lit("urgent", True), Lit("asap", True)}),
        (r"a\.b\*c", {Lit("a.b*c", False)}),
        (r"^x{2,3}y", {Lit("y", False)}),
        (r"ab?c", {Lit("a", False)}),
        (r"(?i:abc)de", {Lit("abc", True)}),
        (r"ab(?i)cd", {Lit("ab", False)}),
        (r"(?:foo|bar)\d+", {Lit("foo", False), Lit("bar", False)}),
        (r"\Qa.b\E", {Lit("a.b", False)}),
        (r"[a-z]+@[a-z]+\.com", {Lit(".com", False)}),
        # Nothing is known for sure: the regex alone decides.
        (r"foo|\d+", None),
        (r"(?iu)été", None),
        (r"(?x)a b", None),
        (r"(a)\1", None),
        (r"\x41", None),
        (r"[[a-z]&&[^b]]xyz", None),
        (r"(?=abc)", None),
        (r"(abc)?", None),
        (r".*", None),
    ],
)
def test_required_literals(pattern, needs):
    found = tagging.required_literals(pattern)
    assert (set(found) if found is not None else None) == needs


# Pieces of Java regex syntax, modelled and not, with the characters that make case and
# Unicode matter: a Kelvin sign (folds to k only with the u flag), a Turkish dotted I, a final
# sigma (lowers differently at a word's end), an emoji (a surrogate pair in Java).
PIECES = [
    "a", "b", "K", "k", "\u212a", "I", "i", "\u0130", "\u03a3", "\u03c2", "\U0001f642", "x",
    ".", "\\.", "\\b", "^", "$", "\\d", "\\s", "\\w", "[ab]", "[^a]", "[a-c]", "?", "*", "+",
    "{2}", "{0,1}", "+?", "|", "(", "(?:", "(?i)", "(?-i)", "(?i:", "(?=", "(?!", "(?<n>", ")",
    "\\Q", "\\E", "\\t", "\\x41", "\\1", "(?u)", "(?iu)",
]  # fmt: skip
ALPHABET = ["a", "b", "K", "k", "\u212a", "I", "i", "\u0130", "\u03a3", "\u03c2", "x", " ",
            "\U0001f642", "1", ".", "\t", "A", "B", "X"]  # fmt: skip


def balanced(pattern: str) -> bool:
    """False only for patterns Java cannot compile, an unbalanced parenthesis outside ``\\Q``:
    skipping them saves a cross-process exception each (seconds over the run)."""
    if "\\Q" in pattern:
        return True
    depth = 0
    for ch in pattern:
        depth += (ch == "(") - (ch == ")")
        if depth < 0:
            return False
    return depth == 0


def test_prefilter_never_hides_a_java_match(spark):
    """Random patterns that Java compiles, random texts: no text Java finds a match in is one the
    prefilter would skip."""
    pattern_class = spark.sparkContext._jvm.java.util.regex.Pattern
    rng = random.Random(10)
    pairs = []
    filtered = 0
    for _ in range(3000):
        pattern = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 7)))
        if not balanced(pattern):
            continue
        try:
            pattern_class.compile(pattern)
        except Exception:
            continue
        filtered += tagging.required_literals(pattern) is not None
        for _ in range(6):
            text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12)))
            # Plant a literal run from the pattern half the time, so matches are frequent.
            if rng.random() < 0.5:
                plain = "".join(c for c in pattern if c.isalnum() or c == " ")
                at = rng.randint(0, len(text))
                text = text[:at] + plain + text[at:]
            pairs.append((pattern, text))
    # Java's matcher on every pair in one Spark job (rlike with a per-row pattern is
    # Pattern.compile(pattern).matcher(text).find()), instead of a py4j round trip per pair.
    df = spark.createDataFrame(
        list(enumerate(pairs)), "i int, p struct<pattern:string,text:string>"
    )
    found = {r.i for r in df.where(F.expr("p.text RLIKE p.pattern")).select("i").collect()}
    for i, (pattern, text) in enumerate(pairs):
        needs = tagging.required_literals(pattern)
        if i in found and needs is not None:
            folded = text.translate(tagging._ASCII_LOWER)
            assert any(
                (n.text.translate(tagging._ASCII_LOWER) in folded)
                if n.ignore_case
                else (n.text in text)
                for n in needs
            ), (pattern, text, needs)
    # The run exercised both outcomes, and most patterns got a prefilter.
    checked, matched = len(pairs), len(found)
    assert matched > 500 and checked - matched > 500 and filtered > 300, (
        checked,
        matched,
        filtered,
    )


def test_tags_equal_java_finds(spark, tmp_path):
    """The job's tag expression against Java's matcher called per rule and per value."""
    rng = random.Random(11)
    jvm = spark.sparkContext._jvm
    patterns = [
        r"(?i)\bkk\b",
        r"(?i)ab|ba",
        r"a\.b",
        r"(?i:ik)x",
        "\u03a3\u03c2",
        r"\d{2}a",
        r"(?i)\u212a",
        r"(?iu)k",
        r"(?i)i",
        "\U0001f642a",
    ]
    rules = [tagging.Rule(i + 1, f"t{i}", "body", p) for i, p in enumerate(patterns)]
    rules.append(tagging.Rule(len(rules) + 1, "num", "n", r"^1\d"))
    rows = []
    for i in range(400):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 16)))
        rows.append((i, None if i % 37 == 0 else text, rng.randrange(200)))
    df = spark.createDataFrame(rows, "id int, body string, n int")
    got = {r.id: r.tags for r in tagging.tag(df, rules).collect()}
    compiled = [(r, jvm.java.util.regex.Pattern.compile(r.pattern)) for r in rules]
    for i, body, n in rows:
        values = {"body": body, "n": str(n)}
        want = [
            r.tag
            for r, c in compiled
            if values[r.column] is not None and c.matcher(values[r.column]).find()
        ]
        assert got[i] == want, (body, n)
