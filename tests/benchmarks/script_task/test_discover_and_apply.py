import ast

import libcst as cst
import pytest
from hypothesis import given, strategies as st

from benchmarks.script_task import (
    ProposalRejected,
    apply_changes,
    discover_space,
    find_assignments,
    rewrite_literals,
)
from interfaces import ParamKind, ParamSpec, SearchSpace, SpaceError

SCRIPT = '''"""A training script."""
import os

# ---- hyperparameters ----
LR = 3e-4            # learning rate
DEPTH: int = 4
NEG = -2.5
BIG = 1_000
BETAS = (0.9, 0.95)
PATTERN = "SSSL"
USE_BIAS = False
lowercase = 3
COMPUTED = LR * 2
PATH = os.getcwd()


def helper():
    INNER = 5
    return INNER


class Config:
    FIELD = 1


if __name__ == "__main__":
    MAIN_ONLY = 7
    print(LR)
'''


def values_of(source):
    return {a.name: a.value for a in find_assignments(source)}


def test_discovers_only_module_level_uppercase_literals():
    assert values_of(SCRIPT) == {
        "LR": 3e-4, "DEPTH": 4, "NEG": -2.5, "BIG": 1000, "BETAS": (0.9, 0.95),
        "PATTERN": "SSSL", "USE_BIAS": False,
    }


def test_discovered_space_kinds_and_order():
    space = discover_space(SCRIPT)
    assert space.names == ("LR", "DEPTH", "NEG", "BIG", "BETAS", "PATTERN", "USE_BIAS")
    assert space["LR"].kind is ParamKind.FLOAT and space["LR"].log
    assert space["DEPTH"].kind is ParamKind.INT
    assert space["USE_BIAS"].kind is ParamKind.BOOL
    assert space["PATTERN"].locked and space["BETAS"].locked
    assert space["NEG"].low < -2.5 < space["NEG"].high


def test_duplicate_assignment_is_a_clear_error():
    with pytest.raises(SpaceError) as info:
        discover_space("LR = 0.1\nDEPTH = 2\nLR = 0.2\n")
    assert info.value.code == "duplicate-assignment"
    assert "LR" in info.value.message and "1" in info.value.message and "3" in info.value.message


def test_syntax_error_is_a_clear_error():
    with pytest.raises(SpaceError) as info:
        discover_space("LR = (\n")
    assert info.value.code == "script-syntax-error"


def test_apply_changes_edits_only_the_named_literals_and_keeps_comments():
    space = discover_space(SCRIPT)
    edited = apply_changes(SCRIPT, {"LR": 0.001, "DEPTH": 6, "NEG": -1.0, "USE_BIAS": True}, space)
    assert values_of(edited) == {**values_of(SCRIPT), "LR": 0.001, "DEPTH": 6, "NEG": -1.0, "USE_BIAS": True}
    assert "LR = 0.001            # learning rate" in edited
    assert "DEPTH: int = 6" in edited
    # everything else is byte-for-byte the same
    changed = [(a, b) for a, b in zip(SCRIPT.splitlines(), edited.splitlines(), strict=True) if a != b]
    assert len(changed) == 4 and len(SCRIPT.splitlines()) == len(edited.splitlines())


def test_assignments_inside_blocks_are_never_edited():
    source = "X = 1\nif True: X2 = 1\ndef f():\n    X = 5\n"
    space = SearchSpace((ParamSpec("X", ParamKind.INT, 1, low=0, high=10),))
    edited = apply_changes(source, {"X": 2}, space)
    assert edited == "X = 2\nif True: X2 = 1\ndef f():\n    X = 5\n"


@pytest.mark.parametrize("hostile", [
    "0.04; import os",
    "__import__('os')",
    "0.04\nimport os",
    "1e-3 if __import__('os').system('true') else 1",
    ["0.1"],
    {"__class__": 1},
])
def test_hostile_values_are_rejected_with_a_clear_message(hostile):
    space = discover_space(SCRIPT)
    with pytest.raises(ProposalRejected) as info:
        apply_changes(SCRIPT, {"LR": hostile}, space)
    assert info.value.code == "wrong-type"
    assert info.value.violations[0].parameter == "LR"
    assert "LR must be a float" in str(info.value)


def test_invalid_changes_list_every_violation():
    space = discover_space(SCRIPT).lock("DEPTH")
    with pytest.raises(ProposalRejected) as info:
        apply_changes(SCRIPT, {"LR": 5.0, "DEPTH": 8, "NOPE": 1}, space)
    assert {v.code for v in info.value.violations} == {"out-of-bounds", "locked-parameter", "unknown-parameter"}
    assert info.value.code == "invalid-proposal"


def test_rewrite_refuses_values_without_a_literal_form():
    with pytest.raises(ProposalRejected) as info:
        rewrite_literals("X = 1.0\n", {"X": float("nan")})
    assert info.value.code == "not-a-literal"
    with pytest.raises(ProposalRejected):
        rewrite_literals("X = 1.0\n", {"X": object()})
    with pytest.raises(ProposalRejected) as info:
        rewrite_literals("X = 1.0\n", {"Y": 2.0})
    assert info.value.code == "unknown-parameter"


def test_empty_changes_return_the_source_unchanged():
    assert apply_changes(SCRIPT, {}, discover_space(SCRIPT)) is SCRIPT


@given(st.text(max_size=40))
def test_any_allowed_string_stays_a_string_literal(text):
    """A string choice, however hostile its text, can only ever become a string literal."""
    source = 'MODE = "a"\nprint(MODE)\n'
    space = SearchSpace((ParamSpec("MODE", ParamKind.CHOICE, "a", choices=("a", text)),))
    edited = apply_changes(source, {"MODE": text}, space) if text != "a" else source
    tree = ast.parse(edited)
    assert len(tree.body) == 2
    assert isinstance(tree.body[0].value, ast.Constant) and tree.body[0].value.value == text


numbers = st.one_of(
    st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
)
literals = st.recursive(
    st.one_of(numbers, st.booleans(), st.text(max_size=10)),
    lambda inner: st.lists(inner, max_size=3).map(tuple),
    max_leaves=6,
)


@given(literals, literals)
def test_rewrite_round_trips_through_discovery(old, new):
    source = f"A = {old!r}\nB = 1\n" if not isinstance(old, tuple) or old else "A = ()\nB = 1\n"
    if isinstance(old, tuple) and len(old) == 1:
        source = f"A = ({old[0]!r},)\nB = 1\n"
    edited = rewrite_literals(source, {"A": new})
    found = values_of(edited)
    assert found["A"] == new and type(found["A"]) is type(new)
    assert found["B"] == 1
    cst.parse_module(edited)  # still a valid module
