"""The Level 2 benchmark's real window: a mechanism spliced into the engine's own loop, and its control."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.level2_window import run_window
from engine.levels.fill.skeleton import render
from engine.llm import make_provider
from engine.tasks import load_task
from interfaces import Decision, SearchConfig, TraceView, Trial, TrialStatus
from sandbox import MechanismHost, admit

QUAD = Path(__file__).resolve().parents[1] / "engine" / "data" / "quad.py"

LEAVE = ("        names = [n for n in config.active if n != 'LEARNING_RATE']\n"
         "        name = least_tried(trace, names, self.rng)\n"
         "        if name is None:\n            return None\n        return move(trace, space, name, self.rng)\n")
# Passes admission (the conformance suite's spaces have other names), then raises on the run's second call.
RAISES = ("        if 'LEARNING_RATE' in space and len(trace.trials) > 6:\n            return trace.nothing\n"
          "        return None\n")


@pytest.fixture(scope="module")
def host():
    host = MechanismHost()
    yield host
    host.close()


def rut(task) -> TraceView:
    """A baseline, then five changes of LEARNING_RATE, none kept (the metrics are the script's own)."""
    base = dict(task.space().defaults())
    trials = [Trial(0, base, {}, TrialStatus.OK, 1.0, Decision.BASELINE, source="baseline")]
    for index, value in enumerate((0.012, 0.009, 0.011, 0.008, 0.013), start=1):
        trials.append(Trial(index, dict(base, LEARNING_RATE=value), {"LEARNING_RATE": value}, TrialStatus.OK,
                            1.0 + index / 100, Decision.DISCARD, source="heuristic:rules"))
    return TraceView(tuple(trials))


def admitted(body: str):
    admission = admit(render("source", "Leave", "Leave the rut.", "Return a dict or None.").assemble(body), "source")
    assert admission.admitted, admission.feedback()
    return admission


def test_a_spliced_source_is_called_proposes_and_leads_off_the_rut(tmp_path: Path, host) -> None:
    task = load_task("script", path=str(QUAD), metric="loss")
    trace = rut(task)
    config = SearchConfig(active=tuple(task.space().searchable()))
    provider = make_provider("heuristic", seed=0)
    window = run_window(provider, task, trace, config, stuck="LEARNING_RATE", iterations=3, host=host,
                        admission=admitted(LEAVE), name="leave_1", hook="source", folder=tmp_path / "w")
    assert window.called and window.effective and not window.ejected
    assert window.calls >= 3 and window.effects.get("proposed", 0) >= 1
    assert window.trials >= 3 and window.left_rut == window.changed >= window.effects["proposed"]
    assert window.best_before == 1.0 and window.best_after is not None
    # The source answered every iteration, so the model was never asked for a Level 1 proposal.
    assert window.llm_proposals == 0
    control = run_window(provider, task, trace, config, stuck="LEARNING_RATE", iterations=3,
                         folder=tmp_path / "c")
    assert control.mechanism == "" and control.calls == 0 and not control.effective
    assert control.llm_proposals >= 3 and control.llm_invalid <= control.llm_proposals


def test_a_mechanism_that_raises_in_its_window_is_ejected_and_the_window_goes_on(tmp_path: Path, host) -> None:
    task = load_task("script", path=str(QUAD), metric="loss")
    trace = rut(task)
    config = SearchConfig(active=tuple(task.space().searchable()))
    window = run_window(make_provider("heuristic", seed=0), task, trace, config, stuck="LEARNING_RATE",
                        iterations=2, host=host, admission=admitted(RAISES), name="raises_1", hook="source",
                        folder=tmp_path / "w")
    assert window.ejected.startswith("call-raised") and window.calls == 2 and not window.effective
    assert window.trials >= 2 and window.llm_proposals >= 2  # Level 1 took over after the ejection


def test_a_filter_that_vetoes_every_proposal_of_its_window_did_not_act_it_stopped_the_search(tmp_path: Path,
                                                                                              host) -> None:
    # Admitted (the conformance suite's spaces have no LEARNING_RATE, where it declines), and in the run
    # it vetoes everything: calls and vetoes, but no trial trained, so no effect is counted for it.
    body = "        if 'LEARNING_RATE' in space:\n            return 'no'\n        return None\n"
    admission = admit(render("filter", "Block", "Veto.", "Return a reason or None.").assemble(body), "filter")
    assert admission.admitted, admission.feedback()
    task = load_task("script", path=str(QUAD), metric="loss")
    config = SearchConfig(active=tuple(task.space().searchable()))
    window = run_window(make_provider("heuristic", seed=0), task, rut(task), config, stuck="LEARNING_RATE",
                        iterations=2, host=host, admission=admission, name="block_1", hook="filter",
                        folder=tmp_path / "w")
    assert window.called and window.effects.get("vetoed", 0) >= 1 and window.trials > 0
    assert window.ran == 0 and not window.effective and not window.to_dict()["effective"]


def test_the_summary_counts_a_window_that_ran_nothing_as_not_acting() -> None:
    from benchmarks.level2_bench import _acted

    assert _acted({"effective": True, "trials": 5, "ran": 2, "effects": {"vetoed": 3}})
    assert not _acted({"effective": True, "trials": 4, "ran": 0, "effects": {"vetoed": 4}})
    # Recorded before `ran` was kept: as many vetoes as trials is a window that ran nothing.
    assert not _acted({"effective": True, "trials": 16, "effects": {"vetoed": 16}})
    assert _acted({"effective": True, "trials": 4, "effects": {"advised": 4}})
