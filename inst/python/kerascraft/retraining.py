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
    (rank, trial_id, best_epoch, epochs, validation score of the search, hyperparameters)
    and ``loaded``: how many were found already retrained in ``directory``."""

    summary: list
    loaded: int = 0


def _load_retrained(directory, rank, trial_id):
    """The model retrained earlier for this trial, with its summary row (ranked ``rank``
    now), or None."""
    import keras

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


def _direction(monitor: str) -> Direction:
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
                                                   mode=_direction(monitor)))
    fit_kwargs.setdefault("verbose", 0)
    model = compat_keras.build_before_tracing(hm.build(hp))
    history = hm.fit(hp, model, x, y, validation_data=validation_data,
                     epochs=int(max_epochs), callbacks=callbacks, **fit_kwargs)
    logs = history.history
    if monitor not in logs:
        raise InputError(f"monitor {monitor!r} is not among the metrics training produced: "
                         f"{', '.join(sorted(logs))}.")
    values = np.asarray(logs[monitor], dtype=float)
    best = _direction(monitor).best_index(values)
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
                 **fit_kwargs) -> RetrainedModels:
    """Retrain the ``n`` best configurations of a search on train+validation.

    For each configuration, best first: find its best epoch with :func:`best_epoch`, then
    build it afresh and train it on the training and validation data together for
    ``round(best_epoch * epoch_factor)`` epochs (more data supports a few more epochs).

    With ``directory``, each retrained model is saved there as it is finished
    (``trial_<id>.keras`` and ``trial_<id>.json``); a later call with the same search loads
    those instead of retraining them, so an interrupted retraining resumes.

    Returns:
        :class:`RetrainedModels`: a list of trained models with ``.summary``.
    """
    from kerascraft.trials import best_trials, require_completed

    require_completed(tuner, "configurations to retrain")
    trials = best_trials(tuner, n)
    x_train, y_train, validation_data = prepare_fit_data(x_train, y_train, validation_data)
    with kc_log.progress(verbose):
        return _retrain(tuner, trials, x_train, y_train, validation_data, epoch_factor,
                        patience, max_epochs, monitor, directory, fit_kwargs)


def _retrain(tuner, trials, x_train, y_train, validation_data, epoch_factor, patience,
             max_epochs, monitor, directory, fit_kwargs):
    from kerascraft.memory import releasing_compiled_functions

    hps = [t.hyperparameters for t in trials]
    x_all = _concat(x_train, validation_data[0], "x")
    y_all = _concat(y_train, validation_data[1], "y")
    hm = tuner.hypermodel
    models, summary = RetrainedModels(), []
    for rank, (hp, trial) in enumerate(zip(hps, trials), start=1):
        earlier = _load_retrained(directory, rank, trial.trial_id) if directory else None
        if earlier is not None:
            models.append(earlier[0])
            summary.append(earlier[1])
            models.loaded += 1
            log.info(f"retrained model {rank}/{len(hps)}: found in {directory}, not retrained")
            continue
        with releasing_compiled_functions():  # two models per configuration
            found = best_epoch(hm, hp, x_train, y_train, validation_data, patience=patience,
                               max_epochs=max_epochs, monitor=monitor, **dict(fit_kwargs))
            epochs = max(1, int(round(found.best_epoch * epoch_factor)))
            model = compat_keras.build_before_tracing(hm.build(hp))
            kwargs = dict(fit_kwargs)
            kwargs.setdefault("verbose", 0)
            hm.fit(hp, model, x_all, y_all, epochs=epochs, **kwargs)
        row = {"rank": rank, "trial_id": trial.trial_id, "best_epoch": found.best_epoch,
               "epochs": epochs, "search_score": trial.score, **hp.values}
        if directory:
            _save_retrained(directory, model, row)
        models.append(model)
        summary.append(row)
        log.info(f"retrained model {rank}/{len(hps)}: best epoch {found.best_epoch}, "
                 f"{epochs} epochs on train+validation")
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
