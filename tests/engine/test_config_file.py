"""`--config FILE.toml`: a file of the command's flags drives a run, a flag on the command line overrides it,
a bad key or value is refused by name and line before anything runs; every run writes its settings back as
config.toml, which gives the same run again (from the command line and from Python alike); a resume takes only
the flags it can."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pytest
import typer.main
from hypothesis import given, settings, strategies as st
from typer.testing import CliRunner

import engine
from engine.config_file import to_toml
from engine.flags import COMMON_FLAGS, CONTROL_FLAGS, TASK_FLAGS
from engine.run import app
from engine.settings import RunSettings
from engine.store import RunStore

QUAD = Path(__file__).parent / "data" / "quad.py"
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(arg) for arg in args])


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def only_run(runs: Path) -> Path:
    (run_dir,) = [p for p in runs.iterdir() if (p / "run.sqlite").exists()]
    return run_dir


def stored_settings(run_dir: Path) -> RunSettings:
    with RunStore.open(run_dir) as store:
        return RunSettings.from_dict(store.runs()[0].settings)


CONFIG = f"""
path = "{QUAD}"
metric = "loss"
provider = "heuristic"
iterations = 2
levels = [1]
seed = 7
noise_repeats = 0
outer-every = 4
"""


def test_a_config_file_drives_a_run(tmp_path):
    config = write(tmp_path / "run.toml", CONFIG + f'run-dir = "{tmp_path / "runs"}"\n')
    result = invoke("script", "--config", config)
    assert result.exit_code == 0, result.output
    saved = stored_settings(only_run(tmp_path / "runs"))
    assert (saved.iterations, saved.levels, saved.seed, saved.outer_every) == (2, ("1",), 7, 4)
    assert saved.task_options["metric"] == "loss" and saved.task_options["path"] == str(QUAD)


def test_a_flag_on_the_command_line_overrides_the_file(tmp_path):
    config = write(tmp_path / "run.toml", CONFIG)
    result = invoke("script", "--config", config, "-n", "3", "--seed", "1", "--run-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    saved = stored_settings(only_run(tmp_path / "runs"))
    assert (saved.iterations, saved.seed, saved.outer_every) == (3, 1, 4)


def test_relative_paths_in_the_file_are_relative_to_the_file(tmp_path):
    folder = tmp_path / "project"
    write(folder / "train.py", QUAD.read_text())
    config = write(folder / "run.toml", 'path = "train.py"\nmetric = "loss"\nprovider = "heuristic"\n'
                                         'iterations = 1\nlevels = "1"\nrun-dir = "runs"\n')
    assert invoke("script", "--config", config).exit_code == 0
    assert stored_settings(only_run(folder / "runs")).task_options["path"] == str((folder / "train.py").resolve())


@pytest.mark.parametrize("text, code, words", [
    (CONFIG + "max-token = 10\n", "unknown-config-key", "line 10: unknown key 'max-token'"),
    (CONFIG + "[params]\nLR = 1\n", "unknown-config-key", "line 10: unknown key 'params'"),
    (CONFIG + "space = 3\n", "config-value-invalid", "line 10: space = 3 must be a path"),
    (CONFIG.replace("iterations = 2", 'iterations = "many"'), "config-value-invalid",
     "line 5: iterations = 'many' must be a whole number"),
    (CONFIG + "max_usd = 1.0\nmax-usd = 2.0\n", "config-key-repeated", "'max-usd' repeats 'max_usd'"),
    (CONFIG + "seed = = 3\n", "config-file-invalid", "not valid TOML"),
    (CONFIG + "remeasure-slow = -1\n", "bad-config", "remeasure-slow must be 0 or more, got -1"),
])
def test_a_bad_config_file_is_refused_by_name_before_anything_runs(tmp_path, text, code, words):
    config = write(tmp_path / "run.toml", text)
    result = invoke("script", "--config", config, "--run-dir", tmp_path / "runs")
    assert result.exit_code == 2
    assert f"[{code}]" in result.output and words in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output and not (tmp_path / "runs").exists()


def test_a_missing_config_file_is_refused(tmp_path):
    result = invoke("script", "--config", tmp_path / "nope.toml")
    assert result.exit_code == 2 and "[config-file-not-found]" in result.output


def test_the_runs_config_toml_gives_the_same_run_again_from_the_command_line_and_from_python(tmp_path):
    first = invoke("script", QUAD, "--metric", "loss", "--provider", "heuristic", "-n", "1", "--levels", "1",
                   "--budget", "30", "--seed", "3", "--max-tokens", "9000", "--run-dir", tmp_path / "a")
    assert first.exit_code == 0, first.output
    original = only_run(tmp_path / "a")
    saved = tomllib.loads((original / "config.toml").read_text())
    assert saved["budget"] == 30.0 and saved["max-tokens"] == 9000 and saved["run-dir"] == str(tmp_path / "a")
    again = invoke("script", "--config", original / "config.toml", "--run-dir", tmp_path / "b")
    assert again.exit_code == 0, again.output
    assert stored_settings(only_run(tmp_path / "b")) == stored_settings(original)
    from_python = engine.optimize(QUAD, metric="loss", provider="heuristic", n=1, levels="1", budget=30,
                                  seed=3, max_tokens=9000, run_dir=tmp_path / "c")
    assert from_python.settings == stored_settings(original)


def test_every_flag_of_the_commands_has_a_place_in_the_settings_vocabulary():
    # A flag missing here would be dropped from config.toml, which then would not give its run again.
    commands = typer.main.get_command(app).commands
    for name in ("script", "gpt"):
        params = {param.name for param in commands[name].params}
        assert params - set(CONTROL_FLAGS) == set(COMMON_FLAGS) | set(TASK_FLAGS[name]), name


@pytest.fixture
def finished_run(tmp_path) -> Path:
    result = invoke("script", QUAD, "--metric", "loss", "--provider", "heuristic", "-n", "2", "--levels", "1",
                    "--run-dir", tmp_path)
    assert result.exit_code == 0, result.output
    return only_run(tmp_path)


def test_a_resume_on_the_command_line_extends_the_run_and_refuses_other_flags_by_name(finished_run):
    refused = invoke("script", "--resume", finished_run, "--levels", "1,2", "--seed", "4")
    assert refused.exit_code == 2 and "[resume-setting-changed]" in refused.output
    assert "--levels, --seed cannot be given with --resume" in " ".join(refused.output.split())
    config = invoke("script", "--resume", finished_run, "--config", finished_run / "config.toml")
    assert config.exit_code == 2 and "[config-on-resume]" in config.output
    assert stored_settings(finished_run).iterations == 2
    extended = invoke("script", "--resume", finished_run, "-n", "4")
    assert extended.exit_code == 0, extended.output
    with RunStore.open(finished_run) as store:
        run_id = store.runs()[0].run_id
        assert store.get_state(run_id, "iteration") == 4 and store.run(run_id).status == "finished"
    assert tomllib.loads((finished_run / "config.toml").read_text())["iterations"] == 4


_SCALARS = st.one_of(st.booleans(), st.integers(-2**63, 2**63 - 1), st.text(),
                     st.floats(allow_nan=False), st.lists(st.integers(-1000, 1000), max_size=4))


@given(st.dictionaries(st.text(min_size=1).filter(lambda key: key != "a table"), _SCALARS, max_size=6),
       st.dictionaries(st.text(min_size=1), _SCALARS, max_size=3))
@settings(max_examples=150, deadline=None)
def test_to_toml_writes_what_tomllib_reads_back(plain, table):
    values = {**plain, "a table": table} if table else plain
    assert tomllib.loads(to_toml(values, header="a header\n\nover lines")) == values


def test_to_toml_writes_infinities_as_toml_does():
    assert tomllib.loads(to_toml({"a": math.inf, "b": -math.inf})) == {"a": math.inf, "b": -math.inf}


_EVERY_FLAG = {"provider": "heuristic", "model": "m", "model_path": "/models/x.gguf", "base_url": "http://h/v1",
               "request_timeout": 5.0, "server_threads": 3, "value_grid": 0, "iterations": 7, "levels": "1,1.5",
               "seed": 9, "workers": 2, "executor": "local", "record": "/tmp/t.jsonl", "acceptance": "noise-aware",
               "max_tokens": 100, "max_usd": 1.5, "outer_every": 3, "research_every": 4,
               "research_style": "fill", "samples": 2, "confine": "none", "remeasure_slow": 2}


def _task_flags(task: str, tmp_path: Path) -> dict:
    if task == "gpt":
        # The command prepares and checks the data before a run exists: it must be enough to train on.
        corpus = tmp_path / "corpus"
        corpus.mkdir()
        for number in range(60):
            (corpus / f"doc{number:02d}.txt").write_text(f"document {number}: " + "a line of text to learn. " * 60)
        return {"preset": "gpu", "budget": 12.0, "max_steps": 50, "data": str(corpus), "noise_repeats": 2,
                "compile": True}
    space = write(tmp_path / "space.toml", "[params.LEARNING_RATE]\nlow = 0.001\nhigh = 0.1\n")
    return {"path": str(QUAD), "metric": "loss", "maximize": True, "metric_file": "m.json",
            "throughput_metric": "items_per_second", "steps_metric": "num_steps", "space": str(space), "budget": 30.0, "noise_repeats": 3}


def _command_line(task: str, flags: dict) -> list[str]:
    args = [task] + ([flags["path"]] if task == "script" else [])
    for name, value in flags.items():
        if name == "path":
            continue
        option = "--" + name.replace("_", "-")
        args += [option] if value is True else [option, str(value)]
    return args


@pytest.mark.parametrize("task", ["script", "gpt"])
def test_the_command_line_a_config_file_and_python_build_the_same_settings_from_every_flag(task, tmp_path,
                                                                                          monkeypatch):
    import engine.run
    from engine.flags import settings_from_flags

    made: list[RunSettings] = []
    monkeypatch.setattr(engine.run, "_execute", lambda settings, *rest: made.append(settings))
    monkeypatch.setenv("GPT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GPT_DATA_DIR", raising=False)
    flags = {**_EVERY_FLAG, **_task_flags(task, tmp_path)}
    assert invoke(*_command_line(task, flags)).exit_code == 0
    config = write(tmp_path / "every.toml", to_toml({k.replace("_", "-"): v for k, v in flags.items()}))
    assert invoke(task, "--config", config).exit_code == 0
    from_python = settings_from_flags(task, flags)
    assert made == [from_python, from_python]
    from engine.flags import flags_from_settings

    assert settings_from_flags(task, flags_from_settings(from_python)) == from_python
