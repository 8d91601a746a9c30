"""Cross-fitted members: k-fold out-of-fold predictions over all the labelled data, and
bagged members for prediction.

A held-out validation split fits ensemble weights on a fifth of the labelled rows and
leaves the members blind to it. Cross-fitting (as scikit-learn's stacking and AutoGluon's
bagging do) trains each member k times, each time on all rows but one fold, and predicts
that fold: every labelled row gets a prediction from a model that did not see it (the
out-of-fold predictions, on which :func:`fit_ensemble` learns weights from k times the
samples). At prediction time a scikit-learn estimator is trained once more on all the rows
(as scikit-learn's stacking does), while a fit function -- which may stop early on a share
of its training rows and so has no all-rows equivalent -- is the mean of its k fold
models, which together saw every row (bagging, as AutoGluon does). The held-out fold is
never shown to the member, not even to choose an epoch: predictions of the rows a network
stopped on flatter it, and the ensemble weights would trust that. Cost: k (+1) trainings per member;
cheap members (trees, linear models, k-NN, small nets) are where it pays, and
:class:`CrossFitted` records each member's seconds and route so a workflow can decide.
"""

from __future__ import annotations

import copy
import logging
import time
import warnings

import numpy as np

from kerascraft import log as kc_log
from kerascraft.data import target_values
from kerascraft.ensemble.members import predictions
from kerascraft.ensemble.methods import folds
from kerascraft.errors import InputError, InputTypeError
from kerascraft.task import decide_task

_log = logging.getLogger(__name__)


#: the two ways a cross-fitted member predicts new data
REFIT, BAGGED = "refit on all rows", "bagged (mean of the fold models)"


class CrossFitted:
    """Members trained fold by fold: ``oof`` (name -> out-of-fold predictions, rows in the
    order of the data given), ``fold_models`` (name -> the k fitted models), ``refitted``
    (name -> the model trained on all rows, for members refitted), ``routes`` (name ->
    :data:`REFIT` or :data:`BAGGED`), ``seconds`` (name -> training and predicting time,
    all folds and the refit), ``failed`` (name -> why a member was left out), ``folds``
    (the held-out rows of each fold). ``predict(x)`` gives each member's prediction by its
    route."""

    def __init__(self, oof, fold_models, refitted, seconds, failed, fold_rows, task):
        self.oof, self.fold_models, self.refitted = oof, fold_models, refitted
        self.seconds, self.failed, self.folds = seconds, failed, fold_rows
        self.task = task

    @property
    def names(self) -> list:
        return list(self.oof)

    @property
    def routes(self) -> dict:
        return {n: REFIT if n in self.refitted else BAGGED for n in self.oof}

    def predict(self, x, batch_size=256, bagged=False) -> dict:
        """name -> each member's prediction on ``x``, ready for an ensemble fitted on
        :attr:`oof`: the refitted model's, or the mean of the fold models' (``bagged=True``:
        the fold models' mean for every member)."""
        out = {}
        for name, models in self.fold_models.items():
            if name in self.refitted and not bagged:
                models = [self.refitted[name]]
            preds = predictions({f"{name}[{i}]": m for i, m in enumerate(models)}, x,
                                batch_size=batch_size)
            out[name] = _as_probabilities(np.mean(
                [np.asarray(p, dtype=np.float64) for p in preds.values()], axis=0), self.task)
        return out

    def __repr__(self):
        lines = [f"Cross-fitted members ({len(self.folds)} folds, "
                 f"{sum(len(f) for f in self.folds)} rows)"]
        lines += [f"  {n}: {self.seconds[n]:.1f} s, {route}" for n, route in self.routes.items()]
        lines += [f"  {n}: left out ({why})" for n, why in self.failed.items()]
        return "\n".join(lines)


def _as_probabilities(pred, task):
    """Class probabilities with rows summing to 1: scikit-learn returns float32
    probabilities for float32 data, and some estimators' (Gaussian naive Bayes) then drift
    from 1 by a few percent, which :func:`fit_ensemble` would refuse."""
    if task != "classification" or pred.ndim != 2 or pred.shape[1] < 2:
        return pred
    sums = pred.sum(axis=1, keepdims=True)
    return pred / np.where(sums > 0, sums, 1.0)


def _is_estimator(member):
    return hasattr(member, "fit") and hasattr(member, "get_params")


def _fit_one(member, x_train, y_train, x_val, y_val):
    """Train one member on one fold: a scikit-learn estimator (cloned, then ``fit``), or a
    function ``fit(x_train, y_train, x_val, y_val)`` that returns a fitted model (it may
    stop early on ``x_val``; refitted on all rows, it is called with ``x_val = y_val =
    None``)."""
    if _is_estimator(member):
        try:
            from sklearn.base import clone

            model = clone(member)
        except (ImportError, TypeError):
            model = copy.deepcopy(member)
        return model.fit(x_train, y_train)
    if callable(member):
        return member(x_train, y_train, x_val, y_val)
    raise InputTypeError(f"a member must be a scikit-learn style estimator (with fit() and "
                    f"get_params()) or a function fit(x_train, y_train, x_val, y_val) "
                    f"returning a fitted model; got {type(member).__name__}.")


