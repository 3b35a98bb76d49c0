"""Auditing: run a library source through the whole admission pipeline again.

An audit admits the source file exactly as stored (the bytes the manifest's
digest covers) with the real sandbox, turns the verdict into an admission
record and says which of its fields differ from the record in the manifest.
A different verdict is what an audit is for: a sandbox upgrade that now
refuses a mechanism, or a source edited since it was last admitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from interfaces import freeze, thaw

from ._catalog import Entry, check_hook, source_digest
from ._errors import LibraryError
from ._manifest import today, update_manifest

__all__ = ["COMPARED_FIELDS", "AuditResult", "FieldChange", "admission_record", "audit", "audit_all", "audit_source",
           "store_admission"]

# What an audit compares with the stored record. The date is left out: a
# re-audit on another day with the same verdict is no change.
COMPARED_FIELDS = ("admitted", "sandbox_version", "source_sha256", "stages", "violation_codes", "property_tests")


@dataclass(frozen=True)
class FieldChange:
    """One compared field whose value differs from the stored admission record."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class AuditResult:
    """A fresh admission of one library entry, next to what its manifest recorded."""

    name: str
    admitted: bool
    record: Mapping[str, Any]  # the new admission record, as a manifest stores it
    previous: Mapping[str, Any] | None  # the manifest's record, None if never audited
    changes: tuple[FieldChange, ...]
    feedback: str  # the sandbox's violations and counterexample, for a person

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "admitted": self.admitted,
            "record": thaw(self.record),
            "previous": thaw(self.previous),
            "changes": [{"field": c.field, "before": thaw(c.before), "after": thaw(c.after)} for c in self.changes],
            "feedback": self.feedback,
        }


def admission_record(admission: Any, hook: str, max_examples: int, date: str | None = None) -> dict[str, Any]:
    """A :class:`sandbox.Admission` as a manifest stores it: no timings, nothing that varies between
    two audits of the same source by the same sandbox, so records can be compared field by field."""
    verify = next((s for s in admission.stages if s.stage == "verify"), None)
    return {
        "admitted": bool(admission.admitted),
        "sandbox_version": admission.sandbox_version,
        "source_sha256": admission.digest,
        "stages": [{"stage": s.stage, "ok": bool(s.ok)} for s in admission.stages],
        "violations": [{"code": v.code, "line": v.line, "message": v.message} for v in admission.violations],
        "property_tests": {
            "suite": hook,
            "max_examples": max_examples,
            "ran": verify is not None,
            "passed": bool(verify is not None and verify.ok),
            "counterexample": admission.counterexample,
        },
        "date": date or today(),
    }


def _compared(record: Mapping[str, Any] | None) -> dict[str, Any]:
    record = record or {}
    values = {f: thaw(record.get(f)) for f in COMPARED_FIELDS if f != "violation_codes"}
    values["violation_codes"] = [v.get("code") for v in record.get("violations") or () if isinstance(v, Mapping)]
    return values


def compare(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    before, after = _compared(previous), _compared(current)
    return tuple(FieldChange(f, before[f], after[f]) for f in COMPARED_FIELDS if before[f] != after[f])


def audit_source(name: str, hook: str, source: str, *, previous: Mapping[str, Any] | None = None,
                 max_examples: int | None = None) -> AuditResult:
    """Admit ``source``, unchanged, for ``hook`` with the real sandbox; compare with ``previous``."""
    from sandbox import Limits, admit

    check_hook(hook)
    limits = Limits() if max_examples is None else Limits(max_examples=max_examples)
    admission = admit(source, hook, limits=limits)
    if admission.digest != source_digest(source):  # the sandbox must have judged these exact bytes
        raise LibraryError(f"{name}: the sandbox judged a different text than the file holds", code="digest-mismatch")
    record = admission_record(admission, hook, limits.max_examples)
    return AuditResult(name, bool(admission.admitted), freeze(record), previous, compare(previous, record),
                       admission.feedback())


def audit(entry: Entry, *, max_examples: int | None = None) -> AuditResult:
    """Admit ``entry``'s source file as stored and compare with the record in its manifest."""
    previous = entry.manifest.get("admission")
    return audit_source(entry.name, entry.hook, entry.source,
                        previous=previous if isinstance(previous, Mapping) else None, max_examples=max_examples)


def audit_all(entries: Iterable[Entry], *, jobs: int = 1, max_examples: int | None = None) -> list[AuditResult]:
    """Audit several entries; ``jobs`` admissions at once (each verifies in its own child process)."""
    entries = list(entries)
    if jobs < 1:
        raise LibraryError(f"jobs must be at least 1, got {jobs}", code="bad-jobs")
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda e: audit(e, max_examples=max_examples), entries))


def store_admission(entry: Entry, result: AuditResult) -> None:
    """Write ``result``'s record into the entry's manifest (``audit --write``)."""
    if result.name != entry.name:
        raise LibraryError(f"an audit of {result.name} cannot be stored for {entry.name}", code="wrong-entry")

    def change(manifest: dict[str, Any]) -> None:
        manifest["admission"] = thaw(result.record)

    update_manifest(entry.path.with_suffix(".json"), change)

