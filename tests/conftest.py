"""Shared test configuration."""

import os
import signal
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# CI machines are small and noisy: no per-example deadline, fewer examples.
settings.register_profile(
    "ci", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def sigint_as_a_terminal_sends_it() -> Iterator[None]:
    """Ctrl-C's SIGINT handled as in an interactive shell, for the duration of one test.

    A test runner started in the background by a non-interactive shell (``pytest &`` in a script,
    a CI step) inherits SIGINT *ignored*; Python then installs no KeyboardInterrupt handler, and
    every program the test starts inherits the ignore too. A test of Ctrl-C would then test
    nothing. Installing Python's handler here gives this process a handled SIGINT and its
    children the default disposition (handlers reset on exec); the previous one comes back after.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
