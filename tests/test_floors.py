"""The packages are floors, and nothing imports a floor above its own.

    interfaces  <  sandbox  <  mechanism_library  <  tasks  <  engine  <  harness

The tasks are the packages under ``benchmarks`` that the ``autoresearch.tasks``
entry points in pyproject.toml name (``benchmarks.gpt``, ``benchmarks.script_task``
and ``benchmarks.surrogate`` today; a task added there is a task here too), with
``benchmarks`` itself, their parent package, which importing any task runs. The harness is the rest of ``benchmarks``. A
module may import its own floor and the floors below, with one exception: the
engine reaches the tasks only through the ``autoresearch.tasks`` entry points
(:mod:`engine.tasks`), never by importing them. And no two packages import each
other, however indirectly.

Every module is read with :mod:`ast`, so an import inside a function, under
``if TYPE_CHECKING:`` or in a ``try`` counts like one at the top, and so does
``importlib.import_module("name")`` with a literal name. Importing ``a.b.c``
imports ``a`` and ``a.b`` first, so those count as well.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("interfaces", "sandbox", "mechanism_library", "engine", "benchmarks")


def declared_task_packages() -> tuple[str, ...]:
    """The package of each task pyproject.toml registers: ``benchmarks.<name>`` of its entry point."""
    with (REPO / "pyproject.toml").open("rb") as handle:
        points = tomllib.load(handle)["project"]["entry-points"]["autoresearch.tasks"]
    return tuple(sorted({".".join(value.split(":")[0].split(".")[:2]) for value in points.values()}))


TASK_PACKAGES = declared_task_packages()
TASK_FLOOR = ("benchmarks", *TASK_PACKAGES)
FLOORS = {"interfaces": 0, "sandbox": 1, "mechanism_library": 2, **{name: 3 for name in TASK_FLOOR},
          "engine": 4, "harness": 5}


def package_of(module: str) -> str | None:
    """The package (a key of FLOORS) ``module`` belongs to; None for a module not of this project."""
    top = module.split(".")[0]
    if top in ("interfaces", "sandbox", "mechanism_library", "engine"):
        return top
    if top != "benchmarks":
        return None
    if module == "benchmarks":
        return "benchmarks"
    tasks = (task for task in TASK_PACKAGES if module == task or module.startswith(task + "."))
    return next(tasks, "harness")


@dataclass(frozen=True)
class Import:
    path: Path  # relative to the scanned root
    line: int
    target: str  # the module named
    source_package: str
    target_package: str

    def where(self) -> str:
        return f"{self.path}:{self.line} imports {self.target}"


def _module(root: Path, path: Path) -> tuple[str, str]:
    """The module name of ``path`` and the package its relative imports start from."""
    parts = path.relative_to(root).with_suffix("").parts
    if parts[-1] == "__init__":
        name = ".".join(parts[:-1])
        return name, name
    name = ".".join(parts)
    return name, name.rpartition(".")[0]


def _is_module(root: Path, name: str) -> bool:
    folder = root.joinpath(*name.split("."))
    return folder.with_suffix(".py").is_file() or (folder / "__init__.py").is_file()


def _named(node: ast.AST, root: Path, package: str) -> list[str]:
    """The modules one AST node imports."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            base = ".".join(anchor + ([node.module] if node.module else []))
        # ``from a import b`` imports the module a.b when there is one, else takes a name from a
        return [base] + [f"{base}.{a.name}" for a in node.names if _is_module(root, f"{base}.{a.name}")]
    if (isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name))
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return [node.args[0].value]
    return []


def scan(root: Path) -> list[Import]:
    """Every import of a project module by a module of another package, in every module under ``root``."""
    found = []
    for top in ROOTS:
        for path in sorted((root / top).rglob("*.py")):
            module, package = _module(root, path)
            source = package_of(module)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                for target in _named(node, root, package):
                    parts = target.split(".")
                    reached = {package_of(".".join(parts[:n])) for n in range(1, len(parts) + 1)}
                    for other in sorted(p for p in reached if p not in (None, source)):
                        found.append(Import(path.relative_to(root), node.lineno, target, source, other))
    return found


def upward(imports: list[Import]) -> list[str]:
    return [f"{i.where()}: {i.source_package} (floor {FLOORS[i.source_package]}) may not import "
            f"{i.target_package} (floor {FLOORS[i.target_package]})"
            for i in imports if FLOORS[i.target_package] > FLOORS[i.source_package]]


def registry_bypasses(imports: list[Import]) -> list[str]:
    return [f"{i.where()}: the engine imports the task package {i.target_package}; it finds tasks through "
            "the autoresearch.tasks entry points (engine.tasks)"
            for i in imports if i.source_package == "engine" and i.target_package in TASK_FLOOR]


def cycles(imports: list[Import]) -> list[str]:
    """Each group of packages that import one another, with an import behind every edge inside it."""
    edges: dict[tuple[str, str], Import] = {}
    for i in imports:
        edges.setdefault((i.source_package, i.target_package), i)
    reach = {name: {b for a, b in edges if a == name} for name in FLOORS}
    changed = True
    while changed:  # transitive closure: eight packages, a few rounds
        changed = False
        for name, targets in reach.items():
            grown = targets.union(*(reach[t] for t in targets))
            if grown != targets:
                reach[name], changed = grown, True
    groups = {frozenset({a} | {b for b in reach[a] if a in reach[b]}) for a in FLOORS if a in reach[a]}
    return [f"packages {', '.join(sorted(group))} import one another: "
            + "; ".join(i.where() for (a, b), i in sorted(edges.items()) if a in group and b in group)
            for group in sorted(groups, key=sorted)]


