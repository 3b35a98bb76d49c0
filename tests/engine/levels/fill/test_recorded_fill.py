"""Real model output through the fill-in path: recorded sessions of the local model, replayed.

``tests/data/fill/`` holds a rut trace measured on the digits task and a
transcript of Level 2 fill sessions the local 1.5B model answered on it,
recorded with::

    python -m benchmarks.level2_bench --model qwen-1.5b --task digits --sessions 10 --samples 4

(the first sessions of that run are kept). Replaying it sends the model's
own completions through the body cleaning, the sandbox, the behavioural
check and the ranking again; the verdicts must come out as they did then.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.level2_bench import run_sessions, rut_trace, summarise
from engine.llm import ReplayProvider

DATA = Path(__file__).resolve().parents[3] / "data" / "fill"
RECORDED = sorted(DATA.glob("*.expected.json"))


@pytest.mark.parametrize("expected_path", RECORDED, ids=[p.name.split(".")[0] for p in RECORDED])
def test_recorded_sessions_replay_to_the_same_verdicts(expected_path: Path, tmp_path: Path) -> None:
    expected = json.loads(expected_path.read_text())
    trace, space, config, metric = rut_trace(expected["task"], DATA, 0)
    provider = ReplayProvider(DATA / expected["transcript"])
    rows = run_sessions(provider, expected["model"], expected["task"], trace, space, config, metric,
                        len(expected["sessions"]), expected["samples"], tmp_path)
    assert provider.position == len(provider.records)  # every recorded answer was asked for, in order
    for row, want in zip(rows, expected["sessions"], strict=True):
        assert (row.idea, row.verdicts, row.chosen, row.new) == (want["idea"], want["verdicts"], want["chosen"],
                                                                  want["new"]), row.session
    assert any(row.new for row in rows)  # the model's own code was admitted, effective and new
    figures = summarise(tmp_path)  # the benchmark's figures, read back from what the sessions saved
    assert figures["sessions"] == len(rows) and figures["candidates"] == len(provider.records)
    assert figures["new_vs_library"] >= figures["new_vs_everything"] == sum(row.new for row in rows)
    assert figures["nothing_passed"] == sum(row.chosen is None for row in rows)


def test_the_recorded_data_is_present() -> None:
    assert RECORDED, f"no recorded fill sessions in {DATA}"
