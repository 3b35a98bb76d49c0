"""Read a finished script's output and classify how it ended, from evidence only."""

from __future__ import annotations

import math
import re
import signal
from collections.abc import Mapping

from interfaces import ConfigError, Outcome, TrialStatus, metric_pattern

__all__ = ["parse_metrics", "match_metric", "classify", "log_tail", "OOM_MARKERS"]

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf|infinity)"
_METRIC_LINE = re.compile(rf"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*:\s*({_NUMBER})\s*$", re.IGNORECASE)
_DIVERGED_LINE = re.compile(r"^\s*status\s*:\s*diverged\b", re.IGNORECASE | re.MULTILINE)

# Text that only an allocation failure prints (Python, C++, PyTorch CPU and CUDA allocators).
OOM_MARKERS = (
    "MemoryError",
    "std::bad_alloc",
    "can't allocate memory",
    "Cannot allocate memory",
    "CUDA out of memory",
    "OutOfMemoryError",
)


def parse_metrics(stdout: str) -> dict[str, float]:
    """Every ``key: number`` line of ``stdout``; the last line wins for a repeated key.

    Progress lines that end in carriage returns count as separate lines.
    ``nan`` and ``inf`` parse as floats, so a caller can tell a diverged
    metric from a missing one.
    """
    metrics: dict[str, float] = {}
    for line in stdout.splitlines():
        match = _METRIC_LINE.match(line)
        if match:
            metrics[match.group(1)] = float(match.group(2))
    return metrics


def match_metric(stdout: str, regex: str) -> tuple[float | None, str]:
    """The number the last match of ``regex`` (:func:`interfaces.metric_pattern`) captures in ``stdout``.

    Returns ``(value, "")``, or ``(None, why)`` when the pattern is invalid,
    nothing matches, or the captured text is not a number; ``nan`` and
    ``inf`` parse, so a diverged metric is told from a missing one.
    """
    try:
        pattern, group = metric_pattern(regex)
    except ConfigError as exc:
        return None, exc.message
    matches = list(pattern.finditer(stdout))
    if not matches:
        return None, f"no match for the metric pattern {regex!r} in the output"
    captured = (matches[-1].group(group) or "").strip()
    if not re.fullmatch(_NUMBER, captured, re.IGNORECASE):
        return None, f"the metric pattern {regex!r} matched {captured[:80]!r}, which is not a number"
    return float(captured), ""


def log_tail(stdout: str, stderr: str, *, max_chars: int = 2000) -> str:
    """The end of the output, stderr last because a traceback is the useful part."""
    parts = [stdout.strip()[-max_chars:]]
    if stderr.strip():
        parts.append("--- stderr ---\n" + stderr.strip()[-max_chars:])
    return "\n".join(p for p in parts if p)[-max_chars:]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else ""


def _exit_description(exit_code: int) -> str:
    if exit_code < 0:
        try:
            return f"killed by {signal.Signals(-exit_code).name}"
        except ValueError:
            return f"killed by signal {-exit_code}"
    return f"exit code {exit_code}"


def classify(
    exit_code: int | None,
    stdout: str,
    stderr: str,
    *,
    timed_out: bool = False,
    metric: str = "val_bpb",
    duration_s: float = 0.0,
    time_limit_s: float | None = None,
    file_metrics: Mapping[str, float] | None = None,
    metric_regex: str | None = None,
) -> Outcome:
    """An :class:`Outcome` for a finished (or killed) run.

    In order: killed at the wall-clock limit -> timed-out; a ``status:
    diverged`` line or a non-finite objective -> diverged; an allocator's
    failure message -> out-of-memory; a non-zero exit -> crashed; no
    objective line -> missing-metric; otherwise ok. ``file_metrics`` (read
    from a metric file) take precedence over stdout lines of the same key.
    With ``metric_regex`` the objective is what the pattern captures
    (:func:`match_metric`); no match is missing-metric, saying so.
    """
    metrics = {**parse_metrics(stdout), **{k: float(v) for k, v in (file_metrics or {}).items()}}
    missing = f"no '{metric}: <number>' line in the output"
    if metric_regex is not None:
        metrics.pop(metric, None)  # the pattern, not a line that happens to share the name, is the objective
        value, missing = match_metric(stdout, metric_regex)
        if value is not None:
            metrics[metric] = value
    finite = {k: v for k, v in metrics.items() if math.isfinite(v)}
    tail = log_tail(stdout, stderr)

    def outcome(status: TrialStatus, reason: str, value: float | None = None) -> Outcome:
        return Outcome(status=status, metric=value, metrics=finite, exit_code=exit_code,
                       duration_s=duration_s, log_tail=tail, reason=reason)

    if timed_out:
        limit = f" of {time_limit_s:g} s" if time_limit_s is not None else ""
        return outcome(TrialStatus.TIMED_OUT, f"killed at the wall-clock limit{limit}")
    if _DIVERGED_LINE.search(stdout):
        return outcome(TrialStatus.DIVERGED, f"the script reported divergence ({_last_line(stdout)})")
    if metric in metrics and not math.isfinite(metrics[metric]):
        return outcome(TrialStatus.DIVERGED, f"{metric} is {metrics[metric]}")
    if any(marker in stderr for marker in OOM_MARKERS):
        return outcome(TrialStatus.OUT_OF_MEMORY, f"allocation failed: {_last_line(stderr)}")
    if exit_code is None or exit_code != 0:
        described = "no exit code" if exit_code is None else _exit_description(exit_code)
        last = _last_line(stderr) or _last_line(stdout)
        return outcome(TrialStatus.CRASHED, f"{described}: {last}" if last else described)
    if metric not in metrics:
        return outcome(TrialStatus.MISSING_METRIC, missing)
    return outcome(TrialStatus.OK, "", metrics[metric])
