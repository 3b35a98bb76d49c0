import json

import numpy as np
import pytest

from benchmarks.gpt import DataError, prepare, prepared_dir
from benchmarks.gpt.prepare import default_documents, main


def test_default_corpus_is_deterministic_and_split_by_document(cache):
    first = prepare()
    meta = json.loads((first / "meta.json").read_text())
    assert first.name == meta["content_sha256"][:16]
    assert meta["documents"]["train"] > 100 and meta["documents"]["val"] > 5
    train = np.memmap(first / "train.bin", dtype=np.uint8, mode="r")
    val = np.memmap(first / "val.bin", dtype=np.uint8, mode="r")
    assert len(train) == meta["tokens"]["train"] and len(train) > 1_000_000
    # one 0 byte ends each document, so the split is by whole documents
    assert int((train == 0).sum()) == meta["documents"]["train"]
    assert int((val == 0).sum()) == meta["documents"]["val"]
    # documents are whole: the validation bytes are exactly the chosen documents
    names = [name for name, _ in default_documents()]
    assert len(names) == meta["documents"]["train"] + meta["documents"]["val"]
    # preparing again finds the same directory with the same bytes
    assert prepare() == first and prepared_dir() == first
    assert (first / "train.bin").read_bytes() == bytes(train)


def test_user_text_directory(cache, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(60):
        (docs / f"doc{i:02d}.txt").write_text(f"document {i} " * 50)
    target = prepare(docs)
    meta = json.loads((target / "meta.json").read_text())
    assert meta["documents"]["train"] + meta["documents"]["val"] == 60
    assert meta["documents"]["val"] >= 1
    (docs / "doc00.txt").write_text("changed")
    assert prepare(docs) != target  # a content change is a new hash


def test_bad_data_gives_clear_errors(cache, tmp_path, capsys):
    with pytest.raises(DataError) as info:
        prepare(tmp_path / "nope")
    assert info.value.code == "data-not-found"
    single = tmp_path / "one.txt"
    single.write_text("just one document")
    with pytest.raises(DataError) as info:
        prepare(single)
    assert info.value.code == "too-few-documents"
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "a.parquet").write_bytes(b"PAR1")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        assert main(["--data", str(tmp_path / "shards")]) == 2
        assert "pyarrow-missing" in capsys.readouterr().err
