"""Benchmarks: tasks to optimise (the GPT task, the generic script task, the
surrogate), the ablation harness, and performance benchmarks of the project
itself. Tasks import only :mod:`interfaces` (and one another); the engine finds
them through the ``autoresearch.tasks`` entry points. Everything else here is
harness code (the ablation, ``gpt_collect``/``gpt_fit``, ``trial_stores``, the
``*_bench`` scripts) and may use the engine. This module imports nothing,
because importing a task runs it."""

__all__: list[str] = []  # the subpackages and modules are the API
