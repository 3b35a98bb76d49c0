"""The shape-matched matmul peak counts exactly the matmuls train.py counts, at the shapes it runs."""

from hypothesis import given, settings, strategies as st

from benchmarks.gpt_bench import _model_matmuls


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
