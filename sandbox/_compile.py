"""Stage 3: compile with RestrictedPython, which rewrites attribute, item,
iteration and write operations into calls of the environment's guards."""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Iterable

from RestrictedPython import compile_restricted_exec
from RestrictedPython.transformer import IOPERATOR_TO_STR, RestrictingNodeTransformer, copy_locations

from ._policy import is_private_name
from ._records import StageResult, Violation

__all__ = ["compile_stage", "is_main_block"]

_LINE = re.compile(r"Line (\d+)")

# The node kinds that carry a position, and what a visit may return: the types RestrictedPython's
# transformer declares for the methods overridden below.
_Positioned = ast.stmt | ast.expr | ast.excepthandler | ast.arg | ast.keyword | ast.alias | ast.pattern
_Visited = ast.AST | Iterable[ast.AST] | None


def is_main_block(node: ast.stmt) -> bool:
    """True for exactly ``if __name__ == "__main__":`` with no ``elif``/``else``.

    Such a block never runs in a mechanism (the module's ``__name__`` is its
    content-derived name), so it is dropped before compiling; the guard ignores
    the same form, and only that form."""
    if not isinstance(node, ast.If) or node.orelse:
        return False
    test = node.test
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
            and isinstance(test.comparators[0], ast.Constant) and type(test.comparators[0].value) is str
            and test.comparators[0].value == "__main__")


class _MechanismTransformer(RestrictingNodeTransformer):
    """RestrictedPython's transformer, extended with forms ordinary mechanism
    code uses:

    - annotated assignments (dataclass fields) and augmented assignment to
      attributes and items (``self.count += 1``), rewritten into forms that
      still pass through ``_write_``; the owner and key are evaluated once, as
      in plain Python;
    - single-underscore names and attributes (``_helper``, ``self._tabu``; see
      :func:`~sandbox._policy.is_private_name`). RestrictedPython refuses every
      leading underscore; here the names are let through and the attributes
      get the same rewriting as public ones: loads become ``_getattr_(obj,
      "_x")``, stores and deletes go through ``_write_private_(obj, "_x")``.
      Both guards allow the attribute only on the mechanism's own objects and
      classes, so the decision is made at run time on the real object;
    - ``nonlocal``, which only rebinds a variable of an enclosing function;
    - a module-level ``if __name__ == "__main__":`` block, which is dropped.
    """

    def check_name(self, node: _Positioned, name: str | None, allow_magic_methods: bool = False) -> None:
        if name is not None and is_private_name(name):
            return
        super().check_name(node, name, allow_magic_methods)

    def visit_Module(self, node: ast.Module) -> _Visited:
        node.body = [statement for statement in node.body if not is_main_block(statement)]
        return super().visit_Module(node)

    def visit_Nonlocal(self, node: ast.Nonlocal) -> ast.AST:
        for name in node.names:
            self.check_name(node, name)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> _Visited:
        if not is_private_name(node.attr):
            return super().visit_Attribute(node)
        node = self.node_contents_visit(node)
        if isinstance(node.ctx, ast.Load):
            call = ast.Call(func=ast.Name("_getattr_", ast.Load()),
                            args=[node.value, ast.Constant(node.attr)], keywords=[])
            copy_locations(call, node)
            return call
        owner = ast.Call(func=ast.Name("_write_private_", ast.Load()),
                         args=[node.value, ast.Constant(node.attr)], keywords=[])
        copy_locations(owner, node.value)
        node.value = owner
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST | None:
        if isinstance(node.target, ast.Name):
            return self.node_contents_visit(node)
        if node.value is None:
            return None  # ``self.x: int`` alone does nothing at run time
        assign = ast.Assign(targets=[node.target], value=node.value)
        copy_locations(assign, node)
        return self.visit(assign)

    def visit_AugAssign(self, node: ast.AugAssign) -> _Visited:
        target = node.target
        if not isinstance(target, (ast.Attribute, ast.Subscript)):
            return super().visit_AugAssign(node)
        operator_text = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        guard, guard_args = "_write_", []
        if isinstance(target, ast.Attribute):
            if is_private_name(target.attr):
                guard, guard_args = "_write_private_", [ast.Constant(target.attr)]
            elif target.attr.startswith("_"):
                self.error(node, f'"{target.attr}" is an invalid attribute name because it starts with "_".')
                return node
            helper, place = "_augattr_", ast.Constant(target.attr)
        else:
            if isinstance(target.slice, ast.Slice):
                self.error(node, "Augmented assignment to a slice is not allowed; assign the slice instead")
                return node
            helper, place = "_augitem_", self.visit(target.slice)
        owner = ast.Call(func=ast.Name(guard, ast.Load()), args=[self.visit(target.value), *guard_args],
                         keywords=[])
        call = ast.Call(func=ast.Name(helper, ast.Load()),
                        args=[operator_text, owner, place, self.visit(node.value)], keywords=[])
        statement = ast.Expr(value=call)
        copy_locations(statement, node)
        return ast.fix_missing_locations(statement)


def compile_stage(source: str, name: str) -> StageResult:
    """Compile ``source`` to a restricted code object (in ``value``); never raises."""
    start = time.perf_counter()
    try:
        result = compile_restricted_exec(source, filename=f"<{name}>", policy=_MechanismTransformer)
    except (RecursionError, MemoryError, ValueError, SyntaxError) as error:
        violation = Violation("restricted-compile", 1, 0, f"the restricted compiler refused the code: {error}")
        return StageResult("compile", False, time.perf_counter() - start, (violation,))
    violations = []
    for message in result.errors:
        match = _LINE.search(message)
        line = int(match.group(1)) if match else 0
        violations.append(Violation("restricted-compile", line, 0, f"{message}; rewrite without it"))
    ok = result.code is not None and not violations
    return StageResult("compile", ok, time.perf_counter() - start, tuple(violations),
                       details="; ".join(result.warnings), value=result.code if ok else None)
