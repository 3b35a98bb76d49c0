"""The mechanism library: hand-written and generated search mechanisms with manifests.

Each mechanism is one source file in ``mechanisms/`` implementing one hook
Protocol of :mod:`interfaces.hooks`, next to a JSON manifest that records what
it is, where it came from, whether and how it was admitted, and how it
performed. The library reads sources as text; it never imports them.
"""

from ._catalog import (
    ADMISSION_FIELDS,
    MANIFEST_FIELDS,
    MECHANISMS_DIR,
    ORIGINS,
    PERFORMANCE_FIELDS,
    PROVENANCE_FIELDS,
    Entry,
    by_hook,
    catalog,
    example_for,
    get,
    manifest_problems,
    source_digest,
)
from ._errors import LibraryError

__all__ = [
    "ADMISSION_FIELDS",
    "MANIFEST_FIELDS",
    "MECHANISMS_DIR",
    "ORIGINS",
    "PERFORMANCE_FIELDS",
    "PROVENANCE_FIELDS",
    "Entry",
    "LibraryError",
    "by_hook",
    "catalog",
    "example_for",
    "get",
    "manifest_problems",
    "source_digest",
]
