"""A linear, non-recursive pass over the raw text that runs before libcst.

libcst's native parser crashes (segfaults) or takes quadratic time on a few
kilobytes of nested brackets inside an f-string, long runs of unary operators
or ``lambda``, long chains of trailers (``a.b.b``, ``a[0][0]``, ``f()()``) and
long flat operator chains. Python 3.11's tokenize keeps an f-string as one
token, so the replacement fields are extracted here and tokenized on their
own. Every count is bounded by :class:`ScanLimits`; the limits are generous
for real mechanisms (50-300 lines) and small enough that the parser stays fast.

The text rules live here too: bidirectional and other invisible characters
(trojan source), control characters, lone surrogates and coding cookies that
name an encoding other than UTF-8.

Only the standard library's pure-Python ``tokenize`` and plain loops run on the
text; nothing recurses on its structure.
"""

from __future__ import annotations

import bisect
import io
import keyword
import re
import string
import tokenize
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from ._policy import DEFAULT_POLICY, Policy
from ._records import Violation

__all__ = ["DEFAULT_SCAN_LIMITS", "ScanLimits", "prescan", "size_violations"]


@dataclass(frozen=True)
class ScanLimits:
    """Limits of the pre-scan beyond the policy's bytes, lines and depth. They are
    per logical line (one statement) or per run, not per file."""

    max_tokens: int = 20_000  # a 300-line mechanism has about 3 000
    max_line_chars: int = 1_000  # characters on one physical line
    max_unary_run: int = 8  # ``not not -x``: consecutive prefix operators
    max_trailers: int = 32  # ``a.b[0](x).c``: consecutive attribute, item and call trailers
    max_operators: int = 120  # operators in one comma-separated part of a statement
    max_lambdas: int = 64  # ``lambda`` keywords in one statement (they nest without brackets)
    max_reported: int = 20  # violations of one kind that are reported


DEFAULT_SCAN_LIMITS = ScanLimits()

_OPENERS = "([{"
_CLOSERS = ")]}"
_ATOM_KEYWORDS = frozenset({"True", "False", "None"})
# Keywords that join expressions: each one is a node libcst nests.
_OPERATOR_KEYWORDS = frozenset({"and", "or", "in", "is", "if", "else", "for", "lambda", "await", "yield"})
_PREFIX_OPERATORS = frozenset({"-", "+", "~"})
_SEGMENT_ENDS = frozenset({",", ";", "=", "+=", "-=", "*=", "/=", "//=", "%=", "**=", "@=", "&=", "|=", "^=",
                           ">>=", "<<="})
_NEUTRAL_OPS = frozenset({":", "->", "..."})
_IGNORED_TOKENS = frozenset({tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER})
# PEP 263: a comment on line 1 or 2 that names the source encoding.
_CODING_COOKIE = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)
_UTF8_NAMES = frozenset({"utf-8", "utf8"})
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]|\r(?!\n)")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Format (Cf: bidi overrides and isolates, zero-width characters, the BOM),
# line and paragraph separators, C1 controls and lone surrogates.
_REFUSED_CATEGORIES = frozenset({"Cf", "Zl", "Zp", "Cc", "Cs"})


def size_violations(source: str, policy: Policy = DEFAULT_POLICY) -> list[Violation]:
    """Bytes and lines over the policy's limits: plain counting, safe on any text."""
    found = []
    size = len(source.encode("utf-8", "surrogatepass"))
    if size > policy.max_bytes:
        found.append(Violation("too-large", 1, 0, f"the source is {size} bytes; keep it under "
                               f"{policy.max_bytes} bytes by removing unused code"))
    lines = source.count("\n") + 1
    if lines > policy.max_lines:
        found.append(Violation("too-large", 1, 0, f"the source has {lines} lines; keep it under "
                               f"{policy.max_lines} lines"))
    return found


class _Report:
    """Collects violations, at most ``limit`` per kind, so the output stays small."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.counts: dict[str, int] = {}
        self.violations: list[Violation] = []

    def add(self, kind: str, violation: Violation) -> None:
        seen = self.counts.get(kind, 0)
        self.counts[kind] = seen + 1
        if seen < self.limit:
            self.violations.append(violation)


def _string_prefix(text: str) -> str:
    """The ASCII letters before a string token's opening quote (``rb``, ``f``, ...); empty when none."""
    return text[:len(text) - len(text.lstrip(string.ascii_letters))]


