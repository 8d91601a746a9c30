"""Hyperparameter search on KerasTuner's oracles, with results a user can read.

kerascraft's tuners are KerasTuner's own classes with a thin layer on top: training data is
converted once (see :mod:`kerascraft.data`), each trial's wall time is recorded next to the
trial's files (so it survives a resumed search), and one line per finished trial reports
progress. Everything else -- oracles, checkpoints, resuming with ``overwrite=False`` -- is
KerasTuner's.
"""

from __future__ import annotations

import contextlib
import difflib
import glob
import json
import logging
import math
import os
import re
import sys
import time

import keras
import keras_tuner as kt
import numpy as np

from kerascraft import budget, memory, oracles, samplers
from kerascraft import log as kc_log
from kerascraft import storages as kc_storage
from kerascraft.compat import keras as compat_keras
from kerascraft.compat import keras_tuner as compat_kt
from kerascraft.data import prepare_fit_data
from kerascraft.direction import Direction
from kerascraft.distributed import STARTED_ENV
from kerascraft.errors import InputError, InputTypeError
from kerascraft.trials import ATTEMPT_FILE, FINISHED, TIMING_FILE, TrialStatus, last_line

log = logging.getLogger(__name__)



def _max_retries() -> int:
    """How often a trial whose process died is run again (``KERASCRAFT_MAX_RETRIES``)."""
    return int(os.environ.get("KERASCRAFT_MAX_RETRIES", "1"))


def _is_distributed_worker() -> bool:
    """A worker of KerasTuner's distributed mode (its oracle lives in the chief)."""
    return "KERASTUNER_ORACLE_IP" in os.environ and \
        "chief" not in os.environ.get("KERASTUNER_TUNER_ID", "")


def _search_started():
    """When a distributed search began, on this process's ``time.monotonic()`` clock
    (``None``: now, the usual case)."""
    began = os.environ.get(STARTED_ENV)
    if not began or not _is_distributed_worker():
        return None
    try:
        return time.monotonic() - max(0.0, time.time() - float(began))
    except ValueError:
        return None


class FatalInputError(InputError, kt.errors.FatalError):
    """A user's mistake found inside a search: KerasTuner stops the search at once (its
    ``FatalError``) instead of failing trial after trial, and R shows it as a
    ``kerascraft_input_error``."""


class FatalInputTypeError(InputTypeError, kt.errors.FatalTypeError):
    """A search's input of the wrong kind (a build function that returns no Keras model)."""


class _OutOfTime(Exception):
    """Raised before a trial is made when it is predicted not to end within the time
    limit: ends KerasTuner's search loop (caught in ``search()``), no trial left open."""


class _Stalled(Exception):
    """Raised before a trial is made when the search is told to stop early and the trials
    since its best one took their share of the budget (:func:`kerascraft.budget.stalled`)."""


