"""Fitted surrogate models shipped with the project.

``GPT_CPU`` is the surrogate of the GPT task's cpu preset, fitted on the real
trials recorded under ``benchmarks/results/gpt-trials/`` (how: docs/ablation.md).
``--task surrogate`` uses it when no other model is given.
"""

from pathlib import Path

__all__ = ["GPT_CPU", "default_model"]

GPT_CPU = Path(__file__).with_name("gpt_cpu.json")


def default_model() -> Path:
    """The model ``--task surrogate`` loads when none is named."""
    return GPT_CPU
