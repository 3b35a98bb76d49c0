"""Tasks are found through the ``autoresearch.tasks`` entry points of installed distributions.

A distribution here is a real one as importlib.metadata discovers it: a
``<name>-<version>.dist-info`` folder (METADATA and entry_points.txt) on
sys.path, next to the module its entry points name.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from benchmarks.gpt import GptTask
from benchmarks.script_task import ScriptTask
from benchmarks.surrogate import SurrogateTask
from engine.tasks import TASK_GROUP, load_task, task_entry_points
from interfaces import ConfigError

ROOT = Path(__file__).resolve().parents[2]
QUAD = Path(__file__).parent / "data" / "quad.py"

TOY_TASKS = '''
from interfaces import SearchSpace, ParamSpec, ParamKind, TrialRequest

class Toy:
    name, metric, minimize = "toy", "loss", True

    def __init__(self, level=1):
        self.level = level

    def space(self):
        return SearchSpace([ParamSpec("X", ParamKind.INT, self.level, low=0, high=10)])

    def noise_floor(self):
        return None

    def build_trial(self, index, config):
        return TrialRequest(index=index, argv=("true",))

def make(**options):
    return Toy(**options)

NOT_A_FACTORY = 42

def not_a_task(**options):
    return "a string"
'''


def install_distribution(site: Path, name: str, entry_points: dict[str, str],
                         modules: dict[str, str] | None = None) -> None:
    """Write a distribution called ``name`` into ``site`` (a folder on sys.path), with its ``modules``."""
    info = site / f"{name.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{TASK_GROUP}]\n{lines}")
    for module, source in (modules or {}).items():
        (site / f"{module}.py").write_text(source)


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


def refused(code, name, **options):
    with pytest.raises(ConfigError) as caught:
        load_task(name, **options)
    assert caught.value.code == code, caught.value
    return str(caught.value)


def test_an_installed_package_adds_a_task_with_no_change_to_the_engine(site):
    install_distribution(site, "toy-tasks", {"toy": "toy_tasks:make"}, {"toy_tasks": TOY_TASKS})
    assert task_entry_points()["toy"].value == "toy_tasks:make"
    task = load_task("toy", level=4, unused=None)  # options that are None are left out
    assert (task.name, task.level, task.space().defaults()["X"]) == ("toy", 4, 4)


def test_an_unknown_name_lists_the_known_tasks(site):
    install_distribution(site, "toy-tasks", {"toy": "toy_tasks:make"}, {"toy_tasks": TOY_TASKS})
    message = refused("unknown-task", "nonesuch")
    assert "'nonesuch'" in message and "toy" in message and TASK_GROUP in message


@pytest.mark.parametrize("value, module, why", [
    ("missing_module_for_tasks:make", None, "ModuleNotFoundError"),
    ("exploding_tasks:make", "raise RuntimeError('no GPU here')\n", "RuntimeError: no GPU here"),
    ("toy_tasks:no_such_name", TOY_TASKS, "AttributeError"),
], ids=["missing-module", "module-raises", "missing-name"])
def test_an_entry_point_that_does_not_import_is_named_not_skipped(site, value, module, why):
    modules = {value.split(":")[0]: module} if module else {}
    install_distribution(site, "broken-tasks", {"broken": value}, modules)
    install_distribution(site, "toy-tasks", {"toy": "toy_tasks:make"}, {"toy_tasks": TOY_TASKS})
    message = refused("task-import-failed", "broken")
    assert value in message and "broken-tasks" in message and why in message
    assert load_task("toy").name == "toy"  # a broken task costs only itself


def test_an_entry_point_must_name_a_factory_of_tasks(site):
    odd = {"number": "toy_tasks:NOT_A_FACTORY", "text": "toy_tasks:not_a_task"}
    install_distribution(site, "odd-tasks", odd, {"toy_tasks": TOY_TASKS})
    assert "names a int" in refused("bad-task-factory", "number")
    assert "returned a str" in refused("bad-task-factory", "text")


def test_one_name_registered_for_two_factories_is_refused(site):
    install_distribution(site, "toy-tasks", {"toy": "toy_tasks:make"}, {"toy_tasks": TOY_TASKS})
    install_distribution(site, "rival-tasks", {"toy": "rival_tasks:make"})
    for attempt in (task_entry_points, lambda: load_task("toy")):
        with pytest.raises(ConfigError) as caught:
            attempt()
        assert caught.value.code == "duplicate-task"
        assert "toy-tasks" in str(caught.value) and "rival-tasks" in str(caught.value)


def declared_tasks() -> dict[str, str]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return dict(tomllib.load(handle)["project"]["entry-points"][TASK_GROUP])


def test_the_built_in_tasks_are_the_entry_points_pyproject_declares(site):
    """What ``pip install -e .`` registers, read from pyproject itself, builds each built-in task."""
    assert set(declared_tasks()) == {"gpt", "script", "surrogate"}
    install_distribution(site, "declared-here", declared_tasks())
    script = load_task("script", path=str(QUAD), metric="loss", budget_s=5.0, noise_repeats=0)
    assert isinstance(script, ScriptTask) and script.metric == "loss" and "LEARNING_RATE" in script.space()
    unknown = refused("bad-config", "script", path=str(QUAD), metric="loss", colour="red")
    assert "unknown script-task options: colour" in unknown
    gpt = load_task("gpt", budget_s=12.0, noise_repeats=3)  # noise_repeats is the runner's, not the task's
    assert isinstance(gpt, GptTask) and gpt.space().defaults()["TIME_BUDGET"] == 12.0
    assert isinstance(load_task("surrogate", noise_seed=2), SurrogateTask)


def test_the_installed_registry_is_the_one_pyproject_declares():
    """Fails while the installed metadata is older than pyproject: reinstall with ``pip install -e .``."""
    installed = {name: point.value for name, point in task_entry_points().items() if name in declared_tasks()}
    assert installed == declared_tasks(), "the installed entry points are stale: run pip install -e ."
