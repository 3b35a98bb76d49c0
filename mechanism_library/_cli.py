"""Command line for browsing the library: ``list``, ``show``, ``diff``.

Commands that change the library (auditing a source through the sandbox,
promoting a generated mechanism) belong in this module too, registered on
the same ``app`` next to the read-only commands below.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from ._catalog import MANIFEST_FIELDS, Entry, catalog, get, manifest_problems
from ._errors import LibraryError

__all__ = ["app", "main"]

app = typer.Typer(
    name="mechanism_library",
    help="Browse the mechanism library: sources, manifests, provenance and performance.",
    no_args_is_help=True,
    add_completion=False,
)


def console() -> Console:
    # Wide and colourless when not a terminal, so piped output and tests see whole lines.
    return Console(width=160, soft_wrap=False, highlight=False)


def lookup(name: str) -> Entry:
    try:
        return get(name)
    except LibraryError as error:
        Console(stderr=True, highlight=False).print(f"error: {error}", markup=False)
        raise typer.Exit(code=2) from None


# ---- read-only commands ---------------------------------------------------


@app.command("list")
def list_entries() -> None:
    """Table of every mechanism: name, hook, origin, addresses, admitted?"""
    table = Table(title="mechanism library")
    for column in ("name", "hook", "origin", "addresses", "admitted", "problems"):
        table.add_column(column, no_wrap=column == "name")
    for entry in catalog():
        problems = manifest_problems(entry)
        table.add_row(
            entry.name,
            entry.hook,
            entry.origin,
            ", ".join(entry.addresses),
            "yes" if entry.admitted else "no",
            str(len(problems)) if problems else "-",
        )
    console().print(table)


@app.command("show")
def show(name: str = typer.Argument(..., help="mechanism name, as in `list`")) -> None:
    """Source with syntax highlighting, the manifest, and the performance history."""
    entry = lookup(name)
    out = console()
    out.rule(f"{entry.name} ({entry.hook})")
    out.print(entry.description, markup=False)
    out.print(Syntax(entry.source, "python", line_numbers=True, word_wrap=False))
    out.rule("manifest")
    out.print_json(json.dumps(plain(entry.manifest)))
    out.rule("history")
    provenance = entry.manifest.get("provenance") or {}
    out.print(f"origin: {entry.origin}; author: {provenance.get('author')}; date: {provenance.get('date')}")
    admission = entry.manifest.get("admission")
    if admission:
        out.print(f"admitted by sandbox {admission.get('sandbox_version')} on {admission.get('date')}")
    else:
        out.print("not yet admitted (no audit recorded)")
    performance = entry.manifest.get("performance") or ()
    if not performance:
        out.print("no performance records yet")
    for record in performance:
        out.print(
            f"run {record.get('run')}: delta {record.get('delta')} over {record.get('trials_active')} trials active"
        )
    problems = manifest_problems(entry)
    for problem in problems:
        out.print(f"manifest problem: {problem}", markup=False)


@app.command("diff")
def diff(a: str = typer.Argument(..., help="first mechanism"), b: str = typer.Argument(..., help="second")) -> None:
    """Unified diff of two sources, then the manifest fields that differ."""
    first, second = lookup(a), lookup(b)
    out = console()
    lines = list(
        difflib.unified_diff(
            first.source.splitlines(),
            second.source.splitlines(),
            fromfile=f"{first.name}.py",
            tofile=f"{second.name}.py",
            lineterm="",
        )
    )
    out.rule("source")
    if lines:
        out.print(Syntax("\n".join(lines), "diff", word_wrap=False))
    else:
        out.print("sources are identical")
    out.rule("manifest")
    differing = [f for f in MANIFEST_FIELDS if first.manifest.get(f) != second.manifest.get(f)]
    if not differing:
        out.print("manifests are identical")
    for field in differing:
        out.print(f"{field}:", style="bold")
        out.print(f"  - {json.dumps(plain(first.manifest.get(field)))}", markup=False)
        out.print(f"  + {json.dumps(plain(second.manifest.get(field)))}", markup=False)


def plain(value: Any) -> Any:
    """Manifests are frozen; json wants lists for their tuples."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def main() -> None:
    app()
