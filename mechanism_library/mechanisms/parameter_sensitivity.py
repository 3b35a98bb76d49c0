"""Parameter sensitivity observer: how much does each parameter move the metric?

Before deciding where to search, it helps to know which parameters matter.
This observer credits every trial's effect to the parameters it changed:
the effect is the improvement over the incumbent the trial was proposed
against (positive is better, whichever way the metric points), in the spirit
of one-at-a-time sensitivity screening (Morris, 1991). A trial that changed
two parameters credits both, so joint moves blur the picture; counts make
that visible.

Per parameter it keeps: how many trials changed it, how many of those
failed, how many produced a metric, the mean and the best improvement.
`summary()` returns them as plain data for other mechanisms, reports and
tests.
"""

from __future__ import annotations


class ParameterSensitivity:
    def __init__(self):
        self.stats = {}  # name -> {"count", "failures", "deltas"}

    def observe(self, trial, trace):
        if trial.decision == "rejected" or not trial.changes:
            return None  # never ran, or the baseline: nothing to credit
        parent = None
        for earlier in trace.trials:
            if earlier.index >= trial.index:
                break
            if earlier.kept:
                parent = earlier
        delta = None
        if trial.ok and parent is not None and parent.metric is not None:
            gain = parent.metric - trial.metric
            delta = gain if trace.minimize else -gain
        for name in trial.changes:
            entry = self.stats.get(name)
            if entry is None:
                entry = {"count": 0, "failures": 0, "deltas": []}
                self.stats[name] = entry
            entry["count"] = entry["count"] + 1
            if not trial.ok:
                entry["failures"] = entry["failures"] + 1
            if delta is not None:
                entry["deltas"].append(delta)
        return None

    def summary(self):
        """{name: {count, failures, measured, mean_delta, best_delta}}; deltas > 0 are gains."""
        report = {}
        for name in sorted(self.stats):
            entry = self.stats[name]
            deltas = entry["deltas"]
            report[name] = {
                "count": entry["count"],
                "failures": entry["failures"],
                "measured": len(deltas),
                "mean_delta": sum(deltas) / len(deltas) if deltas else None,
                "best_delta": max(deltas) if deltas else None,
            }
        return report


def build(seed: int):
    # Deterministic by construction; the seed is accepted for the common entry point.
    return ParameterSensitivity()
