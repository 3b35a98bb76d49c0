"""Fuzzing the admission of untrusted text: grammar-generated sources
(hypothesmith) and mutations of real mechanisms go through ``admit()``; raw
text goes through the pre-scan. Whatever the input, the caller gets a record
within the time limit, every code is known and every position is real.

The fast tests run a bounded number of examples; the ``slow`` ones run many
more. Figures are in docs/threat-model.md ("Fuzzing")."""

from __future__ import annotations

import re
import time
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from sandbox import Admission, admit
from sandbox._prescan import prescan
from sandbox._worker import WorkerLimits

ROOT = Path(__file__).resolve().parents[2]
REAL_SOURCES = [path.read_text() for path in sorted((ROOT / "mechanism_library" / "mechanisms").glob("*.py"))
                + sorted((ROOT / "tests" / "sandbox" / "mechanisms").glob("*.py.txt"))]

PRESCAN_CODES = {"too-large", "too-deep", "too-long-line", "too-long-chain", "invisible-character",
                 "coding-cookie", "syntax-error"}
PARSE_CODES = PRESCAN_CODES | {"not-text", "parse-crashed", "parse-timeout", "reply-too-large"}
COMPILE_CODES = {"restricted-compile", "compile-crashed"}
KEBAB = re.compile(r"[a-z]+(-[a-z0-9]+)*\Z")
# The worker's own limit plus the load child's; a record must come back within it.
ADMISSION_LIMIT_S = WorkerLimits().wall_s + 30

_FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                   HealthCheck.filter_too_much])

# Characters and fragments that broke or slowed the parser before the pre-scan.
_AWKWARD = ["\u202e", "\u2066", "\u2069", "\u200b", "\ufeff", "\u2028", "\x0c", "\r", "\r\n", "\x1a", "\t",
            "\\", "\\\n", "\x00", "\ud800", "'", '"', '"""', "#", "{", "}", "(", ")", "[", "]", ":", "\n    "]
_REPEATED = ["not ", "-", "~", ".x", "[0]", "()", " + a", " ** a", "lambda: ", 'f"{', "{", "(", "[",
             "a if b else ", '"s" ', "*", "\\\n"]


@st.composite
def mutated_mechanisms(draw) -> str:
    """A real mechanism after one to four random edits."""
    source = draw(st.sampled_from(REAL_SOURCES))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(source)))
        edit = draw(st.sampled_from(["insert-text", "insert-awkward", "repeat", "nest", "cut", "duplicate"]))
        if edit == "insert-text":
            piece = draw(st.text(max_size=8))
        elif edit == "insert-awkward":
            piece = "".join(draw(st.lists(st.sampled_from(_AWKWARD), min_size=1, max_size=6)))
        elif edit == "repeat":
            piece = draw(st.sampled_from(_REPEATED)) * draw(st.integers(2, 6000))
        elif edit == "nest":
            depth = draw(st.integers(2, 3000))
            brackets = "(" * depth + "1" + ")" * depth
            piece = brackets if draw(st.booleans()) else 'f"{' + brackets + '}"'
        elif edit == "cut":
            source = source[:at]
            continue
        else:
            piece = source[at:at + draw(st.integers(1, 200))] * draw(st.integers(2, 50))
        source = source[:at] + piece + source[at:]
    return source


def _assert_is_a_sound_record(admission: object, elapsed: float) -> None:
    assert isinstance(admission, Admission)
    assert elapsed < ADMISSION_LIMIT_S
    for stage in admission.stages:
        for violation in stage.violations:
            assert KEBAB.match(violation.code), violation
            assert violation.line >= 0 and violation.col >= 0
            assert violation.code != "internal-error", violation
            if stage.stage == "parse":
                assert violation.code in PARSE_CODES, violation
            if stage.stage == "compile":
                assert violation.code in COMPILE_CODES, violation
    assert admission.admitted is (all(s.ok for s in admission.stages) and not admission.violations)


def _admit_checked(source: str) -> None:
    started = time.monotonic()
    admission = admit(source, "advisor", verify=False)
    _assert_is_a_sound_record(admission, time.monotonic() - started)


def _prescan_checked(source: str) -> None:
    started = time.perf_counter()
    found = prescan(source)
    assert time.perf_counter() - started < 2.0
    lines = source.count("\n") + 1
    for violation in found:
        assert violation.code in PRESCAN_CODES, violation
        assert 1 <= violation.line <= lines and violation.col >= 0, violation


_grammar_sources = hypothesmith.from_grammar()
_node_sources = hypothesmith.from_node()
_raw_texts = st.one_of(st.text(max_size=400), mutated_mechanisms())


@settings(max_examples=40, **_FUZZ)
@given(_grammar_sources)
def test_grammar_generated_sources_always_get_a_record(source: str) -> None:
    _admit_checked(source)


# hypothesmith's syntax-tree strategy takes seconds an example to draw; the slow test below draws many more.
@settings(max_examples=5, **_FUZZ)
@given(_node_sources)
def test_syntax_tree_generated_sources_always_get_a_record(source: str) -> None:
    _admit_checked(source)


@settings(max_examples=60, **_FUZZ)
@given(mutated_mechanisms())
def test_mutated_mechanisms_always_get_a_record(source: str) -> None:
    _admit_checked(source)


@settings(max_examples=300, **_FUZZ)
@given(_raw_texts)
def test_the_prescan_returns_sound_violations_for_any_text(source: str) -> None:
    _prescan_checked(source)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@settings(max_examples=1500, **_FUZZ)
@given(st.one_of(_grammar_sources, _node_sources, mutated_mechanisms()))
def test_many_generated_and_mutated_sources_always_get_a_record(source: str) -> None:
    _admit_checked(source)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@settings(max_examples=20_000, **_FUZZ)
@given(_raw_texts)
def test_the_prescan_returns_sound_violations_for_much_more_text(source: str) -> None:
    _prescan_checked(source)
