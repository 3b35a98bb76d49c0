"""Loading the library: one ``Entry`` per ``mechanisms/<name>.json`` manifest.

A mechanism is data to the library: its source text is read, never imported
here. Importing untrusted (or not yet audited) code is the sandbox's job.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interfaces import HOOKS, freeze

from ._errors import LibraryError

__all__ = [
    "MECHANISMS_DIR",
    "MANIFEST_FIELDS",
    "ORIGINS",
    "ADMISSION_FIELDS",
    "PERFORMANCE_FIELDS",
    "PROVENANCE_FIELDS",
    "SYMPTOMS",
    "TRANSCRIPT_SUFFIX",
    "Entry",
    "by_hook",
    "catalog",
    "example_for",
    "get",
    "load_entry",
    "manifest_problems",
    "source_digest",
]

MECHANISMS_DIR = Path(__file__).resolve().parent / "mechanisms"

# Every manifest has exactly these top-level fields (see docs/mechanisms.md).
MANIFEST_FIELDS = (
    "name",
    "hook",
    "class_name",
    "description",
    "addresses",
    "origin",
    "provenance",
    "admission",
    "performance",
    "source_sha256",
)
PROVENANCE_FIELDS = ("author", "provider", "model", "run", "session", "transcript", "transcript_sha256", "date")
ADMISSION_FIELDS = (
    "admitted",
    "sandbox_version",
    "source_sha256",
    "stages",
    "violations",
    "property_tests",
    "date",
)
PERFORMANCE_FIELDS = ("run", "mechanism", "delta", "trials_active", "calls", "effects", "verdict")
ORIGINS = ("hand-written", "generated")
# A promoted mechanism's session transcript lies next to it; it is JSON but not a manifest.
TRANSCRIPT_SUFFIX = ".session.json"
# The trace symptoms an entry's ``addresses`` may name (docs/mechanisms.md).
SYMPTOMS = ("repetition", "fixation", "plateau", "noisy-keeps", "cold-start", "exploitation")


@dataclass(frozen=True)
class Entry:
    """One mechanism in the library: its source and its manifest."""

    name: str
    hook: str
    description: str
    addresses: tuple[str, ...]
    source: str
    manifest: Mapping[str, Any]  # a FrozenDict: read-only
    path: Path  # the .py source file

    @property
    def origin(self) -> str:
        return str(self.manifest.get("origin", ""))

    @property
    def admitted(self) -> bool:
        """True once an audit has recorded a successful admission of this exact source."""
        admission = self.manifest.get("admission")
        return (
            isinstance(admission, Mapping)
            and admission.get("admitted") is True
            and admission.get("source_sha256") == source_digest(self.source)
        )


def source_digest(source: str) -> str:
    """sha256 of the source text as stored (UTF-8)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def load_entry(manifest_path: Path) -> Entry:
    """Read one manifest and the source file next to it."""
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise LibraryError(f"{manifest_path.name}: cannot read manifest: {error}", code="bad-manifest") from None
    if not isinstance(data, dict):
        raise LibraryError(f"{manifest_path.name}: a manifest must be a JSON object", code="bad-manifest")
    source_path = manifest_path.with_suffix(".py")
    if not source_path.is_file():
        raise LibraryError(f"{manifest_path.name}: no source file {source_path.name}", code="missing-source")
    return Entry(
        name=str(data.get("name", manifest_path.stem)),
        hook=str(data.get("hook", "")),
        description=str(data.get("description", "")),
        addresses=tuple(str(a) for a in data.get("addresses", ())),
        source=source_path.read_bytes().decode("utf-8"),  # exact bytes: the digest covers them
        manifest=freeze(data),
        path=source_path,
    )


def catalog(directory: Path | None = None) -> tuple[Entry, ...]:
    """Every mechanism in the library, sorted by name."""
    folder = MECHANISMS_DIR if directory is None else Path(directory)
    if not folder.is_dir():
        raise LibraryError(f"library directory {folder} does not exist", code="no-library")
    manifests = [p for p in sorted(folder.glob("*.json")) if not p.name.endswith(TRANSCRIPT_SUFFIX)]
    entries = [load_entry(path) for path in manifests]
    return tuple(sorted(entries, key=lambda e: e.name))


