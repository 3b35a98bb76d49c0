"""Parameter specs and the search space a proposal is validated against.

A value is one of the literal kinds a hyperparameter block holds: ``bool``,
``int``, ``float``, ``str`` or a tuple of those. A :class:`SearchSpace`
validates a change set and says precisely what is wrong, one
:class:`SpaceViolation` per problem, each with a stable code:

``unknown-parameter``, ``locked-parameter``, ``frozen-parameter``,
``wrong-type``, ``out-of-bounds``, ``not-a-choice``, ``not-finite``,
``empty-proposal``, ``no-change``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ._frozen import FrozenDict

__all__ = [
    "Value",
    "ParamKind",
    "ParamSpec",
    "SearchSpace",
    "SpaceViolation",
]

Value = bool | int | float | str | tuple


class ParamKind(str, enum.Enum):
    FLOAT = "float"
    INT = "int"
    CHOICE = "choice"
    BOOL = "bool"


@dataclass(frozen=True)
class SpaceViolation:
    """One thing wrong with a proposed change. ``code`` is stable."""

    code: str
    parameter: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class ParamSpec:
    """One searchable parameter.

    ``low``/``high`` bound FLOAT and INT parameters (inclusive); ``choices``
    lists the allowed values of a CHOICE parameter; ``log`` says the natural
    steps are multiplicative; a ``locked`` parameter keeps its default forever
    (Level 1.5 cannot unlock it).
    """

    name: str
    kind: ParamKind
    default: Value
    low: float | None = None
    high: float | None = None
    choices: tuple[Value, ...] = ()
    log: bool = False
    locked: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ParamKind(self.kind))
        object.__setattr__(self, "choices", tuple(self.choices))
        if not self.name:
            raise ValueError("a parameter needs a name")
        if self.kind in (ParamKind.FLOAT, ParamKind.INT):
            if self.low is None or self.high is None:
                raise ValueError(f"{self.name}: numeric parameters need low and high")
            if self.low > self.high:
                raise ValueError(f"{self.name}: low {self.low} > high {self.high}")
            if self.log and self.low <= 0:
                raise ValueError(f"{self.name}: a log-scale parameter needs low > 0")
        if self.kind is ParamKind.CHOICE and not self.choices:
            raise ValueError(f"{self.name}: a choice parameter needs choices")
        problem = self.check(self.default)
        if problem is not None:
            raise ValueError(f"{self.name}: default is invalid: {problem.message}")

    def check(self, value: Any) -> SpaceViolation | None:
        """Return why ``value`` is not allowed for this parameter, or None."""
        name = self.name
        if self.kind is ParamKind.BOOL:
            if not isinstance(value, bool):
                return SpaceViolation("wrong-type", name, f"{name} must be true or false, got {value!r}")
            return None
        if self.kind is ParamKind.CHOICE:
            if value not in self.choices or type(value) not in {type(c) for c in self.choices}:
                allowed = ", ".join(repr(c) for c in self.choices)
                return SpaceViolation("not-a-choice", name, f"{name} must be one of {allowed}; got {value!r}")
            return None
        if not _is_number(value):
            return SpaceViolation("wrong-type", name, f"{name} must be a {self.kind.value}, got {value!r}")
        if self.kind is ParamKind.INT and not isinstance(value, int):
            return SpaceViolation("wrong-type", name, f"{name} must be an integer, got {value!r}")
        if not math.isfinite(value):
            return SpaceViolation("not-finite", name, f"{name} must be finite, got {value!r}")
        assert self.low is not None and self.high is not None
        if not (self.low <= value <= self.high):
            return SpaceViolation(
                "out-of-bounds", name, f"{name}={value!r} is outside [{self.low}, {self.high}]"
            )
        return None

    def coerce(self, value: Any) -> Any:
        """Lenient conversion of an LLM's value (``"0.04"``, ``2.0`` for an int).

        Returns the converted value, or the input unchanged when it cannot be
        converted safely; :meth:`check` then reports the problem. Strings are
        never evaluated: only ``float()``/``int()`` parsing of plain numerals
        (a tuple choice written as ``"0.9, 0.95"`` is the choice of those numbers).
        """
        if self.kind is ParamKind.FLOAT and isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                return value
        if self.kind is ParamKind.FLOAT and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if self.kind is ParamKind.INT:
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                return int(value.strip())
        if self.kind is ParamKind.BOOL and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "false"):
                return lowered == "true"
        if self.kind is ParamKind.CHOICE and isinstance(value, list):
            return tuple(value)
        if self.kind is ParamKind.CHOICE and isinstance(value, str) and value not in self.choices:
            return self._choice_spelled(value)
        return value

    def _choice_spelled(self, text: str) -> Any:
        """A tuple choice written as text (``"0.85, 0.9"``, ``"(0.85, 0.9)"``, ``"[0.85, 0.9]"``): the
        choice whose numbers those are, or ``text`` unchanged. Only ``float()`` parses the parts."""
        parts = text.strip().strip("()[]").split(",")
        try:
            numbers = tuple(float(part) for part in parts)
        except ValueError:
            return text
        for choice in self.choices:
            if (isinstance(choice, tuple) and len(choice) == len(numbers)
                    and all(_is_number(x) and float(x) == n for x, n in zip(choice, numbers, strict=True))):
                return choice
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "default": _jsonable(self.default),
            "low": self.low,
            "high": self.high,
            "choices": [_jsonable(c) for c in self.choices],
            "log": self.log,
            "locked": self.locked,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ParamSpec:
        return cls(
            name=data["name"],
            kind=ParamKind(data["kind"]),
            default=_unjson(data["default"]),
            low=data.get("low"),
            high=data.get("high"),
            choices=tuple(_unjson(c) for c in data.get("choices", ())),
            log=bool(data.get("log", False)),
            locked=bool(data.get("locked", False)),
            description=data.get("description", ""),
        )


def _jsonable(value: Any) -> Any:
    return list(_jsonable(v) for v in value) if isinstance(value, tuple) else value


def _unjson(value: Any) -> Any:
    return tuple(_unjson(v) for v in value) if isinstance(value, list) else value


@dataclass(frozen=True)
class SearchSpace:
    """An ordered, immutable set of :class:`ParamSpec`.

    Order matters: it is the order parameters are shown to the LLM and to
    mechanisms. Use :meth:`validate` on every change set before it is applied.
    """

    params: tuple[ParamSpec, ...]
    _index: FrozenDict = field(default_factory=FrozenDict, repr=False, compare=False)

    def __post_init__(self) -> None:
        params = tuple(self.params)
        object.__setattr__(self, "params", params)
        names = [p.name for p in params]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"duplicate parameter names: {', '.join(duplicated)}")
        object.__setattr__(self, "_index", FrozenDict({p.name: i for i, p in enumerate(params)}))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __getitem__(self, name: str) -> ParamSpec:
        try:
            return self.params[self._index[name]]
        except KeyError:
            error = KeyError(f"unknown parameter {name!r}")
            error.add_note(f"the space has: {', '.join(self.names[:24])}; check `name in space` first")
            raise error from None

    def __len__(self) -> int:
        return len(self.params)

    # A space reads like a mapping from name to spec (``space[name]``, ``name in space``), so it answers
    # the mapping methods too; iterating it yields the specs, in order.
    def keys(self) -> tuple[str, ...]:
        return self.names

    def values(self) -> tuple[ParamSpec, ...]:
        return self.params

    def items(self) -> tuple[tuple[str, ParamSpec], ...]:
        return tuple((p.name, p) for p in self.params)

    def __iter__(self) -> Iterator[ParamSpec]:
        return iter(self.params)

    def defaults(self) -> FrozenDict:
        """The baseline configuration: every parameter at its default."""
        return FrozenDict({p.name: p.default for p in self.params})

    def searchable(self) -> tuple[str, ...]:
        """Names of parameters that are not locked."""
        return tuple(p.name for p in self.params if not p.locked)

    def coerce(self, changes: Mapping[str, Any]) -> FrozenDict:
        """Leniently convert raw values (see :meth:`ParamSpec.coerce`)."""
        return FrozenDict(
            {k: self[k].coerce(v) if k in self else v for k, v in changes.items()}
        )

    def validate(
        self,
        changes: Mapping[str, Any],
        *,
        current: Mapping[str, Any] | None = None,
        frozen: Iterable[str] = (),
    ) -> tuple[SpaceViolation, ...]:
        """Every reason ``changes`` cannot be applied; empty when it can.

        ``current`` is the configuration the changes apply to (to detect
        changes that change nothing); ``frozen`` names parameters that Level
        1.5 has frozen for now.
        """
        problems: list[SpaceViolation] = []
        frozen_set = set(frozen)
        if not changes:
            problems.append(SpaceViolation("empty-proposal", "", "the proposal changes nothing"))
        for name, value in changes.items():
            if name not in self:
                known = ", ".join(self.names)
                problems.append(
                    SpaceViolation("unknown-parameter", name, f"{name!r} is not a parameter; known: {known}")
                )
                continue
            spec = self[name]
            if spec.locked:
                problems.append(SpaceViolation("locked-parameter", name, f"{name} is locked and cannot change"))
                continue
            if name in frozen_set:
                problems.append(SpaceViolation("frozen-parameter", name, f"{name} is frozen by the search config"))
                continue
            problem = spec.check(value)
            if problem is not None:
                problems.append(problem)
        if (current is not None and changes and not problems
                and all(current.get(k) == v and type(current.get(k)) is type(v) for k, v in changes.items())):
            problems.append(SpaceViolation("no-change", "", "every proposed value equals the current one"))
        return tuple(problems)

    def with_params(self, *specs: ParamSpec) -> SearchSpace:
        """A copy with the given specs replacing those of the same name."""
        by_name = {s.name: s for s in specs}
        return SearchSpace(tuple(by_name.get(p.name, p) for p in self.params))

    def lock(self, *names: str) -> SearchSpace:
        return self.with_params(*(replace(self[n], locked=True) for n in names))

    def to_dict(self) -> dict[str, Any]:
        return {"params": [p.to_dict() for p in self.params]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SearchSpace:
        return cls(tuple(ParamSpec.from_dict(p) for p in data["params"]))
