"""Completion-style requests (a pre-filled assistant turn continued) against a real server on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from engine.llm import (
    ANSWER_MODELS,
    Budget,
    CodeCompletion,
    HeuristicProvider,
    Ledger,
    LLMRequest,
    OpenAIProvider,
    OpenAISettings,
    RecordingProvider,
    ReplayProvider,
    is_completion,
)
from interfaces import ProviderError

from .chat_server import Answer, Raw, Status

PREFIX = (
    "from interfaces import TraceView\n\n\n"
    "class Repeat:\n"
    "    def advise(self, trace, space, config):\n"
    '        """Name the least tried parameter."""\n'
)
BODY = "        names = untried(trace, list(config.active))\n        return names[0] if names else \"\"\n"
OPTIONS = {"temperature": 0.3, "seed": 11, "stop": ["\nclass ", "\ndef "], "max_tokens": 256}
FAST = OpenAISettings(timeout_s=2.0, max_attempts=3, backoff_s=0.01, backoff_max_s=0.05)


def provider(server, *, mode="tools", settings=FAST, ledger=None):
    return OpenAIProvider("test-model", endpoint="compatible", base_url=server.base_url, mode=mode,
                          settings=settings, ledger=ledger)


def fill(options=OPTIONS, prefix=PREFIX):
    messages = [{"role": "system", "content": "Complete the method body."}, {"role": "user", "content": "go"}]
    if prefix is not None:
        messages.append({"role": "assistant", "content": prefix})
    return LLMRequest("fill", tuple(messages), {"hook": "advisor"}, level="2", options=options)


def completion_body(server, index=0):
    return server.requests[index]["body"]


@pytest.mark.parametrize("mode", ["tools", "json_schema"])
@pytest.mark.parametrize("echo_prefix", [True, False],
                         ids=["server-echoes-prefix", "server-sends-continuation"])
def test_the_continuation_comes_back_without_the_prefix(chat_server, mode, echo_prefix):
    chat_server.push(Answer(BODY, prompt_tokens=300, completion_tokens=40, echo_prefix=echo_prefix))
    ledger = Ledger()
    reply = provider(chat_server, mode=mode, ledger=ledger).ask(fill(), CodeCompletion)
    assert type(reply.value) is CodeCompletion
    assert reply.value.text == BODY and reply.value.finish_reason == "stop"
    exchange = reply.exchange
    assert exchange.raw_text == (BODY,)
    assert exchange.to_dict()["parsed"] == {"text": BODY, "finish_reason": "stop"}
    assert exchange.response_model == "CodeCompletion" and exchange.error is None and exchange.attempts == 1
    assert (exchange.usage.prompt_tokens, exchange.usage.completion_tokens) == (300, 40)
    assert ledger.by_level()["2"].total_tokens == 340 and ledger.total.calls == 1
    body = completion_body(chat_server)
    # Asked as a plain chat completion: no schema of any kind, the messages exactly as given.
    assert "tools" not in body and "tool_choice" not in body and "response_format" not in body
    assert body["messages"] == fill().chat_messages()
    assert body["messages"][-1] == {"role": "assistant", "content": PREFIX}


def test_the_request_options_reach_the_server(chat_server):
    chat_server.push(Answer(BODY))
    provider(chat_server).ask(fill(), CodeCompletion)
    body = completion_body(chat_server)
    assert body["temperature"] == 0.3
    assert body["seed"] == 11
    assert body["stop"] == ["\nclass ", "\ndef "]
    assert body["max_tokens"] == 256


def test_max_tokens_is_capped_by_the_settings_and_by_the_budget(chat_server):
    chat_server.push(Answer(BODY), Answer(BODY))
    capped = OpenAISettings(timeout_s=2.0, max_output_tokens=100, temperature=0.9)
    provider(chat_server, settings=capped).ask(fill(), CodeCompletion)
    assert completion_body(chat_server, 0)["max_tokens"] == 100
    # The request's own temperature wins over the provider's default.
    assert completion_body(chat_server, 0)["temperature"] == 0.3
    request = fill()
    budget = Budget(max_tokens=len(json.dumps(request.chat_messages())) // 3 + 1 + 60)
    provider(chat_server, ledger=Ledger(budget)).ask(request, CodeCompletion)
    assert completion_body(chat_server, 1)["max_tokens"] == 60


def test_without_options_nothing_is_sent_beyond_the_providers_settings(chat_server):
    chat_server.push(Answer(BODY))
    provider(chat_server).ask(fill(options={}), CodeCompletion)
    body = completion_body(chat_server)
    assert not {"temperature", "seed", "stop", "max_tokens"} & set(body)


def test_a_server_error_then_success_is_retried(chat_server):
    chat_server.push(Status(500), Answer(BODY, prompt_tokens=200, completion_tokens=30, echo_prefix=True))
    ledger = Ledger()
    reply = provider(chat_server, ledger=ledger).ask(fill(), CodeCompletion)
    assert reply.value.text == BODY
    assert len(chat_server.requests) == 2 and reply.exchange.attempts == 2
    assert completion_body(chat_server, 1)["messages"] == completion_body(chat_server, 0)["messages"]
    assert ledger.total.total_tokens == 230


@pytest.mark.parametrize("echo_prefix", [True, False])
def test_an_empty_continuation_is_an_answer_not_an_error(chat_server, echo_prefix):
    chat_server.push(Answer("", completion_tokens=0, echo_prefix=echo_prefix, finish_reason="length"))
    reply = provider(chat_server).ask(fill(), CodeCompletion)
    assert reply.value.text == "" and reply.value.finish_reason == "length"
    assert reply.exchange.error is None and reply.exchange.raw_text == ("",)
    assert len(chat_server.requests) == 1


def test_without_a_prefilled_turn_the_whole_message_is_the_continuation(chat_server):
    chat_server.push(Answer(PREFIX + BODY))
    reply = provider(chat_server).ask(fill(prefix=None), CodeCompletion)
    assert reply.value.text == PREFIX + BODY


def _raw_completion(message):
    return json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": "test-model",
                       "choices": [] if message is None else [{"index": 0, "message": message,
                                                               "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}).encode()


def test_a_response_without_choices_is_retried_then_reported_as_empty(chat_server):
    chat_server.push(Raw(200, _raw_completion(None)), Answer(BODY))
    reply = provider(chat_server).ask(fill(), CodeCompletion)
    assert reply.value.text == BODY and reply.exchange.attempts == 2
    chat_server.push(*[Raw(200, _raw_completion(None))] * 3)
    ledger = Ledger()
    with pytest.raises(ProviderError) as caught:
        provider(chat_server, ledger=ledger).ask(fill(), CodeCompletion)
    assert caught.value.code == "provider-empty-answer"
    assert caught.value.exchange.attempts == 3 and caught.value.exchange.parsed is None
    assert ledger.total.total_tokens == 45  # the empty responses were paid for


def test_a_message_content_that_is_not_text_is_undecodable(chat_server):
    not_text = Raw(200, _raw_completion({"role": "assistant", "content": {"code": BODY}}))
    chat_server.push(not_text, not_text, not_text)
    with pytest.raises(ProviderError) as caught:
        provider(chat_server).ask(fill(), CodeCompletion)
    assert caught.value.code == "provider-undecodable"
    assert len(chat_server.requests) == 3


def test_an_auth_failure_keeps_its_code_and_is_not_retried(chat_server):
    chat_server.push(Status(401, "bad key"))
    with pytest.raises(ProviderError) as caught:
        provider(chat_server).ask(fill(), CodeCompletion)
    assert caught.value.code == "provider-auth"
    assert len(chat_server.requests) == 1
    exchange = caught.value.exchange
    assert exchange.response_model == "CodeCompletion" and exchange.error["code"] == "provider-auth"


def test_a_spent_budget_refuses_before_sending(chat_server):
    ledger = Ledger(Budget(max_tokens=10))
    with pytest.raises(ProviderError) as caught:
        provider(chat_server, ledger=ledger).ask(fill(), CodeCompletion)
    assert caught.value.code == "budget-exceeded"
    assert chat_server.requests == []


def test_a_recorded_fill_exchange_replays_without_the_server(tmp_path, chat_server):
    path = tmp_path / "fill.jsonl"
    chat_server.push(Answer(BODY, prompt_tokens=120, completion_tokens=25, echo_prefix=True), Status(401))
    live = RecordingProvider(provider(chat_server), path)
    recorded = live.ask(fill(), CodeCompletion)
    with pytest.raises(ProviderError):
        live.ask(fill(), CodeCompletion)
    chat_server.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["response_model"] == "CodeCompletion"
    assert lines[0]["value"] == {"text": BODY, "finish_reason": "stop"}
    assert lines[0]["request"]["options"] == OPTIONS and lines[0]["request"]["purpose"] == "fill"
    ledger = Ledger()
    replay = ReplayProvider(path, ledger=ledger, strict_messages=True)
    replayed = replay.ask(fill(), CodeCompletion)
    assert replayed.value == recorded.value and type(replayed.value) is CodeCompletion
    assert replayed.exchange.to_dict() == recorded.exchange.to_dict()
    with pytest.raises(ProviderError) as caught:
        replay.ask(fill(), CodeCompletion)
    assert caught.value.code == "provider-auth"
    assert ledger.total.total_tokens == 145


def test_the_marker_sets_completion_answers_apart():
    assert is_completion(CodeCompletion) and ANSWER_MODELS["CodeCompletion"] is CodeCompletion
    assert not any(is_completion(model) for name, model in ANSWER_MODELS.items() if name != "CodeCompletion")
    assert "completion" not in CodeCompletion.model_fields
    with pytest.raises(ValueError):
        CodeCompletion.model_validate({"text": BODY, "code": BODY})


def test_heuristic_fill_is_recorded_with_its_text_as_the_raw_answer(tmp_path):
    path = tmp_path / "h.jsonl"
    recorded = RecordingProvider(HeuristicProvider(3), path).ask(fill(), CodeCompletion)
    assert recorded.exchange.raw_text == (recorded.value.text,)
    replayed = ReplayProvider(path).ask(fill(), CodeCompletion)
    assert replayed.value == recorded.value
