"""ProviderError with the exchange that failed attached, so it can be recorded."""

from __future__ import annotations

from interfaces import ProviderError

from ._records import Exchange

__all__ = ["ExchangeError", "provider_error"]


class ExchangeError(ProviderError):
    """A provider call failed; ``exchange`` records what was sent and seen.

    ``exchange`` is None when no request was made (e.g. ``budget-exceeded``).
    """

    def __init__(self, message: str, *, code: str, exchange: Exchange | None = None) -> None:
        super().__init__(message, code=code)
        self.exchange = exchange


def provider_error(code: str, message: str, exchange: Exchange | None = None) -> ExchangeError:
    return ExchangeError(message, code=code, exchange=exchange)
