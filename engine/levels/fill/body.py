"""From a model's completion to a method body: cut, re-indent, fix the common slips.

A completion continues the method the engine started, so it should be the
method's body and nothing else. Small models add to it: a second method, the
module's ``build``, a closing fence, an ``import`` of something the module
already has, ``random.choice`` where the module asks for ``self.rng.choice``.
Each correction here is one the sandbox would otherwise reject for a reason
that has nothing to do with the idea, and each is recorded by name, so the
record shows exactly what was changed in what the model wrote.

Nothing here makes unsafe code safe: the assembled module still goes through
every sandbox stage.
"""

from __future__ import annotations

import ast
import random as _random
import re
from collections.abc import Collection
from dataclasses import dataclass

from .helpers import HELPERS
from .skeleton import BODY_INDENT

__all__ = ["Body", "clean_body", "is_empty"]

# Module-level functions of ``random`` that a mechanism must call on its own seeded generator.
_RNG_FUNCTIONS = frozenset(name for name in dir(_random.Random) if not name.startswith("_")
                           and callable(getattr(_random.Random, name))) - {"seed", "getstate", "setstate"}
_RNG_CALL = re.compile(r"(?<![\w.])random\.(" + "|".join(sorted(_RNG_FUNCTIONS)) + r")\(")
_STOP_LINE = re.compile(r"\s*(def |class |@|if __name__|```)")
_IMPORT = re.compile(r"\s*(import\s+\w|from\s+\w[\w.]*\s+import\s)")
_PRINT = re.compile(r"\s*print\(")
_TRACE_INDEX = re.compile(r"\btrace\[")
_SELF_HELPER = re.compile(r"\bself\.(" + "|".join(HELPERS) + r")\(")


@dataclass(frozen=True)
class Body:
    """A cleaned method body and the fixes applied to it, by name."""

    text: str
    fixes: tuple[str, ...]
    raw: str

    @property
    def empty(self) -> bool:
        return is_empty(self.text)


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def clean_body(completion: str, *, names: Collection[str] = (), decline: str | None = None) -> Body:
    """The body in ``completion`` (what followed the method's docstring), at the method's indentation.

    With ``decline`` (for a hook whose method is given the ``space``: the
    source text of its "nothing" answer, ``None`` or ``""``), a body that
    names parameters of this run (``names``) as string literals is prefixed
    with a check that they are in the space, returning that when one is not:
    the method is written for this search, and the sandbox also calls it on
    searches without those parameters, where it must decline, not raise.
    """
    fixes: list[str] = []
    lines = completion.expandtabs(4).replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return Body("", (), completion)
    base = _indent_of(lines[0])
    if base != len(BODY_INDENT):
        fixes.append("re-indented")
    kept: list[str] = []
    for line in lines:
        if line.strip().startswith("```"):
            fixes.append("dropped-fence")
            break
        if line.strip() and (_indent_of(line) < base or (_indent_of(line) == base and _STOP_LINE.match(line)
                                                           and kept)):
            fixes.append("cut-after-method")
            break
        kept.append(BODY_INDENT + line[base:] if line.strip() else "")
    out: list[str] = []
    for line in kept:
        if _IMPORT.match(line):
            fixes.append("dropped-import")
            continue
        if _PRINT.match(line) and line.rstrip().endswith(")"):
            fixes.append("dropped-print")
            continue
        for pattern, replacement, fix in ((_RNG_CALL, lambda m: f"self.rng.{m.group(1)}(", "seeded-rng"),
                                          (_TRACE_INDEX, lambda m: "trace.trials[", "trace-trials"),
                                          (_SELF_HELPER, lambda m: f"{m.group(1)}(", "helper-not-a-method")):
            fixed = pattern.sub(replacement, line)
            if fixed != line:
                fixes.append(fix)
                line = fixed
        out.append(line)
    while out and not out[-1].strip():
        out.pop()
    text, renamed = _unshadow_helpers("\n".join(out) + ("\n" if out else ""))
    if renamed:
        fixes.append("unshadowed-helper")
    used = _named_parameters(text, names) if decline is not None else []
    if used:
        condition = " or ".join(f"{name!r} not in space" for name in used)
        text = f"{BODY_INDENT}if {condition}:\n{BODY_INDENT}    return {decline}\n" + text
        fixes.append("guarded-names")
    return Body(text, tuple(dict.fromkeys(fixes)), completion)


def _named_parameters(text: str, names: Collection[str]) -> list[str]:
    """The parameters of ``names`` the body spells out as string literals, in order of appearance."""
    try:
        tree = ast.parse("def f():\n" + text)
    except SyntaxError:
        return []  # the sandbox reports it at its line
    wanted = set(names)
    found = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value in wanted]
    return list(dict.fromkeys(found))


def _unshadow_helpers(text: str) -> tuple[str, bool]:
    """``least_tried = least_tried(...)`` makes the helper a local name: rename the variable instead.

    Every use of the name that is not a call becomes ``<name>_found``; the
    calls keep reaching the helper.
    """
    changed = False
    for name in HELPERS:
        if not re.search(rf"^\s*{name}\s*=(?!=)", text, re.MULTILINE):
            continue
        text = re.sub(rf"(?<![\w.]){name}\b(?!\s*\()", f"{name}_found", text)
        changed = True
    return text, changed


def is_empty(body: str) -> bool:
    """True when the body does nothing: only ``pass``, ``...``, comments, or ``return`` of None, "" or False."""
    try:
        tree = ast.parse("def f():\n" + (body if body.strip() else BODY_INDENT + "pass\n"))
    except SyntaxError:
        return False  # not empty: wrong, and the sandbox says where
    function = tree.body[0]
    if not isinstance(function, ast.FunctionDef):  # unreachable: the parsed text starts with the def
        return False
    for statement in function.body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue
        if isinstance(statement, ast.Return) and (statement.value is None or (
                isinstance(statement.value, ast.Constant) and not statement.value.value)):
            continue  # returns the hook's "nothing" (None, "", False)
        return False
    return True
