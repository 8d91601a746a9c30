"""Optuna's side of kerascraft's searches: KerasTuner hyperparameters as Optuna
distributions, the samplers and the ``"auto"`` rule that picks one, seeds as streams, and
the pruning rungs. No oracle here (that is :mod:`kerascraft.oracles`).

How KerasTuner's hyperparameters map to Optuna's distributions (:func:`distribution`):
``Float``/``Int`` without a step keep their range and log scale (``reverse_log`` is searched
on the linear scale: Optuna has no such scale); a stepped ``Int``/``Float`` becomes an
integer over the index of its values, so the samplers see the order (``units`` 16, 32, ...
512 are neighbours; a log step gives an evenly spaced index); a numeric ``Choice`` is
searched the same way by the Gaussian process (alone or taking turns with TPE) and as
categories by TPE alone (whose per-category counts did better on the FCNet tables,
BENCHMARKS.md); other choices and
``Boolean`` are categorical; ``Fixed`` is not searched.
"""

from __future__ import annotations

import contextlib
import logging
import warnings

import keras_tuner as kt
import numpy as np
import optuna

from kerascraft.errors import InputError, InputTypeError

_HP = kt.engine.hyperparameters

#: samplers an :class:`OptunaOracle` can use: ``"gp+tpe"`` takes turns (what ``"auto"``
#: chooses for larger spaces); ``"gp-numpy"`` is kerascraft's own Gaussian process
#: (:mod:`kerascraft.gp`), which needs no PyTorch
SAMPLERS = ("tpe", "gp", "gp+tpe", "gp-numpy")

#: the samplers that model the space with a Gaussian process (numeric choices by index)
GP_SAMPLERS = ("gp", "gp+tpe", "gp-numpy")

#: the ``"auto"`` rule's limit: a Gaussian process alone for spaces of at most this many
#: hyperparameters (the benchmark's spaces of 2 to 6 favoured it); above, the GP and TPE
#: take turns (on the 9 of the FCNet tables the GP alone was best on two tables and worst
#: on the other two; taking turns was never far from the best, BENCHMARKS.md)
GP_MAX_DIMENSIONS = 8

#: the ``"auto"`` rule's budget for Optuna's Gaussian process (where PyTorch is installed):
#: below it, kerascraft's own GP (``"gp-numpy"``) is chosen, which models the results after
#: 3 random trials (:data:`GP_NUMPY_STARTUP`) where Optuna's GP spends its first 10 at random
#: (a 10-trial search was a random search); Optuna's GP was benchmarked from 60 trials
NUMPY_GP_BELOW_TRIALS = 30

#: random start-up trials of kerascraft's GP before it models the results: a sixth of the
#: budget, at least this many and at most 10. On the mixed space and two FCNet tables it was
#: chosen on, 3 had the lowest median regret at 10 and at 20 trials of 2 to 6, and 10 was
#: ahead of 3 at 60 trials on two of the three (BENCHMARKS.md, "kerascraft's own Gaussian
#: process"). Under a time limit the budget is the trials the time allows
#: (:meth:`kerascraft.oracles.OptunaOracle.expect_trials`)
GP_NUMPY_STARTUP = 3

#: when ``"auto"`` chooses TPE (conditional spaces), its random start-up trials are a fifth
#: of the budget, at least this many and at most Optuna's default of 10 (with which
#: craft()'s 10 trials were a random search): on the mixed space and two FCNet tables it was
#: chosen on, 4 start-up trials had a lower median regret than Optuna's TPE and than random
#: search at 10 and at 20 trials (BENCHMARKS.md, "A search that learns without PyTorch")
TPE_MIN_STARTUP = 4


