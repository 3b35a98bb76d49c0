"""What the local provider asks of its server and its requests, and how a run's settings reach it."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

import engine.llm.local as local
from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunStore
from interfaces import ConfigError

from ._helpers import FAKE_LAUNCHER

QUAD = Path(__file__).parents[2] / "data" / "quad.py"


def test_requests_are_patient_and_tried_once_and_the_context_has_room_for_a_repair(fake_model, tmp_path):
    with local.local_provider(None, run_dir=tmp_path, model_path=str(fake_model("ok")), threads=1,
                              launcher=FAKE_LAUNCHER) as provider:
        # A retry would start a minutes-long generation over; a dead server is restarted instead.
        assert provider.inner.settings.timeout_s == 900.0
        assert provider.inner.settings.max_attempts == 1
        # A looping model stops after the longest legitimate answer, not when the context is full.
        assert 2500 < provider.inner.settings.max_output_tokens < provider.server.n_ctx // 2
        assert provider.server.threads == 1 and provider.server.n_ctx == 8192


def test_a_run_passes_its_server_threads_and_request_timeout_to_the_local_provider(tmp_path, monkeypatch):
    seen = {}

    @contextlib.contextmanager
    def capture(model, **kw):
        seen.update(kw, model=model)
        raise SystemExit("captured")
        yield  # pragma: no cover

    monkeypatch.setattr(local, "local_provider", capture)
    settings = RunSettings(task="script", task_options={"path": str(QUAD), "metric": "loss"}, provider="local",
                           model="qwen-0.5b", server_threads=1, request_timeout_s=1200.0, iterations=1)
    run = Run.create(settings, tmp_path)
    with pytest.raises(SystemExit, match="captured"):
        run.execute()
    assert seen["model"] == "qwen-0.5b" and seen["threads"] == 1 and seen["timeout_s"] == 1200.0
    # A provider that cannot start still leaves a failed run that says why, and that can be resumed.
    store = RunStore.open(run.run_dir / "run.sqlite")
    info = store.run(run.run_id)
    store.close()
    assert (info.status, info.note, info.provider) == ("failed", "captured", "local")


@pytest.mark.parametrize("field, value, said", [("server_threads", 0, "server-threads must be positive"),
                                                ("request_timeout_s", 0.0, "request-timeout must be positive"),
                                                ("request_timeout_s", -5.0, "request-timeout must be positive")])
def test_bad_model_settings_are_refused_with_their_names(field, value, said):
    with pytest.raises(ConfigError) as caught:
        RunSettings(**{field: value})
    assert said in caught.value.message
