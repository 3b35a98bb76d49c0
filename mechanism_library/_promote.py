"""Promotion: copy a mechanism a run generated into the library, with its provenance.

``promote(run_dir, name)`` takes ``<run_dir>/level2/mechanisms/<name>.py``
exactly as the run saved it, checks that it is the text the run admitted
(the digest in the run's admission event), admits it again with the current
sandbox, and writes three files into the library: the source, the session
transcript (``<name>.session.json``, the session's ``rounds.json``
byte for byte) and the manifest, last, so the catalog never sees a half
promotion. The run's performance record for the mechanism is folded in.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interfaces import freeze, thaw

from ._audit import AuditResult, audit_source
from ._catalog import (
    MECHANISMS_DIR,
    SYMPTOMS,
    TRANSCRIPT_SUFFIX,
    Entry,
    catalog,
    load_entry,
    manifest_problems,
    source_digest,
)
from ._errors import LibraryError
from ._manifest import today, update_manifest, write_atomic, write_manifest
from ._runs import RunFacts, check_name, performance_record, read_run

__all__ = ["Promotion", "fold_performance", "promote", "record_performance", "session_symptoms"]

# The trace flags the engine computes before a session (engine.levels.research.symptoms).
_TRACE_FLAGS = ("repetition", "fixation", "plateau")


@dataclass(frozen=True)
class Promotion:
    """What a promotion wrote: the new entry, its fresh admission, its performance record (None: no verdict)."""

    entry: Entry
    audit: AuditResult
    performance: Mapping[str, Any] | None


def _library(directory: Path | None) -> Path:
    folder = MECHANISMS_DIR if directory is None else Path(directory)
    if not folder.is_dir():
        raise LibraryError(f"library directory {folder} does not exist", code="no-library")
    return folder


def _taken(folder: Path, name: str) -> list[Path]:
    return [p for p in (folder / f"{name}.json", folder / f"{name}.py", folder / f"{name}{TRANSCRIPT_SUFFIX}")
            if p.exists()]


def session_symptoms(rounds: Sequence[Mapping[str, Any]]) -> list[str]:
    """The trace flags the explore round was shown ("Trace facts: {...}"), in catalog terms."""
    for round_ in rounds:
        if round_.get("round") != "explore":
            continue
        for message in round_.get("messages", ()):
            for line in str(message.get("content", "")).splitlines():
                if line.startswith("Trace facts: "):
                    try:
                        facts = json.loads(line.removeprefix("Trace facts: "))
                    except ValueError:
                        return []
                    return [flag for flag in _TRACE_FLAGS if isinstance(facts, dict) and facts.get(flag) is True]
    return []


def _answer(rounds: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any]:
    answers = [a for a in (r.get("answer") for r in rounds if r.get("round") == name) if isinstance(a, Mapping)]
    return answers[-1] if answers else {}


def _class_name(source: str, wanted: str | None) -> str:
    """The mechanism class: the one the Specify round named, else the module's only class."""
    try:
        classes = [n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef)]
    except SyntaxError as error:  # admitted code parses; this guards a file edited since
        raise LibraryError(f"the source does not parse: {error}", code="admission-failed") from None
    if wanted in classes:
        return str(wanted)
    if len(classes) == 1:
        return classes[0]
    raise LibraryError(f"cannot tell the mechanism class among {', '.join(classes) or 'no classes'}",
                       code="no-class-name")


def _read_rounds(path: Path) -> tuple[bytes, list[Mapping[str, Any]]]:
    if not path.is_file():
        raise LibraryError(f"the session transcript {path} is missing", code="missing-transcript")
    raw = path.read_bytes()
    try:
        rounds = json.loads(raw)
    except ValueError as error:
        raise LibraryError(f"{path} is not JSON: {error}", code="bad-transcript") from None
    if not isinstance(rounds, list) or not all(isinstance(r, dict) for r in rounds):
        raise LibraryError(f"{path} must be a list of rounds", code="bad-transcript")
    return raw, rounds


