"""Write a search space as a ``--space`` TOML file (docs/space-toml.md), one that reads back as itself.

``render_space_file`` is what ``--dry-run`` prints: every parameter as a
``[params.NAME]`` table with its ``kind``, bounds (``low``, ``high``,
``log``) or ``choices``, ``locked`` and ``description``, and the excluded
names, so that :func:`._space_file.parse_space_table` on the printed text,
applied to the same script, gives the same space. Standard library only: TOML
is written by :func:`interfaces.toml_value`, the project's one TOML writer.
"""

from __future__ import annotations

from collections.abc import Iterable

from interfaces import ParamKind, ParamSpec, SearchSpace, toml_key, toml_value

from ._discover import name_rule

__all__ = ["render_space_file", "toml_key", "toml_value"]

def _summary(spec: ParamSpec) -> str:
    if spec.kind is ParamKind.CHOICE:
        allowed = "one of " + ", ".join(repr(c) for c in spec.choices)
    elif spec.kind is ParamKind.BOOL:
        allowed = "true or false"
    else:
        allowed = f"{spec.kind.value} in [{spec.low!r}, {spec.high!r}]" + (", log scale" if spec.log else "")
    line = f"# {spec.name} = {spec.default!r}: {allowed}"
    rule = name_rule(spec.name)
    if spec.locked:
        line += f"; locked ({rule.why})" if rule is not None and rule.locked else "; locked"
    return line


def _entry(spec: ParamSpec) -> list[str]:
    lines = [_summary(spec), f"[params.{toml_key(spec.name)}]", f"kind = {toml_value(spec.kind.value)}"]
    if spec.kind is ParamKind.CHOICE:
        lines.append(f"choices = {toml_value(list(spec.choices))}")
    elif spec.kind in (ParamKind.FLOAT, ParamKind.INT):
        lines += [f"low = {toml_value(spec.low)}", f"high = {toml_value(spec.high)}",
                  f"log = {toml_value(spec.log)}"]
    lines.append(f"locked = {toml_value(spec.locked)}")
    if spec.description:
        lines.append(f"description = {toml_value(spec.description)}")
    return lines


def render_space_file(space: SearchSpace, *, exclude: Iterable[str] = (), header: Iterable[str] = ()) -> str:
    """The TOML text of ``space`` in the ``--space`` format; ``header`` lines become leading comments."""
    lines = [f"# {' '.join(str(line).splitlines())}" for line in header]
    lines += ["# Edit the bounds, choices or locked flags, then pass this file back with --space FILE",
              "# (docs/space-toml.md). Names in exclude keep their value and are not searched.",
              "",
              f"exclude = {toml_value(list(exclude))}"]
    for spec in space:
        lines += ["", *_entry(spec)]
    return "\n".join(lines) + "\n"
