"""Stage functions on their own: loader hygiene, the codec, the suites."""

from __future__ import annotations

import gc
import sys
import weakref

import pytest
from hypothesis import given, strategies as st

from sandbox import (
    SuiteFailure,
    check_filter,
    check_observer,
    compile_stage,
    decode_argument,
    encode_argument,
    is_plain,
    load_stage,
    module_name,
    strategies as sst,
    unload,
)

from .mechanisms import source


def _load(text: str, name: str):
    compiled = compile_stage(text, name)
    return load_stage(compiled.value, name)


def test_unload_leaves_no_trace_in_sys_modules_and_no_reference_held() -> None:
    name, _ = module_name(source("tabu_filter"))
    loaded = _load(source("tabu_filter"), name)
    assert sys.modules[name] is loaded.value
    probe = weakref.ref(loaded.value)
    del loaded
    assert unload(name) and name not in sys.modules
    gc.collect()
    assert probe() is None
    assert not unload(name)


def test_module_names_are_content_derived() -> None:
    assert module_name("x = 1\n") == module_name("x = 1\n")
    assert module_name("x = 1\n")[0] != module_name("x = 2\n")[0]
    assert module_name("x = 1\n")[0].startswith("mechanism_") and len(module_name("x")[0]) == 26


def test_module_level_failure_is_a_record_and_unloads() -> None:
    result = _load("raise ValueError('no')\n\ndef build(seed):\n    return None\n", "probe_failing")
    assert not result.ok and result.violations[0].code == "load-failed"
    assert "probe_failing" not in sys.modules


@given(st.data())
def test_every_hook_argument_survives_the_codec(data: st.DataObject) -> None:
    hook = data.draw(st.sampled_from(["filter", "source", "advisor", "acceptance", "observer"]))
    for argument in data.draw(sst.hook_arguments(hook)):
        encoded = encode_argument(argument)
        assert is_plain(encoded)
        assert decode_argument(encoded) == argument


def test_the_codec_refuses_objects_that_are_not_data() -> None:
    from sandbox import CodecError

    with pytest.raises(CodecError):
        encode_argument(object())


def test_conformance_suites_run_in_process_on_plain_builders() -> None:
    class Passing:
        def __init__(self, seed):
            self.seed = seed

        def check(self, proposal, trace, space):
            return None

        def observe(self, trial, trace):
            return None

    check_filter(Passing, max_examples=5)
    check_observer(Passing, max_examples=5)


def test_conformance_suite_reports_non_determinism_with_an_example() -> None:
    import itertools

    counter = itertools.count()

    class Drifting:
        def __init__(self, seed):
            pass

        def check(self, proposal, trace, space):
            return str(next(counter))

    with pytest.raises(SuiteFailure, match="not-deterministic") as failure:
        check_filter(Drifting, max_examples=5)
    assert any("Falsifying example" in note for note in getattr(failure.value, "__notes__", []))


_SCALAR = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
_NESTED = st.recursive(_SCALAR, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
                       | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=12)


@given(_NESTED)
def test_to_plain_turns_tuples_into_lists_and_keeps_the_rest(value) -> None:
    import json

    from sandbox._plain import to_plain

    plain, converted = to_plain(value)
    assert plain and is_plain(converted)
    assert converted == json.loads(json.dumps(value))  # what an encoder would make of it


@given(_NESTED, st.sampled_from([{1, 2}, object(), b"x", {1: "int key"}]))
def test_to_plain_refuses_anything_else_wherever_it_hides(value, foreign) -> None:
    from sandbox._plain import to_plain

    assert to_plain([value, (foreign,)]) == (False, None)
    assert to_plain({"k": {"deeper": [foreign]}}) == (False, None)
