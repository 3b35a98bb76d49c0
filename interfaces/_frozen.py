"""A read-only mapping that pickles, hashes and serialises to JSON.

Records that cross a boundary (to a trial subprocess, to the mechanism host,
to the store) carry configurations and changes as mappings. ``FrozenDict`` is a
``dict`` so ``json.dumps`` and ``isinstance(x, dict)`` keep working, but every
mutating method raises, so no receiver can change what the sender owns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

__all__ = ["FrozenDict", "freeze"]


def _readonly(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise TypeError("FrozenDict is read-only; build a new one with dict(x, key=value)")


class FrozenDict(dict):
    """An immutable ``dict``. Values are frozen recursively by :func:`freeze`."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        for key, value in dict(*args, **kwargs).items():
            dict.__setitem__(self, key, freeze(value))

    __setitem__ = _readonly
    __delitem__ = _readonly
    clear = _readonly
    pop = _readonly
    popitem = _readonly
    setdefault = _readonly
    update = _readonly
    __ior__ = _readonly

    def __missing__(self, key: Any) -> Any:
        # The note names what is there, for whoever reads the error (a mechanism's author reads it in
        # the sandbox's call-raised message); the error itself is the KeyError a dict raises.
        error = KeyError(key)
        keys = [repr(k) for k in list(self)[:24]]
        error.add_note(f"the keys are: {', '.join(keys)}" if keys else "it is empty")
        raise error

    # dict declares itself unhashable (``__hash__ = None``); a frozen one is hashable, hence the override.
    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))

    def __copy__(self) -> FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> FrozenDict:
        return self

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"


def freeze(value: Any) -> Any:
    """Return an immutable equivalent: dicts become FrozenDict, lists tuples."""
    if isinstance(value, FrozenDict):
        return value
    if isinstance(value, Mapping):
        return FrozenDict(value)
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Inverse of :func:`freeze` for JSON: mappings to dicts, tuples to lists."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


def _pairs(items: Iterable[tuple[str, Any]]) -> FrozenDict:
    return FrozenDict(dict(items))
