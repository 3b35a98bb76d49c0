import math

from hypothesis import given, strategies as st

from engine.executors import classify, parse_metrics
from interfaces import TrialStatus


def test_parse_metrics_reads_key_value_lines_and_the_last_one_wins():
    out = "step 1 | loss 3.2\nval_bpb: 2.5\r\ntraining_seconds:   30.1\nval_bpb: 2.25\nnote: hello\n"
    assert parse_metrics(out) == {"val_bpb": 2.25, "training_seconds": 30.1}


def test_parse_metrics_keeps_nan_so_divergence_is_visible():
    assert math.isnan(parse_metrics("val_bpb: nan\n")["val_bpb"])


keys = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
finite = st.floats(allow_nan=False, allow_infinity=False, width=32)


@given(st.lists(st.tuples(keys, finite), max_size=12))
def test_parse_metrics_last_value_per_key(pairs):
    text = "".join(f"{k}: {v!r}\n" for k, v in pairs)
    assert parse_metrics(text) == dict(pairs)


def test_classification_order():
    assert classify(0, "val_bpb: 1.5\n", "").status is TrialStatus.OK
    assert classify(0, "val_bpb: 1.5\n", "").metric == 1.5
    assert classify(-9, "val_bpb: 1.5\n", "", timed_out=True).status is TrialStatus.TIMED_OUT
    assert classify(1, "status: diverged\n", "").status is TrialStatus.DIVERGED
    assert classify(0, "val_bpb: nan\n", "").status is TrialStatus.DIVERGED
    assert classify(1, "", "MemoryError\n").status is TrialStatus.OUT_OF_MEMORY
    crashed = classify(3, "", "Traceback...\nValueError: boom\n")
    assert crashed.status is TrialStatus.CRASHED and "exit code 3" in crashed.reason
    assert "ValueError: boom" in crashed.reason and "ValueError: boom" in crashed.log_tail
    assert classify(-11, "", "").reason.startswith("killed by SIGSEGV")
    missing = classify(0, "loss: 1.0\n", "")
    assert missing.status is TrialStatus.MISSING_METRIC and missing.metrics == {"loss": 1.0}
    assert classify(0, "", "", file_metrics={"val_bpb": 2.0}).metric == 2.0
