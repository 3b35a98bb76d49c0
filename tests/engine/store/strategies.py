"""Hypothesis strategies for what the store holds."""

from __future__ import annotations

from hypothesis import strategies as st

from interfaces import (
    PROPOSERS,
    SAMPLERS,
    STRATEGIES,
    Decision,
    Outcome,
    Proposal,
    SearchConfig,
    Trial,
    TrialStatus,
)

texts = st.text(max_size=40)
param_names = st.from_regex(r"[A-Z][A-Z_]{0,8}", fullmatch=True)
finite = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.one_of(st.booleans(), st.integers(-(2**53), 2**53), finite, texts)
values = st.one_of(scalars, st.tuples(scalars, scalars))
configs = st.dictionaries(param_names, values, max_size=6)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), finite, texts),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def trials(draw, index=None):
    status = draw(st.sampled_from(list(TrialStatus)))
    return Trial(
        index=draw(st.integers(0, 10_000)) if index is None else index,
        config=draw(configs),
        changes=draw(configs),
        status=status,
        metric=draw(st.one_of(st.none(), finite)),
        decision=draw(st.sampled_from(list(Decision))),
        duration_s=draw(st.floats(0, 1e5)),
        rationale=draw(texts),
        source=draw(texts),
        reason=draw(texts),
        log_tail=draw(texts),
    )


outcomes = st.builds(
    Outcome,
    status=st.sampled_from(list(TrialStatus)),
    metric=st.one_of(st.none(), finite),
    # Non-finite metrics happen (a diverged run prints ``loss: nan``) and must survive.
    metrics=st.dictionaries(st.from_regex(r"[a-z_]{1,10}", fullmatch=True), st.floats(), max_size=5),
    exit_code=st.one_of(st.none(), st.integers(-255, 255)),
    duration_s=st.floats(0, 1e5),
    log_tail=texts,
    reason=texts,
)

proposals = st.builds(Proposal, changes=configs, rationale=texts, source=texts)


@st.composite
def search_configs(draw):
    names = draw(st.lists(param_names, unique=True, max_size=8))
    split = draw(st.integers(0, len(names)))
    return SearchConfig(
        active=tuple(names[:split]),
        frozen=tuple(names[split:]),
        strategy=draw(st.sampled_from(STRATEGIES)),
        guidance=draw(texts),
        max_changes=draw(st.integers(1, 8)),
        min_active=draw(st.integers(0, 8)),
        proposer=draw(st.sampled_from(PROPOSERS)),
        sampler=draw(st.sampled_from(SAMPLERS)),
        warm_start=draw(st.integers(0, 20)),
        pick_from=draw(st.integers(2, 8)),
    )


llm_exchanges = st.fixed_dictionaries(
    {
        "purpose": st.text(min_size=1, max_size=20),
        "level": st.sampled_from([1, 1.5, 2, "1", "1.5", "2"]),
        "provider": st.sampled_from(["openai", "heuristic", "local"]),
        "model": texts,
        "prompt_tokens": st.integers(0, 10**6),
        "completion_tokens": st.integers(0, 10**6),
        "cost_usd": st.floats(0, 100),
        "duration_s": st.floats(0, 1000),
        "attempts": st.integers(1, 5),
        "error": st.one_of(st.none(), texts),
        "raw_text": texts,
        "messages": st.lists(
            st.fixed_dictionaries({"role": st.sampled_from(["system", "user"]), "content": texts}), max_size=3
        ),
    }
)
