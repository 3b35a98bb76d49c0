"""The README's digits command, run as written, reaches every level: Level 1.5 at least twice and Level 2
at least once within its iterations, as the README says.

The command is read from README.md, so a change to it there is what this test runs. It takes about 80 s on
an idle machine (more under load), hence ``slow``: the default suite and CI (``-m "not slow"``) leave it
out; ``python -m pytest -q -m slow tests/engine/test_shipped_example_levels.py`` runs it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.store import RunStore

pytest.importorskip("sklearn")

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
# The shipped example's full search: a script command on examples/digits that runs trials (not --dry-run).
COMMAND = re.compile(r"^python -m engine\.run script examples/digits/train\.py .*--provider heuristic .*-n \d+")
# Below the test's own timeout, so that a run that hangs fails with its output rather than a bare kill.
RUN_TIMEOUT_S = 840


def readme_command() -> list[str]:
    """The README's digits search command as arguments, its trailing comment left out."""
    found = [line.strip() for line in README.read_text(encoding="utf-8").splitlines()
             if COMMAND.match(line.strip()) and "--dry-run" not in line]
    assert len(found) == 1, f"expected one digits search command in README.md, found {found}"
    return shlex.split(found[0], comments=True)


def test_the_readme_command_reads_as_the_shipped_example_searched_at_every_level():
    args = readme_command()
    assert args[:5] == ["python", "-m", "engine.run", "script", "examples/digits/train.py"]
    assert (ROOT / args[4]).is_file()
    # The defaults are what this test relies on: every level, and runs under ./runs of the working directory.
    assert "--levels" not in args and "--run-dir" not in args


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_shipped_example_reaches_level_one_and_a_half_twice_and_level_two(tmp_path):
    args = readme_command()
    iterations = int(args[args.index("-n") + 1])
    # The command names the script relative to the repository: the example is copied to the same place
    # under a fresh working directory, so the run (under its default ./runs) leaves the checkout untouched.
    shutil.copytree(ROOT / "examples" / "digits", tmp_path / "examples" / "digits")
    # This checkout's engine, not whichever one the interpreter would find installed.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, *args[1:]], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]

    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1, runs
    with RunStore.open(runs[0] / "run.sqlite") as store:
        (info,) = store.runs()
        run_id = info.run_id
        assert info.status == "finished"
        assert store.get_state(run_id, "iteration", 0) == iterations
        calls = store.llm_call_rows(run_id)
        snapshots = store.config_snapshots(run_id)
        events = store.mechanism_events(run_id)
    by_level = {level: [c for c in calls if str(c["level"]) == level] for level in ("1", "1.5", "2")}
    # Level 1.5: each of its cycles is a call and a stored search configuration after a trial (cycle 0
    # is the configuration the run started from, not a Level 1.5 decision).
    changed = [s for s in snapshots if s.cycle >= 1]
    assert len(by_level["1.5"]) >= 2 and len(changed) >= 2, (by_level["1.5"], snapshots)
    assert all(s.after_trial > 0 for s in changed)
    # Level 2: a research session asked the model, and the mechanism it wrote went through admission
    # (admitted or rejected, either is a session that ran to its end).
    assert by_level["2"], [c["level"] for c in calls]
    assert any(e["kind"] in ("admission", "rejection") for e in events), events
    assert by_level["1"]
    report = (runs[0] / "report.md").read_text(encoding="utf-8")
    assert "No Level 1.5 changes." not in report and "No mechanisms were proposed." not in report
