"""Property tests of the guard itself."""

from __future__ import annotations

import functools
import keyword
import string
import unicodedata

import pytest
from hypothesis import assume, given, settings, strategies as st

from sandbox import DEFAULT_POLICY, MODULE_EXPORTS, SandboxViolation, guard_stage, parse_stage
from sandbox._policy import ALWAYS_FORBIDDEN_NAMES, FORBIDDEN_NAMES, is_private_name

from ._harness import attack_module, guard_codes, run_unguarded

identifiers = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: not keyword.iskeyword(n))


@given(identifiers)
def test_any_dunder_or_mangled_attribute_is_denied(name: str) -> None:
    codes = guard_codes(attack_module(f"x = []\nreturn x.__{name}"))
    assert "dunder-attribute" in codes


@given(identifiers)
def test_a_sunder_attribute_is_denied_and_a_private_one_is_left_to_the_run_time_guard(name: str) -> None:
    codes = guard_codes(attack_module(f"x = []\nreturn x._{name}_"))
    assert "private-attribute" in codes
    private = f"_{name}"
    source = attack_module(f"x = []\nreturn x.{private}")
    if is_private_name(private):
        assert guard_codes(source) == set()
        with pytest.raises(SandboxViolation):  # a list is not the mechanism's own object
            run_unguarded(source)
    else:
        assert "private-attribute" in guard_codes(source)


@given(identifiers)
def test_names_with_two_underscores_or_reserved_forms_are_denied_and_private_names_admitted(name: str) -> None:
    assert "dunder-name" in guard_codes(attack_module(f"__{name} = 1"))
    assert "private-name" in guard_codes(attack_module(f"_{name}_ = 1"))
    codes = guard_codes(attack_module(f"_{name} = 1"))
    assert codes == (set() if is_private_name(f"_{name}") else {"private-name"})


@given(st.sampled_from(sorted(MODULE_EXPORTS)), st.data())
def test_every_allow_listed_import_is_accepted(module: str, data: st.DataObject) -> None:
    member = data.draw(st.sampled_from(sorted(MODULE_EXPORTS[module])))
    source = f"import {module}\nfrom {module} import {member}\nreturn {member}"
    codes = guard_codes(attack_module(source))
    # ``from re import compile`` binds ``compile`` in the module, so every use means re.compile,
    # never the (absent) builtin; only names the restricted compiler refuses everywhere stay out.
    assert codes == ({"forbidden-name"} if member in ALWAYS_FORBIDDEN_NAMES else set())
    assert guard_codes(attack_module(f"import {module}\nreturn {module}.{member}")) == set()


@given(st.text(max_size=300))
def test_the_parse_and_guard_stages_never_raise_on_arbitrary_text(text: str) -> None:
    parsed = parse_stage(text)
    if parsed.ok:
        result = guard_stage(parsed.value)
        assert result.ok == (not result.violations)
    else:
        assert parsed.violations


@functools.cache
def _folds() -> dict[str, list[str]]:
    """For each ASCII letter, the identifier characters that NFKC folds to it."""
    folds: dict[str, list[str]] = {c: [c] for c in string.ascii_lowercase}
    for code in range(0x80, 0x1FFFF):
        char = chr(code)
        folded = unicodedata.normalize("NFKC", char)
        if folded in folds and char.isidentifier():
            folds[folded].append(char)
    return folds


def _nfkc_spellings(word: str) -> st.SearchStrategy[str]:
    """Spellings of ``word`` whose letters fold to it under NFKC."""
    return st.tuples(*(st.sampled_from(_folds()[c]) for c in word)).map("".join)


@given(st.sampled_from(["eval", "exec", "open", "globals", "type", "vars", "compile"]).flatmap(
    lambda w: st.tuples(st.just(w), _nfkc_spellings(w))))
def test_nfkc_equivalent_spellings_of_forbidden_names_are_caught(pair: tuple[str, str]) -> None:
    word, spelling = pair
    assume(unicodedata.normalize("NFKC", spelling) == word)
    codes = guard_codes(attack_module(f"return {spelling}"))
    assert "forbidden-name" in codes
    assert spelling.isascii() or "non-ascii-identifier" in codes


@given(st.integers(DEFAULT_POLICY.max_depth + 1, DEFAULT_POLICY.max_depth + 300))
def test_nesting_beyond_the_limit_is_too_deep(depth: int) -> None:
    source = "def build(seed):\n    return " + "[" * depth + "]" * depth + "\n"
    assert {v.code for v in parse_stage(source).violations} == {"too-deep"}


@given(st.sampled_from(sorted(FORBIDDEN_NAMES - ALWAYS_FORBIDDEN_NAMES)),
       st.sampled_from(["{n} = 1", "for {n} in []:\n    pass", "def f({n}):\n    pass",
                        "with x as {n}:\n    pass", "[0 for {n} in []]", "({n} := 1)",
                        "try:\n    pass\nexcept ValueError as {n}:\n    pass", "import math as {n}"]))
def test_a_forbidden_name_the_module_binds_is_a_variable_and_an_unbound_one_is_refused(
        name: str, binding: str) -> None:
    assert "forbidden-name" in guard_codes(attack_module(f"return {name}"))
    assert guard_codes(attack_module(binding.format(n=name) + f"\nreturn {name}")) == set()


class _Spy:
    """An argument that records whether str.format reached into it."""

    def __init__(self, touched: list) -> None:
        self.touched = touched

    def __getattr__(self, name: str) -> _Spy:
        self.touched.append(name)
        return self

    def __getitem__(self, key: object) -> _Spy:
        self.touched.append(key)
        return self

    def __format__(self, spec: str) -> str:
        return "2"


@settings(max_examples=60)
@given(st.text(st.sampled_from("{}0.[]:!rsx<>^w,"), max_size=12))
def test_format_refuses_exactly_the_templates_that_reach_into_an_argument(template: str) -> None:
    """Oracle: real str.format on recording arguments. Where it would touch an
    attribute or item of an argument, the restricted format must refuse."""
    touched: list = []
    try:
        template.format(_Spy(touched), x=_Spy(touched), w=_Spy(touched))
    except (ValueError, IndexError, KeyError, TypeError):
        pass
    source = attack_module(f"return {template!r}.format(0, x=1, w=2)")
    try:
        run_unguarded(source)
    except SandboxViolation:
        return
    except (ValueError, IndexError, KeyError, TypeError, AttributeError):
        pass  # str.format's own refusal of a malformed template, or a missing field
    assert not touched, f"{template!r} reached into an argument"
