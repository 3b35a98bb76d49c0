"""Replay a run recorded with the real local model, so the suite exercises real model output.

Each transcript was recorded with (the quad script is deterministic, so the
replay reproduces the run exactly; MODEL is qwen-0.5b or qwen-1.5b)::

    python -m benchmarks.local_model_bench engine-run script tests/engine/data/quad.py --metric loss \\
        --provider local --model MODEL --iterations 3 --outer-every 2 --research-every 1 \\
        --record tests/data/transcripts/quad-MODEL.jsonl

and ``<name>.expected.json`` holds that run's trials and mechanism events, read
from its store with :func:`digest`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunStore

TRANSCRIPTS = Path(__file__).resolve().parents[2] / "data" / "transcripts"
QUAD = Path(__file__).resolve().parents[1] / "data" / "quad.py"
RECORDED = {name: dict(iterations=3, outer_every=2, research_every=1)
            for name in ("quad-qwen-0.5b", "quad-qwen-1.5b") if (TRANSCRIPTS / f"{name}.jsonl").exists()}


def digest(run_dir: Path) -> dict[str, Any]:
    """The trials and mechanism events of the one run in ``run_dir``, as plain JSON data."""
    store = RunStore.open(run_dir / "run.sqlite")
    try:
        run_id = store.runs()[0].run_id
        trials = [[t.index, {k: v for k, v in sorted(t.changes.items())}, t.decision.value, t.metric, t.source]
                  for t in store.trials(run_id)]
        events = [[e["mechanism"], e["kind"], e["trial_index"]] for e in store.mechanism_events(run_id)]
    finally:
        store.close()
    return json.loads(json.dumps({"trials": trials, "events": events}))


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _generated(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if r["request"]["purpose"] in ("generate", "repair")]


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_the_transcript_is_real_local_model_output_through_every_level(name):
    records = _records(TRANSCRIPTS / f"{name}.jsonl")
    assert {r["provider"] for r in records} == {"local"}
    assert {r["request"]["level"] for r in records} == {"1", "1.5", "2"}
    assert _generated(records), "no Level 2 session reached the Generate round"
    for record in records:
        # What the model really wrote is kept with every exchange, answered or failed.
        assert record["exchange"]["raw_text"] and record["exchange"]["usage"]["completion_tokens"] > 0


def test_some_recorded_model_code_went_through_admission():
    answered = [r for name in RECORDED for r in _generated(_records(TRANSCRIPTS / f"{name}.jsonl"))
                if r["error"] is None]
    assert answered, "no recorded session produced code for the sandbox"


@pytest.mark.parametrize("name", sorted(RECORDED))
def test_replay_reproduces_the_recorded_trials_and_mechanism_decisions(name, tmp_path):
    transcript = TRANSCRIPTS / f"{name}.jsonl"
    expected = json.loads((TRANSCRIPTS / f"{name}.expected.json").read_text())
    settings = RunSettings(task="script", task_options={"path": str(QUAD), "metric": "loss"}, provider="replay",
                           replay=str(transcript), seed=0, **RECORDED[name])
    result = Run.create(settings, tmp_path).execute()
    assert result.status == "finished"
    replayed = digest(result.run_dir)
    # The recorded run's trial sources name the local model; the replay's name the replay.
    assert [t[:4] for t in replayed["trials"]] == [t[:4] for t in expected["trials"]]
    assert replayed["events"] == expected["events"]
    session = result.run_dir / "level2" / "session-1"
    first = _generated(_records(transcript))[0]
    if first["error"] is None:
        # The model's code went through admission again here: the first attempt is its code, verbatim.
        code = first["value"]["code"]
        assert (session / "attempt-1.py").read_text().strip() == code.strip().removeprefix("```python").strip("`\n ")
        admission = json.loads((session / "admission-1.json").read_text())
        assert admission["stages"] and admission["stages"][0]["stage"] == "parse"
    else:
        # The model's answer never became code (it ran out of room): the session failed with that code.
        decision = json.loads((session / "decision.json").read_text())
        assert decision["decision"] == "session-failed"
        assert f"[{first['error']['code']}]" in decision["error"]
        assert not list(session.glob("attempt-*.py"))
