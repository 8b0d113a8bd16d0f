"""A/B statistics with the standard library only (SciPy is the reference in the tests).

- Uplift of a variant's conversion rate over control, with a 95 % confidence interval from the
  normal approximation of the difference of two proportions (unpooled Wald), and the two-sided
  p-value of the pooled two-proportion z-test.
- Probability that the variant's true rate beats control's: Beta(1 + conversions,
  1 + non-conversions) posteriors (uniform priors), P(B > A) summed exactly (Evan Miller's closed
  form, O(conversions) terms); for very large counts the normal approximation of the posteriors,
  then exact to about 1e-6.
- Sample-ratio mismatch: chi-square goodness of fit of the visitors per variant against the
  weights; the survival function is the regularized upper incomplete gamma Q(k/2, x/2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

_STD = NormalDist()
Z_95 = _STD.inv_cdf(0.975)
EXACT_TERMS = 20_000  # above this many conversions on both sides, the normal approximation
_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 10_000


@dataclass(frozen=True, slots=True)
class Difference:
    """Variant minus control, as proportions (0-1)."""

    diff: float
    low: float
    high: float
    p_value: float


def difference(conv_a: int, n_a: int, conv_b: int, n_b: int, z: float = Z_95) -> Difference | None:
    """CI of p_b - p_a (unpooled Wald) and the pooled z-test's two-sided p; None without visitors."""
    if n_a <= 0 or n_b <= 0:
        return None
    p_a, p_b = conv_a / n_a, conv_b / n_b
    diff = p_b - p_a
    margin = z * math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    pooled = (conv_a + conv_b) / (n_a + n_b)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    # erfc keeps precision in the far tail, where 1 - cdf would round to 0.
    p_value = math.erfc(abs(diff) / se0 / math.sqrt(2)) if se0 > 0 else 1.0
    return Difference(diff, diff - margin, diff + margin, p_value)


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _b_beats_a_exact(a_a: float, b_a: float, a_b: int, b_b: float) -> float:
    """P(X_B > X_A) for X ~ Beta(alpha, beta), a_b a positive integer: sum over i < a_b."""
    base = _log_beta(a_a, b_a)
    terms = (
        math.exp(_log_beta(a_a + i, b_a + b_b) - math.log(b_b + i) - _log_beta(1 + i, b_b) - base)
        for i in range(a_b)
    )
    return min(1.0, max(0.0, math.fsum(terms)))


def _b_beats_a_normal(a_a: float, b_a: float, a_b: float, b_b: float) -> float:
    def moments(a: float, b: float) -> tuple[float, float]:
        n = a + b
        return a / n, a * b / (n * n * (n + 1))

    mean_a, var_a = moments(a_a, b_a)
    mean_b, var_b = moments(a_b, b_b)
    return _STD.cdf((mean_b - mean_a) / math.sqrt(var_a + var_b))


def probability_b_beats_a(conv_a: int, n_a: int, conv_b: int, n_b: int) -> float:
    """P(rate_B > rate_A) under Beta(1 + conv, 1 + n - conv) posteriors."""
    a_a, b_a = 1 + conv_a, 1 + n_a - conv_a
    a_b, b_b = 1 + conv_b, 1 + n_b - conv_b
    if min(a_a, a_b) > EXACT_TERMS:
        return _b_beats_a_normal(a_a, b_a, a_b, b_b)
    if a_b <= a_a:
        return _b_beats_a_exact(a_a, b_a, a_b, b_b)
    return 1.0 - _b_beats_a_exact(a_b, b_b, a_a, b_a)  # sum over the shorter side


def upper_gamma_regularized(a: float, x: float) -> float:
    """Q(a, x) = Gamma(a, x) / Gamma(a): series below a + 1, Lentz continued fraction above."""
    if a <= 0:
        raise ValueError("a must be positive")
    if x <= 0:
        return 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        for n in range(1, _MAX_ITER):
            term *= x / (a + n)
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    b = x + 1.0 - a
    c, d = 1.0 / _TINY, 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return min(1.0, math.exp(log_front) * h)


def chi_square_sf(statistic: float, dof: int) -> float:
    """P(X >= statistic) for X ~ chi-square with `dof` degrees of freedom."""
    return upper_gamma_regularized(dof / 2.0, statistic / 2.0)


@dataclass(frozen=True, slots=True)
class GoodnessOfFit:
    statistic: float
    dof: int
    p_value: float
    expected: tuple[float, ...]


def sample_ratio_test(observed: Sequence[int], weights: Sequence[float]) -> GoodnessOfFit | None:
    """Chi-square goodness of fit of `observed` against shares `weights`; None without data."""
    total, weight_sum = sum(observed), sum(weights)
    if total <= 0 or len(observed) < 2 or weight_sum <= 0:
        return None
    expected = tuple(total * w / weight_sum for w in weights)
    statistic = math.fsum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))
    dof = len(observed) - 1
    return GoodnessOfFit(statistic, dof, chi_square_sf(statistic, dof), expected)
