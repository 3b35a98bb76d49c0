"""The heuristic stand-in at Level 1: priors, ruts, and following advice and vetoes."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings, strategies as st

from engine.llm import HeuristicProvider, LLMRequest, OuterAnswer, ProposalAnswer
from interfaces import ParamKind, ProviderError, SearchSpace
from tests.interfaces.strategies import spaces

from .helpers import GPT_SPACE


def propose(provider, space=GPT_SPACE, **context):
    context = {"space": space.to_dict(), "current": dict(space.defaults()), **context}
    request = LLMRequest("propose", ({"role": "user", "content": "propose"},), context, level="1")
    return provider.ask(request, ProposalAnswer)


def proposals(seed, n, **context):
    provider = HeuristicProvider(seed)
    return [propose(provider, iteration=i, **context).value.as_changes() for i in range(n)]


def test_it_says_it_is_not_a_language_model():
    assert "heuristic stand-in, not a language model" in HeuristicProvider(3).describe()


def test_same_seed_same_answers_other_seed_other_answers():
    assert proposals(1, 30) == proposals(1, 30)
    assert any(proposals(s, 30) != proposals(1, 30) for s in (2, 3, 4))


def test_answers_do_not_depend_on_call_order_when_iterations_are_given():
    provider = HeuristicProvider(5)
    backwards = {i: propose(provider, iteration=i).value.as_changes() for i in reversed(range(10))}
    assert [backwards[i] for i in range(10)] == proposals(5, 10)


def test_unchallenged_it_repeats_itself_with_learning_rates_first():
    seen = [tuple(sorted((k, str(v)) for k, v in p.items())) for p in proposals(0, 40)]
    most_common, count = Counter(seen).most_common(1)[0]
    assert count >= 20  # a rut: the favourite move comes back most of the time
    assert most_common[0][0] == "MATRIX_LR"
    touched = Counter(name for p in proposals(0, 40) for name in p)
    assert touched["MATRIX_LR"] > touched.get("WEIGHT_DECAY", 0) >= touched.get("TOTAL_BATCH_SIZE", 0)


def test_total_batch_size_only_ever_grows():
    for p in proposals(7, 200, advice=["Try TOTAL_BATCH_SIZE now."]):
        assert p["TOTAL_BATCH_SIZE"] > 2**19


def test_advice_naming_a_parameter_is_followed():
    for p in proposals(0, 10, advice=["The bandit says: change WARMDOWN_RATIO next."]):
        assert "WARMDOWN_RATIO" in p


def test_veto_feedback_steers_it_away_from_a_parameter():
    vetoed = proposals(0, 20, feedback="VETO: MATRIX_LR was tried 6 times already; change something else.")
    assert all("MATRIX_LR" not in p for p in vetoed)


def test_frozen_and_locked_parameters_are_never_proposed():
    for p in proposals(2, 40, frozen=["MATRIX_LR", "EMBEDDING_LR"], strategy="explore", max_changes=2):
        assert not {"MATRIX_LR", "EMBEDDING_LR", "USE_ROPE"} & set(p)


def test_generic_names_follow_the_space_order():
    space = SearchSpace.from_dict({"params": [
        {"name": "ZETA", "kind": "float", "default": 1.0, "low": 0.1, "high": 10.0, "log": True},
        {"name": "ALPHA", "kind": "int", "default": 4, "low": 1, "high": 64},
    ]})
    firsts = Counter(next(iter(p)) for p in (propose(HeuristicProvider(0), space, iteration=i).value.as_changes()
                                             for i in range(30)))
    assert firsts["ZETA"] > firsts["ALPHA"]


def test_no_movable_parameter_is_a_clear_error():
    with pytest.raises(ProviderError) as caught:
        propose(HeuristicProvider(0), frozen=list(GPT_SPACE.searchable()))
    assert caught.value.code == "no-move"


def test_missing_context_and_wrong_model_are_clear_errors():
    provider = HeuristicProvider(0)
    with pytest.raises(ProviderError) as caught:
        provider.ask(LLMRequest("propose", (), {}), ProposalAnswer)
    assert caught.value.code == "heuristic-context-missing"
    with pytest.raises(ProviderError) as caught:
        provider.ask(LLMRequest("propose", (), {"space": GPT_SPACE.to_dict()}), OuterAnswer)
    assert caught.value.code == "unsupported-request"


def _movable(space, frozen):
    from engine.llm._heuristic import moves

    current = space.defaults()
    return any(moves(space[n], current[n]) for n in space.searchable() if n not in frozen)


@settings(max_examples=80)
@given(space=spaces(), seed=st.integers(0, 2**16), iteration=st.integers(0, 1000), data=st.data())
def test_proposals_always_validate_against_random_spaces(space, seed, iteration, data):
    frozen = data.draw(st.lists(st.sampled_from(space.names), unique=True, max_size=len(space) - 1))
    strategy = data.draw(st.sampled_from(["explore", "exploit", "balanced"]))
    context = dict(frozen=frozen, strategy=strategy, max_changes=2, iteration=iteration)
    if not _movable(space, frozen):
        with pytest.raises(ProviderError) as caught:
            propose(HeuristicProvider(seed), space, **context)
        assert caught.value.code == "no-move"
        return
    answer = propose(HeuristicProvider(seed), space, **context).value
    changes = space.coerce(answer.as_changes())
    assert space.validate(changes, current=space.defaults(), frozen=frozen) == ()
    assert all(space[n].kind is not ParamKind.BOOL or isinstance(v, bool) for n, v in changes.items())
