"""Admit untrusted Python code against a typing.Protocol, and run it safely.

``admit(source, protocol)`` parses, guards, restricted-compiles, loads and
verifies a source text and returns an :class:`Admission` record; it never
raises for bad code. :class:`MechanismHost` runs admitted code in a limited
child process and exchanges plain data only.

Names are imported on first use (PEP 562), so the child processes that import
one private module do not pay for the parser and hypothesis they never use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LOCATIONS = {
    "SANDBOX_VERSION": "_admit",
    "admit": "_admit",
    "module_name": "_admit",
    "compile_stage": "_compile",
    "SuiteFailure": "_conformance",
    "check_acceptance": "_conformance",
    "check_advisor": "_conformance",
    "check_filter": "_conformance",
    "check_hook": "_conformance",
    "check_observer": "_conformance",
    "check_source": "_conformance",
    "SandboxViolation": "_environment",
    "build_globals": "_environment",
    "guard_stage": "_guard",
    "MechanismHost": "_host",
    "CodecError": "_codec",
    "decode_argument": "_codec",
    "encode_argument": "_codec",
    "RestrictedLoader": "_loader",
    "load_stage": "_loader",
    "unload": "_loader",
    "parse_stage": "_parse",
    "is_plain": "_plain",
    "matches_annotation": "_plain",
    "DEFAULT_POLICY": "_policy",
    "MODULE_EXPORTS": "_policy",
    "Limits": "_policy",
    "Policy": "_policy",
    "Admission": "_records",
    "CallCounters": "_records",
    "CallResult": "_records",
    "Ejection": "_records",
    "LoadResult": "_records",
    "StageResult": "_records",
    "Violation": "_records",
}

__all__ = [
    "Admission",
    "CallCounters",
    "CallResult",
    "DEFAULT_POLICY",
    "Ejection",
    "Limits",
    "LoadResult",
    "MechanismHost",
    "CodecError",
    "decode_argument",
    "encode_argument",
    "MODULE_EXPORTS",
    "Policy",
    "RestrictedLoader",
    "SANDBOX_VERSION",
    "SandboxViolation",
    "StageResult",
    "SuiteFailure",
    "Violation",
    "admit",
    "build_globals",
    "check_acceptance",
    "check_advisor",
    "check_filter",
    "check_hook",
    "check_observer",
    "check_source",
    "compile_stage",
    "guard_stage",
    "is_plain",
    "load_stage",
    "matches_annotation",
    "module_name",
    "parse_stage",
    "unload",
]


def __getattr__(name: str) -> Any:
    try:
        module = _LOCATIONS[name]
    except KeyError:
        raise AttributeError(f"module 'sandbox' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
