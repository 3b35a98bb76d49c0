"""A model per level: the setting, its errors, and requests routed by level to a real HTTP server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.flags import settings_from_flags
from engine.llm import Ledger, LevelRouter, LLMRequest, ProposalAnswer
from engine.runner import Run
from engine.settings import RunSettings
from interfaces import ConfigError

from .chat_server import Answer

QUAD = Path(__file__).parents[1] / "data" / "quad.py"
GOOD = {"changes": [{"name": "LEARNING_RATE", "value": 0.02}], "rationale": "try it"}


def _script(**kw: Any) -> RunSettings:
    return RunSettings(task="script", task_options={"path": str(QUAD), "metric": "loss"}, **kw)


def test_level_models_are_read_checked_and_stored_in_level_order() -> None:
    settings = _script(provider="local", model="qwen-0.5b", level_models=("2 = qwen-1.5b", "1.5=qwen-1.5b"))
    assert settings.level_models == ("1.5=qwen-1.5b", "2=qwen-1.5b")
    assert [settings.model_for(level) for level in ("1", "1.5", "2")] == ["qwen-0.5b", "qwen-1.5b", "qwen-1.5b"]
    assert RunSettings.from_dict(settings.to_dict()) == settings
    flags = settings_from_flags("script", {"path": QUAD, "metric": "loss", "provider": "local",
                                           "level_model": ["2=qwen-1.5b"]})
    assert flags.level_models == ("2=qwen-1.5b",) and flags.model_for("1") is None


@pytest.mark.parametrize(("entries", "provider", "code", "words"), [
    (("2:qwen-1.5b",), "local", "bad-level-model", "is not LEVEL=MODEL"),
    (("3=qwen-1.5b",), "local", "bad-level-model", "'3' is not a level"),
    (("2=",), "local", "bad-level-model", "names no model"),
    (("2=qwen-1.5b", "2=qwen-0.5b"), "local", "bad-level-model", "a model twice"),
    (("2=qwen-7b",), "local", "unknown-model", "no local model named qwen-7b"),
    (("2=big",), "heuristic", "bad-level-model", "needs a model provider"),
])
def test_a_bad_level_model_is_refused_by_name(entries: tuple[str, ...], provider: str, code: str,
                                              words: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _script(provider=provider, level_models=entries)
    assert refused.value.code == code and words in refused.value.message


def test_each_level_asks_its_own_model_and_the_ledger_is_shared(chat_server: Any, tmp_path: Path) -> None:
    settings = _script(provider="compatible", model="small", base_url=chat_server.base_url, levels=("1", "1.5"),
                       level_models=("1.5=big",))
    run = Run.create(settings, tmp_path, run_id="levels")
    ledger = Ledger()
    chat_server.push(Answer.json(GOOD, prompt_tokens=100), Answer.json(GOOD, prompt_tokens=300),
                     Answer.json(GOOD, prompt_tokens=100))
    with run._provider(ledger) as provider:
        assert isinstance(provider, LevelRouter) and provider.model == "small"
        assert "level 1.5: big" in provider.describe()
        for level in ("1", "1.5", "2"):
            reply = provider.ask(LLMRequest("propose", ({"role": "user", "content": "Propose."},), level=level),
                                 ProposalAnswer)
            assert reply.exchange.model == ("big" if level == "1.5" else "small")
    assert [request["body"]["model"] for request in chat_server.requests] == ["small", "big", "small"]
    assert ledger.by_level()["1.5"].prompt_tokens == 300 and ledger.total.prompt_tokens == 500


class _Checked:
    """A provider whose preflight is counted; it answers nothing."""

    def __init__(self, model: str) -> None:
        self.model, self.name, self.checks = model, "stub", 0

    def describe(self) -> str:
        return f"stub {self.model}"

    def preflight(self) -> None:
        self.checks += 1

    def ask(self, request: Any, response_model: Any) -> Any:
        raise AssertionError("not asked")


def test_the_router_checks_each_distinct_provider_once_and_refuses_unknown_levels() -> None:
    small, big = _Checked("small"), _Checked("big")
    router = LevelRouter(small, {"1.5": big, "2": big})
    router.preflight()
    assert (small.checks, big.checks) == (1, 1)
    assert router.provider_for("1") is small and router.provider_for("2") is big
    with pytest.raises(ValueError, match="not levels: 3"):
        LevelRouter(small, {"3": big})


def test_a_level_1_trial_is_tagged_with_the_model_that_proposed_it_not_the_default(chat_server: Any,
                                                                                   tmp_path: Path) -> None:
    from engine.store import RunStore

    settings = _script(provider="compatible", model="big", base_url=chat_server.base_url, levels=("1",),
                       level_models=("1=small",), iterations=2)
    chat_server.push(Answer.json(GOOD), Answer.json({"changes": [{"name": "WEIGHT_DECAY", "value": 0.2}],
                                                     "rationale": "and this"}))
    result = Run.create(settings, tmp_path, run_id="tagged").execute()
    store = RunStore.open(result.run_dir / "run.sqlite")
    sources = [t.source for t in store.trials(result.run_id) if t.decision.value != "baseline"]
    store.close()
    assert [request["body"]["model"] for request in chat_server.requests if "body" in request] == ["small", "small"]
    assert len(sources) == 2 and all(source.endswith(":small") for source in sources), sources


def test_a_model_no_level_of_the_run_asks_is_not_started(chat_server: Any, tmp_path: Path) -> None:
    # Level 1 only, with its own model: the run's --model would answer no request, so it gets no provider.
    settings = _script(provider="compatible", model="big", base_url=chat_server.base_url, levels=("1",),
                       level_models=("1=small",))
    with Run.create(settings, tmp_path, run_id="one")._provider(Ledger()) as provider:
        assert provider.model == "small" and provider.by_level == {}
        assert provider.provider_for("1").model == "small"
    both = _script(provider="compatible", model="big", base_url=chat_server.base_url, levels=("1", "2"),
                   level_models=("1=small",))
    with Run.create(both, tmp_path, run_id="two")._provider(Ledger()) as provider:
        assert provider.model == "big" and provider.provider_for("1").model == "small"
