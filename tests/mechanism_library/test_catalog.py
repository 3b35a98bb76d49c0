"""The loader API and manifest checks, on the real library and on a scratch copy."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil

import pytest

from interfaces import HOOKS
from mechanism_library import (
    MANIFEST_FIELDS,
    MECHANISMS_DIR,
    Entry,
    LibraryError,
    by_hook,
    catalog,
    example_for,
    get,
    manifest_problems,
    source_digest,
)

EXPECTED = {
    "tabu_filter": "filter",
    "multiscale_bandit": "advisor",
    "orthogonal_exploration": "advisor",
    "latin_hypercube": "source",
    "gp_expected_improvement": "source",
    "noise_aware_acceptance": "acceptance",
    "annealing_acceptance": "acceptance",
    "plateau_escape": "source",
    "parameter_sensitivity": "observer",
}


def test_catalog_holds_every_mechanism_with_its_hook():
    entries = catalog()
    assert {e.name: e.hook for e in entries} == EXPECTED
    assert [e.name for e in entries] == sorted(EXPECTED)


@pytest.mark.parametrize("entry", catalog(), ids=lambda e: e.name)
def test_every_manifest_is_complete_and_matches_its_source(entry):
    assert manifest_problems(entry) == []
    assert set(entry.manifest) == set(MANIFEST_FIELDS)
    on_disk = hashlib.sha256(entry.path.read_bytes()).hexdigest()
    assert entry.manifest["source_sha256"] == on_disk == source_digest(entry.source)
    assert entry.manifest["origin"] in ("hand-written", "generated")
    assert len(entry.description) > 80  # a paragraph, not a label
    assert entry.addresses and all(a == a.lower() and " " not in a for a in entry.addresses)


def test_entry_is_frozen_and_its_manifest_read_only():
    entry = get("tabu_filter")
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        entry.manifest["origin"] = "generated"  # type: ignore[index]
    assert isinstance(entry, Entry) and entry.path.name == "tabu_filter.py"
    assert "class TabuFilter" in entry.source


def test_get_unknown_name_lists_known_ones():
    with pytest.raises(LibraryError) as caught:
        get("no_such_thing")
    assert caught.value.code == "unknown-mechanism"
    assert "tabu_filter" in str(caught.value) and "plateau_escape" in str(caught.value)


def test_by_hook_filters_and_rejects_unknown_hooks():
    assert {e.name for e in by_hook("source")} == {"latin_hypercube", "gp_expected_improvement", "plateau_escape"}
    assert {e.name for e in by_hook("acceptance")} == {"noise_aware_acceptance", "annealing_acceptance"}
    with pytest.raises(LibraryError) as caught:
        by_hook("sorcerer")
    assert caught.value.code == "unknown-hook"


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_example_for_is_the_shortest_sound_entry_of_the_hook(hook):
    example = example_for(hook)
    same_hook = by_hook(hook)
    assert example.hook == hook
    assert len(example.source.splitlines()) == min(len(e.source.splitlines()) for e in same_hook)


@pytest.fixture
def scratch(tmp_path):
    folder = tmp_path / "mechanisms"
    shutil.copytree(MECHANISMS_DIR, folder)
    return folder


def test_edited_source_is_reported_and_never_chosen_as_example(scratch):
    path = scratch / "annealing_acceptance.py"
    path.write_text(path.read_text() + "\n# edited after the manifest was written\n")
    entry = get("annealing_acceptance", scratch)
    assert any("source_sha256 does not match" in p for p in manifest_problems(entry))
    assert example_for("acceptance", scratch).name == "noise_aware_acceptance"


def test_missing_and_malformed_fields_are_reported(scratch):
    path = scratch / "tabu_filter.json"
    data = json.loads(path.read_text())
    del data["provenance"]
    data["origin"] = "found-on-a-disk"
    data["performance"] = [{"run": "r1"}]
    data["admission"] = {"sandbox_version": "1", "stages": [], "property_tests": "", "date": "x",
                         "source_sha256": "0" * 64}
    data["surprise"] = 1
    path.write_text(json.dumps(data))
    problems = manifest_problems(get("tabu_filter", scratch))
    text = "\n".join(problems)
    assert "missing field 'provenance'" in text
    assert "origin 'found-on-a-disk'" in text
    assert "performance[0] needs" in text
    assert "admission was recorded for a different source" in text
    assert "unexpected field 'surprise'" in text
    assert not get("tabu_filter", scratch).admitted


def admission_for(data, admitted):
    return {"admitted": admitted, "sandbox_version": "0.1", "source_sha256": data["source_sha256"],
            "stages": [{"stage": s, "ok": admitted} for s in ("parse", "guard", "compile", "load", "verify")],
            "violations": [] if admitted else [{"code": "call-raised", "line": 0, "message": "boom"}],
            "property_tests": {"suite": "filter", "max_examples": 12, "ran": True, "passed": admitted,
                               "counterexample": None}, "date": "2025-01-01"}


def test_admission_for_this_source_counts_as_admitted(scratch):
    path = scratch / "tabu_filter.json"
    data = json.loads(path.read_text())
    data["admission"] = admission_for(data, True)
    path.write_text(json.dumps(data))
    entry = get("tabu_filter", scratch)
    assert entry.admitted and manifest_problems(entry) == []


def test_a_recorded_rejection_of_this_source_is_not_an_admission(scratch):
    path = scratch / "tabu_filter.json"
    data = json.loads(path.read_text())
    data["admission"] = admission_for(data, False)
    path.write_text(json.dumps(data))
    entry = get("tabu_filter", scratch)
    assert not entry.admitted
    assert manifest_problems(entry) == ["the last audit did not admit this source"]


def test_addresses_outside_the_symptom_vocabulary_are_reported(scratch):
    path = scratch / "tabu_filter.json"
    data = json.loads(path.read_text())
    data["addresses"] = ["repetition", "bad-vibes"]
    path.write_text(json.dumps(data))
    assert any("unknown symptoms bad-vibes" in p for p in manifest_problems(get("tabu_filter", scratch)))


def test_a_missing_library_directory_is_an_error_not_an_empty_library(tmp_path):
    with pytest.raises(LibraryError) as caught:
        catalog(tmp_path / "nowhere")
    assert caught.value.code == "no-library"


def test_unreadable_manifest_and_missing_source_raise_clear_errors(scratch):
    (scratch / "broken.json").write_text("{not json")
    with pytest.raises(LibraryError) as caught:
        catalog(scratch)
    assert caught.value.code == "bad-manifest" and "broken.json" in str(caught.value)
    (scratch / "broken.json").write_text('{"name": "broken"}')
    with pytest.raises(LibraryError) as caught:
        catalog(scratch)
    assert caught.value.code == "missing-source"
