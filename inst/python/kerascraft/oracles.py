"""Optuna's samplers (TPE, Gaussian process) as KerasTuner oracles, and the ``"auto"`` choice.

An :class:`OptunaOracle` is a KerasTuner ``Oracle``: trials, their files, resuming with
``overwrite=False``, retries and the chief/worker mode are KerasTuner's, unchanged. Only the
choice of the next configuration is Optuna's. The oracle keeps an in-memory Optuna study
that mirrors its trials: a finished trial is told to the study, and trials the study has
not seen (those of an earlier process, after a resume) are added to it from their files, so
the study is rebuilt from the trials alone and nothing else needs saving.

How KerasTuner's hyperparameters map to Optuna's distributions (:func:`distribution`):
``Float``/``Int`` without a step keep their range and log scale (``reverse_log`` is searched
on the linear scale: Optuna has no such scale); a stepped ``Int``/``Float`` becomes an
integer over the index of its values, so the samplers see the order (``units`` 16, 32, ...
512 are neighbours; a log step gives an evenly spaced index); a numeric ``Choice`` is
searched the same way by the Gaussian process and as categories by TPE (whose
per-category counts did better on the FCNet tables, BENCHMARKS.md); other choices and
``Boolean`` are categorical; ``Fixed`` is not searched. Conditional hyperparameters
(``conditional_scope``) are suggested only when active, as KerasTuner's own oracles do.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings

import keras_tuner as kt
import numpy as np
import optuna

_HP = kt.engine.hyperparameters

_RUNNING, _STOPPED = "RUNNING", "STOPPED"  # KerasTuner's TrialStatus values
#: suggestions that repeat a tried configuration before random ones are drawn instead
_MAX_REPEATS = 20

#: samplers an :class:`OptunaOracle` can use
SAMPLERS = ("tpe", "gp")

#: the ``"auto"`` rule's limit: a Gaussian process for spaces of at most this many
#: hyperparameters (the benchmark's spaces of 2 to 6 favoured it); TPE above, where a GP's
#: fit grows costly per suggestion (the 9 of the FCNet tables were searched with TPE)
GP_MAX_DIMENSIONS = 8


#: early stopping of unpromising trials (``pruning=True``): rungs at ``min_epochs`` x
#: ``factor`` ** k epochs (2, 6, 18, ...); at a rung a trial goes on only if its objective so
#: far is among the best 1/``factor`` of the trials that reached that rung (the best one
#: while fewer than ``factor`` did), as asynchronous successive halving (ASHA) does
PRUNING_DEFAULTS = {"min_epochs": 2, "factor": 3}


def pruning_settings(pruning) -> dict | None:
    """``pruning`` (``True``, ``False``/``None`` or a dict overriding
    :data:`PRUNING_DEFAULTS`) checked, as a dict or ``None``."""
    if pruning is None or pruning is False:
        return None
    settings = dict(PRUNING_DEFAULTS)
    if pruning is not True:
        if not isinstance(pruning, dict) or set(pruning) - set(PRUNING_DEFAULTS):
            raise ValueError("pruning must be TRUE/True, FALSE/False, or a dict with "
                             f"{' and '.join(PRUNING_DEFAULTS)}; got {pruning!r}.")
        settings.update(pruning)
    for name, low in (("min_epochs", 1), ("factor", 2)):
        value = settings[name]
        if isinstance(value, bool) or not float(value).is_integer() or value < low:
            raise ValueError(f"pruning {name} must be a whole number of at least {low}; "
                             f"got {value!r}.")
        settings[name] = int(value)
    return settings


def is_rung(epoch, settings) -> bool:
    """Whether ``epoch`` (1-based) is a rung: ``min_epochs`` x ``factor`` ** k."""
    rung = settings["min_epochs"]
    while rung < epoch:
        rung *= settings["factor"]
    return rung == epoch


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
            return _indexed(hp.values)
        return _Mapping(optuna.distributions.FloatDistribution(
            float(hp.min_value), float(hp.max_value), log=log), float, float)
    raise TypeError(f"hyperparameter {hp.name!r} of type {type(hp).__name__} is not one "
                    "KerasTuner defines (Int, Float, Choice, Boolean, Fixed).")


def _suggest(optuna_trial, name, dist):
    """Ask ``optuna_trial`` for ``name`` in ``dist`` through Optuna's public suggest API."""
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return optuna_trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, optuna.distributions.IntDistribution):
        return optuna_trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return optuna_trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def _contains(dist, value) -> bool:
    """Whether ``value`` (a saved trial's, perhaps from an older space) lies in ``dist``."""
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return value in dist.choices
    return dist.low <= value <= dist.high


