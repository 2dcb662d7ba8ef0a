"""The scripts parse their arguments by the contracts generated from the pipeline declarations."""

from __future__ import annotations

import importlib
import re

import pytest
from support import REPO, SCRIPTS, common

SCRIPT_FILES = sorted(p for p in SCRIPTS.glob("*.py") if p.name != "glue_etl_common.py")


def _declared_scripts() -> dict[str, str]:
    """Script file → pipeline, read from the declaration files themselves (not the contracts)."""
    found: dict[str, str] = {}
    for decl in sorted((REPO / "pipelines").glob("*.ts")):
        if decl.name == "index.ts":
            continue
        script = re.search(r'script: "([a-z0-9_]+\.py)"', decl.read_text())
        assert script, f"{decl.name} declares no script"
        found[script.group(1)] = decl.stem
    return found


def test_every_job_script_has_a_contract_and_every_contract_a_script():
    declared = _declared_scripts()
    assert sorted(declared) == sorted(p.name for p in SCRIPT_FILES)
    assert {f"{s[:-3]}": p for s, p in declared.items()} == {
        k: v["pipeline"] for k, v in common.CONTRACTS["scripts"].items()
    }


@pytest.mark.parametrize("path", SCRIPT_FILES, ids=lambda p: p.stem)
def test_each_script_takes_its_arguments_from_its_contract(path):
    source = path.read_text()
    # The JOB constant names the contract; no script lists its own arguments.
    assert "common.job_args(argv, JOB)" in source
    assert "required=" not in source
    module = importlib.import_module(path.stem)
    assert path.stem == module.JOB


def test_missing_unknown_and_default_arguments_follow_the_contract():
    contract = common.CONTRACTS["scripts"]["regex_tagging"]
    required = contract["required"]
    with pytest.raises(common.JobInputError, match="missing required argument") as missing:
        common.job_args(["x"], "regex_tagging")
    for name in required:
        assert f"--{name}" in str(missing.value)
    given = [a for name in required for a in (f"--{name}", f"v-{name}")]
    with pytest.raises(common.JobInputError, match="unknown argument --NOT_IN_CONTRACT"):
        common.job_args(["x", *given, "--NOT_IN_CONTRACT", "1"], "regex_tagging")
    args = common.job_args(
        ["x", *given, "--METRICS_NAMESPACE", "N", "--JOB_NAME", "j"], "regex_tagging"
    )
    assert {n: args[n] for n in required} == {n: f"v-{n}" for n in required}
    # Optional arguments start at the contract's defaults.
    for name, default in contract["optional"].items():
        assert args[name] == default
    assert args["TAGS_COLUMN"] == "tags"


def test_a_script_without_a_contract_is_refused_with_what_to_do():
    with pytest.raises(
        common.JobInputError, match=r"no argument contract for script 'nope'.*pipelines/"
    ):
        common.job_args(["x"], "nope")
