"""Hook arguments sent to a mechanism process that keeps what it was sent before.

A run's trace grows by a trial or two between hook calls, and its space and
search configuration seldom change, yet re-encoding them and rebuilding them
with ``from_dict`` in the mechanism process on every call costs many times
the call itself. So each mechanism process holds the last trace, space and
search configuration it received (:class:`ArgumentReceiver`), and the engine
side keeps an exact account of what that process holds
(:class:`ArgumentSender`, one per process) and sends only what it lacks.

What keeps this exact:

- The sender counts a trial as held only when it is the very object that was
  sent or encodes to the same JSON text (key order, ``1`` against ``1.0``
  included), so a trace that is not an extension of the held one is sent from
  the first trial that differs: never less than a full send would carry.
- Every request names the generation of the held state it was built against
  (the count of changes since the process started or was reset). A receiver
  in another generation changes nothing and answers :data:`MISS_CODE`; the
  sender then resets both sides and sends everything.
- The receiver never hands out what it holds. Every call gets records built
  for it (fresh ``Trial``, ``TraceView``, ``ParamSpec``, ``SearchSpace`` and
  ``SearchConfig`` objects, fresh ``FrozenDict`` objects all the way down),
  sharing only immutable leaves (str, numbers, None, tuples of those, enum
  members). A mechanism that changes its arguments by any route, or keeps
  them and changes them in a later call, changes only copies no later call
  sees.

Wire form, inside a ``call`` request: ``"held": {"generation": G, "reset":
bool}`` and, among the tagged arguments of :mod:`sandbox._codec`, the kinds
``held-trace`` (``{"keep": n, "trials": [...], "minimize": bool}``: the first
``n`` held trials, then these), ``held-space`` and ``held-config`` (a record
to hold from now on, or ``null`` for the one held).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from interfaces import ParamSpec, SearchConfig, SearchSpace, TraceView, Trial
from interfaces._frozen import FrozenDict

from ._codec import decode_argument, encode_argument

__all__ = ["ArgumentSender", "Outgoing", "ArgumentReceiver", "HeldArgumentsMiss", "MISS_CODE", "fresh_value"]

MISS_CODE = "held-arguments-miss"

_LEAVES = frozenset({str, int, float, bool, type(None)})


class HeldArgumentsMiss(Exception):
    """The request was built against held state this process does not have."""

    code = MISS_CODE


# -- engine side -------------------------------------------------------------------------------------

class _Held:
    """What the sender knows the process holds: the objects sent (or ones that encode the same),
    the search space and config by wire kind with the JSON text they were sent as."""

    __slots__ = ("generation", "records", "trials")

    def __init__(self, trials: tuple[Trial, ...] = (), records: dict[str, tuple[Any, str]] | None = None,
                 generation: int = 0) -> None:
        self.trials = trials
        self.records = {} if records is None else records
        self.generation = generation


@dataclass(frozen=True)
class Outgoing:
    """One call's arguments as sent, and what the process holds once it has taken them."""

    args: list[Any]
    held: dict[str, Any]
    after: _Held


_RECORD_KINDS = ((SearchSpace, "held-space"), (SearchConfig, "held-config"))


def _text(record: Trial | SearchSpace | SearchConfig) -> str:
    return json.dumps(record.to_dict())


def _common_prefix(trials: tuple[Trial, ...], held: tuple[Trial, ...]) -> int:
    """How many leading ``trials`` the process holds already, as they would arrive if sent."""
    if trials is held:
        return len(trials)
    if all(map(operator.is_, trials, held)):  # the usual case: the store hands out the same objects
        return min(len(trials), len(held))
    for position, (trial, kept) in enumerate(zip(trials, held)):  # noqa: B905 - the shorter ends the prefix
        if trial is not kept and _text(trial) != _text(kept):
            return position
    return min(len(trials), len(held))


class ArgumentSender:
    """The engine side of one mechanism process: encode a call's arguments against what it holds.

    ``encode(args)`` -> :class:`Outgoing` (raises :class:`sandbox._codec.CodecError` or
    ``TypeError``/``ValueError`` for arguments that are not data); once the process has
    answered the request, ``commit(outgoing)``; after a :data:`MISS_CODE` answer,
    ``encode(args, reset=True)`` builds a request that starts the process over.
    """

    def __init__(self) -> None:
        self._held = _Held()

    def encode(self, args: Sequence[Any], *, reset: bool = False) -> Outgoing:
        before = _Held() if reset else self._held
        trials, records, changed = before.trials, dict(before.records), False
        encoded: list[Any] = []
        for value in args:
            if isinstance(value, TraceView):
                keep = _common_prefix(value.trials, trials)
                new = value.trials[keep:]
                encoded.append({"kind": "held-trace", "value": {
                    "keep": keep, "trials": [trial.to_dict() for trial in new], "minimize": value.minimize}})
                # Either way the objects remembered are ones that encode as the held trials do.
                trials = value.trials if new else value.trials + trials[keep:]
                changed = changed or bool(new)
                continue
            kind = next((k for record, k in _RECORD_KINDS if isinstance(value, record)), None)
            if kind is None:
                encoded.append(encode_argument(value))
                continue
            held_record, held_text = records.get(kind, (None, ""))
            text = held_text if value is held_record else _text(value)
            if text == held_text:
                encoded.append({"kind": kind, "value": None})
            else:
                encoded.append({"kind": kind, "value": value.to_dict()})
                changed = True
            records[kind] = (value, text)
        held = {"generation": before.generation, "reset": reset}
        return Outgoing(encoded, held, _Held(trials, records, before.generation + changed))

    def commit(self, outgoing: Outgoing) -> None:
        """The process took ``outgoing``: it now holds what ``outgoing.after`` says."""
        self._held = outgoing.after

    def generation(self) -> int:
        return self._held.generation


