"""The mechanism library: hand-written and generated search mechanisms with manifests.

Each mechanism is one source file in ``mechanisms/`` implementing one hook
Protocol of :mod:`interfaces.hooks`, next to a JSON manifest that records what
it is, where it came from, whether and how it was admitted, and how it
performed. The library reads sources as text; it never imports them.
:func:`audit` admits a source again with the real sandbox; :func:`promote`
copies a mechanism a run generated into the library with its provenance.
"""

from ._audit import (
    COMPARED_FIELDS,
    AuditResult,
    FieldChange,
    admission_record,
    audit,
    audit_all,
    audit_source,
    store_admission,
)
from ._catalog import (
    ADMISSION_FIELDS,
    MANIFEST_FIELDS,
    MECHANISMS_DIR,
    ORIGINS,
    PERFORMANCE_FIELDS,
    PROVENANCE_FIELDS,
    SYMPTOMS,
    TRANSCRIPT_SUFFIX,
    Entry,
    by_hook,
    catalog,
    example_for,
    get,
    manifest_problems,
    source_digest,
)
from ._errors import LibraryError
from ._promote import Promotion, fold_performance, promote, record_performance
from ._runs import RunFacts, performance_record, read_run

__all__ = [
    "ADMISSION_FIELDS",
    "COMPARED_FIELDS",
    "MANIFEST_FIELDS",
    "MECHANISMS_DIR",
    "ORIGINS",
    "PERFORMANCE_FIELDS",
    "PROVENANCE_FIELDS",
    "SYMPTOMS",
    "TRANSCRIPT_SUFFIX",
    "AuditResult",
    "Entry",
    "FieldChange",
    "LibraryError",
    "Promotion",
    "RunFacts",
    "admission_record",
    "audit",
    "audit_all",
    "audit_source",
    "by_hook",
    "catalog",
    "example_for",
    "fold_performance",
    "get",
    "manifest_problems",
    "performance_record",
    "promote",
    "read_run",
    "record_performance",
    "source_digest",
    "store_admission",
]
