"""The real engine CLI, with a note and a pause at each moment a fault test wants to kill it.

    python tests/engine/fault_engine.py MARKERS PAUSE_S <engine.run arguments>

Before every model request it appends ``ask <purpose>`` to MARKERS, and before
every sandbox admission ``admit``, then sleeps PAUSE_S seconds, so a test
watching MARKERS can SIGKILL the engine while it is inside that step. Nothing
else changes: the provider, the store and the executor are the real ones.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.run import main
from engine.runner import Run


def _note(markers: Path, text: str, pause_s: float) -> None:
    with markers.open("a") as handle:
        handle.write(text + "\n")
    time.sleep(pause_s)


def install(markers: Path, pause_s: float) -> None:
    import sandbox

    original_provider = Run._provider
    original_admit = sandbox.admit

    @contextlib.contextmanager
    def provider(self, ledger):
        with original_provider(self, ledger) as inner:
            class Announcing:
                name, model = inner.name, inner.model

                def ask(self, request, response_model):
                    _note(markers, f"ask {request.purpose}", pause_s)
                    return inner.ask(request, response_model)

                def __getattr__(self, attr):
                    return getattr(inner, attr)

            yield Announcing()

    def admit(*args, **kwargs):
        _note(markers, "admit", pause_s)
        return original_admit(*args, **kwargs)

    Run._provider = provider
    sandbox.admit = admit


if __name__ == "__main__":
    install(Path(sys.argv[1]), float(sys.argv[2]))
    main(sys.argv[3:])
