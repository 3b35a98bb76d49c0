"""The run directory layout and its atomic file writes."""

from __future__ import annotations

import pytest

from engine.store import RunPaths, RunStore, StoreError


def test_layout_and_store_location(tmp_path):
    paths = RunPaths.for_run(tmp_path, "2024-06-01_gpt").create()
    assert paths.root == tmp_path / "2024-06-01_gpt" and paths.run_id == "2024-06-01_gpt"
    assert paths.transcripts.is_dir()
    with RunStore.open(paths.root) as store:
        assert store.path == paths.store
    assert paths.store.exists()
    assert {paths.report.name, paths.progress.name, paths.best_script.name} == {
        "report.md",
        "progress.png",
        "best_train.py",
    }


def test_best_script_and_transcripts_are_replaced_whole(tmp_path):
    paths = RunPaths.for_run(tmp_path, "r").create()
    paths.write_best_script("LR = 0.1\n")
    paths.write_best_script("LR = 0.2\n")
    assert paths.best_script.read_text() == "LR = 0.2\n"
    written = paths.write_transcript("level2-session-0.md", "# Explore\n")
    assert written.read_text() == "# Explore\n" and written.parent == paths.transcripts
    assert sorted(p.name for p in paths.root.iterdir()) == [
        "best_train.py",
        "transcripts",
    ]  # no temp files left


@pytest.mark.parametrize("name", ["../evil.md", "a/b.md", "", ".hidden", "/etc/passwd"])
def test_transcript_names_cannot_escape(tmp_path, name):
    paths = RunPaths.for_run(tmp_path, "r").create()
    with pytest.raises(StoreError) as raised:
        paths.write_transcript(name, "x")
    assert raised.value.code == "bad-transcript-name"


@pytest.mark.parametrize("run_id", ["..", "../up", "a/b", ""])
def test_run_ids_cannot_escape(tmp_path, run_id):
    with pytest.raises(StoreError) as raised:
        RunPaths.for_run(tmp_path, run_id)
    assert raised.value.code == "bad-run-id"
