"""Live requests ask for short free text; recorded answers with longer text still validate."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from engine.llm import (
    LLMRequest,
    OpenAIProvider,
    OuterAnswer,
    PickAnswer,
    ProposalAnswer,
    outer_answer_for,
    pick_answer_for,
    proposal_answer_for,
)
from engine.llm._answers import ASKED_CHARS
from engine.llm._openai import OpenAISettings
from interfaces import AutoresearchError

from .chat_server import Answer

FAST = OpenAISettings(timeout_s=5.0, max_attempts=1, backoff_s=0.01, backoff_max_s=0.05, repair_rounds=1)
LONG = "x" * 200


def _outer(reason: str, guidance: str = "") -> dict:
    return {"freeze": [], "unfreeze": [], "strategy": "balanced", "guidance": guidance, "reason": reason}


def test_the_asked_models_refuse_what_the_recorded_models_accept() -> None:
    proposal = {"changes": [{"name": "LR", "value": 0.1}], "rationale": LONG}
    assert ProposalAnswer.model_validate(proposal).rationale == LONG
    with pytest.raises(ValidationError, match="rationale"):
        proposal_answer_for(("LR",)).model_validate(proposal)
    assert OuterAnswer.model_validate(_outer("y" * 600, "z" * 600)).reason == "y" * 600
    with pytest.raises(ValidationError, match="reason"):
        outer_answer_for().model_validate(_outer("y" * (ASKED_CHARS["reason"] + 1)))
    with pytest.raises(ValidationError, match="guidance"):
        outer_answer_for().model_validate(_outer("why", "z" * (ASKED_CHARS["guidance"] + 1)))
    assert PickAnswer.model_validate({"choice": 1, "rationale": LONG}).choice == 1
    with pytest.raises(ValidationError, match="rationale"):
        pick_answer_for(3).model_validate({"choice": 1, "rationale": LONG})


def test_the_asked_models_keep_their_names_and_one_line_rationales() -> None:
    """Transcripts and the heuristic provider know an answer by its class name."""
    assert proposal_answer_for(("LR",)).__name__ == "ProposalAnswer"
    assert outer_answer_for().__name__ == "OuterAnswer" and pick_answer_for(2).__name__ == "PickAnswer"
    answer = proposal_answer_for(("LR",)).model_validate(
        {"changes": [{"name": "LR", "value": 0.1}], "rationale": "lower\n  it"})
    assert answer.rationale == "lower it"


def test_the_limits_reach_the_server_in_the_schema_a_grammar_is_built_from(chat_server, monkeypatch) -> None:
    monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
    chat_server.push(Answer.json(_outer("the learning rate never helped", "try the width")))
    llm = OpenAIProvider("test-model", endpoint="compatible", base_url=chat_server.base_url,
                         api_key_env="TEST_LLM_KEY", mode="json_schema", settings=FAST)
    reply = llm.ask(LLMRequest("outer", ({"role": "user", "content": "Decide."},), level="1.5"), outer_answer_for())
    assert reply.value.guidance == "try the width"
    sent = chat_server.requests[0]["body"]["response_format"]["json_schema"]["schema"]["properties"]
    assert sent["reason"]["maxLength"] == ASKED_CHARS["reason"]
    assert sent["guidance"]["maxLength"] == ASKED_CHARS["guidance"]


def _choice(freeze: list[str], unfreeze: list[str]) -> dict:
    return {"freeze": freeze, "unfreeze": unfreeze, "strategy": "explore", "guidance": "", "reason": "why"}


def test_the_asked_outer_answer_names_only_what_it_may_freeze_and_unfreeze() -> None:
    model = outer_answer_for(("LR", "DEPTH", "WD", "BS"), ("ACT",), 1)
    assert model.model_validate(_choice(["WD"], ["ACT"])).freeze == ["WD"]
    for bad in (_choice(["ACT"], []),            # already frozen
                _choice([], ["LR"]),             # active, not frozen
                _choice(["LR", "WD"], []),       # two, where one may go and min_active stay
                _choice(["EMBED"], [])):         # no such parameter
        with pytest.raises(ValidationError):
            model.model_validate(bad)
    nothing = outer_answer_for(("LR", "DEPTH"), (), 0)
    assert nothing.model_validate(_choice([], [])).freeze == []
    with pytest.raises(ValidationError):
        nothing.model_validate(_choice(["LR"], []))
    assert OuterAnswer.model_validate(_choice(["LR", "DEPTH", "ACT"], ["LR"])).freeze  # recorded answers still load


def test_the_name_lists_reach_the_server_as_enums_with_a_length(chat_server, monkeypatch) -> None:
    monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
    chat_server.push(Answer.json(_choice(["WD"], [])))
    llm = OpenAIProvider("test-model", endpoint="compatible", base_url=chat_server.base_url,
                         api_key_env="TEST_LLM_KEY", mode="json_schema", settings=FAST)
    reply = llm.ask(LLMRequest("outer", ({"role": "user", "content": "Decide."},), level="1.5"),
                    outer_answer_for(("LR", "WD", "BS"), ("ACT", "BIAS"), 2))
    assert reply.value.freeze == ["WD"]
    sent = chat_server.requests[0]["body"]["response_format"]["json_schema"]["schema"]["properties"]
    assert sent["freeze"]["items"]["enum"] == ["LR", "WD", "BS"] and sent["freeze"]["maxItems"] == 2
    assert sent["unfreeze"]["items"]["enum"] == ["ACT", "BIAS"] and sent["unfreeze"]["maxItems"] == 2


def test_level_one_point_five_asks_with_the_lists_its_config_allows() -> None:
    from engine.levels.outer import OuterLoop
    from interfaces import ParamSpec, SearchConfig, SearchSpace, TraceView

    space = SearchSpace(tuple(ParamSpec(n, "float", 0.5, low=0.0, high=1.0) for n in ("A", "B", "C", "D", "E")))
    asked = []

    class Recording:
        name, model = "recording", "m"

        def ask(self, request, response_model):
            asked.append(response_model)
            raise AutoresearchError("stop here", code="malformed-answer")

    loop = OuterLoop(provider=Recording(), space=space, metric="loss", task_name="toy")
    config = SearchConfig(active=("A", "B", "C", "D"), frozen=("E",), min_active=3)
    update = loop.update(TraceView((), minimize=True), config)
    assert not update.changed and "skipped" in update.reason
    schema = asked[0].model_json_schema()["properties"]
    assert schema["freeze"]["items"]["enum"] == ["A", "B", "C", "D"] and schema["freeze"]["maxItems"] == 1
    assert schema["unfreeze"]["items"]["const"] == "E"
