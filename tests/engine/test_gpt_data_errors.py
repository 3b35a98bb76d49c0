"""`python -m engine.run gpt --data` with data that cannot train: one line with a code, exit 2, no run."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.run import app

ROOT = Path(__file__).parents[2]


def files(folder: Path, count: int, text: str) -> Path:
    folder.mkdir()
    for i in range(1, count + 1):
        (folder / f"f{i}.txt").write_text(text)
    return folder


def tiny_file(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("hello world\n")
    return path


def empty_file(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("")
    return path


def binary_file(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(bytes(range(256)) * 4)
    return path


CASES = {
    "a tiny file": (tiny_file, "too-few-documents"),
    "two small files": (lambda tmp: files(tmp / "two", 2, "doc text\n"), "too-few-documents"),
    "nine small files": (lambda tmp: files(tmp / "nine", 9, "doc text here\n"), "too-few-documents"),
    "sixty tiny files": (lambda tmp: files(tmp / "sixty", 60, "tiny text\n"), "too-little-data"),
    "an empty file": (empty_file, "empty-document"),
    "a binary file": (binary_file, "data-not-text"),
    "a missing path": (lambda tmp: tmp / "nope", "data-not-found"),
}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GPT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GPT_DATA_DIR", raising=False)
    return tmp_path / "cache"


@pytest.mark.parametrize("case", list(CASES))
def test_data_that_cannot_train_is_one_line_before_any_run(tmp_path, cache, case):
    make, code = CASES[case]
    data = make(tmp_path)
    result = CliRunner().invoke(app, ["gpt", "--data", str(data), "--provider", "heuristic", "--iterations", "1",
                                      "--run-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error [{code}] "), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "runs").exists()


def test_the_real_command_prints_one_line_and_no_traceback(tmp_path):
    data = files(tmp_path / "nine", 9, "doc text here\n")
    env = {**os.environ, "GPT_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("GPT_DATA_DIR", None)
    proc = subprocess.run([sys.executable, "-m", "engine.run", "gpt", "--data", str(data), "--provider", "heuristic",
                           "--run-dir", str(tmp_path / "runs")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 2, output
    assert len(output.splitlines()) == 1 and output.startswith("error [too-few-documents] "), output
    assert "give more files" in output and "Traceback" not in output
    assert not (tmp_path / "runs").exists()


def test_enough_data_passes_the_check_and_is_prepared_once(tmp_path, cache):
    from engine.tasks import load_task

    data = files(tmp_path / "docs", 60, "a line of text that is long enough. " * 10)
    task = load_task("gpt", data=str(data))
    assert (task.data_dir() / "meta.json").is_file()
    assert [p.name for p in cache.iterdir() if p.is_dir()] == [task.data_dir().name]
