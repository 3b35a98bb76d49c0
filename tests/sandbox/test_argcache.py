"""Held arguments: a mechanism process keeps the trace, space and config it was last sent.

The incremental path must hand a mechanism exactly what a full send would
(same values, same types, same key order), whatever sequence of traces the
engine sends, and nothing a mechanism does to its arguments may reach what the
process holds for later calls.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from interfaces import ParamSpec, Proposal, SearchConfig, SearchSpace, TraceView, Trial
from interfaces._frozen import FrozenDict
from sandbox import decode_argument, encode_argument, strategies as sst
from sandbox._argcache import ArgumentReceiver, ArgumentSender, HeldArgumentsMiss, fresh_value


def wire(value: Any) -> Any:
    """``value`` as the other process reads it."""
    return json.loads(json.dumps(value))


def full_path(args: tuple[Any, ...]) -> list[Any]:
    return [decode_argument(wire(encode_argument(a))) for a in args]


def assert_same(decoded: list[Any], expected: list[Any]) -> None:
    assert decoded == expected
    assert repr(decoded) == repr(expected)  # FrozenDict repr shows key order and 1 against 1.0
    for got, want in zip(decoded, expected, strict=True):
        if isinstance(want, SearchSpace):  # its name index is neither compared nor shown
            assert [got[name] for name in want.names] == list(want.params) and "VANDAL" not in got


def send(sender: ArgumentSender, receiver: ArgumentReceiver, args: tuple[Any, ...]) -> list[Any]:
    outgoing = sender.encode(args)
    decoded = receiver.decode(wire(outgoing.args), wire(outgoing.held))
    sender.commit(outgoing)
    return decoded


def vandalize(value: Any, seen: set[int] | None = None) -> None:
    """Change everything reachable from ``value`` that Python lets a caller change, and more than a
    restricted mechanism can reach: every mapping (through dict's own methods, past FrozenDict's
    refusals) and every record's fields (past the frozen dataclass)."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, dict):
        for item in list(value.values()):
            vandalize(item, seen)
        dict.clear(value)
        dict.update(value, {"VANDAL": 1})
    elif isinstance(value, tuple | list | frozenset):
        for item in value:
            vandalize(item, seen)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for name, item in list(vars(value).items()):
            vandalize(item, seen)
            if name not in ("params", "trials"):  # keep the shape, so the next vandal has something to walk
                object.__setattr__(value, name, "VANDAL")


def reordered(trial: Trial) -> Trial:
    """The same trial with its configuration's keys in the other order: == but not the same data."""
    return dataclasses.replace(trial, config=dict(reversed(list(trial.config.items()))))


