"""Fixtures for the local model tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def fake_model(tmp_path: Path) -> Callable[[str], Path]:
    """A file the fake server accepts as a model; its text picks the fake's behaviour."""

    def make(mode: str = "ok") -> Path:
        path = tmp_path / f"fake-{mode}.gguf"
        path.write_bytes(b"GGUF" + mode.encode())
        return path

    return make
