"""Stage 1: the pre-scan (sizes, nesting, chains, text rules) and a libcst parse.

``parse_stage`` parses untrusted text in the calling process: libcst's native
parser is not hardened, and the pre-scan in :mod:`sandbox._prescan` refuses
every input known to crash or stall it, but an unknown one would take the
caller down. :func:`sandbox.admit` therefore runs this stage (with the guard and
the compile) in the admission worker, :mod:`sandbox._worker`.
"""

from __future__ import annotations

import ast
import time

import libcst as cst

from ._policy import DEFAULT_POLICY, Policy
from ._prescan import prescan
from ._records import StageResult, Violation

__all__ = ["parse_stage"]


def _syntax_violation(source: str, error: cst.ParserSyntaxError) -> Violation:
    # CPython's own parser points at the offending token more precisely than
    # libcst's; ask it for the position when it also refuses the text.
    try:
        ast.parse(source)
    except SyntaxError as precise:
        return Violation("syntax-error", precise.lineno or 1, max((precise.offset or 1) - 1, 0),
                         f"invalid Python syntax: {precise.msg}; fix the syntax")
    except Exception:  # noqa: BLE001 - only the position is wanted; libcst's own report stands
        pass
    return Violation("syntax-error", error.raw_line, error.raw_column,
                     f"invalid Python syntax: {error.message}; fix the syntax")


def parse_stage(source: object, policy: Policy = DEFAULT_POLICY) -> StageResult:
    """Pre-scan, then parse ``source`` into a libcst Module (in ``value``); never raises.

    Runs in the calling process: see the module docstring for why ``admit``
    calls it in the admission worker instead."""
    start = time.perf_counter()

    def done(ok: bool, violations: list[Violation], value: object = None) -> StageResult:
        return StageResult("parse", ok, time.perf_counter() - start, tuple(violations), value=value)

    if not isinstance(source, str):
        return done(False, [Violation("not-text", 1, 0, "the source must be Python text (a str)")])
    if "\x00" in source:
        return done(False, [Violation("syntax-error", 1, 0, "the source contains a NUL byte; remove it")])
    refused = prescan(source, policy)
    if refused:
        return done(False, refused)
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        return done(False, [_syntax_violation(source, error)])
    except RecursionError:
        return done(False, [Violation("too-deep", 1, 0, "the source nests too deeply to parse; flatten it "
                                      "with helper functions and named intermediate values")])
    except Exception as error:  # noqa: BLE001 - libcst's own failures (CSTValidationError, ...) are records
        return done(False, [Violation("parse-crashed", 1, 0, f"the parser failed on this source "
                                      f"({type(error).__name__}); simplify unusual whitespace, line "
                                      "continuations and deeply repeated constructs")])
    return done(True, [], module)
