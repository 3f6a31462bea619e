"""Calibrator math on distributions whose right answer is known."""
from __future__ import annotations

import numpy as np
import pytest

from edgeseg.errors import InputError
from edgeseg.quant.calibrators import amax_of, entropy_amax, mse_amax, percentile_amax
from edgeseg.quant.method import METHODS, Kind, Method, methods_for
from edgeseg.quant.stats import TensorStats


def stats_of(*chunks: np.ndarray) -> TensorStats:
    s = TensorStats()
    for c in chunks:
        s.update(c)
    return s


@pytest.fixture(scope="module")
def gaussian_with_outliers():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(400_000).astype(np.float32)
    outliers = rng.uniform(30, 50, 40).astype(np.float32) * rng.choice([-1, 1], 40)
    # the outliers arrive in a later batch, so the histogram has to widen to take them
    return stats_of(x[:200_000], np.concatenate([x[200_000:], outliers]))


def test_max_of_a_uniform_sample_is_its_largest_magnitude():
    x = np.random.default_rng(1).uniform(-3, 2, 50_000).astype(np.float32)
    s = stats_of(*np.split(x, 5))
    assert amax_of(s, Method(Kind.MAX)) == pytest.approx(float(np.abs(x).max()), rel=0, abs=0)
    assert (s.minimum, s.maximum) == (float(x.min()), float(x.max()))


def test_histogram_keeps_every_value_when_it_widens(gaussian_with_outliers):
    s = gaussian_with_outliers
    assert s.hist.sum() == 400_040
    assert s.width * s.bins >= s.amax > s.width * s.bins / 2


@pytest.mark.parametrize("method", [Method(Kind.ENTROPY), Method(Kind.PERCENTILE, 99.9), Method(Kind.PERCENTILE, 99.99)])
def test_entropy_and_percentile_clip_outliers_well_below_the_max(gaussian_with_outliers, method):
    s = gaussian_with_outliers
    a = amax_of(s, method)
    assert a < 0.2 * s.amax  # the 40 outliers (|x| >= 30) are clipped ...
    assert a > 2.5  # ... but the Gaussian body (sigma 1) is not


def test_percentile_matches_numpy_within_a_bin():
    x = np.abs(np.random.default_rng(2).standard_normal(100_000).astype(np.float32))
    s = stats_of(x)
    for p in (99.9, 99.99):
        assert abs(percentile_amax(s, p) - np.percentile(x, p)) <= 2 * s.width


def test_a_distribution_without_outliers_is_not_clipped():
    x = np.random.default_rng(3).uniform(-1, 1, 200_000).astype(np.float32)
    s = stats_of(x)
    assert entropy_amax(s) > 0.95 * s.amax
    assert mse_amax(s) > 0.95 * s.amax


def test_mse_trades_rounding_against_clipping():
    # A Laplace body has a long thin tail: clipping part of it costs less than coarse rounding
    x = np.random.default_rng(4).laplace(0, 1, 400_000).astype(np.float32)
    s = stats_of(x)
    assert 3 < mse_amax(s) < 0.8 * s.amax


def test_all_zero_tensor_gets_a_usable_scale():
    s = stats_of(np.zeros(1000, np.float32))
    assert all(amax_of(s, m) > 0 for m in METHODS)


def test_unknown_method_and_bad_percentile_are_input_errors():
    s = stats_of(np.ones(10, np.float32))
    with pytest.raises(InputError, match="`method` must be one of max, percentile, entropy, mse, got 'kl'"):
        amax_of(s, Method("kl"))
    with pytest.raises(InputError, match="`method` must be one of max, percentile, entropy, mse, best, got 'kl'"):
        methods_for("kl")
    with pytest.raises(InputError):
        percentile_amax(s, 0)


def test_entropy_is_not_dragged_down_by_the_zeros_of_a_relu():
    # half the values are exact zeros; counting them in bin 0 as they are put the threshold at 1.8
    x = np.maximum(np.random.default_rng(5).standard_normal(400_000), 0).astype(np.float32)
    s = stats_of(x)
    assert entropy_amax(s) > 3.5


def test_methods_are_typed_values_named_once():
    assert [str(m) for m in METHODS] == ["max", "percentile-99.9", "percentile-99.99", "percentile-99.999", "entropy", "mse"]
    assert methods_for("best") == list(METHODS)
    assert methods_for("percentile", 99.5) == [Method(Kind.PERCENTILE, 99.5)]
    assert methods_for("mse", 99.5) == [Method(Kind.MSE)]  # the percentile goes with its method only
    with pytest.raises(InputError, match="percentile"):
        Method(Kind.ENTROPY, 99.9)
    with pytest.raises(InputError, match="percentile"):
        methods_for("percentile", 0)


def _entropy_amax_by_loop(s, levels=128, start=128):
    """The entropy calibrator as the module docstring states it, one candidate at a time."""
    n = int(np.flatnonzero(s.hist)[-1]) + 1
    hist = s.hist[:n].astype(np.float64)
    hist[0] = hist[1]
    best_i, best_kl = n, np.inf
    for i in range(start, n + 1):
        p = hist[:i].copy()
        p[i - 1] += hist[i:].sum()
        nonzero = p > 0
        bounds = (np.arange(levels + 1) * i) // levels
        level_of_bin = np.repeat(np.arange(levels), np.diff(bounds))
        merged = np.add.reduceat(hist[:i], bounds[:-1])
        spread = np.add.reduceat(nonzero.astype(np.float64), bounds[:-1])
        q = np.where(nonzero, merged[level_of_bin] / np.maximum(spread[level_of_bin], 1), 0.0)
        if np.any(q[nonzero] == 0):
            continue
        p_n, q_n = p[nonzero] / p.sum(), q[nonzero] / q.sum()
        kl = float(np.sum(p_n * np.log(p_n / q_n)))
        if kl < best_kl:
            best_i, best_kl = i, kl
    return min((best_i + 0.5) * s.width, s.amax)


@pytest.mark.parametrize("shape", ["gaussian", "relu", "cauchy", "outliers", "few-samples"])
def test_entropy_picks_what_a_loop_over_candidates_picks(shape):
    rng = np.random.default_rng(["gaussian", "relu", "cauchy", "outliers", "few-samples"].index(shape))
    for _ in range(6):
        x = {
            "gaussian": lambda: rng.standard_normal(100_000) * rng.uniform(0.5, 3),
            "relu": lambda: np.maximum(rng.standard_normal(100_000), 0),
            "cauchy": lambda: rng.standard_cauchy(50_000),  # long tails: exact ties between candidates
            "outliers": lambda: np.concatenate([rng.standard_normal(5000), rng.uniform(-40, 40, 20)]),
            "few-samples": lambda: rng.exponential(1.0, int(rng.integers(300, 3000))),
        }[shape]()
        s = stats_of(x.astype(np.float32))
        if rng.random() < 0.5:  # a wider second batch halves the resolution, as calibration does
            s.update((x * 2.5).astype(np.float32))
        assert entropy_amax(s) == _entropy_amax_by_loop(s)
