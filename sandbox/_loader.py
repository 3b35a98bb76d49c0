"""Stage 4: load restricted code as a real module through importlib."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import time
import types
from typing import Any

from ._environment import build_globals
from ._policy import DEFAULT_POLICY, Policy
from ._records import StageResult, Violation

__all__ = ["RestrictedLoader", "load_stage", "unload"]


class RestrictedLoader(importlib.abc.Loader):
    """Executes one restricted code object in guarded globals."""

    def __init__(self, code: types.CodeType, policy: Policy) -> None:
        self.code = code
        self.policy = policy

    def create_module(self, spec: Any) -> None:
        return None  # the default module object

    def exec_module(self, module: types.ModuleType) -> None:
        module.__dict__.update(build_globals(module.__name__, self.policy))
        exec(self.code, module.__dict__)  # noqa: S102 - restricted code in guarded globals


def load_stage(code: types.CodeType, name: str, *, policy: Policy = DEFAULT_POLICY,
               entry_point: str = "build") -> StageResult:
    """Execute ``code`` as module ``name`` registered in sys.modules; never raises.

    Module-level code runs here, so only call this where that is acceptable
    (inside the verify child or the mechanism host)."""
    start = time.perf_counter()
    loader = RestrictedLoader(code, policy)
    module = importlib.util.module_from_spec(importlib.machinery.ModuleSpec(name, loader))
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except BaseException as error:  # noqa: BLE001 - untrusted module code: anything, even SystemExit
        unload(name)
        violation = Violation("load-failed", 0, 0, f"running the module raised {type(error).__name__}: "
                              f"{error}; module-level code must only define things")
        return StageResult("load", False, time.perf_counter() - start, (violation,))
    entry = module.__dict__.get(entry_point)
    if not callable(entry):
        unload(name)
        violation = Violation("missing-entry-point", 0, 0, f"the module defines no function {entry_point}(seed)")
        return StageResult("load", False, time.perf_counter() - start, (violation,))
    return StageResult("load", True, time.perf_counter() - start, value=module)


def unload(name: str) -> bool:
    """Remove module ``name`` from sys.modules; True if it was there."""
    module = sys.modules.pop(name, None)
    if module is None:
        return False
    module.__dict__.clear()  # breaks cycles through the module's functions
    return True
