"""The README's main command, shortened: `python -m engine.run gpt` end to end on real training."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_engine_run_gpt_finishes_with_a_report(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "engine.run", "gpt", "--provider", "heuristic", "--iterations", "2",
         "--max-steps", "3", "--levels", "1,1.5", "--outer-every", "1", "--run-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "report:" in proc.stdout and "baseline" in proc.stdout
    run_dir = next(tmp_path.iterdir())
    report = (run_dir / "report.md").read_text()
    assert "baseline metric" in report and "heuristic" in report
    assert "## Level 1.5 search configuration" in report
    assert (run_dir / "best_train.py").read_text().startswith('"""')
