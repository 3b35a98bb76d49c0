"""Adding a hook and a task the way CONTRIBUTING.md says, and only that way.

A toy hook (``gate``: may this proposal run under this search configuration?)
is written as a Protocol module in a temporary folder and registered at run
time, which is what its line in ``interfaces/hooks/__init__.py`` does at
import. With no other change, the sandbox draws its arguments and admits a
mechanism for it, the host runs that mechanism, the registry combines two of
them by the declared rule, and the research verdict, the Level 2 contract and
the dialogue's answer schema know the hook. A toy task in a temporary
distribution (a module and an entry point) runs through the engine.

The recipes' file lists are read from CONTRIBUTING.md and checked against the
code: each listed file is where the built-in hooks (and tasks) are declared,
registered and called, and no other module keeps a list of hooks by hand
except the optional ones the recipe names.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

# Imported before any hook is registered here: the dialogue's answer schema is built on first import.
from engine.hooks import HookRegistry
from engine.levels.contract import example_source, hook_contract, types_for_hook
from engine.levels.research import judge
from engine.llm import SpecifyAnswer
from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunPaths, RunStore
from engine.tasks import TASK_GROUP
from interfaces import (
    HOOKS,
    Combine,
    Effect,
    HookSpec,
    Proposal,
    SearchConfig,
    hook_spec,
    register_hook,
    unregister_hook,
)
from interfaces.hooks import HOOK_CONSTANTS
from mechanism_library import by_hook
from sandbox import MechanismHost, admit, strategies as sst

REPO = Path(__file__).resolve().parents[1]
CONTRIBUTING = REPO / "CONTRIBUTING.md"
PRODUCTION = ("interfaces", "sandbox", "mechanism_library", "engine", "benchmarks")
BUILT_IN_HOOKS = ("filter", "source", "advisor", "acceptance", "observer")
REGISTRY_CALLS = {"ask", "propose", "veto", "advise", "decide", "observe"}

# -- the recipes, as CONTRIBUTING.md writes them -------------------------------------------------------


def recipe(title: str) -> tuple[list[str], list[str]]:
    """The numbered files and the optional files (``- `path```) of the section ``## <title>``."""
    text = CONTRIBUTING.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"CONTRIBUTING.md has no section '## {title}'"
    body = match.group(1)
    numbered = re.findall(r"^\d+\. `([^`]+)`", body, re.MULTILINE)
    optional_part = body.split("\nOptional", 1)[1] if "\nOptional" in body else ""
    optional = re.findall(r"^- `([^`]+)`", optional_part, re.MULTILINE)
    return numbered, optional


# -- the toy hook: a Protocol module written by step 1 ------------------------------------------------

GATE_MODULE = '''
"""Hook ``gate``: stop a proposal that the search configuration does not allow.

When: after a proposal passed validation, before the filters see it. Every
active gate sees it, in activation order; the first refusal wins.

Method: ``allow(proposal, config) -> str | None``

* ``proposal`` (:class:`interfaces.Proposal`): ``proposal.changes`` maps names to new values.
* ``config`` (:class:`interfaces.SearchConfig`): ``config.active`` lists what may change now.

Return ``None`` to let it through, or one sentence saying why not.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from interfaces import Proposal, SearchConfig
from interfaces.hooks import AnswerCheck, ArgKind, Combine, Effect, WrongType

HOOK = "gate"
METHOD = "allow"
CALL_BUDGET_S = 0.5
ARGUMENTS = (ArgKind.PROPOSAL, ArgKind.CONFIG)
COMBINE = Combine.FIRST_VETO
NOTHING = None
EFFECT = Effect.VETOED
ANSWER = AnswerCheck("reason", WrongType.AS_TEXT, max_chars=300)


@runtime_checkable
class ProposalGate(Protocol):
    def allow(self, proposal: Proposal, config: SearchConfig) -> str | None:
        """Return None to let the proposal through, or why not."""
        ...
'''

# A mechanism for it, as Level 2 would write one: untrusted text, admitted by the sandbox.
ACTIVE_ONLY_GATE = '''
import random


class ActiveOnlyGate:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.refused = 0

    def allow(self, proposal, config):
        outside = sorted(name for name in proposal.changes if name not in config.active)
        if not outside:
            return None
        self.refused += 1
        return "changes " + ", ".join(outside) + ", which may not change now"


def build(seed):
    return ActiveOnlyGate(seed)
'''


