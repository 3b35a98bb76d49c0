"""The prompts are generated from the interfaces and the library, compact, and complete."""

import ast
import inspect

import pytest
from hypothesis import given, settings, strategies as st

import interfaces
import mechanism_library
from engine.levels.contract import (
    argument_types,
    compact_source,
    example_source,
    general_contract,
    hook_contract,
    types_for_hook,
)
from engine.levels.prompts import proposal_messages
from engine.levels.research_prompts import generate_prompt, shown_example
from interfaces import HOOKS, ParamSpec, SearchConfig, SearchSpace, TraceView, hook_spec
from sandbox import admit

HOOK_NAMES = sorted(HOOKS)


def _signature_types(hook: str) -> set[str]:
    spec = hook_spec(hook)
    signature = inspect.signature(getattr(spec.protocol, spec.method))
    text = " ".join(str(p.annotation) for p in signature.parameters.values())
    return {name for name in ("Proposal", "TraceView", "Trial", "SearchSpace", "SearchConfig") if name in text}


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_types_follow_the_hook_signature(hook):
    described = set(types_for_hook(hook))
    assert _signature_types(hook) <= described
    # What the arguments contain is described too; what no argument reaches is left out.
    if "TraceView" in described:
        assert "Trial" in described
    if "SearchSpace" in described:
        assert "ParamSpec" in described
    else:
        assert "ParamSpec" not in described
    if "SearchConfig" not in _signature_types(hook):
        assert "SearchConfig" not in described


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_argument_types_list_every_public_field_of_each_type(hook):
    text = argument_types(hook)
    for name in types_for_hook(hook):
        cls = getattr(interfaces, name)
        assert f"{name}:" in text
        for field in getattr(cls, "__dataclass_fields__", {}):
            if not field.startswith("_"):
                assert f".{field}" in text, f"{name}.{field} missing"
    assert "interfaces." not in text and "typing." not in text


def test_enum_fields_show_their_values():
    text = argument_types("acceptance")
    for member in interfaces.Decision:
        assert member.value in text
    for member in interfaces.TrialStatus:
        assert member.value in text


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_generate_prompt_carries_contract_signature_and_example(hook):
    prompt = generate_prompt(hook, "MyMechanism")
    spec = hook_spec(hook)
    assert inspect.cleandoc(spec.module.__doc__).splitlines()[0] in prompt
    assert f"def {spec.method}(" in prompt
    assert "build(seed)" in prompt and "MyMechanism" in prompt
    for line in general_contract().splitlines():
        assert line in prompt
    other, name, source = shown_example(hook)
    # The example is of another hook: a complete answer to copy is not in the prompt.
    assert other != hook and mechanism_library.example_for(other).name == name
    assert source in prompt and example_source(hook)[1] not in prompt
    assert hook_contract(hook) in prompt


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_generate_prompt_is_shorter_than_contract_plus_full_example(hook):
    """Compactness: the example without docstrings and only the hook's types cost fewer tokens."""
    full = mechanism_library.example_for(hook).source
    everything = argument_types() + full
    prompt = generate_prompt(hook, "X")
    assert len(prompt) < len(general_contract()) + len(hook_contract(hook)) + len(everything)


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_compact_example_is_the_same_program_and_still_admitted(hook):
    entry = mechanism_library.example_for(hook)
    compact = compact_source(entry.source)
    assert '"""' not in compact and "#" not in compact.replace("'#'", "")
    assert len(compact) < len(entry.source)
    admission = admit(compact, hook)
    assert admission.admitted, admission.violations


def _without_docstrings(tree: ast.AST) -> str:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


@settings(max_examples=40, deadline=None)
@given(
    doc=st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters='"\\\r'), max_size=40),
    comment=st.text(alphabet="abc xyz#", max_size=20),
    value=st.integers(-1000, 1000),
)
def test_compact_source_only_drops_docstrings_and_comments(doc, comment, value):
    source = (f'"""{doc}"""\nfrom __future__ import annotations\nX = {value}  # {comment}\n'
              f'class A:\n    """{doc}"""\n    def f(self):\n        """{doc}"""\n        # {comment}\n'
              f'        return X\n')
    compact = compact_source(source)
    original = ast.parse(source)
    original.body = [n for n in original.body if not isinstance(n, ast.ImportFrom)]
    assert ast.dump(ast.parse(compact)) == _without_docstrings(original)
    assert comment.strip() == "" or f"# {comment}" not in compact


