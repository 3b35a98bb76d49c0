"""Statistics on synthetic data whose truth is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from benchmarks.ablation import bootstrap_ci, compare_all, compare_paired, holm, summarise
from interfaces import ConfigError


def test_mean_ci_covers_the_true_mean_at_about_the_nominal_rate():
    rng = np.random.default_rng(0)
    covered = 0
    experiments = 200
    for i in range(experiments):
        sample = rng.normal(1.0, 1.0, size=20)
        low, high = bootstrap_ci(sample, "mean", resamples=999, seed=i)
        covered += low <= 1.0 <= high
    # percentile intervals at n=20 run a little narrow: expect roughly 0.88-0.99
    assert 0.85 <= covered / experiments <= 0.99


def test_median_ci_brackets_the_sample_median_and_shrinks_with_n():
    rng = np.random.default_rng(1)
    small = rng.exponential(1.0, size=10)
    large = rng.exponential(1.0, size=400)
    low_s, high_s = bootstrap_ci(small, "median", resamples=999)
    low_l, high_l = bootstrap_ci(large, "median", resamples=999)
    assert low_s <= np.median(small) <= high_s
    assert (high_l - low_l) < (high_s - low_s)


def test_degenerate_samples_get_explicit_intervals():
    assert bootstrap_ci([0.5, 0.5, 0.5]) == (0.5, 0.5)
    assert all(math.isnan(x) for x in bootstrap_ci([0.5]))
    with pytest.raises(ConfigError) as bad:
        bootstrap_ci([1.0, 2.0], "mode")
    assert bad.value.code == "unknown-statistic"


def test_clearly_separated_groups_get_a_directed_verdict():
    rng = np.random.default_rng(2)
    base = rng.normal(0.05, 0.01, size=10)
    better = {s: base[s] + 0.02 + rng.normal(0, 0.002) for s in range(10)}
    worse = {s: float(base[s]) for s in range(10)}
    result = compare_paired("C", better, "A", worse)
    assert result.separated
    assert result.verdict.startswith("C better than A at alpha=0.05")
    assert result.wilcoxon_p < 0.01 and result.permutation_p < 0.01
    assert result.difference_ci[0] > 0
    flipped = compare_paired("A", worse, "C", better)
    assert flipped.verdict.startswith("C better than A")
    assert flipped.mean_difference == pytest.approx(-result.mean_difference)


def test_groups_from_one_distribution_cannot_be_separated():
    rng = np.random.default_rng(3)
    a = {s: float(v) for s, v in enumerate(rng.normal(0.05, 0.01, size=10))}
    b = {s: float(v) for s, v in enumerate(rng.normal(0.05, 0.01, size=10))}
    result = compare_paired("A", a, "B", b)
    assert not result.separated
    assert result.verdict.startswith("cannot separate A and B at alpha=0.05")


def test_identical_groups_have_p_one_not_an_error():
    same = {s: 0.1 * s for s in range(8)}
    result = compare_paired("A", same, "B", dict(same))
    assert result.wilcoxon_p == 1.0 and result.permutation_p == 1.0
    assert "cannot separate" in result.verdict


def test_three_seeds_are_too_few_and_the_verdict_says_so():
    result = compare_paired("C", {0: 1.0, 1: 1.1, 2: 1.2}, "A", {0: 0.0, 1: 0.1, 2: 0.2})
    assert not result.separated
    assert "no outcome could reach p < 0.05" in result.verdict
    assert result.n == 3


def test_only_common_seeds_are_paired():
    result = compare_paired("A", {0: 1.0, 1: 2.0, 5: 9.0}, "B", {0: 0.5, 1: 1.0, 7: 0.0})
    assert result.n == 2
    assert result.mean_difference == pytest.approx(0.75)


def test_holm_matches_a_hand_computed_example():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert holm([]) == []


@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20))
def test_holm_never_lowers_a_p_value_and_keeps_their_order(pvalues):
    adjusted = holm(pvalues)
    assert all(a >= p - 1e-15 and a <= 1.0 for a, p in zip(adjusted, pvalues, strict=True))
    for i in range(len(pvalues)):
        for j in range(len(pvalues)):
            if pvalues[i] < pvalues[j]:
                assert adjusted[i] <= adjusted[j] + 1e-15


def test_compare_all_adjusts_across_the_family():
    rng = np.random.default_rng(4)
    a = {s: float(v) for s, v in enumerate(rng.normal(0.0, 0.01, 10))}
    data = {"A": a, "B": {s: v + 0.05 for s, v in a.items()}, "C": {s: v + 0.0001 * (-1) ** s for s, v in a.items()}}
    results = compare_all(data)
    assert [(c.first, c.second) for c in results] == [("A", "B"), ("A", "C"), ("B", "C")]
    assert all(c.adjusted_p >= c.wilcoxon_p for c in results)
    by_pair = {(c.first, c.second): c for c in results}
    assert by_pair[("A", "B")].verdict.startswith("B better than A")
    assert by_pair[("B", "C")].verdict.startswith("B better than C")
    assert by_pair[("A", "C")].verdict.startswith("cannot separate")


def test_summary_numbers():
    summary = summarise("A", [0.0, 0.1, 0.2, 0.3], keep_rates=[0.5, None], crash_rates=[0.0, 0.2],
                        tokens=[100, 300], seconds=[1.0, 3.0])
    assert summary.n == 4
    assert summary.mean == pytest.approx(0.15) and summary.median == pytest.approx(0.15)
    assert summary.mean_ci[0] <= 0.15 <= summary.mean_ci[1]
    assert (summary.keep_rate, summary.crash_rate, summary.tokens, summary.seconds) == (0.5, 0.1, 200, 2.0)
    with pytest.raises(ConfigError) as empty:
        summarise("A", [])
    assert empty.value.code == "no-data"
