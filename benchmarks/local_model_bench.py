"""Speed of the local model server: load time, prompt and generation tokens/s.

    python -m benchmarks.local_model_bench --model qwen-0.5b --model qwen-1.5b

For each model: the time from starting :class:`LocalServer` to ``/health``
answering (the model load), then ``--runs`` requests read through llama.cpp's
own ``timings`` (prompt processing and generation measured separately, prompt
cache off, a fixed number of generated tokens), then one strict-JSON-schema
proposal through the OpenAI SDK, timed end to end, and the server's resident
memory. The first model given is the reference: every other model is also
printed as a ratio to it. The machine's
load average is printed too, because the figures move with it on a shared
machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

import openai

from engine.llm.local import MODELS, LocalServer, ensure_weights

__all__ = ["ModelSpeed", "main", "measure"]

# About 300 prompt tokens: long enough that prompt speed is not dominated by per-request overhead.
_PROMPT = (
    "You tune the training of a small GPT language model. The configuration has a learning rate, "
    "a batch size, a number of layers, a number of heads, an embedding width, a dropout rate, a "
    "weight decay, a warmup length and a schedule. "
) * 6 + "Which single change would you try next, and why?"

_PROPOSAL_SCHEMA = {
    "type": "object",
    "properties": {
        "parameter": {"type": "string"},
        "value": {"type": "number"},
        "reason": {"type": "string"},
    },
    "required": ["parameter", "value", "reason"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class ModelSpeed:
    model: str
    threads: int
    load_s: float
    prompt_tokens: int
    prompt_tokens_per_s: float
    generated_tokens: int
    generation_tokens_per_s: float
    proposal_s: float
    resident_mb: float
    load_average_1m: float


def _timings(base_url: str, generate: int) -> dict[str, float]:
    body = {
        "model": "local",
        "messages": [{"role": "user", "content": _PROMPT}],
        "max_tokens": generate,
        "temperature": 0.0,
        "ignore_eos": True,  # a fixed generation length, whatever the model would say
        "cache_prompt": False,  # every run processes the whole prompt
    }
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=600) as response:
        reply = json.load(response)
    if "timings" not in reply:
        raise RuntimeError("the server's reply has no 'timings' field; is this llama.cpp's server?")
    return reply["timings"]


def _proposal_seconds(base_url: str) -> float:
    client = openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=600)
    start = time.perf_counter()
    reply = client.chat.completions.create(
        model="local",
        messages=[
            {"role": "system", "content": "You tune the training of a small GPT. Answer in JSON."},
            {"role": "user", "content": "Propose one change to the configuration."},
        ],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "proposal", "strict": True, "schema": _PROPOSAL_SCHEMA},
        },
        max_tokens=120,
        temperature=0.0,
    )
    elapsed = time.perf_counter() - start
    json.loads(reply.choices[0].message.content or "")  # a proposal that does not parse is a failure
    return elapsed


def _resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def measure(model: str, *, threads: int, runs: int, generate: int, log_dir: Path) -> ModelSpeed:
    path = ensure_weights(model)
    start = time.perf_counter()
    with LocalServer(path, threads=threads, n_ctx=2048, log_path=log_dir / f"{model}.log") as server:
        load_s = time.perf_counter() - start
        timings = [_timings(server.base_url, generate) for _ in range(runs)]
        proposal_s = _proposal_seconds(server.base_url)
        assert server.pid is not None
        resident_mb = _resident_mb(server.pid)
    return ModelSpeed(
        model=model,
        threads=threads,
        load_s=load_s,
        prompt_tokens=int(timings[0]["prompt_n"]),
        prompt_tokens_per_s=statistics.median(t["prompt_per_second"] for t in timings),
        generated_tokens=int(timings[0]["predicted_n"]),
        generation_tokens_per_s=statistics.median(t["predicted_per_second"] for t in timings),
        proposal_s=proposal_s,
        resident_mb=resident_mb,
        load_average_1m=os.getloadavg()[0],
    )


def _print_table(results: list[ModelSpeed]) -> None:
    reference = results[0]
    print(
        f"{'model':<11}{'load s':>8}{'prompt tok/s':>14}{'gen tok/s':>11}"
        f"{'proposal s':>12}{'RSS MB':>8}{'load avg':>10}"
    )
    for result in results:
        print(
            f"{result.model:<11}{result.load_s:>8.2f}{result.prompt_tokens_per_s:>14.1f}"
            f"{result.generation_tokens_per_s:>11.1f}{result.proposal_s:>12.2f}"
            f"{result.resident_mb:>8.0f}{result.load_average_1m:>10.2f}"
        )
    for result in results[1:]:
        print(
            f"{result.model} / {reference.model}: load x{result.load_s / reference.load_s:.2f}, "
            f"prompt speed x{result.prompt_tokens_per_s / reference.prompt_tokens_per_s:.2f}, "
            f"generation speed x{result.generation_tokens_per_s / reference.generation_tokens_per_s:.2f}, "
            f"proposal time x{result.proposal_s / reference.proposal_s:.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.local_model_bench", description=__doc__)
    parser.add_argument(
        "--model", action="append", choices=sorted(MODELS), help="repeatable; first is the reference"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--generate", type=int, default=64, help="tokens generated per timed request")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    models = args.model or ["qwen-0.5b", "qwen-1.5b"]
    with tempfile.TemporaryDirectory(prefix="local-model-bench-") as scratch:
        results = [
            measure(
                model, threads=args.threads, runs=args.runs, generate=args.generate, log_dir=Path(scratch)
            )
            for model in models
        ]
    _print_table(results)
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(result) for result in results], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
