"""Admission end to end: the conformance suite runs here against the candidate
loaded in two limited processes, and reports the first failing example."""

from __future__ import annotations

import pytest

from sandbox import Limits, admit

from ._foreign import Greeter, check_greeter
from ._harness import advisor

FAST = Limits(verify_wall_s=20.0, cpu_s=10, memory_bytes=512 << 20, max_examples=8)


def test_a_conforming_advisor_is_admitted_with_every_stage_recorded() -> None:
    admission = admit(advisor("return 'try ' + space.names[0]"), "advisor", limits=FAST)
    assert admission.admitted, admission.feedback()
    assert all(stage.ok and stage.duration_s >= 0 for stage in admission.stages)
    assert admission.counterexample is None and admission.violations == ()


def test_wrong_return_type_comes_back_with_the_failing_example() -> None:
    admission = admit(advisor("return len(trace)"), "advisor", limits=FAST)
    assert not admission.admitted
    assert [v.code for v in admission.violations] == ["wrong-return-type"]
    assert "Falsifying example" in admission.counterexample and "call 1: advise(" in admission.counterexample


def test_shared_module_state_is_caught_as_non_determinism() -> None:
    text = advisor("CALLS.append(1)\nreturn str(len(CALLS))", "CALLS = []")
    admission = admit(text, "advisor", limits=FAST)
    assert [v.code for v in admission.violations] == ["not-deterministic"]


def test_raising_on_valid_input_is_reported_at_its_line() -> None:
    admission = admit(advisor("names = list(config.active)\nreturn 'x' + names[len(names)]"), "advisor", limits=FAST)
    assert [v.code for v in admission.violations] == ["call-raised"]
    assert "IndexError" in admission.violations[0].message
    # The prelude is empty, so the class starts on line 3 and the failing statement is line 9.
    assert admission.violations[0].line == 9


def test_an_endless_loop_at_import_kills_the_child_not_the_caller() -> None:
    text = advisor("return ''", "while True:\n    pass")
    admission = admit(text, "advisor", limits=Limits(verify_wall_s=3.0, cpu_s=2))
    assert not admission.admitted
    assert admission.violations[0].code in ("cpu-limit", "verify-timeout")


def test_a_memory_bomb_in_build_is_contained() -> None:
    text = advisor("return ''", "BLOCK = [0] * (10 ** 10)")
    admission = admit(text, "advisor", limits=FAST)
    assert not admission.admitted
    assert admission.violations[0].code in ("load-failed", "child-crashed")


def test_a_foreign_protocol_is_checked_structurally() -> None:
    text = "class Hi:\n    def greet(self, name):\n        return 'hello ' + name\n\n\ndef build(seed):\n    return Hi()\n"
    assert admit(text, Greeter, limits=FAST).admitted
    wrong = "class Hi:\n    def wave(self):\n        return 1\n\n\ndef build(seed):\n    return Hi()\n"
    assert not admit(wrong, Greeter, limits=FAST).admitted


def test_a_custom_verify_callable_replaces_the_suite() -> None:
    text = "class Hi:\n    def greet(self, name):\n        return 'hi ' + name\n\n\ndef build(seed):\n    return Hi()\n"
    admission = admit(text, Greeter, verify=check_greeter, limits=FAST)
    assert not admission.admitted and "greet must say hello" in admission.violations[0].message


@pytest.mark.parametrize("bad", [None, 42, b"bytes"])
def test_admit_never_raises_on_non_text(bad) -> None:
    admission = admit(bad, "advisor")
    assert not admission.admitted and admission.violations[0].code == "not-text"


def test_static_refusals_report_all_violations_and_skip_the_child() -> None:
    admission = admit("import os\nimport sys\nx = eval('1')\n", "advisor")
    codes = [v.code for v in admission.violations]
    assert codes.count("forbidden-import") == 2 and "forbidden-name" in codes and "missing-entry-point" in codes
    assert [s.stage for s in admission.stages] == ["parse", "guard", "compile"]


def test_a_build_indented_into_the_class_is_reported_at_its_own_line() -> None:
    source = ("import random\n\nclass Advisor:\n    def __init__(self, seed):\n        self.rng = random.Random(seed)\n\n"
              "    def advise(self, trace, space, config):\n        return ''\n\n"
              "    def build(seed):\n        return Advisor(seed)\n")
    admission = admit(source, "advisor")
    [violation] = [v for v in admission.violations if v.code == "missing-entry-point"]
    assert violation.line == 10 and "inside class Advisor" in violation.message
