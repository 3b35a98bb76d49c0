"""The openai provider against a real chat-completions server on 127.0.0.1."""

from __future__ import annotations

import json
import logging

import pytest

from engine.llm import Budget, Ledger, LLMRequest, OpenAIProvider, ProposalAnswer, proposal_answer_for
from engine.llm._openai import OpenAISettings
from interfaces import ConfigError, ProviderError

from .chat_server import Answer, Hang, Status

KEY = "sk-test-4f1c9a7e0d2b"
GOOD = {"changes": [{"name": "MATRIX_LR", "value": 0.02}], "rationale": "halve the matrix learning rate"}
FAST = OpenAISettings(timeout_s=0.5, max_attempts=3, backoff_s=0.01, backoff_max_s=0.05, repair_rounds=1)


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("TEST_LLM_KEY", KEY)


def provider(server, *, mode="tools", settings=FAST, ledger=None, **kw):
    return OpenAIProvider(
        "test-model", endpoint="compatible", base_url=server.base_url, api_key_env="TEST_LLM_KEY",
        mode=mode, settings=settings, ledger=ledger, **kw,
    )


def request(purpose="propose", level="1"):
    return LLMRequest(purpose, ({"role": "user", "content": "Propose one change."},), level=level)


def assert_no_key(*texts):
    for text in texts:
        assert KEY not in text


@pytest.mark.parametrize("mode", ["tools", "json_schema", "md_json"])
def test_realistic_answer_validates_in_each_mode(chat_server, mode):
    chat_server.push(Answer.json(GOOD, prompt_tokens=120, completion_tokens=30))
    reply = provider(chat_server, mode=mode).ask(request(), ProposalAnswer)
    assert type(reply.value) is ProposalAnswer
    assert reply.value.as_changes() == {"MATRIX_LR": 0.02}
    assert reply.exchange.to_dict()["parsed"] == GOOD
    assert reply.exchange.usage.total_tokens == 150
    assert reply.exchange.attempts == 1 and reply.exchange.error is None
    body = chat_server.requests[0]["body"]
    assert body["model"] == "test-model"
    assert ("tools" in body) == (mode == "tools")
    if mode == "json_schema":
        assert body["response_format"]["type"] == "json_schema"
    assert chat_server.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"


def test_malformed_json_gets_a_repair_round_with_the_error(chat_server):
    chat_server.push(Answer('{"changes": [{"name": "MATRIX_LR", "value": 0.02}'), Answer.json(GOOD))
    reply = provider(chat_server).ask(request(), ProposalAnswer)
    assert reply.value.rationale == GOOD["rationale"]
    assert len(chat_server.requests) == 2
    assert reply.exchange.attempts == 2
    assert reply.exchange.raw_text[0].startswith('{"changes"') and len(reply.exchange.raw_text) == 2
    # The repair request carries the failed answer and the validation error back to the model.
    repair_messages = json.dumps(chat_server.requests[1]["body"]["messages"])
    assert "MATRIX_LR" in repair_messages and ("error" in repair_messages.lower())


def test_schema_violation_is_repaired(chat_server):
    too_many = {"changes": [{"name": f"P{i}", "value": i} for i in range(6)], "rationale": "all"}
    chat_server.push(Answer.json(too_many), Answer.json(GOOD))
    reply = provider(chat_server).ask(request(), ProposalAnswer)
    assert reply.value.as_changes() == {"MATRIX_LR": 0.02}
    assert len(chat_server.requests) == 2


