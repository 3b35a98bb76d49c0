"""Fixtures for the local model tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.llm.local import ModelNotInstalledError, ensure_weights


@pytest.fixture
def fake_model(tmp_path: Path) -> Callable[[str], Path]:
    """A file the fake server accepts as a model; its text picks the fake's behaviour."""

    def make(mode: str = "ok") -> Path:
        path = tmp_path / f"fake-{mode}.gguf"
        path.write_bytes(b"GGUF" + mode.encode())
        return path

    return make


@pytest.fixture(scope="module")
def small_model() -> Path:
    """The packaged 0.5B model's weights; the test is skipped when the model is not installed."""
    pytest.importorskip("xllamacpp")
    try:
        return ensure_weights("qwen-0.5b")
    except ModelNotInstalledError as error:
        pytest.skip(str(error))
