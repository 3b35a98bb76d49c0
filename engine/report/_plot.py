"""The progress plot: every trial a dot, the running best a step line.

In the style of the autoresearch progress chart: discarded trials are faint
grey dots, kept trials are green and labelled with what they changed, the
running best of the kept trials is a step line, the baseline a dashed line.
Trials without a metric (crashes, timeouts, rejected proposals) have no height,
so they are drawn as markers along the worse edge of the chart.

The figure is drawn on an Agg canvas directly, not through pyplot, so no
global backend is switched and nothing is left open between calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from interfaces import Decision, Trial

from ._text import changes_text

__all__ = ["plot_progress", "running_best"]

_WIDTH_IN, _HEIGHT_IN, _DPI = 14, 7, 100
_LABEL_CHARS = 42


def running_best(trials: Sequence[Trial], *, minimize: bool = True) -> list[tuple[int, float]]:
    """``(index, best so far)`` at each kept trial that improved the best."""
    steps: list[tuple[int, float]] = []
    for trial in sorted(trials, key=lambda t: t.index):
        metric = trial.metric if trial.kept and trial.ok else None
        if metric is None:
            continue
        if not steps or (metric < steps[-1][1] if minimize else metric > steps[-1][1]):
            steps.append((trial.index, float(metric)))
    return steps


def _points(trials: Sequence[Trial]) -> tuple[list[int], list[float]]:
    """The indices and metrics of those of ``trials`` that have a metric."""
    pairs = [(t.index, float(t.metric)) for t in trials if t.metric is not None]
    return [index for index, _ in pairs], [metric for _, metric in pairs]


def plot_progress(
    trials: Sequence[Trial], path: str | Path, *, minimize: bool = True, title: str = "",
    metric: str | None = None,
) -> Path:
    """Draw the progress chart of ``trials`` to the PNG file ``path``; ``metric`` names the y axis."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    trials = sorted(trials, key=lambda t: t.index)
    figure = Figure(figsize=(_WIDTH_IN, _HEIGHT_IN), dpi=_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    ok = [t for t in trials if t.ok]
    metrics = _points(ok)[1]
    kept_count = sum(1 for t in trials if t.decision is Decision.KEEP)
    axes.set_title(title or f"Progress: {len(trials)} trials, {kept_count} kept")
    axes.set_xlabel("trial")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # trials are whole numbers
    axes.set_ylabel(f"{metric or 'metric'} ({'lower' if minimize else 'higher'} is better)")
    axes.grid(True, alpha=0.25)
    if not trials:
        axes.text(0.5, 0.5, "no trials yet", ha="center", va="center", transform=axes.transAxes)
        figure.savefig(path, format="png")
        return path

    low, high = (min(metrics), max(metrics)) if metrics else (0.0, 1.0)
    span = (high - low) or max(abs(high), 1.0) * 0.05
    # Metric-less trials sit just beyond the worse end of the range.
    edge = high + span * 0.08 if minimize else low - span * 0.08
    axes.set_ylim(low - span * 0.12, high + span * 0.12)

    discarded = [t for t in ok if t.decision is Decision.DISCARD]
    axes.scatter(
        *_points(discarded),
        s=18,
        color="#b0b0b0",
        label=f"discarded ({len(discarded)})",
        zorder=2,
    )
    failed = [t for t in trials if not t.ok and t.decision is not Decision.REJECTED]
    axes.scatter(
        [t.index for t in failed],
        [edge] * len(failed),
        marker="x",
        s=30,
        color="#d62728",
        label=f"failed, no metric ({len(failed)})",
        zorder=3,
    )
    rejected = [t for t in trials if t.decision is Decision.REJECTED]
    axes.scatter(
        [t.index for t in rejected],
        [edge] * len(rejected),
        marker="|",
        s=40,
        color="#7f7f7f",
        label=f"rejected before running ({len(rejected)})",
        zorder=3,
    )

    baseline = next((t.metric for t in trials if t.decision is Decision.BASELINE and t.ok), None)
    if baseline is not None:
        axes.axhline(
            baseline,
            color="#1f77b4",
            linestyle="--",
            linewidth=1,
            label=f"baseline {baseline:.6f}",
            zorder=1,
        )
    kept = [t for t in ok if t.decision in (Decision.KEEP, Decision.BASELINE)]
    axes.scatter(
        *_points(kept),
        s=46,
        color="#2ca02c",
        edgecolors="black",
        linewidths=0.6,
        label=f"kept ({len(kept)})",
        zorder=4,
    )
    steps = running_best(trials, minimize=minimize)
    if steps:
        xs = [x for x, _ in steps] + [trials[-1].index]
        ys = [y for _, y in steps] + [steps[-1][1]]
        axes.step(xs, ys, where="post", color="#2ca02c", linewidth=1.6, label="running best", zorder=3)
    for trial in kept:
        label = (
            "baseline" if trial.decision is Decision.BASELINE else changes_text(trial.changes, _LABEL_CHARS)
        )
        axes.annotate(
            label,
            (trial.index, trial.metric),
            textcoords="offset points",
            xytext=(4, 6),
            rotation=25,
            fontsize=7,
            color="#1a5e1a",
        )
    # Below the axes, so it never hides the failure row or the best trials.
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=6, fontsize=8, frameon=False)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path
