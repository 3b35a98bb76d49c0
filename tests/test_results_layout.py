"""Committed run artefacts under benchmarks/results are data, never importable source."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def test_results_hold_no_python_files() -> None:
    # A run writes its training script, attempts and mechanisms as .py; committed here they carry a
    # .txt suffix so that ruff, mypy and pytest collection never treat them as the project's code.
    assert RESULTS.is_dir()
    assert sorted(str(path.relative_to(RESULTS)) for path in RESULTS.rglob("*.py")) == []


def test_the_offline_run_keeps_its_artefacts_as_text() -> None:
    run = RESULTS / "offline-gpt-run"
    assert (run / "best_train.py.txt").is_file()
    assert sorted(path.name for path in (run / "level2" / "mechanisms").iterdir()) == [
        "gp_expected_improvement.py.txt", "latin_hypercube.py.txt", "noise_aware_acceptance.py.txt"]
