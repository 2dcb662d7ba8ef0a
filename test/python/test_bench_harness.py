"""The bench harness times real processes, interleaved, and computes medians and ratios from
those runs; it checks outputs against the shape's own row count."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import harness  # noqa: E402


def lines(folder: Path, n: int) -> int:
    (folder / "data.txt").write_text("".join(f"{i}\n" for i in range(n)))
    return n


def copy_after(seconds: float) -> harness.Contender:
    """Sleeps, then copies the input's lines to its output (and logs its start for ordering)."""

    def command(src: Path, dst: Path) -> list[str]:
        code = (
            "import sys, time, pathlib; src, dst, log = map(pathlib.Path, sys.argv[1:]); "
            f"open(log, 'a').write('{seconds}\\n'); time.sleep({seconds}); dst.mkdir(); "
            "(dst / 'out.txt').write_text((src / 'data.txt').read_text())"
        )
        return [sys.executable, "-c", code, str(src), str(dst), str(src.parent / "order.log")]

    def count(dst: Path) -> int:
        return len((dst / "out.txt").read_text().splitlines())

    return harness.Contender(name=f"c{seconds}", command=command, count_rows=count)


def test_medians_and_ratios_come_from_real_interleaved_runs(tmp_path) -> None:
    naive, job, duck = copy_after(0.6), copy_after(0.3), copy_after(0.0)
    contenders = [
        harness.Contender(harness.NAIVE, naive.command, naive.count_rows),
        harness.Contender(harness.JOB, job.command, job.count_rows),
        harness.Contender(harness.DUCKDB, duck.command, duck.count_rows),
    ]
    shapes = [harness.Shape("lines", lines, size=1000, quick_size=25)]
    results_file = tmp_path / "results.jsonl"
    argv = ["--quick", "--repeats", "3", "--results", str(results_file)]
    (row,) = harness.run("toy", shapes, contenders, argv, out=tmp_path)
    order = (tmp_path / "toy" / "lines-25" / "order.log").read_text().split()
    assert order == ["0.6", "0.3", "0.0"] * 3  # interleaved, not grouped
    assert row["rows"] == 25 and row["repeats"] == 3
    s = row["seconds"]
    assert s["naive"] >= 0.6 and s["job"] >= 0.3 and s["naive"] > s["job"] > s["duckdb"] > 0
    assert row["naive/job"] == round(s["naive"] / s["job"], 2)
    assert row["job/duckdb"] == round(s["job"] / s["duckdb"], 2)
    assert [json.loads(x) for x in results_file.read_text().splitlines()] == [row]
    table = harness.table([row])
    assert "naive/job" in table and "toy" in table and str(s["job"]) in table


def test_a_contender_with_the_wrong_row_count_fails_the_bench(tmp_path) -> None:
    def drops_a_row(src: Path, dst: Path) -> list[str]:
        code = (
            "import sys, pathlib; s, d = map(pathlib.Path, sys.argv[1:]); d.mkdir(); "
            "(d / 'out.txt').write_text(''.join((s / 'data.txt').read_text().splitlines(True)[1:]))"
        )
        return [sys.executable, "-c", code, str(src), str(dst)]

    contender = harness.Contender("job", drops_a_row, copy_after(0).count_rows)
    with pytest.raises(harness.BenchError, match="job wrote 9 rows, the input has 10"):
        harness.measure(
            "toy", [harness.Shape("s", lines, 10, 10)], [contender], repeats=1, out=tmp_path
        )


def test_combined_table_reads_every_results_file(tmp_path, capsys) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    row = {"job": "j1", "shape": "s", "input_mb": 1.0, "rows": 5, "repeats": 2}
    extra = {"naive/job": 2.0, "job/duckdb": 1.5, "load": 0.5}
    a.write_text(json.dumps({**row, "seconds": {"job": 1.0, "naive": 2.0}, **extra}) + "\n")
    b.write_text(json.dumps({**row, "job": "j2", "seconds": {"job": 3.0}, **extra}) + "\n")
    harness.main(["--table", str(a), str(b)])
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:6] == ["job", "shape", "input", "MB", "rows", "job"]
    assert out[2].split()[0] == "j1" and out[3].split()[0] == "j2"
    assert out[3].split()[4:6] == ["3", "-"]  # j2 has no naive run
