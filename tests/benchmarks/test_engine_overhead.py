"""The model-time figures of benchmarks.engine_overhead, from stored call rows."""

from benchmarks.engine_overhead import tokens_by_level


def _call(level, sent, cached, generated):
    return {"level": level, "prompt_tokens": sent, "cached_prompt_tokens": cached, "completion_tokens": generated}


def test_tokens_by_level_separates_levels_and_shows_the_cache_misses_a_median_hides():
    calls = [_call("1", 600, 0, 70), _call("1", 610, 590, 60), _call("1", 620, 600, 80),
             _call("1.5", 700, 600, 180), _call("1", 640, 20, 75),  # the proposal after Level 1.5 missed
             _call("2", 2000, None, 400)]
    figures = tokens_by_level(calls)
    assert set(figures) == {"1", "1.5", "2"}
    one = figures["1"]
    assert one["requests"] == 4 and one["sent_median"] == 615 and one["generated_median"] == 72.5
    assert one["evaluated_median"] == 20 + (600 - 20) / 2 and one["evaluated_mean"] == (600 + 20 + 20 + 620) / 4
    assert figures["1.5"]["evaluated_median"] == 100
    assert figures["2"]["evaluated_median"] == 2000  # no cache figure: every token counts as evaluated
