"""Token counts stored per call and shown in the report; budgets enforced before a request is sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.llm import Budget, Ledger, LLMRequest, OpenAIProvider, ProposalAnswer
from engine.llm._ledger import estimate_tokens
from engine.llm._openai import OpenAISettings
from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunStore
from interfaces import ProviderError

from .chat_server import Answer

QUAD = Path(__file__).parents[1] / "data" / "quad.py"
FAST = OpenAISettings(timeout_s=5, max_attempts=1, backoff_s=0.01, backoff_max_s=0.05, repair_rounds=0)


def provider(server, ledger):
    return OpenAIProvider("test-model", endpoint="compatible", base_url=server.base_url, mode="tools",
                          settings=FAST, ledger=ledger)


def ask(p, text="Propose one change."):
    return p.ask(LLMRequest("propose", ({"role": "user", "content": text},)), ProposalAnswer)


GOOD = {"changes": [{"name": "MATRIX_LR", "value": 0.02}], "rationale": "halve it"}


def test_a_request_asks_for_no_more_answer_tokens_than_the_budget_has_left(chat_server):
    ledger = Ledger(Budget(max_tokens=5000))
    p = provider(chat_server, ledger)
    chat_server.push(Answer.json(GOOD, prompt_tokens=1000, completion_tokens=1500))
    ask(p)
    prompt = estimate_tokens([{"role": "user", "content": "Propose one change."}])
    assert chat_server.requests[0]["body"]["max_tokens"] == 5000 - prompt
    chat_server.push(Answer.json(GOOD, prompt_tokens=1000, completion_tokens=1500))
    ask(p)
    assert chat_server.requests[1]["body"]["max_tokens"] == 5000 - 2500 - prompt
    assert ledger.total.total_tokens == 5000


def test_a_spent_budget_refuses_the_next_call_before_anything_is_sent(chat_server):
    ledger = Ledger(Budget(max_tokens=100))
    with pytest.raises(ProviderError) as refused:
        ask(provider(chat_server, ledger), "x" * 600)  # its prompt alone is over what is left
    assert refused.value.code == "budget-exceeded" and "refusing to send it" in refused.value.message
    assert chat_server.requests == []


def test_a_dollar_budget_caps_the_answer_at_the_price(chat_server):
    from engine.llm import Price

    price = Price(1.0, 10.0)  # $10 per million completion tokens
    p = OpenAIProvider("test-model", endpoint="compatible", base_url=chat_server.base_url, mode="tools",
                       settings=FAST, ledger=Ledger(Budget(max_usd=0.01)), price=price)
    chat_server.push(Answer.json(GOOD, prompt_tokens=10, completion_tokens=10))
    ask(p)
    prompt = estimate_tokens([{"role": "user", "content": "Propose one change."}])
    assert chat_server.requests[0]["body"]["max_tokens"] == int((0.01 - prompt * 1e-6) * 1e6 / 10.0)


def test_the_store_reads_token_counts_nested_under_usage(tmp_path):
    from engine.llm import Exchange, Usage

    store = RunStore.open(tmp_path)
    store.create_run("r", task="t", settings={}, provider="p", model="m")
    exchange = Exchange("propose", "1", "openai", "m", ({"role": "user", "content": "hi"},),
                        usage=Usage(120, 30, 0.25, calls=1), duration_s=1.5)
    store.add_llm_call("r", exchange.to_dict())
    [row] = store.llm_call_rows("r")
    assert (row["prompt_tokens"], row["completion_tokens"], row["cost_usd"], row["duration_s"]) == (120, 30, 0.25, 1.5)
    assert store.usage("r")["total"]["total_tokens"] == 150
    store.close()


def test_prompt_tokens_the_server_read_from_its_cache_are_counted_stored_and_reported(chat_server, tmp_path):
    # The second request repeats the first one's prefix: the server says it read 900 of its 1000 prompt
    # tokens from its cache (OpenAI's field, which llama.cpp's server fills in too).
    p = provider(chat_server, Ledger())
    chat_server.push(Answer.json(GOOD, prompt_tokens=1000, completion_tokens=40, cached_tokens=0),
                     Answer.json(GOOD, prompt_tokens=1000, completion_tokens=40, cached_tokens=900),
                     Answer.json(GOOD, prompt_tokens=1000, completion_tokens=40))  # a server that says nothing
    replies = [ask(p) for _ in range(3)]
    assert [r.exchange.usage.cached_prompt_tokens for r in replies] == [0, 900, 0]
    assert p.ledger.total.cached_prompt_tokens == 900
    store = RunStore.open(tmp_path)
    store.create_run("r", task="t", settings={}, provider="p", model="m")
    for reply in replies:
        store.add_llm_call("r", reply.exchange.to_dict())
    assert [row["cached_prompt_tokens"] for row in store.llm_call_rows("r")] == [0, 900, 0]
    assert store.usage("r")["total"]["cached_prompt_tokens"] == 900
    from engine.report import write_report

    report = write_report(store, "r", tmp_path).read_text()
    assert "| **total** | 3 | 0 | 3000 | 900 | 120 | 3120 |" in report and "| 1000 | 900 | 40 | 1040 |" in report
    store.close()


def _answers(n):
    # Distinct learning rates, so no answer is a duplicate of an earlier trial.
    return [Answer.json({"changes": [{"name": "LEARNING_RATE", "value": round(0.002 + 0.001 * i, 4)}],
                         "rationale": f"try {i}"}, prompt_tokens=6000, completion_tokens=2000) for i in range(n)]


def test_a_run_over_its_token_budget_stops_cleanly_and_resumes_with_a_higher_cap(chat_server, tmp_path):
    settings = RunSettings(task="script", task_options={"path": str(QUAD), "metric": "loss", "budget_s": 30},
                           provider="compatible", model="test-model", base_url=chat_server.base_url, levels=("1",),
                           iterations=6, max_tokens=20000)
    chat_server.push(*_answers(12))
    run = Run.create(settings, tmp_path, run_id="budget")
    result = run.execute()
    assert result.status == "stopped"
    assert len(chat_server.requests) == 3  # 3 x 8000 tokens reach 20000; the 4th was never sent
    with RunStore.open(run.run_dir) as store:
        info = store.run("budget")
        assert info.status == "stopped" and "Resume with a higher --max-tokens" in info.note
        rows = store.llm_call_rows("budget")
        assert [r["prompt_tokens"] + r["completion_tokens"] for r in rows] == [8000, 8000, 8000]
        assert store.in_flight("budget") == []
    report = (run.run_dir / "report.md").read_text()
    assert "### Tokens per call" in report and "| 6000 | 0 | 2000 | 8000 |" in report

    resumed = Run.reopen(run.run_dir, overrides={"max_tokens": 200000}).execute()
    assert resumed.status == "finished"
    with RunStore.open(run.run_dir) as store:
        assert store.run("budget").settings["max_tokens"] == 200000
        indices = [t.index for t in store.trials("budget")]
        assert indices == list(range(len(indices))) and store.get_state("budget", "iteration") == 6
        assert json.loads(json.dumps(store.get_state("budget", "ledger")))["total"]["total_tokens"] > 24000
