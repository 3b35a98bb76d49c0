"""The environment a trial runs with: an allow-list, never the parent's secrets."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

__all__ = ["ALLOWED_PARENT_VARS", "SECRET_NAME", "trial_environment", "secret_names"]

# What a training script legitimately needs from the parent: where programs
# and the home directory are, the locale, a temp dir and thread-count knobs.
ALLOWED_PARENT_VARS = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "PYTHONPATH",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
)

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)


def secret_names(env: Mapping[str, str]) -> list[str]:
    """Names in ``env`` that look like they carry a credential."""
    return sorted(name for name in env if SECRET_NAME.search(name))


def trial_environment(extra: Mapping[str, str], parent: Mapping[str, str] | None = None) -> dict[str, str]:
    """Allow-listed parent variables plus the request's own ``extra`` ones.

    The caller rejects requests whose ``extra`` names look secret (see
    :func:`secret_names`); allow-listed names never match that pattern.
    """
    parent = os.environ if parent is None else parent
    env = {name: parent[name] for name in ALLOWED_PARENT_VARS if name in parent}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env
