"""The real llama.cpp server with the real 0.5B model (slow; needs the ``[local]`` extra)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import openai
import pytest

from engine.llm.local import LocalServer, LocalServerError

from ._helpers import PROJECT_ROOT, wait_until_group_gone

pytestmark = pytest.mark.slow

PROPOSAL_SCHEMA = {
    "type": "object",
    "properties": {
        "parameter": {"type": "string", "enum": ["learning_rate", "batch_size", "n_layer"]},
        "value": {"type": "number"},
        "reason": {"type": "string"},
    },
    "required": ["parameter", "value", "reason"],
    "additionalProperties": False,
}


def test_strict_json_schema_completion_through_the_openai_sdk(small_model: Path, tmp_path: Path) -> None:
    with LocalServer(small_model, log_path=tmp_path / "server.log", n_ctx=2048) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=120)
        reply = client.chat.completions.create(
            model="local",
            messages=[
                {"role": "system", "content": "You tune the training of a small GPT. Answer in JSON."},
                {"role": "user", "content": "Propose one change to the configuration."},
            ],
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "proposal", "strict": True, "schema": PROPOSAL_SCHEMA},
            },
            max_tokens=120,
            temperature=0.0,
        )
        pgid = server.pid
    proposal = json.loads(reply.choices[0].message.content or "")
    assert set(proposal) == {"parameter", "value", "reason"}
    assert proposal["parameter"] in {"learning_rate", "batch_size", "n_layer"}
    assert isinstance(proposal["value"], (int, float)) and isinstance(proposal["reason"], str)
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    assert pgid is not None and wait_until_group_gone(pgid) == []


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_unloadable_model_fails_fast_with_the_llama_error(
    small_model: Path, tmp_path: Path, damage: str
) -> None:
    broken = tmp_path / "broken.gguf"
    if damage == "truncated":  # an interrupted copy of a real model
        with small_model.open("rb") as source:
            broken.write_bytes(source.read(1_000_000))
    else:
        broken.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 4096)
    server = LocalServer(broken, log_path=tmp_path / "server.log", startup_timeout_s=300)
    with pytest.raises(LocalServerError) as caught:
        server.start()
    assert caught.value.code == "local-server-start-failed"
    assert "local-server-start-failed: Failed to init server" in caught.value.message, caught.value.message


def test_sigkilled_engine_takes_the_real_server_with_it(small_model: Path, tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from engine.llm.local import LocalServer
        server = LocalServer(sys.argv[1], log_path=sys.argv[2], n_ctx=1024).start()
        print(server.pid, flush=True)
        time.sleep(600)
        """
    )
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(small_model), str(tmp_path / "server.log")],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert parent.stdout is not None
        pgid = int(parent.stdout.readline())
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert wait_until_group_gone(pgid) == []
    finally:
        parent.kill()
        parent.wait()
