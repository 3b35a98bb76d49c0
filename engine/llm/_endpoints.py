"""Known OpenAI-compatible endpoints: where they are, which key, which instructor mode.

Mode defaults, and why:

* ``tools`` (instructor ``Mode.TOOLS``) for OpenAI and DeepSeek: both implement
  function calling well, and a tool call's arguments are JSON by construction.
* ``json_schema`` (``Mode.JSON_SCHEMA``, a strict ``response_format``) for
  vLLM, llama.cpp's server and Ollama: they constrain decoding to the schema
  with a grammar, which keeps even a 1.5B model inside it; their tool calling
  depends on the model's chat template and is the weaker path.
* ``md_json`` (``Mode.MD_JSON``) for an unnamed ``compatible`` endpoint: the
  lenient fallback that only asks for JSON in the text and parses it out, for
  servers that support neither tools nor ``response_format``.
"""

from __future__ import annotations

from dataclasses import dataclass

import instructor

from interfaces import ConfigError

from ._ledger import Price

__all__ = ["Endpoint", "ENDPOINTS", "MODES", "instructor_mode", "default_price"]


@dataclass(frozen=True)
class Endpoint:
    """``api_key_env`` is None for local servers that need no key."""

    name: str
    base_url: str | None
    api_key_env: str | None
    mode: str
    local: bool


ENDPOINTS: dict[str, Endpoint] = {
    "openai": Endpoint("openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "tools", local=False),
    "deepseek": Endpoint("deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", "tools", local=False),
    "vllm": Endpoint("vllm", "http://127.0.0.1:8000/v1", None, "json_schema", local=True),
    "llamacpp": Endpoint("llamacpp", "http://127.0.0.1:8080/v1", None, "json_schema", local=True),
    "ollama": Endpoint("ollama", "http://127.0.0.1:11434/v1", None, "json_schema", local=True),
    # Any other OpenAI-compatible server: base_url must be given.
    "compatible": Endpoint("compatible", None, None, "md_json", local=True),
}

#: The instructor modes that may be chosen, by the name used in settings.
MODES: dict[str, instructor.Mode] = {
    "tools": instructor.Mode.TOOLS,
    "json_schema": instructor.Mode.JSON_SCHEMA,
    "md_json": instructor.Mode.MD_JSON,
    "json": instructor.Mode.JSON,
}

# USD per million tokens (prompt, completion) as published when this table was
# written; prices change, so pass ``price=`` to be exact.
_PRICES: dict[str, Price] = {
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4.1": Price(2.00, 8.00),
    "deepseek-chat": Price(0.27, 1.10),
    "deepseek-reasoner": Price(0.55, 2.19),
}


def instructor_mode(name: str) -> instructor.Mode:
    try:
        return MODES[name.lower()]
    except KeyError:
        raise ConfigError(
            f"unknown instructor mode {name!r}; choose one of {', '.join(MODES)}", code="unknown-mode"
        ) from None


def default_price(endpoint: Endpoint, model: str) -> Price | None:
    """A local server costs nothing; a hosted model's price comes from the table, or is unknown."""
    if endpoint.local:
        return Price(0.0, 0.0)
    return _PRICES.get(model)
