import json
import math
import pickle

import pytest
from hypothesis import given, strategies as st

from interfaces import FrozenDict, ParamKind, ParamSpec, SearchSpace

from .strategies import spaces, values_for

SPACE = SearchSpace(
    (
        ParamSpec("MATRIX_LR", ParamKind.FLOAT, 0.04, low=1e-4, high=1.0, log=True),
        ParamSpec("DEPTH", ParamKind.INT, 4, low=1, high=12),
        ParamSpec("WINDOW_PATTERN", ParamKind.CHOICE, "SSSL", choices=("L", "SL", "SSSL")),
        ParamSpec("USE_BIAS", ParamKind.BOOL, False),
        ParamSpec("SEQ_LEN", ParamKind.INT, 256, low=256, high=256, locked=True),
    )
)


def codes(changes, **kw):
    return [v.code for v in SPACE.validate(changes, **kw)]


@pytest.mark.parametrize(
    "value",
    ["0.04; import os", "__import__('os').system('id')", "0.04\nimport os", [0.04], None, {"x": 1}],
)
def test_hostile_values_for_a_float_are_rejected_as_wrong_type(value):
    assert codes({"MATRIX_LR": value}) == ["wrong-type"]


def test_coerce_parses_numerals_but_never_evaluates():
    assert SPACE.coerce({"MATRIX_LR": "0.02"})["MATRIX_LR"] == 0.02
    assert SPACE.coerce({"MATRIX_LR": "2*0.01"})["MATRIX_LR"] == "2*0.01"
    assert SPACE.coerce({"DEPTH": 6.0})["DEPTH"] == 6
    assert SPACE.coerce({"DEPTH": 6.5})["DEPTH"] == 6.5
    assert codes(SPACE.coerce({"DEPTH": 6.5})) == ["wrong-type"]


BETAS = ParamSpec("ADAM_BETAS", ParamKind.CHOICE, (0.9, 0.95), choices=((0.8, 0.95), (0.9, 0.95), (0.85, 0.9)))


@given(st.sampled_from(BETAS.choices), st.sampled_from(("{}, {}", "({}, {})", "[{},{}]", " {} ,{} ")))
def test_a_tuple_choice_written_as_text_is_that_choice(choice, spelling):
    # The 1.5B wrote ADAM_BETAS as "0.85, 0.9" where no grammar listed the tuples.
    assert BETAS.coerce(spelling.format(*choice)) == choice
    assert BETAS.check(BETAS.coerce(spelling.format(*choice))) is None


@pytest.mark.parametrize("text", ["0.7, 0.95", "0.85", "0.85, 0.9, 0.1", "__import__('os'), 1", "0.85; 0.9"])
def test_text_that_names_no_tuple_choice_stays_text_and_is_refused(text):
    assert BETAS.coerce(text) == text and BETAS.check(text).code == "not-a-choice"


def test_each_violation_code():
    assert codes({}) == ["empty-proposal"]
    assert codes({"NOPE": 1}) == ["unknown-parameter"]
    assert codes({"SEQ_LEN": 256}) == ["locked-parameter"]
    assert codes({"DEPTH": 4}, frozen=["DEPTH"]) == ["frozen-parameter"]
    assert codes({"DEPTH": 13}) == ["out-of-bounds"]
    assert codes({"DEPTH": True}) == ["wrong-type"]
    assert codes({"MATRIX_LR": math.nan}) == ["not-finite"]
    assert codes({"WINDOW_PATTERN": "SSS"}) == ["not-a-choice"]
    assert codes({"USE_BIAS": 1}) == ["wrong-type"]
    assert codes({"DEPTH": 4}, current=SPACE.defaults()) == ["no-change"]
    assert codes({"DEPTH": 5}, current=SPACE.defaults()) == []


def test_every_problem_is_reported_not_just_the_first():
    assert sorted(codes({"DEPTH": 0, "NOPE": 1, "USE_BIAS": "yes"})) == [
        "out-of-bounds", "unknown-parameter", "wrong-type"]


def test_bad_specs_fail_loudly():
    with pytest.raises(ValueError, match="low"):
        ParamSpec("X", ParamKind.FLOAT, 1.0, low=2.0, high=1.0)
    with pytest.raises(ValueError, match="default is invalid"):
        ParamSpec("X", ParamKind.INT, 50, low=1, high=10)
    with pytest.raises(ValueError, match="log-scale"):
        ParamSpec("X", ParamKind.FLOAT, 1.0, low=0.0, high=2.0, log=True)
    with pytest.raises(ValueError, match="duplicate"):
        SearchSpace((SPACE["DEPTH"], SPACE["DEPTH"]))


def test_frozen_dict_is_read_only_and_survives_pickle_and_json():
    d = FrozenDict({"a": [1, 2], "b": {"c": 3}})
    for mutate in (lambda: d.__setitem__("a", 1), lambda: d.update(a=1), lambda: d.pop("a"),
                   lambda: d["b"].__setitem__("c", 4), lambda: d.clear()):
        with pytest.raises(TypeError):
            mutate()
    assert d["a"] == (1, 2)
    assert pickle.loads(pickle.dumps(d)) == d
    assert json.loads(json.dumps(d)) == {"a": [1, 2], "b": {"c": 3}}
    assert hash(d) == hash(FrozenDict({"b": {"c": 3}, "a": (1, 2)}))


@given(spaces())
def test_space_round_trips_through_json(space):
    again = SearchSpace.from_dict(json.loads(json.dumps(space.to_dict())))
    assert again == space


@given(st.data(), spaces())
def test_values_inside_the_space_validate(data, space):
    name = data.draw(st.sampled_from(space.names))
    value = data.draw(values_for(space[name]))
    expected = ("locked-parameter",) if space[name].locked else ()
    assert tuple(v.code for v in space.validate({name: value})) == expected


@given(spaces(), st.floats(allow_nan=True, allow_infinity=True))
def test_numeric_validation_agrees_with_bounds(space, value):
    for spec in space:
        if spec.kind is ParamKind.FLOAT and not spec.locked:
            problems = space.validate({spec.name: value})
            inside = math.isfinite(value) and spec.low <= value <= spec.high
            assert (problems == ()) == inside


@given(spaces())
def test_a_space_answers_the_mapping_methods_in_its_own_order(space):
    assert space.keys() == space.names == tuple(spec.name for spec in space)
    assert space.values() == tuple(space[name] for name in space.names)
    assert dict(space.items()) == {name: space[name] for name in space.names}
