"""Helpers the tests share: writing generated files, reading outputs back, running a script the
way a user does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import glue_etl_common as common  # noqa: E402


def write_bytes(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def read_json_lines(folder: Path) -> list[dict[str, Any]]:
    """All rows of a Spark JSON output folder."""
    rows: list[dict[str, Any]] = []
    for part in sorted(folder.glob("part-*")):
        rows += [json.loads(ln) for ln in part.read_text().splitlines() if ln.strip()]
    return rows


def parquet_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.parquet"))


def run_script(script: str, *args: str, master: str = "local[2]") -> subprocess.CompletedProcess:
    """Runs ``python scripts/<script> args…`` from the repo root, as a user would."""
    return subprocess.run(
        [sys.executable, str(SCRIPTS / script), *args],
        cwd=REPO,
        env={**os.environ, "SPARK_MASTER": master},
        capture_output=True,
        text=True,
        timeout=300,
    )


def summary_of(proc: subprocess.CompletedProcess) -> dict[str, Any]:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-4000:]}"
    return common.parse_summary(proc.stdout)
