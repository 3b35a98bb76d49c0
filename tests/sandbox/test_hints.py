"""A mechanism that misuses the objects it is handed is told what they do have."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from interfaces import Proposal
from sandbox import MechanismHost
from sandbox._hints import hint

from .test_host import LIMITS, SPACE, TRACE, admitted, filter_source


@pytest.fixture(scope="module")
def host():
    with MechanismHost(limits=LIMITS) as running:
        yield running


def _message(host: MechanismHost, body: str, prelude: str = "") -> str:
    loaded = host.load(admitted(filter_source(body, prelude)), seed=0)
    assert loaded.ok, loaded
    result = host.call(loaded.handle, Proposal({"LR": 0.2}), TRACE, SPACE)
    assert (result.ok, result.code) == (False, "call-raised")
    return result.message


def test_a_missing_attribute_on_a_record_lists_what_it_has_with_the_nearest(host: MechanismHost) -> None:
    message = _message(host, "return str(trace.trial)")
    assert "'TraceView' object has no attribute 'trial' (did you mean 'trials'?)" in message
    names = message.split("a TraceView has: ")[1].split(" (line")[0].split(", ")
    assert names[:2] == ["trials", "minimize"]        # the record's fields come first
    assert {"incumbent", "best_metric", "values_tried"} <= set(names)
    assert not [name for name in names if name.startswith("_")]


def test_an_attribute_asked_of_a_dict_names_its_keys(host: MechanismHost) -> None:
    message = _message(host, "return str(proposal.changes.LR)")
    assert "it is a FrozenDict: read its values by key" in message and "its keys: 'LR'" in message


def test_an_attribute_asked_of_a_name_says_it_is_a_string(host: MechanismHost) -> None:
    message = _message(host, "return str(space.names[0].low)")
    assert "it is a str, 'LR', not an object with attributes" in message


def test_a_subscripted_record_is_told_to_read_attributes(host: MechanismHost) -> None:
    message = _message(host, "return str(proposal['changes'])")
    assert "'Proposal' object is not subscriptable; a Proposal is a record: read its attributes, such as " \
           "obj.changes; it has: changes, rationale, source" in message


def test_a_misspelt_name_gets_the_modules_nearest(host: MechanismHost) -> None:
    message = _message(host, "return str(untired(trace))", prelude="def untried(trace):\n    return []\n")
    assert "name 'untired' is not defined (did you mean 'untried'?)" in message


def test_a_module_function_called_wrongly_shows_its_signature(host: MechanismHost) -> None:
    prelude = "def was_tried(trace, space, changes):\n    return False\n"
    message = _message(host, "return str(was_tried(trace, space, proposal, 1))", prelude=prelude)
    assert "was_tried() takes 3 positional arguments but 4 were given; its signature is " \
           "was_tried(trace, space, changes)" in message
    message = _message(host, "return str(was_tried(trace, space, change=1))", prelude=prelude)
    assert "got an unexpected keyword argument 'change'; its signature is was_tried(trace, space, changes)" in message


def test_a_missing_key_names_the_keys_there_are(host: MechanismHost) -> None:
    message = _message(host, "return str(proposal.changes['DEPTH'])")
    assert message == "KeyError: 'DEPTH'; the keys are: 'LR' (line 8)"
    message = _message(host, "return str(space['WIDTH'])")
    assert message == "KeyError: \"unknown parameter 'WIDTH'\"; the space has: LR, DEPTH; check `name in space` " \
                      "first (line 8)"


def test_an_error_with_nothing_to_add_is_left_as_it_was(host: MechanismHost) -> None:
    assert _message(host, "raise ValueError('boom')") == "ValueError: boom (line 8)"


class _HostileDir:
    def __dir__(self):
        raise SystemExit(1)


class _Endless(dict):
    def __iter__(self):
        while True:
            yield "k"


@given(st.sampled_from([_HostileDir(), _Endless(), 3, "x", None, [1], {"a": 1}]), st.text(max_size=20))
def test_a_hint_never_raises_and_stays_short(obj: object, name: str) -> None:
    error = AttributeError(f"no attribute {name!r}", name=name, obj=obj)
    text = hint(error, "<m>")
    assert isinstance(text, str) and len(text) < 400
    if isinstance(obj, _HostileDir):
        assert text == ""
