"""The restricted run-time environment: the real boundary.

RestrictedPython rewrites attribute access, item access, iteration and writes
into calls of the guards defined here; whatever these guards and the curated
modules expose is what untrusted code can reach. Every allowed module is
handed over as a fresh module object holding only its exported names, so
``dataclasses.sys`` or ``random._inst`` simply do not exist for the code.
"""

from __future__ import annotations

import builtins
import importlib
import operator
import types
from collections import Counter, OrderedDict, defaultdict, deque
from typing import Any, Callable, Mapping

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from ._policy import FRAME_ATTRIBUTES, Policy

__all__ = ["SandboxViolation", "build_globals", "guarded_getattr"]


class SandboxViolation(Exception):
    """Raised inside restricted code when it reaches for something off limits."""


_BUILTIN_NAMES = (
    "None", "True", "False", "Ellipsis", "NotImplemented", "abs", "all", "any", "bool", "callable", "chr",
    "dict", "divmod", "enumerate", "filter", "float", "format", "frozenset", "hash", "int", "isinstance",
    "issubclass", "iter", "len", "list", "map", "max", "min", "next", "object", "ord", "pow", "property",
    "range", "repr", "reversed", "round", "set", "slice", "sorted", "staticmethod", "str", "sum", "tuple",
    "zip", "ArithmeticError", "AssertionError", "AttributeError", "Exception", "IndexError", "KeyError",
    "LookupError", "NotImplementedError", "OverflowError", "RuntimeError", "StopIteration", "TypeError",
    "ValueError", "ZeroDivisionError",
)

_WRITABLE_CONTAINERS = (dict, list, set, deque, Counter, OrderedDict, defaultdict, bytearray)

# A superset of RestrictedPython's safer_getattr rules (underscores, its
# inspect attributes, str.format) applied to every object, checked inline
# because attribute access is the hottest path of restricted code.
_UNSAFE_NAMES = FRAME_ATTRIBUTES | INSPECT_ATTRIBUTES | {"format", "format_map"}


def _check_attribute_name(name: object) -> str:
    if type(name) is not str:
        raise SandboxViolation("attribute names must be plain strings")
    if name.startswith("_") or name in _UNSAFE_NAMES:
        raise SandboxViolation(f"attribute {name!r} is off limits")
    return name


_MISSING = object()


def guarded_getattr(obj: Any, name: Any, default: Any = _MISSING) -> Any:
    """``getattr`` that refuses private, frame and format attributes and any
    module member outside the curated exports."""
    if type(name) is not str or name[:1] == "_" or name in _UNSAFE_NAMES:
        _check_attribute_name(name)
    if type(obj) is types.ModuleType and name not in getattr(obj, "__all__", ()):
        raise SandboxViolation(f"{obj.__name__}.{name} is not available")
    if default is _MISSING:
        return getattr(obj, name)
    return getattr(obj, name, default)


def _guarded_hasattr(obj: Any, name: Any) -> bool:
    try:
        guarded_getattr(obj, name)
    except (AttributeError, SandboxViolation):
        return False
    return True


def _safe_attrgetter(*names: str) -> Callable[[Any], Any]:
    for dotted in names:
        for part in str(dotted).split("."):
            _check_attribute_name(part)
    return operator.attrgetter(*names)


def _safe_methodcaller(name: str, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
    _check_attribute_name(name)
    return operator.methodcaller(name, *args, **kwargs)


_OVERRIDES: Mapping[tuple[str, str], Any] = {
    ("operator", "attrgetter"): _safe_attrgetter,
    ("operator", "methodcaller"): _safe_methodcaller,
}


def curated_module(name: str, exports: frozenset[str]) -> types.ModuleType:
    """A fresh module object holding only ``exports`` of the real module."""
    real = importlib.import_module(name)
    proxy = types.ModuleType(name)
    for member in sorted(exports):
        setattr(proxy, member, _OVERRIDES.get((name, member), getattr(real, member)))
    proxy.__all__ = tuple(sorted(exports))
    return proxy


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
    "@=": operator.imatmul,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    try:
        return _INPLACE[op](target, value)
    except KeyError:
        raise SandboxViolation(f"operator {op} is not supported") from None


def _augattr(op: str, owner: Any, name: str, value: Any) -> None:
    """``owner.name op= value``; ``owner`` has already passed ``_write_``."""
    setattr(owner, _check_attribute_name(name), _inplacevar(op, guarded_getattr(owner, name), value))


def _augitem(op: str, owner: Any, key: Any, value: Any) -> None:
    """``owner[key] op= value``; ``owner`` has already passed ``_write_``."""
    owner[key] = _inplacevar(op, owner[key], value)


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def build_globals(name: str, policy: Policy) -> dict[str, Any]:
    """Fresh globals for one restricted module named ``name``."""
    modules = {module: curated_module(module, exports) for module, exports in policy.modules.items()}
    modules["__future__"] = curated_module("__future__", frozenset({"annotations"}))

    def restricted_import(module: str, globals_: Any = None, locals_: Any = None, fromlist: Any = (),
                          level: int = 0) -> types.ModuleType:
        if level != 0 or module not in modules:
            raise ImportError(f"import of {module!r} is not allowed")
        return modules[module]

    def write_guard(obj: Any) -> Any:
        # Writes go only to the code's own objects and to plain containers, never
        # to a module, a shared class or an engine-owned record.
        owner = obj if isinstance(obj, type) else type(obj)
        if owner.__module__ == name and not isinstance(obj, types.ModuleType):
            return obj
        if not isinstance(obj, type) and isinstance(obj, _WRITABLE_CONTAINERS):
            return obj
        raise SandboxViolation(f"cannot modify a {owner.__name__} object that the mechanism did not create")

    safe_builtins = {n: getattr(builtins, n) for n in _BUILTIN_NAMES}
    safe_builtins.update(
        __build_class__=builtins.__build_class__,
        __import__=restricted_import,
        getattr=guarded_getattr,
        hasattr=_guarded_hasattr,
    )
    return {
        "__builtins__": safe_builtins,
        "__name__": name,
        "__metaclass__": type,
        "_getattr_": guarded_getattr,
        "_getitem_": operator.getitem,
        "_getiter_": iter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": write_guard,
        "_inplacevar_": _inplacevar,
        "_augattr_": _augattr,
        "_augitem_": _augitem,
        "_print_": PrintCollector,
        "_apply_": _apply,
    }