def _space():
    return SearchSpace((
        ParamSpec("LR", "float", 0.01, low=1e-4, high=1.0, log=True, description="learning rate"),
        ParamSpec("DEPTH", "int", 4, low=1, high=12),
        ParamSpec("ACT", "choice", "relu", choices=("relu", "gelu")),
        ParamSpec("BIAS", "bool", False),
    ))


def test_proposal_prompt_lists_only_changeable_parameters_and_the_change_limit():
    space = _space()
    config = SearchConfig(active=("LR", "DEPTH"), frozen=("ACT", "BIAS"), max_changes=2)
    messages = proposal_messages(task_name="quad", metric="loss", minimize=True, space=space,
                                 trace=TraceView((), minimize=True), config=config,
                                 incumbent_config=dict(space.defaults()), feedback=("too many changes",))
    system, user = messages[0]["content"], messages[1]["content"]
    assert "1 to 2 parameters" in system and "list only the parameters you change" in system
    assert "- LR: float in [0.0001, 1], log scale (learning rate)" in user
    assert "- DEPTH: int in [1, 12]" in user
    assert "Current best values: LR=0.01, DEPTH=4" in user
    assert "No other parameter may change." in user
    assert "ACT" not in user and "BIAS" not in user  # frozen names are not put in the model's mind
    assert "rejected" in user and "too many changes" in user


def test_proposal_prompt_shows_history_and_forbids_repeating_it():
    from interfaces import Decision, Trial, TrialStatus

    space = _space()
    tried = Trial(index=1, config=dict(space.defaults(), LR=0.02), changes={"LR": 0.02}, status=TrialStatus.OK,
                  metric=1.49, decision=Decision.DISCARD, source="local:qwen-0.5b")
    config = SearchConfig(active=("LR", "DEPTH"), frozen=("ACT", "BIAS"))
    user = proposal_messages(task_name="quad", metric="loss", minimize=True, space=space,
                             trace=TraceView((tried,), minimize=True), config=config,
                             incumbent_config=dict(space.defaults()))[1]["content"]
    assert "#1 LR=0.02 -> loss=1.4900, discard" in user
    assert "do not propose any of these changes again" in user


def _trials(decisions):
    from interfaces import Decision, Trial, TrialStatus

    space = _space()
    trials, best = [], 2.0
    for index, keep in enumerate(decisions):
        metric = best - 0.01 if keep else best + 0.01
        best = min(best, metric)
        trials.append(Trial(index=index, config=dict(space.defaults(), DEPTH=1 + index % 12),
                            changes={} if index == 0 else {"DEPTH": 1 + index % 12}, status=TrialStatus.OK,
                            metric=metric, decision=Decision.KEEP if keep or index == 0 else Decision.DISCARD,
                            source="local:m"))
    return trials


def _user(trials, incumbent, advice=(), feedback=()):
    space = _space()
    return proposal_messages(task_name="quad", metric="loss", minimize=True, space=space,
                             trace=TraceView(tuple(trials), minimize=True),
                             config=SearchConfig(active=("LR", "DEPTH"), frozen=("ACT", "BIAS")),
                             incumbent_config=dict(space.defaults(), **incumbent), advice=advice,
                             feedback=feedback)[1]["content"]


@given(decisions=st.lists(st.booleans(), min_size=2, max_size=45), depth=st.integers(1, 12),
       advice=st.lists(st.text("abc ", min_size=1, max_size=8), max_size=2))
@settings(max_examples=60, deadline=None)
def test_consecutive_proposal_prompts_share_everything_up_to_the_last_trial(decisions, depth, advice):
    """What a server's prompt cache can reuse: the previous prompt up to its last trial line, unless the window moved."""
    from engine.levels.prompts import HISTORY_LINES, HISTORY_STEP

    trials = _trials(decisions)
    before = _user(trials[:-1], {}, feedback=("too many changes",))
    after = _user(trials, {"DEPTH": depth}, advice=advice)  # a new trial, another incumbent, other advice
    last_line = before.index(f"#{len(trials) - 2} ")
    reused = before[: before.index("\n", last_line) + 1]
    start = lambda n: max(0, n - HISTORY_LINES) - max(0, n - HISTORY_LINES) % HISTORY_STEP  # noqa: E731
    if start(len(trials) - 1) == start(len(trials)):
        assert after.startswith(reused)
    shown = [line for line in after.splitlines() if line.startswith("#")]
    assert len(shown) >= min(len(trials), HISTORY_LINES) and len(shown) < HISTORY_LINES + HISTORY_STEP
    assert shown[-1].startswith(f"#{len(trials) - 1} ")