@pytest.fixture
def gate_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "hooks"
    folder.mkdir()
    (folder / "proposal_gate.py").write_text(textwrap.dedent(GATE_MODULE).lstrip())
    return folder


@pytest.fixture
def gate(gate_folder: Path, monkeypatch: pytest.MonkeyPatch):
    """The toy hook, registered as step 2 does it; removed again afterwards."""
    monkeypatch.syspath_prepend(str(gate_folder))
    module = importlib.import_module("proposal_gate")
    spec = register_hook(HookSpec.from_module(module, module.ProposalGate))
    try:
        yield spec
    finally:
        unregister_hook("gate")
        sys.modules.pop("proposal_gate", None)


# -- the documented file list is the code's --------------------------------------------------------


def production_modules():
    for root in PRODUCTION:
        for path in sorted((REPO / root).rglob("*.py")):
            yield path.relative_to(REPO).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def hook_lists_kept_by_hand() -> dict[str, list[int]]:
    """Lines outside interfaces/hooks that name hooks by hand: a literal list, set, tuple or dict
    holding two or more hook names, or a hook compared with a hook's name."""
    found: dict[str, list[int]] = {}
    for path, tree in production_modules():
        if path.startswith("interfaces/hooks/"):
            continue
        for node in ast.walk(tree):
            named = 0
            if isinstance(node, (ast.List, ast.Tuple, ast.Set, ast.Dict)):
                items = node.keys if isinstance(node, ast.Dict) else node.elts
                named = len({i.value for i in items if isinstance(i, ast.Constant)} & set(BUILT_IN_HOOKS))
                named = named if named >= 2 else 0
            elif isinstance(node, ast.Compare) and "hook" in ast.unparse(node.left).lower():
                named = sum(isinstance(n, ast.Constant) and n.value in BUILT_IN_HOOKS
                            for c in node.comparators for n in ast.walk(c))
            if named:
                found.setdefault(path, []).append(node.lineno)
    return found


def registry_callers() -> set[str]:
    """The modules that call the hook registry's hook methods (``registry.ask(...)``, ``.propose``...)."""
    callers = set()
    for path, tree in production_modules():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in REGISTRY_CALLS and "registry" in ast.unparse(node.func.value)):
                callers.add(path)
    return callers


def test_the_files_a_hook_touches_are_the_ones_contributing_lists():
    numbered, optional = recipe("Add a hook")
    assert numbered == ["interfaces/hooks/<module>.py", "interfaces/hooks/__init__.py", "engine/levels/inner.py"]
    # Step 1: every hook is a module of that folder declaring every constant its spec is read from.
    for spec in HOOKS.values():
        path = Path(spec.module.__file__).resolve().relative_to(REPO).as_posix()
        assert re.fullmatch(r"interfaces/hooks/[a-z_]+\.py", path), path
        assert all(hasattr(spec.module, name) for name in HOOK_CONSTANTS), spec.name
    assert all(f"`{name}`" in CONTRIBUTING.read_text() for name in HOOK_CONSTANTS)
    # Step 2: the list registers each of them.
    registry_text = (REPO / numbered[1]).read_text()
    for spec in HOOKS.values():
        short = spec.module.__name__.rpartition(".")[2]
        assert f"HookSpec.from_module({short}, {spec.protocol.__name__})" in registry_text
    # Step 3: the loop is the one place that calls the registry's hooks.
    assert registry_callers() == {numbered[2]}
    # Nothing else: the only modules naming hooks by hand are the optional ones, each of them still does.
    assert sorted(hook_lists_kept_by_hand()) == sorted(optional), hook_lists_kept_by_hand()


def test_the_toy_hook_needs_only_its_module_and_its_registration(gate):
    assert hook_spec("gate") is gate and hook_spec(gate.protocol) is gate and hook_spec("ProposalGate") is gate
    assert gate.returns == (str | None) and gate.arguments[1].annotation is SearchConfig
    # The research verdict: a gate that refused nothing did nothing.
    assert judge("gate", 5, 0, True)[0] == "revert" and judge("gate", 5, 2, True)[0] == "keep"
    # The Level 2 contract: its docstring and signature, the types it reaches, no example yet.
    contract = hook_contract("gate")
    assert "stop a proposal that the search configuration does not allow" in contract and "def allow(" in contract
    assert set(types_for_hook("gate")) == {"Proposal", "SearchConfig"}
    assert by_hook("gate") == () and example_source("gate") is None


