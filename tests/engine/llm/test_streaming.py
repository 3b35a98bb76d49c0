"""Streamed answers against a real chat-completions server on 127.0.0.1 that sends server-sent events: the
tokens are heard as they come, the answer and its usage are the same as a whole response's, a broken
stream is a coded failure retried like a dropped connection, and the live panel counts the tokens."""

from __future__ import annotations

import json
import logging

import pytest
from rich.console import Console

from engine.levels.inner import ask_announced
from engine.llm import (
    CodeCompletion,
    HeuristicProvider,
    Ledger,
    LLMRequest,
    OpenAIProvider,
    OpenAISettings,
    ProposalAnswer,
    RecordingProvider,
    ReplayProvider,
    generation_listener,
)
from engine.progress import Progress, duration
from interfaces import ProviderError

from ..panel_clock import Clock
from .chat_server import Answer, Broken, Raw
from .helpers import GPT_SPACE

GOOD = {"changes": [{"name": "MATRIX_LR", "value": 0.02}], "rationale": "halve it"}
GOOD_TEXT = json.dumps(GOOD)
SETTINGS = OpenAISettings(timeout_s=5, max_attempts=3, backoff_s=0.01, backoff_max_s=0.02, repair_rounds=1)
REQUEST = LLMRequest("propose", ({"role": "user", "content": "Propose."},))


def provider(server, mode="tools", settings=SETTINGS, ledger=None):
    return OpenAIProvider("test-model", endpoint="compatible", base_url=server.base_url, mode=mode,
                          settings=settings, ledger=ledger)


def ask_heard(p, request=REQUEST, model=ProposalAnswer):
    heard: list[int] = []
    with generation_listener(heard.append):
        reply = p.ask(request, model)
    return reply, heard


def pieces(text, size=4):
    return -(-len(text) // size)  # the chunks the test server cuts the text into


@pytest.mark.parametrize("mode", ["tools", "json_schema", "json"])
def test_the_tokens_are_heard_as_they_stream_and_the_answer_and_usage_are_the_whole_ones(chat_server, mode):
    chat_server.push(Answer(GOOD_TEXT, prompt_tokens=70, completion_tokens=pieces(GOOD_TEXT), cached_tokens=30))
    ledger = Ledger()
    reply, heard = ask_heard(provider(chat_server, mode, ledger=ledger))
    assert reply.value.as_changes() == {"MATRIX_LR": 0.02}
    assert heard == list(range(1, pieces(GOOD_TEXT) + 1))  # one count per chunk, each one more
    usage = reply.exchange.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cached_prompt_tokens) == (70, pieces(GOOD_TEXT), 30)
    assert ledger.total.total_tokens == 70 + pieces(GOOD_TEXT)
    assert reply.exchange.raw_text == (GOOD_TEXT,) and reply.exchange.attempts == 1
    body = chat_server.requests[0]["body"]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_a_servers_count_above_the_chunks_is_the_last_figure_heard(chat_server):
    chat_server.push(Answer(GOOD_TEXT, completion_tokens=200))
    reply, heard = ask_heard(provider(chat_server))
    assert heard[-1] == 200 and heard[:-1] == list(range(1, pieces(GOOD_TEXT) + 1))
    assert reply.exchange.usage.completion_tokens == 200


def test_a_stream_without_a_usage_chunk_is_charged_the_chunks_it_sent(chat_server):
    chat_server.push(Answer(GOOD_TEXT, stream_usage=False))
    reply, heard = ask_heard(provider(chat_server))
    assert reply.exchange.usage.completion_tokens == pieces(GOOD_TEXT) == heard[-1]
    assert reply.exchange.usage.prompt_tokens == 0  # the server did not say


def test_a_completion_streams_too(chat_server):
    prefix = "def propose(self, trace):\n"
    body = "    return {}\n"
    chat_server.push(Answer(body, echo_prefix=True, completion_tokens=5))
    request = LLMRequest("generate", ({"role": "user", "content": "Write it."},
                                      {"role": "assistant", "content": prefix}), level="2")
    reply, heard = ask_heard(provider(chat_server), request, CodeCompletion)
    assert reply.value.text == body and reply.value.finish_reason == "stop"
    assert heard == list(range(1, pieces(prefix + body) + 1))


def test_a_stream_broken_midway_is_retried_and_the_next_answer_used(chat_server):
    chat_server.push(Broken(Answer(GOOD_TEXT), after=5), Answer(GOOD_TEXT, completion_tokens=pieces(GOOD_TEXT)))
    reply, heard = ask_heard(provider(chat_server))
    assert reply.value.as_changes() == {"MATRIX_LR": 0.02}
    assert reply.exchange.attempts == 2 and len(chat_server.requests) == 2
    # the broken request's tokens (the opening chunk carries none), then the retry's from 1 again
    assert heard == [1, 2, 3, 4, *range(1, pieces(GOOD_TEXT) + 1)]


