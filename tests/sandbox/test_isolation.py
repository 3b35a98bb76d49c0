"""Attacks on the separation between mechanisms and on the verdict itself.

Each mechanism runs alone in its own process, and the caller judges every
answer with its own checks and clock, so: one mechanism cannot change
another's answers, squat its memory or get it ejected; a compromised process
cannot forge a verdict, a duration or a flood; answers that depend on the
hash seed, or that change character after many calls, are caught.
"""

from __future__ import annotations

import textwrap

import pytest

from interfaces import ParamSpec, Proposal, SearchSpace, TraceView, Trial
from sandbox import Limits, MechanismHost, admit
from sandbox._policy import DEFAULT_POLICY
from sandbox._verify import verify_stages

from ._harness import advisor as harness_advisor
from .mechanisms import source

SPACE = SearchSpace((ParamSpec("LR", "float", 0.1, low=0.0, high=1.0), ParamSpec("DEPTH", "int", 4, low=1, high=8)))
TRACE = TraceView((Trial(0, SPACE.defaults(), {}, "ok", 1.5, "baseline"),))
LIMITS = Limits(call_wall_s=0.5, load_wall_s=5.0, memory_bytes=512 << 20, verify_wall_s=20.0, cpu_s=10,
                max_examples=8)


def filter_source(check_body: str, prelude: str = "") -> str:
    return textwrap.dedent(prelude) + "\n\nclass Probe:\n    def __init__(self, seed):\n        self.seen = 0\n" \
        "        self.rng = None\n\n    def check(self, proposal, trace, space):\n" + \
        textwrap.indent(textwrap.dedent(check_body).strip(), " " * 8) + "\n\n\ndef build(seed):\n    return Probe(seed)\n"


def loaded_filter(host: MechanismHost, text: str, seed: int = 0) -> str:
    admission = admit(text, "filter", verify=False)
    assert admission.admitted, admission.feedback()
    result = host.load(admission, seed)
    assert result.ok, result
    return result.handle


@pytest.fixture
def host():
    with MechanismHost(limits=LIMITS) as running:
        yield running


def ask(host: MechanismHost, handle: str, proposal: Proposal | None = None):
    return host.call(handle, proposal or Proposal({"LR": 0.2}), TRACE, SPACE)


# -- one mechanism cannot reach another ------------------------------------------------------------


def test_module_state_of_one_instance_never_reaches_another_of_the_same_source(host: MechanismHost) -> None:
    text = filter_source("CALLS.append(1)\nreturn 'seen ' + str(len(CALLS))", "CALLS = []")
    first, second = loaded_filter(host, text), loaded_filter(host, text)
    assert [ask(host, first).value for _ in range(3)] == ["seen 1", "seen 2", "seen 3"]
    assert ask(host, second).value == "seen 1"


def test_a_memory_squatter_cannot_starve_another_mechanism() -> None:
    host = MechanismHost(limits=Limits(call_wall_s=10.0, load_wall_s=5.0, memory_bytes=512 << 20))
    squatter = loaded_filter(host, filter_source(
        "self.hoard = []\ntry:\n    while True:\n        self.hoard.append([0] * (1 << 22))\nexcept Exception:\n"
        "    pass\nreturn None"))
    victim = loaded_filter(host, filter_source("block = [1] * (1 << 23)\nreturn None if len(block) else 'x'"))
    assert ask(host, squatter).ok  # it holds nearly all of its own address space now
    result = ask(host, victim)
    assert result.ok, result
    assert host.ejections() == ()
    host.close()


def test_registering_a_shared_abstract_base_class_is_refused_and_changes_nothing(host: MechanismHost) -> None:
    poisoner = loaded_filter(host, filter_source("typing.Sequence.register(dict)\nreturn None", "import typing"))
    victim = loaded_filter(host, filter_source("return 'sequence' if isinstance({}, typing.Sequence) else None",
                                               "import typing"))
    refused = ask(host, poisoner)
    assert refused.code == "call-raised" and "register" in refused.message
    assert ask(host, victim).value is None


def test_a_hang_is_charged_to_the_mechanism_that_hung(host: MechanismHost) -> None:
    victim = loaded_filter(host, source("tabu_filter"))
    hanging = loaded_filter(host, filter_source("while True:\n    self.seen += 1"))
    assert ask(host, hanging).code == "call-timeout"
    result = ask(host, victim)
    assert result.ok and result.duration_s < LIMITS.call_wall_s
    assert [e.handle for e in host.ejections()] == [hanging]
    assert host.loaded() == (victim,)


