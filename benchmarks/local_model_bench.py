"""Speed of the local model server: load time, prompt and generation tokens/s.

    python -m benchmarks.local_model_bench --model qwen-0.5b --model qwen-1.5b
    python -m benchmarks.local_model_bench --model qwen-1.5b --skip-speed --proposals 50 --value-grid 8 --value-grid 0
    python -m benchmarks.local_model_bench --model qwen-1.5b --skip-speed --proposals 30 --task surrogate

For each model: the time from starting :class:`LocalServer` to ``/health``
answering (the model load), then ``--runs`` requests read through llama.cpp's
own ``timings`` (prompt processing and generation measured separately, prompt
cache off, a fixed number of generated tokens), then one strict-JSON-schema
proposal through the OpenAI SDK, timed end to end, and the server's resident
memory. The first model given is the reference: every other model is also
printed as a ratio to it. The machine's
load average is printed too, because the figures move with it on a shared
machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import openai

from engine.llm.local import MODELS, LocalServer, ensure_weights

__all__ = [
    "COPY_SIMILARITY", "QUALITY_TASKS", "QUAD_SCRIPT", "SERVER_THREADS", "ModelQuality", "ModelSpeed", "ablation",
    "level1_figures", "level2_figures", "library_likeness", "main", "measure", "measure_quality", "proposal_tokens",
    "generated_tokens", "token_medians",
]

#: llama.cpp's threads wait for each other at every step: on cores shared with
#: many other processes one thread, never left waiting for a descheduled
#: sibling, generated several times faster than two here. The engine's runs
#: below get it as their ``server_threads`` setting.
SERVER_THREADS = int(os.environ.get("LOCAL_BENCH_THREADS", "1"))
#: An admitted mechanism this alike to a library one (``library_likeness``) is counted as a copy.
COPY_SIMILARITY = 0.9


# About 300 prompt tokens: long enough that prompt speed is not dominated by per-request overhead.
_PROMPT = (
    "You tune the training of a small GPT language model. The configuration has a learning rate, "
    "a batch size, a number of layers, a number of heads, an embedding width, a dropout rate, a "
    "weight decay, a warmup length and a schedule. "
) * 6 + "Which single change would you try next, and why?"

_PROPOSAL_SCHEMA = {
    "type": "object",
    "properties": {
        "parameter": {"type": "string"},
        "value": {"type": "number"},
        "reason": {"type": "string"},
    },
    "required": ["parameter", "value", "reason"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class ModelSpeed:
    model: str
    threads: int
    load_s: float
    prompt_tokens: int
    prompt_tokens_per_s: float
    generated_tokens: int
    generation_tokens_per_s: float
    proposal_s: float
    resident_mb: float
    load_average_1m: float


def _timings(base_url: str, generate: int) -> dict[str, float]:
    body = {
        "model": "local",
        "messages": [{"role": "user", "content": _PROMPT}],
        "max_tokens": generate,
        "temperature": 0.0,
        "ignore_eos": True,  # a fixed generation length, whatever the model would say
        "cache_prompt": False,  # every run processes the whole prompt
    }
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        reply = json.load(response)
    if "timings" not in reply:
        raise RuntimeError("the server's reply has no 'timings' field; is this llama.cpp's server?")
    return reply["timings"]


def _proposal_seconds(base_url: str) -> float:
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=600)
    start = time.perf_counter()
    reply = client.chat.completions.create(
        model="local",
        messages=[
            {"role": "system", "content": "You tune the training of a small GPT. Answer in JSON."},
            {"role": "user", "content": "Propose one change to the configuration."},
        ],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "proposal", "strict": True, "schema": _PROPOSAL_SCHEMA},
        },
        max_tokens=120,
        temperature=0.0,
    )
    elapsed = time.perf_counter() - start
    json.loads(reply.choices[0].message.content or "")  # a proposal that does not parse is a failure
    return elapsed


def _resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def measure(model: str, *, threads: int, runs: int, generate: int, log_dir: Path) -> ModelSpeed:
    path = ensure_weights(model)
    start = time.perf_counter()
    with LocalServer(path, threads=threads, n_ctx=2048, log_path=log_dir / f"{model}.log") as server:
        load_s = time.perf_counter() - start
        timings = [_timings(server.base_url, generate) for _ in range(runs)]
        proposal_s = _proposal_seconds(server.base_url)
        assert server.pid is not None
        resident_mb = _resident_mb(server.pid)
    return ModelSpeed(
        model=model,
        threads=threads,
        load_s=load_s,
        prompt_tokens=int(timings[0]["prompt_n"]),
        prompt_tokens_per_s=statistics.median(t["prompt_per_second"] for t in timings),
        generated_tokens=int(timings[0]["predicted_n"]),
        generation_tokens_per_s=statistics.median(t["predicted_per_second"] for t in timings),
        proposal_s=proposal_s,
        resident_mb=resident_mb,
        load_average_1m=os.getloadavg()[0],
    )


# -- quality: the engine's own prompts, schemas and admission, with the real model --------------------

QUAD_SCRIPT = Path(__file__).resolve().parents[1] / "tests" / "engine" / "data" / "quad.py"
# Rejections that are not about the answer's validity: the engine refused a valid proposal.
_VALID_BUT_REFUSED = frozenset({"duplicate", "vetoed"})


@dataclass(frozen=True)
class ModelQuality:
    """Level 1 and Level 2 answer quality of one model, read back from engine runs' stores."""

    model: str
    proposals: int
    valid_proposals: int
    invalid_codes: tuple[tuple[str, int], ...]
    seconds_per_proposal: float
    sessions: int
    admitted_first_try: int
    admitted_after_repair: int
    never_admitted: int
    session_failures: tuple[tuple[str, int], ...]
    violation_codes: tuple[tuple[str, int], ...]
    seconds_per_session: float
    #: Admitted mechanisms that are copies of a library mechanism (similarity >= COPY_SIMILARITY).
    admitted_copies: int = 0
    likeness: tuple[dict[str, Any], ...] = ()
    #: Medians over the Level 1 proposals: prompt tokens sent, and those the server evaluated (not read from its cache).
    prompt_tokens_per_proposal: float = float("nan")
    evaluated_tokens_per_proposal: float = float("nan")
    #: Median tokens generated per Level 1 proposal (generation is the slow part on a CPU).
    generated_tokens_per_proposal: float = float("nan")

    @property
    def valid_share(self) -> float:
        return self.valid_proposals / self.proposals if self.proposals else float("nan")


