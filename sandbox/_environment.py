"""The restricted run-time environment: the real boundary.

RestrictedPython rewrites attribute access, item access, iteration and writes
into calls of the guards defined here; whatever these guards and the curated
modules expose is what untrusted code can reach. Every allowed module is
handed over as a fresh module object holding only its exported names, so
``dataclasses.sys`` or ``random._inst`` simply do not exist for the code.

Two rules hold for every function here that untrusted code can call:

- An argument that names something (an attribute, a field, a format field) is
  turned into an exact ``str`` from its own characters before it is checked,
  and the checked value is the one used. ``str(x)`` is never trusted: a
  str-mixin enum member prints as ``K.G`` while its characters spell
  ``__globals__``.
- Look-ups by name on arbitrary objects go through the module's own
  ``_getattr_``, never through a C function that would skip it.
"""

from __future__ import annotations

import builtins
import collections
import dataclasses
import enum
import functools
import importlib
import operator
import string
import types
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import Callable, Mapping
from typing import Any

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from ._policy import FRAME_ATTRIBUTES, Policy, is_private_name

__all__ = ["SandboxViolation", "build_globals", "exact_str", "make_getattr", "guarded_getattr"]


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

# Refused on every object: frame and code attributes (a superset of RestrictedPython's
# inspect attributes) and ``format_map``, whose mapping argument could be anything.
_REFUSED_NAMES = FRAME_ATTRIBUTES | INSPECT_ATTRIBUTES | {"format_map"}
# Names with a rule of their own, checked off the hot path together with underscores:
# ``format`` (a checked version for strings) and ``register`` (shared abstract base classes).
_SPECIAL_NAMES = _REFUSED_NAMES | {"format", "register"}
# dict's mutating methods, read off a class (``dict.update(record.config, ...)``): called unbound they
# write into any dict, the frozen mappings of the records included, past FrozenDict's own refusals.
# Read off an instance (``self.memory.update(...)``) they stay available.
_UNBOUND_DICT_WRITES = frozenset({"update", "setdefault", "pop", "popitem", "clear"})

_MISSING = object()
_class_dict = type.__dict__["__dict__"].__get__  # a class's own namespace, whatever its metaclass says
_class_mro = type.__dict__["__mro__"].__get__


def exact_str(value: Any, what: str) -> str:
    """``value`` as an exact ``str`` built from its own characters.

    A str subclass (a str-mixin enum member, a class of the mechanism's) is
    copied; its ``__str__`` and its methods are never consulted. Anything
    that is not a str at all is a :class:`SandboxViolation`."""
    if type(value) is str:
        return value
    try:
        return "".join([value])  # join reads the characters; it refuses non-str by the real type
    except TypeError:
        raise SandboxViolation(f"{what} must be a string, not {type(value).__name__}") from None


def _is_own_class(cls: Any, module_name: str) -> bool:
    """True if ``cls`` is a class whose body ran in module ``module_name``."""
    return issubclass(type(cls), type) and _class_dict(cls).get("__module__") == module_name


def _is_data_descriptor(value: Any) -> bool:
    return any("__set__" in _class_dict(c) or "__delete__" in _class_dict(c) for c in _class_mro(type(value)))


def _defining_class(mro: tuple, name: str) -> Any:
    for cls in mro:
        if name in _class_dict(cls):
            return cls
    return None


def _instance_dict(obj: Any) -> dict | None:
    try:
        namespace = object.__getattribute__(obj, "__dict__")
    except (AttributeError, TypeError):
        return None
    return namespace if type(namespace) is dict else None


def _private_source(obj: Any, name: str, module_name: str) -> str | None:
    """Where ordinary attribute look-up finds ``name`` on ``obj``: ``"own"``
    (the instance dict of an object of a class the mechanism defined, or the
    namespace of such a class), ``"foreign"`` (anywhere else), or ``None``
    when it is not found but ``obj`` is the mechanism's own. The order follows
    ``object.__getattribute__`` and ``type.__getattribute__``: data
    descriptors of the type first, then the instance (or class) namespaces,
    then the rest of the type."""
    owned = lambda cls: _class_dict(cls).get("__module__") == module_name  # noqa: E731
    if issubclass(type(obj), type):  # a class: the metaclass is never the mechanism's
        meta = _defining_class(_class_mro(type(obj)), name)
        if meta is not None and _is_data_descriptor(_class_dict(meta)[name]):
            return "foreign"
        owner = _defining_class(_class_mro(obj), name)
        if owner is not None:
            return "own" if owned(owner) else "foreign"
        if meta is not None or not any(owned(c) for c in _class_mro(obj)):
            return "foreign"
        return None
    mro = _class_mro(type(obj))
    if any(type(_class_dict(c).get("__getattribute__")) is types.FunctionType for c in mro):
        return "foreign"  # a Python-level __getattribute__ could answer anything
    owner = _defining_class(mro, name)
    if owner is not None and _is_data_descriptor(_class_dict(owner)[name]):
        return "own" if owned(owner) else "foreign"
    namespace = _instance_dict(obj)
    if namespace is not None and name in namespace:
        return "own" if owned(type(obj)) else "foreign"
    if owner is not None:
        return "own" if owned(owner) else "foreign"
    return None if any(owned(c) for c in mro) else "foreign"


