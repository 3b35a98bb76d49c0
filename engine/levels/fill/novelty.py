"""Novelty: is a generated mechanism new, or a copy of one the model has seen?

A model asked to write a search mechanism may hand back a library mechanism,
the example its prompt showed, or what an earlier session wrote, with the
names changed. Counting that as a new mechanism would overstate what the
model invented, so every generated mechanism is compared against those
references and the comparison is recorded.

The comparison is lexical and blind to naming: both sides become Python token
streams with comments, docstrings and layout dropped and every local name,
string and number replaced by a fixed token (:func:`normalised_tokens`);
keywords, builtins, operators and attribute names stay, since
``trace.incumbent()`` says what the code does while ``best`` versus
``incumbent`` does not. Two streams are compared with
:class:`difflib.SequenceMatcher` (:func:`similarity`). The score against a set
of references is the highest one (:func:`likeness`): at or above
:data:`COPY_THRESHOLD` a copy, below :data:`NEW_THRESHOLD` new, between the two
near.

In fill-in mode the engine writes the module and the model writes only the
body of the hook method, so :func:`body_likeness` compares that body with the
body of every library mechanism's own hook method (:func:`library_references`)
and with the bodies of earlier sessions and of the prompt's examples.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import functools
import io
import keyword
import re
import textwrap
import tokenize
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from interfaces import HOOKS, freeze
from mechanism_library import LibraryError, catalog

__all__ = [
    "COPY_THRESHOLD",
    "NEW_THRESHOLD",
    "IDENTIFIER",
    "STRING",
    "NUMBER",
    "Likeness",
    "body_likeness",
    "library_references",
    "likeness",
    "method_body",
    "normalised_tokens",
    "similarity",
]

# Measured on the hand-written library (tests/engine/levels/fill/test_novelty.py checks every
# pair): the closest two distinct modules score 0.48 and the closest two hook-method bodies 0.61
# (the two acceptance rules share their guard clauses), while a mechanism with every name,
# comment and docstring changed and its layout rewritten still scores 0.98 or more.
COPY_THRESHOLD = 0.8
NEW_THRESHOLD = 0.6

IDENTIFIER = "ID"
STRING = "STR"
NUMBER = "NUM"

_KEPT_NAMES = frozenset(name for name in dir(builtins) if not name.startswith("_"))
# Layout and commentary carry no behaviour; ENCODING and ENDMARKER carry nothing at all.
_NOISE = frozenset(
    {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.INDENT,
        tokenize.DEDENT,
        tokenize.ENCODING,
        tokenize.ENDMARKER,
    }
)
# Tokens after which a new statement begins (so a lone string there is a docstring).
_STATEMENT_BREAKS = frozenset({tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.NL})
# The fallback for text tokenize rejects: strings, comments, names, numbers, any other character.
_FALLBACK_TOKEN = re.compile(
    r"""(?P<string>'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*")"""
    r"|(?P<comment>\#[^\n]*)"
    r"|(?P<name>[^\W\d]\w*)"
    r"|(?P<number>\d[\w.]*)"
    r"|(?P<other>\S)"
)
# The line breaks the parser counts (str.splitlines would also split at form feeds and others).
_LINE_BREAK = re.compile(r"\r\n?|\n")
_NO_REFERENCES: Mapping[str, str] = MappingProxyType({})


def _name_token(text: str, after_dot: bool) -> str:
    if after_dot or keyword.iskeyword(text) or text in _KEPT_NAMES:
        return text
    return IDENTIFIER


