"""After the search: the best epoch of a configuration, retraining on train+validation, and
how much the validation score flatters the test score.

The search picks configurations by their validation score, so that score is optimistic;
the test set, never used in tuning, tells the truth. Retraining the best configurations on
train+validation for about 1.2x their best number of epochs uses all the data and usually
beats the models the search saved.
"""

from __future__ import annotations

import json
import logging
import os
import time

import numpy as np

from kerascraft import log as kc_log
from kerascraft.compat import keras as compat_keras
from kerascraft.compat import keras_tuner as compat_kt
from kerascraft.data import prepare_fit_data
from kerascraft.direction import Direction
from kerascraft.errors import InputError, InputTypeError

log = logging.getLogger(__name__)


class BestEpoch(dict):
    """``best_epoch`` (1-based), ``history`` (metric -> list per epoch), ``monitor``,
    ``model`` (trained until early stopping). A dict, so it converts to an R list."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class RetrainedModels(list):
    """The retrained models, best configuration first, with ``summary``: one dict per model
    (rank, trial_id, best_epoch, epochs, validation score of the search, ``stopped``: where
    a time limit stopped its training, hyperparameters), ``loaded``: how many were found
    already retrained in ``directory``, and ``not_retrained``: the trials a time limit left
    out (and ``ended``, why)."""

    summary: list
    loaded: int = 0
    not_retrained: list = []
    ended: str | None = None


def _load_retrained(directory, rank, trial_id):
    """The model retrained earlier for this trial, with its summary row (ranked ``rank``
    now), or None."""
    import keras

    import kerascraft.layers  # noqa: F401 - registers the layers craft()'s networks hold

    base = os.path.join(directory, f"trial_{trial_id}")
    if not os.path.exists(base + ".json"):  # not retrained yet (the .json is written last)
        return None
    try:
        with open(base + ".json") as f:
            row = json.load(f)
        row["rank"] = rank  # the ranking may have changed since (the search went on)
        return keras.models.load_model(base + ".keras"), row
    except Exception as err:  # noqa: BLE001 - e.g. custom layers not registered
        log.warning(f"the retrained model of trial {trial_id} ({base}.keras) could not be "
                    f"loaded ({type(err).__name__}: {err}); retraining it.")
        return None


def _save_retrained(directory, model, row):
    os.makedirs(directory, exist_ok=True)
    base = os.path.join(directory, f"trial_{row['trial_id']}")
    try:
        model.save(base + ".keras")
    except Exception as err:  # noqa: BLE001 - a model Keras cannot save is still returned
        log.warning(f"retrained model of trial {row['trial_id']} not saved ({err}); a rerun "
                    "retrains it.")
        return
    with open(base + ".json", "w") as f:  # written last: it marks the model complete
        json.dump({k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}, f)


def _as_hypermodel(hypermodel):
    """A HyperModel from a tuner, a HyperModel or a build function (KerasTuner's wrapper)."""
    import keras_tuner as kt

    if isinstance(hypermodel, kt.HyperModel):
        return hypermodel
    if hasattr(hypermodel, "hypermodel") and hasattr(hypermodel, "oracle"):  # a tuner
        return hypermodel.hypermodel
    if not callable(hypermodel):
        raise InputTypeError("hypermodel must be a build(hp) function, a keras_tuner.HyperModel or "
                        f"a tuner; got {type(hypermodel).__name__}.")
    return compat_kt.get_hypermodel(hypermodel)


def _monitor_direction(monitor: str) -> Direction:
    try:
        return Direction.of(compat_kt.create_objective(monitor))
    except ValueError:
        return Direction.guess(monitor)


def best_epoch(hypermodel, hp, x, y, validation_data, patience=10, max_epochs=100,
               monitor="val_loss", **fit_kwargs) -> BestEpoch:
    """Train one configuration with early stopping and find its best epoch.

    As the book does: fit up to ``max_epochs`` with early stopping of generous
    ``patience`` on the validation loss, and take the epoch with the best ``monitor``.

    Args:
        hypermodel: the build function, a ``HyperModel`` (its ``fit()`` is used, so a
            tuned ``batch_size`` is honoured) or a tuner (its hypermodel).
        hp: the configuration (``keras_tuner.HyperParameters``).
        x, y, validation_data: training and validation data.
        patience, max_epochs, monitor: early stopping.
        **fit_kwargs: other ``fit()`` arguments (``batch_size``, ``callbacks``, ...).

    Returns:
        :class:`BestEpoch` with ``best_epoch`` (1-based), ``history``, ``monitor``, ``model``.
    """
    import keras


    if validation_data is None:
        raise InputError("best_epoch() needs validation_data=(x_val, y_val): the best epoch "
                         "is the one with the best validation score.")
    hm = _as_hypermodel(hypermodel)
    x, y, validation_data = prepare_fit_data(x, y, validation_data)
    callbacks = list(fit_kwargs.pop("callbacks", None) or [])
    callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=int(patience),
                                                   mode=_monitor_direction(monitor)))
    fit_kwargs.setdefault("verbose", 0)
    model = compat_keras.build_before_tracing(hm.build(hp))
    history = hm.fit(hp, model, x, y, validation_data=validation_data,
                     epochs=int(max_epochs), callbacks=callbacks, **fit_kwargs)
    logs = history.history
    if monitor not in logs:
        raise InputError(f"monitor {monitor!r} is not among the metrics training produced: "
                         f"{', '.join(sorted(logs))}.")
    values = np.asarray(logs[monitor], dtype=float)
    best = _monitor_direction(monitor).best_index(values)
    return BestEpoch(best_epoch=best + 1, history={k: [float(v) for v in vs] for k, vs in logs.items()},
                     monitor=monitor, model=model)


