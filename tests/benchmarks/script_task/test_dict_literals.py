"""Module-level dict literals are parameters ``name.key``, edited in place key by key."""

import ast

import pytest
from hypothesis import given, strategies as st

from benchmarks.script_task import (
    ProposalRejected,
    ScriptTask,
    apply_changes,
    discover_space,
    find_assignments,
    parse_space_table,
)
from interfaces import ParamKind, SpaceError

# The shape of scikit-learn's examples/ensemble/plot_gradient_boosting_regression.py.
GBR = '''"""Gradient boosting regression."""
from sklearn import datasets, ensemble

diabetes = datasets.load_diabetes()
X, y = diabetes.data, diabetes.target

params = {
    "n_estimators": 500,
    "max_depth": 4,
    "min_samples_split": 5,
    "learning_rate": 0.01,   # shrinkage
    "loss": "squared_error",
}

reg = ensemble.GradientBoostingRegressor(**params)
'''


def values_of(source):
    return {a.name: a.value for a in find_assignments(source)}


def test_each_key_of_a_dict_literal_is_a_parameter_named_dict_dot_key():
    found = {a.name: a for a in find_assignments(GBR)}
    assert list(found) == ["params.n_estimators", "params.max_depth", "params.min_samples_split",
                           "params.learning_rate", "params.loss"]
    assert found["params.n_estimators"].value == 500 and found["params.n_estimators"].line == 8
    assert found["params.learning_rate"].line == 11
    assert (found["params.loss"].container, found["params.loss"].key) == ("params", "loss")
    space = discover_space(GBR)
    assert space["params.learning_rate"].kind is ParamKind.FLOAT and space["params.learning_rate"].log
    assert space["params.loss"].kind is ParamKind.CHOICE and space["params.loss"].locked
    assert space["params.min_samples_split"].low == 2  # sklearn refuses 1


def test_editing_a_key_changes_that_value_only_and_keeps_the_layout():
    edited = apply_changes(GBR, {"params.n_estimators": 800, "params.learning_rate": 0.02}, discover_space(GBR))
    assert values_of(edited) == {**values_of(GBR), "params.n_estimators": 800, "params.learning_rate": 0.02}
    assert '    "learning_rate": 0.02,   # shrinkage\n' in edited
    changed = [(a, b) for a, b in zip(GBR.splitlines(), edited.splitlines(), strict=True) if a != b]
    assert len(changed) == 2 and len(GBR.splitlines()) == len(edited.splitlines())


