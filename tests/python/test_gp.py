"""kerascraft's Gaussian-process sampler on NumPy and SciPy (kerascraft.gp)."""

import math

import numpy as np
import optuna
import pytest
from kerascraft import gp
from scipy import optimize, stats

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _mixed(trial):
    """A net-like loss: log learning rate, stepped units, an optimizer (categorical)."""
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    units = trial.suggest_int("units", 16, 512, step=16)
    opt = trial.suggest_categorical("optimizer", ["adam", "sgd", "rmsprop"])
    return ((math.log10(lr) + 3) ** 2 + (math.log2(units) - 8) ** 2 / 4
            + {"adam": 0.0, "sgd": 1.0, "rmsprop": 0.5}[opt])


def _study(sampler, f=_mixed, n=20, direction="minimize"):
    study = optuna.create_study(sampler=sampler, direction=direction)
    study.optimize(f, n_trials=n)
    return study


def test_the_kernel_gradient_is_exact():
    rng = np.random.default_rng(0)
    X = rng.random((12, 3))
    X[:, 2] = rng.integers(0, 3, 12)
    y = stats.zscore(np.sin(4 * X[:, 0]) + X[:, 1] + 0.5 * X[:, 2])
    model = gp._GP(np.array([False, False, True]))
    D2 = model._d2(X, X)
    for theta in (np.zeros(5), rng.normal(0, 0.7, 5)):
        err = optimize.check_grad(lambda t: model._loss(t, D2, y)[0],
                                  lambda t: model._loss(t, D2, y)[1], theta)
        assert err < 1e-4 * (1 + np.abs(model._loss(theta, D2, y)[1]).max())


def test_the_fitted_process_interpolates_and_is_unsure_far_away():
    X = np.linspace(0, 1, 8)[:, None]
    y = stats.zscore(np.sin(6 * X[:, 0]))
    model = gp._GP(np.array([False])).fit(X, y)
    mean, sd = model.predict(X)
    assert np.abs(mean - y).max() < 0.1 and sd.max() < 0.2
    _, sd_between = model.predict(np.array([[0.5 / 7]]))
    assert sd_between[0] > sd.max()


def test_log_expected_improvement_is_finite_and_ordered_far_below_the_best():
    mean = np.array([1.0, 0.0, -5.0, -40.0, -400.0])
    out = gp.log_expected_improvement(mean, np.ones(5), 0.5)
    assert np.isfinite(out).all() and (np.diff(out) < 0).all()
    z = 1.0 - 0.5
    assert out[0] == pytest.approx(math.log(stats.norm.pdf(z) + z * stats.norm.cdf(z)))


def test_suggestions_lie_in_the_space_and_a_seed_repeats_its_search():
    a = _study(gp.NumpyGPSampler(seed=3), n=12)
    b = _study(gp.NumpyGPSampler(seed=3), n=12)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    for t in a.trials:
        assert t.params["units"] % 16 == 0 and 16 <= t.params["units"] <= 512
        assert 1e-5 <= t.params["lr"] <= 1e-1 and t.params["optimizer"] in ("adam", "sgd",
                                                                            "rmsprop")
    assert len({tuple(t.params.items()) for t in a.trials}) == 12


def test_it_finds_lower_values_than_random_search_at_twenty_trials():
    def best(sampler):
        return _study(sampler).best_value

    ours = [best(gp.NumpyGPSampler(seed=s, n_startup_trials=3)) for s in range(5)]
    rnd = [best(optuna.samplers.RandomSampler(seed=s)) for s in range(5)]
    assert np.median(ours) < 0.5 * np.median(rnd)
    assert sum(o < r for o, r in zip(ours, rnd)) >= 4


def test_it_maximises_too_and_draws_conditional_values_at_random():
    def f(trial):
        x = trial.suggest_float("x", -2, 2)
        if trial.suggest_categorical("extra", [False, True]):
            trial.suggest_int("k", 1, 4)  # not in every trial: outside the GP's space
        return -(x - 1) ** 2

    study = _study(gp.NumpyGPSampler(seed=1, n_startup_trials=3), f=f, direction="maximize")
    assert study.best_value > -0.01
    assert any("k" in t.params for t in study.trials)


def test_a_bad_warp_is_refused():
    with pytest.raises(ValueError, match="warp must be one of"):
        gp.NumpyGPSampler(warp="log")
