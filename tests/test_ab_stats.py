"""The A/B statistics (stdlib only) against SciPy on the same counts: the normal-approximation
interval and z-test, the Beta posterior P(B > A) by numeric integration, the chi-square survival
function and the sample-ratio test (scipy.stats.chisquare)."""

from __future__ import annotations

import math

import pytest
import scipy  # its submodules load on first use: only the worker that runs these tests pays ~0.8 s

from analytics_mcp.experiments.stats import (
    EXACT_TERMS,
    chi_square_sf,
    difference,
    probability_b_beats_a,
    sample_ratio_test,
    upper_gamma_regularized,
)

COUNTS = [
    (25, 600, 20, 634),  # the worked example of docs/ab-testing.md
    (0, 10, 0, 10),
    (0, 50, 3, 50),
    (3, 50, 8, 50),
    (1, 5, 4, 5),
    (50, 50, 49, 50),
    (200, 1000, 230, 1000),
    (480, 10_000, 560, 10_400),
    (5_000, 100_000, 5_200, 100_000),
    (30_000, 600_000, 30_400, 600_000),  # over EXACT_TERMS on both sides: the normal approximation
]


def scipy_b_beats_a(conv_a: int, n_a: int, conv_b: int, n_b: int) -> float:
    """P(B > A) = integral of pdf_B(x) * cdf_A(x), over the posteriors' mass."""
    a = scipy.stats.beta(1 + conv_a, 1 + n_a - conv_a)
    b = scipy.stats.beta(1 + conv_b, 1 + n_b - conv_b)
    low = min(a.ppf(1e-13), b.ppf(1e-13))
    high = max(a.isf(1e-13), b.isf(1e-13))
    value, _error = scipy.integrate.quad(
        lambda x: b.pdf(x) * a.cdf(x), low, high, limit=500, points=[a.mean(), b.mean()]
    )
    return float(value)


@pytest.mark.parametrize("counts", COUNTS)
def test_probability_to_beat_matches_scipy(counts: tuple[int, int, int, int]) -> None:
    ours = probability_b_beats_a(*counts)
    exact = min(counts[0], counts[2]) < EXACT_TERMS  # the normal branch is good to ~1e-6 there
    assert ours == pytest.approx(scipy_b_beats_a(*counts), abs=1e-6 if exact else 1e-5)
    swapped = probability_b_beats_a(counts[2], counts[3], counts[0], counts[1])
    assert ours + swapped == pytest.approx(1.0, abs=1e-9)


def test_normal_branch_is_used_only_for_large_counts() -> None:
    assert COUNTS[-1][0] > EXACT_TERMS and COUNTS[-2][0] < EXACT_TERMS
    assert probability_b_beats_a(0, 0, 0, 0) == pytest.approx(0.5)


@pytest.mark.parametrize("counts", COUNTS)
def test_interval_and_z_test_match_scipy(counts: tuple[int, int, int, int]) -> None:
    conv_a, n_a, conv_b, n_b = counts
    p_a, p_b = conv_a / n_a, conv_b / n_b
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    z = scipy.stats.norm.ppf(0.975)
    ours = difference(*counts)
    assert ours is not None
    assert ours.diff == pytest.approx(p_b - p_a, abs=1e-12)
    assert (ours.low, ours.high) == pytest.approx((p_b - p_a - z * se, p_b - p_a + z * se), abs=1e-12)
    pooled = (conv_a + conv_b) / (n_a + n_b)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    expected = 2 * scipy.stats.norm.sf(abs(p_b - p_a) / se0) if se0 else 1.0
    assert ours.p_value == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_interval_without_visitors_is_none() -> None:
    assert difference(0, 0, 1, 10) is None and difference(1, 10, 0, 0) is None


@pytest.mark.parametrize(
    ("a", "x"),
    [
        (0.5, 1e-9),
        (0.5, 0.1),
        (0.5, 3.84),
        (1, 2),
        (2.5, 10),
        (10, 3),
        (50, 80),
        (3, 200),
        (100, 100),
        (7, 7.5),
    ],
)
def test_regularized_upper_gamma_matches_scipy(a: float, x: float) -> None:
    assert upper_gamma_regularized(a, x) == pytest.approx(scipy.stats.gamma.sf(x, a), rel=1e-10, abs=1e-300)


@pytest.mark.parametrize("dof", [1, 2, 3, 5, 19])
def test_chi_square_sf_matches_scipy(dof: int) -> None:
    for statistic in (0.0, 0.001, 0.5, 3.841458820694124, 10, 40, 150):
        expected = scipy.stats.chi2.sf(statistic, dof)
        assert chi_square_sf(statistic, dof) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    ("observed", "weights"),
    [
        ([600, 634], [50, 50]),  # the worked example: no mismatch
        ([5000, 5400], [1, 1]),  # a broken split
        ([1000, 520, 480], [2, 1, 1]),
        ([330, 300, 370, 1], [1, 1, 1, 1]),
        ([7, 0], [90, 10]),
    ],
)
def test_sample_ratio_test_matches_scipy_chisquare(observed: list[int], weights: list[int]) -> None:
    total = sum(observed)
    expected = [total * w / sum(weights) for w in weights]
    reference = scipy.stats.chisquare(observed, f_exp=expected)
    ours = sample_ratio_test(observed, weights)
    assert ours is not None and ours.dof == len(observed) - 1
    assert ours.statistic == pytest.approx(reference.statistic, rel=1e-12)
    assert ours.p_value == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-300)
    assert ours.expected == pytest.approx(expected)


def test_sample_ratio_test_needs_visitors() -> None:
    assert sample_ratio_test([0, 0], [1, 1]) is None
    mismatch = sample_ratio_test([5000, 5400], [1, 1])
    assert mismatch is not None and mismatch.p_value < 0.001
