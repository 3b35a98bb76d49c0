"""Apply validated changes to a script's hyperparameter block, as literals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libcst as cst

from interfaces import SearchSpace, SpaceError, SpaceViolation

from ._discover import _UPPER, _target_name, find_assignments
from ._literals import NotALiteral, render_literal

__all__ = ["ProposalRejected", "apply_changes", "rewrite_literals"]


class ProposalRejected(SpaceError):
    """Changes that may not be applied; ``violations`` says each reason."""

    def __init__(self, violations: tuple[SpaceViolation, ...]) -> None:
        self.violations = tuple(violations)
        codes = sorted({v.code for v in self.violations})
        super().__init__("; ".join(str(v) for v in self.violations),
                         code=codes[0] if len(codes) == 1 else "invalid-proposal")


class _Rewriter(cst.CSTTransformer):
    def __init__(self, values: Mapping[str, cst.BaseExpression]) -> None:
        self.values = values

    # Only statements directly in the module body belong to the block.
    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> bool:
        return False

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> bool:
        return False

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        return self._replace(original, updated)

    def leave_AnnAssign(self, original: cst.AnnAssign, updated: cst.AnnAssign) -> cst.AnnAssign:
        return self._replace(original, updated)

    def _replace(self, original: Any, updated: Any) -> Any:
        target = _target_name(original)
        if target is None or not _UPPER.match(target[0]) or target[0] not in self.values:
            return updated
        return updated.with_changes(value=self.values[target[0]])


def rewrite_literals(source: str, values: Mapping[str, Any]) -> str:
    """Replace the literal bound to each name in ``values``; no validation of bounds.

    Every name must be a module-level literal assignment of ``source`` and
    every value must be a plain literal (checked by rendering and reading it
    back), so nothing but a literal can ever be written. Callers validate
    values against a search space first; :func:`apply_changes` does both.
    """
    present = {a.name for a in find_assignments(source)}
    problems = [SpaceViolation("unknown-parameter", n, f"{n} is not assigned a literal at module level")
                for n in values if n not in present]
    nodes: dict[str, cst.BaseExpression] = {}
    for name, value in values.items():
        try:
            nodes[name] = render_literal(value)
        except (NotALiteral, cst.ParserSyntaxError) as exc:
            problems.append(SpaceViolation("not-a-literal", name, f"{name}: {exc}"))
    if problems:
        raise ProposalRejected(tuple(problems))
    module = cst.parse_module(source)
    return module.visit(_Rewriter(nodes)).code


def apply_changes(source: str, changes: Mapping[str, Any], space: SearchSpace,
                  *, frozen: tuple[str, ...] = ()) -> str:
    """The script with ``changes`` applied, after validating them against ``space``.

    Raises :class:`ProposalRejected` (a ``SpaceError``) listing every
    violation; the source text itself is never modified in place. An empty
    change set returns the source unchanged.
    """
    if not changes:
        return source
    violations = space.validate(changes, frozen=frozen)
    if violations:
        raise ProposalRejected(violations)
    return rewrite_literals(source, changes)