def _fstring_fields(text: str) -> Iterator[tuple[str, int, int]]:
    """(expression text, field nesting, offset in ``text``) of every replacement
    field of one f-string token, format-spec fields included. An explicit stack,
    no recursion; a nested f-string inside an expression stays in its text and
    is expanded when that text is tokenized."""
    prefix = _string_prefix(text)
    quote = text[len(prefix):len(prefix) + 3]
    quote = quote if quote in ('"""', "'''") else text[len(prefix)]
    start, end = len(prefix) + len(quote), len(text) - len(quote)
    raw = "r" in prefix.lower()
    stack: list[list[int]] = []  # [brackets, expression start] for an expression, [] for a format spec
    i = start
    while i < end:
        char = text[i]
        if not stack or not stack[-1]:  # literal text or a format spec
            if char == "\\" and not raw and not stack:
                i += 2
                continue
            if char in "{}" and not stack and text[i + 1:i + 2] == char:
                i += 2  # ``{{`` and ``}}`` are escaped braces
                continue
            if char == "{":
                stack.append([0, i + 1])
            elif char == "}" and stack:
                stack.pop()  # the format spec, and with it its field, ends
            i += 1
            continue
        expression = stack[-1]
        if char in "'\"":
            i = _string_end(text, i, end)
            continue
        if char in _OPENERS:
            expression[0] += 1
        elif char in ")]" or (char == "}" and expression[0] > 0):
            expression[0] -= 1
        elif char in "}:" and expression[0] <= 0:
            yield text[expression[1]:i], len(stack), expression[1]
            stack.pop()
            if char == ":":
                stack.append([])
        i += 1
    if stack and stack[-1]:
        yield text[stack[-1][1]:end], len(stack), stack[-1][1]


def _string_end(text: str, i: int, end: int) -> int:
    """Index just past the string literal starting at ``text[i]`` (or ``end``)."""
    quote = text[i:i + 3] if text[i:i + 3] in ('"""', "'''") else text[i]
    j = i + len(quote)
    while j < end:
        if text[j] == "\\":
            j += 2
        elif text.startswith(quote, j):
            return j + len(quote)
        else:
            j += 1
    return end


