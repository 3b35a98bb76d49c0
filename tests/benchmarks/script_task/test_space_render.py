"""A space written as a --space TOML file reads back, for the same script, as the same space."""

import tomllib

import pytest
from hypothesis import given, settings, strategies as st

from benchmarks.script_task import ScriptTask, parse_space_table, render_space_file, toml_key, toml_value
from interfaces import ConfigError


def read_back(task: ScriptTask, text: str, path) -> ScriptTask:
    """What --space does with ``text`` (the factory's steps), as a task over the same script."""
    values = task.script_values()
    table = parse_space_table(tomllib.loads(text), values)
    return ScriptTask(path, overrides=table.overrides, locked=table.locked,
                      only=[name for name in values if name not in table.exclude])


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "fit.py"
    path.write_text('LR = 3e-4\nDEPTH = 4\nUSE_BIAS = False\nACT = "relu"\nBETAS = (0.9, (1, 2))\nSEED = 7\n'
                    'params = {"n_estimators": 500, "random_state": 1, "subsample": 0.8, "loss": "huber"}\n')
    return path


def test_the_discovered_space_round_trips(script):
    task = ScriptTask(script)
    text = task.space_toml()
    assert '[params."params.n_estimators"]' in text and "[params.LR]" in text
    again = read_back(task, text, script)
    assert again.space() == task.space()
    assert again.space_toml() == text


def test_an_edited_space_round_trips_with_its_excludes_locks_and_choices(script):
    from benchmarks.script_task import load_space_file

    space_file = script.with_name("space.toml")
    space_file.write_text('exclude = ["params"]\n[params.LR]\nlow = 1e-5\nhigh = 1e-2\nlog = false\n'
                          '[params.ACT]\nchoices = ["relu", "tanh"]\ndescription = "say \\"hi\\"\\n"\n'
                          '[params.DEPTH]\nlocked = true\n')
    loaded = load_space_file(space_file, ScriptTask(script).script_values())
    task = ScriptTask(script, overrides=loaded.overrides, locked=loaded.locked,
                      only=[n for n in ScriptTask(script).script_values() if n not in loaded.exclude])
    assert task.excluded() == ("params.n_estimators", "params.random_state", "params.subsample", "params.loss")
    again = read_back(task, task.space_toml(), script)
    assert again.space() == task.space()
    assert again.space()["ACT"].description == 'say "hi"\n'
    assert again.excluded() == task.excluded()


def test_a_kind_that_is_not_the_parameters_is_refused(script):
    values = ScriptTask(script).script_values()
    with pytest.raises(ConfigError) as info:
        parse_space_table({"params": {"DEPTH": {"kind": "float"}}}, values)
    assert info.value.code == "space-file-invalid" and "int parameter" in info.value.message


def test_keys_are_bare_or_quoted():
    assert toml_key("LR") == "LR" and toml_key("params.n_estimators") == '"params.n_estimators"'
    assert tomllib.loads(f"{toml_key('a.b')} = 1") == {"a.b": 1}


scalars = st.one_of(
    st.booleans(),
    st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3).map(tuple), max_leaves=5)


@given(values)
def test_every_literal_value_reads_back_as_itself(value):
    parsed = tomllib.loads(f"v = {toml_value(value)}")["v"]

    def as_python(item):
        return tuple(as_python(x) for x in item) if isinstance(item, list) else item

    assert as_python(parsed) == value
    assert type(as_python(parsed)) is type(value)


names = st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True)
keys = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(names, values, min_size=1, max_size=5), st.dictionaries(keys, values, max_size=4))
def test_any_script_block_round_trips(tmp_path_factory, block, entries):
    lines = [f"{name} = {value!r}" for name, value in block.items()]
    if entries:
        lines.append("cfg = {" + ", ".join(f"{key!r}: {value!r}" for key, value in entries.items()) + "}")
    path = tmp_path_factory.mktemp("block") / "s.py"
    path.write_text("\n".join(lines) + "\n")
    task = ScriptTask(path)
    assert len(task.space()) == len(block) + len(entries)
    assert read_back(task, task.space_toml(), path).space() == task.space()


def test_header_lines_stay_comments():
    from interfaces import ParamKind, ParamSpec, SearchSpace

    space = SearchSpace((ParamSpec("X", ParamKind.INT, 1, low=0, high=3),))
    text = render_space_file(space, header=["two\nlines = 1"])
    assert tomllib.loads(text) == {"exclude": [], "params": {"X": {"kind": "int", "low": 0, "high": 3,
                                                                      "log": False, "locked": False}}}
