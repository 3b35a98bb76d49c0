"""The run directory: one folder per run holding everything it produced.

    <runs root>/<run_id>/
        run.sqlite        the store (one store per run directory)
        config.toml       the run's settings as command-line flags (``--config`` reads it back)
        optuna.sqlite3    the trials again, as an Optuna study named after the run (a copy; the store rules)
        best_train.py     the best training script so far
        transcripts/      LLM dialogues, one text file each
        report.md         written by engine.report
        progress.png      written by engine.report

Files are replaced atomically (write a temporary file, then rename), so a
crash leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from interfaces import StoreError

from ._records import check_run_id
from ._store import STORE_FILENAME

__all__ = ["CONFIG_FILENAME", "OPTUNA_FILENAME", "RunPaths", "write_atomic"]

CONFIG_FILENAME = "config.toml"
OPTUNA_FILENAME = "optuna.sqlite3"

_TRANSCRIPT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def write_atomic(path: Path, text: str) -> Path:
    """Replace ``path`` with ``text`` so that readers see all of it or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@dataclass(frozen=True)
class RunPaths:
    """Where the files of one run live."""

    root: Path

    @classmethod
    def for_run(cls, runs_root: str | Path, run_id: str) -> RunPaths:
        return cls(Path(runs_root) / check_run_id(run_id))

    @property
    def run_id(self) -> str:
        return self.root.name

    @property
    def store(self) -> Path:
        return self.root / STORE_FILENAME

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILENAME

    @property
    def optuna_storage(self) -> Path:
        return self.root / OPTUNA_FILENAME

    @property
    def best_script(self) -> Path:
        return self.root / "best_train.py"

    @property
    def trials(self) -> Path:
        """The executor's root: one working directory per attempt of each trial."""
        return self.root / "trials"

    @property
    def transcripts(self) -> Path:
        return self.root / "transcripts"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def progress(self) -> Path:
        return self.root / "progress.png"

    def create(self) -> RunPaths:
        self.transcripts.mkdir(parents=True, exist_ok=True)
        return self

    def write_best_script(self, text: str) -> Path:
        return write_atomic(self.best_script, text)

    def write_transcript(self, name: str, text: str) -> Path:
        """Write ``transcripts/<name>`` (a plain file name, no folders)."""
        if not isinstance(name, str) or not _TRANSCRIPT_NAME.fullmatch(name) or ".." in name:
            raise StoreError(
                f"transcript name {name!r} must be a plain file name", code="bad-transcript-name"
            )
        return write_atomic(self.transcripts / name, text)
