"""Recording any provider, replaying the transcript exactly, and refusing to drift."""

from __future__ import annotations

import json

import pytest

from engine.llm import (
    Budget,
    CritiqueAnswer,
    ExploreAnswer,
    GenerateAnswer,
    HeuristicProvider,
    Ledger,
    LLMRequest,
    OpenAIProvider,
    OpenAISettings,
    OuterAnswer,
    ProposalAnswer,
    RecordingProvider,
    ReplayProvider,
    make_provider,
)
from interfaces import ConfigError, ProviderError

from .chat_server import Answer, Status
from .helpers import GPT_SPACE, catalog, config

GOOD = {"changes": [{"name": "MATRIX_LR", "value": 0.02}], "rationale": "halve it"}


def script():
    """A small run: proposals, an outer cycle, and two Level 2 rounds."""
    base = {"space": GPT_SPACE.to_dict(), "current": dict(GPT_SPACE.defaults())}
    return [
        (LLMRequest("propose", ({"role": "user", "content": "p0"},), dict(base, iteration=0)), ProposalAnswer),
        (LLMRequest("propose", ({"role": "user", "content": "p1"},), dict(base, iteration=1)), ProposalAnswer),
        (LLMRequest("outer", (), {"space": GPT_SPACE.to_dict(), "config": config(), "trace": []}, level="1.5"),
         OuterAnswer),
        (LLMRequest("explore", (), {"trace": []}, level="2"), ExploreAnswer),
        (LLMRequest("critique", (), {"trace": []}, level="2"), CritiqueAnswer),
    ]


def run(provider):
    return [provider.ask(request, model) for request, model in script()]


def test_replay_of_a_heuristic_run_gives_the_same_answers_and_exchanges(tmp_path):
    path = tmp_path / "t.jsonl"
    recorded = run(RecordingProvider(HeuristicProvider(4, catalog=catalog), path))
    assert len(path.read_text().splitlines()) == len(script())
    ledger = Ledger()
    replayed = run(ReplayProvider(path, ledger=ledger))
    assert [r.value for r in replayed] == [r.value for r in recorded]
    assert [r.exchange.to_dict() for r in replayed] == [r.exchange.to_dict() for r in recorded]
    assert ledger.total.calls == len(script())


def test_replay_of_a_real_endpoint_run_needs_no_server(tmp_path, chat_server, monkeypatch):
    monkeypatch.setenv("REPLAY_KEY", "sk-replay-secret")
    path = tmp_path / "t.jsonl"
    chat_server.push(Answer("{bad json"), Answer.json(GOOD, prompt_tokens=70), Status(401))
    settings = OpenAISettings(timeout_s=2, backoff_s=0.01, max_attempts=2)
    live = RecordingProvider(OpenAIProvider("m", endpoint="compatible", base_url=chat_server.base_url,
                                            api_key_env="REPLAY_KEY", mode="tools", settings=settings), path)
    request = LLMRequest("propose", ({"role": "user", "content": "go"},))
    first = live.ask(request, ProposalAnswer)
    with pytest.raises(ProviderError) as live_error:
        live.ask(request, ProposalAnswer)
    chat_server.close()
    assert "sk-replay-secret" not in path.read_text()

    replay = ReplayProvider(path)
    again = replay.ask(request, ProposalAnswer)
    assert again.value == first.value and again.exchange.raw_text == first.exchange.raw_text
    assert again.exchange.usage == first.exchange.usage and again.exchange.attempts == 2
    with pytest.raises(ProviderError) as replay_error:
        replay.ask(request, ProposalAnswer)
    assert replay_error.value.code == live_error.value.code == "provider-auth"
    assert replay.describe().startswith(f"replay of {path}") and replay.model == "m"


def test_a_different_purpose_or_model_at_the_same_position_is_a_mismatch(tmp_path):
    path = tmp_path / "t.jsonl"
    run(RecordingProvider(HeuristicProvider(0, catalog=catalog), path))
    request, _ = script()[0]
    with pytest.raises(ProviderError) as caught:
        ReplayProvider(path).ask(request, OuterAnswer)
    assert caught.value.code == "replay-mismatch"
    outer_request = script()[2][0]
    with pytest.raises(ProviderError) as caught:
        ReplayProvider(path).ask(outer_request, OuterAnswer)
    assert caught.value.code == "replay-mismatch"


