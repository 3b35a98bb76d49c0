"""A child process that writes to a store until it is SIGKILLed.

Usage: python -m tests.engine.store._crash_child STORE MODE
  hammer     finish trials as fast as possible, printing each index once committed
  in-flight  finish 5 trials, begin trial 5, print, then hang
  mid-transaction  finish 3 trials, then hang inside a transaction holding a snapshot and state
"""

from __future__ import annotations

import sys
import time

from engine.store import RunStore
from interfaces import Decision, Outcome, Proposal, SearchConfig, Trial, TrialStatus


def trial(index: int) -> tuple[Trial, Outcome]:
    metric = 2.0 - index * 1e-3
    config = {"LR": 0.01 * (index + 1), "DEPTH": 4}
    decision = Decision.BASELINE if index == 0 else Decision.KEEP
    return (
        Trial(index, config, {"LR": config["LR"]}, TrialStatus.OK, metric, decision, log_tail="x" * 2000),
        Outcome(TrialStatus.OK, metric, {"val_bpb": metric}),
    )


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    path, mode = sys.argv[1], sys.argv[2]
    store = RunStore.open(path)
    if not store.runs():
        store.create_run("crash", task="surrogate", settings={}, provider="heuristic", model="")
    start = len(store.trials("crash"))
    count = {"hammer": 10**9, "in-flight": 5, "mid-transaction": 3}[mode]
    for index in range(start, start + count):
        store.begin_trial("crash", index, Proposal({"LR": 0.1}, source="heuristic"), {"LR": 0.1})
        store.finish_trial("crash", *trial(index))
        store.set_state("crash", "next_index", index + 1)
        say(f"finished {index}")
    if mode == "in-flight":
        store.begin_trial("crash", start + count, Proposal({"LR": 0.2}, source="heuristic"), {"LR": 0.2})
        say(f"flying {start + count}")
    else:
        with store.transaction():
            store.add_config_snapshot(
                "crash", 0, start + count - 1, SearchConfig(active=("LR",)), "half-written"
            )
            store.set_state("crash", "cycle", 1)
            say("inside")
            time.sleep(600)
    time.sleep(600)


if __name__ == "__main__":
    main()
