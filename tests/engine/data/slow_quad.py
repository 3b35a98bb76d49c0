"""The quad objective, slowed down so that a test can kill the engine mid-trial."""

import math
import time

LEARNING_RATE = 0.01
WEIGHT_DECAY = 0.1
BATCH_SIZE = 64
DEPTH = 4
WARMUP_RATIO = 0.1
USE_BIAS = False

time.sleep(0.6)
loss = ((math.log10(LEARNING_RATE) + 2.5) ** 2 + (math.log2(BATCH_SIZE) - 4) ** 2 * 0.1
        + (DEPTH - 6) ** 2 * 0.05 + WEIGHT_DECAY + (0.3 if USE_BIAS else 0.0) + WARMUP_RATIO)
print(f"loss: {loss:.6f}")