def test_per_request_schema_names_only_the_active_parameters_and_repairs_a_frozen_one(chat_server):
    answer_model = proposal_answer_for(("MATRIX_LR", "DEPTH"))
    frozen = {"changes": [{"name": "WEIGHT_DECAY", "value": 0.1}], "rationale": "regularise"}
    chat_server.push(Answer.json(frozen), Answer.json(GOOD))
    reply = provider(chat_server, mode="json_schema").ask(request(), answer_model)
    assert reply.value.as_changes() == {"MATRIX_LR": 0.02}
    # The grammar a local server builds from this schema cannot produce another name.
    schema = chat_server.requests[0]["body"]["response_format"]["json_schema"]["schema"]
    assert schema["$defs"]["ParamChange"]["properties"]["name"]["enum"] == ["MATRIX_LR", "DEPTH"]
    repair = json.dumps(chat_server.requests[1]["body"]["messages"])
    assert "WEIGHT_DECAY" in repair and "MATRIX_LR" in repair and "DEPTH" in repair


def test_answer_still_bad_after_repair_is_invalid_answer(chat_server):
    chat_server.push(Answer("not json at all"), Answer('{"changes": []}'))
    ledger = Ledger()
    with pytest.raises(ProviderError) as caught:
        provider(chat_server, ledger=ledger).ask(request(), ProposalAnswer)
    assert caught.value.code == "invalid-answer"
    assert "ProposalAnswer" in caught.value.message
    assert len(chat_server.requests) == 2  # one answer, one repair, no transport retries
    exchange = caught.value.exchange
    assert exchange.error["code"] == "invalid-answer" and exchange.parsed is None
    assert exchange.raw_text == ("not json at all", '{"changes": []}')
    assert ledger.total.total_tokens == 140  # failed calls are paid for too


def test_hang_times_out_and_is_retried(chat_server):
    chat_server.push(Hang(5.0), Answer.json(GOOD))
    reply = provider(chat_server).ask(request(), ProposalAnswer)
    assert reply.value.as_changes() == {"MATRIX_LR": 0.02}
    assert len(chat_server.requests) == 2
    assert reply.exchange.attempts == 2


def test_hang_every_time_ends_with_timeout_code(chat_server):
    chat_server.push(Hang(5.0), Hang(5.0))
    settings = OpenAISettings(timeout_s=0.3, max_attempts=2, backoff_s=0.01, backoff_max_s=0.02)
    with pytest.raises(ProviderError) as caught:
        provider(chat_server, settings=settings).ask(request(), ProposalAnswer)
    assert caught.value.code == "provider-timeout"
    assert len(chat_server.requests) == 2


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retryable_status_is_retried_with_backoff(chat_server, status):
    settings = OpenAISettings(timeout_s=2, max_attempts=3, backoff_s=0.05, backoff_max_s=0.05)
    chat_server.push(Status(status), Answer.json(GOOD))
    reply = provider(chat_server, settings=settings).ask(request(), ProposalAnswer)
    assert reply.value.as_changes() == {"MATRIX_LR": 0.02}
    assert len(chat_server.requests) == 2
    gap = chat_server.request_times[1] - chat_server.request_times[0]
    assert gap >= 0.05  # it waited before asking again


def test_rate_limit_that_never_ends_gives_up_after_max_attempts(chat_server):
    chat_server.push(Status(429), Status(429), Status(429), Answer.json(GOOD))
    with pytest.raises(ProviderError) as caught:
        provider(chat_server).ask(request(), ProposalAnswer)
    assert caught.value.code == "provider-rate-limited"
    assert len(chat_server.requests) == FAST.max_attempts


@pytest.mark.parametrize(("status", "code"), [(401, "provider-auth"), (403, "provider-auth"),
                                              (400, "provider-rejected")])
def test_client_errors_are_not_retried(chat_server, status, code):
    chat_server.push(Status(status, "invalid key"), Answer.json(GOOD))
    with pytest.raises(ProviderError) as caught:
        provider(chat_server).ask(request(), ProposalAnswer)
    assert caught.value.code == code
    assert len(chat_server.requests) == 1


