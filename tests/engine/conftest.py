from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def quad_script() -> Path:
    return DATA / "quad.py"


@pytest.fixture
def wrap_provider(monkeypatch):
    """Route every model request of the runs made in this test through ``answer(inner, request, model)``.

    The run's real provider (heuristic, replay...) is ``inner``; ``answer`` may
    inspect the request, change the reply or raise, as a misbehaving model would.
    """
    import contextlib

    from engine.runner import Run

    original = Run._provider

    def install(answer):
        @contextlib.contextmanager
        def wrapped(self, ledger):
            with original(self, ledger) as inner:
                class Wrapped:
                    name, model = inner.name, inner.model

                    def ask(self, request, response_model):
                        return answer(inner, request, response_model)

                    def __getattr__(self, attr):
                        return getattr(inner, attr)

                yield Wrapped()

        monkeypatch.setattr(Run, "_provider", wrapped)

    return install