def promote(run_dir: Path, mechanism: str, *, library: Path | None = None, new_name: str | None = None,
            addresses: Sequence[str] | None = None, max_examples: int | None = None) -> Promotion:
    """Copy ``mechanism`` from ``run_dir`` into the library as ``new_name`` (default: its name in the run).

    Refuses (LibraryError) a name already in the library (``name-clash``), a
    source that differs from what the run admitted (``source-mismatch``) and
    a source the current sandbox does not admit (``admission-failed``).
    """
    check_name(mechanism)
    name = check_name(new_name if new_name is not None else mechanism, "library name")
    folder = _library(library)
    taken = _taken(folder, name)
    if taken:
        raise LibraryError(f"the library already has {', '.join(p.name for p in taken)}; choose another name with "
                           "--as NEWNAME", code="name-clash")
    facts = read_run(run_dir)
    admitted = facts.admission_of(mechanism)
    source_path = facts.run_dir / "level2" / "mechanisms" / f"{mechanism}.py"
    if not source_path.is_file():
        raise LibraryError(f"the run saved no source for {mechanism} ({source_path} is missing)",
                           code="missing-source")
    source = source_path.read_bytes().decode("utf-8")
    if admitted["data"].get("digest") != source_digest(source):
        raise LibraryError(f"{source_path} is not the text run {facts.run_id} admitted (its sha256 differs from "
                           "the admission event's digest)", code="source-mismatch")
    hook = str(admitted["data"].get("hook", ""))
    session = admitted["data"].get("session")
    transcript_raw, rounds = _read_rounds(facts.run_dir / "level2" / f"session-{session}" / "rounds.json")
    chosen = _symptoms(addresses, rounds)
    spec = _answer(rounds, "specify")
    description = str(spec.get("behaviour") or "").strip()
    if not description:
        raise LibraryError("the Specify round gave no behaviour to describe the mechanism", code="no-description")

    result = audit_source(name, hook, source, max_examples=max_examples)
    if not result.admitted:
        raise LibraryError(f"{mechanism} is not admitted by the current sandbox:\n{result.feedback}",
                           code="admission-failed")
    performance = performance_record(facts, mechanism)
    transcript_name = f"{name}{TRANSCRIPT_SUFFIX}"
    manifest = {
        "name": name,
        "hook": hook,
        "class_name": _class_name(source, spec.get("class_name")),
        "description": description,
        "addresses": chosen,
        "origin": "generated",
        "provenance": {
            "author": facts.model or facts.provider,
            "provider": facts.provider,
            "model": facts.model,
            "run": facts.run_id,
            "session": session,
            "transcript": transcript_name,
            "transcript_sha256": hashlib.sha256(transcript_raw).hexdigest(),
            "date": today(),
        },
        "admission": thaw(result.record),
        "performance": [performance] if performance is not None else [],
        "source_sha256": source_digest(source),
    }
    written = [folder / f"{name}.py", folder / transcript_name, folder / f"{name}.json"]
    try:
        write_atomic(written[0], source.encode("utf-8"))
        write_atomic(written[1], transcript_raw)
        write_manifest(written[2], manifest)
        entry = load_entry(written[2])
        problems = manifest_problems(entry)
        if problems:
            raise LibraryError(f"the new manifest is unsound: {'; '.join(problems)}", code="bad-manifest")
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return Promotion(entry, result, freeze(performance) if performance is not None else None)


def _symptoms(addresses: Sequence[str] | None, rounds: Sequence[Mapping[str, Any]]) -> list[str]:
    chosen = list(addresses) if addresses else session_symptoms(rounds)
    unknown = [a for a in chosen if a not in SYMPTOMS]
    if unknown:
        raise LibraryError(f"unknown symptoms {', '.join(unknown)}; known: {', '.join(SYMPTOMS)}",
                           code="unknown-symptom")
    if not chosen:
        raise LibraryError("the session's trace showed no symptom to file the mechanism under; name them with "
                           f"--addresses (one or more of {', '.join(SYMPTOMS)})", code="no-addresses")
    return list(dict.fromkeys(chosen))


def fold_performance(entry: Entry, record: Mapping[str, Any]) -> None:
    """Add ``record`` to the entry's manifest, replacing an earlier record of the same run and mechanism."""
    record = thaw(record)

    def change(manifest: dict[str, Any]) -> None:
        kept = [r for r in manifest.get("performance") or ()
                if not (r.get("run") == record["run"] and r.get("mechanism") == record["mechanism"])]
        manifest["performance"] = kept + [record]

    update_manifest(entry.path.with_suffix(".json"), change)


def record_performance(run_dir: Path, *, library: Path | None = None) -> list[tuple[str, Mapping[str, Any]]]:
    """Fold a run's verdicts into every library entry whose exact source the run admitted.

    Matching is by source digest, not by name: a run may have admitted a
    library source under another name, and a name may mean different code in
    two runs. Returns (library name, record) for every record folded.
    """
    facts: RunFacts = read_run(run_dir)
    entries = catalog(_library(library))
    folded: list[tuple[str, Mapping[str, Any]]] = []
    admitted = {e["mechanism"]: e["data"].get("digest") for e in facts.events if e["kind"] == "admission"}
    for mechanism, digest in admitted.items():
        record = performance_record(facts, mechanism)
        if record is None:
            continue
        for entry in entries:
            if entry.manifest.get("source_sha256") == digest == source_digest(entry.source):
                fold_performance(entry, record)
                folded.append((entry.name, freeze(record)))
    return folded
