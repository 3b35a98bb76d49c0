"""Frozen records returned by every stage; nothing here raises across a boundary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Violation", "StageResult", "Admission", "LoadResult", "CallResult", "Ejection", "CallCounters"]


@dataclass(frozen=True)
class Violation:
    """One reason code was refused. ``code`` is stable kebab-case; ``message``
    says what to do instead, so it can be shown to the model that wrote it."""

    code: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}:{self.col} [{self.code}] {self.message}"


@dataclass(frozen=True)
class StageResult:
    """What one admission stage found. ``value`` carries the stage's product
    (a parse tree, a code object, a module) to the next stage in-process; it is
    excluded from comparisons and never serialised."""

    stage: str
    ok: bool
    duration_s: float
    violations: tuple[Violation, ...] = ()
    details: str = ""
    counterexample: str | None = None
    value: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Admission:
    """The verdict on one source text. ``name`` is derived from the content, so
    the same source always loads under the same module name."""

    admitted: bool
    name: str
    digest: str
    source: str
    protocol: str
    entry_point: str
    stages: tuple[StageResult, ...]
    violations: tuple[Violation, ...]
    counterexample: str | None
    sandbox_version: str

    def feedback(self) -> str:
        """Every violation, one per line, plus the counterexample: text for a model."""
        lines = [str(v) for v in self.violations]
        if self.counterexample:
            lines.append("counterexample:\n" + self.counterexample)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "admitted": self.admitted,
            "name": self.name,
            "digest": self.digest,
            "protocol": self.protocol,
            "entry_point": self.entry_point,
            "stages": [
                {"stage": s.stage, "ok": s.ok, "duration_s": s.duration_s, "details": s.details}
                for s in self.stages
            ],
            "violations": [v.__dict__ for v in self.violations],
            "counterexample": self.counterexample,
            "sandbox_version": self.sandbox_version,
        }


@dataclass(frozen=True)
class LoadResult:
    """The outcome of loading an admitted mechanism into the host.
    ``confinement`` says which kernel layers its process applied to itself
    (``"landlock abi 7, seccomp"``; ``unavailable`` or ``failed`` where the
    machine did not allow one)."""

    ok: bool
    handle: str
    code: str = ""
    message: str = ""
    confinement: str = ""


@dataclass(frozen=True)
class CallResult:
    """The outcome of one hook call in the host. ``value`` is plain data."""

    ok: bool
    value: Any = None
    code: str = ""
    message: str = ""
    duration_s: float = 0.0


@dataclass(frozen=True)
class Ejection:
    """Why a mechanism was removed from the host. Codes: ``call-timeout``,
    ``call-raised``, ``wrong-return-type``, ``missing-method``,
    ``reply-too-large``, ``cpu-limit``, ``host-died``, ``not-reproducible``."""

    handle: str
    name: str
    code: str
    message: str


@dataclass(frozen=True)
class CallCounters:
    """Proof that a mechanism was invoked: calls per method and their fate."""

    handle: str
    calls: int
    ok: int
    failed: int
    total_s: float
    per_method: tuple[tuple[str, int], ...]
