"""The local-model benchmark's quality figures, read from run stores and Level 2 session folders."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.local_model_bench import (
    generated_tokens,
    level1_figures,
    level2_figures,
    proposal_tokens,
    token_medians,
)
from interfaces import Decision, Trial, TrialStatus


def _trial(index: int, source: str, decision: Decision, reason: str = "") -> Trial:
    status = TrialStatus.REJECTED if decision is Decision.REJECTED else TrialStatus.OK
    return Trial(index=index, config={"A": 1}, changes={"A": 1}, status=status,
                 metric=None if decision is Decision.REJECTED else 1.0, decision=decision,
                 source=source, reason=reason)


class FakeStore:
    def __init__(self, trials, calls):
        self._trials, self._calls = tuple(trials), list(calls)

    def trials(self, run_id):
        return self._trials

    def llm_calls(self, run_id):
        return self._calls

    def llm_call_rows(self, run_id):
        return self._calls


def test_level1_counts_content_rejections_as_invalid_and_refusals_as_valid():
    trials = [
        _trial(0, "baseline", Decision.BASELINE),
        _trial(1, "local:qwen-0.5b", Decision.REJECTED, "too-many-changes: 3 parameters changed"),
        _trial(2, "local:qwen-0.5b", Decision.REJECTED, "duplicate: A=1 was already tried"),
        _trial(3, "local:qwen-0.5b", Decision.KEEP),
        _trial(4, "mechanism:tabu", Decision.DISCARD),
        _trial(5, "local:qwen-0.5b", Decision.REJECTED, "out-of-bounds: A above its high"),
        _trial(6, "local:qwen-0.5b", Decision.REJECTED, "vetoed: vetoed by tabu: too close"),
    ]
    calls = [{"purpose": "propose", "level": "1", "duration_s": 2.0},
             {"purpose": "outer", "level": "1.5", "duration_s": 9.0},
             {"purpose": "propose", "level": "1", "duration_s": 4.0}]
    made, valid, invalid, seconds = level1_figures(FakeStore(trials, calls), "run")
    assert (made, valid) == (5, 3)
    assert sorted(invalid) == ["out-of-bounds", "too-many-changes"]
    assert seconds == [2.0, 4.0]


def test_proposal_tokens_are_read_for_level1_proposals_only_with_missing_cache_as_none():
    calls = [{"purpose": "propose", "prompt_tokens": 600, "cached_prompt_tokens": 540},
             {"purpose": "outer", "prompt_tokens": 900, "cached_prompt_tokens": 0},
             {"purpose": "propose", "prompt_tokens": 610, "cached_prompt_tokens": None}]
    assert proposal_tokens(FakeStore((), calls), "run") == [(600, 540), (610, 0)]
    assert token_medians([(600, 540), (610, 0), (700, 600)]) == (610, 100)
    assert all(x != x for x in token_medians([]))  # no proposals: NaN, not a made-up zero


def test_generated_tokens_are_counted_for_level1_proposals_only():
    calls = [{"purpose": "propose", "completion_tokens": 61},
             {"purpose": "outer", "completion_tokens": 150},
             {"purpose": "propose", "completion_tokens": None},
             {"purpose": "fill", "completion_tokens": 200}]
    assert generated_tokens(FakeStore((), calls), "run") == [61, 0]


def _session(root: Path, number: int, decision: dict | None, admissions: list[dict]) -> None:
    folder = root / "level2" / f"session-{number}"
    folder.mkdir(parents=True)
    if decision is not None:
        (folder / "decision.json").write_text(json.dumps(decision))
    for attempt, admission in enumerate(admissions, start=1):
        (folder / f"admission-{attempt}.json").write_text(json.dumps(admission))


def test_level2_sorts_sessions_into_first_try_repaired_and_never(tmp_path):
    rejected = {"admitted": False, "violations": [{"code": "forbidden-import"}, {"code": "underscore-name"}],
                "counterexample": None}
    failing_property = {"admitted": False, "violations": [], "counterexample": "check(...) raised"}
    admitted = {"admitted": True, "violations": [], "counterexample": None}
    _session(tmp_path, 1, {"decision": "activated", "attempts": 1}, [admitted])
    _session(tmp_path, 2, {"decision": "activated", "attempts": 3}, [rejected, failing_property, admitted])
    _session(tmp_path, 3, {"decision": "rejected", "attempts": 3}, [rejected, rejected, rejected])
    _session(tmp_path, 10, {"decision": "session-failed", "error": "[provider-timeout] timed out"}, [])
    _session(tmp_path, 11, None, [])
    calls = [{"purpose": p, "level": "2", "duration_s": 1.0} for p in ("explore", "critique", "generate")]
    calls += [{"purpose": "propose", "level": "1", "duration_s": 50.0}]
    calls += [{"purpose": p, "level": "2", "duration_s": 2.0} for p in ("explore", "repair")]
    figures = level2_figures(tmp_path, FakeStore((), calls), "run")
    assert figures["sessions"] == 5
    assert (figures["first"], figures["repaired"], figures["never"]) == (1, 1, 3)
    assert sorted(figures["failures"]) == ["no decision recorded", "provider-timeout"]
    assert figures["violations"].count("forbidden-import") == 4
    assert figures["violations"].count("property-counterexample") == 1
    assert figures["session_seconds"] == [3.0, 4.0]


def test_an_admitted_copy_of_a_library_mechanism_is_told_apart_from_new_code(tmp_path):
    import mechanism_library
    from benchmarks.local_model_bench import library_likeness

    example = mechanism_library.get("tabu_filter").source
    # What a small model does with the worked example: renames the class and drops the docstrings.
    copy = example.replace("TabuFilter", "BayesianOptimization").replace('"""', "'''")
    name, ratio = library_likeness(copy)
    assert name == "tabu_filter" and ratio >= 0.9
    new = ("class Halver:\n    def __init__(self, seed):\n        self.seed = seed\n\n"
           "    def advise(self, trace, space, config):\n        return 'halve the largest learning rate'\n\n\n"
           "def build(seed):\n    return Halver(seed)\n")
    assert library_likeness(new)[1] < 0.9

    admitted = {"admitted": True, "violations": [], "counterexample": None}
    _session(tmp_path, 1, {"decision": "activated", "attempts": 1}, [admitted])
    (tmp_path / "level2" / "session-1" / "attempt-1.py").write_text(copy)
    figures = level2_figures(tmp_path, FakeStore((), []), "run")
    assert figures["likeness"][0]["library_mechanism"] == "tabu_filter"
    assert figures["likeness"][0]["similarity"] >= 0.9
