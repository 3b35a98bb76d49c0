"""Each package's public surface as ``__all__`` states it.

For every package and every public module under it (no part of its dotted name starts with ``_``):
``__all__`` is a list or tuple of strings without duplicates, every name in it can be imported from
the module, and every public name the module defines itself (a function, a class, a constant bound at
module level; not an imported name) is in ``__all__`` or listed below as deliberately left out.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import textwrap
import types
from pathlib import Path

import pytest

PACKAGES = ("interfaces", "sandbox", "mechanism_library", "engine", "benchmarks")

# Public modules that are not imported here, with why.
NOT_IMPORTED = {
    "benchmarks.gpt.train": "the training script itself: importing it trains a model",
}

# Public modules without an ``__all__``, with why.
NO_ALL = {
    "engine.levels.fill.helpers": "its text is pasted into sandboxed mechanisms, where dunder names are "
                                  "refused; its HELPERS tuple lists the public functions",
}

# Public names a module defines but leaves out of ``__all__`` on purpose, with why.
_CLI_OPTIONS = ("AcceptOpt", "BaseUrlOpt", "BudgetOpt", "ConfigOpt", "ConfineOpt", "ExecutorOpt", "MlflowOpt", "GridOpt", "IterOpt", "LevelModelOpt", "LevelsOpt",
                "MaxTokensOpt", "MaxUsdOpt", "MechanismOpt", "ModelOpt", "NewOnlyOpt", "ModelPathOpt", "OuterOpt", "OverlapOpt", "PickFromOpt", "ProposerOpt", "ProviderOpt", "RecordOpt", "RemeasureOpt",
                "ReplayOpt", "ResearchOpt", "ResumeOpt", "RunsOpt", "SamplerOpt", "SamplesOpt", "SeedOpt", "StyleOpt", "ThreadsOpt",
                "TimeoutOpt", "WarmStartOpt", "WorkersOpt")
UNLISTED: dict[str, dict[str, str]] = {
    "engine.run": {
        **dict.fromkeys(_CLI_OPTIONS, "an option declaration the commands share; the interface is the command line"),
        **dict.fromkeys(("gpt", "script", "plots"), "a command, reached through `app`"),
        **dict.fromkeys(("console", "default_provider", "typed_failure"), "the commands' own plumbing"),
    },
    "benchmarks.gpt.task": dict.fromkeys(("F", "I", "C", "B"), "one-letter kind aliases for the parameter table"),
}


def public_modules(package: str) -> list[str]:
    """``package`` and every module under it with no private part in its dotted name."""
    root = importlib.import_module(package)
    found = [package]
    for info in pkgutil.walk_packages(root.__path__, f"{package}.", onerror=_raise):
        if not any(part.startswith("_") for part in info.name.split(".")):
            found.append(info.name)
    return found


def _raise(name: str) -> None:
    raise ImportError(f"cannot walk {name}")


def _is_main_block(node: ast.stmt) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and len(test.comparators) == 1 and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__")


def _bound(targets: list[ast.expr]) -> set[str]:
    names: set[str] = set()
    for target in targets:
        if isinstance(target, ast.Name):
            names.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            names |= _bound(list(target.elts))
    return names


def _top_level_bindings(body: list[ast.stmt]) -> set[str]:
    """Names bound by ``def``, ``class`` and assignment at module level (inside top-level ``if`` and
    ``try`` blocks too, except ``if __name__ == "__main__":``); imports bind nothing here."""
    names: set[str] = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= _bound(node.targets)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            names |= _bound([node.target])
        elif isinstance(node, ast.If) and not _is_main_block(node):
            names |= _top_level_bindings(node.body) | _top_level_bindings(node.orelse)
        elif isinstance(node, ast.Try):
            names |= _top_level_bindings(node.body) | _top_level_bindings(node.orelse)
            names |= _top_level_bindings(node.finalbody)
            for handler in node.handlers:
                names |= _top_level_bindings(handler.body)
    return names


def defined_public_names(module: types.ModuleType) -> set[str]:
    """The public names ``module`` defines itself: its own module-level bindings, and every function or
    class in its namespace whose ``__module__`` is this module."""
    source = Path(module.__file__ or "").read_text(encoding="utf-8")
    names = _top_level_bindings(ast.parse(source).body)
    for name, value in vars(module).items():
        if (inspect.isclass(value) or inspect.isfunction(value)) and value.__module__ == module.__name__:
            names.add(name)
    return {name for name in names if not name.startswith("_")}


def _importable(module: types.ModuleType, name: str) -> bool:
    if hasattr(module, name):
        return True
    if not hasattr(module, "__path__"):
        return False
    try:  # a package may list a submodule it does not import itself
        importlib.import_module(f"{module.__name__}.{name}")
    except ImportError:
        return False
    return True


def api_problems(module: types.ModuleType, *, unlisted: dict[str, str] | None = None,
                 needs_all: bool = True) -> list[str]:
    """What is wrong with ``module``'s ``__all__``, one line each; empty when nothing is."""
    exported = getattr(module, "__all__", None)
    if exported is None:
        return ["no __all__"] if needs_all else []
    if not isinstance(exported, (list, tuple)) or not all(isinstance(name, str) for name in exported):
        return [f"__all__ is not a list or tuple of strings: {exported!r}"]
    problems = [f"{name!r} is listed {exported.count(name)} times"
                for name in sorted(set(exported)) if exported.count(name) > 1]
    problems += [f"{name!r} is listed but cannot be imported" for name in exported
                 if not _importable(module, name)]
    left_out = unlisted or {}
    problems += [f"{name!r} is defined here, public, and not in __all__"
                 for name in sorted(defined_public_names(module) - set(exported) - set(left_out))]
    problems += [f"{name!r} is named as deliberately left out, but is listed or no longer defined"
                 for name in sorted(left_out) if name in exported or name not in defined_public_names(module)]
    return problems


