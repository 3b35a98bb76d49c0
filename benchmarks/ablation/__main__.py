"""``python -m benchmarks.ablation``: run groups and baselines, write the report."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer

from interfaces import AutoresearchError

from .baselines import BASELINES
from .checkpoints import check_pairs, merge_folders, merge_source, parse_checkpoints, parse_pairs
from .environment import capture, finish, load_environment, save_environment
from .groups import parse_groups, run_groups
from .noise import NoiseFloor, load_noise, measure_noise
from .report import read_runs, write_report

app = typer.Typer(add_completion=False, help=__doc__)

#: Said at the top of every report whose groups the heuristic stand-in drove.
STAND_IN_NOTE = ("The groups here were driven by the heuristic stand-in, a rule-based provider, not a language "
                 "model: its Level 1 proposals follow fixed rules and its Level 2 pastes hand-written library "
                 "mechanisms. What separates or not here measures those rules and those mechanisms; no "
                 "difference in this report credits Level 2 or an LLM.")


def _command_line(ctx: typer.Context) -> str:
    """The command that reproduces this invocation: every option that differs from its default."""
    parts: list[str] = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value == param.default or param.name is None:
            continue
        flag = max(param.opts, key=len)
        if isinstance(value, bool):
            parts.append(flag if value else next((o for o in getattr(param, "secondary_opts", [])), flag))
        elif isinstance(value, (list, tuple)):
            for item in value:
                parts += [flag, str(item)]
        else:
            parts += [flag, str(value)]
    return "python -m benchmarks.ablation " + shlex.join(parts)


def _task_options(task: str, surrogate_model: Path | None, seed: int, script: dict) -> dict:
    if task == "surrogate":
        if surrogate_model is None:
            from benchmarks.surrogate.models import default_model

            surrogate_model = default_model()
        return {"model": str(surrogate_model.resolve()), "noise_seed": seed}
    if task == "script":
        if not script.get("path") or not script.get("metric"):
            raise AutoresearchError("--task script needs --script PATH and --metric NAME", code="bad-config")
        return {k: v for k, v in script.items() if v is not None}
    if task == "gpt":
        return {k: v for k, v in script.items() if k in ("budget_s", "max_steps") and v is not None}
    return {}


def merged_noise(sources: list[str]) -> NoiseFloor | None:
    """The noise floor measured by one of the merged folders; two that measured it disagree, so refuse."""
    found = [(folder, noise) for folder in dict.fromkeys(merge_source(s)[0] for s in sources)
             if (noise := load_noise(folder)) is not None]
    if len(found) > 1:
        raise AutoresearchError("several merged folders measured a noise floor (" + ", ".join(str(f) for f, _ in found)
                                + "); keep noise.json in one of them", code="bad-config")
    return found[0][1] if found else None


@app.command()
def main(
    ctx: typer.Context,
    task: str = typer.Option("surrogate", help="surrogate | gpt | script"),
    provider: str = typer.Option("heuristic", help="LLM provider for groups A-D"),
    model: str | None = typer.Option(None, help="provider model name"),
    base_url: str | None = typer.Option(None, help="endpoint for an OpenAI-compatible provider (key from the environment)"),
    seeds: int = typer.Option(10, min=1, help="number of paired seeds"),
    first_seed: int = typer.Option(0, help="the seeds are first_seed .. first_seed+seeds-1"),
    iterations: int = typer.Option(30, min=1, help="trials after the baseline, per repeat"),
    groups: str = typer.Option("A,B,C,D", help="comma-separated groups (A-D: level sets; S, W, P, CW: with an "
                                               "Optuna sampler proposing, see benchmarks.ablation.groups); empty for none"),
    baselines: str = typer.Option("random,tpe", help="comma-separated baselines (random, tpe, gp, cmaes); empty for none"),
    sampler: str = typer.Option("gp", help="the Optuna sampler of groups S, W, P and CW: gp, tpe, cmaes or random"),
    out: Path = typer.Option(Path("benchmarks/results/ablation"), help="report folder"),
    parallel: int = typer.Option(1, min=1, help="independent repeats run at once"),
    workers: int = typer.Option(1, min=1, help="trials run at once within a repeat"),
    surrogate_model: Path | None = typer.Option(None, help="model.json for --task surrogate (default: the shipped fit on recorded GPT trials)"),
    alpha: float = typer.Option(0.05, help="significance level of the verdicts"),
    title: str = typer.Option("Ablation", help="report title"),
    reanalyse: Path | None = typer.Option(None, help="only redo the analysis from DIR's CSV files"),
    merge: list[str] = typer.Option([], help="with --reanalyse DIR: DIR's data becomes the repeats of these report "
                                              "folders together (repeatable; arms run by separate commands); "
                                              "DIR::A,B takes only arms A and B of DIR; DIR::A=A-1.5b takes arm A "
                                              "named A-1.5b"),
    compare: str = typer.Option("", help="the paired comparisons the report tests, FIRST:SECOND,... (for example "
                                         "W:gp,P:gp); empty: every pair of arms"),
    checkpoints: str = typer.Option("", help="also report and compare every arm after this many trials, "
                                             "comma-separated (for example 10,20,30)"),
    script: Path | None = typer.Option(None, help="--task script: the script to search"),
    metric: str | None = typer.Option(None, help="--task script: the metric line's name (with --reanalyse: the "
                                                 "name the report gives the metric, val_bpb by default)"),
    maximize: bool = typer.Option(False, help="--task script: higher metric is better"),
    budget: float | None = typer.Option(None, help="training seconds per trial (gpt, script)"),
    max_steps: int | None = typer.Option(None, help="--task gpt: fixed-steps mode, this many steps per trial"),
    outer_every: int = typer.Option(5, min=1, help="Level 1.5 runs every this many iterations (groups B, C)"),
    research_every: int = typer.Option(2, min=1, help="Level 2 runs every this many Level 1.5 cycles (C; D: every this many x outer-every iterations)"),
    server_threads: int = typer.Option(2, min=1, help="--provider local: threads of each repeat's model server"),
    level_model: list[str] = typer.Option([], help="LEVEL=MODEL: the model of one level in groups A-D "
                                                   "(repeatable; for example 1=qwen-0.5b); --model for the others"),
    noise_repeats: int = typer.Option(0, min=0, help="measure the task's noise floor first: the baseline "
                                                     "configuration this many times, seeds varied (0: not measured)"),
) -> None:
    command = _command_line(ctx)
    task_script = {"path": str(script.resolve()) if script else None, "metric": metric,
                   "minimize": not maximize, "budget_s": budget, "max_steps": max_steps}
    try:
        pairs = parse_pairs(compare) if compare.strip() else None
        budgets = parse_checkpoints(checkpoints)
        if merge and reanalyse is None:
            raise AutoresearchError("--merge names the folders whose repeats --reanalyse DIR brings together",
                                    code="bad-config")
        if noise_repeats == 1:
            raise AutoresearchError("--noise-repeats needs at least 2 repeats for a spread", code="bad-config")
        if reanalyse is not None:
            runs = merge_folders(merge) if merge else read_runs(reanalyse)
            noise = merged_noise(merge) if merge else load_noise(reanalyse)
            folders = list(dict.fromkeys(merge_source(s)[0] for s in merge)) if merge else [reanalyse]
            environments = [(str(f), env) for f in folders if (env := load_environment(f)) is not None]
            report = write_report(runs, reanalyse, title=title, command=command, write_data=bool(merge),
                                  metric=metric or "val_bpb", alpha=alpha, pairs=pairs, checkpoints=budgets,
                                  noise=noise, environments=environments)
            typer.echo(f"report: {report}")
            return
        from . import _engine

        group_names = parse_groups(groups) if groups.strip() else ()
        methods = tuple(m.strip() for m in baselines.split(",") if m.strip())
        unknown = [m for m in methods if m not in BASELINES]
        if unknown:
            raise AutoresearchError(f"unknown baseline(s) {', '.join(unknown)}; known: {', '.join(BASELINES)}",
                                    code="unknown-baseline")
        if pairs is not None:
            check_pairs(pairs, (*group_names, *methods))  # before an hour of repeats, not after
        seed_list = list(range(first_seed, first_seed + seeds))
        runs_root = out / "runs"
        runs = []
        noise = None
        environment = capture()
        if noise_repeats:
            executor = _engine.local_executor(runs_root / "noise" / "trials", workers)
            try:
                noise = measure_noise(_engine.load_task(task, _task_options(task, surrogate_model, 0, task_script)),
                                      executor, noise_repeats)
            finally:
                executor.close()
            typer.echo(f"noise floor: sd {noise.std:.4g} over {noise_repeats} baseline repeats")
        if group_names:
            from engine.settings import RunSettings

            base = RunSettings(task=task, provider=provider, model=model, base_url=base_url, iterations=iterations,
                               workers=workers,
                               outer_every=outer_every, research_every=research_every,
                               server_threads=server_threads, sampler=sampler, level_models=tuple(level_model),
                               task_options=_task_options(task, surrogate_model, 0, task_script))
            runs += run_groups(group_names, seed_list, base, runs_root, parallel=parallel)
        if methods:
            from .baselines import run_baselines

            runs += run_baselines(
                methods, seed_list, trials=iterations,
                make_task=lambda s: _engine.load_task(task, _task_options(task, surrogate_model, s, task_script)),
                make_executor=lambda m, s: _engine.local_executor(runs_root / f"{m}-s{s}" / "trials", workers),
                parallel=parallel)
        environment = finish(environment)
        save_environment(environment, out)
        metric = _engine.load_task(task, _task_options(task, surrogate_model, 0, task_script)).metric
        notes = [STAND_IN_NOTE] if group_names and provider == "heuristic" else []
        report = write_report(runs, out, title=title, command=command, metric=metric, notes=notes,
                              alpha=alpha, pairs=pairs, checkpoints=budgets, noise=noise,
                              environments=[(str(out), environment)])
        typer.echo(f"report: {report}")
    except AutoresearchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


if __name__ == "__main__":
    app()