@pytest.mark.parametrize("broken", [{}, {"clean": True}, {"error": "server overloaded"}],
                         ids=["connection-dropped", "body-ended-early", "error-event"])
def test_a_stream_that_keeps_breaking_fails_with_its_code_after_every_attempt(chat_server, broken):
    chat_server.push(*[Broken(Answer(GOOD_TEXT), after=3, **broken)] * SETTINGS.max_attempts)
    ledger = Ledger()
    with pytest.raises(ProviderError) as failed:
        provider(chat_server, ledger=ledger).ask(REQUEST, ProposalAnswer)
    assert failed.value.code == "provider-unavailable"
    assert len(chat_server.requests) == SETTINGS.max_attempts
    exchange = failed.value.exchange
    assert exchange.error["code"] == "provider-unavailable" and exchange.attempts == SETTINGS.max_attempts
    assert "after 2 tokens" in exchange.error["message"]
    assert broken.get("error", "after 2 tokens") in exchange.error["message"]
    assert ledger.total.calls == 1 and exchange.parsed is None


def test_an_answer_still_streaming_at_the_timeout_is_a_timeout(chat_server):
    slow = OpenAISettings(timeout_s=0.5, max_attempts=1)
    # Each chunk comes well within the read timeout; the whole answer does not come within timeout_s.
    chat_server.push(Answer(GOOD_TEXT, chunk_delay_s=0.05))
    with pytest.raises(ProviderError) as failed:
        provider(chat_server, settings=slow).ask(REQUEST, ProposalAnswer)
    assert failed.value.code == "provider-timeout"
    assert "still streaming" in failed.value.exchange.error["message"]


def _whole(text):
    return json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": "test-model",
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": text}}],
                       "usage": {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}}).encode()


def test_a_server_that_does_not_stream_is_read_whole_and_warned_of_once(chat_server, caplog):
    chat_server.push(Raw(200, _whole(GOOD_TEXT)), Raw(200, _whole(GOOD_TEXT)))
    p = provider(chat_server, mode="json")
    with caplog.at_level(logging.WARNING, logger="engine.llm._openai"):
        first, heard_first = ask_heard(p)
        second, heard_second = ask_heard(p)
    assert first.value.as_changes() == second.value.as_changes() == {"MATRIX_LR": 0.02}
    assert first.exchange.usage.completion_tokens == 7
    assert heard_first == heard_second == []  # nothing to count while a whole answer is written
    assert p.server_streams is False
    chat_server.push(Answer(GOOD_TEXT), Raw(200, _whole(GOOD_TEXT)))  # streams once, then not again
    with caplog.at_level(logging.WARNING, logger="engine.llm._openai"):
        assert ask_heard(p)[1] and p.server_streams is True
        assert not ask_heard(p)[1] and p.server_streams is False
    warnings = [r for r in caplog.records if "does not stream" in r.getMessage()]
    assert len(warnings) == 1


def test_streaming_off_asks_for_whole_answers(chat_server):
    chat_server.push(Answer(GOOD_TEXT))
    whole = OpenAISettings(timeout_s=5, max_attempts=1, stream=False)
    reply, heard = ask_heard(provider(chat_server, settings=whole))
    assert reply.value.as_changes() == {"MATRIX_LR": 0.02} and heard == []
    assert "stream" not in chat_server.requests[0]["body"]


def test_heuristic_and_replayed_answers_come_whole_and_report_nothing(tmp_path):
    path = tmp_path / "transcript.jsonl"
    request = LLMRequest("propose", REQUEST.messages, {"space": GPT_SPACE.to_dict(), "current": GPT_SPACE.defaults()})
    recorded, heard_recording = ask_heard(RecordingProvider(HeuristicProvider(1), path), request)
    replayed, heard_replay = ask_heard(ReplayProvider(path), request)
    assert replayed.value == recorded.value
    assert heard_recording == heard_replay == []


def test_the_panel_counts_the_tokens_of_the_answer_streaming_in(chat_server):
    chat_server.push(Answer(GOOD_TEXT, completion_tokens=pieces(GOOD_TEXT)))
    clock = Clock()
    progress = Progress(Console(file=None, force_terminal=False), iterations=3, metric="loss", minimize=True,
                        live=False, clock=clock, load=lambda: 0.0, cores=2)
    events = progress.events()
    lines: list[str] = []

    def generated(tokens: int) -> None:
        progress.model_generated(tokens)
        clock.now += 2  # a token every two seconds
        lines.append(next(line for line in progress.render().splitlines() if "asking the model" in line).strip())

    events.model_generated = generated
    ask_announced(events, provider(chat_server), REQUEST, ProposalAnswer)
    total = pieces(GOOD_TEXT)
    assert lines[0] == "asking the model (propose): 2s, 1 token so far"
    assert lines[1] == "asking the model (propose): 4s, 2 tokens so far"
    assert lines[-1] == f"asking the model (propose): {duration(2 * total)}, {total} tokens so far"
    assert "tokens so far" not in progress.render()  # answered: the line says the model is idle again
    assert "model idle; last answer" in progress.render()
