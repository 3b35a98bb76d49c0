"""Promote from a real run: the engine in-process, the heuristic provider, all three levels."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from engine.runner import Run
from engine.settings import RunSettings
from engine.store import RunStore
from mechanism_library import get, manifest_problems, source_digest
from mechanism_library._cli import app

runner = CliRunner()

QUAD = '''LEARNING_RATE = 0.01
BATCH_SIZE = 64
DEPTH = 4
import math
loss = (math.log10(LEARNING_RATE) + 2.5) ** 2 + (math.log2(BATCH_SIZE) - 4) ** 2 * 0.1 + (DEPTH - 6) ** 2 * 0.05
print(f"loss: {loss:.6f}")
'''


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.slow
def test_a_generated_mechanism_is_promoted_with_the_runs_provenance(tmp_path):
    script = tmp_path / "quad.py"
    script.write_text(QUAD)
    settings = RunSettings(task="script", task_options={"path": str(script), "metric": "loss", "budget_s": 10.0},
                           provider="heuristic", iterations=3, outer_every=1, research_every=2, seed=0)
    result = Run.create(settings, tmp_path / "runs").execute()
    assert result.status == "finished"
    with RunStore.open(result.run_dir / "run.sqlite") as store:
        info = store.run(result.run_id)
        events = store.mechanism_events(result.run_id)
    admitted = [e for e in events if e["kind"] == "admission"]
    assert admitted, "the run must have admitted a mechanism to promote"
    name, session = admitted[0]["mechanism"], admitted[0]["data"]["session"]
    library = tmp_path / "library"
    library.mkdir()

    promoted = invoke("--library", library, "promote", result.run_dir, name)
    assert promoted.exit_code == 0, promoted.output
    entry = get(name, library)
    assert manifest_problems(entry) == [] and entry.admitted and entry.origin == "generated"
    source = (result.run_dir / "level2" / "mechanisms" / f"{name}.py").read_bytes()
    assert entry.path.read_bytes() == source
    assert entry.manifest["admission"]["source_sha256"] == hashlib.sha256(source).hexdigest()
    provenance = entry.manifest["provenance"]
    assert (provenance["provider"], provenance["model"], provenance["run"], provenance["session"]) == \
        (info.provider, info.model, result.run_id, session)
    transcript = (result.run_dir / "level2" / f"session-{session}" / "rounds.json").read_bytes()
    assert (library / provenance["transcript"]).read_bytes() == transcript
    assert provenance["transcript_sha256"] == hashlib.sha256(transcript).hexdigest()
    assert [r["round"] for r in json.loads(transcript)] == ["explore", "critique", "specify", "generate"]
    evaluation = next(e["data"] for e in events if e["kind"] == "evaluation" and e["mechanism"] == name)
    [performance] = entry.manifest["performance"]
    assert (performance["run"], performance["delta"], performance["calls"], performance["effects"]) == \
        (result.run_id, evaluation["gain"], evaluation["calls"], evaluation["effects"])

    again = invoke("--library", library, "promote", result.run_dir, name)
    assert again.exit_code == 2 and "name-clash" in again.output
    renamed = invoke("--library", library, "promote", result.run_dir, name, "--as", "second_copy")
    assert renamed.exit_code == 0, renamed.output
    assert source_digest(get("second_copy", library).source) \
        == entry.manifest["source_sha256"]
    audited = invoke("--library", library, "audit", "--all", "--json")
    assert audited.exit_code == 0, audited.output
    assert all(r["admitted"] and r["changes"] == [] for r in json.loads(audited.output))
