"""A short search end to end with the real 0.5B model (slow; needs the ``[local]`` extra).

The engine's own run: the local provider starts llama.cpp, Level 1 asks it for
proposals through the strict-schema client, Level 1.5 for a search config,
and the server is gone when the run ends.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunStore
from interfaces import Decision

pytestmark = pytest.mark.slow

QUAD = Path(__file__).resolve().parents[2] / "data" / "quad.py"


def _servers_started_by_this_process() -> set[int]:
    """llama.cpp server processes whose ``--parent-pid`` is this test process (others may run beside it)."""
    mine = f"--parent-pid\0{os.getpid()}\0".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes() + b"\0"
            except OSError:
                continue
            if b"engine.llm.local._serve" in command and mine in command:
                found.add(int(entry.name))
    return found


@pytest.mark.timeout(1200)
def test_short_search_with_the_real_model(small_model: Path, tmp_path: Path) -> None:
    settings = RunSettings(task="script", task_options={"path": str(QUAD), "metric": "loss"}, provider="local",
                           model="qwen-0.5b", iterations=2, levels=("1", "1.5"), outer_every=1)
    result = Run.create(settings, tmp_path).execute()
    assert result.status == "finished"
    store = RunStore.open(result.run_dir / "run.sqlite")
    try:
        trials = store.trials(result.run_id)
        calls = store.llm_calls(result.run_id)
        snapshots = store.config_snapshots(result.run_id)
    finally:
        store.close()
    assert trials[0].decision is Decision.BASELINE and trials[0].metric == pytest.approx(1.05)
    proposed = [t for t in trials[1:] if t.source == "local:qwen-0.5b"]
    assert proposed, "the real model proposed nothing"
    for trial in proposed:
        # Every answer is either a trial that ran or a rejection with its reason recorded.
        assert trial.decision is not Decision.REJECTED or ":" in trial.reason
    purposes = {call["purpose"] for call in calls}
    assert "propose" in purposes and "outer" in purposes
    assert len(snapshots) >= 1
    log = (result.run_dir / "local-model.log").read_text()
    assert "listening on http://127.0.0.1:" in log
    assert _servers_started_by_this_process() == set(), "the run left its llama.cpp server running"


@pytest.mark.timeout(1800)
def test_a_second_model_answers_its_level_from_its_own_server(small_model: Path, tmp_path: Path) -> None:
    from engine.llm.local import ModelNotInstalledError, ensure_weights

    try:
        ensure_weights("qwen-1.5b")
    except ModelNotInstalledError as error:
        pytest.skip(str(error))
    settings = RunSettings(task="script", task_options={"path": str(QUAD), "metric": "loss"}, provider="local",
                           model="qwen-0.5b", level_models=("1.5=qwen-1.5b",), iterations=2, levels=("1", "1.5"),
                           outer_every=1)
    result = Run.create(settings, tmp_path).execute()
    assert result.status == "finished"
    with RunStore.open(result.run_dir / "run.sqlite") as store:
        calls = store.llm_calls(result.run_id)
        trials = store.trials(result.run_id)
    served = {call["purpose"]: call["model"] for call in calls}
    assert "0.5b" in served["propose"] and "1.5b" in served["outer"]
    assert all(t.source == "local:qwen-0.5b" for t in trials[1:] if t.source.startswith("local"))
    assert "listening on http://127.0.0.1:" in (result.run_dir / "local-model-qwen-1.5b.log").read_text()
    assert _servers_started_by_this_process() == set(), "the run left a llama.cpp server running"