def _concat(a, b, what):
    if isinstance(a, dict):
        return {k: _concat(a[k], b[k], f"{what}[{k!r}]") for k in a}
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return np.concatenate([a, b])
    raise InputTypeError(f"retraining on train+validation needs in-memory arrays for {what}; got "
                    f"{type(a).__name__}. Concatenate the data yourself and call best_epoch() "
                    "and fit() directly.")


def retrain_best(tuner, x_train, y_train, validation_data, n=4, epoch_factor=1.2, patience=10,
                 max_epochs=100, monitor="val_loss", verbose=1, directory=None,
                 time_limit=None, **fit_kwargs) -> RetrainedModels:
    """Retrain the ``n`` best configurations of a search on train+validation.

    For each configuration, best first: find its best epoch with :func:`best_epoch`, then
    build it afresh and train it on the training and validation data together for
    ``round(best_epoch * epoch_factor)`` epochs (more data supports a few more epochs).

    With ``directory``, each retrained model is saved there as it is finished
    (``trial_<id>.keras`` and ``trial_<id>.json``); a later call with the same search loads
    those instead of retraining them, so an interrupted retraining resumes.

    ``time_limit`` (seconds): a configuration is retrained only when it is predicted to
    end in time (from its trial in the search: a fixed cost per model, building and
    compiling, and seconds per epoch; then corrected by the models retrained so far);
    training running when the time is up stops at the end of an epoch
    (the row's ``stopped`` says where). The configurations left out are
    ``.not_retrained``; a later call retrains them.

    Returns:
        :class:`RetrainedModels`: a list of trained models with ``.summary``.
    """
    from kerascraft.budget import Deadline
    from kerascraft.trials import best_trials, require_completed

    require_completed(tuner, "configurations to retrain")
    deadline = Deadline.of(time_limit)
    trials = best_trials(tuner, n)
    x_train, y_train, validation_data = prepare_fit_data(x_train, y_train, validation_data)
    with kc_log.progress(verbose, deadline=deadline):
        return _retrain(tuner, trials, x_train, y_train, validation_data, epoch_factor,
                        patience, max_epochs, monitor, directory, fit_kwargs, deadline)