def test_the_edited_dict_is_what_the_script_runs_with(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text('config = {"depth": 3, "lr": 0.1, "act": "relu"}\nresult = config["depth"] * config["lr"]\n')
    task = ScriptTask(script)
    text = task.build_trial(1, {"config.depth": 5}).files["fit.py"]
    namespace: dict = {}
    exec(compile(text, "fit.py", "exec"), namespace)  # noqa: S102 - the test's own script, not model output
    assert namespace["config"] == {"depth": 5, "lr": 0.1, "act": "relu"}
    assert namespace["result"] == pytest.approx(0.5)


@pytest.mark.parametrize("source", [
    "d = {}\n",                               # nothing in it
    "d = {1: 0.5}\n",                         # a key that is not a string
    'd = {"max-depth": 3}\n',                 # a key that is not an identifier
    'd = {f"k": 3}\n',                        # an f-string key
    'd = {"a": 1, **base}\n',                 # unpacking
    'd = {"a": 1, "b": make()}\n',            # a value that is not a literal
    'd = {"a": [1, 2]}\n',                    # a list is not a literal of the block
    'd = {"a": 1, "a": 2}\n',                 # a repeated key
    '_d = {"a": 1}\n',                        # the opt-out: a leading underscore
    'd = {"a": 1}\nd = {"a": 2}\n',           # bound twice at module level
    'def f():\n    d = {"a": 1}\n',           # not at module level
    'if True:\n    d = {"a": 1}\n',
    'a = b = {"x": 1}\n',                     # two targets
])
def test_dicts_that_do_not_qualify_are_not_part_of_the_block(source):
    assert values_of(source) == {}


def test_none_values_qualify_the_dict_but_are_not_parameters_and_seeds_are_locked():
    space = discover_space('cfg = {"max_depth": None, "random_state": 42, "seed": 1, "alpha": 0.5}\n')
    assert space.names == ("cfg.random_state", "cfg.seed", "cfg.alpha")
    assert space["cfg.random_state"].locked and space["cfg.seed"].locked
    assert space.searchable() == ("cfg.alpha",)


def test_uppercase_literals_and_dicts_live_side_by_side():
    source = 'LR = 0.1\nCONFIG: dict = {"lr": 0.2}\nhp = {"lr": 0.3}\n'
    edited = apply_changes(source, {"LR": 0.05, "CONFIG.lr": 0.1, "hp.lr": 0.6}, discover_space(source))
    assert edited == 'LR = 0.05\nCONFIG: dict = {"lr": 0.1}\nhp = {"lr": 0.6}\n'


def test_a_key_assigned_twice_across_uppercase_and_dict_shapes_cannot_collide():
    # A dot never occurs in a Python name, so "d.x" cannot clash with an UPPERCASE parameter.
    assert set(values_of('D = 1\nd = {"x": 1}\nX = 2\n')) == {"D", "d.x", "X"}


@pytest.mark.parametrize("hostile", ["500; import os", "__import__('os')", 2.5, None])
def test_hostile_values_for_a_dict_key_are_rejected(hostile):
    with pytest.raises(ProposalRejected) as info:
        apply_changes(GBR, {"params.n_estimators": hostile}, discover_space(GBR))
    assert info.value.violations[0].parameter == "params.n_estimators"
    assert info.value.code == "wrong-type"


def test_a_parameter_name_of_a_key_not_in_the_dict_is_refused():
    with pytest.raises(ProposalRejected) as info:
        apply_changes(GBR, {"params.subsample": 0.5}, discover_space(GBR))
    assert info.value.code == "unknown-parameter"


@given(st.integers(125, 1000), st.floats(0.001, 0.1, allow_nan=False))
def test_any_in_bounds_values_round_trip_through_discovery(n, lr):
    edited = apply_changes(GBR, {"params.n_estimators": n, "params.learning_rate": lr}, discover_space(GBR))
    found = values_of(edited)
    assert found["params.n_estimators"] == n and found["params.learning_rate"] == lr
    assert found["params.loss"] == "squared_error" and found["params.max_depth"] == 4
    ast.parse(edited)


@given(st.text(max_size=20))
def test_a_string_choice_for_a_key_stays_a_string_literal(text):
    from interfaces import ParamSpec, SearchSpace

    source = 'opts = {"mode": "a"}\n'
    space = SearchSpace((ParamSpec("opts.mode", ParamKind.CHOICE, "a", choices=("a", text)),))
    edited = apply_changes(source, {"opts.mode": text}, space)
    tree = ast.parse(edited)
    assert len(tree.body) == 1
    value = tree.body[0].value
    assert isinstance(value, ast.Dict) and [k.value for k in value.keys] == ["mode"]
    assert isinstance(value.values[0], ast.Constant) and value.values[0].value == text


def test_a_space_file_names_dict_keys_quoted_or_nested_and_excludes_a_whole_dict():
    values = {**values_of(GBR), **values_of('labels = {"cat": 0, "dog": 1}\n')}
    quoted = parse_space_table({"params": {"params.n_estimators": {"low": 100, "high": 900}}}, values)
    nested = parse_space_table({"params": {"params": {"n_estimators": {"low": 100, "high": 900}}}}, values)
    assert quoted == nested
    assert (quoted.overrides[0].name, quoted.overrides[0].low, quoted.overrides[0].high) == \
        ("params.n_estimators", 100, 900)
    assert parse_space_table({"exclude": ["labels"]}, values).exclude == ("labels.cat", "labels.dog")
    with pytest.raises(SpaceError) as info:
        parse_space_table({"exclude": ["label"]}, values)
    assert info.value.code == "unknown-parameter"
    with pytest.raises(SpaceError) as info:
        parse_space_table({"params": {"params": {"subsample": {"low": 0.1}}}}, values)
    assert info.value.code == "unknown-parameter"