def drawn(strategy, examples: int = 30) -> list[str]:
    """What ``strategy`` draws in a fixed sequence of examples."""
    found: list[str] = []

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(value=strategy)
    def collect(value):
        found.append(repr(value))

    collect()
    return found


def test_the_toy_hooks_test_arguments_come_from_its_declared_kinds(gate):
    @st.composite
    def by_hand(draw):  # a proposal and a config over one space, the way a hand-kept case would draw them
        space = draw(sst.spaces())
        draw(sst.traces(space))
        return draw(sst.proposals(space)), draw(sst.search_configs(space))

    derived = drawn(sst.hook_arguments("gate"))
    assert derived == drawn(by_hand())
    assert len(set(derived)) > 1 and all(d.startswith("(Proposal(") and "SearchConfig(" in d for d in derived)


def test_a_mechanism_for_the_toy_hook_is_admitted_and_combined_by_its_rule(gate):
    admission = admit(ACTIVE_ONLY_GATE, "gate")
    assert admission.admitted, admission.feedback()
    assert admission.protocol == "ProposalGate" and [s.stage for s in admission.stages][-1] == "verify"
    # The conformance suite checks the declared return type: a gate that answers 0 for "pass" is refused.
    wrong = admit(ACTIVE_ONLY_GATE.replace("return None", "return 0"), "gate")
    assert not wrong.admitted and [v.code for v in wrong.violations] == ["wrong-return-type"]

    events: list[tuple] = []
    config = SearchConfig(active=("LR",), frozen=("DEPTH",))
    with MechanismHost() as host:
        registry = HookRegistry(host, on_event=lambda *event: events.append(event))
        for name in ("first_gate", "second_gate"):
            loaded = host.load(admission, seed=0)
            assert loaded.ok, loaded
            registry.activate(name, "gate", loaded.handle, 0)
        # FIRST_VETO: the first refusal wins and the second gate is not asked.
        assert registry.ask("gate", Proposal({"DEPTH": 3}), config) == [
            ("first_gate", "changes DEPTH, which may not change now")]
        assert registry.ask("gate", Proposal({"LR": 0.2}), config) == []
        first, second = registry.get("first_gate"), registry.get("second_gate")
        assert (first.calls, second.calls) == (2, 1) and (first.effects, second.effects) == (1, 0)
        assert first.effect_log == [{"changes": {"DEPTH": 3}, "reason": "changes DEPTH, which may not change now",
                                     "effect": Effect.VETOED.value, "trial": 0}]
    assert [e[1] for e in events] == ["activation", "activation", "effect"]


