"""The ablation report: per-trial CSV, per-run CSV, plots and Markdown.

The Markdown is computed from the same rows that go into ``trials.csv`` and
``runs.csv``; :func:`read_runs` reads them back, so the whole analysis can be
redone from the CSV files (``python -m benchmarks.ablation --reanalyse DIR``).
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from interfaces import ConfigError

from ._data import RunData, TrialRow
from .checkpoints import Checkpoint, at_checkpoints, check_pairs
from .curves import AnytimeBand, SecondsBand, anytime_band, seconds_band, seconds_grid
from .environment import environment_lines
from .noise import NoiseFloor, noise_lines, save_noise
from .stats import Comparison, GroupSummary, compare_all, summarise

__all__ = ["TRIAL_COLUMNS", "RUN_COLUMNS", "Analysis", "analyse", "write_csv", "read_runs", "write_report"]

TRIAL_COLUMNS = ("group", "seed", "trial_index", "status", "metric", "decision", "best_so_far", "tokens", "seconds",
                 "config", "source", "elapsed")
RUN_COLUMNS = ("group", "seed", "minimize", "status", "baseline", "best", "improvement", "searched_trials",
               "tokens", "cost_usd", "seconds", "run_dir")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(float(value))
    return str(value)


def write_csv(runs: Sequence[RunData], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    trials_path, runs_path = out_dir / "trials.csv", out_dir / "runs.csv"
    with trials_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(TRIAL_COLUMNS)
        for run in runs:
            for row, best in zip(run.rows, run.best_so_far(), strict=True):
                writer.writerow([run.arm, run.seed, row.index, row.status, _cell(row.metric), row.decision,
                                 _cell(best), _cell(row.tokens), _cell(row.seconds),
                                 json.dumps(dict(row.config), sort_keys=True), row.source, _cell(row.elapsed)])
    with runs_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RUN_COLUMNS)
        for run in runs:
            best = run.best_so_far()[-1] if run.rows else None
            writer.writerow([run.arm, run.seed, run.minimize, run.status, _cell(run.baseline), _cell(best),
                             _cell(run.improvement), len(run.searched()), _cell(run.tokens), _cell(run.cost_usd),
                             _cell(run.seconds), run.run_dir])
    return trials_path, runs_path


def _number(text: str, kind: type = float) -> Any:
    return None if text == "" else kind(float(text)) if kind is int else kind(text)


def read_runs(out_dir: Path) -> list[RunData]:
    """Rebuild the repeats from ``trials.csv`` and ``runs.csv`` in ``out_dir``."""
    trials_path, runs_path = out_dir / "trials.csv", out_dir / "runs.csv"
    for path in (trials_path, runs_path):
        if not path.exists():
            raise ConfigError(f"no {path.name} in {out_dir}", code="missing-data")
    rows: dict[tuple[str, int], list[TrialRow]] = {}
    with trials_path.open(newline="") as handle:
        for record in csv.DictReader(handle):
            key = (record["group"], int(record["seed"]))
            rows.setdefault(key, []).append(TrialRow(
                index=int(record["trial_index"]), status=record["status"], metric=_number(record["metric"]),
                decision=record["decision"], seconds=_number(record["seconds"]) or 0.0,
                tokens=_number(record["tokens"], int), config=json.loads(record["config"] or "{}"),
                source=record.get("source", ""), elapsed=_number(record.get("elapsed") or "")))
    runs = []
    with runs_path.open(newline="") as handle:
        for record in csv.DictReader(handle):
            key = (record["group"], int(record["seed"]))
            runs.append(RunData(key[0], key[1], record["minimize"] == "True", tuple(rows.get(key, ())),
                                tokens=_number(record["tokens"], int), cost_usd=_number(record["cost_usd"]),
                                seconds=_number(record["seconds"]) or 0.0, status=record["status"],
                                run_dir=record["run_dir"]))
    return runs


@dataclass(frozen=True)
class Analysis:
    arms: tuple[str, ...]
    budget: int
    summaries: tuple[GroupSummary, ...]
    comparisons: tuple[Comparison, ...]
    curves: tuple[AnytimeBand, ...]
    excluded: tuple[str, ...]  # repeats without a measured baseline, named "arm/seed"
    alpha: float
    checkpoints: tuple[Checkpoint, ...] = ()
    seconds_curves: tuple[SecondsBand, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "arms": list(self.arms),
            "budget": self.budget,
            "alpha": self.alpha,
            "summaries": [s.to_dict() for s in self.summaries],
            "comparisons": [c.to_dict() for c in self.comparisons],
            "curves": [{"arm": c.arm, "n": c.n, "mean": c.mean.tolist(), "low": c.low.tolist(),
                        "high": c.high.tolist()} for c in self.curves],
            "excluded": list(self.excluded),
            "checkpoints": [c.to_dict() for c in self.checkpoints],
            "seconds_curves": [{"arm": c.arm, "n": c.n, "seconds": c.seconds.tolist(), "mean": c.mean.tolist(),
                                "low": c.low.tolist(), "high": c.high.tolist()} for c in self.seconds_curves],
        }


def analyse(runs: Sequence[RunData], *, alpha: float = 0.05, confidence: float = 0.95, seed: int = 0,
            pairs: Sequence[tuple[str, str]] | None = None, checkpoints: Sequence[int] = ()) -> Analysis:
    """Summaries, paired comparisons (``pairs``, first minus second; every pair when None, one Holm family)
    and anytime curves over the whole budget, and the same at each of ``checkpoints`` trials."""
    if not runs:
        raise ConfigError("no repeats to analyse", code="no-data")
    arms = tuple(dict.fromkeys(run.arm for run in runs))
    usable = [run for run in runs if run.baseline is not None]
    excluded = tuple(f"{run.arm}/{run.seed}" for run in runs if run.baseline is None)
    budget = max((len(run.searched()) for run in usable), default=0)
    by_arm = {arm: [run for run in usable if run.arm == arm] for arm in arms}
    arms = tuple(arm for arm in arms if by_arm[arm])
    # Every usable repeat has a measured baseline, so each has an improvement.
    improvements = {arm: {run.seed: run.improvement for run in by_arm[arm] if run.improvement is not None}
                    for arm in arms}
    summaries = tuple(
        summarise(arm, list(improvements[arm].values()),
                  keep_rates=[run.keep_rate for run in by_arm[arm]],
                  crash_rates=[run.crash_rate for run in by_arm[arm]],
                  tokens=[run.tokens for run in by_arm[arm]],
                  seconds=[run.seconds for run in by_arm[arm]], confidence=confidence, seed=seed)
        for arm in arms)
    if pairs is not None:
        check_pairs(pairs, arms)
    beyond = [k for k in checkpoints if k > budget]
    if beyond:
        raise ConfigError(f"checkpoint(s) {', '.join(map(str, beyond))} lie beyond the {budget} trials the repeats "
                          "ran", code="bad-checkpoint")
    comparisons = (compare_all(improvements, pairs=pairs, alpha=alpha, confidence=confidence, seed=seed)
                   if len(arms) > 1 else ())
    curves = tuple(anytime_band(arm, by_arm[arm], budget, confidence=confidence, seed=seed) for arm in arms)
    at = at_checkpoints(by_arm, checkpoints, pairs=pairs, alpha=alpha, confidence=confidence, seed=seed)
    grid = seconds_grid(usable)
    timed = tuple(band for arm in arms if len(grid)
                  and (band := seconds_band(arm, by_arm[arm], grid, confidence=confidence, seed=seed)) is not None)
    return Analysis(arms, budget, summaries, comparisons, curves, excluded, alpha, at, timed)


def _plot_bands(bands: Sequence[tuple[str, int, Any, Any, Any, Any]], path: Path, metric: str, *, xlabel: str,
                title: str, log_x: bool = False) -> None:
    """Mean curves with their bootstrap bands, one per arm: ``(arm, n, x, mean, low, high)``."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for arm, n, x, mean, low, high in bands:
        axes.plot(x, mean, label=f"{arm} (n={n})")
        axes.fill_between(x, low, high, alpha=0.2)
    if log_x:
        axes.set_xscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(f"improvement in {metric} over the baseline")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _plot_curves(analysis: Analysis, path: Path, metric: str) -> None:
    _plot_bands([(b.arm, b.n, b.trials, b.mean, b.low, b.high) for b in analysis.curves], path, metric,
                xlabel="trials after the baseline", title="Anytime improvement: mean with 95% bootstrap band")


