"""Admit untrusted Python code against a typing.Protocol, and run it safely.

``admit(source, protocol)`` parses, guards, restricted-compiles, loads and
verifies a source text and returns an :class:`Admission` record; it never
raises for bad code. :class:`MechanismHost` runs admitted code in a limited
child process and exchanges plain data only.
"""

from ._admit import SANDBOX_VERSION, admit, module_name
from ._compile import compile_stage
from ._conformance import (
    SuiteFailure,
    check_acceptance,
    check_advisor,
    check_filter,
    check_hook,
    check_observer,
    check_source,
)
from ._environment import SandboxViolation, build_globals
from ._guard import guard_stage
from ._host import MechanismHost
from ._codec import CodecError, decode_argument, encode_argument
from ._loader import RestrictedLoader, load_stage, unload
from ._parse import parse_stage
from ._plain import is_plain, matches_annotation
from ._policy import DEFAULT_POLICY, MODULE_EXPORTS, Limits, Policy
from ._records import Admission, CallCounters, CallResult, Ejection, LoadResult, StageResult, Violation

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
