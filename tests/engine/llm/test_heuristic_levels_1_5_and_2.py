"""The heuristic stand-in at Level 1.5 (rules) and Level 2 (catalog by symptom)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from engine.llm import (
    CritiqueAnswer,
    ExploreAnswer,
    GenerateAnswer,
    HeuristicProvider,
    LLMRequest,
    OuterAnswer,
    SpecifyAnswer,
)
from interfaces import Decision, ProviderError, SearchConfig
from tests.interfaces.strategies import spaces, traces

from .helpers import CATALOG, GPT_SPACE, catalog, config, trace_list, trial

K, D = Decision.KEEP, Decision.DISCARD


def outer(trials, cfg=None, provider=None):
    context = {"space": GPT_SPACE.to_dict(), "config": cfg or config(), "trace": trace_list(*trials)}
    return (provider or HeuristicProvider(0)).ask(LLMRequest("outer", (), context, level="1.5"), OuterAnswer).value


def baseline():
    return trial(0, {}, Decision.BASELINE, 3.0, config=dict(GPT_SPACE.defaults()))


def test_freezes_a_parameter_tried_often_without_a_keep():
    trials = [baseline()] + [trial(i, {"MATRIX_LR": 0.02 * i}, D) for i in range(1, 4)]
    trials.append(trial(4, {"WEIGHT_DECAY": 0.1}, K))
    answer = outer(trials)
    assert answer.freeze == ["MATRIX_LR"]
    assert answer.strategy == "exploit"  # the last trial was kept
    assert "MATRIX_LR" not in answer.guidance and "DEPTH" in answer.guidance  # names untried parameters


def test_does_not_freeze_a_parameter_that_was_kept():
    trials = [baseline()] + [trial(i, {"MATRIX_LR": 0.02 * i}, D if i < 3 else K) for i in range(1, 4)]
    assert outer(trials).freeze == []


def test_never_freezes_below_min_active():
    cfg = SearchConfig(active=("MATRIX_LR", "WEIGHT_DECAY", "DEPTH"), min_active=2).to_dict()
    trials = [baseline()] + [trial(i, {"MATRIX_LR": 0.01 * i, "WEIGHT_DECAY": 0.01 * i}, D) for i in range(1, 5)]
    assert len(outer(trials, cfg).freeze) == 1


def test_unfreezes_after_a_window_without_it_and_explores_on_a_discard_streak():
    cfg = SearchConfig(active=tuple(n for n in GPT_SPACE.searchable() if n != "MATRIX_LR"),
                       frozen=("MATRIX_LR",)).to_dict()
    trials = [baseline()] + [trial(i, {"DEPTH": 2 + i % 5}, D) for i in range(1, 6)]
    early = outer(trials, cfg)
    assert early.unfreeze == [] and early.strategy == "explore"
    trials += [trial(i, {"WEIGHT_DECAY": 0.01 * i}, K) for i in range(6, 12)]
    assert outer(trials, cfg).unfreeze == ["MATRIX_LR"]


@settings(max_examples=40)
@given(data=st.data())
def test_outer_answers_only_name_known_parameters_and_keep_min_active(data):
    space = data.draw(spaces(min_size=2))
    trace = data.draw(traces(space))
    active = space.searchable()
    cfg = SearchConfig(active=active, min_active=min(2, len(active)))
    context = {"space": space.to_dict(), "config": cfg.to_dict(), "trace": trace.to_list()}
    answer = HeuristicProvider(0).ask(LLMRequest("outer", (), context, level="1.5"), OuterAnswer).value
    assert set(answer.freeze) <= set(active) and answer.unfreeze == []
    assert len(active) - len(answer.freeze) >= min(cfg.min_active, len(active))


def research(purpose, model, trials, **extra):
    context = {"trace": trace_list(*trials), "space": GPT_SPACE.to_dict(), **extra}
    provider = HeuristicProvider(0, catalog=catalog)
    return provider.ask(LLMRequest(purpose, (), context, level="2"), model).value


def repeating_trace():
    return [baseline()] + [trial(i, {"MATRIX_LR": 0.02}, D if i % 3 else K, 2.9) for i in range(1, 10)]


def plateau_trace():
    return [baseline(), trial(1, {"DEPTH": 4}, K, 2.5)] + [
        trial(i, {["DEPTH", "MATRIX_LR", "WEIGHT_DECAY", "EMBEDDING_LR"][i % 4]: 0.01 * i}, D, 2.8)
        for i in range(2, 10)
    ]


def noisy_trace():
    names = ["DEPTH", "MATRIX_LR", "WEIGHT_DECAY", "EMBEDDING_LR", "WARMDOWN_RATIO"]
    return [baseline()] + [trial(i, {names[i % 5]: 0.01 * i}, K, 3.0 - 0.001 * i) for i in range(1, 8)]


@pytest.mark.parametrize(("trials", "expected", "extra"), [
    ([baseline(), trial(1, {"DEPTH": 4}, D)], "latin_hypercube", {}),
    (repeating_trace(), "tabu_filter", {}),
    (plateau_trace(), "orthogonal_exploration", {}),
    (noisy_trace(), "noise_aware_acceptance", {"noise_floor": 0.01}),
])
def test_picks_a_mechanism_by_the_symptom_the_trace_shows(trials, expected, extra):
    explored = research("explore", ExploreAnswer, trials, **extra)
    assert explored.candidates[0].name == expected
    critique = research("critique", CritiqueAnswer, trials, **extra)
    assert critique.choice == expected


def test_plateau_without_repetition_prefers_plateau_mechanisms():
    explored = research("explore", ExploreAnswer, plateau_trace(), tried_mechanisms=["orthogonal_exploration"])
    assert explored.candidates[0].name == "plateau_escape"
    assert "plateau" in explored.diagnosis


def test_four_rounds_end_in_the_catalog_source_verbatim():
    trials = repeating_trace()
    choice = research("critique", CritiqueAnswer, trials).choice
    spec = research("specify", SpecifyAnswer, trials, choice=choice)
    code = research("generate", GenerateAnswer, trials, choice=choice, spec=spec.model_dump()).code
    entry = next(e for e in CATALOG if e.name == choice)
    assert (spec.name, spec.hook, spec.class_name) == (entry.name, entry.hook, "TabuFilter")
    assert code == entry.source


def test_avoids_mechanisms_already_tried_in_the_run():
    tried = ["tabu_filter"]
    explored = research("explore", ExploreAnswer, repeating_trace(), tried_mechanisms=tried)
    assert "tabu_filter" not in [c.name for c in explored.candidates]
    assert research("critique", CritiqueAnswer, repeating_trace(), tried_mechanisms=tried).choice != "tabu_filter"


def test_an_exhausted_catalog_is_a_clear_error():
    with pytest.raises(ProviderError) as caught:
        research("explore", ExploreAnswer, repeating_trace(), tried_mechanisms=[e.name for e in CATALOG])
    assert caught.value.code == "catalog-exhausted"


def test_it_does_not_pretend_to_repair_code_and_needs_a_catalog():
    with pytest.raises(ProviderError) as caught:
        research("repair", GenerateAnswer, repeating_trace(), choice="tabu_filter")
    assert caught.value.code == "heuristic-cannot-repair"
    with pytest.raises(ProviderError) as caught:
        HeuristicProvider(0).ask(LLMRequest("explore", (), {"trace": []}, level="2"), ExploreAnswer)
    assert caught.value.code == "no-catalog"


def test_the_catalog_is_only_read_when_level_2_asks():
    calls = []
    provider = HeuristicProvider(0, catalog=lambda: calls.append(1) or CATALOG)
    provider.ask(LLMRequest("outer", (), {"space": GPT_SPACE.to_dict(), "config": config(), "trace": []},
                            level="1.5"), OuterAnswer)
    assert calls == []
    provider.ask(LLMRequest("explore", (), {"trace": []}, level="2"), ExploreAnswer)
    assert calls == [1]


def test_a_library_description_longer_than_an_answer_field_is_cut_at_a_word_not_refused():
    import dataclasses

    long_entry = dataclasses.replace(CATALOG[0], description=("Spreads early trials over the space " * 20).strip() + ".")
    provider = HeuristicProvider(0, catalog=lambda: (long_entry,) + CATALOG[1:])
    context = {"trace": trace_list(baseline()), "space": GPT_SPACE.to_dict()}
    explored = provider.ask(LLMRequest("explore", (), context, level="2"), ExploreAnswer).value
    idea = next(c.idea for c in explored.candidates if c.name == long_entry.name)
    limit = ExploreAnswer.model_fields["candidates"].annotation.__args__[0].model_fields["idea"].metadata[-1].max_length
    assert len(idea) <= limit and idea.endswith("…")
    assert idea.removesuffix("…").rstrip() in long_entry.description and not idea.removesuffix("…").endswith(" ")