# -- str.format with plain fields only ------------------------------------------------------------

_FORMATTER = string.Formatter()


def _check_template(template: str, depth: int = 0) -> None:
    """Refuse attribute (``{0.x}``) and index (``{0[x]}``) access in any field
    of ``template``, nested fields inside format specs (``{:{w}}``) included."""
    if depth > 2:  # str.format itself allows two levels
        raise SandboxViolation("format fields nest too deeply")
    for _text, field, spec, _conversion in _FORMATTER.parse(template):
        if field is not None and ("." in field or "[" in field):
            raise SandboxViolation(f"format field {{{field}}} reaches into an argument; format only whole "
                                   "arguments ({0}, {name}, {:.3g}) or use an f-string")
        if spec:
            _check_template(spec, depth + 1)


def safe_format(template: Any, /, *args: Any, **kwargs: Any) -> str:
    """``str.format`` for templates whose fields name whole arguments only."""
    template = exact_str(template, "a format template")
    _check_template(template)
    return template.format(*args, **kwargs)


# -- per-module guards -----------------------------------------------------------------------------

def make_getattr(module_name: str) -> Callable[..., Any]:
    """The ``_getattr_`` (and ``getattr`` builtin) of restricted module ``module_name``."""

    def special(obj: Any, name: str, default: Any) -> Any:
        if is_private_name(name):
            source = _private_source(obj, name, module_name)
            if source == "foreign":
                raise SandboxViolation(f"attribute {name!r} is private to {type(obj).__name__}; only objects "
                                       "and classes the mechanism defines have private attributes it can use")
            if source is None:
                if default is not _MISSING:
                    return default
                raise AttributeError(f"{type(obj).__name__!r} object has no attribute {name!r}")
        elif name == "format":
            if issubclass(type(obj), str):
                return functools.partial(safe_format, exact_str(obj, "a format template"))
            if issubclass(type(obj), type) and issubclass(obj, str):
                return safe_format
        elif name == "register":
            if not _is_own_class(obj, module_name):
                raise SandboxViolation("register changes a shared abstract base class for everyone; it is "
                                       "only available on classes the mechanism defines")
        else:
            raise SandboxViolation(f"attribute {name!r} is off limits")
        if type(obj) is types.ModuleType:
            raise SandboxViolation(f"{obj.__name__}.{name} is not available")
        return getattr(obj, name) if default is _MISSING else getattr(obj, name, default)

    def guarded_getattr(obj: Any, name: Any, default: Any = _MISSING) -> Any:
        """``getattr`` that refuses dunder, frame and foreign private attributes
        and any module member outside the curated exports."""
        if type(name) is not str:
            name = exact_str(name, "an attribute name")
        if name[:1] == "_" or name in _SPECIAL_NAMES:
            return special(obj, name, default)
        if type(obj) is types.ModuleType and name not in getattr(obj, "__all__", ()):
            raise SandboxViolation(f"{obj.__name__}.{name} is not available")
        if name in _UNBOUND_DICT_WRITES and isinstance(obj, type) and issubclass(obj, dict):
            raise SandboxViolation(f"{obj.__name__}.{name} called on the class writes into any dict, the "
                                   f"records' included; call it on your own dict: mine.{name}(...)")
        if default is _MISSING:
            return getattr(obj, name)
        return getattr(obj, name, default)

    return guarded_getattr


guarded_getattr = make_getattr("")  # no module owns anything: private names are always refused


def _make_hasattr(getattr_: Callable[..., Any]) -> Callable[[Any, Any], bool]:
    def guarded_hasattr(obj: Any, name: Any) -> bool:
        try:
            getattr_(obj, name)
        except (AttributeError, SandboxViolation):
            return False
        return True

    return guarded_hasattr


def _refuse_unsafe_name(name: str) -> str:
    if name.startswith("__") or (name[:1] == "_" and not is_private_name(name)) or name in _REFUSED_NAMES:
        raise SandboxViolation(f"attribute {name!r} is off limits")
    return name


# -- curated replacements for functions that look things up by name -------------------------------

