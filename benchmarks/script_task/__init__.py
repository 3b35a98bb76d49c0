"""Any script as a task: its module-level UPPERCASE literals are the search space.

``discover_space`` reads the hyperparameter block, ``apply_changes`` writes
validated values back as literals with libcst (never by text substitution),
and ``ScriptTask`` ties them into an :class:`interfaces.Task`. Reading a
finished run's output (``parse_metrics``, ``classify``) is the executor's
job and lives in ``engine.executors``.
"""

from ._apply import ProposalRejected, apply_changes, rewrite_literals
from ._discover import Assignment, default_spec, discover_space, find_assignments
from ._factory import load_script_task, script_task
from ._literals import NotALiteral, literal_value, render_literal
from ._space_file import SpaceFile, load_space_file, parse_space_table
from ._task import ScriptTask

__all__ = [
    "Assignment",
    "NotALiteral",
    "ProposalRejected",
    "ScriptTask",
    "SpaceFile",
    "apply_changes",
    "default_spec",
    "discover_space",
    "find_assignments",
    "literal_value",
    "load_script_task",
    "load_space_file",
    "parse_space_table",
    "render_literal",
    "rewrite_literals",
    "script_task",
]
