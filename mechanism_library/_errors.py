"""The library's error type; codes are stable and kebab-case."""

from __future__ import annotations

from interfaces import AutoresearchError

__all__ = ["LibraryError"]


class LibraryError(AutoresearchError):
    """A lookup in the library failed or a library file is malformed.

    Codes: ``unknown-mechanism``, ``unknown-hook``, ``no-example``,
    ``bad-manifest``, ``missing-source``.
    """

    code = "library-error"
