"""The structured answers a model gives, one pydantic model per question.

Schemas are kept small and strict (no extra keys) so that a 1.5B local model
can follow them; the field descriptions are sent as part of the prompt, so
they are written for the model.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from interfaces import HOOKS

__all__ = [
    "ParamChange",
    "ProposalAnswer",
    "proposal_answer_for",
    "OuterAnswer",
    "outer_answer_for",
    "PickAnswer",
    "pick_answer_for",
    "Candidate",
    "ExploreAnswer",
    "Assessment",
    "CritiqueAnswer",
    "SpecifyAnswer",
    "GenerateAnswer",
    "CodeCompletion",
    "is_completion",
    "ANSWER_MODELS",
]

_STRICT = ConfigDict(extra="forbid")

#: The most characters a live request lets the model write in its free-text fields. The answer models
#: themselves accept more (what recorded transcripts hold); the ``*_for`` builders ask for this much. On a
#: CPU, generation is the slow part of a request: the 1.5B wrote 200-character rationales and 600-character
#: Level 1.5 reasons whenever it could, at 7-27 tokens a second.
ASKED_CHARS = {"rationale": 120, "guidance": 200, "reason": 200}

# The hooks a specified mechanism may implement, in HOOKS' order: the registry's names, at import.
if TYPE_CHECKING:
    _HookName = str
else:
    _HookName = Literal[tuple(HOOKS)]


def strip_fence(code: str) -> str:
    """The code inside a Markdown fence, or the text as it is, ending in one newline.

    A missing closing fence is no matter: an answer cut at ``max_length`` has none.
    """
    text = code.strip()
    if text.startswith("```"):
        lines = text.splitlines()[1:]
        if lines and lines[-1].strip().startswith("```"):
            lines = lines[:-1]
        text = "\n".join(lines)
    return text.strip() + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


class ParamChange(BaseModel):
    model_config = _STRICT

    name: str = Field(description="Exact parameter name from the search space, e.g. MATRIX_LR.")
    value: float | int | bool | str | list[float] = Field(
        description="New value: a number, true/false, a string choice, or a list of numbers."
    )


class ProposalAnswer(BaseModel):
    model_config = _STRICT

    # Two at most, the engine's default ``SearchConfig.max_changes``: a grammar-constrained
    # local model cannot then list every parameter (small models do, every time).
    changes: list[ParamChange] = Field(
        min_length=1, max_length=2, description="Only the parameters you change (one or two), each with its new value."
    )
    # Short on purpose: generation is the slow part on a CPU, and a rationale is one line.
    rationale: str = Field(min_length=1, max_length=200, description="One short sentence: why this change may help.")

    @field_validator("rationale")
    @classmethod
    def _rationale_on_one_line(cls, rationale: str) -> str:
        return _one_line(rationale)

    @model_validator(mode="after")
    def _each_parameter_once(self) -> ProposalAnswer:
        names = [c.name for c in self.changes]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"change each parameter at most once; repeated: {', '.join(repeated)}")
        return self

    def as_changes(self) -> dict[str, object]:
        """The changes as a ``{name: value}`` mapping (lists stay lists)."""
        return {c.name: c.value for c in self.changes}


@functools.lru_cache(maxsize=128)
def proposal_answer_for(names: tuple[str, ...],
                        grids: tuple[tuple[str, tuple[Any, ...]], ...] = ()) -> type[ProposalAnswer]:
    """:class:`ProposalAnswer` whose change names must be among ``names`` (the parameters active now).

    Built per request so the schema itself says which names may change: a
    grammar-constrained local model then cannot name a frozen parameter, and
    any other model's answer that does fails validation and gets a repair
    round naming the allowed ones. ``grids`` (``(name, values)`` pairs, see
    :func:`engine.llm.value_grid`) narrows a parameter's value to an enum of
    those values, so such a model's proposal is in bounds by construction.
    Same class name, so transcripts and the heuristic provider treat it as a
    ``ProposalAnswer``.
    """
    if not names:
        return ProposalAnswer
    listed = {name: values for name, values in grids if name in names and values}
    free = tuple(n for n in names if n not in listed)
    members: list[Any] = []
    if free:
        members.append(create_model(
            "ParamChange", __base__=ParamChange,
            name=(Literal[free], Field(description="Exact parameter name, one of: " + ", ".join(free) + ".")),
        ))
    for name, values in listed.items():
        members.append(create_model(
            f"Change_{name}", __base__=ParamChange,
            name=(Literal[(name,)], Field(description=f"The parameter {name}.")),
            value=(Literal[values], Field(description=f"New value of {name}, one of: "
                                          + ", ".join(_shown(v) for v in values) + ".")),
        ))
    # A union of models built at run time: `Union[tuple]` has no `|` spelling (UP007 would drop the Union).
    union: Any = Union[tuple(members)]  # noqa: UP007
    change: Any = members[0] if len(members) == 1 else Annotated[union, Field(discriminator="name")]
    return create_model(
        "ProposalAnswer", __base__=ProposalAnswer,
        changes=(list[change], Field(min_length=1, max_length=2,
                                     description="Only the parameters you change (one or two), each with its new value.")),
        rationale=(str, Field(min_length=1, max_length=ASKED_CHARS["rationale"],
                              description="A few words: why this change may help.")),
    )


def _shown(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class OuterAnswer(BaseModel):
    model_config = _STRICT

    freeze: list[str] = Field(description="Parameters to pause for now (names from the active list).")
    unfreeze: list[str] = Field(description="Frozen parameters to make searchable again.")
    strategy: Literal["explore", "exploit", "balanced"] = Field(
        description="explore: bolder, varied changes; exploit: small steps around the best; balanced: both."
    )
    guidance: str = Field(max_length=600, description="Short advice for the next proposals, or empty.")
    reason: str = Field(min_length=1, max_length=600, description="One or two sentences: why.")
    proposer: Literal["llm", "sampler", "alternate", "pick"] | None = Field(
        default=None,
        description="Who proposes the next trials: llm (you), sampler (Optuna's model of the trials), "
                    "alternate (take turns), pick (the sampler offers candidates, you pick one); "
                    "null keeps the current one.")


def _names(names: tuple[str, ...], most: int, what: str) -> tuple[Any, Any]:
    """A list field of at most ``most`` of ``names`` (none at all when ``most`` is 0)."""
    if most <= 0 or not names:
        return (list[str], Field(max_length=0, description=f"Leave empty: nothing {what} now."))
    member: Any = Literal[names]
    return (list[member], Field(max_length=most, description=f"At most {most}, from: {', '.join(names)}."))


@functools.lru_cache(maxsize=32)
def outer_answer_for(active: tuple[str, ...] | None = None, frozen: tuple[str, ...] = (),
                     most_frozen: int = 0) -> type[OuterAnswer]:
    """:class:`OuterAnswer` as a live request asks for it: guidance and reason of at most
    ``ASKED_CHARS`` characters, and, given the ``active`` names, lists that can only name what the
    answer may change: at most ``most_frozen`` of ``active`` to freeze (the guard rails keep the
    rest active), and only ``frozen`` names to unfreeze. A grammar-constrained model then cannot
    freeze what is frozen, unfreeze what is active, or list every parameter in both, as the 1.5B did
    with the free lists. Same class name, like :func:`proposal_answer_for`."""
    fields: dict[str, Any] = {
        "guidance": (str, Field(max_length=ASKED_CHARS["guidance"], description="One short sentence of advice, or empty.")),
        "reason": (str, Field(min_length=1, max_length=ASKED_CHARS["reason"], description="One sentence: why.")),
    }
    if active is not None:
        fields["freeze"] = _names(active, most_frozen, "can be frozen")
        fields["unfreeze"] = _names(frozen, len(frozen), "is frozen")
    return create_model("OuterAnswer", __base__=OuterAnswer, **fields)


class PickAnswer(BaseModel):
    model_config = _STRICT

    choice: int = Field(ge=1, le=8, description="The number of the candidate you pick.")
    rationale: str = Field(min_length=1, max_length=200, description="One short sentence: why this candidate.")

    @field_validator("rationale")
    @classmethod
    def _rationale_on_one_line(cls, rationale: str) -> str:
        return _one_line(rationale)


@functools.lru_cache(maxsize=8)
def pick_answer_for(count: int) -> type[PickAnswer]:
    """:class:`PickAnswer` whose ``choice`` is one of 1..``count``: a grammar-constrained model cannot
    name a candidate that is not there. Same class name, like :func:`proposal_answer_for`."""
    numbers: Any = Literal[tuple(range(1, count + 1))]
    return create_model("PickAnswer", __base__=PickAnswer,
                        choice=(numbers, Field(description=f"The number of the candidate you pick, 1 to {count}.")),
                        rationale=(str, Field(min_length=1, max_length=ASKED_CHARS["rationale"],
                                              description="A few words: why this candidate.")))


class Candidate(BaseModel):
    model_config = _STRICT

    name: str = Field(min_length=1, description="Short name of the mechanism idea, snake_case.")
    field: str = Field(min_length=1, description="Field the idea comes from, e.g. operations research.")
    idea: str = Field(min_length=1, max_length=300,
                      description="One or two sentences: what it does and why it helps here.")


class ExploreAnswer(BaseModel):
    model_config = _STRICT

    diagnosis: str = Field(min_length=1, max_length=400,
                           description="What the trace shows is going wrong with the search.")
    candidates: list[Candidate] = Field(min_length=2, max_length=5, description="Two to five mechanism ideas.")


class Assessment(BaseModel):
    model_config = _STRICT

    name: str = Field(min_length=1, description="Name of a candidate from the previous round.")
    strength: str = Field(min_length=1, max_length=200, description="Its main strength here.")
    weakness: str = Field(min_length=1, max_length=200, description="Its main weakness or risk.")


class CritiqueAnswer(BaseModel):
    model_config = _STRICT

    assessments: list[Assessment] = Field(min_length=1, max_length=5, description="One per candidate.")
    choice: str = Field(min_length=1, description="The name of the candidate to build (one of the assessed).")
    reason: str = Field(min_length=1, max_length=300, description="Why this one.")

    @model_validator(mode="after")
    def _choice_was_assessed(self) -> CritiqueAnswer:
        names = [a.name for a in self.assessments]
        if self.choice not in names:
            raise ValueError(f"choice {self.choice!r} must be one of the assessed names: {', '.join(names)}")
        return self


class SpecifyAnswer(BaseModel):
    model_config = _STRICT

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$", description="Mechanism name in snake_case.")
    hook: _HookName = Field(
        description="The one hook the mechanism implements."
    )
    class_name: str = Field(pattern=r"^[A-Z][A-Za-z0-9]{0,47}$", description="Class name in CamelCase.")
    behaviour: str = Field(min_length=1, max_length=600, description="What the hook method does, step by step.")


class GenerateAnswer(BaseModel):
    model_config = _STRICT

    # Room for the longest library mechanism with its docstrings (the heuristic provider answers with
    # those), and a bound on a small model that loops: the grammar closes the answer here, so its code
    # reaches admission, once the context holds the prompt plus this much (see docs/local-model.md).
    code: str = Field(min_length=1, max_length=8000, description="The full Python module source, nothing else.")

    @field_validator("code")
    @classmethod
    def _without_markdown_fence(cls, code: str) -> str:
        # Models often wrap code in a ```python fence even when told not to.
        return strip_fence(code)


class CodeCompletion(BaseModel):
    """A completion-style answer: the text a model wrote after a pre-filled assistant turn.

    Not structured output: the request's last message is ``{"role":
    "assistant", "content": prefix}`` and the model continues it. ``text``
    is the continuation only, never the prefix, and may be empty (the caller
    judges it); ``finish_reason`` is the server's (``stop``, ``length``, ...),
    empty when it gave none.
    """

    model_config = _STRICT
    #: Providers send such a request as a plain chat completion, without a schema.
    completion: ClassVar[bool] = True

    text: str
    finish_reason: str = ""


def is_completion(response_model: Any) -> bool:
    """True for a completion-style answer model (one marked ``completion = True``), asked without a schema."""
    return getattr(response_model, "completion", False) is True


#: Response models by class name, for replay transcripts.
ANSWER_MODELS: dict[str, type[BaseModel]] = {
    m.__name__: m
    for m in (ProposalAnswer, OuterAnswer, PickAnswer, ExploreAnswer, CritiqueAnswer, SpecifyAnswer, GenerateAnswer,
              CodeCompletion)
}