class _KerascraftTunerMixin(compat_kt.BuildHooks):
    """Hooks added to each KerasTuner tuner class; the search loop itself is untouched."""

    def __init__(self, hypermodel=None, *args, **kwargs):
        # KerasTuner refuses a tuner without a hypermodel unless its class defines
        # run_trial(); kerascraft's run_trial() is a hook, not a search space
        if hypermodel is None and type(self).run_trial is _KerascraftTunerMixin.run_trial:
            raise InputError(
                "Received `hypermodel=None`: give a build function or a "
                "keras_tuner.HyperModel, or subclass the tuner and define run_trial() to "
                "build the search space there.")
        super().__init__(hypermodel, *args, **kwargs)

    def search(self, *fit_args, time_limit=None, stop_early=None, **fit_kwargs):
        """Run the search; arguments are those of ``Model.fit``, ``time_limit`` and
        ``stop_early``.

        In-memory data is converted to float32 (integer labels kept) and checked for NaN/Inf
        before the first trial. ``verbose`` sets what is printed: ``0`` nothing, ``1`` (the
        default) one line per finished trial, ``2`` also KerasTuner's trial report and one
        line per epoch.

        ``time_limit`` (seconds): the search ends within it, give or take one epoch. A
        trial starts only when the median of the finished trials' seconds says it ends in
        time; the trial running when the time is up stops at the end of an epoch and keeps
        its best epoch (its progress line says where it stopped). Finished trials are kept:
        a search resumed with a new limit continues. ``search_ended`` then says what the
        limit left out.

        ``stop_early``: ``True`` stops the search when more time buys nothing: once 5 trials
        have finished and those since the best one took half the budget
        (:data:`kerascraft.budget.STALL_SHARE`; a number between 0 and 1 sets another
        share). The budget is the time the search may take under ``time_limit``, or else
        ``max_trials`` times the median trial's seconds. ``search_ended`` says so. Off by
        default: on the benchmark's tables later trials often still found better
        configurations (BENCHMARKS.md).
        """
        deadline = budget.Deadline.of(time_limit, started=_search_started())
        self._kc_stall_share = budget.stall_share(stop_early)
        given = min(2, len(fit_args))  # x and y by position
        has_x, has_y = given > 0 or "x" in fit_kwargs, given > 1 or "y" in fit_kwargs
        x = fit_args[0] if given > 0 else fit_kwargs.pop("x", None)
        y = fit_args[1] if given > 1 else fit_kwargs.pop("y", None)
        fit_args = list(fit_args[given:])
        x, y, validation_data = prepare_fit_data(x, y, fit_kwargs.get("validation_data"))
        # passed on as given: a run_trial or HyperModel.fit of the user's takes what the
        # search was given, no None in place of an x or y it was not
        data = [x, y] if has_y else [x] if has_x else []
        if "validation_data" in fit_kwargs:
            fit_kwargs["validation_data"] = validation_data
        verbose = int(fit_kwargs.get("verbose", 1))
        fit_kwargs["verbose"] = 2 if verbose >= 2 else 0
        # a loss that turns NaN ends the trial at once (it is then recorded as failed)
        callbacks = list(fit_kwargs.get("callbacks") or [])
        if not any(isinstance(c, keras.callbacks.TerminateOnNaN) for c in callbacks):
            callbacks.append(keras.callbacks.TerminateOnNaN())
        self._kc_deadline = deadline
        self._kc_clock = budget.epoch_clock(deadline)  # epochs per trial; stops at the limit
        callbacks.append(self._kc_clock)
        fit_kwargs["callbacks"] = callbacks
        self._kc_search_started = time.monotonic()
        self._kc_labels = y  # checked against the first model's loss and outputs
        self.search_ended = None
        self._kc_epochs = fit_kwargs.get("epochs")
        with kc_log.progress(verbose, deadline=deadline), \
                memory.collections_skip_older_objects():
            if isinstance(self.oracle, oracles.OptunaOracle):
                log.info(f"search: {self.oracle.decide()}")
                if self.oracle.shared:
                    log.info(f"search: shared through {self.oracle.storage_description()} "
                             f"(study {self.oracle.study_name!r}) as worker {self.tuner_id!r}")
            try:
                result = super().search(*data, *fit_args, **fit_kwargs)
            except _OutOfTime as out:
                self.on_search_end()
                result = None
                self._out_of_time(str(out))
            except _Stalled as why:
                self.on_search_end()
                result = None
                self.search_ended = f"stopped early: {why}"
                log.info(f"search: {self.search_ended}")
            else:
                self._report_early_end()
        return result

    def pre_create_trial(self):
        """With a time limit: no trial starts that is predicted not to end in time. Told to
        stop early: none starts once more time has bought nothing."""
        super().pre_create_trial()
        deadline = getattr(self, "_kc_deadline", None)
        share = getattr(self, "_kc_stall_share", None)
        if deadline is None and not share:
            return
        # a trial of this tuner's left running (resumed) goes on whatever the prediction;
        # a distributed worker's oracle client knows none (the chief hands it back)
        if getattr(self.oracle, "ongoing_trials", {}).get(self.tuner_id):
            return
        records = finished_records(self)  # read once: a worker reads them from files
        seconds = budget.predicted(trial_seconds(self, records))
        if share and not _is_distributed_worker():  # a worker's oracle knows only its own
            if deadline is not None:
                window = time.monotonic() - self._kc_search_started + deadline.usable()
            else:
                max_trials = getattr(self.oracle, "max_trials", None)
                window = max_trials * seconds if max_trials and seconds else None
            why = budget.stalled(_finished_in_order(self), window, share=share,
                                 direction=Direction.of(self.oracle.objective).value)
            if why:
                raise _Stalled(why)
        if deadline is None:
            return
        expect = getattr(self.oracle, "expect_trials", None)
        if expect is not None and seconds:
            said = expect(len(records) + int(deadline.usable() // seconds))
            if said:
                log.info(f"search: {said}")
        if not deadline.fits(seconds):
            left = max(0.0, deadline.usable())
            why = ("the time limit is used up" if seconds is None else
                   f"the next would take about {seconds:.0f}s, the median trial's time, "
                   f"with {left:.0f}s left")
            raise _OutOfTime(why)

    def _out_of_time(self, why):
        """Say what the time limit cut; refuse a limit too short for any trial."""
        done = len(finished_records(self))
        max_trials = getattr(self.oracle, "max_trials", None)
        not_run = f", {max_trials - done} of max_trials={max_trials} not run" \
            if max_trials and max_trials > done else ""
        self.search_ended = f"time limit: trials finished {done}{not_run} ({why})"
        log.info(f"search: {self.search_ended}")
        if done == 0:
            deadline = self._kc_deadline
            raise InputError(
                f"time_limit={deadline.limit:g}s is too short for a trial: "
                f"{deadline.elapsed():.0f}s had passed before the first one could start "
                f"({why}). Give a longer limit.")

    def _first_epoch_too_long(self, epochs):
        """The first trial stopped by the limit after its first epoch: too short a limit
        for the search to learn anything; the error names the shortest useful one."""
        seconds = time.monotonic() - self._kc_trial_started
        deadline = self._kc_deadline
        useful = deadline.elapsed() - seconds + seconds * min(10, max(1, int(epochs or 1)))
        raise InputError(
            f"time_limit={deadline.limit:g}s is too short: the first trial was stopped after "
            f"its first epoch, which took {seconds:.1f}s (building and compiling the model "
            f"included). The shortest useful limit is about {_round_up(useful)}s (ten "
            f"epochs at that pace), and a search of several trials needs several times "
            f"that. The trial is kept in {self.project_dir!r}: a search resumed with a "
            "longer limit goes on from it.")

    def _report_early_end(self):
        """Say so when the oracle stopped before the budget (search space exhausted)."""
        if _is_distributed_worker() or getattr(self.oracle, "shared", False):
            return  # only the chief's oracle, or the storage, knows every trial
        max_trials = getattr(self.oracle, "max_trials", None)
        done = sum(t.status in FINISHED for t in self.oracle.trials.values())
        if max_trials and done < max_trials and isinstance(self.oracle, _SPACE_LIMITED):
            log.info(
                f"search stopped after {done} of max_trials={max_trials} trials: the search "
                f"space has no configuration left that was not tried. Widen the ranges or "
                f"lower max_trials.")

    # the build hooks (compat.keras_tuner.BuildHooks calls them from KerasTuner's own steps)
    def kc_before_clear(self):
        """KerasTuner clears the Keras session before each build, and with it the dtype
        policy and distribution: kept here, given back in :meth:`kc_before_build`."""
        self._kc_session = memory.session_settings()

    def kc_before_build(self):
        memory.restore_session_settings(getattr(self, "_kc_session", None))

    def kc_check_model(self, model):
        """The build function's model, checked before KerasTuner's own checks: a Keras
        model, compiled, whose loss and outputs fit the labels of the search."""
        if not isinstance(model, keras.Model):
            raise FatalInputTypeError(
                "Expected the model-building function (or HyperModel.build()) to return a "
                f"Keras model; it returned {model!r} of type {type(model).__name__}. End it with "
                "`return model` (in R: with `model`; an R function returns the value of "
                "its last expression, and model$compile() returns NULL).")
        if not getattr(model, "compiled", True):
            raise FatalInputError(
                "the model-building function returned a model that is not compiled: call "
                "model.compile(optimizer=..., loss=..., metrics=[...]) before returning it.")
        labels, self._kc_labels = getattr(self, "_kc_labels", None), None
        problem = label_problem(model, labels) if labels is not None else None
        if problem:
            raise FatalInputError(problem)
        return model

    def kc_built(self, model):
        """The model KerasTuner built and accepted, ready to train."""
        return compat_keras.build_before_tracing(model)

    def run_trial(self, trial, *args, **kwargs):
        retries = getattr(self, "_kc_retries", 0)
        if retries > _max_retries():
            raise kt.errors.FailedTrialError(
                f"the process running this trial died {retries} times (killed or crashed, "
                f"e.g. out of memory); not retried again (KERASCRAFT_MAX_RETRIES="
                f"{_max_retries()}).")
        with memory.releasing_compiled_functions():
            results = super().run_trial(trial, *args, **kwargs)
        histories = results if isinstance(results, list) else [results]
        for history in histories:
            logs = getattr(history, "history", None)
            if not isinstance(logs, dict):
                continue
            _check_objective_logged(self.oracle.objective, logs)
            for name, values in logs.items():
                if any(v is None or not math.isfinite(v) for v in values):
                    raise kt.errors.FailedTrialError(
                        f"{name} became NaN or infinite at epoch {len(values)}: lower the "
                        "learning rate, scale the inputs, or check the labels.")
        return results

    def on_trial_begin(self, trial):
        self._kc_trial_started = time.monotonic()
        if getattr(self, "_kc_clock", None) is not None:  # a trial that trains no model
            self._kc_clock.epochs, self._kc_clock.stopped_at = 0, None
            self._kc_clock.doing = _trial_name(self, trial, ongoing=True)
        # a marker that lives while the trial runs: found at the start of a trial, it says
        # an earlier attempt's process died in it (KerasTuner hands the same trial back)
        trial_dir = self.get_trial_dir(trial.trial_id)
        os.makedirs(trial_dir, exist_ok=True)
        marker = os.path.join(trial_dir, ATTEMPT_FILE)
        try:
            with open(marker) as f:
                self._kc_retries = int(json.load(f)["attempt"])
        except (OSError, ValueError, KeyError):
            self._kc_retries = 0
        with open(marker, "w") as f:
            json.dump({"attempt": self._kc_retries + 1, "tuner_id": self.tuner_id}, f)
        super().on_trial_begin(trial)

    def on_trial_end(self, trial):
        seconds = time.monotonic() - getattr(self, "_kc_trial_started", time.monotonic())
        trial_dir = self.get_trial_dir(trial.trial_id)
        os.makedirs(trial_dir, exist_ok=True)
        clock = getattr(self, "_kc_clock", None)
        stopped_at = clock.stopped_at if clock is not None else None
        epochs = clock.epochs if clock is not None and clock.epochs else None
        epoch_seconds = clock.epoch_seconds if epochs else None
        with open(os.path.join(trial_dir, TIMING_FILE), "w") as f:
            # the error too: KerasTuner's gRPC messages drop a worker's trial message
            json.dump({"seconds": seconds, "retries": getattr(self, "_kc_retries", 0),
                       "error": last_line(trial.message) if trial.status == TrialStatus.FAILED else None,
                       "epochs": epochs, "epoch_seconds": epoch_seconds,
                       "stopped_at": stopped_at}, f)
        with contextlib.suppress(OSError):
            os.remove(os.path.join(trial_dir, ATTEMPT_FILE))
        super().on_trial_end(trial)
        log.info(_progress_line(self, trial, seconds, stopped_at))
        if stopped_at == 1 and not set(finished_records(self)) - {trial.trial_id}:
            self._first_epoch_too_long(self._kc_epochs)
        self._kc_trials_done = getattr(self, "_kc_trials_done", 0) + 1
        limit = int(os.environ.get("KERASCRAFT_TRIALS_PER_PROCESS", "0"))
        if limit and _is_distributed_worker() and self._kc_trials_done >= limit:
            # a fresh process for the next trials (kerascraft's launcher starts it): hands
            # back whatever the process kept of its trials. The trial is ended and saved;
            # a hard exit also works when R hosts this Python.
            sys.stdout.flush()
            sys.stderr.flush()
            from kerascraft.distributed import RECYCLE_EXIT_CODE

            os._exit(RECYCLE_EXIT_CODE)


def _loss_name(loss) -> str:
    if isinstance(loss, str):
        return loss
    return str(getattr(loss, "name", None) or getattr(loss, "__name__", "") or "")


def label_problem(model, y):
    """Why labels ``y`` do not fit ``model``'s loss and outputs, or None when they do.

    Checks the usual losses: sparse categorical cross-entropy needs class indices
    0..k-1 for k outputs, categorical cross-entropy one-hot rows of length k, binary
    cross-entropy values in [0, 1].
    """
    if not isinstance(y, np.ndarray) or y.size == 0 or not model.outputs:
        return None
    name = _loss_name(model.loss).lower()
    units = model.outputs[0].shape[-1]
    if "sparse_categorical_crossentropy" in name:
        if y.ndim == 2 and y.shape[1] == units and units > 1:
            return (f"y has shape {y.shape}, like one-hot labels, but the loss is "
                    "sparse_categorical_crossentropy, which takes class indices: use "
                    "categorical_crossentropy, or pass the class indices.")
        if not np.all(np.equal(np.mod(y, 1), 0)):
            return ("sparse_categorical_crossentropy needs whole-number class labels; y has "
                    "fractions. Use a regression loss, or pass class indices.")
        low, high = int(np.min(y)), int(np.max(y))
        if low < 0 or high >= units:
            return (f"y has labels from {low} to {high}, but the model has {units} outputs: "
                    f"sparse_categorical_crossentropy needs labels 0 to {units - 1}. "
                    "(1-based labels, as R's factor codes are: subtract 1; or give the last "
                    f"layer {high + 1} units.)")
    elif "categorical_crossentropy" in name:
        if y.ndim < 2 or y.shape[-1] != units:
            return (f"categorical_crossentropy needs one-hot labels of shape (n, {units}); y "
                    f"has shape {y.shape}. For class indices use "
                    "sparse_categorical_crossentropy.")
    elif "binary_crossentropy" in name:
        if np.min(y) < 0 or np.max(y) > 1:
            return (f"binary_crossentropy needs labels in [0, 1]; y runs from {np.min(y):g} "
                    f"to {np.max(y):g}.")
    return None


def _check_objective_logged(objective, logs):
    """Stop the whole search (not one trial at a time) when training does not log the
    objective."""
    names = [o.name for o in getattr(objective, "objectives", [objective])]
    missing = [n for n in names if n not in logs]
    if missing:
        hint = ""
        if any(n.startswith("val_") for n in missing) and not any(
                k.startswith("val_") for k in logs):
            hint = " No validation metrics were logged: pass validation_data to search()."
        raise FatalInputError(
            f"the objective {', '.join(repr(m) for m in missing)} is not among the metrics "
            f"that training produced: {', '.join(sorted(logs))}.{hint} Use one of those, or "
            "add the metric to compile(metrics=[...]).")


def finished_records(tuner) -> dict:
    """``{trial_id: record}`` of the search's finished trials, the record being what
    :meth:`Tuner.on_trial_end` wrote (:func:`~kerascraft.trials.trial_record`).

    A distributed worker's oracle (a client of the chief's) knows no trials: there the
    records are read from the search's directory, which the chief and the workers share,
    so a worker predicts from every worker's trials, a fresh process's too."""
    from kerascraft.trials import trial_record

    trials = getattr(tuner.oracle, "trials", None)
    if trials is not None:
        return {t.trial_id: trial_record(tuner, t.trial_id)
                for t in trials.values() if t.status in FINISHED}
    out = {}
    for path in glob.glob(os.path.join(glob.escape(tuner.project_dir), "trial_*", TIMING_FILE)):
        trial_id = os.path.basename(os.path.dirname(path))[len("trial_"):]
        out[trial_id] = trial_record(tuner, trial_id)
    return out


def trial_seconds(tuner, records=None) -> list:
    """The seconds of the search's trials that ran to their end (neither stopped by a time
    limit nor pruned; all finished ones while there are none such), from the files each
    trial keeps, so a resumed search predicts from its earlier trials too. ``records``:
    :func:`finished_records`, when the caller has read them already."""
    pruned = getattr(tuner.oracle, "pruned", {})
    whole, some = [], []
    records = finished_records(tuner) if records is None else records
    for trial_id, record in records.items():
        if record.get("seconds") is None:
            continue
        some.append(record["seconds"])
        if not record.get("stopped_at") and trial_id not in pruned:
            whole.append(record["seconds"])
    return whole or some


def _finished_in_order(tuner) -> list:
    """``(seconds, score)`` of the search's finished trials in trial order; a failed or
    pruned trial's score is ``None`` (its time was spent, it is no better score)."""
    from kerascraft.trials import in_trial_order, trial_record

    pruned = getattr(tuner.oracle, "pruned", {})
    out = []
    for t in in_trial_order(tuner.oracle.trials.values()):
        if t.status not in FINISHED:
            continue
        seconds = trial_record(tuner, t.trial_id).get("seconds") or 0.0
        score = None if t.trial_id in pruned or t.status != TrialStatus.COMPLETED else t.score
        out.append((seconds, score))
    return out


def _round_up(seconds) -> int:
    """A limit to suggest: ``seconds`` rounded up to 10 s (to a minute from 2 minutes)."""
    step = 60 if seconds >= 120 else 10
    return int(math.ceil(seconds / step) * step)


def _trial_name(tuner, trial, ongoing=False):
    """``trial 3/10`` (the third to finish; ``ongoing``: the one after the finished ones),
    or on a distributed worker, whose chief (or storage) counts, ``worker0: trial 07``."""
    oracle = tuner.oracle
    if _is_distributed_worker() or getattr(oracle, "shared", False):
        return f"{tuner.tuner_id}: trial {trial.trial_id}"
    done = sum(t.status in FINISHED for t in oracle.trials.values()) + bool(ongoing)
    max_trials = getattr(oracle, "max_trials", None)
    return f"trial {done}" + (f"/{max_trials}" if max_trials else "")


def _progress_line(tuner, trial, seconds, stopped_at=None):
    oracle = tuner.oracle
    head = _trial_name(tuner, trial)
    trial = oracle.get_trial(trial.trial_id)
    score = "failed" if trial.score is None else f"{oracle.objective.name}={trial.score:.4g}"
    pruned = getattr(oracle, "pruned", {}).get(trial.trial_id)
    if pruned:
        score += f" (pruned at epoch {pruned})"
    if stopped_at:
        score += f" (stopped at epoch {stopped_at} by the time limit)"
    best = oracle.get_best_trials(1)
    best_txt = f", best {best[0].score:.4g}" if best and best[0].score is not None else ""
    total = time.monotonic() - getattr(tuner, "_kc_search_started", time.monotonic())
    return f"{head}: {score}{best_txt} ({seconds:.1f}s, {total:.0f}s in all)"


# oracles that stop early when every configuration of the space has been tried
_SPACE_LIMITED = (kt.oracles.RandomSearchOracle, kt.oracles.BayesianOptimizationOracle,
                  kt.oracles.GridSearchOracle, oracles.OptunaOracle)


def _with_hooks(base):
    return type(base.__name__, (_KerascraftTunerMixin, base), {"__module__": __name__,
                                                              "__doc__": base.__doc__})


#: kind accepted by :func:`tuner` -> tuner class (KerasTuner's, with kerascraft's hooks)
#: the kinds whose oracle is kerascraft's :class:`~kerascraft.oracles.OptunaOracle`
OPTUNA_KINDS = ("auto", "tpe", "gp", "gp-numpy")
TUNER_KINDS = {
    "auto": _with_hooks(oracles.AutoSearch),
    "tpe": _with_hooks(oracles.TPESearch),
    "gp": _with_hooks(oracles.GPSearch),
    "gp-numpy": _with_hooks(oracles.NumpyGPSearch),
    "random": _with_hooks(kt.RandomSearch),
    "bayesian": _with_hooks(kt.BayesianOptimization),
    "hyperband": _with_hooks(kt.Hyperband),
    "grid": _with_hooks(kt.GridSearch),
}


def objective(name: str, direction: str) -> kt.Objective:
    """An objective with an explicit direction, for metrics KerasTuner cannot guess.

    Args:
        name: the metric as ``fit()`` logs it, e.g. ``"val_auc"``.
        direction: ``"min"`` or ``"max"``.
    """
    direction = Direction.of(direction).value
    if not isinstance(name, str) or not name:
        raise InputError("objective name must be a non-empty string such as 'val_accuracy'.")
    return kt.Objective(name, direction)


def check_kind(kind):
    """Refuse a tuner kind kerascraft does not have, listing those it has."""
    if kind not in TUNER_KINDS:
        raise InputError(f"unknown tuner kind {kind!r}; use one of: {', '.join(TUNER_KINDS)}.")


def tuner(
    kind,
    hypermodel,
    objective="val_loss",
    max_trials=None,
    executions_per_trial=1,
    directory="kerascraft_tuning",
    project_name=None,
    overwrite=False,
    **kwargs,
):
    """Make a KerasTuner tuner.

    Args:
        kind: ``"auto"`` (the default of R's ``tuner()`` and of ``craft()``: TPE for
            conditional spaces; otherwise kerascraft's own Gaussian process on NumPy and
            SciPy, which starts modelling after 3 random trials, for budgets under 30
            trials or without PyTorch, and Optuna's Gaussian process (the GP and TPE taking
            turns above 8 hyperparameters) from 30 trials with PyTorch; the search says
            which and why), ``"tpe"``, ``"gp"``, ``"gp-numpy"`` (Optuna's TPE and Gaussian
            process, which needs PyTorch, and kerascraft's), or KerasTuner's
            ``"random"``, ``"bayesian"``, ``"hyperband"``, ``"grid"``.
        hypermodel: a function ``build(hp) -> compiled keras.Model`` or a
            ``keras_tuner.HyperModel`` instance.
        objective: metric name (direction inferred as KerasTuner does), a
            :func:`objective`, or a list of them.
        max_trials: trial budget (random, bayesian: default 10; grid: default the whole
            grid). Hyperband sizes itself from ``max_epochs`` and ``factor`` instead.
        executions_per_trial: models trained per configuration (averaged).
        directory: where trials are saved.
        project_name: sub-folder of ``directory``; defaults to ``kind``. With
            ``overwrite=False`` an existing project is resumed: finished trials are kept.
        overwrite: start afresh, deleting the project's earlier trials.
        **kwargs: the oracle's own options (``seed``, ``num_initial_points``, ``max_epochs``,
            ``factor``, ``max_consecutive_failed_trials``, for the Optuna kinds
            ``sampler_options``: the Optuna sampler's own arguments, and ``pruning``:
            ``True`` or a dict of :data:`kerascraft.samplers.PRUNING_DEFAULTS` to stop
            trials that are behind the best third at epochs 2, 6, 18, ..., shown as
            ``"PRUNED"`` in :func:`results`, and ``defaults_first``: the first trial is
            the space's default values, and ``storage``: see below) and Tuner options.
            A ``seed`` starts a random stream of its own: seeds 1 and 2 give unrelated
            searches (KerasTuner alone seeds value *i* with ``seed + i``).
            ``storage`` (the Optuna kinds): a database URL (``postgresql://...``,
            ``sqlite:///...``), a journal file's path, or :func:`kerascraft.storages.storage`'s
            result: the search is shared through it, and processes on any machine that
            build the same tuner (``python -m kerascraft worker``) take their trials from
            it; ``project_name`` names its study unless ``study_name`` does. A process
            started as such a worker uses ``KERASCRAFT_STORAGE`` when ``storage`` is not
            given.

    Returns:
        A KerasTuner tuner (``search()``, ``get_best_models()`` ... all work as usual).
    """
    check_kind(kind)
    storage = kwargs.pop("storage", None)
    if storage is None and os.environ.get(kc_storage.WORKER_ENV):
        storage = os.environ.get(kc_storage.STORAGE_ENV)
    if storage is not None:
        if not issubclass(TUNER_KINDS[kind], oracles.OptunaTuner):
            raise InputError(f"storage shares a search of the Optuna kinds (auto, tpe, gp, "
                             f"gp-numpy), not {kind!r}: KerasTuner's own kinds share one "
                             "through a chief (search_distributed() without storage).")
        kwargs["storage"] = storage
    if not (callable(hypermodel) or isinstance(hypermodel, kt.HyperModel)):
        raise InputTypeError(
            "hypermodel must be a function build(hp) returning a compiled Keras model, "
            f"or a keras_tuner.HyperModel instance; got {type(hypermodel).__name__}."
        )
    if kind == "hyperband":
        if max_trials is not None:
            raise InputError(
                "hyperband has no max_trials: its budget comes from max_epochs, factor "
                "and hyperband_iterations. Drop max_trials or use kind='random'."
            )
    elif max_trials is None and kind != "grid":
        max_trials = 10
    if max_trials is not None:
        kwargs["max_trials"] = max_trials
    if kwargs.get("seed") is not None:
        kwargs["seed"] = samplers.stream_seed(kwargs["seed"])
    _check_objective(objective)
    return TUNER_KINDS[kind](
        hypermodel=hypermodel,
        objective=objective,
        executions_per_trial=executions_per_trial,
        directory=directory,
        project_name=project_name or kind,
        overwrite=overwrite,
        **kwargs,
    )


def known_metric_names() -> list:
    """Names of Keras's metrics and losses as ``fit()`` logs them (with and without
    ``val_``): functions as they are, classes in snake case (``AUC`` -> ``auc``)."""
    names = {"loss", "acc"}
    for module in (keras.metrics, keras.losses):
        for n in dir(module):
            if n[:1].isupper():
                n = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", n).lower()
            if n[:1].isalpha() and n not in ("get", "serialize", "deserialize"):
                names.add(n)
    return sorted(names | {"val_" + n for n in names})


def _direction_known(name) -> bool:
    try:
        compat_kt.create_objective(name)
    except ValueError:
        return False
    return True


def _check_objective(objective):
    """A metric name whose direction cannot be inferred (often a typo) stops here, with the
    names it resembles, instead of KerasTuner's advice to write a ``keras_tuner.Objective``."""
    names = objective if isinstance(objective, (list, tuple)) else [objective]
    for name in names:
        if not isinstance(name, str):
            continue
        if not _direction_known(name):
            close = [c for c in difflib.get_close_matches(name, known_metric_names(), n=6,
                                                          cutoff=0.75)
                     if _direction_known(c)][:3]
            hint = (f"Did you mean {' or '.join(repr(c) for c in close)}? " if close else "")
            raise InputError(
                f"objective {name!r} is not a metric whose direction is known. {hint}"
                "fit() logs metrics as their names, with 'val_' for validation data "
                "('val_loss', 'val_accuracy', 'val_auc'). For a metric of your own, give "
                f"its direction, 'min' or 'max': objective=kerascraft.objective({name!r}, "
                "'max') "
                f"(in R: objective = objective(\"{name}\", \"max\")).") from None


#: pre-made search spaces of KerasTuner, by the name :func:`premade_hypermodel` takes
PREMADE = {"resnet": "HyperResNet", "xception": "HyperXception"}


def premade_hypermodel(kind, input_shape, classes, **kwargs):
    """KerasTuner's pre-made image-classification search spaces.

    Args:
        kind: ``"resnet"`` (HyperResNet: version, depth, pooling, optimizer, learning rate)
            or ``"xception"`` (HyperXception: width, depth, pooling, dropout, ...).
        input_shape: image shape, e.g. ``(32, 32, 3)``; ResNet needs at least 32x32.
        classes: number of classes.
        **kwargs: the hypermodel's own options (``include_top``, ``input_tensor``...).

    Returns:
        The HyperModel, for :func:`tuner`. It compiles with categorical cross-entropy
        (one-hot labels); for class indices pass ``loss="sparse_categorical_crossentropy"``
        to :func:`tuner`.
    """
    if kind not in PREMADE:
        raise InputError(f"unknown pre-made hypermodel {kind!r}; use one of: "
                         f"{', '.join(PREMADE)}.")
    shape = tuple(int(d) for d in input_shape)
    if kind == "resnet" and min(shape[:2]) < 32:
        raise InputError(f"HyperResNet needs images of at least 32x32; got {shape}. Resize "
                         "the images (e.g. keras.layers.Resizing) or use 'xception'.")
    cls = getattr(kt.applications, PREMADE[kind])
    return cls(input_shape=shape, classes=int(classes), **kwargs)


def search_space_summary(tuner, extended=False):
    """Print the search space (names, types, ranges) of ``tuner``."""
    tuner.search_space_summary(extended=extended)
