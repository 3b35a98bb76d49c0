"""Every store and OS failure is one typed line with a stable code, never a traceback, and a damaged store is
left exactly as it was found."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from engine.store import RunStore
from interfaces import StoreError

ROOT = Path(__file__).parents[2]
QUAD = ROOT / "tests" / "engine" / "data" / "quad.py"


def cli(*args, timeout=300):
    done = subprocess.run([sys.executable, "-m", "engine.run", "script", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout + done.stderr


def assert_one_typed_line(rc, out, code):
    assert rc == 2, out
    assert "Traceback" not in out, out
    errors = [line for line in out.splitlines() if line.startswith("error ")]
    assert len(errors) == 1 and f"[{code}]" in errors[0], out


def new_run(runs: Path, *extra) -> Path:
    rc, out = cli(QUAD, "--metric", "loss", "--provider", "heuristic", "--levels", "1", "--iterations", "2",
                  "--run-dir", runs, *extra)
    assert rc == 0, out
    return next(p for p in runs.iterdir() if (p / "run.sqlite").exists())


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    return new_run(tmp_path_factory.mktemp("runs"))


@pytest.fixture
def run_copy(finished_run, tmp_path) -> Path:
    target = tmp_path / "runs" / finished_run.name
    shutil.copytree(finished_run, target)
    return target


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_store_with_overwritten_pages_is_refused_and_left_untouched(run_copy):
    db = run_copy / "run.sqlite"
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) >= 3 * page
    data[page:3 * page] = b"\xde\xad\xbe\xef" * (2 * page // 4)  # pages 2 and 3: the schema's tables
    db.write_bytes(bytes(data))
    before = digest(db)
    rc, out = cli("--resume", run_copy.name, "--run-dir", run_copy.parent)
    assert_one_typed_line(rc, out, "store-corrupt")
    assert digest(db) == before


def test_an_empty_store_file_is_refused_not_given_a_new_schema(run_copy):
    db = run_copy / "run.sqlite"
    db.write_bytes(b"")
    for extra in ("run.sqlite-wal", "run.sqlite-shm"):
        (run_copy / extra).unlink(missing_ok=True)
    rc, out = cli("--resume", run_copy.name, "--run-dir", run_copy.parent)
    assert_one_typed_line(rc, out, "store-empty")
    assert db.stat().st_size == 0


@pytest.mark.parametrize("settings", ['{"task": "script", ', '[1, 2, 3]'], ids=["not-json", "wrong-shape"])
def test_stored_settings_that_do_not_parse_or_fit_are_a_typed_error(run_copy, settings):
    con = sqlite3.connect(run_copy / "run.sqlite")
    con.execute("UPDATE runs SET settings = ?", (settings,))
    con.commit()
    con.close()
    rc, out = cli("--resume", run_copy.name, "--run-dir", run_copy.parent)
    assert_one_typed_line(rc, out, "store-corrupt")


def test_a_toml_bound_of_the_wrong_type_is_a_typed_error(tmp_path):
    space = tmp_path / "space.toml"
    space.write_text('[params.LEARNING_RATE]\nlow = "small"\nhigh = 0.1\n')
    rc, out = cli(QUAD, "--metric", "loss", "--space", space, "--provider", "heuristic", "--run-dir", tmp_path)
    assert_one_typed_line(rc, out, "space-file-invalid")
    assert "params.LEARNING_RATE.low must be a number" in out


def test_a_toml_file_that_is_not_utf8_is_a_typed_error_with_its_line(tmp_path):
    space = tmp_path / "space.toml"
    space.write_bytes(b"[params.LEARNING_RATE]\n# caf\xe9\nlow = 0.001\n")
    rc, out = cli(QUAD, "--metric", "loss", "--space", space, "--provider", "heuristic", "--run-dir", tmp_path)
    assert_one_typed_line(rc, out, "space-file-not-utf8")
    assert "line 2" in out


# -- a full disk and a read-only directory, made for real with mounts (root only) ---------------------------

def _mount(*args) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def tiny_disk(tmp_path):
    target = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    target.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(target)):
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


@pytest.fixture
def read_only_dir(tmp_path):
    target = tmp_path / "readonly"
    target.mkdir()
    if not (_mount("--bind", str(target), str(target)) and _mount("-o", "remount,ro,bind", str(target))):
        subprocess.run(["umount", "-l", str(target)], capture_output=True)
        pytest.skip("a read-only bind mount needs root")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


def _fill(disk: Path) -> None:
    with (disk / "filler").open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass


def test_a_full_disk_under_the_store_is_disk_full_and_loses_nothing_committed(tiny_disk):
    store = RunStore.open(tiny_disk)
    store.create_run("r", task="t", settings={}, provider="p", model="m")
    store.set_state("r", "kept", 1)
    _fill(tiny_disk)
    with pytest.raises(StoreError) as full:
        for i in range(10_000):
            store.set_state("r", f"k{i}", "x" * 8192)
    assert full.value.code == "disk-full" and "\n" not in str(full.value)
    assert store.get_state("r", "kept") == 1
    store.close()
    (tiny_disk / "filler").unlink()
    with RunStore.open(tiny_disk) as reopened:
        assert reopened.integrity_check() == ["ok"] and reopened.get_state("r", "kept") == 1


def test_a_full_disk_during_a_resume_is_one_typed_line(tiny_disk):
    run_dir = new_run(tiny_disk)
    before = [t.to_dict() for t in RunStore.open(run_dir).trials(run_dir.name)]
    _fill(tiny_disk)
    rc, out = cli("--resume", run_dir.name, "--run-dir", tiny_disk)
    assert rc == 2 and "Traceback" not in out, out
    assert "[disk-full]" in out, out
    (tiny_disk / "filler").unlink()
    with RunStore.open(run_dir) as store:
        assert [t.to_dict() for t in store.trials(run_dir.name)] == before


def test_a_read_only_runs_directory_is_one_typed_line(read_only_dir):
    rc, out = cli(QUAD, "--metric", "loss", "--provider", "heuristic", "--run-dir", read_only_dir / "runs")
    assert_one_typed_line(rc, out, "run-dir-unwritable")


def test_resuming_a_run_in_a_read_only_directory_is_one_typed_line(finished_run, tmp_path):
    target = tmp_path / "frozen"
    shutil.copytree(finished_run.parent, target)
    if not (_mount("--bind", str(target), str(target)) and _mount("-o", "remount,ro,bind", str(target))):
        subprocess.run(["umount", "-l", str(target)], capture_output=True)
        pytest.skip("a read-only bind mount needs root")
    try:
        before = digest(target / finished_run.name / "run.sqlite")
        rc, out = cli("--resume", finished_run.name, "--run-dir", target)
        assert_one_typed_line(rc, out, "store-read-only")
        assert digest(target / finished_run.name / "run.sqlite") == before
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)
