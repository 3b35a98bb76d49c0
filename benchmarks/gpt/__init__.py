"""The GPT pretraining task (byte-level, offline data, fixed budget, val_bpb).

``python -m benchmarks.gpt.prepare`` prepares data; ``python
benchmarks/gpt/train.py`` trains once by hand; :class:`GptTask` is the
searchable task, a ScriptTask over train.py.
"""

from .prepare import DataError, cache_root, prepare, prepared_dir
from .task import COMPILE_GRACE_S, NOISE_FLOOR, PRESETS, TRAIN_SCRIPT, GptTask, curated_specs, load_gpt_task

__all__ = [
    "COMPILE_GRACE_S",
    "DataError",
    "GptTask",
    "NOISE_FLOOR",
    "PRESETS",
    "TRAIN_SCRIPT",
    "cache_root",
    "curated_specs",
    "load_gpt_task",
    "prepare",
    "prepared_dir",
]
