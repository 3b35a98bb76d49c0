"""A short real window of Level 1 with one mechanism spliced in, through the engine's own loop.

After a Level 2 session has chosen a candidate on a rut trace, the candidate
is loaded into the mechanism host and activated in a :class:`HookRegistry`;
:class:`InnerLoop` then runs ``iterations`` real iterations from that trace
(real proposals by the same model, real trials) exactly as a run would. What
comes back is what the run record would show: the mechanism's calls and
effects by kind, whether it was ejected, how many of the window's proposals
left the rut, the Level 1 proposals the model made and how many of them were
valid. The same window with no mechanism is the control: it says how often
Level 1 alone leaves the rut from the same trace.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from interfaces import SearchConfig, TraceView

__all__ = ["VALID_REJECTIONS", "WindowFigures", "run_window"]

#: Rejections of a model's proposal that do not make it invalid: a configuration already tried, a mechanism's
#: veto. Every other rejection code (a value off the space, an unknown or inactive parameter, a malformed
#: answer, a task rule broken) counts as an invalid proposal.
VALID_REJECTIONS = frozenset({"duplicate", "vetoed"})


@dataclass
class WindowFigures:
    """One window: the mechanism's record in it (``mechanism`` empty for the control) and Level 1's."""

    mechanism: str
    hook: str
    iterations: int
    trials: int = 0
    calls: int = 0
    effects: dict[str, int] = field(default_factory=dict)
    ejected: str = ""
    left_rut: int = 0  # trials (run or rejected) that changed a parameter other than the stuck one
    changed: int = 0  # trials that changed anything
    ran: int = 0  # trials that were trained (not rejected, not vetoed)
    llm_proposals: int = 0
    llm_invalid: int = 0
    invalid_codes: dict[str, int] = field(default_factory=dict)
    best_before: float | None = None
    best_after: float | None = None
    kept: int = 0

    @property
    def called(self) -> bool:
        return self.calls > 0

    @property
    def effective(self) -> bool:
        """At least one effect, and the search still ran: a filter that vetoed every proposal of the
        window changed decisions by stopping the search, which the behaviour check refuses too."""
        return sum(self.effects.values()) > 0 and self.ran > 0

    def to_dict(self) -> dict[str, Any]:
        return dict(asdict(self), called=self.called, effective=self.effective)


def run_window(provider: Any, task: Any, trace: TraceView, config: SearchConfig, *, stuck: str | None,
               iterations: int, host: Any = None, admission: Any = None, name: str = "", hook: str = "",
               seed: int = 0, grid_points: int = 8, folder: Path | None = None) -> WindowFigures:
    """``iterations`` Level 1 iterations from ``trace``, with ``admission`` spliced into ``hook`` if given."""
    from engine.executors import LocalExecutor
    from engine.hooks import HookRegistry
    from engine.levels.acceptance import BuiltinAcceptance
    from engine.levels.inner import InnerLoop
    from engine.store import RunStore

    folder = Path(folder or tempfile.mkdtemp(prefix="level2-window-"))
    folder.mkdir(parents=True, exist_ok=True)
    figures = WindowFigures(name, hook, iterations, best_before=trace.best_metric())
    store = RunStore.open(folder / "window.sqlite", durable=False)
    executor = LocalExecutor(workers=1, root=folder / "trials")
    registry = HookRegistry(host if admission is not None else None)
    try:
        store.create_run("window", task=task.name, settings={}, provider=provider.name, model=provider.model)
        for trial in trace.trials:
            store.finish_trial("window", trial, None)
        if admission is not None:
            loaded = host.load(admission, seed)
            if not loaded.ok:
                figures.ejected = f"load-failed: {loaded.code}: {loaded.message}"
                return figures
            registry.activate(name, hook, loaded.handle, len(trace.trials))
        inner = InnerLoop(task=task, executor=executor, provider=provider, store=store, run_id="window",
                          registry=registry, acceptance=BuiltinAcceptance("keep-if-better", task.noise_floor()),
                          search_config=config)
        inner.grid_points = grid_points
        mechanism = registry.active[0] if registry.active else None
        for _ in range(iterations):
            inner.iterate()
        after = inner.trace()
        window = [t for t in after.trials if t.index >= len(trace.trials)]
        figures.trials = len(window)
        figures.best_after = after.best_metric()
        figures.kept = sum(1 for t in window if t.decision.value == "keep")
        figures.changed = sum(1 for t in window if t.changes)
        figures.ran = sum(1 for t in window if t.decision.value != "rejected")
        figures.left_rut = sum(1 for t in window if any(n != stuck for n in t.changes)) if stuck else 0
        llm = [t for t in window if t.source and not t.source.startswith(("mechanism:", "baseline"))]
        codes = Counter((t.reason or "").split(":", 1)[0] for t in llm if t.decision.value == "rejected")
        figures.llm_proposals = len(llm)
        figures.invalid_codes = {c: n for c, n in codes.items() if c not in VALID_REJECTIONS}
        figures.llm_invalid = sum(figures.invalid_codes.values())
        if mechanism is not None:
            figures.calls = mechanism.calls
            figures.effects = dict(Counter(str(e.get("effect")) for e in mechanism.effect_log))
            if registry.ejected:
                first = registry.ejected[0]
                figures.ejected = f"{first['code']}: {first['message'][:200]}"
        return figures
    finally:
        for active in list(registry.active):
            registry.remove(active.name, "window-end", {})
        executor.close()
        store.close()