def _counted(codes: list[str]) -> tuple[tuple[str, int], ...]:
    import collections

    return tuple(collections.Counter(codes).most_common())


def level1_figures(store: Any, run_id: str, source: str = "local:") -> tuple[int, int, list[str], list[float]]:
    """Proposals the model made, how many validated, the codes of those that did not, and seconds each.

    A proposal is any trial the model proposed (rejected ones included); it
    validates unless the engine refused it for its content (a malformed answer,
    too many changes, a space violation, an inactive parameter). Duplicates
    and filter vetoes are valid proposals the search refused.
    """
    proposals = [t for t in store.trials(run_id) if t.source.startswith(source)]
    invalid = []
    for trial in proposals:
        if trial.decision.value == "rejected":
            code = trial.reason.split(":", 1)[0]
            if code not in _VALID_BUT_REFUSED:
                invalid.append(code)
    seconds = [float(c["duration_s"]) for c in _exchanges(store, run_id) if c["purpose"] == "propose"]
    return len(proposals), len(proposals) - len(invalid), invalid, seconds


def proposal_tokens(store: Any, run_id: str) -> list[tuple[int, int]]:
    """``(prompt tokens, of them read from the server's cache)`` for each Level 1 proposal request."""
    return [(int(c["prompt_tokens"] or 0), int(c["cached_prompt_tokens"] or 0))
            for c in store.llm_call_rows(run_id) if c["purpose"] == "propose"]


