"""Stage 3: compile with RestrictedPython, which rewrites attribute, item,
iteration and write operations into calls of the environment's guards."""

from __future__ import annotations

import ast
import re
import time

from RestrictedPython import compile_restricted_exec
from RestrictedPython.transformer import IOPERATOR_TO_STR, RestrictingNodeTransformer, copy_locations

from ._records import StageResult, Violation

__all__ = ["compile_stage"]

_LINE = re.compile(r"Line (\d+)")


class _MechanismTransformer(RestrictingNodeTransformer):
    """RestrictedPython's transformer, extended with two forms ordinary
    mechanism code uses: annotated assignments (dataclass fields) and augmented
    assignment to attributes and items (``self.count += 1``). Both are
    rewritten into forms that still pass through ``_write_``; the owner and
    key are evaluated once, as in plain Python."""

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST | None:
        if isinstance(node.target, ast.Name):
            return self.node_contents_visit(node)
        if node.value is None:
            return None  # ``self.x: int`` alone does nothing at run time
        assign = ast.Assign(targets=[node.target], value=node.value)
        copy_locations(assign, node)
        return self.visit(assign)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        target = node.target
        if not isinstance(target, (ast.Attribute, ast.Subscript)):
            return super().visit_AugAssign(node)
        operator_text = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        if isinstance(target, ast.Attribute):
            if target.attr.startswith("_"):
                self.error(node, f'"{target.attr}" is an invalid attribute name because it starts with "_".')
                return node
            helper, place = "_augattr_", ast.Constant(target.attr)
        else:
            if isinstance(target.slice, ast.Slice):
                self.error(node, "Augmented assignment to a slice is not allowed; assign the slice instead")
                return node
            helper, place = "_augitem_", self.visit(target.slice)
        owner = ast.Call(func=ast.Name("_write_", ast.Load()), args=[self.visit(target.value)], keywords=[])
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
    for error in result.errors:
        match = _LINE.search(error)
        line = int(match.group(1)) if match else 0
        violations.append(Violation("restricted-compile", line, 0, f"{error}; rewrite without it"))
    ok = result.code is not None and not violations
    return StageResult("compile", ok, time.perf_counter() - start, tuple(violations),
                       details="; ".join(result.warnings), value=result.code if ok else None)
