"""Command line: ``python -m engine.run gpt`` and ``python -m engine.run script PATH``.

Each command starts a new run (or resumes one with ``--resume``), shows live
progress, and ends by printing where the report is.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from interfaces import AutoresearchError

from .flags import CONTROL_FLAGS, settings_from_flags
from .runner import Run, resolve_run_dir
from .settings import RunSettings

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Bilevel autoresearch: an LLM searches a training configuration, and writes sandboxed "
                       "search mechanisms for itself.")
console = Console(stderr=False)
_err_console = Console(stderr=True)  # --dry-run: the table on stderr, the TOML alone on stdout

ProviderOpt = typer.Option(None, "--provider", help="LLM provider: local (a real code model served on this machine; "
                           "the default when installed), openai, deepseek, vllm, llamacpp, ollama, compatible "
                           "(OpenAI-compatible endpoints; keys from OPENAI_API_KEY / DEEPSEEK_API_KEY), heuristic "
                           "(a rule-based stand-in, not a model), replay (answers from --replay FILE).")
ModelOpt = typer.Option(None, "--model", help="Model name (openai: the endpoint's model; local: qwen-1.5b (default) or qwen-0.5b).")
ModelPathOpt = typer.Option(None, "--model-path", help="With --provider local: serve this GGUF file instead of a packaged model.")
BaseUrlOpt = typer.Option(None, "--base-url", help="Endpoint for --provider openai, e.g. http://127.0.0.1:8000/v1. The key is read from OPENAI_API_KEY.")
TimeoutOpt = typer.Option(None, "--request-timeout", help="Seconds a model request may take (default: 900 for --provider local, 60 for endpoints).")
GridOpt = typer.Option(None, "--value-grid", help="Values offered per parameter in a proposal's schema, around the current value on the parameter's scale (0: any value; default 8 for --provider local, whose grammar then keeps proposals in bounds, 0 otherwise).")
LevelModelOpt = typer.Option(None, "--level-model", help="A model for one level, as LEVEL=MODEL (e.g. 2=qwen-1.5b with --model qwen-0.5b: the small model proposes, the larger one writes mechanisms); repeatable. With --provider local each model gets its own server.")
ThreadsOpt = typer.Option(2, "--server-threads", help="Threads of the local model's server; 1 is faster when other work shares the cores.")
IterOpt = typer.Option(30, "--iterations", "-n", help="Inner-loop iterations (training trials after the baseline).")
BudgetOpt = typer.Option(None, "--budget", help="Training budget per trial in seconds (default: the task's preset).")
LevelsOpt = typer.Option("1,1.5,2", "--levels", help="Comma-separated levels to run: 1, 1.5, 2.")
SeedOpt = typer.Option(0, "--seed", help="Seed for the provider and the mechanisms.")
WorkersOpt = typer.Option(1, "--workers", help="Trials run at once.")
ExecutorOpt = typer.Option("local", "--executor", help="local or ray.")
RunsOpt = typer.Option(Path("runs"), "--run-dir", help="Directory that holds run directories.")
ResumeOpt = typer.Option(None, "--resume", help="Resume a run: its id under --run-dir, or its directory.")
RecordOpt = typer.Option(None, "--record", help="Write every model exchange to this JSONL transcript.")
ReplayOpt = typer.Option(None, "--replay", help="Answer from a recorded transcript (with --provider replay).")
AcceptOpt = typer.Option(None, "--acceptance", help="keep-if-better or noise-aware (default: noise-aware when the task's noise floor is known, else keep-if-better).")
MaxTokensOpt = typer.Option(None, "--max-tokens", help="Stop cleanly once the run has used this many tokens.")
MaxUsdOpt = typer.Option(None, "--max-usd", help="Stop cleanly once the run has cost this much.")
OuterOpt = typer.Option(5, "--outer-every", help="Level 1.5 runs every this many iterations.")
ConfineOpt = typer.Option("none", "--confine", help="none (the default: a trial's processes are confined, "
                          "not its files or network) or bwrap (also a read-only file system but its working "
                          "directory, and no network; needs bubblewrap installed). See docs/threat-model.md.")
StyleOpt = typer.Option(None, "--research-style", help="How Level 2 writes mechanisms: fill (the engine writes the module and picks the hook from the trace, the model fills one method; default for --provider local) or dialogue (four rounds, the model writes the whole module; default otherwise).")
SamplesOpt = typer.Option(4, "--samples", help="Level 2 fill sessions: method bodies sampled per session; the best that passes admission and the behavioural check is spliced in.")
ProposerOpt = typer.Option("llm", "--proposer", help="Who proposes Level 1's trials: llm (the default), sampler (an Optuna sampler, see --sampler), alternate (the two take turns, the sampler first) or pick (the sampler offers --pick-from candidates, the model picks one). Proposal-source mechanisms come first; Level 1.5 may change it.")
SamplerOpt = typer.Option("gp", "--sampler", help="The Optuna sampler of --proposer sampler, alternate and pick: gp (GPSampler), tpe, cmaes or random. It is told every trial, whoever proposed it.")
WarmStartOpt = typer.Option(0, "--warm-start", help="Trials after the baseline that the model proposes whatever --proposer says: its priors, before the sampler has evidence.")
PickFromOpt = typer.Option(4, "--pick-from", help="Candidates the sampler offers under --proposer pick (2 to 8).")
OverlapOpt = typer.Option(False, "--overlap/--no-overlap", help="Ask the model for the next proposal while the current trial trains (one trial at a time; with --workers 1): the model's time hides behind training, but that proposal does not see the result of the trial that was training. Use with --server-threads 1 on a 2-core machine so the model and the training do not share a core.")
RemeasureOpt = typer.Option(1, "--remeasure-slow", help="Under a time budget, run a trial flagged slow-machine (below 70% of the baseline's throughput on an oversubscribed machine) again this many times at most, each run a trial of its own; the first at normal speed decides (0: never; the flagged trial is not kept).")
MechanismOpt = typer.Option(None, "--mechanism", help="A library mechanism (a name in mechanism_library, e.g. tabu_filter) active from the baseline on, admitted by the sandbox like any other; repeatable. Chosen by you, not written by Level 2: the report names it so.")
NewOnlyOpt = typer.Option(False, "--new-only", help="Level 2 splices only mechanisms it wrote itself (likeness below 0.6 to the library and earlier sessions); near copies and copies are recorded and left out.")
ResearchOpt = typer.Option(2, "--research-every", help="Level 2 runs every this many Level 1.5 cycles.")
MlflowOpt = typer.Option(None, "--mlflow-uri", help="Also log every trial to this MLflow tracking URI, e.g. sqlite:///mlflow.db (one experiment per run: a parent run with the report, and one nested MLflow run per trial with its script and output; needs the mlflow extra).")


def _config_file(ctx: typer.Context, value: Path | None) -> Path | None:
    from .cli_config import apply_config_file

    try:
        apply_config_file(ctx, value)
    except AutoresearchError as exc:
        _error(exc)
        raise typer.Exit(2) from None
    return value


ConfigOpt = typer.Option(None, "--config", is_eager=True, callback=_config_file, help="A TOML file of this command's flags (long option names as keys, e.g. max-tokens = 5000); flags given on the command line override it. Every run writes its own as config.toml in its directory.")


def default_provider(model: str | None, model_path: str | None) -> str:
    """``local`` when the local model is installed; otherwise stop and say what to do."""
    import importlib.util

    from interfaces import ConfigError

    from .llm.local import INSTALL_COMMAND, resolve_model_path

    problem = ""
    if importlib.util.find_spec("xllamacpp") is None:
        problem = "the llama.cpp runtime (xllamacpp) is not installed"
    else:
        try:
            resolve_model_path(model or "qwen-1.5b", model_path=model_path)
        except AutoresearchError as exc:
            problem = exc.message.splitlines()[0]
    if problem:
        raise ConfigError(
            f"no provider given and the local model cannot run: {problem}.\n"
            f"  install it:        {INSTALL_COMMAND}\n"
            "  or use a rule-based stand-in (no model):  --provider heuristic\n"
            "  or any OpenAI-compatible endpoint:        --provider openai --base-url URL --model NAME",
            code="no-provider")
    return "local"


def _error(exc: Exception) -> None:
    from rich.markup import escape

    console.print(f"[red]error[/red] {escape(str(exc))}", soft_wrap=True)


def _run_flags(ctx: typer.Context) -> dict[str, Any]:
    """The command's flags that set the run (every one but the control flags), for
    :func:`engine.flags.settings_from_flags`: the one path from flags to settings, the
    ``--config`` file's and :func:`engine.optimize`'s too."""
    return {name: value for name, value in ctx.params.items() if name not in CONTROL_FLAGS}


def _stop_on_sigterm(_signum: int, _frame: Any) -> None:
    # SIGTERM stops a run the way Ctrl-C does: trials stopped, the run marked interrupted, resumable.
    raise KeyboardInterrupt


def typed_failure(exc: BaseException, run_dir: Path | None) -> AutoresearchError:
    """A one-line typed error for a failure that is not one of ours (an OS or SQLite error, a bug).

    ``disk-full`` (ENOSPC, EDQUOT), ``run-dir-unwritable`` (EROFS, EACCES,
    EPERM), ``os-error`` (any other OSError), the store's codes for an SQLite
    error, and ``internal-error`` for anything else, whose traceback is
    written to ``<run dir>/crash.log`` (or the temporary directory) instead of
    the terminal.
    """
    import errno
    import sqlite3
    import tempfile
    import traceback

    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return AutoresearchError(f"no space left on the disk{where}; free space, then resume",
                                     code="disk-full")
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return AutoresearchError(f"cannot write{where}: {exc.strerror}; the runs directory must be "
                                     "writable", code="run-dir-unwritable")
        return AutoresearchError(f"{exc.strerror or exc}{where}", code="os-error")
    if isinstance(exc, sqlite3.Error):
        from .store import RunPaths, store_error

        return store_error(exc, RunPaths(run_dir or Path(".")).store, "using")
    folder = run_dir if run_dir is not None and run_dir.is_dir() else Path(tempfile.gettempdir())
    log = folder / "crash.log"
    try:
        with log.open("a", encoding="utf-8") as handle:
            handle.write("".join(traceback.format_exception(exc)))
        where = f"; the traceback is in {log}"
    except OSError:
        where = ""
    return AutoresearchError(f"{type(exc).__name__}: {str(exc)[:300]}{where}", code="internal-error")


def _execute(settings: RunSettings | None, runs_root: Path, resume: str | None,
             overrides: dict[str, Any] | None = None, ctx: Any = None) -> None:
    import signal

    from .progress import Progress

    run = None
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        if resume:
            from .cli_config import resume_overrides

            changes = {k: v for k, v in (overrides or {}).items() if v is not None}
            if ctx is not None:
                changes.update(resume_overrides(ctx))
            run = Run.reopen(resolve_run_dir(resume, runs_root), overrides=changes)
            settings = run.settings
            console.print(f"resuming run [bold]{run.run_id}[/bold] in {run.run_dir}")
        else:
            assert settings is not None
            run = Run.create(settings, runs_root)
            console.print(f"run [bold]{run.run_id}[/bold] in {run.run_dir}")
        console.print(f"task {settings.task}, provider {settings.provider}"
                      + (f" ({settings.model})" if settings.model else "")
                      + f", levels {', '.join(settings.levels)}, {settings.iterations} iterations, seed {settings.seed}")
        options = dict(settings.task_options)
        metric = options.get("metric") or ("val_bpb" if settings.task in ("gpt", "surrogate") else "metric")
        with Progress(console, iterations=settings.iterations, metric=metric,
                      minimize=bool(options.get("minimize", True))) as progress:
            run.events = progress.events()
            result = run.execute()
    except KeyboardInterrupt:
        if run is None:
            console.print("\n[yellow]interrupted[/yellow] before the run started.")
        else:
            task = settings.task if settings else "script"
            console.print(f"\n[yellow]interrupted.[/yellow] Resume with: python -m engine.run {task} "
                          f"--resume {run.run_id} --run-dir {runs_root}", soft_wrap=True)
        raise typer.Exit(130) from None
    except AutoresearchError as exc:
        _error(exc)
        raise typer.Exit(2) from None
    except Exception as exc:  # noqa: BLE001 - an OS or SQLite error, or a bug: one typed line, no traceback
        _error(typed_failure(exc, run.run_dir if run is not None else None))
        raise typer.Exit(2) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    _summary(result, settings.task if settings else "", runs_root)


def _summary(result: Any, task: str = "", runs_root: Path | None = None) -> None:
    console.print(f"\nrun {result.run_id}: {result.status}, {result.trials} trials")
    if result.status == "stopped":
        console.print(f"stopped by its budget; resume with a higher cap: python -m engine.run {task} "
                      f"--resume {result.run_id} --run-dir {runs_root} --max-tokens N (or --max-usd X)",
                      soft_wrap=True)
    if result.baseline is not None and result.best is not None:
        console.print(f"baseline {result.baseline:.4f} -> best {result.best:.4f} ({result.best - result.baseline:+.4f})")
    if result.report is not None:
        console.print(f"report: {result.report}")


@app.command()
def gpt(
    provider: str | None = ProviderOpt,
    model: str | None = ModelOpt,
    model_path: Path | None = ModelPathOpt,
    level_model: list[str] | None = LevelModelOpt,
    base_url: str | None = BaseUrlOpt,
    request_timeout: float | None = TimeoutOpt,
    server_threads: int = ThreadsOpt,
    value_grid: int | None = GridOpt,
    iterations: int = IterOpt,
    budget: float | None = BudgetOpt,
    max_steps: int | None = typer.Option(None, "--max-steps", help="Fixed-steps mode: train this many steps instead of a time budget (deterministic)."),
    preset: str = typer.Option("cpu", "--preset", help="cpu or gpu."),
    data: Path | None = typer.Option(None, "--data", help="Your own text file or directory instead of the built-in corpus."),
    noise_repeats: int = typer.Option(0, "--noise-repeats", help="Train the baseline this many times first and use the std of val_bpb as the noise floor (default: the floor measured on a quiet 2-core machine; a busy machine is noisier)."),
    compile: bool | None = typer.Option(None, "--compile/--no-compile", help="torch.compile the model in every trial, before its training timer starts (default: the preset's; on for gpu). Compiling takes 20-320 s a trial on 2 CPU cores, paid outside the budget; a step then runs about 1.5x faster."),
    levels: str = LevelsOpt,
    seed: int = SeedOpt,
    workers: int = WorkersOpt,
    executor: str = ExecutorOpt,
    run_dir: Path = RunsOpt,
    resume: str | None = ResumeOpt,
    record: Path | None = RecordOpt,
    replay: Path | None = ReplayOpt,
    acceptance: str | None = AcceptOpt,
    max_tokens: int | None = MaxTokensOpt,
    max_usd: float | None = MaxUsdOpt,
    outer_every: int = OuterOpt,
    research_every: int = ResearchOpt,
    research_style: str | None = StyleOpt,
    samples: int = SamplesOpt,
    new_only: bool = NewOnlyOpt,
    proposer: str = ProposerOpt,
    sampler: str = SamplerOpt,
    warm_start: int = WarmStartOpt,
    pick_from: int = PickFromOpt,
    remeasure_slow: int = RemeasureOpt,
    overlap: bool = OverlapOpt,
    mechanism: list[str] | None = MechanismOpt,
    confine: str = ConfineOpt,
    mlflow_uri: str | None = MlflowOpt,
    config: Path | None = ConfigOpt,
    ctx: typer.Context = None,  # type: ignore[assignment]  # typer passes the context by its type
) -> None:
    """Search the GPT pretraining task's hyperparameters to minimise val_bpb."""
    settings = None
    if not resume:
        try:
            settings = settings_from_flags("gpt", _run_flags(ctx))
            if data is not None:
                from .tasks import load_task

                # Your own data is prepared and checked now, so data too small to train is one line here,
                # before a run directory exists.
                load_task("gpt", **settings.task_options)
        except AutoresearchError as exc:
            _error(exc)
            raise typer.Exit(2) from None
    _execute(settings, run_dir, resume, {"max_tokens": max_tokens, "max_usd": max_usd}, ctx)


