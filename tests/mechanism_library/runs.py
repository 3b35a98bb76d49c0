"""A run directory laid out as the engine leaves it, built through the real run store."""

from __future__ import annotations

import json
from pathlib import Path

from engine.store import RunStore
from mechanism_library import source_digest

RUN_ID = "script-20250101-000000-s0"


def rounds(hook: str, class_name: str, facts: dict) -> list[dict]:
    return [
        {"round": "explore", "messages": [{"role": "system", "content": "hooks"},
                                          {"role": "user", "content": "Trace facts: " + json.dumps(facts)}],
         "answer": {"diagnosis": "stuck", "candidates": []}},
        {"round": "critique", "messages": [], "answer": {"choice": "x"}},
        {"round": "specify", "messages": [],
         "answer": {"name": "x", "hook": hook, "class_name": class_name, "behaviour": "Vetoes repeats."}},
        {"round": "generate", "messages": [], "answer": {"code": "..."}},
    ]


def make_run(root: Path, name: str, source: str, *, hook: str = "filter", class_name: str = "TabuFilter",
             facts: dict | None = None, gain: float | None = 0.25, verdict: str = "keep") -> Path:
    """A finished run that admitted ``source`` as ``name`` in session 1 and judged it ``verdict``."""
    run_dir = root / RUN_ID
    (run_dir / "level2" / "mechanisms").mkdir(parents=True)
    (run_dir / "level2" / "mechanisms" / f"{name}.py").write_text(source)
    (run_dir / "level2" / "session-1").mkdir()
    facts = {"repetition": True, "plateau": False, "fixation": True} if facts is None else facts
    (run_dir / "level2" / "session-1" / "rounds.json").write_text(json.dumps(rounds(hook, class_name, facts), indent=2))
    with RunStore.open(run_dir / "run.sqlite", durable=False) as store:
        store.create_run(RUN_ID, task="script", settings={}, provider="openai", model="gpt-test-1")
        store.add_mechanism_event(RUN_ID, name, "admission", 3,
                                  {"hook": hook, "session": 1, "digest": source_digest(source), "admitted": True})
        store.add_mechanism_event(RUN_ID, name, "activation", 3, {"hook": hook})
        data = {"calls": 7, "effects": 2, "trials_in_window": 5, "improved": verdict == "keep", "gain": gain,
                "final": False, "reason": "improved" if verdict == "keep" else "no improvement"}
        store.add_mechanism_event(RUN_ID, name, "evaluation", 8, data)
        store.add_mechanism_event(RUN_ID, name, verdict, 8, data)
        store.set_status(RUN_ID, "finished")
    return run_dir