@pytest.fixture(scope="module")
def imports():
    return scan(REPO)


def test_every_registered_task_is_a_package_under_benchmarks():
    """A task outside ``benchmarks`` would be neither scanned nor built by the packaging."""
    assert {"benchmarks.gpt", "benchmarks.script_task", "benchmarks.surrogate"} <= set(TASK_PACKAGES)
    for package in TASK_PACKAGES:
        assert package.startswith("benchmarks.") and _is_module(REPO, package), package


def test_every_package_is_scanned(imports):
    modules = {package_of(_module(REPO, path)[0]) for top in ROOTS for path in (REPO / top).rglob("*.py")}
    assert modules == set(FLOORS)
    assert {i.source_package for i in imports} >= set(FLOORS) - {"interfaces", "benchmarks"}


def test_no_package_imports_a_floor_above_its_own(imports):
    found = upward(imports)
    assert not found, "\n".join(found)


def test_the_engine_reaches_the_tasks_only_through_the_registry(imports):
    found = registry_bypasses(imports)
    assert not found, "\n".join(found)


def test_no_two_packages_import_each_other(imports):
    found = cycles(imports)
    assert not found, "\n".join(found)


# -- the checks themselves fail where they should, on small trees of their own -----------------------

def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in path.relative_to(root).parents:
            if folder != Path("."):
                (root / folder / "__init__.py").touch()
        path.write_text(text)
    return root


BASE = {  # a tree with one module per package, importing only downward
    "interfaces/records.py": "import json\n",
    "sandbox/admit.py": "from interfaces import records\n",
    "mechanism_library/catalog.py": "from sandbox.admit import x\nfrom interfaces.records import y\n",
    "benchmarks/script_task/task.py": "from interfaces import records\n",
    "benchmarks/gpt/task.py": "from ..script_task.task import ScriptTask\n",
    "benchmarks/surrogate/task.py": "import interfaces.records\n",
    "engine/runner.py": "import mechanism_library.catalog\nfrom importlib.metadata import entry_points\n",
    "benchmarks/ablation/run.py": "from engine import runner\nfrom benchmarks.gpt import task\n",
}

BROKEN = [
    ("import-in-a-function", upward, {"sandbox/host.py": "def start():\n    import engine.store\n"},
     "sandbox/host.py:2 imports engine.store: sandbox (floor 1) may not import engine (floor 4)"),
    ("type-checking-block", upward,
     {"interfaces/trace.py": "from typing import TYPE_CHECKING\n"
                             "if TYPE_CHECKING:\n    from sandbox import admit\n"},
     "interfaces/trace.py:3 imports sandbox: interfaces (floor 0) may not import sandbox"),
    ("relative-import-from-a-task-into-the-harness", upward,
     {"benchmarks/gpt/collect.py": "x = 1\nfrom ..ablation import run\n"},
     "benchmarks/gpt/collect.py:2 imports benchmarks.ablation: benchmarks.gpt (floor 3) may not import "
     "harness (floor 5)"),
    ("a-submodule-named-in-from-import", upward,
     {"mechanism_library/runs.py": "from benchmarks import gpt\n"},
     "mechanism_library/runs.py:1 imports benchmarks.gpt: mechanism_library (floor 2) may not import "
     "benchmarks.gpt (floor 3)"),
    ("import-module-by-name", upward,
     {"interfaces/load.py": "import importlib\n\nimportlib.import_module('engine.run')\n"},
     "interfaces/load.py:3 imports engine.run: interfaces (floor 0) may not import engine"),
    ("engine-imports-a-task", registry_bypasses,
     {"engine/tasks.py": "def load():\n    from benchmarks.surrogate import task\n"},
     "engine/tasks.py:2 imports benchmarks.surrogate: the engine imports the task package "
     "benchmarks.surrogate;"),
    ("two-tasks-import-each-other", cycles,
     {"benchmarks/script_task/task.py": "from benchmarks.gpt.task import GptTask\n"},
     "packages benchmarks.gpt, benchmarks.script_task import one another: benchmarks/gpt/task.py:1 imports "
     "benchmarks.script_task.task; benchmarks/script_task/task.py:1 imports benchmarks.gpt.task"),
]


def test_a_tree_that_imports_only_downward_passes_every_check(tmp_path):
    found = scan(write_tree(tmp_path, BASE))
    assert {(i.source_package, i.target_package) for i in found} >= {
        ("sandbox", "interfaces"), ("benchmarks.gpt", "benchmarks.script_task"), ("harness", "engine"),
        ("harness", "benchmarks.gpt"), ("engine", "mechanism_library")}
    assert upward(found) == registry_bypasses(found) == cycles(found) == []


@pytest.mark.parametrize("check, files, message", [case[1:] for case in BROKEN],
                         ids=[case[0] for case in BROKEN])
def test_each_check_names_the_file_line_and_module_of_a_bad_import(tmp_path, check, files, message):
    found = scan(write_tree(tmp_path, {**BASE, **files}))
    problems = check(found)
    assert any(message in problem for problem in problems), problems
