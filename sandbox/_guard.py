"""Stage 2: a default-deny libcst guard.

Every node kind must be on the allow-list (``_ALLOWED_NODES``); kinds that
need a closer look have their own ``visit_<Kind>`` method. All violations are
collected, each with a position and a message that says what to do instead.
Identifiers are compared after NFKC normalisation, the same folding Python
applies, so ``ｅｖａｌ`` is ``eval``.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Collection, Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, ProviderT

from ._policy import (
    ALWAYS_FORBIDDEN_NAMES,
    DEFAULT_POLICY,
    FRAME_ATTRIBUTES,
    GLOBAL_RNG_FUNCTIONS,
    Policy,
    is_private_name,
)
from ._records import StageResult, Violation

__all__ = ["guard_stage"]


def _kinds_derived_from(*bases: type) -> set[str]:
    return {name for name in cst.__all__
            if isinstance(getattr(cst, name), type) and issubclass(getattr(cst, name), bases)}


_OPERATORS = _kinds_derived_from(cst.BaseUnaryOp, cst.BaseBinaryOp, cst.BaseBooleanOp, cst.BaseCompOp,
                                 cst.BaseAugOp)
_PUNCTUATION = {
    "AssignEqual", "Colon", "Comma", "Dot", "Semicolon", "LeftParen", "RightParen", "LeftSquareBracket",
    "RightSquareBracket", "LeftCurlyBrace", "RightCurlyBrace", "ImportStar",
}
_LAYOUT = {"Comment", "EmptyLine", "Newline", "ParenthesizedWhitespace", "SimpleWhitespace",
           "TrailingWhitespace", "IndentedBlock", "SimpleStatementLine", "SimpleStatementSuite"}
_STRUCTURE = {
    "Module", "Expr", "Assign", "AssignTarget", "AnnAssign", "AugAssign", "Annotation", "Name", "Attribute",
    "Call", "Arg", "Integer", "Float", "Imaginary", "SimpleString", "ConcatenatedString", "FormattedString",
    "FormattedStringText", "FormattedStringExpression", "FunctionDef", "Parameters", "Param", "ParamStar",
    "ParamSlash", "ClassDef", "Return", "If", "Else", "For", "While", "Break", "Continue", "Pass", "Try",
    "ExceptHandler", "Finally", "Raise", "Assert", "Del", "Import", "ImportFrom", "ImportAlias", "AsName",
    "Comparison", "ComparisonTarget", "BinaryOperation", "BooleanOperation", "UnaryOperation", "List",
    "Tuple", "Set", "Dict", "DictElement", "StarredDictElement", "Element", "StarredElement", "Subscript",
    "SubscriptElement", "Index", "Slice", "ListComp", "SetComp", "DictComp", "GeneratorExp", "CompFor",
    "CompIf", "Lambda", "IfExp", "Decorator", "Ellipsis", "With", "WithItem", "Yield", "NamedExpr",
    # ``raise X from Y`` and ``yield from it``: the cause is an ordinary exception object, and
    # ``yield from`` iterates as a ``for`` loop would (the environment's _getiter_ is plain iter).
    "From",
    # ``nonlocal`` rebinds a variable of an enclosing function, nothing more.
    "Nonlocal", "NameItem",
}
_ALLOWED_NODES = frozenset(_OPERATORS | _PUNCTUATION | _LAYOUT | _STRUCTURE)

# Explanations for kinds that are refused outright.
_REFUSED_KINDS = {
    # Module globals are shared by every instance, so ``global`` state breaks the rule that two
    # instances built with the same seed answer alike.
    "Global": ("global-statement", "do not use global; keep state on self (nonlocal is fine in closures)"),
    "Await": ("async-not-allowed", "do not use async or await; write ordinary synchronous code"),
    "Asynchronous": ("async-not-allowed", "do not use async or await; write ordinary synchronous code"),
    "TryStar": ("forbidden-syntax", "do not use except*; use a plain try/except"),
    "Match": ("forbidden-syntax", "do not use match statements; use if/elif"),
}

_GETATTR_LIKE = {"getattr", "hasattr"}
_DUNDER_TEXT = re.compile(r".*__[A-Za-z0-9]\w*__.*", re.DOTALL)


def _normal(name: str) -> str:
    return unicodedata.normalize("NFKC", name)


def _dotted(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return _normal(node.value)
    if isinstance(node, cst.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{_normal(node.attr.value)}"
    return None


def _literal_string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString) and "f" not in node.prefix.lower():
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _is_main_block(node: cst.CSTNode) -> bool:
    """Exactly ``if __name__ == "__main__":`` without ``elif``/``else``: the form
    :func:`sandbox._compile.is_main_block` drops before compiling."""
    if not isinstance(node, cst.If) or node.orelse is not None:
        return False
    test = node.test
    if not (isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name)
            and test.left.value == "__name__" and len(test.comparisons) == 1):
        return False
    (target,) = test.comparisons
    return isinstance(target.operator, cst.Equal) and _literal_string(target.comparator) == "__main__"


class _Bindings(cst.CSTVisitor):
    """The names a module binds itself outside class bodies: assignment, ``for``,
    ``with``/``except``/import ``as`` and walrus targets, parameters,
    comprehension variables, function and class names. Run only when a
    forbidden name appears, to tell a variable called ``id`` from the builtin."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.class_bodies: list[bool] = []

    def bind(self, target: cst.CSTNode | None) -> None:
        if isinstance(target, cst.Name):
            self.names.add(_normal(target.value))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.bind(element.value)
        elif isinstance(target, cst.StarredElement):
            self.bind(target.value)

    def in_class_body(self) -> bool:
        return bool(self.class_bodies) and self.class_bodies[-1]

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        if not self.in_class_body():
            self.bind(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if not self.in_class_body():
            self.bind(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if not self.in_class_body():
            self.bind(node.target)

    def visit_For(self, node: cst.For) -> None:
        if not self.in_class_body():
            self.bind(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self.bind(node.target)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self.bind(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self.bind(node.name)

    def visit_Param(self, node: cst.Param) -> None:
        self.bind(node.name)

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        if node.asname is None and isinstance(node.name, cst.Name):
            self.bind(node.name)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not self.in_class_body():
            self.bind(node.name)
        self.class_bodies.append(False)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.class_bodies.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if not self.in_class_body():
            self.bind(node.name)
        self.class_bodies.append(True)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.class_bodies.pop()


class _Guard(cst.CSTVisitor):
    """Runs first without position metadata (computing it costs more than the
    checks); only code with violations is visited again by
    :class:`_PositionedGuard` to attach line and column numbers."""

    def __init__(self, policy: Policy, entry_point: str, bound: frozenset[str] | None = None,
                 ignored: tuple[cst.CSTNode, ...] = ()) -> None:
        super().__init__()
        self.policy = policy
        self.entry_point = entry_point
        self.violations: list[Violation] = []
        self.nodes = 0
        self.module_aliases: dict[str, str] = {}  # local name -> allowed module
        self.imported_names: set[str] = set()  # local names bound by ``from <allowed module> import``
        # Names the module binds itself (None until known): a forbidden name is refused only
        # where it can mean the builtin. Until the bindings are known, uses are only noted.
        self.bound = bound
        self.unresolved_forbidden: list[str] = []
        self.ignored = ignored  # the ``__main__`` blocks, never visited
        self.entry_found = False
        self.depth = 0
        self.class_bodies: list[bool] = []  # True while directly inside a class body

    # -- bookkeeping -------------------------------------------------------
    def report(self, node: cst.CSTNode, code: str, message: str) -> None:
        try:
            start = self.get_metadata(PositionProvider, node).start
            line, col = start.line, start.column
        except Exception:  # noqa: BLE001 - no metadata in the fast first pass
            line, col = 0, 0
        self.violations.append(Violation(code, line, col, message))

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.nodes += 1
        kind = type(node).__name__
        if kind in _REFUSED_KINDS:
            code, message = _REFUSED_KINDS[kind]
            self.report(node, code, message)
            return False
        if kind not in _ALLOWED_NODES:
            self.report(node, "forbidden-syntax", f"the construct {kind} is not allowed; use plain "
                        "functions, classes, loops and expressions")
            return False
        return super().on_visit(node)

    # -- names -------------------------------------------------------------
    def check_identifier(self, node: cst.CSTNode, raw: str, *, attribute: bool) -> None:
        name = _normal(raw)
        if not raw.isascii():
            self.report(node, "non-ascii-identifier",
                        f"identifier {raw!r} is not plain ASCII (it reads as {name!r}); use ASCII names")
        if attribute:
            # A single-underscore attribute (``self._tabu``) is the run-time guard's call: it
            # allows it only on the mechanism's own objects and classes.
            if name.startswith("__"):
                self.report(node, "dunder-attribute", f"attribute {name!r} is off limits; only use "
                            "public attributes and single-underscore attributes of your own objects")
            elif name.startswith("_") and not is_private_name(name):
                self.report(node, "private-attribute", f"attribute {name!r} is reserved (names like _x_ "
                            "belong to enum and the sandbox); use a name such as _x")
            elif name in FRAME_ATTRIBUTES:
                self.report(node, "frame-attribute", f"attribute {name!r} reaches interpreter internals; "
                            "it is not available")
            elif name == "format_map":
                self.report(node, "format-method", "str.format_map is not allowed; use str.format with "
                            "keyword arguments or an f-string")
            return
        if name.startswith("__"):
            self.report(node, "dunder-name", f"name {name!r} starts with two underscores; use at most one")
        elif name.startswith("_") and name != "_" and not is_private_name(name):
            self.report(node, "private-name", f"name {name!r} is reserved (names like _x_, _print and _tmp0 "
                        "belong to the sandbox); use a name such as _x")
        elif name in self.policy.forbidden_names:
            self.check_forbidden_name(node, name)

    def check_forbidden_name(self, node: cst.CSTNode, name: str) -> None:
        # Where the module binds such a name itself (``for id in ids``, ``def f(type)``), every
        # use means the module's own value: none of these builtins is in the environment, so an
        # unbound use is a NameError at run time, never the builtin. A few names the restricted
        # compiler rewrites or refuses wherever they appear stay refused regardless.
        if name not in ALWAYS_FORBIDDEN_NAMES:
            if self.bound is None:
                self.unresolved_forbidden.append(name)
                return
            if name in self.bound:
                return
        self.report(node, "forbidden-name", f"{name!r} is not available in a mechanism; use plain "
                    "attribute access, the allowed builtins and the allowed modules")

    def visit_Name(self, node: cst.Name) -> None:
        self.check_identifier(node, node.value, attribute=False)

    def visit_Arg(self, node: cst.Arg) -> bool | None:
        # A keyword argument's name (``field(type=int)``) names a parameter, never a builtin.
        if node.keyword is not None:
            raw = node.keyword.value
            if not raw.isascii() or raw.startswith("_"):
                self.check_identifier(node.keyword, raw, attribute=True)
        node.value.visit(self)
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool | None:
        self.check_identifier(node.attr, node.attr.value, attribute=True)
        owner = _dotted(node.value)
        attr = _normal(node.attr.value)
        module = self.module_aliases.get(owner or "")
        if module is not None and not attr.startswith("_"):
            self.check_module_member(node, module, attr)
        elif is_private_name(attr) and self.is_foreign(node.value):
            self.report(node.attr, "private-attribute", f"attribute {attr!r} is private to an object the "
                        "mechanism did not create; only your own objects and classes have usable private "
                        "attributes")
        node.value.visit(self)
        return False  # node.attr was checked as an attribute, not as a name

    def is_foreign(self, node: cst.BaseExpression) -> bool:
        """True where an expression is plainly not the mechanism's own object: an
        allowed module or anything reached from one, an imported name, what calling
        one returns, a literal. The run-time guard decides everything else."""
        if isinstance(node, cst.Call):
            node = node.func
            if (_dotted(node) or "").split(".")[-1] in ("namedtuple", "NamedTuple"):
                return False  # the class it returns is the mechanism's own
        if isinstance(node, (cst.BaseString, cst.Integer, cst.Float, cst.List, cst.Dict, cst.Set, cst.Tuple)):
            return True
        head = (_dotted(node) or "").split(".")[0]
        return head in self.module_aliases or head in self.imported_names

    def check_module_member(self, node: cst.CSTNode, module: str, member: str) -> None:
        if member in self.policy.modules[module]:
            return
        if module == "random" and member in GLOBAL_RNG_FUNCTIONS:
            self.report(node, "global-rng", f"random.{member} uses the shared global generator; create "
                        "self.rng = random.Random(seed) in __init__ and call self.rng." + member)
            return
        allowed = ", ".join(sorted(self.policy.modules[module]))
        self.report(node, "forbidden-import", f"{module}.{member} is not available; {module} offers: {allowed}")

    def visit_Expr(self, node: cst.Expr) -> bool | None:
        # A bare string statement (a docstring) is never a value the code can pass on, so it
        # may mention ``__main__`` or ``__init__``; f-strings are still checked, they evaluate.
        value = node.value
        while isinstance(value, cst.ConcatenatedString) and isinstance(value.left, cst.SimpleString):
            value = value.right
        return not isinstance(value, cst.SimpleString)

    def visit_If(self, node: cst.If) -> bool | None:
        return not any(node is block for block in self.ignored)

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        value = _literal_string(node)
        if isinstance(value, str) and _DUNDER_TEXT.fullmatch(value):
            self.report(node, "dunder-string", f"the string {value!r} names a dunder attribute; strings "
                        "naming dunder attributes are not allowed (they feed attrgetter and format lookups)")

    def check_write_target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Attribute):
            owner = _dotted(target.value) or ""
            if owner.split(".")[0] in self.module_aliases:
                self.report(target, "module-write", f"assigning to {owner}.{target.attr.value} would change a "
                            "shared module; keep your own state on self instead")
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self.check_write_target(element.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self.check_write_target(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self.check_write_target(node.target)

    # -- imports -----------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> bool | None:
        for alias in node.names:
            module = _dotted(alias.name) or ""
            if module not in self.policy.modules:
                self.report(alias, "forbidden-import", f"import of {module!r} is not allowed; allowed "
                            f"modules: {', '.join(sorted(self.policy.modules))}")
                continue
            local = _dotted(alias.asname.name) if alias.asname else module
            if local:
                self.check_identifier(alias, local, attribute=False)
                self.module_aliases[local] = module
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool | None:
        module = _dotted(node.module) if node.module is not None else None
        if node.relative:
            self.report(node, "forbidden-import", "relative imports are not allowed; import from the "
                        "allowed standard-library modules only")
            return False
        if isinstance(node.names, cst.ImportStar):
            self.report(node, "star-import", f"'from {module} import *' is not allowed; import the names "
                        "you use one by one")
            return False
        if module == "__future__":
            for alias in node.names:
                if _dotted(alias.name) != "annotations":
                    self.report(alias, "forbidden-import", "only 'from __future__ import annotations' is allowed")
            return False
        if module is None or module not in self.policy.modules:
            self.report(node, "forbidden-import", f"import from {module!r} is not allowed; allowed modules: "
                        f"{', '.join(sorted(self.policy.modules))}")
            return False
        for alias in node.names:
            member = _dotted(alias.name) or ""
            self.check_identifier(alias, member, attribute=True)
            local = member
            if alias.asname is not None:
                local = _dotted(alias.asname.name) or ""
                self.check_identifier(alias, local, attribute=False)
            self.imported_names.add(local)
            if is_private_name(member):
                self.report(alias, "private-attribute", f"{module}.{member} is private to the module; import "
                            "only the names it offers")
            elif not member.startswith("_"):
                self.check_module_member(alias, module, member)
        return False

    # -- definitions ---------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool | None:
        name = _normal(node.name.value)
        if node.asynchronous is not None:
            self.report(node, "async-not-allowed", "do not use async def; write a plain def")
        if self.depth == 0 and name == self.entry_point:
            self.entry_found = True
        if name.startswith("__") and name.endswith("__") and len(name) > 4:
            if name not in self.policy.dunder_methods or self.depth == 0:
                allowed = ", ".join(sorted(self.policy.dunder_methods))
                self.report(node, "dunder-method", f"defining {name} is not allowed; a class may define "
                            f"only {allowed}")
        elif name.startswith("_") or (name in self.policy.forbidden_names and not self.in_class_body):
            # A method is reached only as an attribute, so ``def credits(self)`` shadows nothing.
            self.check_identifier(node.name, node.name.value, attribute=False)
        self.check_decorators(node.decorators)
        node.params.visit(self)
        if node.returns is not None:
            node.returns.visit(self)
        for decorator in node.decorators:
            decorator.decorator.visit(self)
        self.depth += 1
        self.class_bodies.append(False)
        node.body.visit(self)
        self.class_bodies.pop()
        self.depth -= 1
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool | None:
        self.check_identifier(node.name, node.name.value, attribute=False)
        for keyword in node.keywords:
            self.report(keyword, "forbidden-metaclass", "class keywords such as metaclass= are not "
                        "allowed; define a plain class")
        self.check_decorators(node.decorators)
        for item in (*node.bases, *(d.decorator for d in node.decorators)):
            item.visit(self)
        self.depth += 1
        self.class_bodies.append(True)
        node.body.visit(self)
        self.class_bodies.pop()
        self.depth -= 1
        return False

    @property
    def in_class_body(self) -> bool:
        return bool(self.class_bodies) and self.class_bodies[-1]

    def check_decorators(self, decorators: Sequence[cst.Decorator]) -> None:
        for decorator in decorators:
            target = decorator.decorator
            if isinstance(target, cst.Call):
                target = target.func
            name = _dotted(target) or ""
            if name in self.policy.decorators or (name.endswith(".setter") and name.count(".") == 1):
                continue
            allowed = ", ".join(sorted(self.policy.decorators))
            self.report(decorator, "forbidden-decorator", f"decorator {name or '<expression>'} is not allowed; "
                        f"use only {allowed}")

    # -- calls ---------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        func = _dotted(node.func)
        if func in _GETATTR_LIKE:
            name = _literal_string(node.args[1].value) if len(node.args) >= 2 else None
            if name is None:
                self.report(node, "computed-attribute", f"{func} needs a literal attribute name as its second "
                            "argument; better, use plain attribute access")
            elif (name.startswith("__") or (name.startswith("_") and not is_private_name(name))
                  or name in FRAME_ATTRIBUTES or name == "format_map"):
                self.report(node, "dunder-attribute", f"{func}(..., {name!r}) reaches an attribute that is "
                            "off limits; use public attributes and your own single-underscore attributes only")


class _PositionedGuard(_Guard):
    METADATA_DEPENDENCIES = (PositionProvider,)

    @classmethod
    def get_inherited_dependencies(cls) -> Collection[ProviderT]:
        # libcst caches the resolved dependencies in a class attribute that subclasses inherit:
        # once _Guard has run, _PositionedGuard would see the base's empty set and lose every
        # position. Declare them outright.
        return frozenset({PositionProvider})


def _without_main_blocks(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with the lines ``spans`` (first, last; 1-based) blanked, so every
    other line keeps its number."""
    lines = text.splitlines(keepends=True)
    for first, last in spans:
        for index in range(first - 1, min(last, len(lines))):
            lines[index] = "\n" if lines[index].endswith(("\n", "\r")) else ""
    return "".join(lines)


def guard_stage(module: cst.Module, policy: Policy = DEFAULT_POLICY, entry_point: str = "build", *,
                source: str | None = None) -> StageResult:
    """Check a parsed module against ``policy``; never raises.

    ``value`` is the text to compile: the module's code with a top-level
    ``if __name__ == "__main__":`` block blanked out (``details`` then says
    "ignored the __main__ block at line N"), else the code unchanged. Passing
    the ``source`` the module was parsed from saves regenerating it."""
    start = time.perf_counter()
    blocks = tuple(statement for statement in module.body if _is_main_block(statement))
    guard = _Guard(policy, entry_point, ignored=blocks)
    text = None
    spans: list[tuple[int, int]] = []
    try:
        module.visit(guard)
        bound: frozenset[str] = frozenset()
        if guard.unresolved_forbidden:
            bindings = _Bindings()
            for statement in module.body:
                if not any(statement is block for block in blocks):
                    statement.visit(bindings)
            bound = frozenset(bindings.names)
        if guard.violations or any(name not in bound for name in guard.unresolved_forbidden):
            guard = _PositionedGuard(policy, entry_point, bound=bound, ignored=blocks)
            MetadataWrapper(module, unsafe_skip_copy=True).visit(guard)
        text = source if source is not None else module.code
        if blocks:  # rare: positions are computed only here
            positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
            spans = [(positions[block].start.line, positions[block].end.line) for block in blocks]
            text = _without_main_blocks(text, spans)
    except RecursionError:
        guard.violations.append(Violation("too-deep", 1, 0, "the code nests too deeply to check; flatten it"))
    if guard.nodes > policy.max_nodes:
        guard.violations.append(Violation("too-large", 1, 0, f"the code has {guard.nodes} syntax nodes; keep "
                                          f"it under {policy.max_nodes}"))
    if not guard.entry_found:
        guard.violations.append(_missing_entry_point(module, entry_point))
    ordered = tuple(sorted(guard.violations, key=lambda v: (v.line, v.col, v.code)))
    notes = [f"{guard.nodes} nodes", *(f"ignored the __main__ block at line {first}" for first, _ in spans)]
    return StageResult("guard", not ordered, time.perf_counter() - start, ordered,
                       details="; ".join(notes), value=text)


class _NestedDefinitions(cst.CSTVisitor):
    """Where a function named like the entry point is defined inside a class or function."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, name: str) -> None:
        self.name = name
        self.scopes: list[str] = []
        self.found: list[tuple[int, str]] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes.append(f"class {node.name.value}")

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.name.value == self.name and self.scopes:
            self.found.append((self.get_metadata(PositionProvider, node).start.line, self.scopes[-1]))
        self.scopes.append(f"function {node.name.value}")

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()


def _missing_entry_point(module: cst.Module, entry_point: str) -> Violation:
    """The violation for a module without ``build``: at the misplaced definition's line when there is one."""
    nested = _NestedDefinitions(entry_point)
    try:
        MetadataWrapper(module, unsafe_skip_copy=True).visit(nested)
    except RecursionError:
        nested.found = []
    if nested.found:
        line, scope = nested.found[0]
        return Violation("missing-entry-point", line, 0, f"{entry_point} is defined inside {scope}; define "
                         f"{entry_point}(seed) at module level (no indentation), after the class")
    return Violation("missing-entry-point", 1, 0, f"define a module-level function "
                     f"{entry_point}(seed) that returns a new instance of your class")