def test_changed_prompt_is_a_mismatch_only_when_strict(tmp_path):
    path = tmp_path / "t.jsonl"
    run(RecordingProvider(HeuristicProvider(0, catalog=catalog), path))
    request, model = script()[0]
    reworded = LLMRequest("propose", ({"role": "user", "content": "reworded"},), request.context)
    assert ReplayProvider(path).ask(reworded, model).value.changes
    with pytest.raises(ProviderError) as caught:
        ReplayProvider(path, strict_messages=True).ask(reworded, model)
    assert caught.value.code == "replay-mismatch"


def test_an_exhausted_transcript_is_an_error_not_a_fallback(tmp_path):
    path = tmp_path / "t.jsonl"
    run(RecordingProvider(HeuristicProvider(0, catalog=catalog), path))
    replay = ReplayProvider(path)
    run(replay)
    with pytest.raises(ProviderError) as caught:
        replay.ask(*script()[0])
    assert caught.value.code == "replay-exhausted"


def test_missing_or_corrupt_transcripts_are_config_errors(tmp_path):
    with pytest.raises(ConfigError) as caught:
        ReplayProvider(tmp_path / "none.jsonl")
    assert caught.value.code == "replay-missing"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"ok": 1}\nnot json\n')
    with pytest.raises(ConfigError) as caught:
        ReplayProvider(bad)
    assert caught.value.code == "replay-corrupt"


def test_heuristic_errors_are_recorded_and_replayed(tmp_path):
    path = tmp_path / "t.jsonl"
    recording = RecordingProvider(HeuristicProvider(0), path)
    request = LLMRequest("explore", (), {"trace": []}, level="2")
    with pytest.raises(ProviderError):
        recording.ask(request, ExploreAnswer)
    with pytest.raises(ProviderError) as caught:
        ReplayProvider(path).ask(request, ExploreAnswer)
    assert caught.value.code == "no-catalog"


def test_budget_stops_a_replay_where_it_stopped_the_run(tmp_path, chat_server, monkeypatch):
    monkeypatch.setenv("REPLAY_KEY", "k")
    path = tmp_path / "t.jsonl"
    chat_server.push(*[Answer.json(GOOD, prompt_tokens=90, completion_tokens=10)] * 3)
    live = make_provider("compatible", model="m", base_url=chat_server.base_url, api_key_env="REPLAY_KEY",
                         record=path, budget=Budget(max_tokens=200), timeout_s=2)
    request = LLMRequest("propose", ({"role": "user", "content": "go"},))
    live.ask(request, ProposalAnswer)
    live.ask(request, ProposalAnswer)
    with pytest.raises(ProviderError) as caught:
        live.ask(request, ProposalAnswer)
    assert caught.value.code == "budget-exceeded"
    assert len(path.read_text().splitlines()) == 2  # the refused call is not an exchange
    replay = make_provider("replay", replay=path, budget=Budget(max_tokens=200))
    replay.ask(request, ProposalAnswer)
    replay.ask(request, ProposalAnswer)
    with pytest.raises(ProviderError) as caught:
        replay.ask(request, ProposalAnswer)
    assert caught.value.code == "budget-exceeded"


def test_transcript_lines_are_json_with_request_and_answer(tmp_path):
    path = tmp_path / "t.jsonl"
    run(RecordingProvider(HeuristicProvider(0, catalog=catalog), path))
    line = json.loads(path.read_text().splitlines()[0])
    assert line["request"]["purpose"] == "propose" and line["response_model"] == "ProposalAnswer"
    assert line["provider"] == "heuristic" and line["error"] is None and line["value"]["changes"]


def test_generate_answers_are_recorded_verbatim(tmp_path):
    path = tmp_path / "t.jsonl"
    request = LLMRequest("generate", (), {"trace": [], "choice": "tabu_filter"}, level="2")
    code = RecordingProvider(HeuristicProvider(0, catalog=catalog), path).ask(request, GenerateAnswer).value.code
    assert ReplayProvider(path).ask(request, GenerateAnswer).value.code == code
