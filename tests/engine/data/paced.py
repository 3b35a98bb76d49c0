"""quad.py's objective, plus the throughput a test chooses (the PACE environment variable)."""

import math
import os

LEARNING_RATE = 0.01
WEIGHT_DECAY = 0.1
BATCH_SIZE = 64

loss = (math.log10(LEARNING_RATE) + 2.5) ** 2 + (math.log2(BATCH_SIZE) - 4) ** 2 * 0.1 + WEIGHT_DECAY
print(f"loss: {loss:.6f}")
print("num_steps: 100")
print(f"tokens_per_sec: {float(os.environ.get('PACE', '1000')):.1f}")
