"""Keep API keys out of log records written by the libraries we call.

Our own messages are scrubbed where they are made; the SDKs log what a server
answered, and a server may echo the key in an error body. A filter on their
loggers rewrites any record that contains a registered secret.
"""

from __future__ import annotations

import logging
import threading

__all__ = ["register_secret"]

_LIBRARY_LOGGERS = ("instructor", "openai", "httpx", "httpx2", "httpcore", "httpcore2")
_secrets: set[str] = set()
_lock = threading.Lock()


class _Redactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        message = record.getMessage()
        if any(secret in message for secret in _secrets):
            for secret in _secrets:
                message = message.replace(secret, "[redacted]")
            record.msg, record.args = message, None
        if record.exc_text:
            for secret in _secrets:
                record.exc_text = record.exc_text.replace(secret, "[redacted]")
        return True


_REDACTOR = _Redactor()


def _library_loggers() -> list[logging.Logger]:
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in _LIBRARY_LOGGERS]
    return [logging.getLogger(n) for n in (*_LIBRARY_LOGGERS, *names)]


def register_secret(secret: str) -> None:
    """Redact ``secret`` from every record the SDK loggers write from now on."""
    with _lock:
        _secrets.add(secret)
        for logger in _library_loggers():
            if _REDACTOR not in logger.filters:
                logger.addFilter(_REDACTOR)