def _rows(data) -> int:
    return len(next(iter(data.values()))) if isinstance(data, dict) else len(data)


def predicted_seconds(tuner, trial, rows_ratio, epoch_factor, patience, max_epochs):
    """The seconds :func:`retrain_best` is predicted to take for ``trial``, from its time in
    the search: two models (the best-epoch run, its best epoch plus ``patience``; then the
    retraining on ``rows_ratio`` times the rows), each paying the trial's fixed cost
    (building, compiling: its seconds beyond its epochs) and its seconds per later epoch.
    A trial of one epoch, or one recorded before epoch times were, counts all of its
    seconds per epoch. ``None`` when the trial's time was not recorded."""
    from kerascraft.trials import trial_record

    record = trial_record(tuner, trial.trial_id)
    seconds, trained = record.get("seconds"), record.get("epochs")
    if not seconds or not trained or trial.best_step is None:
        return None
    best = int(trial.best_step) + 1
    epochs = min(int(max_epochs), best + int(patience)) + \
        max(1, round(best * epoch_factor)) * rows_ratio
    per_epoch = record.get("epoch_seconds")
    if per_epoch is None or trained < 2:
        return seconds / trained * epochs
    fixed = max(0.0, seconds - trained * per_epoch)
    return 2 * fixed + per_epoch * epochs


def _retrain(tuner, trials, x_train, y_train, validation_data, epoch_factor, patience,
             max_epochs, monitor, directory, fit_kwargs, deadline=None):
    from kerascraft.budget import epoch_clock
    from kerascraft.memory import releasing_compiled_functions

    hps = [t.hyperparameters for t in trials]
    x_all = _concat(x_train, validation_data[0], "x")
    y_all = _concat(y_train, validation_data[1], "y")
    rows_ratio = _rows(y_all) / max(1, _rows(y_train))
    hm = tuner.hypermodel
    models, summary = RetrainedModels(), []
    models.not_retrained = []
    pace = []  # seconds taken / seconds predicted, of the models retrained in this call
    clock = epoch_clock(deadline)  # a line every few seconds; stops at the time limit
    for rank, (hp, trial) in enumerate(zip(hps, trials), start=1):
        earlier = _load_retrained(directory, rank, trial.trial_id) if directory else None
        if earlier is not None:
            models.append(earlier[0])
            summary.append(earlier[1])
            models.loaded += 1
            log.info(f"retrained model {rank}/{len(hps)}: found in {directory}, not retrained")
            continue
        raw = predicted_seconds(tuner, trial, rows_ratio, epoch_factor, patience, max_epochs)
        guess = raw * float(np.median(pace)) if raw is not None and pace else raw
        if deadline is not None and not deadline.fits(guess):
            models.not_retrained = [t.trial_id for t in trials[rank - 1:]]
            models.ended = (f"time limit: {len(trials) - rank + 1} of {len(trials)} not "
                            "retrained (" + ("the time is used up" if guess is None else
                                             f"the next would take about {guess:.0f}s, "
                                             f"with {max(0.0, deadline.usable()):.0f}s left")
                            + ")")
            log.info(f"retraining: {models.ended}")
            break
        began = time.monotonic()
        stopped = []
        with releasing_compiled_functions():  # two models per configuration
            kwargs = dict(fit_kwargs)
            kwargs["callbacks"] = list(kwargs.get("callbacks") or []) + [clock]
            clock.doing = f"retraining model {rank}/{len(hps)}: finding its best epoch"
            found = best_epoch(hm, hp, x_train, y_train, validation_data, patience=patience,
                               max_epochs=max_epochs, monitor=monitor, **kwargs)
            # a second model builds, compiles and trains an epoch before the clock can stop
            # it: about the best-epoch run's first epoch. Where that does not fit, the
            # best-epoch run's model (trained on the training split) is kept instead
            late = clock.stopped_at or (deadline is not None and clock.first_epoch is not None
                                        and deadline.usable() < clock.first_epoch)
            if late:
                stopped.append((f"best-epoch run at epoch {clock.stopped_at}; "
                                if clock.stopped_at else "") +
                               "not trained on train+validation")
                model, epochs = found.model, 0
            else:
                clock.doing = f"retraining model {rank}/{len(hps)}: on train+validation"
                epochs = max(1, int(round(found.best_epoch * epoch_factor)))
                model = compat_keras.build_before_tracing(hm.build(hp))
                kwargs.setdefault("verbose", 0)
                hm.fit(hp, model, x_all, y_all, epochs=epochs, **kwargs)
                if clock.stopped_at:
                    stopped.append(f"retraining at epoch {clock.stopped_at} of {epochs}")
                    epochs = clock.stopped_at
        row = {"rank": rank, "trial_id": trial.trial_id, "best_epoch": found.best_epoch,
               "epochs": epochs, "search_score": trial.score,
               "stopped": "; ".join(stopped) or None, **hp.values}
        if raw:
            pace.append((time.monotonic() - began) / raw)
        if directory:
            _save_retrained(directory, model, row)
        models.append(model)
        summary.append(row)
        cut = f" (stopped by the time limit: {row['stopped']})" if stopped else ""
        log.info(f"retrained model {rank}/{len(hps)}: best epoch {found.best_epoch}, "
                 f"{epochs} epochs on train+validation{cut}")
    models.summary = summary
    return models


