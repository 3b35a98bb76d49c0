"""make_provider, the records' JSON round trips, and the ledger."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import given, strategies as st

from engine.llm import (
    Budget,
    Exchange,
    HeuristicProvider,
    Ledger,
    LLMRequest,
    OpenAIProvider,
    ProposalAnswer,
    Provider,
    RecordingProvider,
    ReplayProvider,
    Usage,
    make_provider,
)
from interfaces import ConfigError, ProviderError

from .helpers import GPT_SPACE


def test_make_provider_builds_each_kind(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    heuristic = make_provider("heuristic", seed=3)
    assert isinstance(heuristic, HeuristicProvider) and heuristic.seed == 3 and isinstance(heuristic, Provider)
    openai_provider = make_provider("openai", timeout_s=5)
    assert isinstance(openai_provider, OpenAIProvider)
    assert openai_provider.mode_name == "tools" and openai_provider.settings.timeout_s == 5
    local = make_provider("llamacpp")
    assert local.mode_name == "json_schema" and local.price.prompt_per_mtok == 0
    assert make_provider("compatible", model="m", base_url="http://127.0.0.1:1/v1").mode_name == "md_json"
    recording = make_provider("heuristic", record=tmp_path / "t.jsonl")
    assert isinstance(recording, RecordingProvider)
    context = {"space": GPT_SPACE.to_dict(), "current": dict(GPT_SPACE.defaults())}
    recording.ask(LLMRequest("propose", (), context), ProposalAnswer)
    assert isinstance(make_provider("replay", replay=tmp_path / "t.jsonl"), ReplayProvider)
    assert isinstance(make_provider("heuristic", replay=tmp_path / "t.jsonl"), ReplayProvider)


@pytest.mark.parametrize(("call", "code"), [
    (lambda: make_provider("gpt5"), "unknown-provider"),
    (lambda: make_provider("heuristic", colour="red"), "unknown-option"),
    (lambda: make_provider("replay"), "replay-missing"),
    (lambda: make_provider("heuristic", ledger=Ledger(), budget=Budget(max_tokens=1)), "bad-config"),
    (lambda: make_provider("vllm"), "missing-model"),
    (lambda: make_provider("compatible", model="m"), "missing-base-url"),
    (lambda: make_provider("ollama", model="m", mode="yaml"), "unknown-mode"),
])
def test_bad_settings_are_config_errors_with_codes(call, code):
    with pytest.raises(ConfigError) as caught:
        call()
    assert caught.value.code == code


def test_replay_under_another_providers_name_is_refused(tmp_path):
    path = tmp_path / "t.jsonl"
    context = {"space": GPT_SPACE.to_dict(), "current": dict(GPT_SPACE.defaults())}
    make_provider("heuristic", record=path).ask(LLMRequest("propose", (), context), ProposalAnswer)
    with pytest.raises(ConfigError) as caught:
        make_provider("openai", replay=path)
    assert caught.value.code == "replay-mismatch"


def test_heuristic_calls_are_counted_and_respect_a_shared_ledger():
    ledger = Ledger(Budget(max_tokens=0))
    with pytest.raises(ProviderError) as caught:
        make_provider("heuristic", ledger=ledger).ask(
            LLMRequest("propose", (), {"space": GPT_SPACE.to_dict()}), ProposalAnswer)
    assert caught.value.code == "budget-exceeded"
    ledger = Ledger()
    provider = make_provider("heuristic", ledger=ledger)
    provider.ask(LLMRequest("propose", (), {"space": GPT_SPACE.to_dict()}), ProposalAnswer)
    assert ledger.by_level()["1"].calls == 1 and ledger.total.total_tokens == 0


usages = st.builds(Usage, st.integers(0, 10**6), st.integers(0, 10**6),
                   st.one_of(st.none(), st.floats(0, 100)), st.integers(0, 5))


@given(st.lists(st.tuples(st.sampled_from(["1", "1.5", "2"]), usages), max_size=20))
def test_ledger_totals_are_the_sum_of_levels_and_survive_a_round_trip(entries):
    ledger = Ledger(Budget(max_tokens=10**9))
    for level, usage in entries:
        ledger.add(level, usage)
    total = ledger.total
    assert total.total_tokens == sum(u.total_tokens for _, u in entries)
    assert total.calls == sum(u.calls for _, u in entries)
    assert (total.cost_usd is None) == any(u.cost_usd is None for _, u in entries)
    again = Ledger.from_dict(ledger.to_dict())
    assert again.total.total_tokens == total.total_tokens and again.budget == ledger.budget


def test_ledger_is_safe_to_share_between_threads():
    ledger = Ledger()
    threads = [threading.Thread(target=lambda: [ledger.add("1", Usage(1, 1, 0.0, 1)) for _ in range(500)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ledger.total.calls == 2000 and ledger.total.total_tokens == 4000


@given(st.text(max_size=50), st.lists(st.text(max_size=30), max_size=3), usages,
       st.one_of(st.none(), st.fixed_dictionaries({"code": st.text(min_size=1), "message": st.text()})))
def test_exchange_round_trips_through_json(text, raws, usage, error):
    exchange = Exchange("propose", "1", "openai", "m", ({"role": "user", "content": text},), tuple(raws),
                        {"changes": [{"name": "A", "value": [1.0, 2.0]}]}, usage, 0.5, 2, error, "ProposalAnswer")
    assert Exchange.from_dict(exchange.to_dict()) == exchange


def test_requests_check_purpose_and_level_and_are_frozen():
    with pytest.raises(ValueError):
        LLMRequest("chat", ())
    with pytest.raises(ValueError):
        LLMRequest("propose", (), level="3")
    request = LLMRequest("propose", ({"role": "user", "content": "x"},), {"advice": ["a"]})
    with pytest.raises(TypeError):
        request.messages[0]["content"] = "y"  # type: ignore[index]
    assert LLMRequest.from_dict(request.to_dict()) == request


options = st.fixed_dictionaries({}, optional={
    "temperature": st.floats(min_value=0, max_value=2, allow_nan=False),
    "seed": st.integers(min_value=0, max_value=2**31),
    "stop": st.lists(st.text(min_size=1, max_size=8), max_size=3),
    "max_tokens": st.integers(min_value=1, max_value=4096),
})


@given(options)
def test_request_options_round_trip_through_json(given_options):
    request = LLMRequest("fill", ({"role": "assistant", "content": "def f():\n"},), {"hook": "source"},
                         level="2", options=given_options)
    data = json.loads(json.dumps(request.to_dict()))
    assert data["options"] == given_options
    assert LLMRequest.from_dict(data) == request


def test_request_options_are_frozen_checked_and_optional_in_old_records():
    request = LLMRequest("fill", (), options={"stop": ["\nclass "], "seed": 1})
    with pytest.raises(TypeError):
        request.options["seed"] = 2  # type: ignore[index]
    old = {"purpose": "propose", "level": "1", "messages": [], "context": {}}
    assert LLMRequest.from_dict(old).options == {} and LLMRequest.from_dict(old).to_dict()["options"] == {}
    for bad in ({"temprature": 0.2}, {"temperature": "hot"}, {"temperature": -1}, {"seed": 1.5},
                {"max_tokens": 0}, {"max_tokens": True}, {"stop": "\n"}, {"stop": [""]}):
        with pytest.raises(ValueError):
            LLMRequest("fill", (), options=bad)
