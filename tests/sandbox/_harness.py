"""Helpers shared by the sandbox tests: wrap a snippet into a mechanism module
and run it through one stage at a time."""

from __future__ import annotations

import itertools
import textwrap

from sandbox import compile_stage, guard_stage, load_stage, parse_stage, unload

_counter = itertools.count()


def attack_module(body: str) -> str:
    """A module whose ``attack()`` runs ``body``; ``build`` exists so only the
    attack itself can be what the guard objects to."""
    return "def attack():\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + \
        "\n\n\ndef build(seed):\n    return None\n"


def guard_codes(source: str) -> set[str]:
    parsed = parse_stage(source)
    assert parsed.ok, parsed.violations
    return {v.code for v in guard_stage(parsed.value).violations}


def compile_errors(source: str) -> tuple:
    return compile_stage(source, "attack_probe").violations


def run_unguarded(source: str, function: str = "attack"):
    """Skip the guard: restricted-compile and load in-process, then call
    ``function``. Returns the module so callers can inspect it; unloads it."""
    name = f"attack_probe_{next(_counter)}"
    compiled = compile_stage(source, name)
    assert compiled.ok, compiled.violations
    loaded = load_stage(compiled.value, name)
    assert loaded.ok, loaded.violations
    try:
        return getattr(loaded.value, function)()
    finally:
        unload(name)


def advisor(body: str, prelude: str = "", init: str = "self.seed = seed") -> str:
    """An advisor module: ``prelude``, then a class whose ``__init__`` runs
    ``init`` and whose ``advise`` runs ``body``, then ``build``."""
    return textwrap.dedent(prelude) + "\n\nclass Advisor:\n    def __init__(self, seed):\n        " + init + "\n\n" \
        "    def advise(self, trace, space, config):\n" + textwrap.indent(textwrap.dedent(body).strip(), " " * 8) + \
        "\n\n\ndef build(seed):\n    return Advisor(seed)\n"
