"""Stage 3: compile with RestrictedPython, which rewrites attribute, item,
iteration and write operations into calls of the environment's guards."""

from __future__ import annotations

import ast
import copy
import re
import time

from RestrictedPython import compile_restricted_exec
from RestrictedPython.transformer import IOPERATOR_TO_STR, RestrictingNodeTransformer, copy_locations

from ._records import StageResult, Violation

__all__ = ["compile_stage"]

_LINE = re.compile(r"Line (\d+)")


def _side_effect_free(node: ast.AST) -> bool:
    """Names, constants and attribute/item chains of those: safe to evaluate twice."""
    if isinstance(node, (ast.Name, ast.Constant)):
        return True
    if isinstance(node, ast.Attribute):
        return _side_effect_free(node.value)
    if isinstance(node, ast.Subscript):
        return _side_effect_free(node.value) and _side_effect_free(node.slice)
    if isinstance(node, ast.Tuple):
        return all(_side_effect_free(e) for e in node.elts)
    return False


def _as_load(node: ast.AST) -> ast.AST:
    loaded = copy.deepcopy(node)
    for child in ast.walk(loaded):
        if hasattr(child, "ctx"):
            child.ctx = ast.Load()
    return loaded


class _MechanismTransformer(RestrictingNodeTransformer):
    """RestrictedPython's transformer, extended with two forms ordinary
    mechanism code uses: annotated assignments (dataclass fields) and augmented
    assignment to attributes and items (``self.count += 1``). Both are
    rewritten into forms that still pass through ``_write_``/``_getattr_``."""

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST | None:
        if isinstance(node.target, ast.Name):
            return self.node_contents_visit(node)
        if node.value is None:
            return None  # ``self.x: int`` alone does nothing at run time
        assign = ast.Assign(targets=[node.target], value=node.value)
        copy_locations(assign, node)
        return self.visit(assign)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        if not isinstance(node.target, (ast.Attribute, ast.Subscript)):
            return super().visit_AugAssign(node)
        if not _side_effect_free(node.target):
            self.error(node, "Augmented assignment needs a simple target such as self.x or d[key]; "
                       "compute the key into a variable first")
            return node
        current = self.visit(_as_load(node.target))
        target = self.visit(node.target)
        value = self.visit(node.value)
        call = ast.Call(func=ast.Name("_inplacevar_", ast.Load()),
                        args=[ast.Constant(IOPERATOR_TO_STR[type(node.op)]), current, value], keywords=[])
        assign = ast.Assign(targets=[target], value=call)
        copy_locations(assign, node)
        return ast.fix_missing_locations(assign)


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