# -- mechanism-process side --------------------------------------------------------------------------

def fresh_value(value: Any) -> Any:
    """An equal value sharing nothing a caller could change: new ``FrozenDict`` objects all the
    way down, the same immutable leaves. Only the value kinds records decode into are known."""
    kind = type(value)
    if kind in _LEAVES:
        return value
    if kind is FrozenDict:
        return _fresh_mapping(value)
    if kind is tuple:
        return value if all(type(item) in _LEAVES for item in value) else tuple(fresh_value(v) for v in value)
    if kind is frozenset:
        return value if all(type(item) in _LEAVES for item in value) else frozenset(fresh_value(v) for v in value)
    raise TypeError(f"cannot hand out a fresh copy of a {kind.__name__}")


def _is_flat(mapping: Mapping[str, Any]) -> bool:
    return all(type(item) in _LEAVES for item in mapping.values())


_new_object, _set_field, _new_mapping, _fill = object.__new__, object.__setattr__, dict.__new__, dict.update


def _fresh_mapping(mapping: Mapping[str, Any], flat: bool = False) -> FrozenDict:
    copy = _new_mapping(FrozenDict)  # FrozenDict.__init__ would re-freeze values that are frozen already
    _fill(copy, mapping if flat or _is_flat(mapping) else {k: fresh_value(v) for k, v in mapping.items()})
    return copy


def _shell(record: Any) -> Any:
    """A new object of ``record``'s class with a copy of its fields, built without ``__init__``
    (the fields were validated when ``record`` was decoded)."""
    copy = _new_object(type(record))
    _set_field(copy, "__dict__", dict(vars(record)))
    return copy


class _HeldTrial:
    """A trial the process holds, never handed out, and what a quick copy of it needs."""

    __slots__ = ("changes", "config", "fields", "flat")

    def __init__(self, trial: Trial) -> None:
        self.fields = dict(vars(trial))
        self.config, self.changes = trial.config, trial.changes
        self.flat = _is_flat(trial.config) and _is_flat(trial.changes)

    def fresh(self) -> Trial:
        fields = self.fields.copy()
        fields["config"] = _fresh_mapping(self.config, self.flat)
        fields["changes"] = _fresh_mapping(self.changes, self.flat)
        copy = _new_object(Trial)
        _set_field(copy, "__dict__", fields)
        return copy


def _fresh_space(space: SearchSpace) -> SearchSpace:
    copy = _shell(space)
    fields = vars(copy)
    params: list[ParamSpec] = []
    for spec in space.params:
        spec_copy = _shell(spec)
        vars(spec_copy)["default"] = fresh_value(spec.default)
        vars(spec_copy)["choices"] = fresh_value(spec.choices)
        params.append(spec_copy)
    fields["params"] = tuple(params)
    fields["_index"] = _fresh_mapping(space._index, True)
    return copy


def _fresh_config(config: SearchConfig) -> SearchConfig:
    copy = _shell(config)
    vars(copy).update(active=fresh_value(config.active), frozen=fresh_value(config.frozen))
    return copy


class ArgumentReceiver:
    """The mechanism-process side: decode a call's arguments, keeping the held records private."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.generation = 0
        self._trials: tuple[_HeldTrial, ...] = ()
        self._space: SearchSpace | None = None
        self._config: SearchConfig | None = None

    def decode(self, args: Sequence[Any], held: Mapping[str, Any] | None) -> list[Any]:
        """The call's arguments, fresh; held state changes only when every argument decoded.
        Raises :class:`HeldArgumentsMiss` (nothing changed) for a request built for other state."""
        if held is None:
            return [decode_argument(tagged) for tagged in args]
        if held.get("reset") is True:
            self._reset()
        if held.get("generation") != self.generation:
            raise HeldArgumentsMiss(f"the request was built for held generation {held.get('generation')!r}; "
                                    f"this process holds generation {self.generation}")
        trials, space, config = self._trials, self._space, self._config
        decoded: list[Any] = []
        for tagged in args:
            kind, value = tagged["kind"], tagged["value"]
            if kind == "held-trace":
                keep = value["keep"]
                if type(keep) is not int or not 0 <= keep <= len(trials):
                    raise HeldArgumentsMiss(f"the request keeps {keep!r} trials; {len(trials)} are held")
                new = tuple(_HeldTrial(Trial.from_dict(data)) for data in value["trials"])
                shown = trials[:keep] + new
                if new:
                    trials = shown
                decoded.append(TraceView(tuple(t.fresh() for t in shown), minimize=bool(value["minimize"])))
            elif kind == "held-space":
                if value is not None:
                    space = SearchSpace.from_dict(value)
                elif space is None:
                    raise HeldArgumentsMiss("the request refers to a held search space; none is held")
                decoded.append(_fresh_space(space))
            elif kind == "held-config":
                if value is not None:
                    config = SearchConfig.from_dict(value)
                elif config is None:
                    raise HeldArgumentsMiss("the request refers to a held search config; none is held")
                decoded.append(_fresh_config(config))
            else:
                decoded.append(decode_argument(tagged))
        if trials is not self._trials or space is not self._space or config is not self._config:
            self._trials, self._space, self._config = trials, space, config
            self.generation += 1
        return decoded