class _Meter:
    """Counts over one token stream: the module, or one f-string field (wrapped
    in parentheses, which stand for the field's braces)."""

    def __init__(self, scan: _Scan, base_depth: int, line_offset: int, top_level: bool) -> None:
        self.scan = scan
        self.top_level = top_level
        self.base = base_depth
        self.line_offset = line_offset
        self.indent = 0
        self.chains = [0]  # trailers in the current chain, per open bracket
        self.operators = [0]  # operators in the current comma-separated part, per open bracket
        self.lambdas = 0
        self.unary_run = 0
        # The previous token ends an operand: a trailer or a binary operator may follow.
        self.after_atom = False
        self.after_dot = False

    def depth(self) -> int:
        return self.base + self.indent + len(self.chains) - 1

    def feed(self, token: tokenize.TokenInfo) -> None:
        kind, text = token.type, token.string
        line = token.start[0] + self.line_offset
        if kind in _IGNORED_TOKENS:
            return
        scan = self.scan
        scan.tokens += 1
        if scan.tokens == scan.limits.max_tokens + 1:
            scan.too_many_tokens(line)
        if kind == tokenize.INDENT:
            self.indent += 1
            self.scan.check_depth(self.depth(), line)
        elif kind == tokenize.DEDENT:
            self.indent = max(self.indent - 1, 0)
        elif kind == tokenize.NEWLINE:
            self.chains, self.operators, self.lambdas = [0], [0], 0
            self.unary_run, self.after_atom, self.after_dot = 0, False, False
        elif kind == tokenize.NAME and (text in _ATOM_KEYWORDS or not keyword.iskeyword(text)):
            if not self.after_dot:
                self.chains[-1] = 0
            self._operand()
        elif kind == tokenize.NAME:
            self._keyword(text, line)
        elif kind == tokenize.STRING:
            self.scan.string_token(token, self.depth(), self.line_offset, self.top_level)
            if self.after_atom:  # implicit concatenation ("a" "b" "c") nests like a trailer chain
                self._trailer(line)
            else:
                self.chains[-1] = 0
            self._operand()
        elif kind == tokenize.NUMBER:
            self.chains[-1] = 0
            self._operand()
        elif kind == tokenize.OP:
            self._operator(text, line)
        else:  # ERRORTOKEN: a stray character; the parser reports it
            self.after_atom = self.after_dot = False

    def _operand(self) -> None:
        self.unary_run, self.after_atom, self.after_dot = 0, True, False

    def _trailer(self, line: int) -> None:
        self.chains[-1] += 1
        if self.chains[-1] == self.scan.limits.max_trailers + 1:  # once per chain
            self.scan.chain(line, f"{self.chains[-1]} attribute, item or call trailers in a row "
                            f"(like a.b.c[0](x)); keep chains under {self.scan.limits.max_trailers} "
                            "by naming intermediate values")

    def _count_operator(self, line: int, prefix: bool) -> None:
        self.operators[-1] += 1
        if self.operators[-1] == self.scan.limits.max_operators + 1:
            self.scan.chain(line, f"{self.operators[-1]} operators in one expression; keep them under "
                            f"{self.scan.limits.max_operators} by splitting it into named parts")
        if prefix:
            self.unary_run += 1
            if self.unary_run == self.scan.limits.max_unary_run + 1:
                self.scan.chain(line, f"{self.unary_run} prefix operators (not, -, +, ~, *) in a row; "
                                f"use at most {self.scan.limits.max_unary_run}")
        else:
            self.unary_run = 0
        self.chains[-1] = 0
        self.after_atom = self.after_dot = False

    def _keyword(self, word: str, line: int) -> None:
        if word == "not":
            self._count_operator(line, prefix=not self.after_atom)  # ``a not in b`` is binary
        elif word in _OPERATOR_KEYWORDS:
            if word == "lambda":
                self.lambdas += 1
                if self.lambdas == self.scan.limits.max_lambdas + 1:
                    self.scan.chain(line, f"{self.lambdas} lambda expressions in one statement; use at most "
                                    f"{self.scan.limits.max_lambdas}, or define functions with def")
            self._count_operator(line, prefix=word in ("lambda", "await", "yield"))
        else:  # a statement keyword starts a new expression
            self.chains[-1] = 0
            self.unary_run, self.after_atom, self.after_dot = 0, False, False

    def _operator(self, op: str, line: int) -> None:
        if op in _OPENERS:
            if self.after_atom and op != "{":
                self._trailer(line)
            elif not self.after_atom:
                self.chains[-1] = 0
            self.chains.append(0)
            self.operators.append(0)
            self.unary_run, self.after_atom, self.after_dot = 0, False, False
            self.scan.check_depth(self.depth(), line)
        elif op in _CLOSERS:
            if len(self.chains) > 1:
                self.chains.pop()
                self.operators.pop()
            self.unary_run, self.after_atom, self.after_dot = 0, True, False
        elif op == ".":
            if self.after_atom:
                self._trailer(line)
            self.after_dot, self.after_atom = True, False
        elif op in _SEGMENT_ENDS:
            self.chains[-1] = self.operators[-1] = 0
            self.unary_run, self.after_atom, self.after_dot = 0, False, False
        elif op in _NEUTRAL_OPS:
            self.chains[-1] = 0
            if op == "...":
                self._operand()
            else:
                self.unary_run, self.after_atom, self.after_dot = 0, False, False
        else:
            prefix = not self.after_atom and op in (_PREFIX_OPERATORS | {"*", "**"})
            self._count_operator(line, prefix=prefix)


class _Scan:
    """State shared by every token stream of one source."""

    def __init__(self, policy: Policy, limits: ScanLimits) -> None:
        self.policy = policy
        self.limits = limits
        self.report = _Report(limits.max_reported)
        self.tokens = 0
        self.deepest_reported = False
        self.pending: list[tuple[str, int, int]] = []  # f-string tokens still to expand
        self.string_spans: list[tuple[int, int, int, int]] = []  # (line, col) start and end of literals

    def too_many_tokens(self, line: int) -> None:
        self.report.add("tokens", Violation("too-large", line, 0, f"the source has over "
                            f"{self.limits.max_tokens} tokens; keep it shorter by removing unused code"))

    def check_depth(self, depth: int, line: int) -> None:
        if depth > self.policy.max_depth and not self.deepest_reported:
            self.deepest_reported = True
            limit = self.policy.max_depth
            self.report.add("depth", Violation(
                "too-deep", line, 0, f"brackets, blocks and f-string fields nest over {limit} deep; keep "
                f"nesting under {limit} by using helper functions or named values"))

    def chain(self, line: int, message: str) -> None:
        self.report.add("chain", Violation("too-long-chain", line, 0, message))

    def string_token(self, token: tokenize.TokenInfo, depth: int, line_offset: int, top_level: bool) -> None:
        if top_level:  # positions of the module's own literals, for the text rules
            self.string_spans.append((*token.start, *token.end))
        prefix = _string_prefix(token.string)
        if "f" in prefix.lower():
            self.pending.append((token.string, depth, token.start[0] + line_offset))

    def run(self, source: str) -> Violation | None:
        """Tokenize the module, then every f-string field; returns the tokenizer's
        own error, if it stopped early."""
        error = self._stream(source, _Meter(self, 0, 0, True))
        while self.pending:
            text, depth, line = self.pending.pop()
            for expression, nesting, offset in _fstring_fields(text):
                line_in_token = line + text.count("\n", 0, offset)
                meter = _Meter(self, depth + nesting - 1, line_in_token - 1, False)
                # Errors inside a field are the parser's to report.
                self._stream("(" + expression + "\n)", meter)
        return error

    def _stream(self, text: str, meter: _Meter) -> Violation | None:
        try:
            for token in tokenize.generate_tokens(io.StringIO(text).readline):
                meter.feed(token)
        except tokenize.TokenError:
            # EOF inside a string or a bracket: every token before it was seen, and the
            # parser reports the error with its position.
            return None
        except (IndentationError, SyntaxError) as error:  # the tokenizer stopped: the rest went unscanned
            return Violation("syntax-error", error.lineno or 1, max((error.offset or 1) - 1, 0),
                             f"invalid Python syntax: {error.msg}; fix the indentation")
        return None


