"""Level 2 at run time: proof of calls, ejection, revert, and broken generated code."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

import mechanism_library
from benchmarks.broken_transcript import break_first_generation
from engine.hooks import HookRegistry
from engine.levels.research import judge
from engine.llm import GenerateAnswer
from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunStore
from interfaces import Proposal, SearchSpace, TraceView
from sandbox import MechanismHost, admit

QUAD = Path(__file__).parent / "data" / "quad.py"


@pytest.mark.parametrize(
    "hook, calls, effects, improved, verdict, why",
    [
        ("filter", 0, 0, True, "revert", "never called"),
        ("advisor", 7, 0, True, "revert", "no effect"),
        ("source", 7, 3, False, "revert", "no improvement"),
        ("source", 7, 3, True, "keep", "improved"),
        ("observer", 7, 0, True, "keep", "improved"),
    ],
)
def test_a_mechanism_that_was_never_called_or_did_nothing_is_flagged(hook, calls, effects, improved, verdict, why):
    got, reason = judge(hook, calls, effects, improved)
    assert got == verdict and why in reason


def test_revert_removes_the_mechanism_from_the_host_and_from_every_hook():
    entry = mechanism_library.get("tabu_filter")
    admission = admit(entry.source, "filter")
    assert admission.admitted, admission.feedback()
    events = []
    with MechanismHost() as host:
        registry = HookRegistry(host, on_event=lambda *e: events.append(e))
        loaded = host.load(admission, 0)
        assert loaded.ok
        registry.activate("tabu_filter", "filter", loaded.handle, 0)
        assert admission.name in host.modules()
        space = SearchSpace.from_dict({"params": [{"name": "LR", "kind": "float", "default": 0.1, "low": 0.01,
                                                   "high": 1.0, "log": True}]})
        registry.veto(Proposal({"LR": 0.2}), TraceView(()), space)
        registry.veto(Proposal({"LR": 0.3}), TraceView(()), space)
        assert registry.get("tabu_filter").calls == 2
        registry.revert("tabu_filter", "test")
        assert registry.of("filter") == [] and registry.get("tabu_filter") is None
        assert host.loaded() == ()
        assert admission.name not in host.modules()
        assert registry.veto(Proposal({"LR": 0.2}), TraceView(()), space) is None
    kinds = [e[1] for e in events]
    assert kinds == ["activation", "calls", "revert"]
    assert events[1][3] == {"counts": {"filter": 2}}


def _record(tmp_path: Path) -> list[dict]:
    transcript = tmp_path / "recorded.jsonl"
    settings = RunSettings(task="script", task_options={"path": str(QUAD), "metric": "loss", "budget_s": 10.0},
                           provider="heuristic", iterations=9, outer_every=3, research_every=1,
                           record=str(transcript))
    Run.create(settings, tmp_path / "recorded").execute()
    return [json.loads(line) for line in transcript.read_text().splitlines()]


def _replay(tmp_path: Path, records: list[dict]):
    transcript = tmp_path / "edited.jsonl"
    transcript.write_text("".join(json.dumps(r) + "\n" for r in records))
    settings = RunSettings(task="script", task_options={"path": str(QUAD), "metric": "loss", "budget_s": 10.0},
                           provider="replay", replay=str(transcript), iterations=9, outer_every=3,
                           research_every=1)
    result = Run.create(settings, tmp_path / "replayed").execute()
    store = RunStore.open(result.run_dir / "run.sqlite")
    events = store.mechanism_events(result.run_id)
    store.close()
    return result, events


def test_broken_generated_code_is_rejected_with_its_violations_and_repaired(tmp_path):
    records = break_first_generation(_record(tmp_path))
    result, events = _replay(tmp_path, records)
    assert result.status == "finished"
    rejection = next(e for e in events if e["kind"] == "rejection")
    codes = {v["code"] for v in rejection["data"]["violations"]}
    assert {"forbidden-import", "forbidden-name"} <= codes
    session = result.run_dir / "level2" / "session-1"
    assert "import os" in (session / "attempt-1.py").read_text()
    assert json.loads((session / "admission-1.json").read_text())["admitted"] is False
    assert json.loads((session / "admission-2.json").read_text())["admitted"] is True
    assert json.loads((session / "decision.json").read_text())["attempts"] == 2
    assert any(e["kind"] == "admission" for e in events)


RAISES_LATER = '''
class Explodes:
    def __init__(self, seed):
        self.seed = seed

    def advise(self, trace, space, config):
        # Fine on every trace the conformance suite draws (at most 12 trials), wrong later on.
        if len(trace.trials) >= 13:
            raise ValueError("this mechanism fails at run time")
        return ""


def build(seed):
    return Explodes(seed)
'''


def test_a_mechanism_that_raises_at_run_time_is_ejected_and_the_run_goes_on(tmp_path, monkeypatch):
    # The heuristic stand-in writes whatever the catalog holds: here, only a mechanism that fails later.
    entry = SimpleNamespace(name="explodes", hook="advisor", description="fails once the trace is long",
                            addresses=("cold-start", "repetition", "plateau", "noisy-keeps"), source=RAISES_LATER)
    other = mechanism_library.get("parameter_sensitivity")  # Explore lists at least two candidates
    monkeypatch.setattr(mechanism_library, "catalog", lambda: (entry, other))
    settings = RunSettings(task="script", task_options={"path": str(QUAD), "metric": "loss", "budget_s": 10.0},
                           provider="heuristic", iterations=12, outer_every=4, research_every=2)
    result = Run.create(settings, tmp_path).execute()
    assert result.status == "finished"
    store = RunStore.open(result.run_dir / "run.sqlite")
    events = store.mechanism_events(result.run_id)
    assert int(store.get_state(result.run_id, "iteration")) == 12
    store.close()
    ejection = next(e for e in events if e["kind"] == "ejection")
    assert ejection["mechanism"] == "explodes"
    assert ejection["data"]["code"] == "call-raised" and "fails at run time" in ejection["data"]["reason"]
    calls = sum(sum(e["data"]["counts"].values()) for e in events if e["kind"] == "calls")
    assert calls >= 1
    report = (result.run_dir / "report.md").read_text()
    assert "explodes" in report and "ejected" in report


def test_a_failed_level2_request_is_stored_with_its_cost_and_the_session_marked_failed(tmp_path, wrap_provider):
    import dataclasses

    from engine.llm._errors import ExchangeError

    error = {"code": "invalid-answer", "message": "the answer did not validate as GenerateAnswer: context full"}
    failed = []

    def first_generate_fails(inner, request, response_model):
        reply = inner.ask(request, response_model)
        if request.purpose == "generate" and not failed:
            failed.append(dataclasses.replace(reply.exchange, parsed=None, error=error))
            raise ExchangeError(error["message"], code=error["code"], exchange=failed[0])
        return reply

    wrap_provider(first_generate_fails)
    settings = RunSettings(task="script", task_options={"path": str(QUAD), "metric": "loss", "budget_s": 10.0},
                           provider="heuristic", iterations=6, outer_every=3, research_every=1)
    result = Run.create(settings, tmp_path).execute()
    assert result.status == "finished" and failed
    store = RunStore.open(result.run_dir / "run.sqlite")
    calls = store.llm_calls(result.run_id)
    events = store.mechanism_events(result.run_id)
    store.close()
    assert next(e for e in events if e["kind"] == "failure")["data"]["code"] == "invalid-answer"
    generate = [c for c in calls if c["purpose"] == "generate"]
    assert generate[0]["error"]["code"] == "invalid-answer"
    assert generate[0]["usage"] == failed[0].to_dict()["usage"]
    decision = json.loads((result.run_dir / "level2" / "session-1" / "decision.json").read_text())
    assert decision["decision"] == "session-failed"


def test_a_fill_session_records_every_sample_and_splices_only_what_passed(tmp_path):
    settings = RunSettings(task="script", task_options={"path": str(QUAD), "metric": "loss", "budget_s": 10.0},
                           provider="heuristic", iterations=12, outer_every=3, research_every=1,
                           research_style="fill", research_samples=2)
    assert settings.level2_style == "fill" and RunSettings().level2_style == "dialogue"
    assert RunSettings(provider="local").level2_style == "fill"
    result = Run.create(settings, tmp_path).execute()
    assert result.status == "finished"
    store = RunStore.open(result.run_dir / "run.sqlite")
    events = store.mechanism_events(result.run_id)
    store.close()
    candidates = [e for e in events if e["kind"] == "candidate"]
    # Every session drew its samples; each is recorded with its verdict, behaviour and likeness.
    sessions = {e["mechanism"] for e in candidates}
    assert len(sessions) >= 2 and all(len([c for c in candidates if c["mechanism"] == s]) >= 2 for s in sessions)
    assert all(c["data"]["verdict"] in ("passed", "copy") for c in candidates)
    admissions = [e for e in events if e["kind"] == "admission"]
    assert admissions and all(a["data"]["likeness"]["score"] < 0.8 for a in admissions)
    # The stand-in writes the same body every time: after the first, a session for the same hook finds
    # only copies of what an earlier session wrote, and splices nothing.
    copies = [c for c in candidates if c["data"]["verdict"] == "copy"]
    assert copies and all(c["data"]["likeness"]["nearest"].startswith("earlier:") for c in copies)
    session_one = result.run_dir / "level2" / "session-1"
    decision = json.loads((session_one / "decision.json").read_text())
    assert decision["decision"] == "activated" and decision["verdicts"][0] in ("passed", "copy")
    assert json.loads((session_one / "goal.json").read_text())["hook"] == decision["hook"]
    assert (session_one / "candidate-1.py").read_text().startswith("import math\nimport random\n")
    report = (result.run_dir / "report.md").read_text()
    assert "Fill-in sessions" in report and "new (0." in report


def test_level2_style_and_samples_are_checked():
    from interfaces import ConfigError

    with pytest.raises(ConfigError, match="research-style"):
        RunSettings(research_style="freestyle")
    with pytest.raises(ConfigError, match="samples"):
        RunSettings(research_samples=0)


@pytest.mark.parametrize(
    "written",
    ["```python\nX = 1\n```", "  ```\nX = 1\n```  \n", "```python\nX = 1\n", "X = 1", "\nX = 1\n\n"],
)
def test_generated_code_loses_its_markdown_fence_closed_or_cut(written):
    assert GenerateAnswer(code=written).code == "X = 1\n"