def _plot_seconds(analysis: Analysis, path: Path, metric: str) -> None:
    _plot_bands([(b.arm, b.n, b.seconds, b.mean, b.low, b.high) for b in analysis.seconds_curves], path, metric,
                xlabel="seconds since the repeat started (model, engine and training; log scale)",
                title="Improvement against wall-clock time: mean with 95% bootstrap band", log_x=True)


def _plot_box(runs: Sequence[RunData], analysis: Analysis, path: Path, metric: str) -> None:
    data = [[run.improvement for run in runs if run.arm == arm and run.improvement is not None]
            for arm in analysis.arms]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    axes.boxplot(data, showmeans=True)
    axes.set_xticks(range(1, len(analysis.arms) + 1), analysis.arms)
    for position, values in enumerate(data, start=1):
        axes.scatter([position] * len(values), values, s=12, alpha=0.6, color="black", zorder=3)
    axes.set_ylabel(f"final improvement in {metric}")
    axes.set_title("Improvement per repeat (baseline minus best)")
    axes.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}g}"


def _interval(ci: tuple[float, float]) -> str:
    return "n/a" if math.isnan(ci[0]) else f"[{ci[0]:.4g}, {ci[1]:.4g}]"


def _comparison_row(c: Comparison, *cells: str) -> str:
    short = "cannot separate" if not c.separated else c.verdict.split(" at alpha")[0]
    return (f"| {''.join(cell + ' | ' for cell in cells)}{c.first} | {c.second} | {c.n} | {_fmt(c.mean_difference)} | "
            f"{_interval(c.difference_ci)} | {_fmt(c.wilcoxon_p, 3)} | {_fmt(c.permutation_p, 3)} | "
            f"{_fmt(c.adjusted_p, 3)} | {short} |")


