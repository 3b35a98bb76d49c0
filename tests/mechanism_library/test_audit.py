"""``audit``: the real sandbox judges library sources again, and the CLI says what changed."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from mechanism_library import MECHANISMS_DIR, catalog, get, manifest_problems, source_digest
from mechanism_library._cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def scratch(tmp_path):
    folder = tmp_path / "mechanisms"
    shutil.copytree(MECHANISMS_DIR, folder)
    return folder


def manifest(folder, name):
    return json.loads((folder / f"{name}.json").read_text())


def test_a_real_audit_reports_exactly_the_fields_that_differ_from_the_stored_record(scratch):
    stored = manifest(scratch, "latin_hypercube")
    committed = stored["admission"]
    stored["admission"] = dict(committed, sandbox_version="0.0.1", date="1999-01-01",
                               property_tests=dict(committed["property_tests"], max_examples=99))
    (scratch / "latin_hypercube.json").write_text(json.dumps(stored))
    result = invoke("--library", scratch, "audit", "latin_hypercube", "--json")
    assert result.exit_code == 0, result.output
    [report] = json.loads(result.output)
    assert report["admitted"] is True
    assert report["record"]["source_sha256"] == source_digest((scratch / "latin_hypercube.py").read_text())
    # Everything else (verdict, stages, violations, digest) matches the committed record; the date is not compared.
    assert {c["field"] for c in report["changes"]} == {"sandbox_version", "property_tests"}
    change = next(c for c in report["changes"] if c["field"] == "sandbox_version")
    assert change["before"] == "0.0.1" and change["after"] == committed["sandbox_version"]
    assert manifest(scratch, "latin_hypercube") == stored  # no --write: nothing stored


def test_write_stores_the_new_record_and_the_entry_counts_as_admitted(scratch):
    stored = manifest(scratch, "parameter_sensitivity")
    stored["admission"] = None
    (scratch / "parameter_sensitivity.json").write_text(json.dumps(stored))
    assert not get("parameter_sensitivity", scratch).admitted
    result = invoke("--library", scratch, "audit", "parameter_sensitivity", "--write")
    assert result.exit_code == 0, result.output
    assert "parameter_sensitivity: admitted (no earlier record)" in result.output
    record = manifest(scratch, "parameter_sensitivity")["admission"]
    assert record["admitted"] is True and record["violations"] == []
    assert [s["stage"] for s in record["stages"]] == ["parse", "guard", "compile", "load", "verify"]
    assert record["property_tests"]["suite"] == "observer" and record["property_tests"]["passed"] is True
    entry = get("parameter_sensitivity", scratch)
    assert entry.admitted and manifest_problems(entry) == []


def test_a_source_edited_to_escape_fails_the_audit_and_the_rejection_is_recorded(scratch):
    path = scratch / "tabu_filter.py"
    path.write_text("import os\n" + path.read_text() + "\nLEAK = os.environ\n")
    result = invoke("--library", scratch, "audit", "tabu_filter", "--write", "--json")
    assert result.exit_code == 1, result.output
    [report] = json.loads(result.output)
    assert report["admitted"] is False
    changes = {c["field"]: c for c in report["changes"]}
    assert set(changes) == {"admitted", "source_sha256", "stages", "violation_codes", "property_tests"}
    assert "forbidden-import" in changes["violation_codes"]["after"] and changes["violation_codes"]["before"] == []
    assert changes["property_tests"]["after"]["ran"] is False
    assert "forbidden-import" in report["feedback"]
    entry = get("tabu_filter", scratch)
    assert not entry.admitted and entry.manifest["admission"]["admitted"] is False
    listed = invoke("--library", scratch, "list").output
    row = next(line for line in listed.splitlines() if "tabu_filter" in line)
    assert row.split("│")[5].strip() == "no"


@pytest.mark.slow  # hypothesis shrinks the failing example: over 10 s here
def test_a_property_test_failure_is_summarised_with_its_counterexample(tmp_path):
    folder = tmp_path / "mechanisms"
    folder.mkdir()
    source = ("class AlwaysVeto:\n"
              "    def check(self, proposal, trace, space):\n"
              "        return 42\n\n\n"
              "def build(seed: int):\n"
              "    return AlwaysVeto()\n")
    (folder / "always_veto.py").write_text(source)
    data = manifest(MECHANISMS_DIR, "tabu_filter")
    data.update(name="always_veto", class_name="AlwaysVeto", admission=None, source_sha256=source_digest(source))
    (folder / "always_veto.json").write_text(json.dumps(data))
    result = invoke("--library", folder, "audit", "always_veto", "--json")
    assert result.exit_code == 1
    [report] = json.loads(result.output)
    assert report["record"]["property_tests"]["ran"] is True
    assert report["record"]["property_tests"]["passed"] is False
    assert [v["code"] for v in report["record"]["violations"]] == ["wrong-return-type"]
    assert report["record"]["stages"][-1] == {"stage": "verify", "ok": False}


@pytest.mark.parametrize("args", [["audit"], ["audit", "tabu_filter", "--all"], ["audit", "nope"],
                                  ["audit", "--all", "--jobs", "0"]])
def test_audit_needs_exactly_one_of_a_name_or_all(args):
    result = invoke(*args)
    assert result.exit_code == 2


@pytest.mark.slow
def test_every_shipped_mechanism_is_admitted_unchanged_and_matches_its_record():
    result = invoke("audit", "--all", "--json", "--jobs", "2")
    assert result.exit_code == 0, result.output
    reports = json.loads(result.output)
    assert {r["name"] for r in reports} == {e.name for e in catalog()}
    for report in reports:
        assert report["admitted"], report["feedback"]
        assert report["changes"] == [], f"{report['name']}: run `python -m mechanism_library audit --all --write`"
        assert report["record"]["source_sha256"] == source_digest(get(report["name"]).source)
