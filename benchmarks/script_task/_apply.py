"""Apply validated changes to a script's hyperparameter block, as literals.

An UPPERCASE parameter's value is replaced where it is assigned; a dict
parameter ``name.key`` has the value of that one key replaced inside the
dict literal, so the other keys, the comments and the layout stay as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import libcst as cst

from interfaces import SearchSpace, SpaceError, SpaceViolation

from ._discover import _UPPER, _target_name, find_assignments
from ._literals import NotALiteral, literal_value, render_literal

__all__ = ["ProposalRejected", "apply_changes", "rewrite_literals"]


class ProposalRejected(SpaceError):
    """Changes that may not be applied; ``violations`` says each reason."""

    def __init__(self, violations: tuple[SpaceViolation, ...]) -> None:
        self.violations = tuple(violations)
        codes = sorted({v.code for v in self.violations})
        super().__init__("; ".join(str(v) for v in self.violations),
                         code=codes[0] if len(codes) == 1 else "invalid-proposal")


class _Rewriter(cst.CSTTransformer):
    def __init__(self, values: Mapping[str, cst.BaseExpression],
                 keyed: Mapping[str, Mapping[str, cst.BaseExpression]]) -> None:
        self.values = values
        self.keyed = keyed

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
        if target is None:
            return updated
        name = target[0]
        if name in self.keyed and isinstance(updated.value, cst.Dict):
            return updated.with_changes(value=self._replace_keys(updated.value, self.keyed[name]))
        if not _UPPER.match(name) or name not in self.values:
            return updated
        return updated.with_changes(value=self.values[name])

    @staticmethod
    def _replace_keys(node: cst.Dict, values: Mapping[str, cst.BaseExpression]) -> cst.Dict:
        elements = []
        for element in node.elements:
            # Discovery admitted this dict, so every element is a DictElement with a plain string key.
            key = literal_value(element.key) if isinstance(element, cst.DictElement) else None
            if isinstance(key, str) and key in values:
                element = element.with_changes(value=values[key])
            elements.append(element)
        return node.with_changes(elements=elements)


def rewrite_literals(source: str, values: Mapping[str, Any]) -> str:
    """Replace the literal bound to each name in ``values``; no validation of bounds.

    Every name must be a parameter :func:`find_assignments` finds in ``source`` and
    every value must be a plain literal (checked by rendering and reading it
    back), so nothing but a literal can ever be written. Callers validate
    values against a search space first; :func:`apply_changes` does both.
    """
    present = {a.name: a for a in find_assignments(source)}
    problems = [SpaceViolation("unknown-parameter", n, f"{n} is not assigned a literal at module level")
                for n in values if n not in present]
    nodes: dict[str, cst.BaseExpression] = {}
    keyed: dict[str, dict[str, cst.BaseExpression]] = {}
    for name, value in values.items():
        try:
            node = render_literal(value)
        except (NotALiteral, cst.ParserSyntaxError) as exc:
            problems.append(SpaceViolation("not-a-literal", name, f"{name}: {exc}"))
            continue
        found = present.get(name)
        if found is not None and found.container:
            keyed.setdefault(found.container, {})[found.key] = node
        else:
            nodes[name] = node
    if problems:
        raise ProposalRejected(tuple(problems))
    module = cst.parse_module(source)
    return module.visit(_Rewriter(nodes, keyed)).code


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
