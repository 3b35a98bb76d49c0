"""The library CLI, driven through typer's CliRunner."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mechanism_library import catalog
from mechanism_library._cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_list_shows_every_mechanism_with_hook_origin_and_admission():
    result = invoke("list")
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") >= 6}
    assert set(rows) == {e.name for e in catalog()}
    for entry in catalog():
        cells = [c.strip() for c in rows[entry.name].split("│")[1:-1]]
        assert cells[1] == entry.hook
        assert cells[2] == "hand-written"
        assert cells[4] == ("yes" if entry.admitted else "no")
        assert entry.admitted, f"{entry.name} has no admission record for its source: run audit --write"
        assert cells[5] == "-"  # no manifest problems


def test_show_prints_source_manifest_and_history():
    result = invoke("show", "plateau_escape")
    assert result.exit_code == 0, result.output
    assert "class PlateauEscape" in result.output
    assert "def build(seed: int):" in result.output
    assert '"source_sha256"' in result.output and '"addresses"' in result.output
    from sandbox import SANDBOX_VERSION

    assert f"admitted by sandbox {SANDBOX_VERSION}" in result.output
    assert "no performance records yet" in result.output


def test_show_unknown_name_fails_with_the_known_names():
    result = invoke("show", "nonexistent")
    assert result.exit_code == 2
    assert "unknown-mechanism" in result.output and "tabu_filter" in result.output


def test_diff_shows_source_hunks_and_differing_manifest_fields():
    result = invoke("diff", "noise_aware_acceptance", "annealing_acceptance")
    assert result.exit_code == 0, result.output
    assert "--- noise_aware_acceptance.py" in result.output
    assert "+++ annealing_acceptance.py" in result.output
    assert "+class AnnealingAcceptance:" in result.output
    assert "-class NoiseAwareAcceptance:" in result.output
    assert "class_name:" in result.output and "hook:" not in result.output  # same hook: not listed


def test_diff_of_a_mechanism_with_itself_says_identical():
    result = invoke("diff", "tabu_filter", "tabu_filter")
    assert result.exit_code == 0
    assert "sources are identical" in result.output and "manifests are identical" in result.output


@pytest.mark.parametrize("args", [["diff", "tabu_filter", "nope"], ["show"]])
def test_bad_arguments_exit_non_zero(args):
    assert invoke(*args).exit_code != 0
