"""The shape-matched matmul peak counts exactly the matmuls train.py counts, at the shapes it runs."""

import math

import pytest
from hypothesis import given, settings, strategies as st

from benchmarks.gpt_bench import _model_matmuls, model_matmul_flops_per_second


@st.composite
def gpt_values(draw):
    seq_len = draw(st.sampled_from([16, 64, 128]))
    return {"DEPTH": draw(st.integers(1, 8)), "ASPECT_RATIO": draw(st.integers(1, 64)),
            "HEAD_DIM": draw(st.sampled_from([8, 16, 32, 64])), "SEQ_LEN": seq_len,
            "DEVICE_BATCH_SIZE": draw(st.sampled_from([1, 4, 16])),
            "TOTAL_BATCH_SIZE": seq_len * draw(st.sampled_from([1, 4, 16, 64]))}


@settings(max_examples=200, deadline=None)
@given(gpt_values())
def test_the_shapes_carry_train_py_s_six_flops_per_weight_per_token(values) -> None:
    width = -(-values["DEPTH"] * values["ASPECT_RATIO"] // values["HEAD_DIM"]) * values["HEAD_DIM"]
    rows = min(values["DEVICE_BATCH_SIZE"], values["TOTAL_BATCH_SIZE"] // values["SEQ_LEN"]) * values["SEQ_LEN"]
    # train.py's matrices: qkv, proj, up and down in every block, and the 256-way head
    weights = values["DEPTH"] * (3 + 1 + 4 + 4) * width**2 + 256 * width
    shapes = _model_matmuls(values)
    assert sum(2 * m * k * n * count for m, k, n, count in shapes) == 6 * weights * rows
    # every product involves the micro-batch's rows: the forward and input gradient as rows, the weight
    # gradient as the inner dimension
    assert all(rows in (m, k) for m, k, _, _ in shapes)


@pytest.mark.parametrize("threads", [1])
def test_the_peak_is_a_finite_rate_that_a_bigger_model_does_not_lower(threads) -> None:
    tiny = {"DEPTH": 1, "ASPECT_RATIO": 8, "HEAD_DIM": 8, "SEQ_LEN": 16, "DEVICE_BATCH_SIZE": 1, "TOTAL_BATCH_SIZE": 16}
    cpu = {"DEPTH": 4, "ASPECT_RATIO": 16, "HEAD_DIM": 32, "SEQ_LEN": 128, "DEVICE_BATCH_SIZE": 16,
           "TOTAL_BATCH_SIZE": 2048}
    small, preset = (model_matmul_flops_per_second(v, threads, seconds=0.3) for v in (tiny, cpu))
    assert math.isfinite(small) and math.isfinite(preset) and small > 0
    # 8x8 products are dominated by call overhead; the preset's 2048x64 ones are not
    assert preset > 3 * small
