"""Who hears how far a running request has got: the tokens generated so far.

The listener is set around a call (``with generation_listener(show): provider.ask(...)``) rather than
passed to ``ask``, so that every provider keeps the one ``ask(request, response_model)`` signature and
the wrappers (a router, a recorder, the local server's keeper) pass it on without knowing of it. It is
held in a context variable, so it holds for the thread that made the call, which is the thread a
provider streams its answer in.

Who reports: the ``openai`` provider, while an answer streams in (see :mod:`._openai`). The
``heuristic`` and ``replay`` providers report nothing: their answers exist at once, with nothing to
show while they are made.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

__all__ = ["GenerationListener", "generation_listener", "report_generated"]

#: Called with the tokens the running request has generated so far; a retried or repaired request
#: starts again from its first token.
GenerationListener = Callable[[int], None]

_listener: ContextVar[GenerationListener | None] = ContextVar("generation_listener", default=None)


@contextlib.contextmanager
def generation_listener(listener: GenerationListener | None) -> Iterator[None]:
    """Within the block, streamed requests made in this thread report their tokens to ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def report_generated(tokens: int) -> None:
    """Tell the listener of the current call, if any, that ``tokens`` have been generated so far."""
    listener = _listener.get()
    if listener is not None:
        listener(tokens)