# -- a run-time flood or a forged answer is data, bounded and checked here ----------------------------


def test_a_reply_flood_is_cut_at_the_limit_and_ejects_its_sender(host: MechanismHost) -> None:
    flooding = loaded_filter(host, filter_source("return 'A' * (40 << 20)"))
    result = ask(host, flooding)
    assert (result.ok, result.code, result.value) == (False, "reply-too-large", None)
    assert host.loaded() == ()


def verify_with_forger(mode: str, hook: str = "advisor"):
    from sandbox._conformance import check_hook

    text = f"# FORGER_MODE={mode}\ndef build(seed):\n    return None\n"
    return verify_stages(text, "mechanism_forged", entry_point="build", policy=DEFAULT_POLICY, limits=LIMITS,
                         suite=lambda build, twin: check_hook(hook, build, build_twin=twin, max_examples=3),
                         call_budget_s=0.5, process_module="tests.sandbox._forger")


def test_a_compromised_process_cannot_print_its_own_verdict() -> None:
    load, verify = verify_with_forger("verdict")
    assert load.ok and not verify.ok
    assert [v.code for v in verify.violations] == ["wrong-return-type"]


def test_a_compromised_process_cannot_claim_a_short_duration() -> None:
    load, verify = verify_with_forger("slow")
    assert load.ok and not verify.ok
    assert [v.code for v in verify.violations] == ["call-timeout"]


def test_a_compromised_process_cannot_flood_the_caller() -> None:
    load, verify = verify_with_forger("flood")
    assert load.ok and not verify.ok
    assert [v.code for v in verify.violations] == ["reply-too-large"]


def test_a_huge_failure_message_is_clipped_and_a_bogus_line_dropped() -> None:
    load, verify = verify_with_forger("message")
    assert load.ok and not verify.ok
    violation = verify.violations[0]
    assert violation.code == "call-raised" and len(violation.message) < 2_200
    assert violation.line == 0  # the source has 3 lines: a claimed line 10**12 is not one of them
    assert len(verify.counterexample or "") <= 4_100


# -- reproducibility: hash seeds and long runs --------------------------------------------------------


def advisor(body: str, prelude: str = "") -> str:
    return harness_advisor(body, prelude, init="self.calls = 0")


def test_answers_that_depend_on_the_hash_seed_are_refused_at_admission() -> None:
    admission = admit(advisor("return ''.join(set('abcdefghijklmnop'))"), "advisor", limits=LIMITS)
    assert [v.code for v in admission.violations] == ["not-deterministic"]


def test_a_switch_after_many_calls_is_caught_at_admission() -> None:
    admission = admit(advisor("self.calls += 1\nreturn 'fine' if self.calls < 20 else 20"), "advisor",
                      limits=LIMITS)
    assert [v.code for v in admission.violations] == ["wrong-return-type"]
    assert "call 20:" in admission.counterexample


def test_a_late_contract_break_at_run_time_ejects(host: MechanismHost) -> None:
    handle = loaded_filter(host, filter_source("self.seen += 1\nreturn None if self.seen < 300 else 300"))
    results = [ask(host, handle) for _ in range(300)]
    assert all(r.ok for r in results[:299])
    assert results[-1].code == "wrong-return-type" and host.loaded() == ()


def test_hidden_hash_dependence_is_caught_by_the_run_time_replay(host: MechanismHost) -> None:
    # Only a parameter the suite never draws arms it; a replay under another hash seed exposes it.
    text = filter_source("if 'TRIGGER' in proposal.changes:\n    return 'veto ' + ''.join(set('abcdefghijklmnop'))\n"
                         "return None")
    handle = loaded_filter(host, text)
    first = ask(host, handle, Proposal({"TRIGGER": 1}))
    second = ask(host, handle, Proposal({"TRIGGER": 1}))
    assert first.ok and not second.ok and second.code == "not-reproducible"
    assert "replayed" in second.message and host.replays(handle) == 1


def test_a_reproducible_mechanism_passes_every_replay(host: MechanismHost) -> None:
    handle = loaded_filter(host, source("tabu_filter"))
    results = [ask(host, handle, Proposal({"LR": round(0.1 * (i % 7), 1)})) for i in range(40)]
    assert all(r.ok for r in results)
    assert host.replays(handle) == 3 and host.ejections() == ()
