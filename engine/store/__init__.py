"""The run store (SQLite, WAL) and the run directory.

Everything a run produces is written the moment it exists: each finished trial
is one committed transaction, so a run killed at any point resumes from its
last committed state. See :class:`RunStore` for the API.
"""

from interfaces import StoreError

from ._lock import LOCK_FILENAME, RunLock
from ._paths import CONFIG_FILENAME, OPTUNA_FILENAME, RunPaths, write_atomic
from ._records import MECHANISM_EVENT_KINDS, RUN_STATUSES, ConfigSnapshot, InFlightTrial, RunInfo
from ._schema import MIGRATIONS, SCHEMA_VERSION
from ._store import STORE_FILENAME, RunStore, store_error

__all__ = [
    "CONFIG_FILENAME",
    "LOCK_FILENAME",
    "MECHANISM_EVENT_KINDS",
    "MIGRATIONS",
    "OPTUNA_FILENAME",
    "RUN_STATUSES",
    "SCHEMA_VERSION",
    "STORE_FILENAME",
    "ConfigSnapshot",
    "InFlightTrial",
    "RunInfo",
    "RunLock",
    "RunPaths",
    "RunStore",
    "StoreError",
    "store_error",
    "write_atomic",
]
