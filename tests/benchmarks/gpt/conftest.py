import pytest

TINY = {
    "DEPTH": 2, "ASPECT_RATIO": 16, "HEAD_DIM": 16, "SEQ_LEN": 64, "TOTAL_BATCH_SIZE": 512,
    "DEVICE_BATCH_SIZE": 8, "EVAL_TOKENS": 2048,
}


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("gpt-cache")


@pytest.fixture
def cache(shared_cache, monkeypatch):
    """Prepared data lives in a test cache (shared by this session's tests), never the user's."""
    monkeypatch.setenv("GPT_CACHE_DIR", str(shared_cache))
    monkeypatch.delenv("GPT_DATA_DIR", raising=False)
    return shared_cache
