"""One small error hierarchy with stable, kebab-case codes.

Codes are part of the public contract: they are stored with every record, shown
to users, and fed back to the LLM when its answer is rejected, so a code never
changes meaning once published. Within a process, raise these; across a
process boundary, send a record carrying ``code`` and ``message`` instead.
"""

from __future__ import annotations

__all__ = [
    "AutoresearchError",
    "ConfigError",
    "SpaceError",
    "ProviderError",
    "StoreError",
    "MechanismError",
    "RUN_STOPPING_PROVIDER_CODES",
]

# Provider failures after which a run cannot go on usefully, so every level stops the run on them
# (cleanly: it can resume) instead of skipping a step: the token or cost budget is spent, a replayed
# transcript no longer matches the run or has run out, the key is refused, the local model's server
# died after its one restart, or the provider's server cannot be reached at all (found before the run
# trains, or after several proposals in a row). Any other provider failure costs only the step that asked.
RUN_STOPPING_PROVIDER_CODES = frozenset(
    {"budget-exceeded", "replay-mismatch", "replay-exhausted", "provider-auth", "local-server-died",
     "provider-unreachable"}
)


class AutoresearchError(Exception):
    """Base class. ``code`` is stable and machine-readable; ``message`` is for people."""

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class ConfigError(AutoresearchError):
    """A user-supplied setting (flag, file, TOML entry) is invalid."""

    code = "bad-config"


class SpaceError(AutoresearchError):
    """A search space or a proposal against it is invalid."""

    code = "bad-space"


class ProviderError(AutoresearchError):
    """An LLM provider failed after its retries and repair rounds."""

    code = "provider-failed"


class StoreError(AutoresearchError):
    """The run store is missing, corrupt, or of an unknown schema version."""

    code = "store-failed"


class MechanismError(AutoresearchError):
    """A mechanism was rejected at admission or ejected at run time."""

    code = "mechanism-failed"
