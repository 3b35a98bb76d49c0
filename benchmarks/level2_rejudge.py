"""Judge the filter samples of recorded fill sessions again, with today's behavioural check.

    python -m benchmarks.level2_rejudge benchmarks/results/level2-gpt-b/qwen-1.5b-gpt ...

Each folder is a ``<model>-<task>`` folder of :mod:`benchmarks.level2_bench`, beside the
``trace-<task>.json`` its sessions answered. Every filter sample that was admitted then (verdict
``passed``, ``no-effect`` or ``all-vetoed``) is admitted again from its saved module, loaded, and
replayed through :func:`engine.levels.fill.behaviour.check_behaviour`; a line per sample prints the
verdict then and now, and a last line the tallies. Nothing is asked of a model, so a change to the
check is measured on the very code the model wrote, not on fresh samples.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

__all__ = ["main", "rejudge"]

#: The one hook this tool judges again (the probes are a filter's).
_HOOK = "filter"
_ADMITTED = ("passed", "no-effect", "all-vetoed")


def rejudge(folders: list[Path]) -> list[tuple[str, str, int, str, str]]:
    """(folder, session, sample, verdict then, verdict now: reason) for each admitted filter sample."""
    from benchmarks.level2_bench import rut_trace
    from engine.levels.fill.behaviour import check_behaviour
    from engine.levels.fill.goals import find_rut
    from sandbox import MechanismHost, admit

    rows: list[tuple[str, str, int, str, str]] = []
    host = MechanismHost()
    try:
        for folder in folders:
            trace, space, config, _ = rut_trace(folder.name.split("-")[-1], folder.parent, 7)
            rut = find_rut(trace, space, config)
            for session in sorted(folder.glob("session-*"), key=lambda p: int(p.name.split("-")[1])):
                if json.loads((session / "figures.json").read_text()).get("hook") != _HOOK:
                    continue
                for sample in json.loads((session / "candidates.json").read_text()):
                    module = session / f"candidate-{sample['number']}.py.txt"
                    if sample["verdict"] not in _ADMITTED or not module.is_file():
                        continue
                    loaded = host.load(admit(module.read_text(), _HOOK), 1000 + int(sample["number"]))
                    if not loaded.ok:
                        rows.append((str(folder), session.name, sample["number"], sample["verdict"],
                                     f"load-failed: {loaded.message}"))
                        continue
                    now = check_behaviour(host, loaded.handle, _HOOK, trace, space, config, rut)
                    host.unload(loaded.handle)
                    rows.append((str(folder), session.name, sample["number"], sample["verdict"],
                                 f"{now.verdict}: {now.reason}"))
    finally:
        host.close()
    return rows


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    rows = rejudge([Path(arg) for arg in argv])
    for folder, session, number, then, now in rows:
        print(f"{folder} {session} sample {number}: {then} -> {now[:140]}")
    passes = {(f, s) for f, s, _, _, now in rows if now.startswith("effective")}
    passed = {(f, s) for f, s, _, then, _ in rows if then == "passed"}
    sessions = {(f, s) for f, s, *_ in rows}
    changes = Counter((then, now.split(":")[0]) for _, _, _, then, now in rows)
    print(f"{len(rows)} admitted filter samples in {len(sessions)} sessions; passed then "
          f"{sum(1 for r in rows if r[3] == 'passed')}, now {sum(1 for r in rows if r[4].startswith('effective'))}; "
          f"sessions with a passing sample then {len(passed)}, now {len(passes)}; "
          + ", ".join(f"{then} -> {now} x{n}" for (then, now), n in sorted(changes.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
