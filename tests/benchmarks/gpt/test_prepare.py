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


def test_every_data_error_is_a_config_error_with_its_code(cache, tmp_path):
    from interfaces import ConfigError

    with pytest.raises(ConfigError) as info:
        prepare(tmp_path / "nope")
    assert str(info.value) == f"[data-not-found] {tmp_path / 'nope'} does not exist"


def make_docs(folder, count, text):
    folder.mkdir()
    for i in range(count):
        (folder / f"doc{i:02d}.txt").write_text(text)
    return folder


def test_a_split_shorter_than_one_sequence_is_too_little_data(cache, tmp_path):
    docs = make_docs(tmp_path / "docs", 60, "tiny text\n")   # 60 documents split fine, but hold 11 bytes each
    cached = set(cache.iterdir())
    with pytest.raises(DataError) as info:
        prepare(docs, seq_len=128)
    assert info.value.code == "too-little-data"
    assert "needs at least 130 bytes in each split" in info.value.message
    assert "about 2600 bytes" in info.value.message
    assert set(cache.iterdir()) == cached                    # nothing written for data that cannot train
    assert prepare(docs, seq_len=4).is_dir()              # the same text holds a window of 4 bytes


def test_data_prepared_before_is_checked_against_the_sequence_length_asked_for(cache, tmp_path):
    docs = make_docs(tmp_path / "docs", 60, "some text " * 30)
    target = prepare(docs, seq_len=128)
    val = json.loads((target / "meta.json").read_text())["tokens"]["val"]
    with pytest.raises(DataError) as info:
        prepare(docs, seq_len=val)                          # the cached directory, a longer sequence
    assert info.value.code == "too-little-data"


def test_empty_binary_and_unreadable_files_are_named(cache, tmp_path):
    docs = make_docs(tmp_path / "empty", 30, "text " * 40)
    (docs / "blank.txt").write_text("  \n")
    with pytest.raises(DataError) as info:
        prepare(docs)
    assert info.value.code == "empty-document" and "blank.txt" in info.value.message
    docs = make_docs(tmp_path / "binary", 30, "text " * 40)
    (docs / "weights.json").write_bytes(b"\x89PNG\x00\x00\x01")
    with pytest.raises(DataError) as info:
        prepare(docs)
    assert info.value.code == "data-not-text" and "weights.json" in info.value.message
    docs = make_docs(tmp_path / "unreadable", 30, "text " * 40)
    (docs / "gone.txt").symlink_to(tmp_path / "missing-target")
    with pytest.raises(DataError) as info:
        prepare(docs)
    assert info.value.code == "data-unreadable" and "gone.txt" in info.value.message
    single = tmp_path / "empty.txt"
    single.write_bytes(b"")
    with pytest.raises(DataError) as info:
        prepare(single)
    assert info.value.code == "empty-document"


def test_the_prepare_command_checks_train_pys_sequence_length(cache, tmp_path, capsys):
    docs = make_docs(tmp_path / "docs", 60, "tiny text\n")
    assert main(["--data", str(docs)]) == 2
    assert "[too-little-data]" in capsys.readouterr().err
    assert main(["--data", str(docs), "--seq-len", "4"]) == 0
