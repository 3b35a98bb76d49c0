"""report.md says what happened, with the right numbers."""

from __future__ import annotations

import re
import struct

import pytest

from engine.report import PROGRESS_NAME, write_report
from engine.store import RunStore
from interfaces import Decision, Proposal, Trial, TrialStatus

from .sample_run import BASELINE, BEST, BEST_INDEX, TRIALS, build


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def section(text: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.DOTALL | re.MULTILINE)
    assert match, f"no section {title!r}"
    return match.group(1)


def table_rows(block: str) -> list[list[str]]:
    rows = [line for line in block.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows[1:]]  # skip header


@pytest.fixture
def report(tmp_path):
    store = build(tmp_path / "run.sqlite")
    path = write_report(store, "sample", tmp_path)
    store.close()
    return path.read_text(), tmp_path


def test_headline_numbers(report):
    text, _ = report
    result = section(text, "Result")
    assert f"- baseline metric: {BASELINE:.6f}" in result
    assert f"- best kept metric: {BEST:.6f} (trial {BEST_INDEX})" in result
    delta = BEST - BASELINE
    assert f"- change from baseline: {delta:+.6f} ({delta / BASELINE * 100:+.2f}%)" in result
    assert "-0.050000 (-5.00%)" in result
    assert "- trials: 8 (baseline 1, kept 2, discarded 4, rejected 1); failed runs: 2" in result
    assert "crashed 1" in result and "timed-out 1" in result and "ok 5" in result
    assert f"![progress]({PROGRESS_NAME})" in result


def test_every_trial_is_a_row(report):
    text, _ = report
    rows = table_rows(section(text, "Trials"))
    assert [int(r[0]) for r in rows] == [t[0] for t in TRIALS]
    by_index = {int(r[0]): r for r in rows}
    assert by_index[1][1:6] == ["LR=0.02", "ok", "0.980000", "keep", "llm:gpt"]
    assert by_index[3][2:5] == ["crashed", "—", "discard"]
    assert "exit code 1: CUDA error" in by_index[3][6]
    assert by_index[4][3:5] == ["—", "rejected"] and by_index[4][6] == "duplicate-config"
    assert by_index[5][1] == "LR=0.03, WARMUP=100"
    assert by_index[2][6] == "deeper \\| wider"  # a pipe in free text does not break the table


def test_settings_and_provider(report):
    text, _ = report
    run = section(text, "Run")
    assert "`openai` / `gpt-4o-mini`" in run and "stand-in" not in run
    assert ["budget_s", "30"] in table_rows(run) and ["seed", "7"] in table_rows(run)


def test_heuristic_provider_is_called_a_stand_in(tmp_path):
    with build(tmp_path / "run.sqlite", provider="heuristic", model="") as store:
        text = write_report(store, "sample", tmp_path).read_text()
    assert "stand-in" in section(text, "Run") and "not a language model" in section(text, "Run")


def test_level_one_and_a_half_snapshots(report):
    text, _ = report
    rows = table_rows(section(text, "Level 1.5 search configuration"))
    assert rows == [
        ["0", "3", "balanced", "llm", "LR, DEPTH, WD, WARMUP", "—", "2", "start"],
        ["1", "6", "exploit", "llm", "LR, WD, WARMUP", "DEPTH", "2", "DEPTH crashed twice"],
    ]


def test_mechanism_summary(report):
    text, _ = report
    rows = {r[0]: r for r in table_rows(section(text, "Mechanisms (Level 2)"))}
    assert rows["ucb"][1:] == ["0", "yes", "new (0.31)", "4", "observer 3, proposal_source 3", "1", "0",
                               "kept: beat the window"]
    assert rows["dedupe"][2] == "yes" and rows["dedupe"][3] == "unmeasured"  # admitted before likeness was kept
    assert rows["dedupe"][7] == "1 (timeout: hung 5 s)" and rows["dedupe"][8] == "ejected"
    assert rows["greedy_bomb"][1].startswith("1 (") and rows["greedy_bomb"][2] == "no"
    assert rows["greedy_bomb"][3] == "—" and rows["greedy_bomb"][8] == "rejected at admission"


def test_llm_usage_per_level(report):
    text, _ = report
    rows = {r[0]: r[1:] for r in table_rows(section(text, "LLM usage"))}
    assert rows["level 1"] == ["2", "0", "300", "0", "50", "350", "0.0300"]
    assert rows["level 1.5"] == ["1", "0", "50", "0", "10", "60", "0.0050"]
    assert rows["level 2"] == ["1", "0", "1000", "0", "400", "1400", "0.3000"]
    assert rows["**total**"] == ["4", "0", "1350", "0", "460", "1810", "0.3350"]


def test_progress_png_is_written(report):
    _, run_dir = report
    width, height = png_size(run_dir / PROGRESS_NAME)
    assert 800 <= width <= 3000 and 400 <= height <= 2000


def test_empty_interrupted_run(tmp_path):
    with RunStore.open(tmp_path / "run.sqlite") as store:
        store.create_run("empty", task="gpt", settings={}, provider="openai", model="m")
        store.begin_trial("empty", 0, Proposal({}, source="baseline"), {"LR": 0.1})
        store.set_status("empty", "interrupted", note="killed")
        text = write_report(store, "empty", tmp_path).read_text()
    assert "**interrupted**" in text and "killed" in text
    assert "no baseline trial" in text
    assert "in flight when last written (re-run on resume): 0" in text
    assert (
        "No Level 1.5 changes." in text and "No mechanisms were proposed." in text and "No LLM calls." in text
    )
    png_size(tmp_path / PROGRESS_NAME)


def test_maximising_run_picks_the_highest(tmp_path):
    with RunStore.open(tmp_path / "run.sqlite") as store:
        store.create_run("up", task="acc", settings={"minimize": False}, provider="openai", model="m")
        for index, metric, decision in [
            (0, 0.5, Decision.BASELINE),
            (1, 0.7, Decision.KEEP),
            (2, 0.6, Decision.KEEP),
            (3, 0.9, Decision.DISCARD),
        ]:
            store.finish_trial("up", Trial(index, {}, {}, TrialStatus.OK, metric, decision), None)
        text = write_report(store, "up", tmp_path).read_text()
    result = section(text, "Result")
    assert "- best kept metric: 0.700000 (trial 1)" in result
    assert "- change from baseline: +0.200000 (+40.00%)" in result
    assert "- best metric observed (not kept): 0.900000" in result