def space_kinds(hyperparameters) -> dict:
    """How many hyperparameters a space searches, and how many of them are conditional."""
    searched = [hp for hp in hyperparameters.space if distribution(hp) is not None]
    return {"dimensions": len(searched),
            "conditional": sum(bool(hp.conditions) for hp in searched)}


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


def choose_sampler(hyperparameters) -> tuple[str, str]:
    """The ``"auto"`` rule: ``(sampler, why)``, decided from the search space.

    A Gaussian process for spaces of up to :data:`GP_MAX_DIMENSIONS` hyperparameters with
    no conditional one, when PyTorch is installed; TPE otherwise (conditional spaces are
    what its tree structure is for). The benchmark behind it is ``bench/search.py``
    (BENCHMARKS.md, "Search quality"): the GP was closest to the optimum on every such
    space there, at 60 trials, including the mixed space with a categorical optimizer.
    """
    kinds = space_kinds(hyperparameters)
    if kinds["conditional"]:
        return "tpe", (f"TPE: the space has "
                       f"{_count(kinds['conditional'], 'conditional hyperparameter')}")
    if kinds["dimensions"] > GP_MAX_DIMENSIONS:
        return "tpe", (f"TPE: {_count(kinds['dimensions'], 'hyperparameter')} (a Gaussian "
                       f"process is chosen up to {GP_MAX_DIMENSIONS})")
    if not gp_available():
        return "tpe", ("TPE: a Gaussian process would suit this space of "
                       f"{_count(kinds['dimensions'], 'hyperparameter')}, but it needs "
                       "PyTorch (pip install torch, or kerascraft[gp])")
    return "gp", f"Gaussian process: {_count(kinds['dimensions'], 'hyperparameter')}, none conditional"


def make_sampler(name, seed, options=None):
    """An Optuna sampler by name, seeded from ``seed`` (a stream of its own)."""
    options = dict(options or {})
    for key in ("n_startup_trials", "n_ei_candidates"):  # R gives doubles
        if isinstance(options.get(key), float) and options[key].is_integer():
            options[key] = int(options[key])
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, **options)
    if name == "gp":
        if not gp_available():
            raise ImportError(
                "tuner kind 'gp' (Optuna's Gaussian process) needs PyTorch, which is not "
                "installed. Install it (pip install torch; from R: "
                "reticulate::py_install('torch')), or use kind='tpe' or 'auto'.")
        return optuna.samplers.GPSampler(seed=seed, **options)
    raise ValueError(f"unknown sampler {name!r}; use one of: {', '.join(SAMPLERS)}.")


def stream_seed(seed, *salt) -> int:
    """A 32-bit seed drawn from ``seed`` (and ``salt``) by NumPy's SeedSequence.

    Nearby seeds give unrelated streams, unlike KerasTuner's ``seed + i`` per value.
    """
    return int(np.random.SeedSequence([int(seed), *map(int, salt)]).generate_state(1)[0])


@contextlib.contextmanager
def _quiet_optuna():
    """Optuna logs each told trial at INFO; kerascraft prints its own progress line."""
    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        with warnings.catch_warnings():
            # "... is experimental" / independent-sampling notes about conditional spaces
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            warnings.filterwarnings("ignore", message=".*independent.*")
            yield
    finally:
        logger.setLevel(level)