def generated_tokens(store: Any, run_id: str) -> list[int]:
    """Tokens the model generated for each Level 1 proposal request."""
    return [int(c["completion_tokens"] or 0) for c in store.llm_call_rows(run_id) if c["purpose"] == "propose"]


def token_medians(tokens: list[tuple[int, int]]) -> tuple[float, float]:
    """Median prompt tokens sent and median evaluated (sent less cached) over ``proposal_tokens`` pairs."""
    if not tokens:
        return float("nan"), float("nan")
    return statistics.median(p for p, _ in tokens), statistics.median(p - c for p, c in tokens)


def _exchanges(store: Any, run_id: str) -> list[dict[str, Any]]:
    return list(store.llm_calls(run_id))


def _error_code(text: str) -> str:
    """``"[code] message"`` (how the engine's errors print) gives ``code``; anything else itself."""
    match = re.match(r"\[([a-z0-9-]+)\]", text)
    return match.group(1) if match else (text or "unknown")


def library_likeness(source: str) -> tuple[str, float]:
    """The library mechanism ``source`` is most like, and how alike (0-1).

    Compared as code, not text: both sides are parsed and unparsed without
    docstrings and comments, so a renamed copy of a worked example scores
    near 1. A small model that copies the example it was shown is admitted
    like any other; this figure says how often that is what happened.
    """
    import ast
    import difflib

    import mechanism_library

    def normal(text: str) -> str:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            return text
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if not (isinstance(body, list) and body):
                continue
            first = body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                # getattr above found the body; ast.AST itself declares no such attribute.
                node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
        return ast.unparse(tree)

    mine = normal(source)
    best = ("", 0.0)
    for entry in mechanism_library.catalog():
        ratio = difflib.SequenceMatcher(None, mine, normal(entry.source), autojunk=False).ratio()
        if ratio > best[1]:
            best = (entry.name, ratio)
    return best


def level2_figures(run_dir: Path, store: Any, run_id: str) -> dict[str, Any]:
    """Sessions and how their mechanisms fared in admission, from ``level2/session-*/``."""
    first = repaired = never = 0
    likeness: list[dict[str, Any]] = []
    failures: list[str] = []
    violations: list[str] = []
    sessions = sorted((run_dir / "level2").glob("session-*"), key=lambda p: int(p.name.split("-")[1]))
    for folder in sessions:
        decision_file = folder / "decision.json"
        decision: dict[str, Any] = (json.loads(decision_file.read_text()) if decision_file.exists()
                                    else {"decision": "session-failed", "error": "no decision recorded"})
        for admission_file in sorted(folder.glob("admission-*.json")):
            admission = json.loads(admission_file.read_text())
            violations += [v["code"] for v in admission.get("violations", [])]
            if admission.get("counterexample"):
                violations.append("property-counterexample")
        if decision["decision"] == "activated":
            first += decision["attempts"] == 1
            repaired += decision["attempts"] > 1
            admitted_code = folder / f"attempt-{decision['attempts']}.py"
            if admitted_code.exists():
                name, ratio = library_likeness(admitted_code.read_text())
                likeness.append({"session": folder.name, "library_mechanism": name, "similarity": round(ratio, 3)})
        else:
            never += 1
            if decision["decision"] == "session-failed":
                failures.append(_error_code(str(decision.get("error", ""))))
    # A session's time: its rounds' requests, explore to the last repair.
    session_seconds: list[float] = []
    for call in _exchanges(store, run_id):
        if call["level"] != "2":
            continue
        if call["purpose"] == "explore" or not session_seconds:
            session_seconds.append(0.0)
        session_seconds[-1] += float(call["duration_s"])
    return {"sessions": len(sessions), "first": first, "repaired": repaired, "never": never,
            "failures": failures, "violations": violations, "session_seconds": session_seconds,
            "likeness": likeness}


