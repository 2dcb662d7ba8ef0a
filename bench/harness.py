"""Bench harness: each job's real entry point, the naive approach and DuckDB on the same files,
as whole processes, interleaved, with medians and ratios.

A bench declares shapes (generated input, cached under ``bench/out/``) and contenders (argv run
with ``subprocess``, optionally checked against an independent row count) and calls
:func:`run`. ``python bench/harness.py --table FILE`` prints one table from the results files
the benches appended to (``make bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

OUT = Path(__file__).resolve().parent / "out"
# Contender names the ratio columns look for.
JOB, NAIVE, DUCKDB = "job", "naive", "duckdb"


@dataclass(frozen=True)
class Shape:
    """An input data shape: ``generate(folder, size)`` writes files and returns their row count.

    The count comes from the generator (it knows what it wrote), independent of any contender.
    """

    name: str
    generate: Callable[[Path, int], int]
    size: int
    quick_size: int


@dataclass(frozen=True)
class Contender:
    """A whole process: ``command(input_folder, output_folder)`` is its argv. ``count_rows``
    counts the rows of its output independently (e.g. with DuckDB) to check against the shape."""

    name: str
    command: Callable[[Path, Path], Sequence[str]]
    count_rows: Callable[[Path], int] | None = None


class BenchError(RuntimeError):
    pass


def prepare(job: str, shape: Shape, size: int, out: Path) -> tuple[Path, int]:
    """The shape's input folder and row count, generated once per shape and size."""
    folder = out / job / f"{shape.name}-{size}"
    marker = folder / ".rows.json"
    if marker.exists():
        return folder / "input", int(json.loads(marker.read_text())["rows"])
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "input").mkdir(parents=True)
    rows = shape.generate(folder / "input", size)
    marker.write_text(json.dumps({"rows": rows}))
    return folder / "input", rows


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def time_process(argv: Sequence[str]) -> float:
    """Wall seconds of one whole process; a failed run stops the bench with its error output."""
    start = time.perf_counter()
    proc = subprocess.run(list(argv), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise BenchError(f"{' '.join(argv)} exited {proc.returncode}: " + " | ".join(tail))
    return seconds


def ratio(num: float | None, den: float | None) -> float | None:
    return round(num / den, 2) if num and den else None


def measure(
    job: str,
    shapes: Sequence[Shape],
    contenders: Sequence[Contender],
    *,
    repeats: int = 2,
    quick: bool = False,
    out: Path = OUT,
) -> list[dict[str, Any]]:
    """For each shape, run the contenders interleaved (A B C A B C ...) ``repeats`` times."""
    results = []
    for shape in shapes:
        size = shape.quick_size if quick else shape.size
        input_folder, rows = prepare(job, shape, size, out)
        seconds: dict[str, list[float]] = {c.name: [] for c in contenders}
        for _ in range(repeats):
            for c in contenders:
                output = out / job / "runs" / f"{shape.name}-{size}" / c.name
                shutil.rmtree(output, ignore_errors=True)
                output.parent.mkdir(parents=True, exist_ok=True)
                seconds[c.name].append(time_process(c.command(input_folder, output)))
                if c.count_rows is not None:
                    got = c.count_rows(output)
                    if got != rows:
                        raise BenchError(
                            f"{job}/{shape.name}: {c.name} wrote {got} rows, the input has {rows}"
                        )
        medians = {name: round(statistics.median(s), 3) for name, s in seconds.items()}
        results.append(
            {
                "job": job,
                "shape": shape.name,
                "input_mb": round(folder_mb(input_folder), 1),
                "rows": rows,
                "repeats": repeats,
                "seconds": medians,
                "naive/job": ratio(medians.get(NAIVE), medians.get(JOB)),
                "job/duckdb": ratio(medians.get(JOB), medians.get(DUCKDB)),
                "load": round(os.getloadavg()[0], 1),
            }
        )
    return results


def table(results: Sequence[dict[str, Any]]) -> str:
    names: list[str] = []
    for r in results:
        names += [n for n in r["seconds"] if n not in names]
    headers = ["job", "shape", "input MB", "rows", *[f"{n} s" for n in names]]
    headers += ["naive/job", "job/duckdb", "load"]
    body = [
        [r["job"], r["shape"], r["input_mb"], r["rows"]]
        + [r["seconds"].get(n) for n in names]
        + [r["naive/job"], r["job/duckdb"], r["load"]]
        for r in results
    ]
    return tabulate(body, headers=headers, floatfmt="g", missingval="-")


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("--repeats", type=int, default=2, help="runs per contender (default 2)")
    p.add_argument("--results", type=Path, help="append result rows to this JSON lines file")
    return p


def run(
    job: str,
    shapes: Sequence[Shape],
    contenders: Sequence[Contender],
    argv: Sequence[str] | None = None,
    description: str = "",
    out: Path = OUT,
) -> list[dict[str, Any]]:
    """A bench's entry point: parse the harness options, measure, print and record the rows."""
    args = parser(description or f"{job} benchmark").parse_args(argv)
    if args.repeats < 1:
        raise SystemExit("error: --repeats must be at least 1")
    try:
        results = measure(job, shapes, contenders, repeats=args.repeats, quick=args.quick, out=out)
    except BenchError as e:
        raise SystemExit(f"error: {e}") from None
    print(table(results), flush=True)
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        with args.results.open("a") as f:
            f.writelines(json.dumps(r) + "\n" for r in results)
    return results


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Print one table from bench results files.")
    p.add_argument("--table", type=Path, nargs="+", required=True, help="JSON lines files")
    args = p.parse_args(argv)
    rows = [
        json.loads(line)
        for path in args.table
        if path.exists()
        for line in path.read_text().splitlines()
        if line.strip()
    ]
    print(table(rows) if rows else "no bench results")


if __name__ == "__main__":
    sys.exit(main())