# -- the oracle ----------------------------------------------------------------------------

class OptunaOracle(kt.Oracle):
    """A KerasTuner oracle whose configurations come from an Optuna sampler.

    Args:
        sampler: ``"tpe"``, ``"gp"`` or ``"auto"`` (chosen by :func:`choose_sampler` when
            the first trial is created, kept when the search is resumed).
        sampler_options: keyword arguments of the Optuna sampler (``n_startup_trials``...).
        pruning: stop unpromising trials early (see :data:`PRUNING_DEFAULTS`).
        ordinal_choices: search numeric ``Choice`` values by index (``True``) or as
            categories (``False``); by default by index for the GP, as categories for TPE.
        The other arguments are those of ``keras_tuner.Oracle``.
    """

    def __init__(self, objective=None, max_trials=10, sampler="auto", sampler_options=None,
                 pruning=None, ordinal_choices=None, seed=None, hyperparameters=None,
                 allow_new_entries=True,
                 tune_new_entries=True, max_retries_per_trial=0,
                 max_consecutive_failed_trials=3):
        if sampler not in SAMPLERS + ("auto",):
            raise ValueError(f"unknown sampler {sampler!r}; use 'auto' or one of: "
                             f"{', '.join(SAMPLERS)}.")
        if sampler == "gp":
            make_sampler("gp", 0)  # says what to install now, not at the first trial
        super().__init__(objective=objective, max_trials=max_trials, seed=seed,
                         hyperparameters=hyperparameters,
                         allow_new_entries=allow_new_entries,
                         tune_new_entries=tune_new_entries,
                         max_retries_per_trial=max_retries_per_trial,
                         max_consecutive_failed_trials=max_consecutive_failed_trials)
        self.sampler = sampler
        self.sampler_options = dict(sampler_options or {})
        self.pruning = pruning_settings(pruning)
        self.ordinal_choices = ordinal_choices
        self.pruned = {}    # trial_id -> the epoch (1-based) at which it was stopped
        self.epochs = None  # the search's epochs (set by the tuner): no pruning at the last
        self.chosen_sampler = None if sampler == "auto" else sampler
        self.choice_reason = None if sampler == "auto" else "chosen by the user"
        self._study = None
        self._asked = {}    # trial_id -> Optuna trial number, asked by this process
        self._in_study = set()  # trial_ids the study knows as finished

    # state: only the choice; trials come from their own files
    def get_state(self):
        state = super().get_state()
        state.update(sampler=self.sampler, chosen_sampler=self.chosen_sampler,
                     choice_reason=self.choice_reason, pruned=self.pruned)
        return state

    def set_state(self, state):
        super().set_state(state)
        self.chosen_sampler = state.get("chosen_sampler", self.chosen_sampler)
        self.choice_reason = state.get("choice_reason", self.choice_reason)
        self.pruned = dict(state.get("pruned", {}))
        self._study = None  # rebuilt from the trials at the next suggestion
        self._asked, self._in_study = {}, set()

    def decide(self):
        """Fix the sampler (for ``"auto"``, from the space); returns the reason."""
        if self.chosen_sampler is None:
            self.chosen_sampler, self.choice_reason = choose_sampler(self.hyperparameters)
        return self.choice_reason

    def _mappings(self):
        ordinal = self.ordinal_choices
        if ordinal is None:
            self.decide()
            ordinal = self.chosen_sampler == "gp"
        return {hp.name: m for hp in self.hyperparameters.space
                if (m := distribution(hp, ordinal)) is not None}

    def _new_study(self):
        self.decide()
        direction = "maximize" if self.objective.direction == "max" else "minimize"
        # a resumed search draws a fresh stream: it must not repeat its first suggestions
        seed = stream_seed(self.seed, len(self.trials))
        sampler = make_sampler(self.chosen_sampler, seed, self.sampler_options)
        self._asked, self._in_study = {}, set()
        return optuna.create_study(direction=direction, sampler=sampler)

    def _known(self, trial, mappings):
        """A finished KerasTuner trial as an Optuna trial (its active values only)."""
        values = trial.hyperparameters.values
        params, dists = {}, {}
        for hp in self.hyperparameters.space:
            m = mappings.get(hp.name)
            if m is None or hp.name not in values or not trial.hyperparameters.is_active(hp):
                continue
            internal = m.to_internal(values[hp.name])
            if _contains(m.dist, internal):
                params[hp.name], dists[hp.name] = internal, m.dist
        return optuna.trial.create_trial(params=params, distributions=dists,
                                         value=float(trial.score))

    def _sync(self):
        """Tell the study every trial that finished since the last suggestion."""
        if self._study is None:
            self._study = self._new_study()
        mappings = self._mappings()
        for trial_id, trial in self.trials.items():
            if trial_id in self._in_study or trial.status not in ("COMPLETED", "FAILED"):
                continue
            score = trial.score
            ok = trial.status == "COMPLETED" and score is not None and math.isfinite(score)
            if trial_id in self._asked:
                number = self._asked.pop(trial_id)
                if ok:
                    self._study.tell(number, float(score))
                else:
                    self._study.tell(number, state=optuna.trial.TrialState.FAIL)
            elif ok:
                self._study.add_trial(self._known(trial, mappings))
            self._in_study.add(trial_id)
        return mappings

    @kt.synchronized
    def update_trial(self, trial_id, metrics, step=0):
        """Record a trial's metrics; with pruning, stop it at a rung where it is behind."""
        trial = super().update_trial(trial_id, metrics, step)
        epoch = int(step) + 1
        last = self.epochs is not None and epoch >= self.epochs
        if self.pruning and not last and is_rung(epoch, self.pruning) and \
                self._behind(trial, step):
            self.pruned[trial_id] = epoch
            trial.status = _STOPPED  # KerasTuner's signal to stop (read by OptunaTuner)
        return trial

    def _value_at(self, trial, step):
        """The trial's best objective value up to ``step``, or ``None`` if it did not
        train that long."""
        name = self.objective.name
        if not trial.metrics.exists(name):
            return None
        history = [o for o in trial.metrics.get_history(name) if o.step <= step]
        if not history or max(o.step for o in trial.metrics.get_history(name)) < step:
            return None
        values = [float(np.mean(o.value)) for o in history]
        return max(values) if self.objective.direction == "max" else min(values)

    def _behind(self, trial, step):
        """Whether ``trial`` is outside the best 1/factor at this rung."""
        sign = -1.0 if self.objective.direction == "max" else 1.0
        mine = self._value_at(trial, step)
        if mine is None:
            return False
        rivals = [v for t in self.trials.values() if t.trial_id != trial.trial_id
                  and (v := self._value_at(t, step)) is not None]
        values = sorted(sign * v for v in rivals + [mine])
        keep = max(1, len(values) // self.pruning["factor"])
        return sign * mine > values[keep - 1]

    @kt.synchronized
    def end_trial(self, trial):
        super().end_trial(trial)
        if self._study is not None:  # the sampler learns the result now, not at the next ask
            with _quiet_optuna():
                self._sync()

    def _ask(self, mappings):
        """One configuration from the sampler: ``(values, Optuna trial)``."""
        optuna_trial = self._study.ask()
        hps = _HP.HyperParameters()
        for hp in self.hyperparameters.space:
            hps.merge([hp])
            if not hps.is_active(hp):
                continue
            m = mappings.get(hp.name)
            if m is None:
                hps.values[hp.name] = hp.default
            else:
                hps.values[hp.name] = m.to_value(_suggest(optuna_trial, hp.name, m.dist))
        return hps.values, optuna_trial

    def populate_space(self, trial_id):
        with _quiet_optuna():
            mappings = self._sync()
            if not mappings:  # nothing to search: KerasTuner's defaults
                return {"status": _RUNNING, "values": self.hyperparameters.values}
            sampler = self._study.sampler
            try:
                for attempt in range(2 * _MAX_REPEATS):
                    if attempt == _MAX_REPEATS:  # the sampler keeps repeating itself
                        self._study.sampler = optuna.samplers.RandomSampler(
                            seed=stream_seed(self.seed, len(self.trials), attempt))
                    values, optuna_trial = self._ask(mappings)
                    twin = self._twin(values)
                    if twin is None:
                        self._asked[trial_id] = optuna_trial.number
                        return {"status": _RUNNING, "values": values}
                    # a configuration already tried: the sampler learns its score again
                    if twin.score is not None and math.isfinite(twin.score):
                        self._study.tell(optuna_trial, float(twin.score))
                    else:
                        self._study.tell(optuna_trial, state=optuna.trial.TrialState.FAIL)
            finally:
                self._study.sampler = sampler
        # as KerasTuner's oracles: a space with nothing left untried ends the search
        return {"status": _STOPPED, "values": None}

    def _twin(self, values):
        """The earlier trial with these values, if any."""
        for trial in self.trials.values():
            if trial.hyperparameters.values == values:
                return trial
        return None


# -- the tuner --------------------------------------------------------------------------

class OptunaTuner(kt.Tuner):
    """KerasTuner's ``Tuner`` on an :class:`OptunaOracle`; the subclasses fix the sampler."""

    SAMPLER = "auto"

    def __init__(self, hypermodel=None, objective=None, max_trials=10, seed=None,
                 sampler_options=None, pruning=None, ordinal_choices=None,
                 hyperparameters=None, tune_new_entries=True, allow_new_entries=True,
                 max_retries_per_trial=0, max_consecutive_failed_trials=3, **kwargs):
        oracle = OptunaOracle(
            objective=objective, max_trials=max_trials, sampler=self.SAMPLER,
            sampler_options=sampler_options, pruning=pruning,
            ordinal_choices=ordinal_choices, seed=seed,
            hyperparameters=hyperparameters, tune_new_entries=tune_new_entries,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials)
        super().__init__(oracle=oracle, hypermodel=hypermodel, **kwargs)
        # kept on the tuner too: a distributed worker's oracle is the chief's, over gRPC
        self.pruning = oracle.pruning
        if self.pruning and self.executions_per_trial != 1:
            raise ValueError("pruning compares trials epoch by epoch, which needs "
                             "executions_per_trial=1.")

    def search(self, *fit_args, **fit_kwargs):
        if isinstance(self.oracle, OptunaOracle):  # not on a worker (its oracle is the chief's)
            self.oracle.epochs = fit_kwargs.get("epochs")
        return super().search(*fit_args, **fit_kwargs)

    def on_epoch_end(self, trial, model, epoch, logs=None):
        """With pruning: report the epoch to the oracle, and stop when it says so."""
        super().on_epoch_end(trial, model, epoch, logs=logs)
        if not self.pruning or not logs or self.oracle.objective.name not in logs:
            return
        metrics = {k: float(v) for k, v in logs.items()}
        if self.oracle.update_trial(trial.trial_id, metrics, step=epoch).status == _STOPPED:
            model.stop_training = True


class AutoSearch(OptunaTuner):
    """TPE or a Gaussian process, chosen from the search space (:func:`choose_sampler`)."""

    SAMPLER = "auto"


class TPESearch(OptunaTuner):
    """Optuna's Tree-structured Parzen Estimator."""

    SAMPLER = "tpe"


class GPSearch(OptunaTuner):
    """Optuna's Gaussian-process sampler (needs PyTorch)."""

    SAMPLER = "gp"