def _quality_run(settings: Any, runs_root: Path) -> tuple[Path, str]:
    from engine.runner import Run

    run = Run.create(settings, runs_root)
    run.execute()
    return run.run_dir, run.run_id


#: Tasks the quality part can run: cheap trials, so the figures are the model's. The surrogate has the GPT task's
#: search space, so its proposal prompts are as long as the GPT task's.
QUALITY_TASKS: dict[str, tuple[str, dict[str, Any]]] = {
    "quad": ("script", {"path": str(QUAD_SCRIPT), "metric": "loss"}),
    "surrogate": ("surrogate", {}),
}


def measure_quality(model: str, *, proposals: int, sessions: int, runs_root: Path, seed: int = 0,
                    value_grid: int | None = None, task: str = "quad") -> ModelQuality:
    """Two engine runs on a cheap task (``QUALITY_TASKS``) with the local model, then their stores read back.

    Level 1 alone for ``proposals`` iterations, and all levels with a Level 2
    session after each of the first ``sessions`` iterations. Level 1
    figures pool the proposals of both runs.
    """
    from engine.settings import RunSettings
    from engine.store import RunPaths, RunStore

    task_name, task_options = QUALITY_TASKS[task]
    level1 = RunSettings(task=task_name, task_options=task_options, provider="local", model=model,
                         iterations=proposals, levels=("1",), seed=seed, server_threads=SERVER_THREADS,
                         value_grid=value_grid)
    level2 = RunSettings(task=task_name, task_options=task_options, provider="local", model=model,
                         # No cycle follows the last iteration, so one more iteration than sessions.
                         iterations=sessions + 1, levels=("1", "1.5", "2"), outer_every=1, research_every=1,
                         seed=seed, server_threads=SERVER_THREADS, value_grid=value_grid)
    made = valid = 0
    invalid: list[str] = []
    proposal_seconds: list[float] = []
    tokens: list[tuple[int, int]] = []
    generated: list[int] = []
    figures: dict[str, Any] = {}
    planned = [settings for settings, wanted in ((level1, proposals), (level2, sessions)) if wanted > 0]
    for settings in planned:
        run_dir, run_id = _quality_run(settings, runs_root)
        store = RunStore.open(RunPaths(run_dir).store)
        try:
            n, ok, codes, seconds = level1_figures(store, run_id)
            made, valid, invalid, proposal_seconds = made + n, valid + ok, invalid + codes, proposal_seconds + seconds
            tokens += proposal_tokens(store, run_id)
            generated += generated_tokens(store, run_id)
            if "2" in settings.levels:
                figures = level2_figures(run_dir, store, run_id)
        finally:
            store.close()
    return ModelQuality(
        model=model, proposals=made, valid_proposals=valid, invalid_codes=_counted(invalid),
        seconds_per_proposal=statistics.mean(proposal_seconds) if proposal_seconds else float("nan"),
        sessions=figures.get("sessions", 0), admitted_first_try=figures.get("first", 0),
        admitted_after_repair=figures.get("repaired", 0), never_admitted=figures.get("never", 0),
        session_failures=_counted(figures.get("failures", [])),
        violation_codes=_counted(figures.get("violations", [])),
        seconds_per_session=statistics.mean(figures["session_seconds"]) if figures.get("session_seconds")
        else float("nan"),
        admitted_copies=sum(x["similarity"] >= COPY_SIMILARITY for x in figures.get("likeness", [])),
        likeness=tuple(figures.get("likeness", [])),
        prompt_tokens_per_proposal=token_medians(tokens)[0],
        evaluated_tokens_per_proposal=token_medians(tokens)[1],
        generated_tokens_per_proposal=statistics.median(generated) if generated else float("nan"),
    )


