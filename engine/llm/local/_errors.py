"""Errors of the local model, each with a stable code the run records."""

from __future__ import annotations

from interfaces.errors import ConfigError, ProviderError

__all__ = ["LocalServerError", "ModelFileError", "ModelNotInstalledError"]


class ModelNotInstalledError(ConfigError):
    """The weight part packages of a registered model are not installed."""

    code = "model-not-installed"


class ModelFileError(ConfigError):
    """A model file is missing, is not GGUF, or its parts do not hash to the pin.

    Codes: ``model-not-found``, ``model-not-gguf``, ``model-hash-mismatch``,
    ``unknown-model``.
    """

    code = "model-file-invalid"


class LocalServerError(ProviderError):
    """The local model server could not start, or died more often than allowed.

    Codes: ``local-server-start-failed``, ``local-server-start-timeout``,
    ``local-server-died``.
    """

    code = "local-server-failed"
