# -*- coding: utf-8 -*-
# Copyright: vacc.qwen3 contributors; Apache-2.0
"""Small exact statistics for accuracy verdicts, standard library only (the controller has no scipy).

- Wilson score interval for a proportion (binary per-item scores); a normal interval on the mean
  for non-binary scores.
- Exact binomial tails, for the one-sample test against a published proportion and for McNemar's
  exact test (a sign test on the discordant pairs of two paired runs).
"""

from __future__ import annotations

import math

Z95 = 1.959963984540054  # two-sided 95 % normal quantile


def wilson_interval(correct, n, z=Z95):
    """Wilson score interval of correct/n; (0, 1) for n == 0. Good at small n and at 0 or 1,
    where the normal (Wald) interval collapses."""
    if n <= 0:
        return (0.0, 1.0)
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if correct <= 0 else max(0.0, centre - half)
    hi = 1.0 if correct >= n else min(1.0, centre + half)
    return (lo, hi)


def normal_interval(values, z=Z95):
    """Mean +- z * standard error (sample standard deviation), clipped to [0, 1]."""
    n = len(values)
    if n == 0:
        return (0.0, 1.0)
    mean = sum(values) / n
    if n == 1:
        return (max(0.0, mean), min(1.0, mean))
    var = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = z * math.sqrt(var / n)
    return (max(0.0, mean - half), min(1.0, mean + half))


def _log_binom_pmf(k, n, p):
    if p <= 0.0:
        return 0.0 if k == 0 else -math.inf
    if p >= 1.0:
        return 0.0 if k == n else -math.inf
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p) + (n - k) * math.log1p(-p)


def binom_cdf(k, n, p):
    """P(X <= k) for X ~ Binomial(n, p), exact (summed in log space, stable for large n)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    terms = [_log_binom_pmf(i, n, p) for i in range(0, k + 1)]
    top = max(terms)
    if top == -math.inf:
        return 0.0
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def binom_sf(k, n, p):
    """P(X >= k) for X ~ Binomial(n, p)."""
    return 1.0 - binom_cdf(k - 1, n, p) if k > 0 else 1.0


def mcnemar_exact(worse, better):
    """McNemar's exact test on discordant pairs: `worse` items right in the baseline and wrong now,
    `better` the reverse. Under no difference each discordant pair goes either way with 1/2.

    Returns (p_one_sided, p_two_sided): one-sided for "the current run is worse" (P(X >= worse)),
    two-sided the doubled smaller tail, capped at 1."""
    m = worse + better
    if m == 0:
        return (1.0, 1.0)
    p_worse = binom_sf(worse, m, 0.5)
    p_two = min(1.0, 2 * min(binom_cdf(worse, m, 0.5), p_worse))
    return (p_worse, p_two)


def binomial_below(correct, n, p0):
    """One-sided exact test that the true proportion is below p0: P(X <= correct | n, p0)."""
    return binom_cdf(correct, n, p0)
