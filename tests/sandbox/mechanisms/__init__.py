"""Benign mechanism sources, written the way a capable model writes them."""

from pathlib import Path

HERE = Path(__file__).parent


def source(name: str) -> str:
    return (HERE / f"{name}.py.txt").read_text()