def test_the_trial_window_moves_once_every_history_step_trials():
    import itertools

    from engine.levels.prompts import HISTORY_STEP

    firsts = [next(line for line in _user(_trials([True] * n), {}).splitlines() if line.startswith("#"))
              for n in range(1, 41)]
    moves = sum(a != b for a, b in itertools.pairwise(firsts))
    assert firsts[0] == firsts[14] == "#0 (baseline) -> loss=1.9900, keep"
    assert moves == (40 - 15) // HISTORY_STEP


def test_the_current_best_is_the_incumbent_not_a_better_trial_discarded_inside_the_noise():
    from interfaces import Decision, Trial, TrialStatus

    space = _space()
    base = Trial(index=0, config=dict(space.defaults()), changes={}, status=TrialStatus.OK, metric=2.0,
                 decision=Decision.BASELINE, source="baseline")
    lucky = Trial(index=1, config=dict(space.defaults(), DEPTH=5), changes={"DEPTH": 5}, status=TrialStatus.OK,
                  metric=1.99, decision=Decision.DISCARD, source="local:m")
    user = _user([base, lucky], {})
    assert "Current best loss: 2.0000 (trial #0)" in user and "Current best values: LR=0.01, DEPTH=4" in user
    assert "1.9900" in user.split("Current best")[0]  # the lucky trial is in the list, as discarded


def _outer_user(trials, config=None):
    from engine.levels.outer import OuterLoop

    loop = OuterLoop(provider=None, space=_space(), metric="loss", task_name="quad")
    config = config or SearchConfig(active=("LR", "DEPTH"), frozen=("ACT", "BIAS"))
    return loop.messages(TraceView(tuple(trials), minimize=True), config)


@given(decisions=st.lists(st.booleans(), min_size=2, max_size=45), depth=st.integers(1, 12))
@settings(max_examples=40, deadline=None)
def test_level_one_point_five_reuses_the_proposal_prefix_and_the_next_proposal_reuses_its(decisions, depth):
    """Level 1.5 comes after a trial: its request shares the previous proposal up to that proposal's last
    trial line, and the proposal after it shares the Level 1.5 request up to its own last trial line."""
    from engine.levels.prompts import HISTORY_LINES, HISTORY_STEP

    trials = _trials(decisions)
    system, before = (m["content"] for m in proposal_messages(
        task_name="quad", metric="loss", minimize=True, space=_space(),
        trace=TraceView(tuple(trials[:-1]), minimize=True),
        config=SearchConfig(active=("LR", "DEPTH"), frozen=("ACT", "BIAS")),
        incumbent_config=dict(_space().defaults())))
    outer_system, outer = (m["content"] for m in _outer_user(trials))
    after = _user(trials, {"DEPTH": depth})
    assert outer_system == system

    def through_last_trial(text, index):
        line = text.index(f"#{index} ")
        return text[: text.index("\n", line) + 1]

    start = lambda n: max(0, n - HISTORY_LINES) - max(0, n - HISTORY_LINES) % HISTORY_STEP  # noqa: E731
    if start(len(trials) - 1) == start(len(trials)):
        assert outer.startswith(through_last_trial(before, len(trials) - 2))
    assert after.startswith(through_last_trial(outer, len(trials) - 1))
    own = outer[len(through_last_trial(outer, len(trials) - 1)):]
    assert own.startswith("Not a proposal this time: you supervise the search.")
    assert "- LR: tried" in own and "Keep at least" in own and "Proposer: llm" in own


def test_the_level_one_point_five_request_names_what_it_decides_after_the_shared_text():
    trials = _trials([True, False, True])
    system, user = (m["content"] for m in _outer_user(trials))
    assert system.startswith("You tune the hyperparameters of a quad training script.")
    shared, own = user.split("Not a proposal this time", 1)
    assert "Changeable parameters" in shared and "#2 " in shared and "Per parameter" not in shared
    assert "Frozen: ACT, BIAS" in own and "Active: LR, DEPTH" in own