def _attrgetter_for(module_name: str, getattr_: Callable[..., Any]) -> Callable[..., Any]:
    def attrgetter(*names: Any) -> Callable[[Any], Any]:
        """``operator.attrgetter`` in Python: every step goes through ``_getattr_``."""
        if not names:
            raise TypeError("attrgetter expected 1 argument, got 0")
        dotted_names = [exact_str(dotted, "attrgetter names") for dotted in names]
        paths = tuple(tuple(_refuse_unsafe_name(part) for part in dotted.split(".")) for dotted in dotted_names)

        def get(obj: Any) -> Any:
            values = []
            for path in paths:
                value = obj
                for part in path:
                    value = getattr_(value, part)
                values.append(value)
            return values[0] if len(values) == 1 else tuple(values)

        return get

    return attrgetter


def _methodcaller_for(module_name: str, getattr_: Callable[..., Any]) -> Callable[..., Any]:
    def methodcaller(name: Any, /, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        """``operator.methodcaller`` in Python: the look-up goes through ``_getattr_``."""
        method = _refuse_unsafe_name(exact_str(name, "methodcaller's method name"))

        def call(obj: Any) -> Any:
            return getattr_(obj, method)(*args, **kwargs)

        return call

    return methodcaller


def _namedtuple_for(module_name: str, getattr_: Callable[..., Any]) -> Callable[..., Any]:
    def namedtuple(typename: Any, field_names: Any, *, rename: Any = False, defaults: Any = None) -> type:
        """``collections.namedtuple`` with exact-string names, owned by the calling
        mechanism (``module=`` is not offered: the class is always the mechanism's)."""
        if issubclass(type(field_names), str):
            fields = exact_str(field_names, "field names").replace(",", " ").split()
        else:
            fields = [exact_str(name, "a field name") for name in field_names]
        return collections.namedtuple(exact_str(typename, "a type name"), fields, rename=bool(rename),
                                      defaults=defaults, module=module_name)

    return namedtuple


def _require_own_class(cls: Any, module_name: str, decorator: str) -> None:
    if not _is_own_class(cls, module_name):
        raise SandboxViolation(f"{decorator} changes the class it decorates; apply it only to classes the "
                               "mechanism defines")


def _dataclass_for(module_name: str, getattr_: Callable[..., Any]) -> Callable[..., Any]:
    def dataclass(cls: Any = None, /, **options: Any) -> Any:
        """``dataclasses.dataclass`` for the mechanism's own classes only: applied to
        a shared class it would rewrite that class for every user."""
        if cls is None:
            return functools.partial(dataclass, **options)
        _require_own_class(cls, module_name, "dataclass")
        return dataclasses.dataclass(cls, **options)

    return dataclass


def _total_ordering_for(module_name: str, getattr_: Callable[..., Any]) -> Callable[..., Any]:
    def total_ordering(cls: Any) -> Any:
        """``functools.total_ordering`` for the mechanism's own classes only."""
        _require_own_class(cls, module_name, "total_ordering")
        return functools.total_ordering(cls)

    return total_ordering


class _ClassOnlyEnumType(enum.EnumType):
    """The metaclass of the enum bases handed to mechanisms. Its functional API
    (``Enum('Name', names)``) is refused: the names it takes become class
    attributes unchecked, dunder methods such as ``__reduce_ex__`` included,
    which ``copy`` would then call. Member look-up (``Mode('explore')``) stays."""

    def __call__(cls, value: Any, names: Any = None, *args: Any, **kwargs: Any) -> Any:
        if names is not None or args or kwargs:
            raise SandboxViolation("the functional Enum API is not available; define the enum with a class "
                                   "statement")
        return super().__call__(value)


class Enum(enum.Enum, metaclass=_ClassOnlyEnumType):
    """``enum.Enum`` without the functional API."""


class IntEnum(enum.IntEnum, metaclass=_ClassOnlyEnumType):
    """``enum.IntEnum`` without the functional API."""


class Flag(enum.Flag, metaclass=_ClassOnlyEnumType):
    """``enum.Flag`` without the functional API."""


class IntFlag(enum.IntFlag, metaclass=_ClassOnlyEnumType):
    """``enum.IntFlag`` without the functional API."""


def _shared(value: Any) -> Callable[..., Any]:
    return lambda module_name, getattr_: value


# Replacements, each a factory taking the module name and that module's _getattr_.
# Reviewed and left as they are (what an attacker could pass them, and why it is harmless):
# ``operator.itemgetter`` only subscripts, as ``x[k]`` does, and subscripting never reaches
# attributes; ``functools.partial``/``reduce``/``cmp_to_key``/``lru_cache``/``cache`` only call
# what they are given; ``typing.cast`` returns its argument and ``typing.NamedTuple`` hands
# its names to ``collections.namedtuple``, which refuses anything but identifiers without a
# leading underscore; ``copy``'s ``__reduce_ex__`` path can only call a reducer the class has,
# and a mechanism cannot give a class one (dunder methods are refused and the functional
# Enum API is gone); ``string.capwords``, ``re``, ``statistics``, ``fractions``, ``heapq``,
# ``bisect``, ``itertools`` and ``random.Random`` compute on values, calling at most the
# argument's own methods, which run as restricted code.
_OVERRIDES: Mapping[tuple[str, str], Callable[[str, Callable[..., Any]], Any]] = {
    ("operator", "attrgetter"): _attrgetter_for,
    ("operator", "methodcaller"): _methodcaller_for,
    ("collections", "namedtuple"): _namedtuple_for,
    ("dataclasses", "dataclass"): _dataclass_for,
    ("functools", "total_ordering"): _total_ordering_for,
    ("enum", "Enum"): _shared(Enum),
    ("enum", "IntEnum"): _shared(IntEnum),
    ("enum", "Flag"): _shared(Flag),
    ("enum", "IntFlag"): _shared(IntFlag),
}


def curated_module(name: str, exports: frozenset[str], module_name: str = "",
                   getattr_: Callable[..., Any] = guarded_getattr) -> types.ModuleType:
    """A fresh module object holding only ``exports`` of the real module, with the
    replacements above built for restricted module ``module_name``."""
    real = importlib.import_module(name)
    proxy = types.ModuleType(name)
    for member in sorted(exports):
        override = _OVERRIDES.get((name, member))
        setattr(proxy, member, override(module_name, getattr_) if override else getattr(real, member))
    vars(proxy)["__all__"] = tuple(sorted(exports))
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


def _augitem(op: str, owner: Any, key: Any, value: Any) -> None:
    """``owner[key] op= value``; ``owner`` has already passed ``_write_``."""
    owner[key] = _inplacevar(op, owner[key], value)


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def build_globals(name: str, policy: Policy) -> dict[str, Any]:
    """Fresh globals for one restricted module named ``name``."""
    getattr_ = make_getattr(name)
    modules = {module: curated_module(module, exports, name, getattr_)
               for module, exports in policy.modules.items()}
    modules["__future__"] = curated_module("__future__", frozenset({"annotations"}))

    def restricted_import(module: str, globals_: Any = None, locals_: Any = None, fromlist: Any = (),
                          level: int = 0) -> types.ModuleType:
        if level != 0 or module not in modules:
            raise ImportError(f"import of {module!r} is not allowed")
        return modules[module]

    def write_guard(obj: Any) -> Any:
        # Writes go only to the code's own objects and to plain containers, never
        # to a module, a shared class or an engine-owned record.
        owner = obj if issubclass(type(obj), type) else type(obj)
        if _class_dict(owner).get("__module__") == name and type(obj) is not types.ModuleType:
            return obj
        if not issubclass(type(obj), type) and isinstance(obj, _WRITABLE_CONTAINERS):
            return obj
        raise SandboxViolation(f"cannot modify a {owner.__name__} object that the mechanism did not create")

    def write_private(obj: Any, attribute: str) -> Any:
        # ``obj._x = v`` and ``del obj._x``: only on the mechanism's own objects and
        # classes (plain containers do not count), and never into a private slot or
        # property of a class the mechanism did not define.
        if not is_private_name(attribute):
            raise SandboxViolation(f"attribute {attribute!r} is off limits")
        is_class = issubclass(type(obj), type)
        if not _is_own_class(obj if is_class else type(obj), name):
            raise SandboxViolation(f"cannot set {attribute!r} on an object that the mechanism did not create")
        owner = _defining_class(_class_mro(obj if is_class else type(obj)), attribute)
        if owner is not None and _class_dict(owner).get("__module__") != name and (
                is_class or _is_data_descriptor(_class_dict(owner)[attribute])):
            raise SandboxViolation(f"attribute {attribute!r} belongs to {owner.__name__}, which the "
                                   "mechanism did not define")
        return obj

    def augattr(op: str, owner: Any, attribute: str, value: Any) -> None:
        """``owner.attribute op= value``; ``owner`` has already passed ``_write_``
        (or ``_write_private_`` for a private attribute)."""
        if attribute[:1] == "_":
            write_private(owner, attribute)
        setattr(owner, attribute, _inplacevar(op, getattr_(owner, attribute), value))

    safe_builtins = {n: getattr(builtins, n) for n in _BUILTIN_NAMES}
    safe_builtins.update(
        __build_class__=builtins.__build_class__,
        __import__=restricted_import,
        getattr=getattr_,
        hasattr=_make_hasattr(getattr_),
    )
    return {
        "__builtins__": safe_builtins,
        "__name__": name,
        "__metaclass__": type,
        "_getattr_": getattr_,
        "_getitem_": operator.getitem,
        "_getiter_": iter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": write_guard,
        "_write_private_": write_private,
        "_inplacevar_": _inplacevar,
        "_augattr_": augattr,
        "_augitem_": _augitem,
        "_print_": PrintCollector,
        "_apply_": _apply,
    }
