"""Hypothesis strategies for interface records: the public ones from ``sandbox``.

The conformance suites and the tests draw from one set of strategies, so a
record kind added to the interfaces is exercised everywhere at once.
"""

from sandbox import strategies as _public
from sandbox.strategies import names, param_specs, spaces, values_for

__all__ = ["names", "param_specs", "spaces", "traces", "values_for"]


def traces(space, max_trials=12, minimize=True):
    """Traces where lower is better unless asked otherwise (the stores' default)."""
    return _public.traces(space, max_trials=max_trials, minimize=minimize)