@app.command()
def script(
    path: Path | None = typer.Argument(None, help="The script to search: module-level UPPERCASE literals are its parameters."),
    metric: str | None = typer.Option(None, "--metric", help="Name of the `name: value` line (or JSON key) to optimise."),
    maximize: bool = typer.Option(False, "--maximize", help="Higher metric is better (default: lower is better)."),
    metric_file: str | None = typer.Option(None, "--metric-file", help="Read the metric from this JSON file the script writes, relative to its working directory."),
    metric_regex: str | None = typer.Option(None, "--metric-regex", help="Read the metric with this regular expression instead of a `name: value` line: its one group (or the group named value) captures the number, e.g. 'MSE\\) on test set: (\\S+)'; the last match counts, --metric names it."),
    throughput_metric: str | None = typer.Option(None, "--throughput-metric", help="Name of the `name: value` line (or JSON key of --metric-file) that measures work per second, higher is faster, e.g. samples_per_second: every trial records it, and one that ran below 70% of the baseline's while the machine was busy is flagged slow-machine."),
    steps_metric: str | None = typer.Option(None, "--steps-metric", help="Name of the `name: value` line (or JSON key of --metric-file) that counts the training steps a trial took, e.g. num_steps: every trial records it, in the report's trial table and as the Optuna trial's `steps` attribute."),
    space: Path | None = typer.Option(None, "--space", help="TOML file overriding the discovered space (bounds, log, choices, locked, exclude)."),
    budget: float = typer.Option(60.0, "--budget", help="Wall-clock budget per trial in seconds."),
    noise_repeats: int = typer.Option(0, "--noise-repeats", help="Run the baseline this many times first to measure the metric's noise."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the discovered search space (a table on stderr) and, on stdout, a space.toml to edit and pass back with --space; run nothing."),
    provider: str | None = ProviderOpt,
    model: str | None = ModelOpt,
    model_path: Path | None = ModelPathOpt,
    level_model: list[str] | None = LevelModelOpt,
    base_url: str | None = BaseUrlOpt,
    request_timeout: float | None = TimeoutOpt,
    server_threads: int = ThreadsOpt,
    value_grid: int | None = GridOpt,
    iterations: int = IterOpt,
    levels: str = LevelsOpt,
    seed: int = SeedOpt,
    workers: int = WorkersOpt,
    executor: str = ExecutorOpt,
    run_dir: Path = RunsOpt,
    resume: str | None = ResumeOpt,
    record: Path | None = RecordOpt,
    replay: Path | None = ReplayOpt,
    acceptance: str | None = AcceptOpt,
    max_tokens: int | None = MaxTokensOpt,
    max_usd: float | None = MaxUsdOpt,
    outer_every: int = OuterOpt,
    research_every: int = ResearchOpt,
    research_style: str | None = StyleOpt,
    samples: int = SamplesOpt,
    new_only: bool = NewOnlyOpt,
    proposer: str = ProposerOpt,
    sampler: str = SamplerOpt,
    warm_start: int = WarmStartOpt,
    pick_from: int = PickFromOpt,
    remeasure_slow: int = RemeasureOpt,
    overlap: bool = OverlapOpt,
    mechanism: list[str] | None = MechanismOpt,
    confine: str = ConfineOpt,
    mlflow_uri: str | None = MlflowOpt,
    config: Path | None = ConfigOpt,
    ctx: typer.Context = None,  # type: ignore[assignment]  # typer passes the context by its type
) -> None:
    """Search any script with a hyperparameter block and a printed metric."""
    settings = None
    if not resume:
        if path is None or metric is None:
            console.print("[red]error[/red] give the script's PATH and --metric NAME (or --resume RUN)")
            raise typer.Exit(2)
        try:
            from .flags import script_task_options
            from .tasks import load_task

            # The script is read and its space checked first: a bad script is one line before anything else.
            task = load_task("script", **script_task_options(_run_flags(ctx)))
            if dry_run:
                _print_space(task)
                return
            settings = settings_from_flags("script", _run_flags(ctx))
        except AutoresearchError as exc:
            _error(exc)
            raise typer.Exit(2) from None
    _execute(settings, run_dir, resume, {"max_tokens": max_tokens, "max_usd": max_usd}, ctx)


@app.command()
def plots(
    run: str = typer.Argument(..., help="The run: its id under --run-dir, or its directory."),
    run_dir: Path = RunsOpt,
    out: Path | None = typer.Option(None, "--out", help="Folder for the plots (default: the run directory)."),
) -> None:
    """Write Optuna's plots of a run (history, parameter importances, parallel coordinates, the contour over the two most important parameters), HTML and PNG."""
    from .export import write_plots

    try:
        written = write_plots(resolve_run_dir(run, run_dir), out_dir=out)
    except AutoresearchError as exc:
        _error(exc)
        raise typer.Exit(2) from None
    for plot in written:
        console.print(f"{plot.name} ({plot.format}): {plot.path}" if plot.path else
                      f"{plot.name} ({plot.format}): not written: {plot.reason}", soft_wrap=True)


def _print_space(task: Any) -> None:
    """The discovered space: a table on stderr, and on stdout a ``--space`` TOML file when the task writes one.

    Only the TOML goes to stdout, so ``--dry-run > space.toml`` gives a file to edit and pass back with
    ``--space`` (docs/space-toml.md).
    """
    from rich.table import Table

    from .levels.prompts import describe_param

    space = task.space()
    table = Table(title=f"search space of {task.name}")
    for column in ("parameter", "kind", "default", "allowed", "locked"):
        table.add_column(column)
    for spec in space:
        allowed = describe_param(spec, spec.default).split(": ", 1)[1]
        table.add_row(spec.name, spec.kind.value, repr(spec.default), allowed, "yes" if spec.locked else "")
    request = task.build_trial(0, space.defaults())
    command = "baseline command: " + " ".join(request.argv)
    metric = f"metric: {task.metric} ({'lower' if task.minimize else 'higher'} is better)"
    _err_console.print(table)
    _err_console.print(command, soft_wrap=True, markup=False)
    _err_console.print(metric, soft_wrap=True, markup=False)
    space_toml = getattr(task, "space_toml", None)
    if callable(space_toml):
        header = [f"search space of {task.name} (python -m engine.run script --dry-run)", command, metric]
        sys.stdout.write(space_toml(header=header))
        sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    app(args=argv)


if __name__ == "__main__":
    main(sys.argv[1:])