def startup_trials(sampler, max_trials) -> int | None:
    """The random start-up trials ``"auto"`` gives ``sampler`` for a budget of
    ``max_trials`` (``None``: the sampler's own default)."""
    if sampler not in ("tpe", "gp-numpy"):
        return None
    if max_trials is None:
        return 10
    if sampler == "gp-numpy":
        return int(min(10, max(GP_NUMPY_STARTUP, int(max_trials) // 6)))
    return int(min(10, max(TPE_MIN_STARTUP, int(max_trials) // 5)))


#: early stopping of unpromising trials (``pruning=True``): rungs at ``min_epochs`` x
#: ``factor`` ** k epochs (2, 6, 18, ...); at a rung a trial goes on only if its objective so
#: far is among the best 1/``factor`` of the trials that reached that rung (the best one
#: while fewer than ``factor`` did): asynchronous successive halving (ASHA), run by Optuna's
#: ``SuccessiveHalvingPruner`` (:func:`make_pruner`)
PRUNING_DEFAULTS = {"min_epochs": 2, "factor": 3}


def pruning_settings(pruning) -> dict | None:
    """``pruning`` (``True``, ``False``/``None`` or a dict overriding
    :data:`PRUNING_DEFAULTS`) checked, as a dict or ``None``."""
    if pruning is None or pruning is False:
        return None
    settings = dict(PRUNING_DEFAULTS)
    if pruning is not True:
        if not isinstance(pruning, dict) or set(pruning) - set(PRUNING_DEFAULTS):
            raise InputError("pruning must be TRUE/True, FALSE/False, or a dict with "
                             f"{' and '.join(PRUNING_DEFAULTS)}; got {pruning!r}.")
        settings.update(pruning)
    for name, low in (("min_epochs", 1), ("factor", 2)):
        value = settings[name]
        if isinstance(value, bool) or not float(value).is_integer() or value < low:
            raise InputError(f"pruning {name} must be a whole number of at least {low}; "
                             f"got {value!r}.")
        settings[name] = int(value)
    return settings


def make_pruner(settings) -> optuna.pruners.BasePruner:
    """Optuna's pruner for :func:`pruning_settings` (``None``: none). Trials report their
    objective so far at each epoch, the epoch (1-based) as the step, so the rungs fall on
    epochs ``min_epochs`` x ``factor`` ** k."""
    if not settings:
        return optuna.pruners.NopPruner()
    return optuna.pruners.SuccessiveHalvingPruner(
        min_resource=settings["min_epochs"], reduction_factor=settings["factor"],
        min_early_stopping_rate=0, bootstrap_count=0)


def rung_epochs(settings, below) -> list:
    """The rungs (epochs) of :func:`pruning_settings` before epoch ``below``."""
    rungs, rung = [], settings["min_epochs"]
    while rung < below:
        rungs.append(rung)
        rung *= settings["factor"]
    return rungs


# -- hyperparameters <-> Optuna distributions --------------------------------------------

class _Mapping:
    """One hyperparameter's Optuna distribution and the conversions both ways."""

    def __init__(self, dist, to_value=None, to_internal=None):
        self.dist = dist
        self.to_value = to_value or (lambda v: v)
        self.to_internal = to_internal or (lambda v: v)


def _indexed(values):
    """An ordered finite set of values, searched by index."""
    values = list(values)

    def to_internal(value):
        return int(np.argmin([abs(float(v) - float(value)) for v in values]))

    return _Mapping(optuna.distributions.IntDistribution(0, len(values) - 1),
                    lambda i: values[int(i)], to_internal)


def distribution(hp, ordinal_choices=True) -> _Mapping | None:
    """The Optuna distribution of a KerasTuner hyperparameter (``None``: not searched).

    ``ordinal_choices``: search a numeric ``Choice`` by index (its order seen) rather than
    as categories.
    """
    if isinstance(hp, _HP.Fixed):
        return None
    if isinstance(hp, _HP.Boolean):
        return _Mapping(optuna.distributions.CategoricalDistribution([False, True]))
    if isinstance(hp, _HP.Choice):
        if ordinal_choices and hp.ordered and len(hp.values) > 1:
            return _indexed(hp.values)
        return _Mapping(optuna.distributions.CategoricalDistribution(list(hp.values)))
    if isinstance(hp, (_HP.Int, _HP.Float)):
        log = hp.sampling == "log"
        if isinstance(hp, _HP.Int) and hp.step in (None, 1):
            return _Mapping(optuna.distributions.IntDistribution(
                int(hp.min_value), int(hp.max_value), log=log), int, int)
        if hp.step is not None:
            values = list(hp.values)
            if isinstance(hp, _HP.Int):  # a log step gives floats (8.0, 16.0, ...)
                values = [int(round(v)) for v in values]
            return _indexed(values)
        return _Mapping(optuna.distributions.FloatDistribution(
            float(hp.min_value), float(hp.max_value), log=log), float, float)
    raise InputTypeError(f"hyperparameter {hp.name!r} of type {type(hp).__name__} is not one "
                    "KerasTuner defines (Int, Float, Choice, Boolean, Fixed).")


def suggest(optuna_trial, name, dist):
    """Ask ``optuna_trial`` for ``name`` in ``dist`` through Optuna's public suggest API."""
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return optuna_trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, optuna.distributions.IntDistribution):
        return optuna_trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return optuna_trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def contains(dist, value) -> bool:
    """Whether ``value`` (a saved trial's, perhaps from an older space) lies in ``dist``."""
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return value in dist.choices
    return dist.low <= value <= dist.high


def space_kinds(hyperparameters) -> dict:
    """How many hyperparameters a space searches, how many of them are conditional, and
    how many categorical (no order a Gaussian process could use)."""
    dists = [(hp, distribution(hp)) for hp in hyperparameters.space]
    searched = [(hp, d) for hp, d in dists if d is not None]
    return {"dimensions": len(searched),
            "conditional": sum(bool(hp.conditions) for hp, _ in searched),
            "categorical": sum(isinstance(d.dist, optuna.distributions.CategoricalDistribution)
                               for _, d in searched)}


# -- the sampler and the "auto" rule ------------------------------------------------------

def _count(n, what):
    return f"{n} {what}{'' if n == 1 else 's'}"


def gp_available() -> bool:
    """Optuna's Gaussian process needs PyTorch."""
    try:
        import torch  # noqa: F401  (only asked whether it imports)
    except ImportError:
        return False
    return True


def require_gp(what="tuner kind 'gp'"):
    """Raise, saying what to install, when Optuna's Gaussian process cannot run here."""
    if not gp_available():
        raise ImportError(
            f"{what} (Optuna's Gaussian process) needs PyTorch, which is not "
            "installed. Install it (pip install torch; from R: "
            "reticulate::py_install('torch')), or use kind='tpe' or 'auto'.")


def choose_sampler(hyperparameters, max_trials=None) -> tuple[str, str]:
    """The ``"auto"`` rule: ``(sampler, why)``, decided from the search space and the
    budget (``max_trials``; ``None``: not known).

    - A space with a conditional hyperparameter: TPE (its tree structure is for them).
    - Otherwise, with PyTorch and at least :data:`NUMPY_GP_BELOW_TRIALS` trials (or an
      unknown budget): Optuna's Gaussian process for spaces of up to
      :data:`GP_MAX_DIMENSIONS` hyperparameters, the GP and TPE taking turns above.
    - Otherwise (no PyTorch, or a smaller budget): kerascraft's own Gaussian process on
      NumPy and SciPy (:mod:`kerascraft.gp`).

    The benchmark behind it is ``bench/search.py`` (BENCHMARKS.md, "Search quality" and
    "A search that learns without PyTorch").
    """
    sampler, why = _choose(hyperparameters, max_trials)
    startup = startup_trials(sampler, max_trials)
    if startup is not None and max_trials is not None:
        model = "TPE" if sampler == "tpe" else "the GP"
        n = int(max_trials)
        why += (f"; {startup} of its {n} trials random before it models the results"
                if startup < n else f"; all {n} trials random: too few for {model} to "
                f"model the results (it starts after {startup})")
    return sampler, why


def _choose(hyperparameters, max_trials):
    kinds = space_kinds(hyperparameters)
    dims = _count(kinds["dimensions"], "hyperparameter")
    if kinds["conditional"]:
        return "tpe", (f"TPE: the space has "
                       f"{_count(kinds['conditional'], 'conditional hyperparameter')}")
    own = "kerascraft's Gaussian process (NumPy and SciPy)"
    if not gp_available():
        return "gp-numpy", (f"{own}: {dims}, none conditional (Optuna's GP would need "
                            "PyTorch)")
    if max_trials is not None and max_trials < NUMPY_GP_BELOW_TRIALS:
        return "gp-numpy", (f"{own}: {dims}, none conditional, and "
                            f"{_count(int(max_trials), 'trial')} (Optuna's GP is chosen from "
                            f"{NUMPY_GP_BELOW_TRIALS} trials: it starts after 10 random ones)")
    if kinds["dimensions"] > GP_MAX_DIMENSIONS:
        return "gp+tpe", (f"a Gaussian process and TPE taking turns: {dims}, none "
                          f"conditional (the GP alone is chosen up to {GP_MAX_DIMENSIONS})")
    return "gp", f"Gaussian process: {dims}, none conditional"


class TakingTurns(optuna.samplers.BaseSampler):
    """Optuna samplers that take turns by trial number, each reading the whole history:
    trial i is suggested by ``samplers[i % len(samplers)]``.

    A portfolio that hedges between models of the objective: on the FCNet tables the
    Gaussian process alone was the best sampler on two tables and the worst on two, TPE
    alone the reverse; taking turns stayed close to the better of the two on each.
    """

    def __init__(self, samplers):
        self.samplers = list(samplers)

    def _turn(self, trial):
        return self.samplers[trial.number % len(self.samplers)]

    def infer_relative_search_space(self, study, trial):
        return self._turn(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self._turn(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._turn(trial).sample_independent(study, trial, param_name,
                                                    param_distribution)

    def before_trial(self, study, trial):
        self._turn(trial).before_trial(study, trial)

    def after_trial(self, study, trial, state, values):
        for sampler in self.samplers:
            sampler.after_trial(study, trial, state, values)

    def reseed_rng(self):
        for sampler in self.samplers:
            sampler.reseed_rng()


def make_sampler(name, seed, options=None):
    """An Optuna sampler by name, seeded from ``seed`` (a stream of its own)."""
    options = dict(options or {})
    for key in ("n_startup_trials", "n_ei_candidates"):  # R gives doubles
        if isinstance(options.get(key), float) and options[key].is_integer():
            options[key] = int(options[key])
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, **options)
    if name == "gp":
        require_gp()
        return optuna.samplers.GPSampler(seed=seed, **options)
    if name == "gp-numpy":
        from kerascraft.gp import NumpyGPSampler

        return NumpyGPSampler(seed=seed, **options)
    if name == "gp+tpe":  # options (n_startup_trials...) apply to both
        require_gp("this search, made with a Gaussian process and TPE taking turns,")
        return TakingTurns([optuna.samplers.GPSampler(seed=seed, **options),
                            optuna.samplers.TPESampler(seed=(seed + 1) % 2 ** 32, **options)])
    raise InputError(f"unknown sampler {name!r}; use one of: {', '.join(SAMPLERS)}.")


def stream_seed(seed, *salt) -> int:
    """A 32-bit seed drawn from ``seed`` (and ``salt``) by NumPy's SeedSequence.

    Nearby seeds give unrelated streams, unlike KerasTuner's ``seed + i`` per value.
    """
    return int(np.random.SeedSequence([int(seed), *map(int, salt)]).generate_state(1)[0])


@contextlib.contextmanager
def quiet_optuna():
    """Optuna logs each told trial at INFO; kerascraft prints its own progress line."""
    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        with warnings.catch_warnings():
            # "... is experimental" / independent-sampling notes about conditional spaces
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            warnings.filterwarnings("ignore", message=".*independent.*")
            # a shared search records its trials' heartbeats itself (kerascraft.storages)
            warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
            yield
    finally:
        logger.setLevel(level)


# -- the oracle ----------------------------------------------------------------------------