def _line_starts(source: str) -> list[int]:
    starts = [0]
    index = source.find("\n")
    while index >= 0:
        starts.append(index + 1)
        index = source.find("\n", index + 1)
    return starts


def _refused_characters(source: str) -> Iterator[tuple[int, str]]:
    for match in _ASCII_CONTROL.finditer(source):
        if match.group() != "\x00":  # a NUL is reported by the parse stage
            yield match.start(), match.group()[0]
    if not source.isascii():
        for match in _NON_ASCII.finditer(source):
            if unicodedata.category(match.group()) in _REFUSED_CATEGORIES:
                yield match.start(), match.group()


def _character_violations(source: str, spans: list[tuple[int, int, int, int]], report: _Report) -> None:
    """Invisible and control characters: refused everywhere; inside a string
    literal the message says how to write the character as an escape."""
    found = sorted(_refused_characters(source))
    if not found:
        return
    starts = _line_starts(source)
    span_starts = [(line, col) for line, col, _, _ in spans]
    for offset, char in found:
        line = bisect.bisect_right(starts, offset)
        col = offset - starts[line - 1]
        index = bisect.bisect_right(span_starts, (line, col)) - 1
        inside = index >= 0 and (line, col) < spans[index][2:]
        label = f"U+{ord(char):04X} ({unicodedata.name(char, 'control character')})"
        escape = f"\\u{ord(char):04x}" if ord(char) > 0xFF else f"\\x{ord(char):02x}"
        if char == "\r":
            message = "a carriage return not followed by a line feed; end lines with \\n (or \\r\\n)"
        elif inside:
            message = (f"{label} inside a string literal is invisible or changes how the text displays; "
                       f"write it as the escape {escape}")
        else:
            message = (f"{label} in the code is invisible or makes the text display differently from how it "
                       "runs; remove it")
        report.add("character", Violation("invisible-character", line, col, message))


def _cookie_violations(source: str, report: _Report) -> None:
    for number, line in enumerate(source.split("\n", 2)[:2], start=1):
        match = _CODING_COOKIE.match(line)
        if match and match.group(1).lower().replace("_", "-") not in _UTF8_NAMES:
            report.add("cookie", Violation("coding-cookie", number, match.start(1), (
                f"the coding declaration names {match.group(1)[:40]!r}; the source is always read as "
                "UTF-8, so remove the declaration or declare utf-8")))


def _long_lines(source: str, limits: ScanLimits, report: _Report) -> None:
    start = 0
    for number, end in enumerate(_line_starts(source)[1:] + [len(source) + 1], start=1):
        length = end - 1 - start
        if length > limits.max_line_chars:
            report.add("line", Violation("too-long-line", number, limits.max_line_chars, (
                f"line {number} has {length} characters; keep lines under {limits.max_line_chars} "
                "by breaking long expressions and literals over several lines")))
        start = end


def prescan(source: str, policy: Policy = DEFAULT_POLICY,
            limits: ScanLimits = DEFAULT_SCAN_LIMITS) -> list[Violation]:
    """Every pre-scan violation of ``source``; empty when libcst may parse it.

    Linear in the length of the text, no recursion, never raises for any str."""
    too_big = size_violations(source, policy)
    if too_big:
        return too_big
    scan = _Scan(policy, limits)
    tokenizer_error = scan.run(source)
    _cookie_violations(source, scan.report)
    _character_violations(source, scan.string_spans, scan.report)
    _long_lines(source, limits, scan.report)
    found = scan.report.violations
    if tokenizer_error and not found:
        found.append(tokenizer_error)
    return sorted(found, key=lambda v: (v.line, v.col))
