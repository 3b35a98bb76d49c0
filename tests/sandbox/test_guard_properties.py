"""Property tests of the guard itself."""

from __future__ import annotations

import functools
import keyword
import string
import unicodedata

from hypothesis import assume, given
from hypothesis import strategies as st

from sandbox._policy import FORBIDDEN_NAMES
from sandbox import DEFAULT_POLICY, MODULE_EXPORTS, guard_stage, parse_stage

from ._harness import attack_module, guard_codes

identifiers = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: not keyword.iskeyword(n))


@given(identifiers)
def test_any_attribute_with_a_leading_underscore_is_denied(name: str) -> None:
    for prefix in ("_", "__"):
        codes = guard_codes(attack_module(f"x = []\nreturn x.{prefix}{name}"))
        assert codes & {"private-attribute", "dunder-attribute"}


@given(identifiers)
def test_any_name_with_a_leading_underscore_is_denied(name: str) -> None:
    codes = guard_codes(attack_module(f"_{name} = 1"))
    assert codes & {"private-name", "dunder-name"}


@given(st.sampled_from(sorted(MODULE_EXPORTS)), st.data())
def test_every_allow_listed_import_is_accepted(module: str, data: st.DataObject) -> None:
    member = data.draw(st.sampled_from(sorted(MODULE_EXPORTS[module])))
    source = f"import {module}\nfrom {module} import {member}\nreturn {member}"
    codes = guard_codes(attack_module(source))
    if member in FORBIDDEN_NAMES:
        # e.g. ``from re import compile`` would shadow a forbidden builtin: the
        # attribute form ``re.compile`` is the allowed spelling.
        assert codes == {"forbidden-name"}
        assert guard_codes(attack_module(f"import {module}\nreturn {module}.{member}")) == set()
    else:
        assert codes == set()


@given(st.text(max_size=300))
def test_the_parse_and_guard_stages_never_raise_on_arbitrary_text(text: str) -> None:
    parsed = parse_stage(text)
    if parsed.ok:
        result = guard_stage(parsed.value)
        assert result.ok == (not result.violations)
    else:
        assert parsed.violations


@functools.lru_cache(maxsize=None)
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