@st.composite
def call_sequences(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Calls a run could make: traces that grow trial by trial, repeat, shrink to a prefix, come back
    rebuilt (equal objects, not the same ones), change a trial's data without changing ``==``, or
    belong to another run altogether; spaces and configs that stay, are rebuilt or change."""
    space = draw(sst.spaces(min_size=2))
    trace = draw(sst.traces(space, max_trials=6))
    config = draw(sst.search_configs(space))
    calls: list[tuple[Any, ...]] = []
    for _ in range(draw(st.integers(1, 12))):
        step = draw(st.sampled_from(["grow", "grow", "grow", "same", "prefix", "rebuilt", "retyped", "other",
                                     "space", "config"]))
        if step == "grow":
            trial = draw(sst.trials(space, index=len(trace)))
            trace = TraceView(trace.trials + (trial,), minimize=trace.minimize)
        elif step == "prefix":
            trace = TraceView(trace.trials[:draw(st.integers(0, len(trace)))], minimize=trace.minimize)
        elif step == "rebuilt":
            trace = TraceView.from_list(trace.to_list(), minimize=trace.minimize)
            space = SearchSpace.from_dict(space.to_dict())
        elif step == "retyped" and trace.trials:
            position = draw(st.integers(0, len(trace) - 1))
            trials = list(trace.trials)
            trials[position] = reordered(trials[position])
            trace = TraceView(tuple(trials), minimize=trace.minimize)
        elif step == "other":
            trace = draw(sst.traces(space, max_trials=6))
        elif step == "space":
            space = draw(sst.spaces(min_size=2))
            trace = draw(sst.traces(space, max_trials=6))
            config = draw(sst.search_configs(space))
        elif step == "config":
            config = draw(sst.search_configs(space))
        shape = draw(st.sampled_from(["advisor", "filter", "observer", "two-traces"]))
        if shape == "advisor":
            calls.append((trace, space, config))
        elif shape == "filter":
            calls.append((draw(sst.proposals(space)), trace, space))
        elif shape == "observer":
            calls.append((draw(sst.trials(space, index=len(trace))), trace))
        else:
            calls.append((TraceView(trace.trials[:len(trace) // 2], minimize=trace.minimize), {"plain": [1, 2]},
                          trace, config))
    return calls


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(call_sequences(), st.booleans())
def test_held_arguments_decode_exactly_as_a_full_send(calls: list[tuple[Any, ...]], vandal: bool) -> None:
    sender, receiver = ArgumentSender(), ArgumentReceiver()
    for args in calls:
        assert_same(decoded := send(sender, receiver, args), full_path(args))
        if vandal:
            vandalize(decoded)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_a_grown_trace_sends_only_the_new_trials_and_a_rebuilt_one_nothing(data: st.DataObject) -> None:
    space = data.draw(sst.spaces(min_size=2))
    trace = data.draw(sst.traces(space, max_trials=8))
    config = data.draw(sst.search_configs(space))
    sender, receiver = ArgumentSender(), ArgumentReceiver()
    send(sender, receiver, (trace, space, config))
    grown = TraceView(trace.trials + (data.draw(sst.trials(space, index=len(trace))),), minimize=trace.minimize)
    outgoing = sender.encode((grown, SearchSpace.from_dict(space.to_dict()), config))
    held_trace, held_space, held_config = outgoing.args
    assert (held_trace["value"]["keep"], len(held_trace["value"]["trials"])) == (len(trace), 1)
    assert held_space["value"] is None and held_config["value"] is None
    receiver.decode(wire(outgoing.args), wire(outgoing.held))
    sender.commit(outgoing)
    rebuilt = sender.encode((TraceView.from_list(grown.to_list(), minimize=grown.minimize),)).args[0]["value"]
    assert (rebuilt["keep"], rebuilt["trials"]) == (len(grown), [])


def test_a_trial_whose_data_changed_without_changing_equality_is_sent_again() -> None:
    space = SearchSpace((ParamSpec("LR", "float", 0.1, low=0.0, high=1.0), ParamSpec("DEPTH", "int", 4, low=1,
                                                                                       high=8)))
    first = Trial(0, {"LR": 0.1, "DEPTH": 4}, {}, "ok", 1.5, "baseline")
    second = Trial(1, {"LR": 0.2, "DEPTH": 4}, {"LR": 0.2}, "ok", 1.4, "keep")
    sender, receiver = ArgumentSender(), ArgumentReceiver()
    send(sender, receiver, (TraceView((first, second)), space))
    as_float = dataclasses.replace(second, config={"LR": 0.2, "DEPTH": 4.0})
    assert as_float == second
    outgoing = sender.encode((TraceView((first, as_float)), space))
    assert outgoing.args[0]["value"]["keep"] == 1
    decoded = receiver.decode(wire(outgoing.args), wire(outgoing.held))
    assert type(decoded[0].trials[1].config["DEPTH"]) is float


def test_a_request_for_other_held_state_changes_nothing_and_a_reset_recovers() -> None:
    space = SearchSpace((ParamSpec("LR", "float", 0.1, low=0.0, high=1.0),))
    trace = TraceView((Trial(0, {"LR": 0.1}, {}, "ok", 1.5, "baseline"),))
    sender, receiver = ArgumentSender(), ArgumentReceiver()
    send(sender, receiver, (trace, space))
    generation = receiver.generation
    stale = sender.encode((trace, space))
    with pytest.raises(HeldArgumentsMiss):
        receiver.decode(wire(stale.args), {"generation": generation + 1, "reset": False})
    with pytest.raises(HeldArgumentsMiss):  # keeps more trials than are held
        receiver.decode([{"kind": "held-trace", "value": {"keep": 5, "trials": [], "minimize": True}}],
                        {"generation": generation, "reset": False})
    assert receiver.generation == generation
    fresh = ArgumentReceiver()  # a process that holds nothing, asked for what another one holds
    with pytest.raises(HeldArgumentsMiss):
        fresh.decode([{"kind": "held-space", "value": None}], {"generation": 0, "reset": False})
    again = sender.encode((trace, space), reset=True)
    assert_same(fresh.decode(wire(again.args), wire(again.held)), full_path((trace, space)))


def test_fresh_values_share_no_mapping_and_refuse_unknown_kinds() -> None:
    nested = FrozenDict({"a": (1, FrozenDict({"b": 2})), "c": "d"})
    copy = fresh_value(nested)
    assert copy == nested and copy is not nested
    assert copy["a"][1] is not nested["a"][1] and copy["c"] is nested["c"]
    with pytest.raises(TypeError):
        fresh_value(object())


def test_held_records_are_never_the_ones_handed_out() -> None:
    space = SearchSpace((ParamSpec("LR", "float", 0.1, low=0.0, high=1.0),
                         ParamSpec("BETAS", "choice", (0.9, 0.99), choices=((0.9, 0.99), (0.8, 0.9)))))
    trace = TraceView((Trial(0, {"LR": 0.1, "NEST": {"k": [1, 2]}}, {}, "ok", 1.5, "baseline"),))
    config = SearchConfig(active=("LR", "BETAS"))
    sender, receiver = ArgumentSender(), ArgumentReceiver()
    first = send(sender, receiver, (trace, space, config, Proposal({"LR": 0.2})))
    vandalize(first)
    assert_same(send(sender, receiver, (trace, space, config, Proposal({"LR": 0.2}))),
                full_path((trace, space, config, Proposal({"LR": 0.2}))))


# -- through the real host: a mechanism that attacks what it is handed ------------------------------

def fingerprint(trace, space, config):
    """Everything a call shows of its arguments, in a form that tells 1 from 1.0 and key orders apart."""
    trials = [(t.index, t.config, t.changes, t.status.value, t.metric, t.decision.value, t.rationale)
              for t in trace.trials]
    params = [(p.name, p.kind.value, p.default, p.low, p.high, p.choices, p.locked) for p in space.params]
    lookups = [(name, name in space, space[name].name) for name in space.names]
    return repr((trials, trace.minimize, len(trace), params, lookups, config.active, config.frozen,
                 config.strategy, config.guidance))


# Every route restricted code has to change a mapping or a record it was handed. Some work on the
# objects of the call itself (dict's own methods reach past FrozenDict's refusals); none may reach
# the copies the process holds for later calls.
ATTACKER = '''
from collections import ChainMap, Counter, OrderedDict, defaultdict


''' + inspect.getsource(fingerprint) + '''

def assign(m):
    m["INJECTED"] = 7


def delete(m):
    for key in list(m):
        del m[key]


def merge(m):
    m |= {"INJECTED": 8}
    return m


def set_index(t):
    t.index = 99


def drop_config(t):
    del t.config


MAPPING_ROUTES = [
    ("dict.update", lambda m: dict.update(m, {"LR": 9.0, "INJECTED": 1})),
    ("dict.setdefault", lambda m: dict.setdefault(m, "INJECTED", 2)),
    ("defaultdict.update", lambda m: defaultdict.update(m, {"INJECTED": 3})),
    ("Counter.update", lambda m: Counter.update(m, {"INJECTED": 4})),
    ("OrderedDict.update", lambda m: OrderedDict.update(m, {"INJECTED": 5})),
    ("ChainMap.update", lambda m: ChainMap(m).update({"INJECTED": 6})),
    ("assign", assign),
    ("merge", merge),
    ("dict.pop", lambda m: dict.pop(m, "LR", None)),
    ("dict.popitem", lambda m: dict.popitem(m)),
    ("delete", delete),
    ("dict.clear", lambda m: dict.clear(m)),
]

RECORD_ROUTES = [
    ("set-index", lambda trace, space, config: [set_index(t) for t in trace.trials]),
    ("drop-config", lambda trace, space, config: [drop_config(t) for t in trace.trials]),
    ("private-index", lambda trace, space, config: dict.clear(getattr(space, "_index"))),
    ("set-default", lambda trace, space, config: setattr_like(space.params[0])),
    ("set-active", lambda trace, space, config: set_active(config)),
]


def setattr_like(spec):
    spec.default = 123


def set_active(config):
    config.active = ()


def mappings(trace, space, config):
    found = [space.defaults()]
    for t in trace.trials:
        found.append(t.config)
        found.append(t.changes)
        for value in t.config.values():
            if isinstance(value, dict):
                found.append(value)
    return found


class Attacker:
    def __init__(self, seed):
        self.kept = []

    def attack(self, trace, space, config):
        effective = []
        for name, route in RECORD_ROUTES:
            before = fingerprint(trace, space, config)
            try:
                route(trace, space, config)
            except Exception:
                pass
            if fingerprint(trace, space, config) != before:
                effective.append(name)
        for name, route in MAPPING_ROUTES:
            before = fingerprint(trace, space, config)
            for m in mappings(trace, space, config):
                try:
                    route(m)
                except Exception:
                    pass
            if fingerprint(trace, space, config) != before:
                effective.append(name)
        return effective

    def advise(self, trace, space, config):
        for old in self.kept:
            self.attack(old[0], old[1], old[2])
        seen = fingerprint(trace, space, config)
        effective = self.attack(trace, space, config)
        self.kept.append((trace, space, config))
        return seen + "\\n" + " ".join(effective)


def build(seed):
    return Attacker(seed)
'''


def attack_calls() -> list[tuple[TraceView, SearchSpace, SearchConfig]]:
    """A run's calls: growing, repeated, shortened, rebuilt, retyped and foreign traces."""
    space = SearchSpace((ParamSpec("LR", "float", 0.1, low=0.0, high=1.0), ParamSpec("DEPTH", "int", 4, low=1, high=8),
                         ParamSpec("BETAS", "choice", (0.9, 0.99), choices=((0.9, 0.99), (0.8, 0.9)))))
    config = SearchConfig(active=("LR", "DEPTH", "BETAS"))
    trials = [Trial(0, dict(space.defaults(), SCHEDULE={"warmup": 10, "steps": [1, 2]}), {}, "ok", 1.5,
                    "baseline")]
    for index in range(1, 7):
        changes = {"LR": index / 10} if index % 2 else {"DEPTH": index}
        trials.append(Trial(index, dict(space.defaults(), **changes), changes, "ok", 1.5 - index / 20,
                            "keep" if index % 3 == 0 else "discard", rationale=f"try {index}"))
    run = [TraceView(tuple(trials[:n])) for n in range(1, 8)]
    other = TraceView((Trial(0, {"LR": 0.5, "DEPTH": 2}, {}, "ok", 3.0, "baseline"),), minimize=False)
    retyped = TraceView(run[-1].trials[:3] + (dataclasses.replace(run[-1].trials[3], config=dict(
        reversed(list(run[-1].trials[3].config.items())))),) + run[-1].trials[4:])
    wider = space.with_params(ParamSpec("DEPTH", "int", 4, low=1, high=16))
    return [(run[0], space, config), (run[1], space, config), (run[1], space, config), (run[3], space, config),
            (run[1], space, config), (run[4], SearchSpace.from_dict(space.to_dict()), config),
            (TraceView.from_list(run[4].to_list()), space, config.freeze("BETAS")), (retyped, space, config),
            (run[6], wider, config), (other, wider, config), (TraceView(other.trials + run[1].trials[1:2],
                                                                        minimize=False), space, config)]


@pytest.fixture
def host():
    from sandbox import Limits, MechanismHost

    with MechanismHost(limits=Limits(call_wall_s=2.0, load_wall_s=10.0, memory_bytes=512 << 20),
                       replay_at=(2, 5, 11)) as running:
        yield running


def test_a_mechanism_that_changes_its_arguments_never_changes_what_later_calls_see(host) -> None:
    from sandbox import admit

    admission = admit(ATTACKER, "advisor", verify=False)
    assert admission.admitted, admission.feedback()
    handle = host.load(admission, seed=0).handle
    reached: set[str] = set()
    for number, (trace, space, config) in enumerate(attack_calls(), start=1):
        result = host.call(handle, trace, space, config)
        assert result.ok, (number, result)
        seen, effective = result.value.split("\n")
        assert seen == fingerprint(trace, space, config), f"call {number} saw a changed trace"
        reached.update(effective.split())
    # dict's methods read off a class (dict.update(record.config, ...)) are refused by the guard, so no
    # route changes even the call's own records; every call also gets records of its own.
    assert reached == set(), reached
    # The replays sent the recorded lines (most of them only what the process lacked) to a fresh
    # process, which answered the same: it was handed the same arguments at every call.
    assert host.replays(handle) == 3 and host.ejections() == ()


def test_a_process_holding_other_arguments_than_recorded_gets_everything_again(host) -> None:
    from sandbox import admit

    handle = host.load(admit(ATTACKER, "advisor", verify=False), seed=0).handle
    calls = attack_calls()
    assert host.call(handle, *calls[0]).ok
    sender = host._loaded[handle].sender  # no public way to desynchronise the two sides: simulate one
    sender._held.generation += 7
    for trace, space, config in calls[1:4]:
        result = host.call(handle, trace, space, config)
        assert result.ok and result.value.split("\n")[0] == fingerprint(trace, space, config)
    assert host.counters(handle).calls == 4 and host.ejections() == ()
