"""The quad objective, also reporting what a real training script does: its throughput and steps (as
the GPT task's ``tokens_per_second`` and ``num_steps``), a line on stderr, and a metric file whose key
is no valid MLflow metric name."""

import json
import math
import sys

LEARNING_RATE = 0.01
WEIGHT_DECAY = 0.1
BATCH_SIZE = 64
DEPTH = 4
WARMUP_RATIO = 0.1
USE_BIAS = False

loss = ((math.log10(LEARNING_RATE) + 2.5) ** 2 + (math.log2(BATCH_SIZE) - 4) ** 2 * 0.1
        + (DEPTH - 6) ** 2 * 0.05 + WEIGHT_DECAY + (0.3 if USE_BIAS else 0.0) + WARMUP_RATIO)
print(f"data ready, depth {DEPTH}", file=sys.stderr)
print(f"loss: {loss:.6f}")
print(f"tokens_per_second: {1000.0 * BATCH_SIZE:.1f}")
print(f"num_steps: {10 * DEPTH}")
with open("metrics.json", "w", encoding="utf-8") as out:
    json.dump({"top@1": 0.5}, out)
