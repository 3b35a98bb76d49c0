"""Stage 1: size checks and a libcst parse."""

from __future__ import annotations

import ast
import io
import time
import tokenize

import libcst as cst

from ._policy import DEFAULT_POLICY, Policy
from ._records import StageResult, Violation

__all__ = ["parse_stage"]

_OPENERS = {"(", "[", "{"}
_CLOSERS = {")", "]", "}"}


def _nesting_depth(source: str) -> int:
    """Deepest bracket-plus-indent nesting, found by tokenizing (no recursion),
    so a pathological input is refused before a recursive parser sees it."""
    depth = deepest = indent = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.INDENT:
                indent += 1
            elif token.type == tokenize.DEDENT:
                indent -= 1
            elif token.type == tokenize.OP and token.string in _OPENERS:
                depth += 1
            elif token.type == tokenize.OP and token.string in _CLOSERS:
                depth -= 1
            deepest = max(deepest, depth + indent)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # the parser reports the syntax error with its position
    return deepest


def _size_violations(source: str, policy: Policy) -> list[Violation]:
    found = []
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > policy.max_bytes:
        found.append(Violation("too-large", 1, 0, f"the source is {size} bytes; keep it under "
                               f"{policy.max_bytes} bytes by removing unused code"))
    lines = source.count("\n") + 1
    if lines > policy.max_lines:
        found.append(Violation("too-large", 1, 0, f"the source has {lines} lines; keep it under "
                               f"{policy.max_lines} lines"))
    if not found:
        depth = _nesting_depth(source)
        if depth > policy.max_depth:
            found.append(Violation("too-deep", 1, 0, f"brackets and blocks nest {depth} deep; keep nesting "
                                   f"under {policy.max_depth} by using helper functions"))
    return found


def _syntax_violation(source: str, error: cst.ParserSyntaxError) -> Violation:
    # CPython's own parser points at the offending token more precisely than
    # libcst's; ask it for the position when it also refuses the text.
    try:
        ast.parse(source)
    except SyntaxError as precise:
        return Violation("syntax-error", precise.lineno or 1, max((precise.offset or 1) - 1, 0),
                         f"invalid Python syntax: {precise.msg}; fix the syntax")
    except (RecursionError, MemoryError, ValueError):
        pass
    return Violation("syntax-error", error.raw_line, error.raw_column,
                     f"invalid Python syntax: {error.message}; fix the syntax")


def parse_stage(source: object, policy: Policy = DEFAULT_POLICY) -> StageResult:
    """Parse ``source`` into a libcst Module (in ``value``); never raises."""
    start = time.perf_counter()

    def done(ok: bool, violations: list[Violation], value: object = None) -> StageResult:
        return StageResult("parse", ok, time.perf_counter() - start, tuple(violations), value=value)

    if not isinstance(source, str):
        return done(False, [Violation("not-text", 1, 0, "the source must be Python text (a str)")])
    if "\x00" in source:
        return done(False, [Violation("syntax-error", 1, 0, "the source contains a NUL byte; remove it")])
    too_big = _size_violations(source, policy)
    if too_big:
        return done(False, too_big)
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as error:
        return done(False, [_syntax_violation(source, error)])
    except (RecursionError, MemoryError, ValueError) as error:
        return done(False, [Violation("too-deep", 1, 0, f"the source cannot be parsed safely ({error!r})")])
    return done(True, [], module)
