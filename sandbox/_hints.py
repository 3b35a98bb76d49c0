"""What to add to an exception's message so that its author can fix the call.

A small model that writes a mechanism guesses at the objects it is handed:
``trace.changes``, ``config["active"]``, ``spec.value``. Python's own message
names the attribute that is missing but not the ones that exist, so a repair
guesses again. :func:`hint` appends what the failing object does have (or,
for a name, the nearest name the module defines), computed where the object
lives: in the mechanism process, after the call has failed.

Only public names are listed (nothing starting with ``_``), at most
``_NAMES``, and any failure to compute a hint yields no hint: it must never
turn one error into another.
"""

from __future__ import annotations

import builtins
import dataclasses
import difflib
import inspect
import itertools
import re
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

import interfaces

__all__ = ["hint"]

_NAMES = 24
_VALUE_CHARS = 60
_PLAIN = (str, bytes, int, float, bool, type(None), tuple, list, set, frozenset)
# "'SearchConfig' object is not subscriptable", "... is not iterable": the object is gone by now,
# so the type is found by name among the interface records the mechanism is handed.
_TYPE_ERROR = re.compile(r"^'(\w+)' object is not (subscriptable|iterable)")
# "was_tried() takes 3 positional arguments but 4 were given", "step() got an unexpected keyword argument".
_CALL_ERROR = re.compile(r"^(\w+)\(\) (takes|got|missing)")


def hint(error: BaseException, module_file: str) -> str:
    """A short clause to append to ``error``'s message, or ``""``.

    ``module_file`` is the mechanism's code object filename (``<name>``): a
    NameError's suggestions come from the globals of its innermost frame there.
    """
    try:
        notes = getattr(error, "__notes__", None)
        if type(notes) is list and notes and all(type(n) is str for n in notes):
            return "; " + "; ".join(notes)[:300]   # the raiser said what is there (FrozenDict, SearchSpace)
        if isinstance(error, AttributeError):
            return _attribute_hint(error)
        if isinstance(error, NameError):
            return _name_hint(error, module_file)
        if isinstance(error, TypeError):
            return _type_hint(str(error)) or _call_hint(error, module_file)
    except BaseException:  # noqa: BLE001 - a hint is a courtesy (and a hostile __dir__ or __iter__ may
        # raise anything); the original error stands without one
        return ""
    return ""


def _attribute_hint(error: AttributeError) -> str:
    obj, name = getattr(error, "obj", None), getattr(error, "name", None)
    if obj is None or type(name) is not str:
        return ""
    kind = type(obj).__name__
    if isinstance(obj, Mapping) and type(obj) is not type:
        keys = [k for k in itertools.islice(iter(obj), _NAMES) if type(k) is str]
        listed = ", ".join(repr(k) for k in keys) or "nothing"
        return f"; it is a {kind}: read its values by key, obj[key] or obj.get(key); its keys: {listed}"
    if isinstance(obj, _PLAIN):
        return f"; it is a {kind}, {_short(obj)}, not an object with attributes"
    names = _public(obj)
    return _suggest(name, names) + f"; a {kind} has: {', '.join(names[:_NAMES]) or 'no public attributes'}"


def _name_hint(error: NameError, module_file: str) -> str:
    name = getattr(error, "name", None)
    frame = _innermost(error.__traceback__, module_file)
    if type(name) is not str or frame is None:
        return ""
    known = [n for n in frame.tb_frame.f_globals if not n.startswith("_")]
    known += [n for n in frame.tb_frame.f_locals if not n.startswith("_")]
    return _suggest(name, known + dir(builtins))


def _type_hint(message: str) -> str:
    match = _TYPE_ERROR.match(message)
    if match is None:
        return ""
    record = getattr(interfaces, match.group(1), None)
    if not (isinstance(record, type) and dataclasses.is_dataclass(record)):
        return ""
    fields = [f.name for f in dataclasses.fields(record) if not f.name.startswith("_")]
    methods = [n for n in _public(record) if n not in fields]
    return (f"; a {record.__name__} is a record: read its attributes, such as obj.{fields[0]}; "
            f"it has: {', '.join((fields + methods)[:_NAMES])}") if fields else ""


def _call_hint(error: TypeError, module_file: str) -> str:
    """A function of the module called with the wrong arguments: its signature."""
    match = _CALL_ERROR.match(str(error))
    frame = _innermost(error.__traceback__, module_file)
    if match is None or frame is None:
        return ""
    function = frame.tb_frame.f_globals.get(match.group(1))
    if not inspect.isfunction(function) or function.__code__.co_filename != module_file:
        return ""   # only the module's own functions (the helpers among them), never a library's internals
    return f"; its signature is {match.group(1)}{inspect.signature(function)}"


def _public(obj: Any) -> list[str]:
    names = [n for n in dir(obj) if type(n) is str and not n.startswith("_")]
    if dataclasses.is_dataclass(obj):   # fields first: they are what a mechanism most often wants
        fields = [f.name for f in dataclasses.fields(obj) if not f.name.startswith("_")]
        names = fields + [n for n in names if n not in fields]
    return names


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(dict.fromkeys(known)), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _VALUE_CHARS else text[:_VALUE_CHARS] + "..."


def _innermost(trace: TracebackType | None, module_file: str) -> TracebackType | None:
    found = None
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == module_file:
            found = trace
        trace = trace.tb_next
    return found
