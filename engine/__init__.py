"""The engine: Level 1, 1.5 and 2 loops, LLM providers, the run store,
executors and the CLI (``python -m engine.run``).

From Python: :func:`optimize`, :func:`resume` and :func:`load` (see :mod:`engine.api`), each
returning a :class:`Study`. They are imported on first use, so importing a part of the engine
(``engine.store``...) does not import the loops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Study", "load", "optimize", "resume"]

if TYPE_CHECKING:
    from .api import Study, load, optimize, resume


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