def _codes(pairs: tuple[tuple[str, int], ...], limit: int = 4) -> str:
    return ", ".join(f"{code} x{count}" for code, count in pairs[:limit]) or "-"


def _print_quality(results: list[ModelQuality]) -> None:
    print(f"{'model':<20}{'proposals':>10}{'valid':>8}{'s/proposal':>12}{'prompt tok':>11}{'evaluated':>10}{'generated':>10}"
          f"{'sessions':>10}{'1st try':>9}{'repaired':>10}{'never':>7}{'s/session':>11}")
    for r in results:
        print(f"{r.model:<20}{r.proposals:>10}{r.valid_share:>8.0%}{r.seconds_per_proposal:>12.1f}"
              f"{r.prompt_tokens_per_proposal:>11.0f}{r.evaluated_tokens_per_proposal:>10.0f}"
              f"{r.generated_tokens_per_proposal:>10.0f}{r.sessions:>10}"
              f"{r.admitted_first_try:>9}{r.admitted_after_repair:>10}{r.never_admitted:>7}{r.seconds_per_session:>11.1f}")
    for r in results:
        print(f"{r.model}: invalid proposals: {_codes(r.invalid_codes)}; commonest violations: "
              f"{_codes(r.violation_codes)}; failed sessions: {_codes(r.session_failures)}; "
              f"admitted copies of a library mechanism: {r.admitted_copies} of "
              f"{r.admitted_first_try + r.admitted_after_repair}")


def _print_table(results: list[ModelSpeed]) -> None:
    reference = results[0]
    print(
        f"{'model':<11}{'load s':>8}{'prompt tok/s':>14}{'gen tok/s':>11}"
        f"{'proposal s':>12}{'RSS MB':>8}{'load avg':>10}"
    )
    for result in results:
        print(
            f"{result.model:<11}{result.load_s:>8.2f}{result.prompt_tokens_per_s:>14.1f}"
            f"{result.generation_tokens_per_s:>11.1f}{result.proposal_s:>12.2f}"
            f"{result.resident_mb:>8.0f}{result.load_average_1m:>10.2f}"
        )
    for result in results[1:]:
        print(
            f"{result.model} / {reference.model}: load x{result.load_s / reference.load_s:.2f}, "
            f"prompt speed x{result.prompt_tokens_per_s / reference.prompt_tokens_per_s:.2f}, "
            f"generation speed x{result.generation_tokens_per_s / reference.generation_tokens_per_s:.2f}, "
            f"proposal time x{result.proposal_s / reference.proposal_s:.2f}"
        )


