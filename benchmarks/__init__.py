"""Benchmarks: tasks to optimise (the GPT task, the generic script task, the
surrogate), the ablation harness, and performance benchmarks of the project
itself. Tasks import only :mod:`interfaces`."""

__all__: list[str] = []  # the subpackages and modules are the API
