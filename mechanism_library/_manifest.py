"""Writing manifests: one stable JSON layout, replaced atomically.

Manifests are committed files that people diff, so the layout is fixed
(two-space indent, fields in the order given, a trailing newline), and a
write goes to a temporary file that replaces the old one in one step: a
crash mid-write leaves the old manifest, never half a new one.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._errors import LibraryError

__all__ = ["read_manifest", "today", "update_manifest", "write_atomic", "write_manifest"]


def today() -> str:
    """The date stamped into records: ISO 8601, UTC."""
    return datetime.datetime.now(datetime.UTC).date().isoformat()


def write_atomic(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    write_atomic(path, text.encode("utf-8"))


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest as plain, mutable JSON (the catalog hands out frozen copies)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise LibraryError(f"{path.name}: cannot read manifest: {error}", code="bad-manifest") from None
    if not isinstance(data, dict):
        raise LibraryError(f"{path.name}: a manifest must be a JSON object", code="bad-manifest")
    return data


def update_manifest(path: Path, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Read, change in place, write back; returns the new manifest."""
    manifest = read_manifest(path)
    change(manifest)
    write_manifest(path, manifest)
    return manifest
