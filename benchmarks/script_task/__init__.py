"""Any script as a task: its module-level UPPERCASE literals and dict literals are the search space.

``discover_space`` reads the hyperparameter block (UPPERCASE ``NAME =
literal`` assignments, and each key of a module-level dict literal as
``name.key``), ``apply_changes`` writes
validated values back as literals with libcst (never by text substitution),
and ``ScriptTask`` ties them into an :class:`interfaces.Task`. Reading a
finished run's output (``parse_metrics``, ``classify``) is the executor's
job and lives in ``engine.executors``. Which lines are parameters, how their
bounds are inferred (:data:`NAME_RULES`) and the ``--space`` TOML format
(``render_space_file`` writes it, ``parse_space_table`` reads it) are
described in docs/space-toml.md.
"""

from ._apply import ProposalRejected, apply_changes, rewrite_literals
from ._discover import (
    NAME_RULES,
    SEED_PATTERN,
    Assignment,
    BoundsRule,
    default_spec,
    dict_entries,
    discover_space,
    find_assignments,
    is_seed,
    name_rule,
)
from ._factory import load_script_task, script_task
from ._literals import NotALiteral, literal_value, render_literal
from ._space_file import SpaceFile, load_space_file, parse_space_table
from ._space_render import render_space_file, toml_key, toml_value
from ._task import ScriptTask

__all__ = [
    "NAME_RULES",
    "SEED_PATTERN",
    "Assignment",
    "BoundsRule",
    "NotALiteral",
    "ProposalRejected",
    "ScriptTask",
    "SpaceFile",
    "apply_changes",
    "default_spec",
    "dict_entries",
    "discover_space",
    "find_assignments",
    "is_seed",
    "literal_value",
    "load_script_task",
    "load_space_file",
    "name_rule",
    "parse_space_table",
    "render_literal",
    "render_space_file",
    "rewrite_literals",
    "script_task",
    "toml_key",
    "toml_value",
]
