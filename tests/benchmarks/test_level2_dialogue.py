"""The Level 2 benchmark's dialogue arm: the run's own dialogue on a rut trace, judged like a fill-in."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.level2_bench import summarise
from benchmarks.level2_dialogue import run_dialogue_sessions
from engine.llm import make_provider
from engine.tasks import load_task
from interfaces import SearchConfig

from .test_level2_window import QUAD, rut


def test_the_stand_ins_pasted_mechanisms_are_found_to_be_copies_and_never_spliced(tmp_path: Path) -> None:
    # The heuristic provider answers Generate with a library mechanism: the arm must say so.
    task = load_task("script", path=str(QUAD), metric="loss")
    trace = rut(task)
    space = task.space()
    config = SearchConfig(active=tuple(space.searchable()))
    rows = run_dialogue_sessions(make_provider("heuristic", seed=0), "heuristic", "quad", trace, space, config,
                                 "loss", 2, tmp_path, task=task, window=2)
    assert [row["verdicts"] for row in rows] == [["copy"], ["copy"]]
    assert not any(row["new"] for row in rows) and all(row["chosen"] is None for row in rows)
    assert all(row["likeness"] >= 0.8 for row in rows)
    assert not list(tmp_path.glob("session-*/window.json"))  # a copy is not spliced, so it has no window
    rounds = json.loads((tmp_path / "session-1" / "rounds.json").read_text())
    assert [r["round"] for r in rounds][:4] == ["explore", "critique", "specify", "generate"]
    figures = summarise(tmp_path)
    assert figures["sessions"] == 2 and figures["copy_candidates"] == 2 and figures["new_vs_everything"] == 0
