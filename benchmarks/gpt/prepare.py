"""Prepare the GPT task's data: documents -> byte tokens on disk, split by document.

    python -m benchmarks.gpt.prepare                # the default corpus
    python -m benchmarks.gpt.prepare --data PATH    # your own text files or parquet shards

The default corpus is text every Python installation already has: the
``pydoc_data`` topic pages and the standard library's own source files (tests
excluded), so nothing is downloaded and the same interpreter always gives the
same bytes. Each document goes wholly to train or to validation, chosen by a
hash of its name. The result is ``train.bin`` / ``val.bin`` (uint8 bytes,
documents separated by a 0 byte, memory-mapped by train.py) and ``meta.json``
(with the content hash) in ``<cache>/<hash>/``; the cache root is
``$GPT_CACHE_DIR`` or ``~/.cache/bilevel-autoresearch/gpt``. The last prepared
directory is remembered in ``<cache>/last-prepared`` so train.py finds it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "DOCUMENT_SEPARATOR",
    "VALIDATION_PERCENT",
    "DataError",
    "cache_root",
    "default_documents",
    "path_documents",
    "prepare",
    "prepared_dir",
    "main",
]

DOCUMENT_SEPARATOR = b"\x00"
VALIDATION_PERCENT = 5
_SKIPPED_DIRS = {"site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__"}
_TEXT_SUFFIXES = {".txt", ".md", ".rst", ".py", ".text", ".json", ".jsonl", ".csv", ".html", ".tex"}


class DataError(Exception):
    """The data cannot be prepared; ``code`` is stable."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(f"[{code}] {message}")
        self.code = code


def cache_root() -> Path:
    configured = os.environ.get("GPT_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "bilevel-autoresearch" / "gpt"


def default_documents() -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every default-corpus document, in a fixed order."""
    from pydoc_data.topics import topics

    for name in sorted(topics):
        yield f"pydoc_data/{name}", topics[name].encode("utf-8")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in sorted(_walk(stdlib, (".py",))):
        yield f"stdlib/{path.relative_to(stdlib).as_posix()}", path.read_bytes()


def _walk(root: Path, suffixes: tuple[str, ...] | set[str]) -> Iterator[Path]:
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if d not in _SKIPPED_DIRS]
        for name in files:
            if Path(name).suffix.lower() in suffixes:
                yield Path(directory) / name


def _parquet_documents(path: Path, label: str) -> Iterator[tuple[str, bytes]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"{path} is a parquet shard; reading it needs pyarrow (pip install pyarrow)",
                        "pyarrow-missing") from None
    table = pq.read_table(path, columns=["text"])
    for row, text in enumerate(table.column("text").to_pylist()):
        yield f"{label}#{row}", (text or "").encode("utf-8")


def path_documents(root: str | Path) -> Iterator[tuple[str, bytes]]:
    """Documents of a file or directory: each text file is one, each parquet row one."""
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root} does not exist", "data-not-found")
    paths = [root] if root.is_file() else sorted(_walk(root, _TEXT_SUFFIXES | {".parquet"}))
    if not paths:
        raise DataError(f"no text or parquet files under {root}", "no-documents")
    for path in paths:
        label = path.name if root.is_file() else path.relative_to(root).as_posix()
        if path.suffix.lower() == ".parquet":
            yield from _parquet_documents(path, label)
        else:
            yield label, path.read_bytes()


def _is_validation(name: str) -> bool:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < VALIDATION_PERCENT


def prepare(data: str | Path | None = None, *, root: Path | None = None) -> Path:
    """Prepare (or find already prepared) data; returns its directory."""
    documents = list(path_documents(data) if data is not None else default_documents())
    content = hashlib.sha256()
    for name, body in documents:
        content.update(hashlib.sha256(name.encode("utf-8")).digest())
        content.update(hashlib.sha256(body).digest())
    digest = content.hexdigest()
    root = root or cache_root()
    target = root / digest[:16]
    if not (target / "meta.json").exists():
        splits: dict[str, list[bytes]] = {"train": [], "val": []}
        counts = {"train": 0, "val": 0}
        for name, body in documents:
            split = "val" if _is_validation(name) else "train"
            # a 0 byte marks a document boundary; text never contains one
            splits[split].append(body.replace(DOCUMENT_SEPARATOR, b"") + DOCUMENT_SEPARATOR)
            counts[split] += 1
        if not counts["train"] or not counts["val"]:
            raise DataError(f"{len(documents)} document(s) cannot be split by document into train and "
                            "validation; give more files", "too-few-documents")
        staging = root / f".{digest[:16]}.partial-{os.getpid()}"
        staging.mkdir(parents=True, exist_ok=True)
        sizes = {}
        for split, parts in splits.items():
            blob = b"".join(parts)
            (staging / f"{split}.bin").write_bytes(blob)
            sizes[split] = len(blob)
        meta = {
            "content_sha256": digest,
            "source": str(Path(data).resolve()) if data is not None else "python-stdlib",
            "python": sys.version.split()[0],
            "tokenizer": "bytes",
            "vocab_size": 256,
            "document_separator": 0,
            "documents": counts,
            "tokens": sizes,
            "validation_percent": VALIDATION_PERCENT,
        }
        (staging / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        try:
            staging.rename(target)  # atomic: a reader never sees half-written data
        except OSError:
            if not (target / "meta.json").exists():
                raise
            for leftover in staging.iterdir():
                leftover.unlink()
            staging.rmdir()
    (root / "last-prepared").write_text(str(target) + "\n")
    return target


def prepared_dir() -> Path | None:
    """$GPT_DATA_DIR, else the last prepared directory, else None."""
    configured = os.environ.get("GPT_DATA_DIR")
    if configured:
        return Path(configured)
    pointer = cache_root() / "last-prepared"
    return Path(pointer.read_text().strip()) if pointer.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="a text file, a directory of text files, or parquet shards")
    args = parser.parse_args(argv)
    try:
        target = prepare(args.data)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    meta = json.loads((target / "meta.json").read_text())
    print(f"data_dir: {target}")
    print(f"content_sha256: {meta['content_sha256']}")
    print(f"train_tokens: {meta['tokens']['train']}")
    print(f"val_tokens: {meta['tokens']['val']}")
    print(f"export GPT_DATA_DIR={target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