def test_the_dialogues_answer_schema_offers_a_hook_registered_before_it_is_built(gate_folder):
    assert SpecifyAnswer.model_json_schema()["properties"]["hook"]["enum"] == list(BUILT_IN_HOOKS)
    script = textwrap.dedent("""
        import json
        import proposal_gate
        from interfaces import HookSpec, register_hook
        register_hook(HookSpec.from_module(proposal_gate, proposal_gate.ProposalGate))
        from engine.llm import SpecifyAnswer
        answer = SpecifyAnswer(name="active_only_gate", hook="gate", class_name="ActiveOnlyGate",
                               behaviour="refuses changes to parameters that are not active")
        print(json.dumps({"enum": SpecifyAnswer.model_json_schema()["properties"]["hook"]["enum"],
                          "hook": answer.hook}))
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(gate_folder), str(REPO)]))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {"enum": [*BUILT_IN_HOOKS, "gate"], "hook": "gate"}


def fresh_module(path: Path) -> ModuleType:
    """``path`` imported as a module of its own, not in sys.modules."""
    spec = importlib.util.spec_from_file_location(f"variant_of_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("change, problem", [
    (lambda m: setattr(m, "ARGUMENTS", m.ARGUMENTS[:1]), r"allow\(\) takes 2 arguments but ARGUMENTS names 1"),
    (lambda m: setattr(m, "ARGUMENTS", m.ARGUMENTS[::-1]), "argument proposal is annotated"),
    (lambda m: delattr(m, "NOTHING"), "does not declare NOTHING"),
    (lambda m: setattr(m, "COMBINE", Combine.ALL_SEE), "ANSWER is None exactly when COMBINE is ALL_SEE"),
    (lambda m: setattr(m, "ANSWER", dataclasses.replace(m.ANSWER, key="changes")), "record key 'changes' is taken"),
], ids=["too-few-kinds", "kinds-out-of-order", "missing-constant", "rule-and-answer-disagree", "key-taken"])
def test_a_hook_module_that_does_not_fit_its_protocol_is_refused_with_the_reason(gate_folder, change, problem):
    module = fresh_module(gate_folder / "proposal_gate.py")
    assert HookSpec.from_module(module, module.ProposalGate).name == "gate"
    change(module)
    with pytest.raises(ValueError, match=problem):
        HookSpec.from_module(module, module.ProposalGate)


def test_a_hook_is_registered_once_and_the_built_in_ones_stay(gate):
    with pytest.raises(ValueError, match="clashes with the registered hook 'gate'"):
        register_hook(gate)
    with pytest.raises(ValueError, match="clashes with the registered hook 'filter'"):
        register_hook(dataclasses.replace(gate, name="filter"))
    with pytest.raises(ValueError, match="built-in hook"):
        unregister_hook("filter")
    with pytest.raises(KeyError, match="nonesuch"):
        unregister_hook("nonesuch")
    assert list(HOOKS) == [*BUILT_IN_HOOKS, "gate"]


# -- the toy task: a module and an entry point --------------------------------------------------------

BOWL_TASK = '''
import sys

from interfaces import ParamKind, ParamSpec, SearchSpace, TrialRequest


class Bowl:
    name, metric, minimize = "bowl", "loss", True

    def __init__(self, centre=1.0):
        self.centre = float(centre)

    def space(self):
        return SearchSpace((ParamSpec("X", ParamKind.FLOAT, 3.0, low=-5.0, high=5.0),
                            ParamSpec("STEPS", ParamKind.INT, 2, low=1, high=9)))

    def noise_floor(self):
        return None

    def build_trial(self, index, config):
        loss = (config["X"] - self.centre) ** 2 + 0.1 * config["STEPS"]
        return TrialRequest(index=index, argv=(sys.executable, "-c", f"print('loss: {loss!r}')"),
                            budget_s=30.0, grace_s=30.0, metric="loss")


def load_bowl_task(**options):
    return Bowl(**options)
'''


def bowl_loss(config) -> float:
    return (config["X"] - 1.5) ** 2 + 0.1 * config["STEPS"]


def test_a_task_in_a_package_of_its_own_runs_through_the_engine(tmp_path, monkeypatch):
    numbered, _ = recipe("Add a task")
    assert numbered == ["benchmarks/<task>/", "pyproject.toml"]
    with (REPO / "pyproject.toml").open("rb") as handle:
        declared = tomllib.load(handle)["project"]["entry-points"]["autoresearch.tasks"]
    for value in declared.values():  # each built-in task is such a package, registered by such a line
        assert re.fullmatch(r"benchmarks\.[a-z_]+:load_[a-z_]+_task", value), value
        assert (REPO / value.split(":")[0].replace(".", "/") / "__init__.py").is_file(), value

    # A distribution as pip installs one: the module, and the entry point in its dist-info.
    site = tmp_path / "site"
    info = site / "bowl_tasks-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bowl-tasks\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{TASK_GROUP}]\nbowl = bowl_task:load_bowl_task\n")
    (site / "bowl_task.py").write_text(textwrap.dedent(BOWL_TASK).lstrip())
    monkeypatch.syspath_prepend(str(site))

    settings_ = RunSettings(task="bowl", task_options={"centre": 1.5}, provider="heuristic", levels=("1",),
                            iterations=2)
    result = Run.create(settings_, tmp_path / "runs", run_id="bowl").execute()
    assert result.status == "finished", result
    assert result.baseline == pytest.approx(bowl_loss({"X": 3.0, "STEPS": 2}))
    store = RunStore.open(RunPaths(result.run_dir).store)
    try:
        trace = store.trace("bowl", minimize=True)
    finally:
        store.close()
    ran = [t for t in trace.trials if t.ok]
    assert len(ran) >= 2 and len(trace.trials) >= 3
    for trial in ran:  # each metric is the one the task's own command printed for that configuration
        assert trial.metric == pytest.approx(bowl_loss(trial.config))
    assert result.best == pytest.approx(min(t.metric for t in ran))