def _python_tokens(code: str) -> tuple[str, ...]:
    raw = list(tokenize.generate_tokens(io.StringIO(code).readline))
    kept: list[str] = []
    statement_start = True
    index = 0
    while index < len(raw):
        token = raw[index]
        if token.type == tokenize.STRING and statement_start:
            # A run of strings followed by the end of the statement is a docstring
            # (or a bare string statement): it does nothing, so it is dropped.
            end = index
            while end < len(raw) and raw[end].type in (tokenize.STRING, tokenize.NL, tokenize.COMMENT):
                end += 1
            closes = (
                end == len(raw)
                or raw[end].type in (tokenize.NEWLINE, tokenize.ENDMARKER)
                or (raw[end].type == tokenize.OP and raw[end].string == ";")
            )
            if closes:
                index = end
                continue
        if token.type in _STATEMENT_BREAKS:
            statement_start = True
        elif token.type not in _NOISE:
            statement_start = token.type == tokenize.OP and token.string == ";"
        if token.type in _NOISE:
            pass
        elif token.type == tokenize.NAME:
            after_dot = bool(kept) and kept[-1] == "."
            kept.append(_name_token(token.string, after_dot))
        elif token.type == tokenize.STRING:
            kept.append(STRING)
        elif token.type == tokenize.NUMBER:
            kept.append(NUMBER)
        else:
            kept.append(token.string)
        index += 1
    return tuple(kept)


def _fallback_tokens(code: str) -> tuple[str, ...]:
    kept: list[str] = []
    for match in _FALLBACK_TOKEN.finditer(code):
        kind = match.lastgroup
        if kind == "comment":
            continue
        if kind == "string":
            kept.append(STRING)
        elif kind == "number":
            kept.append(NUMBER)
        elif kind == "name":
            kept.append(_name_token(match.group(), bool(kept) and kept[-1] == "."))
        else:
            kept.append(match.group())
    return tuple(kept)


def normalised_tokens(code: str) -> tuple[str, ...]:
    """The tokens of ``code`` with layout, comments, docstrings and local names abstracted away.

    Non-keyword, non-builtin names become ``"ID"`` unless they follow a ``.``
    (attribute names are kept); string literals become ``"STR"``, numbers
    ``"NUM"``; operators, keywords and builtins are kept as written. The text
    is dedented first, so an indented method body tokenizes like a module.
    Text that is not valid Python for the tokenizer (an unclosed bracket, bad
    indentation, stray characters) is split by a regular expression with the
    same normalisation instead: a comparison still has something to compare,
    and this function never raises.
    """
    text = textwrap.dedent(code)
    try:
        return _python_tokens(text)
    except (tokenize.TokenError, SyntaxError, ValueError):
        # TokenError: EOF inside a bracket or string; IndentationError (a SyntaxError):
        # inconsistent dedent; ValueError: NUL characters. All are partial or garbled code.
        return _fallback_tokens(text)


def _token_ratio(first: tuple[str, ...], second: tuple[str, ...]) -> float:
    if not first and not second:
        return 1.0
    if not first or not second:
        return 0.0
    return difflib.SequenceMatcher(None, first, second, autojunk=False).ratio()