MODULES = [name for package in PACKAGES for name in public_modules(package) if name not in NOT_IMPORTED]


@pytest.mark.parametrize("name", MODULES)
def test_all_lists_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    assert api_problems(module, unlisted=UNLISTED.get(name), needs_all=name not in NO_ALL) == []


def test_the_exception_tables_name_real_public_modules() -> None:
    walked = {name for package in PACKAGES for name in public_modules(package)}
    assert sorted(set(NOT_IMPORTED) | set(NO_ALL) | set(UNLISTED)) == sorted(
        (set(NOT_IMPORTED) | set(NO_ALL) | set(UNLISTED)) & walked)
    for name in NO_ALL:
        assert not hasattr(importlib.import_module(name), "__all__"), f"{name} has an __all__ now"


def test_the_walk_skips_private_modules_and_reaches_nested_public_ones() -> None:
    walked = public_modules("engine")
    assert "engine.levels.fill.prompt" in walked and "engine.llm.local.server" in walked
    assert not [name for name in walked if any(part.startswith("_") for part in name.split("."))]


def _write_package(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_a_wrong_all_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_package(tmp_path, {
        "apicheck_sample/__init__.py": """
            from os.path import join

            __all__ = ["build", "build", "missing", "child"]
            LIMIT = 3
            first, (second, third) = 1, (2, 3)

            def build(): ...

            class Helper: ...

            if True:
                BRANCH = 1

            if __name__ == "__main__":
                SCRIPT_ONLY = 1
        """,
        "apicheck_sample/child.py": "__all__ = []\n",
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("apicheck_sample")
    problems = api_problems(module, unlisted={"Helper": "internal", "gone": "was removed"})
    assert problems == [
        "'build' is listed 2 times",
        "'missing' is listed but cannot be imported",
        "'BRANCH' is defined here, public, and not in __all__",
        "'LIMIT' is defined here, public, and not in __all__",
        "'first' is defined here, public, and not in __all__",
        "'second' is defined here, public, and not in __all__",
        "'third' is defined here, public, and not in __all__",
        "'gone' is named as deliberately left out, but is listed or no longer defined",
    ]
    assert "join" not in defined_public_names(module)  # imported, not defined here


def test_a_module_without_all_is_reported_unless_excused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_package(tmp_path, {"apicheck_bare.py": "VALUE = 1\n"})
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("apicheck_bare")
    assert api_problems(module) == ["no __all__"]
    assert api_problems(module, needs_all=False) == []
