"""The engine: Level 1, 1.5 and 2 loops, LLM providers, the run store,
executors and the CLI (``python -m engine.run``)."""

__all__: list[str] = []  # the subpackages and modules are the API
