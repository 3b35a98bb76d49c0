"""Command line: ``list``, ``show``, ``diff`` read the library; ``audit``,
``promote`` and ``record-performance`` check and change it.

Exit codes: 0 done; 1 an audit found a mechanism the sandbox does not admit;
2 bad input (unknown name, not a run directory, a name clash, ...), with the
error's stable code on stderr.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from interfaces import thaw
from interfaces.store_schema import STORE_FILENAME

from ._audit import AuditResult, audit_all, store_admission
from ._catalog import MANIFEST_FIELDS, Entry, catalog, get, manifest_problems
from ._errors import LibraryError
from ._promote import promote as promote_mechanism, record_performance as fold_run

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


@app.callback()
def library_option(
    ctx: typer.Context,
    library: Path | None = typer.Option(None, "--library", help="library directory (default: the shipped one)"),
) -> None:
    ctx.obj = library


def library_dir(ctx: typer.Context) -> Path | None:
    """The --library option, kept on the root context."""
    return ctx.find_root().obj


def fail(error: LibraryError) -> typer.Exit:
    Console(stderr=True, highlight=False).print(f"error: {error}", markup=False)
    return typer.Exit(code=2)


def lookup(ctx: typer.Context, name: str) -> Entry:
    try:
        return get(name, library_dir(ctx))
    except LibraryError as error:
        raise fail(error) from None


def entries(ctx: typer.Context) -> tuple[Entry, ...]:
    try:
        return catalog(library_dir(ctx))
    except LibraryError as error:
        raise fail(error) from None


# ---- read-only commands ---------------------------------------------------


@app.command("list")
def list_entries(ctx: typer.Context) -> None:
    """Table of every mechanism: name, hook, origin, addresses, admitted?"""
    table = Table(title="mechanism library")
    for column in ("name", "hook", "origin", "addresses", "admitted", "problems"):
        table.add_column(column, no_wrap=column == "name")
    for entry in entries(ctx):
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
def show(ctx: typer.Context, name: str = typer.Argument(..., help="mechanism name, as in `list`")) -> None:
    """Source with syntax highlighting, the manifest, and the performance history."""
    entry = lookup(ctx, name)
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
def diff(
    ctx: typer.Context,
    a: str = typer.Argument(..., help="first mechanism"),
    b: str = typer.Argument(..., help="second"),
) -> None:
    """Unified diff of two sources, then the manifest fields that differ."""
    first, second = lookup(ctx, a), lookup(ctx, b)
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


# ---- commands that check or change the library ------------------------------


@app.command("audit")
def audit_command(
    ctx: typer.Context,
    name: str | None = typer.Argument(None, help="mechanism to audit (or --all)"),
    all_: bool = typer.Option(False, "--all", help="audit every mechanism in the library"),
    write: bool = typer.Option(False, "--write", help="store each new admission record in its manifest"),
    jobs: int = typer.Option(1, "--jobs", min=1, help="admissions run at once (each verifies in a child process)"),
    max_examples: int | None = typer.Option(None, "--max-examples", min=1,
                                               help="hypothesis examples per property suite (default: the sandbox's)"),
    as_json: bool = typer.Option(False, "--json", help="print the results as JSON"),
) -> None:
    """Admit sources again with the real sandbox and report what changed against the stored record."""
    if all_ == (name is not None):
        raise fail(LibraryError("name one mechanism or pass --all (not both)", code="bad-arguments"))
    chosen = list(entries(ctx)) if all_ else [lookup(ctx, str(name))]
    try:
        results = audit_all(chosen, jobs=jobs, max_examples=max_examples)
    except LibraryError as error:
        raise fail(error) from None
    if write:
        for entry, result in zip(chosen, results, strict=True):
            store_admission(entry, result)
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        print_audits(results, written=write)
    if not all(r.admitted for r in results):
        raise typer.Exit(code=1)


def print_audits(results: list[AuditResult], *, written: bool) -> None:
    out = console()
    for result in results:
        verdict = "admitted" if result.admitted else "REJECTED"
        if result.previous is None:
            status = "no earlier record"
        else:
            status = "changed" if result.changed else "unchanged"
        out.print(f"{result.name}: {verdict} ({status})", markup=False)
        if result.previous is not None:
            for change in result.changes:
                out.print(f"  {change.field}: {json.dumps(plain(change.before))} -> {json.dumps(plain(change.after))}",
                          markup=False)
        for line in result.feedback.splitlines():
            out.print(f"  {line}", markup=False)
    failed = sum(not r.admitted for r in results)
    out.print(f"{len(results)} audited, {failed} not admitted" + ("; records written" if written else ""))


@app.command("promote")
def promote_command(
    ctx: typer.Context,
    run: Path = typer.Argument(..., help=f"run directory (holds {STORE_FILENAME} and level2/)"),
    mechanism: str = typer.Argument(..., help="the mechanism's name in the run (level2/mechanisms/NAME.py)"),
    new_name: str | None = typer.Option(None, "--as", help="library name, when the run's name is taken"),
    addresses: str | None = typer.Option(None, "--addresses",
                                            help="comma-separated symptoms (default: the session's trace flags)"),
) -> None:
    """Copy a generated mechanism into the library with provenance, admission and performance."""
    symptoms = [a.strip() for a in addresses.split(",") if a.strip()] if addresses else None
    try:
        done = promote_mechanism(run, mechanism, library=library_dir(ctx), new_name=new_name, addresses=symptoms)
    except LibraryError as error:
        raise fail(error) from None
    out = console()
    provenance = done.entry.manifest["provenance"]
    out.print(f"promoted {mechanism} from run {provenance['run']} as {done.entry.name} ({done.entry.hook})",
              markup=False)
    out.print(f"  model: {provenance['provider']}/{provenance['model']}; session {provenance['session']}; "
              f"transcript {provenance['transcript']} sha256 {provenance['transcript_sha256']}", markup=False)
    out.print(f"  admitted by sandbox {done.audit.record['sandbox_version']}", markup=False)
    if done.performance is None:
        out.print("  the run has no verdict on it yet: no performance record", markup=False)
    else:
        out.print(f"  performance: {json.dumps(plain(done.performance))}", markup=False)


@app.command("record-performance")
def record_performance_command(ctx: typer.Context, run: Path = typer.Argument(..., help="run directory")) -> None:
    """Fold a run's verdicts into the manifests of the library sources it ran (matched by digest)."""
    try:
        folded = fold_run(run, library=library_dir(ctx))
    except LibraryError as error:
        raise fail(error) from None
    out = console()
    for name, record in folded:
        out.print(f"{name}: run {record['run']} as {record['mechanism']}: {record['verdict']}, "
                  f"delta {record['delta']}, {record['calls']} calls", markup=False)
    out.print(f"{len(folded)} performance records folded")


def plain(value: Any) -> Any:
    """Manifests are frozen; json wants lists for their tuples."""
    return thaw(value)


def main() -> None:
    app()
