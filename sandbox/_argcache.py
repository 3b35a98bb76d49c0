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

import enum
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

_RECORDS = (Trial, ParamSpec, SearchSpace, SearchConfig)
_new_object, _set_field, _new_mapping, _fill = object.__new__, object.__setattr__, dict.__new__, dict.update


def _is_immutable(value: Any) -> bool:
    """True for what no code can change: str, numbers, None, enum members, tuples and frozensets
    of those."""
    kind = type(value)
    if kind in _LEAVES or isinstance(value, enum.Enum):
        return True
    return (kind is tuple or kind is frozenset) and all(_is_immutable(item) for item in value)


def fresh_value(value: Any) -> Any:
    """An equal value sharing nothing a caller could change: new ``FrozenDict`` objects and new
    interface records all the way down, the same immutable leaves. Only the kinds records decode
    into are known; anything else is a ``TypeError``, never shared."""
    if _is_immutable(value):
        return value
    kind = type(value)
    if kind is FrozenDict:
        return _fresh_mapping(value)
    if kind is tuple:
        return tuple(fresh_value(item) for item in value)
    if kind is frozenset:
        return frozenset(fresh_value(item) for item in value)
    if kind in _RECORDS:
        return _fresh_record(value)
    raise TypeError(f"cannot hand out a fresh copy of a {kind.__name__}")


def _is_flat(mapping: Mapping[str, Any]) -> bool:
    return all(type(item) in _LEAVES for item in mapping.values())


def _fresh_mapping(mapping: Mapping[str, Any], flat: bool = False) -> FrozenDict:
    copy = _new_mapping(FrozenDict)  # FrozenDict.__init__ would re-freeze values that are frozen already
    _fill(copy, mapping if flat or _is_flat(mapping) else {k: fresh_value(v) for k, v in mapping.items()})
    return copy


def _fresh_record(record: Any) -> Any:
    """A new object of ``record``'s class, built without ``__init__`` (its fields were validated
    when it was decoded), each field fresh."""
    copy = _new_object(type(record))
    _set_field(copy, "__dict__", {name: fresh_value(value) for name, value in vars(record).items()})
    return copy


_FLAT, _RECORDS_TUPLE, _OTHER = "flat mapping", "tuple of records", "other"


class _HeldRecord:
    """A record the process holds, never handed out, and how to copy it quickly: its class, its
    fields, and how to copy each field that is not immutable (a trial's configuration and changes,
    a space's specs and index)."""

    __slots__ = ("copied", "fields", "kind")

    def __init__(self, record: Any) -> None:
        self.kind = type(record)
        self.fields = dict(vars(record))
        copied: list[tuple[str, str, Any]] = []
        for name, value in self.fields.items():
            if _is_immutable(value):
                continue
            if type(value) is FrozenDict and _is_flat(value):
                copied.append((name, _FLAT, value))
            elif type(value) is tuple and all(type(item) in _RECORDS for item in value):
                copied.append((name, _RECORDS_TUPLE, tuple(_HeldRecord(item) for item in value)))
            else:
                copied.append((name, _OTHER, value))
        self.copied = tuple(copied)

    def fresh(self) -> Any:
        fields = self.fields.copy()
        for name, how, value in self.copied:
            if how is _FLAT:
                fields[name] = _fresh_mapping(value, True)
            elif how is _RECORDS_TUPLE:
                fields[name] = tuple(held.fresh() for held in value)
            else:
                fields[name] = fresh_value(value)
        copy = _new_object(self.kind)
        _set_field(copy, "__dict__", fields)
        return copy


class ArgumentReceiver:
    """The mechanism-process side: decode a call's arguments, keeping the held records private."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.generation = 0
        self._trials: tuple[_HeldRecord, ...] = ()
        self._space: _HeldRecord | None = None
        self._config: _HeldRecord | None = None

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
                new = tuple(_HeldRecord(Trial.from_dict(data)) for data in value["trials"])
                shown = trials[:keep] + new
                if new:
                    trials = shown
                decoded.append(TraceView(tuple(t.fresh() for t in shown), minimize=bool(value["minimize"])))
            elif kind == "held-space":
                if value is not None:
                    space = _HeldRecord(SearchSpace.from_dict(value))
                elif space is None:
                    raise HeldArgumentsMiss("the request refers to a held search space; none is held")
                decoded.append(space.fresh())
            elif kind == "held-config":
                if value is not None:
                    config = _HeldRecord(SearchConfig.from_dict(value))
                elif config is None:
                    raise HeldArgumentsMiss("the request refers to a held search config; none is held")
                decoded.append(config.fresh())
            else:
                decoded.append(decode_argument(tagged))
        if trials is not self._trials or space is not self._space or config is not self._config:
            self._trials, self._space, self._config = trials, space, config
            self.generation += 1
        return decoded
