"""The library's error type; codes are stable and kebab-case."""

from __future__ import annotations

from interfaces import AutoresearchError

__all__ = ["LibraryError"]


class LibraryError(AutoresearchError):
    """A lookup in the library failed or a library file is malformed.

    Codes: ``unknown-mechanism``, ``unknown-hook``, ``no-example``,
    ``bad-manifest``, ``missing-source``, ``no-library``, ``no-hook-method``; from ``audit``:
    ``bad-arguments``, ``bad-jobs``, ``digest-mismatch``; from ``promote``
    and ``record-performance``: ``not-a-run``, ``unreadable-run``,
    ``not-admitted-in-run``, ``bad-name``, ``name-clash``,
    ``source-mismatch``, ``missing-transcript``, ``bad-transcript``,
    ``no-description``, ``no-class-name``, ``no-addresses``,
    ``unknown-symptom``, ``admission-failed``.
    """

    code = "library-error"
