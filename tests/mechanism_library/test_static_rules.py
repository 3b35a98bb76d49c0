"""Every library source obeys the mechanism contract's static rules.

An ``ast`` reading of the rules in interfaces/hooks/__init__.py, plus a
RestrictedPython compile (the sandbox's second wall): a library source that
fails either would be rejected at admission.
"""

from __future__ import annotations

import ast

import pytest
from RestrictedPython import compile_restricted_exec

from mechanism_library import catalog

ALLOWED_IMPORTS = {
    "math", "random", "statistics", "collections", "itertools", "functools", "heapq", "bisect",
    "dataclasses", "typing", "enum", "operator", "fractions", "decimal", "copy", "string", "re",
}
FORBIDDEN_CALLS = {
    "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "hasattr", "type", "globals",
    "locals", "vars", "print", "input", "breakpoint", "__import__", "super",
}
# Module-level functions of `random` that use the shared global generator.
GLOBAL_RNG = {
    "random", "choice", "choices", "shuffle", "sample", "uniform", "randint", "randrange", "gauss",
    "seed", "getrandbits", "normalvariate", "triangular", "betavariate", "expovariate",
}

ENTRIES = catalog()


def violations(source: str) -> list[str]:
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            found += [f"{line}: import {a.name}" for a in node.names if a.name not in ALLOWED_IMPORTS]
        elif isinstance(node, ast.ImportFrom):
            future = node.module == "__future__" and [a.name for a in node.names] == ["annotations"]
            if not future and node.module not in ALLOWED_IMPORTS:
                found.append(f"{line}: from {node.module} import")
        elif isinstance(node, ast.Name) and node.id.startswith("_"):
            found.append(f"{line}: name {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            found.append(f"{line}: attribute {node.attr}")
        elif isinstance(node, ast.arg) and node.arg.startswith("_"):
            found.append(f"{line}: argument {node.arg}")
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name.startswith("_"):
            if node.name != "__init__":
                found.append(f"{line}: definition {node.name}")
        elif isinstance(node, (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)):
            found.append(f"{line}: async")
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            found.append(f"{line}: global/nonlocal")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                found.append(f"{line}: call {func.id}")
            if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    and func.value.id == "random" and func.attr in GLOBAL_RNG):
                found.append(f"{line}: global rng random.{func.attr}")
    return found


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_source_obeys_the_contract(entry):
    assert violations(entry.source) == []


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_source_has_a_build_entry_point_and_the_manifest_class(entry):
    tree = ast.parse(entry.source)
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    assert "build" in functions
    assert [a.arg for a in functions["build"].args.args] == ["seed"]
    assert classes == [entry.manifest["class_name"]]  # exactly one mechanism class


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_source_compiles_under_restricted_python(entry):
    result = compile_restricted_exec(entry.source, filename=f"{entry.name}.py")
    assert result.errors == ()
    assert result.code is not None


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_source_length_is_readable(entry):
    assert 40 <= len(entry.source.splitlines()) <= 200


@pytest.mark.parametrize(
    "bad",
    [
        "import os\ndef build(seed):\n    return None\n",
        "class A:\n    def f(self):\n        return self._x\n",
        "def build(seed):\n    return random.random()\n",
        "def build(seed):\n    return eval('1')\n",
        "from sys import path\n",
        "def _helper():\n    return 1\n",
        "async def build(seed):\n    return None\n",
        "def build(seed):\n    global X\n    return 1\n",
        "def build(seed):\n    return getattr(seed, 'real')\n",
        "def build(seed):\n    return seed.__class__\n",
    ],
)
def test_the_checker_catches_rule_breaks(bad):
    # The checker above is only worth something if it rejects what the rules forbid.
    assert violations(bad)
