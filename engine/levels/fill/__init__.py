"""Level 2 for small models: the engine writes the module, the model fills one method.

See :mod:`engine.levels.fill.session` for the flow.
"""

__all__: list[str] = []  # the subpackages and modules are the API