def similarity(a: str, b: str) -> float:
    """How alike two pieces of code are, in [0, 1], over their :func:`normalised_tokens`.

    1.0 for equal token streams (so for code that differs only in names,
    comments, docstrings and layout); 0.0 when exactly one side has no tokens;
    1.0 when neither has. SequenceMatcher is not exactly symmetric, so
    ``similarity(a, b)`` and ``similarity(b, a)`` may differ slightly.
    """
    return _token_ratio(normalised_tokens(a), normalised_tokens(b))


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def method_body(source: str, method: str) -> str | None:
    """The dedented source of the body of the first function named ``method``, docstring removed.

    The text runs from the body's first statement to the end of its last, comments
    between statements included. "First" is in source order, methods and module-level functions alike. A
    body that is only a docstring gives ``""``. None when no function has that
    name or when ``source`` does not parse.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        # Not Python, NUL characters, or nested too deeply to parse: there is no body to read.
        return None
    functions = [
        node
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == method
    ]
    if not functions:
        return None
    first = min(functions, key=lambda node: (node.lineno, node.col_offset))
    statements = first.body[1:] if _is_docstring(first.body[0]) else first.body
    if not statements:
        return ""
    start, end = statements[0], statements[-1]
    lines = _LINE_BREAK.split(source)[start.lineno - 1 : end.end_lineno]
    # Offsets count UTF-8 bytes. Cut the last line after the body's last statement.
    last = lines[-1].encode("utf-8")
    lines[-1] = last[: end.end_col_offset].decode("utf-8", errors="replace")
    head = lines[0].encode("utf-8")
    prefix = head[: start.col_offset].decode("utf-8", errors="replace")
    if prefix.strip():
        # Code precedes the first statement on its line (``def f(): return x``, or a docstring
        # and ``;``): indent the statement like the lines below it so dedenting keeps the nesting.
        below = [line for line in lines[1:] if line.strip()]
        prefix = below[0][: len(below[0]) - len(below[0].lstrip())] if below else ""
    lines[0] = prefix + head[start.col_offset :].decode("utf-8", errors="replace")
    return textwrap.dedent("\n".join(lines))


@dataclass(frozen=True)
class Likeness:
    """How close one piece of code is to the nearest of a set of references.

    ``scores`` holds every reference's :func:`similarity` (read-only, a
    ``dict`` subclass, so it serialises as JSON as it is); ``score`` is the
    highest and ``nearest`` its reference ("" when there were no references).
    """

    score: float
    nearest: str
    scores: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scores", freeze(dict(self.scores)))

    @property
    def verdict(self) -> str:
        """``"copy"`` at or above COPY_THRESHOLD, ``"new"`` below NEW_THRESHOLD, else ``"near"``."""
        if self.score >= COPY_THRESHOLD:
            return "copy"
        if self.score < NEW_THRESHOLD:
            return "new"
        return "near"

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "nearest": self.nearest,
            "verdict": self.verdict,
            "scores": dict(self.scores),
        }


def likeness(code: str, references: Mapping[str, str]) -> Likeness:
    """``code`` against every reference (name -> code); with none, score 0.0 and verdict "new"."""
    tokens = normalised_tokens(code)
    scores = {name: _token_ratio(tokens, normalised_tokens(text)) for name, text in references.items()}
    if not scores:
        return Likeness(score=0.0, nearest="", scores={})
    # Ties go to the first name in sorted order, so the record does not depend on dict order.
    nearest = min(scores, key=lambda name: (-scores[name], name))
    return Likeness(score=scores[nearest], nearest=nearest, scores=scores)


@functools.cache  # the library is read once per process; callers get copies
def _library_references(method: str | None, directory: Path | None) -> Mapping[str, str]:
    references: dict[str, str] = {}
    for entry in catalog(directory):
        if method is None:
            references[entry.name] = entry.source
            continue
        body = method_body(entry.source, method)
        if body is None:
            spec = HOOKS.get(entry.hook)
            body = method_body(entry.source, spec.method) if spec is not None else None
        if body is None:
            # A library mechanism without its hook method is a broken library, and leaving it
            # out would let a copy of it pass as new.
            raise LibraryError(
                f"{entry.name}: no method {method!r} and no body for its {entry.hook!r} hook method",
                code="no-hook-method",
            )
        references[entry.name] = body
    return MappingProxyType(references)


def library_references(method: str | None = None, *, directory: Path | None = None) -> dict[str, str]:
    """Every library mechanism's code, keyed by its name (a fresh dict on every call).

    Without ``method``: the whole module source. With ``method``: the body of
    that method where the mechanism defines one, else the body of its own hook
    method (a mechanism of another hook has another method, and its body is
    what a fill-in body could have been copied from). ``directory`` reads a
    library other than the installed one. Raises LibraryError
    (``no-hook-method``) for a mechanism that has neither.
    """
    folder = None if directory is None else Path(directory).resolve()
    return dict(_library_references(method, folder))


def body_likeness(
    body: str,
    method: str,
    *,
    earlier: Mapping[str, str] = _NO_REFERENCES,
    shown: Mapping[str, str] = _NO_REFERENCES,
) -> Likeness:
    """A model-written body of ``method`` against everything it could have been copied from.

    The references are the library mechanisms' hook-method bodies (keyed by
    mechanism name), ``earlier`` sessions' bodies (keys prefixed
    ``"earlier:"``) and the bodies the prompt ``shown`` (keys prefixed
    ``"shown:"``).
    """
    references = library_references(method)
    references.update({f"earlier:{name}": text for name, text in earlier.items()})
    references.update({f"shown:{name}": text for name, text in shown.items()})
    return likeness(body, references)
