"""Atomic outputs: a reader sees the old or the new output, whatever step a run dies at, and the
next run's recovery restores and cleans up. Expected contents are the files the test wrote."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import glue_etl_common as common
import pytest
from support import REPO, SCRIPTS, read_json_lines


class Killed(BaseException):
    """Stands for the process dying: nothing after it runs (not even except Exception)."""


def write_tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def visible(root: Path) -> dict[str, str]:
    """What a reader of ``root`` sees: every file below it outside hidden (``_``/``.``) names."""
    if not root.exists():
        return {}
    out = {}
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if p.is_file() and not any(part.startswith(("_", ".")) for part in rel.parts):
            out[rel.as_posix()] = p.read_text()
    return out


def leftovers(parent: Path) -> list[str]:
    return sorted(
        p.relative_to(parent).as_posix()
        for p in parent.rglob("*")
        if p.name.startswith((common.STAGING_PREFIX, common.PREVIOUS_PREFIX))
    )


def die_after(monkeypatch: pytest.MonkeyPatch, steps: int) -> list[str]:
    """Make the (steps+1)-th rename or delete kill the run, and every one after it (in any
    thread: partitions are swapped concurrently, and a killed process takes all its threads);
    returns the steps that completed."""
    done: list[str] = []
    real_rename, real_delete = common._rename, common._delete
    lock = threading.Lock()
    started = 0

    def step(name, real):
        def run(spark, *paths):
            nonlocal started
            with lock:
                if started >= steps:
                    raise Killed(name)
                started += 1
            real(spark, *paths)
            with lock:
                done.append(name)

        return run

    monkeypatch.setattr(common, "_rename", step("rename", real_rename))
    monkeypatch.setattr(common, "_delete", step("delete", real_delete))
    return done


OLD = {"part-0.json": '{"v": "old-0"}\n', "part-1.json": '{"v": "old-1"}\n', "_SUCCESS": ""}
NEW = {"part-0.json": '{"v": "new-0"}\n', "_SUCCESS": ""}


def test_staging_is_a_hidden_sibling() -> None:
    assert common.staging_path("s3://b/tables/sales/", "r1") == "s3://b/tables/_staging.sales.r1/"
    assert common.staging_path("/data/out", "r1") == "/data/_staging.out.r1/"
    with pytest.raises(ValueError, match="run id"):
        common.staging_path("/data/out", "a.b")
    with pytest.raises(common.JobInputError, match="below a parent"):
        common.staging_path("out", "r1")
    with pytest.raises(common.JobInputError, match="not a bucket root"):
        common.staging_path("s3://bucket/", "r1")


@pytest.mark.parametrize("had_old", [True, False])
def test_publish_survives_a_kill_at_every_step(spark, tmp_path, monkeypatch, had_old) -> None:
    old = OLD if had_old else {}
    total = 3 if had_old else 1
    for k in range(total + 1):
        case = tmp_path / f"k{k}"
        dest = case / "out"
        write_tree(dest, old)
        staging = common.staging_path(str(dest), "run1")
        write_tree(Path(staging), NEW)
        done = die_after(monkeypatch, k)
        try:
            common.publish(spark, staging, str(dest))
        except Killed:
            assert k < total
        else:
            assert k == total
        assert len(done) == k
        monkeypatch.undo()
        # Before recovery a reader sees old or new, or (only between the two renames) nothing
        # while the complete old output sits beside it.
        seen = visible(dest)
        assert seen in (visible_of(old), visible_of(NEW)) or (
            seen == {} and visible(case / "_previous.out.run1") == visible_of(old)
        )
        report = common.recover(spark, str(dest))
        assert visible(dest) in (visible_of(old), visible_of(NEW)), f"killed after step {k}"
        assert leftovers(case) == [], report
    # Killing at the very end of the last case means the new output won.
    assert visible(tmp_path / f"k{total}" / "out") == visible_of(NEW)


def visible_of(files: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in files.items() if not k.startswith("_")}


OLD_PARTS = {
    "year=2023/month=1/a.json": "old 2023-1\n",
    "year=2024/month=1/a.json": "old 2024-1\n",
    "year=2024/month=2/a.json": "old 2024-2\n",
    "year=2024/month=2/b.json": "old 2024-2 b\n",
}
NEW_PARTS = {
    "year=2024/month=2/a.json": "new 2024-2\n",
    "year=2024/month=3/a.json": "new 2024-3\n",
    "year=2025/month=1/a.json": "new 2025-1\n",
    "_SUCCESS": "",
}


def partitions(files: dict[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for rel, text in files.items():
        part, _, name = rel.rpartition("/")
        if part:
            out.setdefault(part, {})[name] = text
    return out


def test_publish_partitions_survives_a_kill_at_every_step(spark, tmp_path, monkeypatch) -> None:
    old, new = partitions(OLD_PARTS), partitions(NEW_PARTS)
    expected_after = {**old, **new}
    # Per new partition: move beside target, [rename old aside], rename in, [delete old]; then
    # delete the staging root.
    total = sum(4 if p in old else 2 for p in new) + 1
    for k in range(total + 1):
        case = tmp_path / f"k{k}"
        dest = case / "sales"
        write_tree(dest, OLD_PARTS)
        staging = common.staging_path(str(dest), "run7")
        write_tree(Path(staging), NEW_PARTS)
        done = die_after(monkeypatch, k)
        try:
            replaced = common.publish_partitions(spark, staging, str(dest))
            assert sorted(replaced) == sorted(new)
        except Killed:
            assert k < total
        assert len(done) == min(k, total)
        monkeypatch.undo()
        common.recover(spark, str(dest))
        seen = partitions(visible(dest))
        assert leftovers(case) == [], f"killed after step {k}"
        # Untouched partitions keep their files; each replaced one is wholly old or wholly new.
        for part in expected_after:
            if part in new:
                allowed = [new[part]] + ([old[part]] if part in old else [None])
                assert seen.get(part) in allowed, (k, part, seen.get(part))
            else:
                assert seen[part] == old[part]
        assert set(seen) <= set(expected_after)
        if k == total:
            assert seen == expected_after


def test_spark_readers_skip_staging_and_previous(spark, tmp_path) -> None:
    dest = tmp_path / "t"
    spark.createDataFrame([(1, "a"), (2, "b")], "id int, k string").write.partitionBy("k").json(
        str(dest)
    )
    # Leftovers of a killed run inside the table location must not change what readers see.
    write_tree(Path(common.staging_path(str(dest / "k=a" / "x=1"), "r1")), {"p.json": '{"id": 9}'})
    write_tree(Path(common._previous_path(str(dest / "k=b"), "r1")), {"p.json": '{"id": 8}'})
    rows = sorted(r.id for r in spark.read.json(str(dest)).collect())
    assert rows == [1, 2]
    report = common.recover(spark, str(dest))
    assert sorted(Path(p).name for p in report["removed"]) == [
        "_previous.k%3Db.r1",
        "_staging.x%3D1.r1",
    ]
    assert report["restored"] == []


def test_recover_restores_a_missing_output_from_the_newest_previous(spark, tmp_path) -> None:
    write_tree(tmp_path / "_previous.out.20240101T000000-aaaa", {"a": "older"})
    time.sleep(0.01)
    write_tree(tmp_path / "_previous.out.20240102T000000-bbbb", {"a": "newer"})
    write_tree(tmp_path / "_staging.out.20240102T000000-bbbb", {"a": "unpublished"})
    write_tree(tmp_path / "_previous.out.v2.r1", {"a": "another table's"})
    report = common.recover(spark, str(tmp_path / "out"))
    assert (tmp_path / "out" / "a").read_text() == "newer"
    assert report["restored"] == [str(tmp_path / "out")]
    assert len(report["removed"]) == 2
    assert leftovers(tmp_path) == ["_previous.out.v2.r1"]


CHILD = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
import glue_etl_common as common

dest, tag, pause = sys.argv[2], sys.argv[3], os.environ.get("PAUSE_AT", "")
spark = common.local_spark("atomic-child", "local[1]")
spark.sparkContext.setLogLevel("ERROR")
print("RECOVERED", common.recover(spark, dest), flush=True)
real_rename = common._rename

def rename(spark, src, dst):
    real_rename(spark, src, dst)
    if pause == "renamed":
        print("PAUSED", flush=True)
        time.sleep(600)

common._rename = rename

def slow(i):
    if pause == "write":
        time.sleep(0.5)
    return (i, tag)

staging = common.staging_path(dest, common.new_run_id())
if pause == "write":
    print("PAUSED", flush=True)
spark.sparkContext.parallelize(range(40), 4).map(slow).toDF("id int, tag string") \
    .write.json(staging)
common.publish(spark, staging, dest)
print("DONE", flush=True)
"""


