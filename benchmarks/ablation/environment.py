"""What an ablation ran on: package versions, the code's commit, the machine and its load.

Two runs of the same command on the same seeds can differ when a sampler's
library changed (Optuna's GP and CMA-ES do between versions), and their seconds
differ with the machine's load. Each run saves this as ``environment.json``
beside its report; ``--reanalyse`` reads it back and ``--merge`` reports every
merged folder's, so a merged report says when its arms ran on different
installations.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "capture", "finish", "save_environment", "load_environment", "environment_lines"]

_FILE = "environment.json"
#: The distributions whose versions change what an arm does or how fast it runs.
PACKAGES = ("optuna", "cmaes", "torch", "numpy", "scipy", "scikit-learn", "xllamacpp")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        done = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10, check=False)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def capture() -> dict[str, Any]:
    """The environment as the run starts."""
    return {"started": datetime.now(UTC).isoformat(timespec="seconds"),
            "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "commit": _commit(), "load_at_start": _load(),
            "packages": {name: version for name in PACKAGES if (version := _version(name)) is not None}}


def finish(environment: dict[str, Any]) -> dict[str, Any]:
    """The same record with the time and load as the run ends."""
    return dict(environment, ended=datetime.now(UTC).isoformat(timespec="seconds"), load_at_end=_load())


def save_environment(environment: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _FILE
    path.write_text(json.dumps(environment, indent=1))
    return path


def load_environment(folder: Path) -> dict[str, Any] | None:
    path = Path(folder) / _FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _line(environment: dict[str, Any]) -> str:
    packages = ", ".join(f"{name} {version}" for name, version in sorted(environment.get("packages", {}).items()))
    load = "-".join(str(x[0]) for x in (environment.get("load_at_start"), environment.get("load_at_end")) if x)
    return (f"{environment.get('started', '?')} to {environment.get('ended', '?')}, commit "
            f"{environment.get('commit') or 'unknown'}, Python {environment.get('python', '?')}, "
            f"{environment.get('cpus', '?')} CPUs, load average {load or 'unknown'} (1 min, start-end); {packages}")


def environment_lines(environments: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
    """The report's section: one line per run that made the data (named by its folder when merged)."""
    if not environments:
        return []
    lines = ["## Environment", ""]
    if len(environments) == 1:
        lines.append(_line(environments[0][1]))
    else:
        lines += [f"- `{name}`: {_line(env)}" for name, env in environments]
        versions = {json.dumps(env.get("packages", {}), sort_keys=True) for _name, env in environments}
        if len(versions) > 1:
            lines += ["", "**The merged runs ran on different package versions**; a difference between their "
                      "arms may be the installation's."]
    return lines + [""]