def test_key_never_appears_in_logs_exchanges_or_errors(chat_server, caplog):
    caplog.set_level(logging.DEBUG)
    # The server echoes the key in its error body, as a misconfigured proxy might.
    chat_server.push(Answer("{oops"), Answer.json(GOOD), Status(500, f"bad key {KEY}"), Status(401, f"bad key {KEY}"))
    p = provider(chat_server)
    reply = p.ask(request(), ProposalAnswer)
    with pytest.raises(ProviderError) as caught:
        p.ask(request(), ProposalAnswer)
    assert caught.value.code == "provider-auth"
    assert all(r["headers"]["authorization"] == f"Bearer {KEY}" for r in chat_server.requests)
    assert_no_key(
        json.dumps(reply.exchange.to_dict()),
        json.dumps(caught.value.exchange.to_dict()),
        str(caught.value),
        p.describe(),
        repr(p.__dict__.get("settings")),
        caplog.text,
    )


def test_missing_key_is_a_config_error(chat_server, monkeypatch):
    monkeypatch.delenv("TEST_LLM_KEY")
    with pytest.raises(ConfigError) as caught:
        provider(chat_server)
    assert caught.value.code == "missing-api-key" and "TEST_LLM_KEY" in caught.value.message


def test_usage_and_cost_are_accounted_per_level_and_in_total(chat_server):
    from engine.llm._ledger import Price

    ledger = Ledger()
    p = provider(chat_server, ledger=ledger, price=Price(1.0, 2.0))
    chat_server.push(Answer.json(GOOD, prompt_tokens=1000, completion_tokens=500),
                     Answer.json(GOOD, prompt_tokens=2000, completion_tokens=100))
    first = p.ask(request(level="1"), ProposalAnswer)
    p.ask(request(purpose="outer", level="1.5"), ProposalAnswer)
    assert first.exchange.usage.cost_usd == pytest.approx((1000 * 1.0 + 500 * 2.0) / 1e6)
    levels = ledger.by_level()
    assert levels["1"].total_tokens == 1500 and levels["1.5"].total_tokens == 2100
    assert ledger.total.calls == 2
    assert ledger.total.cost_usd == pytest.approx((3000 * 1.0 + 600 * 2.0) / 1e6)


def test_token_budget_stops_before_the_call_that_would_start_over_it(chat_server):
    ledger = Ledger(Budget(max_tokens=150))
    p = provider(chat_server, ledger=ledger)
    chat_server.push(*[Answer.json(GOOD, prompt_tokens=60, completion_tokens=20)] * 5)
    p.ask(request(), ProposalAnswer)  # 80 tokens
    p.ask(request(), ProposalAnswer)  # 160: crossed during this call
    with pytest.raises(ProviderError) as caught:
        p.ask(request(), ProposalAnswer)
    assert caught.value.code == "budget-exceeded"
    assert len(chat_server.requests) == 2  # the refused call never reached the server
    assert ledger.total.total_tokens == 160


def test_dollar_budget_needs_a_known_price(chat_server):
    ledger = Ledger(Budget(max_usd=1.0))
    p = OpenAIProvider("unknown-hosted-model", endpoint="openai", base_url=chat_server.base_url,
                       api_key_env="TEST_LLM_KEY", settings=FAST, ledger=ledger)
    chat_server.push(Answer.json(GOOD))
    p.ask(request(), ProposalAnswer)
    with pytest.raises(ProviderError) as caught:
        p.ask(request(), ProposalAnswer)
    assert caught.value.code == "unknown-price"


def test_dollar_budget_stops_the_run(chat_server):
    from engine.llm._ledger import Price

    ledger = Ledger(Budget(max_usd=0.001))
    p = provider(chat_server, ledger=ledger, price=Price(10.0, 10.0))
    chat_server.push(*[Answer.json(GOOD, prompt_tokens=60, completion_tokens=20)] * 3)
    p.ask(request(), ProposalAnswer)  # $0.0008
    p.ask(request(), ProposalAnswer)  # $0.0016
    with pytest.raises(ProviderError) as caught:
        p.ask(request(), ProposalAnswer)
    assert caught.value.code == "budget-exceeded"
    assert len(chat_server.requests) == 2