def _checkpoint_lines(analysis: Analysis) -> list[str]:
    if not analysis.checkpoints:
        return []
    budgets = [c.trials for c in analysis.checkpoints]
    named = ", ".join(map(str, budgets[:-1])) + (" and " if len(budgets) > 1 else "") + str(budgets[-1])
    lines = ["", f"## At {named} trials", "",
             "Each arm's mean improvement after the first k searched trials of every repeat (a repeat that ran "
             "fewer keeps what it had found), with its 95% bootstrap interval.", "",
             "| arm | " + " | ".join(f"{k} trials" for k in budgets) + " |",
             "|---|" + "---|" * len(budgets)]
    for arm in analysis.arms:
        cells = []
        for checkpoint in analysis.checkpoints:
            summary = next(s for s in checkpoint.summaries if s.arm == arm)
            cells.append(f"{_fmt(summary.mean)} {_interval(summary.mean_ci)}")
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    family = len(analysis.checkpoints[0].comparisons)
    if not family:
        return lines
    lines += ["", f"The same paired tests at each budget, Holm-adjusted within the budget ({family} comparisons "
              "each).", "",
              "| trials | first | second | n | mean diff | 95% CI | Wilcoxon p | permutation p | Holm p | verdict |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for checkpoint in analysis.checkpoints:
        lines += [_comparison_row(c, str(checkpoint.trials)) for c in checkpoint.comparisons]
    lines += [""] + [f"- at {checkpoint.trials} trials: {c.verdict}" for checkpoint in analysis.checkpoints
                     for c in checkpoint.comparisons if c.separated]
    if not any(c.separated for checkpoint in analysis.checkpoints for c in checkpoint.comparisons):
        lines.append(f"- no pair separates at alpha={analysis.alpha} at any of these budgets")
    return lines


def _markdown(analysis: Analysis, runs: Sequence[RunData], *, title: str, command: str, metric: str,
              notes: Sequence[str], noise: NoiseFloor | None = None,
              environments: Sequence[tuple[str, dict[str, Any]]] = ()) -> str:
    seeds = sorted({run.seed for run in runs})
    lines = [f"# {title}", ""]
    if command:
        lines += ["Made with:", "", "```", command, "```", ""]
    lines += [
        f"Arms: {', '.join(analysis.arms)}. Seeds: {len(seeds)} ({', '.join(map(str, seeds))}), the same for every "
        f"arm (paired). Budget: up to {analysis.budget} trials after each repeat's own baseline.",
        "",
        f"Improvement = baseline minus best {metric} of the repeat (higher is better; 0 when nothing beat "
        "the baseline). Intervals are 95% percentile-bootstrap intervals over repeats.",
        "",
    ]
    lines += [f"> {note}" for note in notes] + ([""] if notes else [])
    if analysis.excluded:
        lines += [f"Left out (no measured baseline): {', '.join(analysis.excluded)}.", ""]
    lines += noise_lines(noise, metric, [s.mean for s in analysis.summaries if s.mean is not None])
    lines += environment_lines(environments)
    lines += ["## Per arm", "",
              "| arm | n | mean improvement | 95% CI | median | 95% CI | keep rate | crash rate | tokens/run | "
              "seconds/run |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for s in analysis.summaries:
        lines.append(f"| {s.arm} | {s.n} | {_fmt(s.mean)} | {_interval(s.mean_ci)} | {_fmt(s.median)} | "
                     f"{_interval(s.median_ci)} | {_fmt(s.keep_rate, 3)} | {_fmt(s.crash_rate, 3)} | "
                     f"{_fmt(s.tokens, 6)} | {_fmt(s.seconds, 4)} |")
    lines += ["", "## Where each repeat's best trial came from", "",
              "The source of the first trial that reached the repeat's best metric (`none`: nothing beat the "
              "baseline). A mechanism is named with what it was: a library mechanism chosen in the settings, "
              "or Level 2's, new or a copy by its likeness to the library.", "",
              "| arm | best trial's source (repeats) |", "|---|---|"]
    for arm in analysis.arms:
        counts = Counter(run.best_source() for run in runs if run.arm == arm)
        lines.append(f"| {arm} | " + ", ".join(f"{source} {n}" for source, n in counts.most_common()) + " |")
    lines += ["", "## Paired comparisons", "",
              f"Wilcoxon signed-rank on the per-seed differences (first minus second), Holm-adjusted over "
              f"{len(analysis.comparisons)} comparisons; a sign-flip permutation p and a paired bootstrap "
              "interval of the mean difference for reference.", "",
              "| first | second | n | mean diff | 95% CI | Wilcoxon p | permutation p | Holm p | verdict |",
              "|---|---|---|---|---|---|---|---|---|"]
    lines += [_comparison_row(c) for c in analysis.comparisons]
    lines += ["", "## Verdicts", ""]
    lines += [f"- {c.verdict}" for c in analysis.comparisons] or ["- only one arm: nothing to compare"]
    separated = [c for c in analysis.comparisons if c.separated]
    if analysis.comparisons and not separated:
        lines += ["", f"**The data cannot separate any two arms at alpha={analysis.alpha}.**"]
    lines += _checkpoint_lines(analysis)
    lines += ["", "## Plots", "", "![anytime curves](anytime.png)", ""]
    if analysis.seconds_curves:
        untimed = [arm for arm in analysis.arms if arm not in {band.arm for band in analysis.seconds_curves}]
        lines += ["Against wall-clock seconds: the model's time, the engine's and the training's together. The "
                  "machine's load moves these, not the curves by trials."
                  + (f" Not shown (no recorded times): {', '.join(untimed)}." if untimed else ""), "",
                  "![anytime curves by seconds](anytime_seconds.png)", ""]
    lines += ["![improvement per repeat](improvement.png)",
              "", "## Data", "",
              "- `trials.csv`: one row per trial (" + ", ".join(TRIAL_COLUMNS) + ")",
              "- `runs.csv`: one row per repeat (" + ", ".join(RUN_COLUMNS) + ")",
              "- `analysis.json`: every number above",
              "", "Redo the analysis from the CSV files: `python -m benchmarks.ablation --reanalyse <this folder>`.",
              ""]
    return "\n".join(lines)


def write_report(runs: Sequence[RunData], out_dir: Path, *, title: str = "Ablation", command: str = "",
                 metric: str = "val_bpb", notes: Sequence[str] = (), alpha: float = 0.05, seed: int = 0,
                 write_data: bool = True, pairs: Sequence[tuple[str, str]] | None = None,
                 checkpoints: Sequence[int] = (), noise: NoiseFloor | None = None,
                 environments: Sequence[tuple[str, dict[str, Any]]] = ()) -> Path:
    """Write report.md, the two plots, analysis.json and (unless re-analysing) the CSVs; ``noise``, the
    task's noise floor measured in the run, is reported and saved as noise.json; ``environments``, what
    each run that made the data ran on (its folder and :func:`.environment.capture`), are reported."""
    out_dir.mkdir(parents=True, exist_ok=True)
    analysis = analyse(runs, alpha=alpha, seed=seed, pairs=pairs, checkpoints=checkpoints)
    if write_data:
        write_csv(runs, out_dir)
    _plot_curves(analysis, out_dir / "anytime.png", metric)
    _plot_box(runs, analysis, out_dir / "improvement.png", metric)
    if analysis.seconds_curves:
        _plot_seconds(analysis, out_dir / "anytime_seconds.png", metric)
    data = analysis.to_dict()
    if noise is not None:
        save_noise(noise, out_dir)
        data["noise"] = noise.to_dict()
    if environments:
        data["environments"] = {name: env for name, env in environments}
    (out_dir / "analysis.json").write_text(json.dumps(data, indent=1))
    report = out_dir / "report.md"
    report.write_text(_markdown(analysis, runs, title=title, command=command, metric=metric, notes=notes,
                                noise=noise, environments=environments))
    return report
