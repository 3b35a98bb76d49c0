"""Server faults against a real chat-completions server on 127.0.0.1: Retry-After, empty choices, bodies that
are not JSON or not text."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest

from engine.llm import LLMRequest, OpenAIProvider, ProposalAnswer
from engine.llm._openai import OpenAISettings, retry_after_s
from interfaces import ProviderError

from .chat_server import Answer, Raw

GOOD = {"changes": [{"name": "MATRIX_LR", "value": 0.02}], "rationale": "halve it"}
SETTINGS = OpenAISettings(timeout_s=5, max_attempts=3, backoff_s=0.01, backoff_max_s=0.02, repair_rounds=1)
EMPTY = json.dumps({"id": "x", "object": "chat.completion", "created": 1, "model": "test-model", "choices": [],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 0, "total_tokens": 5}}).encode()


def ask(server, settings=SETTINGS):
    p = OpenAIProvider("test-model", endpoint="compatible", base_url=server.base_url, mode="tools", settings=settings)
    return p.ask(LLMRequest("propose", ({"role": "user", "content": "Propose."},)), ProposalAnswer)


def test_retry_after_in_seconds_is_waited_for(chat_server):
    chat_server.push(Raw(429, b'{"error": {"message": "slow down"}}', (("Retry-After", "1"),)), Answer.json(GOOD))
    reply = ask(chat_server)
    assert reply.value.as_changes() == {"MATRIX_LR": 0.02}
    gap = chat_server.request_times[1] - chat_server.request_times[0]
    assert gap >= 0.95, f"retried after {gap:.3f} s, not the 1 s the server asked for"


def test_retry_after_ms_is_honoured_and_a_long_one_is_capped(chat_server):
    chat_server.push(Raw(503, b"{}", (("retry-after-ms", "400"),)), Answer.json(GOOD))
    ask(chat_server)
    assert chat_server.request_times[1] - chat_server.request_times[0] >= 0.38
    capped = OpenAISettings(timeout_s=5, max_attempts=2, backoff_s=0.01, backoff_max_s=0.02, retry_after_max_s=0.2)
    chat_server.push(Raw(429, b"{}", (("Retry-After", "3600"),)), Answer.json(GOOD))
    ask(chat_server, capped)
    assert chat_server.request_times[3] - chat_server.request_times[2] < 2


def test_an_http_date_retry_after_is_read():
    class Response:
        headers: ClassVar[dict[str, str]] = {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}

    class Failure(Exception):
        response = Response()

    assert retry_after_s(Failure()) == 0.0  # a date in the past: no wait
    assert retry_after_s(ValueError()) is None


@pytest.mark.parametrize("body, code", [(EMPTY, "provider-empty-answer"), (b"\xff\xfe\x00\x81 not text",
                                         "provider-undecodable"), (b"<html>502 bad gateway</html>",
                                                                   "provider-undecodable")])
def test_a_broken_response_is_retried_and_the_next_good_one_is_used(chat_server, body, code):
    chat_server.push(Raw(200, body), Answer.json(GOOD))
    reply = ask(chat_server)
    assert reply.value.as_changes() == {"MATRIX_LR": 0.02}
    assert len(chat_server.requests) == 2


@pytest.mark.parametrize("body, code", [(EMPTY, "provider-empty-answer"), (b"\xff\xfe\x00\x81 not text",
                                         "provider-undecodable"), (b"<html>502 bad gateway</html>",
                                                                   "provider-undecodable")])
def test_a_server_that_keeps_answering_broken_responses_fails_with_its_code(chat_server, body, code):
    chat_server.push(*[Raw(200, body)] * 12)
    with pytest.raises(ProviderError) as failed:
        ask(chat_server)
    assert failed.value.code == code
    # Every attempt was used (the code is a retryable one); instructor may re-ask a body it could not parse.
    assert SETTINGS.max_attempts <= len(chat_server.requests) <= SETTINGS.max_attempts * 2
    assert failed.value.exchange.error["code"] == code
