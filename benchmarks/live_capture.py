"""The live panel of a real run, captured the first time the run reaches each level, and its plots.

    python -m benchmarks.live_capture [--out docs/captures] [--provider heuristic] [-n 12]

Runs the shipped digits example through ``engine.run``'s own path (a real store, real trials, the
sandbox and the mechanism host for Level 2), with a :class:`engine.progress.Progress` whose panel is
rendered to text at the first moment of each level and step kind (setup, Level 1 proposing and training,
Level 1.5, Level 2 and its rounds), and the model's state at that moment. Writes ``live-panel.md``
(each capture as the terminal showed it, with the load average) and Optuna's plots of the run
(``engine.run plots``) as PNG into ``--out``. With ``--provider heuristic`` (the default: it needs no
model) the "model" lines are the rule-based stand-in's; ``--provider local`` shows the real model's.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console

__all__ = ["main"]

_ROOT = Path(__file__).resolve().parents[1]


def _kind(level: str, detail: str) -> str:
    """What a capture stands for: the level and the first word or two of its step."""
    words = detail.split()
    head = " ".join(words[:1]) if level == "1" else " ".join(w for w in words[:3] if not w[:1].isdigit())
    return f"{level}: {head.rstrip(':')}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=_ROOT / "docs/captures")
    parser.add_argument("--provider", default="heuristic")
    parser.add_argument("--model", default=None)
    parser.add_argument("-n", "--iterations", type=int, default=12)
    args = parser.parse_args(argv)

    from engine.export import write_plots
    from engine.progress import Progress
    from engine.runner import Run
    from engine.settings import RunSettings

    settings = RunSettings(task="script", task_options={"path": str(_ROOT / "examples/digits/train.py"),
                                                        "metric": "val_loss", "budget_s": 60.0},
                           provider=args.provider, model=args.model, iterations=args.iterations,
                           outer_every=3, research_every=1, seed=0)
    captures: list[tuple[str, float, str]] = []
    seen: set[str] = set()
    started = time.monotonic()
    console = Console(file=io.StringIO(), width=110)
    progress = Progress(console, iterations=settings.iterations, metric="val_loss", minimize=True, live=False)
    events = progress.events()
    plain_level, plain_asked = events.level_started, events.model_asked

    def snapshot(kind: str) -> None:
        if kind not in seen:
            seen.add(kind)
            load = " ".join(f"{v:.2f}" for v in os.getloadavg())
            captures.append((kind, time.monotonic() - started, progress.render(width=110) + f"(load average {load})"))

    def level_started(level: str, detail: str) -> None:
        plain_level(level, detail)
        snapshot(_kind(level, detail))

    def model_asked(purpose: str) -> None:
        plain_asked(purpose)
        snapshot(f"{progress.level}: asking the model ({purpose})")

    plain_generated = events.model_generated

    def model_generated(tokens: int) -> None:
        plain_generated(tokens)
        if tokens >= 20:  # a few seconds into a streamed answer: the count the panel shows while it comes
            snapshot(f"{progress.level}: the model answering ({progress.asking[0] if progress.asking else '?'})")

    events.level_started, events.model_asked = level_started, model_asked
    events.model_generated = model_generated
    runs_root = Path(tempfile.mkdtemp(prefix="live-capture-"))
    with progress:
        run = Run.create(settings, runs_root, events=events)
        result = run.execute()
    args.out.mkdir(parents=True, exist_ok=True)
    lines = ["# The live panel of a real run, at each level", "",
             "Made with `python -m benchmarks.live_capture` "
             f"(provider `{settings.provider}`, the digits example, {settings.iterations} iterations, Level 1.5 every "
             "3, Level 2 every cycle). Each block is the panel as the terminal showed it the first time the run "
             "reached that level and step (and, with a model that streams, the first time its answer passed 20 tokens), "
             "with the seconds since the start and the load average then.", "",
             f"The run ended `{result.status}`: {result.trials} trials, baseline {result.baseline}, best {result.best}.",
             ""]
    for kind, seconds, text in captures:
        lines += [f"## {kind} ({seconds:.0f} s in)", "", "```", text.rstrip(), "```", ""]
    lines += ["## The trial lines the console printed", "", "```", console.file.getvalue().rstrip(), "```", ""]  # type: ignore[attr-defined]
    (args.out / "live-panel.md").write_text("\n".join(lines))
    written = write_plots(result.run_dir, out_dir=args.out, formats=("png",))
    for plot in written:
        print(plot)
    shutil.rmtree(runs_root, ignore_errors=True)
    print(f"captures: {args.out / 'live-panel.md'} ({len(captures)} panels)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
