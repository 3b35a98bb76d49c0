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

Data that cannot train is a :class:`DataError` (a ``ConfigError``) with a
stable code, before anything is written: a path that does not exist
(``data-not-found``), no text files (``no-documents``), a file that cannot be
read (``data-unreadable``), an empty file (``empty-document``), a binary file
(``data-not-text``: it holds a 0 byte), documents that do not split into both
train and validation (``too-few-documents``), or a split shorter than one
training sequence at the given ``seq_len`` (``too-little-data``).
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

from interfaces import ConfigError

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


class DataError(ConfigError):
    """The data cannot be prepared; ``code`` is stable and ``str()`` is ``[code] message``."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, code=code)


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


def _named(paths: list[str]) -> str:
    shown = ", ".join(paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def path_documents(root: str | Path) -> Iterator[tuple[str, bytes]]:
    """Documents of a file or directory: each text file is one, each parquet row one.

    Every text file is read and checked before any document is given out:
    one that cannot be read is ``data-unreadable``, one that is empty (or
    only whitespace) ``empty-document``, one that holds a 0 byte (binary, and
    the byte that separates documents) ``data-not-text``; each names the
    files.
    """
    root = Path(root)
    if not root.exists():
        raise DataError(f"{root} does not exist", "data-not-found")
    paths = [root] if root.is_file() else sorted(_walk(root, _TEXT_SUFFIXES | {".parquet"}))
    if not paths:
        raise DataError(f"no text or parquet files under {root}", "no-documents")
    texts: dict[str, bytes] = {}
    unreadable, empty, binary = [], [], []
    for path in paths:
        label = path.name if root.is_file() else path.relative_to(root).as_posix()
        if path.suffix.lower() == ".parquet":
            continue
        try:
            body = path.read_bytes()
        except OSError as exc:
            unreadable.append(f"{label} ({exc.strerror or exc})")
            continue
        if not body.strip():
            empty.append(label)
        elif DOCUMENT_SEPARATOR in body:
            binary.append(label)
        texts[label] = body
    if unreadable:
        raise DataError(f"cannot read {_named(unreadable)} under {root}", "data-unreadable")
    if empty:
        raise DataError(f"{len(empty)} empty file(s) in {root}: {_named(empty)}; remove them or give text",
                        "empty-document")
    if binary:
        raise DataError(f"{len(binary)} file(s) in {root} are binary, not text (they hold a 0 byte): "
                        f"{_named(binary)}", "data-not-text")
    for path in paths:
        label = path.name if root.is_file() else path.relative_to(root).as_posix()
        if path.suffix.lower() == ".parquet":
            yield from _parquet_documents(path, label)
        else:
            yield label, texts[label]


def _check_sizes(sizes: dict[str, int], counts: dict[str, int], seq_len: int) -> None:
    # train.py samples windows of seq_len + 1 tokens from each split: a shorter split cannot train or score.
    need = seq_len + 2
    short = [split for split in ("train", "val") if sizes[split] < need]
    if short:
        split = short[0]
        total = need * 100 // VALIDATION_PERCENT
        raise DataError(
            f"the {'validation' if split == 'val' else 'training'} split has {sizes[split]} bytes "
            f"({counts[split]} document(s)); a sequence length of {seq_len} needs at least {need} bytes in each "
            f"split, so give more text: about {total} bytes or more in all, since validation gets about "
            f"{VALIDATION_PERCENT}% of the documents", "too-little-data")


def _is_validation(name: str) -> bool:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < VALIDATION_PERCENT


def prepare(data: str | Path | None = None, *, root: Path | None = None, seq_len: int = 0) -> Path:
    """Prepare (or find already prepared) data; returns its directory.

    Raises :class:`DataError` (see the module docstring) before anything is
    written, also for data prepared before: each split must hold more than
    ``seq_len + 1`` bytes, one training window.
    """
    documents = list(path_documents(data) if data is not None else default_documents())
    content = hashlib.sha256()
    for name, body in documents:
        content.update(hashlib.sha256(name.encode("utf-8")).digest())
        content.update(hashlib.sha256(body).digest())
    digest = content.hexdigest()
    root = root or cache_root()
    target = root / digest[:16]
    if (target / "meta.json").exists():
        meta = json.loads((target / "meta.json").read_text())
        _check_sizes(meta["tokens"], meta["documents"], seq_len)
    else:
        splits: dict[str, list[bytes]] = {"train": [], "val": []}
        counts = {"train": 0, "val": 0}
        for name, body in documents:
            split = "val" if _is_validation(name) else "train"
            # a 0 byte marks a document boundary; text never contains one
            splits[split].append(body.replace(DOCUMENT_SEPARATOR, b"") + DOCUMENT_SEPARATOR)
            counts[split] += 1
        if not counts["train"] or not counts["val"]:
            went = "train" if counts["train"] else "validation"
            which = f"all {len(documents)} documents" if len(documents) > 1 else "the only document"
            raise DataError(f"{which} went to {went}: each file is one document, wholly in train or "
                            f"validation, and validation gets about {VALIDATION_PERCENT}% of them (by a hash of "
                            f"the name); give more files (about {100 // VALIDATION_PERCENT} for one to be expected "
                            "in validation, 60 to be near certain), or split the text into more files",
                            "too-few-documents")
        blobs = {split: b"".join(parts) for split, parts in splits.items()}
        sizes = {split: len(blob) for split, blob in blobs.items()}
        _check_sizes(sizes, counts, seq_len)
        staging = root / f".{digest[:16]}.partial-{os.getpid()}"
        staging.mkdir(parents=True, exist_ok=True)
        for split, blob in blobs.items():
            (staging / f"{split}.bin").write_bytes(blob)
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
    parser.add_argument("--seq-len", type=int, default=None,
                        help="check each split holds a training sequence of this length (default: train.py's SEQ_LEN)")
    args = parser.parse_args(argv)
    seq_len = args.seq_len
    if seq_len is None:
        from ..script_task import ScriptTask
        from .task import TRAIN_SCRIPT

        seq_len = ScriptTask(TRAIN_SCRIPT).script_values()["SEQ_LEN"]
    try:
        target = prepare(args.data, seq_len=seq_len)
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
