"""``promote`` and ``record-performance`` on run directories built through the real run store."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from typer.testing import CliRunner

from mechanism_library import MECHANISMS_DIR, LibraryError, catalog, get, manifest_problems, source_digest
from mechanism_library._cli import app
from mechanism_library._promote import promote, record_performance

from .runs import RUN_ID, make_run

runner = CliRunner()
TABU = (MECHANISMS_DIR / "tabu_filter.py").read_text()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "library"
    folder.mkdir()
    return folder


@pytest.fixture
def run_dir(tmp_path):
    return make_run(tmp_path / "runs", "repeat_veto", TABU)


def refused(code, *args, **kwargs):
    with pytest.raises(LibraryError) as caught:
        promote(*args, **kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


def test_promote_copies_the_source_unchanged_with_provenance_admission_and_performance(run_dir, library):
    result = invoke("--library", library, "promote", run_dir, "repeat_veto")
    assert result.exit_code == 0, result.output
    assert "promoted repeat_veto from run " + RUN_ID in result.output
    entry = get("repeat_veto", library)
    assert manifest_problems(entry) == []
    assert (library / "repeat_veto.py").read_bytes() == (run_dir / "level2/mechanisms/repeat_veto.py").read_bytes()
    manifest = entry.manifest
    assert manifest["origin"] == "generated" and manifest["hook"] == "filter"
    assert manifest["class_name"] == "TabuFilter" and manifest["description"] == "Vetoes repeats."
    assert list(manifest["addresses"]) == ["repetition", "fixation"]  # the flags the session's trace showed
    provenance = manifest["provenance"]
    assert (provenance["provider"], provenance["model"], provenance["run"], provenance["session"]) == \
        ("openai", "gpt-test-1", RUN_ID, 1)
    transcript = (run_dir / "level2/session-1/rounds.json").read_bytes()
    assert provenance["transcript"] == "repeat_veto.session.json"
    assert (library / "repeat_veto.session.json").read_bytes() == transcript
    assert provenance["transcript_sha256"] == hashlib.sha256(transcript).hexdigest()
    admission = manifest["admission"]
    assert admission["admitted"] is True and admission["source_sha256"] == source_digest(TABU)
    assert entry.admitted
    [performance] = manifest["performance"]
    assert dict(performance) == {"run": RUN_ID, "mechanism": "repeat_veto", "session": 1, "delta": 0.25,
                                 "trials_active": 5, "calls": 7, "effects": 2, "verdict": "keep",
                                 "reason": "improved"}


def test_a_taken_name_is_refused_and_nothing_is_written(run_dir, library):
    (library / "repeat_veto.py").write_text("# someone else's\n")
    error = refused("name-clash", run_dir, "repeat_veto", library=library)
    assert "--as" in str(error)
    assert sorted(p.name for p in library.iterdir()) == ["repeat_veto.py"]
    refused("name-clash", run_dir, "repeat_veto", library=MECHANISMS_DIR, new_name="tabu_filter")


def test_a_source_edited_after_the_run_admitted_it_is_refused(run_dir, library):
    path = run_dir / "level2/mechanisms/repeat_veto.py"
    path.write_text(path.read_text() + "\nimport os\n")
    refused("source-mismatch", run_dir, "repeat_veto", library=library)
    assert list(library.iterdir()) == []


@pytest.mark.parametrize("name, new_name", [("../../../etc/passwd", None), ("repeat_veto", "../escaped"),
                                            ("repeat_veto", "Repeat-Veto"), ("", None)])
def test_names_must_be_one_safe_path_component(run_dir, library, name, new_name):
    refused("bad-name", run_dir, name, library=library, new_name=new_name)
    assert list(library.iterdir()) == [] and not (library.parent / "escaped.py").exists()


def test_a_directory_without_a_run_store_is_refused_and_left_untouched(tmp_path, library):
    empty = tmp_path / "not-a-run"
    empty.mkdir()
    refused("not-a-run", empty, "repeat_veto", library=library)
    assert list(empty.iterdir()) == []
    result = invoke("--library", library, "promote", empty, "repeat_veto")
    assert result.exit_code == 2 and "not-a-run" in result.output


def test_a_mechanism_the_run_never_admitted_is_refused(run_dir, library):
    (run_dir / "level2/mechanisms/smuggled.py").write_text(TABU)
    error = refused("not-admitted-in-run", run_dir, "smuggled", library=library)
    assert "repeat_veto" in str(error)


def test_a_source_the_current_sandbox_refuses_is_not_promoted(tmp_path, library):
    source = "import os\n\n\nclass Leak:\n    def check(self, proposal, trace, space):\n        return None\n\n\n" \
             "def build(seed: int):\n    return Leak()\n"
    run_dir = make_run(tmp_path / "runs", "leak", source, class_name="Leak")
    error = refused("admission-failed", run_dir, "leak", library=library)
    assert "forbidden-import" in str(error)
    assert list(library.iterdir()) == []


def test_a_missing_transcript_is_refused(run_dir, library):
    (run_dir / "level2/session-1/rounds.json").unlink()
    refused("missing-transcript", run_dir, "repeat_veto", library=library)


def test_addresses_come_from_the_trace_or_are_named_and_must_be_known_symptoms(tmp_path, library):
    run_dir = make_run(tmp_path / "runs", "repeat_veto", TABU, facts={"repetition": False})
    refused("no-addresses", run_dir, "repeat_veto", library=library)
    refused("unknown-symptom", run_dir, "repeat_veto", library=library, addresses=["boredom"])


def test_record_performance_folds_verdicts_into_entries_with_the_same_source(tmp_path):
    folder = tmp_path / "library"
    shutil.copytree(MECHANISMS_DIR, folder)
    run_dir = make_run(tmp_path / "runs", "repeat_veto", TABU, gain=-0.5, verdict="revert")
    for _ in range(2):  # folding the same run again replaces its record
        result = invoke("--library", folder, "record-performance", run_dir)
        assert result.exit_code == 0, result.output
        assert "1 performance records folded" in result.output
    [record] = get("tabu_filter", folder).manifest["performance"]
    assert (record["run"], record["mechanism"], record["delta"], record["verdict"]) == \
        (RUN_ID, "repeat_veto", -0.5, "revert")
    assert all(not e.manifest["performance"] for e in catalog(folder) if e.name != "tabu_filter")
    assert manifest_problems(get("tabu_filter", folder)) == []


def test_record_performance_skips_a_mechanism_without_a_verdict(tmp_path):
    folder = tmp_path / "library"
    shutil.copytree(MECHANISMS_DIR, folder)
    run_dir = make_run(tmp_path / "runs", "repeat_veto", TABU)
    with __import__("sqlite3").connect(run_dir / "run.sqlite") as db:  # a run stopped inside the window
        db.execute("DELETE FROM mechanism_events WHERE kind IN ('evaluation', 'keep')")
    assert record_performance(run_dir, library=folder) == []
    assert json.loads((folder / "tabu_filter.json").read_text())["performance"] == []