def run_child(script: Path, dest: Path, tag: str, pause: str = "") -> str:
    """Runs the child; with ``pause`` it is SIGKILLed (with its JVM) once it reports PAUSED."""
    env = {**os.environ, "PAUSE_AT": pause}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(SCRIPTS), str(dest), tag],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    out = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.append(line)
            if pause and line.startswith("PAUSED"):
                # Mid-write: once Spark has created its first task attempt under staging.
                deadline = time.monotonic() + 120
                while pause == "write" and time.monotonic() < deadline:
                    if any(p.is_dir() for p in dest.parent.glob("_staging.*/_temporary/*/*")):
                        break
                    time.sleep(0.1)
                os.killpg(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    text = "".join(out)
    if pause:
        assert proc.returncode == -signal.SIGKILL and "DONE" not in text, text
    else:
        assert proc.returncode == 0 and "DONE" in text, text
    return text


def tags(folder: Path) -> list[tuple[int, str]]:
    return sorted((r["id"], r["tag"]) for r in read_json_lines(folder))


@pytest.mark.slow
def test_sigkilled_runs_leave_the_previous_output_and_the_next_run_cleans_up(
    spark, tmp_path
) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    dest = tmp_path / "out"
    spark.createDataFrame([(i, "old") for i in range(7)], "id int, tag string").write.json(
        str(dest)
    )
    old = tags(dest)
    # Killed in the middle of the Spark write: the destination is untouched.
    run_child(script, dest, "a", pause="write")
    assert tags(dest) == old
    assert [p.name.split(".")[0] for p in tmp_path.iterdir() if p.name.startswith("_")] == [
        "_staging"
    ]
    # Killed right after the old output was moved aside: it is whole, beside the destination.
    text = run_child(script, dest, "b", pause="renamed")
    assert "_staging.out." in text  # this run's recovery removed the first run's staging folder
    assert not dest.exists()
    (previous,) = [p for p in tmp_path.iterdir() if p.name.startswith("_previous.out.")]
    assert tags(previous) == old
    # The next run restores, then publishes its own output, and leaves nothing behind.
    text = run_child(script, dest, "c")
    assert f"'restored': ['{dest}']" in text
    assert tags(dest) == [(i, "c") for i in range(40)]
    assert leftovers(tmp_path) == []