def get(name: str, directory: Path | None = None) -> Entry:
    entries = catalog(directory)
    for entry in entries:
        if entry.name == name:
            return entry
    known = ", ".join(e.name for e in entries) or "(none)"
    raise LibraryError(f"no mechanism named {name!r}; known: {known}", code="unknown-mechanism")


def check_hook(hook: str) -> None:
    if hook not in HOOKS:
        raise LibraryError(f"unknown hook {hook!r}; known hooks: {', '.join(HOOKS)}", code="unknown-hook")


def by_hook(hook: str, directory: Path | None = None) -> tuple[Entry, ...]:
    """Mechanisms implementing ``hook`` (a short hook name such as ``"filter"``)."""
    check_hook(hook)
    return tuple(e for e in catalog(directory) if e.hook == hook)


def example_for(hook: str, directory: Path | None = None) -> Entry:
    """A worked example to show a model writing a mechanism for ``hook``.

    The shortest entry with a clean manifest wins: a short example costs
    fewer prompt tokens and is easier to imitate than a long one.
    """
    candidates = [e for e in by_hook(hook, directory) if not manifest_problems(e)]
    if not candidates:
        raise LibraryError(f"the library has no sound example for hook {hook!r}", code="no-example")
    return min(candidates, key=lambda e: (len(e.source.splitlines()), e.name))


def manifest_problems(entry: Entry) -> list[str]:
    """Everything wrong with an entry's manifest; empty when it is sound."""
    manifest = entry.manifest
    problems = [f"missing field {field!r}" for field in MANIFEST_FIELDS if field not in manifest]
    extra = sorted(set(manifest) - set(MANIFEST_FIELDS))
    problems += [f"unexpected field {field!r}" for field in extra]
    if manifest.get("source_sha256") != source_digest(entry.source):
        problems.append(f"source_sha256 does not match {entry.path.name} (source changed since the manifest)")
    if entry.name != entry.path.stem:
        problems.append(f"name {entry.name!r} does not match the file name {entry.path.stem!r}")
    if entry.hook not in HOOKS:
        problems.append(f"hook {entry.hook!r} is not one of {', '.join(HOOKS)}")
    if not entry.description.strip():
        problems.append("description is empty")
    if not entry.addresses:
        problems.append("addresses lists no trace symptom")
    unknown = [a for a in entry.addresses if a not in SYMPTOMS]
    if unknown:
        problems.append(f"addresses names unknown symptoms {', '.join(unknown)}; known: {', '.join(SYMPTOMS)}")
    if "origin" in manifest and manifest["origin"] not in ORIGINS:
        problems.append(f"origin {manifest['origin']!r} is not one of {', '.join(ORIGINS)}")
    if "class_name" in manifest and f"class {manifest['class_name']}" not in entry.source:
        problems.append(f"class {manifest['class_name']!r} is not defined in {entry.path.name}")
    provenance = manifest.get("provenance")
    if "provenance" in manifest:
        if not isinstance(provenance, Mapping):
            problems.append("provenance must be an object")
        else:
            problems += [f"provenance lacks {f!r}" for f in PROVENANCE_FIELDS if f not in provenance]
    admission = manifest.get("admission")
    if admission is not None:
        if not isinstance(admission, Mapping):
            problems.append("admission must be null or an object")
        else:
            problems += [f"admission lacks {f!r}" for f in ADMISSION_FIELDS if f not in admission]
            if admission.get("source_sha256") != source_digest(entry.source):
                problems.append("admission was recorded for a different source; audit again")
            elif admission.get("admitted") is not True:
                problems.append("the last audit did not admit this source")
    performance = manifest.get("performance", ())
    if not isinstance(performance, (list, tuple)):
        problems.append("performance must be a list")
    else:
        for number, record in enumerate(performance):
            if not isinstance(record, Mapping) or any(f not in record for f in PERFORMANCE_FIELDS):
                problems.append(f"performance[{number}] needs {', '.join(PERFORMANCE_FIELDS)}")
    return problems