def ablation(argv: list[str]) -> int:
    """Groups A and C of :mod:`benchmarks.ablation` on the quad script with the local model.

    The repeats are the ablation's own engine runs (``run_groups`` and
    ``write_report``); this adds the Level 1 and Level 2 quality figures of
    the repeats, printed and written to ``quality.json``.
    """
    import shlex

    from benchmarks.ablation.groups import run_groups
    from benchmarks.ablation.report import write_report
    from engine.settings import RunSettings
    from engine.store import RunPaths, RunStore

    parser = argparse.ArgumentParser(prog="python -m benchmarks.local_model_bench ablation")
    parser.add_argument("--model", default="qwen-0.5b", choices=sorted(MODELS))
    parser.add_argument("--groups", default="A,C")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--outer-every", type=int, default=3)
    parser.add_argument("--research-every", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/local-ablation-quad"))
    parser.add_argument("--runs-dir", type=Path, required=True, help="where the repeats' run folders go")
    parser.add_argument("--parallel", type=int, default=1,
                        help="repeats at once, each with its own server")
    args = parser.parse_args(argv)
    base = RunSettings(task="script", task_options={"path": str(QUAD_SCRIPT), "metric": "loss"}, provider="local",
                       model=args.model, iterations=args.iterations, outer_every=args.outer_every,
                       research_every=args.research_every, server_threads=SERVER_THREADS)
    groups = tuple(g.strip() for g in args.groups.split(",") if g.strip())
    runs = run_groups(groups, list(range(args.seeds)), base, args.runs_dir, parallel=args.parallel)
    command = "python -m benchmarks.local_model_bench ablation " + shlex.join(argv)
    report = write_report(runs, args.out, title=f"Ablation A vs C, quad script, local {args.model}",
                          command=command, metric="loss")
    made = valid = 0
    invalid: list[str] = []
    sessions: list[dict[str, Any]] = []
    for run in runs:
        run_dir = Path(run.run_dir)
        store = RunStore.open(RunPaths(run_dir).store)
        try:
            run_id = store.runs()[0].run_id
            n, ok, codes, _seconds = level1_figures(store, run_id)
            made, valid, invalid = made + n, valid + ok, invalid + codes
            if (run_dir / "level2").exists():
                sessions.append(level2_figures(run_dir, store, run_id))
        finally:
            store.close()
    quality = {
        "model": args.model, "proposals": made, "valid_proposals": valid, "invalid_codes": _counted(invalid),
        "sessions": sum(f["sessions"] for f in sessions),
        "admitted_first_try": sum(f["first"] for f in sessions),
        "admitted_after_repair": sum(f["repaired"] for f in sessions),
        "never_admitted": sum(f["never"] for f in sessions),
        "violation_codes": _counted([v for f in sessions for v in f["violations"]]),
        "session_failures": _counted([v for f in sessions for v in f["failures"]]),
        "seconds_per_session": [round(x, 1) for f in sessions for x in f["session_seconds"]],
    }
    (args.out / "quality.json").write_text(json.dumps(quality, indent=1))
    print(json.dumps(quality, indent=1))
    print(f"report: {report}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["ablation"]:
        return ablation(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m benchmarks.local_model_bench", description=__doc__)
    parser.add_argument(
        "--model", action="append", choices=sorted(MODELS), help="repeatable; first is the reference"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--generate", type=int, default=64, help="tokens generated per timed request")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--skip-speed", action="store_true", help="measure quality only")
    parser.add_argument("--proposals", type=int, default=0,
                        help="quality: Level 1 iterations per model (0: no quality part)")
    parser.add_argument("--sessions", type=int, default=0, help="quality: Level 2 sessions per model")
    parser.add_argument("--runs-dir", type=Path, help="quality: keep the engine runs here (default: a scratch folder)")
    parser.add_argument("--task", choices=sorted(QUALITY_TASKS), default="quad",
                        help="quality: the cheap task the engine runs (surrogate: the GPT task's search space)")
    parser.add_argument("--value-grid", type=int, action="append",
                        help="quality: values offered per parameter in the proposal schema (0: any value); "
                             "repeatable, each one measured in turn (default: the engine's, 8 for the local model)")
    args = parser.parse_args(argv)
    models = args.model or ["qwen-0.5b", "qwen-1.5b"]
    output: dict[str, Any] = {"load_average_1m_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="local-model-bench-") as scratch:
        if not args.skip_speed:
            results = [
                measure(
                    model, threads=args.threads, runs=args.runs, generate=args.generate, log_dir=Path(scratch)
                )
                for model in models
            ]
            _print_table(results)
            output["speed"] = [asdict(result) for result in results]
        if args.proposals or args.sessions:
            runs_root = args.runs_dir or Path(scratch) / "runs"
            grids = args.value_grid or [None]
            quality = [replace(measure_quality(model, proposals=args.proposals, sessions=args.sessions,
                                               runs_root=runs_root, value_grid=grid, task=args.task),
                               model=model if grid is None else f"{model} grid={grid}")
                       for model in models for grid in grids]
            _print_quality(quality)
            output["quality"] = [dict(asdict(q), valid_share=q.valid_share) for q in quality]
    output["load_average_1m_end"] = os.getloadavg()[0]
    if args.json is not None:
        args.json.write_text(json.dumps(output, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