def _check(models, x, y, cv):
    if not hasattr(models, "items") or len(models) == 0:
        raise InputTypeError("models must map names to estimators or fit functions (a non-empty "
                        "dict / named list).")
    n = len(x)
    y = target_values(y)
    if len(y) != n:
        raise InputError(f"y has {len(y)} rows but x has {n}.")
    if isinstance(cv, bool) or not float(cv).is_integer() or not 2 <= int(cv) <= n // 2:
        raise InputError(f"cv must be a whole number of folds from 2 to {n // 2} (half the "
                         f"rows); got {cv!r}.")
    return y, int(cv)


def cross_fit(models, x, y, cv=5, seed=0, task=None, refit="auto", verbose=1) -> CrossFitted:
    """Train every member ``cv`` times, each time without one fold, and predict that fold.

    Args:
        models: name -> an unfitted scikit-learn style estimator (cloned for each fold) or
            a function ``fit(x_train, y_train, x_val, y_val)`` returning a fitted model
            (Keras model, estimator, or function of ``x``), for example a Keras network
            with early stopping on ``x_val``: a stratified share (1/cv) of the fold's
            training rows, so that the held-out fold stays unseen (not even for choosing
            an epoch) and its predictions honest.
        x, y: all the labelled data (train and validation together).
        cv: folds (5, as scikit-learn's stacking).
        seed: the folds' random assignment (stratified by class for classification).
        task: ``"classification"`` (stratified folds) or ``"regression"``; by default
            :func:`kerascraft.task.decide_task`'s rule, a class needing ``cv`` rows.
        refit: how members predict new data. ``"auto"``: scikit-learn estimators are
            trained once more on all the rows; fit functions are bagged (the mean of their
            fold models), since one that stops early has nothing to stop on with all the
            rows. ``True``: every member is refitted, fit functions called with
            ``x_val = y_val = None`` (they must then train without held-out data, e.g. for
            a fixed number of epochs). ``False``: every member is bagged.
        verbose: 1 shows a line per member as it is done (with its seconds); 0 is quiet.

    A member that fails in any fold is left out with a warning naming it and the error
    (recorded in ``failed``); the others are kept.
    """
    y, cv = _check(models, x, y, cv)
    if refit not in ("auto", True, False):
        raise InputError(f"refit must be 'auto', True or False; got {refit!r}.")
    task = decide_task(y, task=task, min_per_class=cv).task  # checks a task given too
    if task == "classification":
        if not np.issubdtype(y.dtype, np.number):
            raise InputError("cross_fit() takes class labels as class indices 0..k-1 (in R: "
                             f"a factor); y holds {y.dtype} values.")
        y = y.reshape(-1).astype(np.int64)
        counts = np.unique(y, return_counts=True)
        if counts[1].min() < cv:
            raise InputError(f"cv={cv} folds need at least {cv} rows of every class, so that "
                             f"each fold's models see them all; class "
                             f"{counts[0][counts[1].argmin()]} has {counts[1].min()}. Use "
                             "fewer folds.")
    fold_rows = folds(y, task, cv, seed)
    with kc_log.progress(verbose):
        return _cross_fit_members(models, x, y, fold_rows, task, refit, seed)


def _cross_fit_members(models, x, y, fold_rows, task, refit, seed):
    oof, fold_models, refitted, seconds, failed = {}, {}, {}, {}, {}
    for name, member in models.items():
        start = time.perf_counter()
        try:
            oof[name], fold_models[name] = _cross_fit_member(member, x, y, fold_rows, task,
                                                             seed)
            if refit is True or (refit == "auto" and _is_estimator(member)):
                refitted[name] = _fit_one(member, x, y, None, None)
        except Exception as err:  # one member's failure must not lose the others
            failed[name] = f"{type(err).__name__}: {err}"
            warnings.warn(f"member '{name}' failed while cross-fitting and is left out: "
                          f"{failed[name]}", stacklevel=3)  # at the caller of cross_fit()
            continue
        seconds[name] = time.perf_counter() - start
        _log.info("cross-fitted %s: %d folds in %.1f s", name, len(fold_rows), seconds[name])
    if not oof:
        raise RuntimeError("every member failed while cross-fitting: "
                           + "; ".join(f"{n}: {why}" for n, why in failed.items()))
    return CrossFitted(oof, fold_models, refitted, seconds, failed, fold_rows, task)


def _take(a, rows):
    return a.iloc[rows] if hasattr(a, "iloc") else a[rows]


def _cross_fit_member(member, x, y, fold_rows, task, seed):
    """One member's out-of-fold predictions and fold models. A fit function gets, as its
    validation data, a stratified share (1/k) of the fold's training rows, never the
    held-out fold: a network stopped early on the rows it then predicts would flatter its
    out-of-fold predictions (its epoch chosen on them), and the ensemble would trust it
    too much."""
    n = len(y)
    oof, fitted = None, []
    for i, held in enumerate(fold_rows):
        train = np.setdiff1d(np.arange(n), held)
        stop = None
        if not _is_estimator(member):
            stop = train[folds(y[train], task, len(fold_rows), seed + i + 1)[0]]
            train = np.setdiff1d(train, stop)
        model = _fit_one(member, _take(x, train), y[train],
                         None if stop is None else _take(x, stop),
                         None if stop is None else y[stop])
        pred = _as_probabilities(np.asarray(predictions({"m": model}, _take(x, held))["m"],
                                            dtype=np.float64), task)
        if oof is None:
            oof = np.empty((n,) + pred.shape[1:])
        oof[held] = pred
        fitted.append(model)
    return oof, fitted