def _metric_name(objective_name: str) -> str:
    return objective_name[4:] if objective_name.startswith("val_") else objective_name


def _test_score(model, x, y, metric):
    scores = model.evaluate(x, y, verbose=0, return_dict=True)
    if metric not in scores:
        raise InputError(f"the model reports no {metric!r} on test data (it reports "
                         f"{', '.join(sorted(scores))}).")
    return float(scores[metric])


def validation_vs_test(tuner, x_test, y_test, n=4, retrained=None):
    """:func:`validation_vs_test_rows` as a pandas DataFrame."""
    import pandas as pd

    return pd.DataFrame(validation_vs_test_rows(tuner, x_test, y_test, n, retrained))


def validation_vs_test_rows(tuner, x_test, y_test, n=4, retrained=None) -> list[dict]:
    """How much the validation score of the best configurations flatters them.

    Args:
        tuner: a tuner after its search.
        x_test, y_test: data never used in tuning.
        n: how many of the best configurations.
        retrained: optionally the models of :func:`retrain_best` for the same configurations.

    Returns:
        One dict per configuration, best first: ``rank``, ``trial_id``, ``validation``
        (score in the search), ``test`` (the search's saved model on the test data),
        ``gap`` (validation minus test, in the direction of the objective: positive means
        the validation score flattered), and ``test_retrained`` when ``retrained`` is given.
    """
    from kerascraft.trials import best_models, best_trials

    objective = tuner.oracle.objective
    metric = _metric_name(objective.name)
    sign = -Direction.of(objective).loss_sign  # higher is better
    x_test, y_test, _ = prepare_fit_data(x_test, y_test)
    trials = best_trials(tuner, n)
    models = best_models(tuner, len(trials))
    rows = []
    for rank, (trial, model) in enumerate(zip(trials, models), start=1):
        test = _test_score(model, x_test, y_test, metric)
        row = {"rank": rank, "trial_id": trial.trial_id, "metric": metric,
               "validation": float(trial.score), "test": test,
               "gap": sign * (float(trial.score) - test)}
        if retrained is not None and rank <= len(retrained):
            row["test_retrained"] = _test_score(retrained[rank - 1], x_test, y_test, metric)
        rows.append(row)
    return rows
