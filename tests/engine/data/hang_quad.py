"""The quad objective for a baseline, then a hang: a trial the engine must stop, not wait for."""

import os
import time

LEARNING_RATE = 0.01
BATCH_SIZE = 64

if LEARNING_RATE != 0.01 or BATCH_SIZE != 64:
    open(os.path.join(os.getcwd(), "hanging"), "w").close()
    time.sleep(600)
print(f"loss: {abs(LEARNING_RATE - 0.003) + BATCH_SIZE / 1000:.6f}")
