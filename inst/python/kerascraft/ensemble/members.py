"""Members: predictions from Keras models, scikit-learn estimators and functions, and
gradient-boosted trees to stand beside the networks."""

from __future__ import annotations

import contextlib
import logging

import numpy as np

from kerascraft.data import as_float32, target_values
from kerascraft.errors import InputError, InputTypeError


def is_keras_model(model) -> bool:
    return any(c.__module__.startswith("keras") for c in type(model).__mro__)


def predictions(models, x, batch_size=256) -> dict:
    """Predictions of several models on the same ``x``, ready for :func:`fit_ensemble`.

    ``models`` maps names to Keras models (``predict``), scikit-learn estimators
    (``predict_proba`` for classifiers, ``predict`` otherwise) or functions ``f(x)``.
    """
    if not hasattr(models, "items") or len(models) == 0:
        raise InputTypeError("models must map names to models (a non-empty dict / named list).")
    keras_models = any(is_keras_model(m) for m in models.values())
    x32 = as_float32(x) if keras_models else None  # converted once for every Keras model
    with _without_retracing_warnings():
        return {name: _predict_one(name, model, x, x32, batch_size)
                for name, model in models.items()}


@contextlib.contextmanager
def _without_retracing_warnings():
    """Predicting with several fresh Keras models traces each one's predict function
    once; TensorFlow counts them as retracings of one function and, from the fifth on,
    warns of "excessive" retracing — a warning about creating functions in a loop, which is
    what predicting with several models is. That one message is dropped here."""
    logger = logging.getLogger("tensorflow")

    def quiet(record):
        return "triggered tf.function retracing" not in record.getMessage()

    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def _predict_one(name, model, x, x32, batch_size):
    if is_keras_model(model):
        return np.asarray(model.predict(x32, batch_size=batch_size, verbose=0))
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(x))
    if hasattr(model, "predict"):
        return np.asarray(model.predict(x))
    if callable(model):
        return np.asarray(model(x))
    raise InputTypeError(f"model '{name}' ({type(model).__name__}) has no predict_proba(), "
                    "predict() and is not a function.")


def fit_gradient_boosting(x, y, task="classification", seed=0, **params):
    """A scikit-learn histogram gradient-boosted tree model, a member unlike the networks.

    Early stopping on an internal 10% split is on by default; ``params`` go to
    ``HistGradientBoostingClassifier`` / ``HistGradientBoostingRegressor``.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if task not in ("classification", "regression"):
        raise InputError(f"task must be 'classification' or 'regression', got {task!r}.")
    cls = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
    params.setdefault("early_stopping", True)
    params.setdefault("random_state", seed)
    return cls(**params).fit(*_sklearn_xy(x, y, task))


def _sklearn_xy(x, y, task):
    """Inputs and targets as scikit-learn estimators take them: float64 rows; class indices
    as int64, one target column as a vector."""
    y = target_values(y)
    if task == "classification":
        y = y.reshape(-1).astype(np.int64)
    elif y.ndim > 1 and y.shape[1] == 1:
        y = y.reshape(-1)
    return np.asarray(x, dtype=np.float64), y


#: above this many training rows k-nearest neighbours is left out of :func:`cheap_models`:
#: predicting one sample reads every training row
KNN_MAX_ROWS = 20_000


def cheap_models(task="classification", seed=0, n_rows=0) -> dict:
    """Unfitted scikit-learn models of other families than the networks and the trees,
    each trained in seconds on tables of a few thousand rows: a linear model (logistic
    regression, or ridge for regression), k-nearest neighbours (up to
    :data:`KNN_MAX_ROWS` training rows) and extra trees, the first two on standardised
    inputs. Members an ensemble can use where they differ from the networks (measured:
    ``bench/craft.py --cheap off,on``)."""
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if task not in ("classification", "regression"):
        raise InputError(f"task must be 'classification' or 'regression', got {task!r}.")
    classes = task == "classification"
    models = {
        "linear": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000) if classes
                                else Ridge(alpha=1.0)),
        "knn": make_pipeline(StandardScaler(), (KNeighborsClassifier if classes else
                                                KNeighborsRegressor)(n_neighbors=10,
                                                                     weights="distance")),
        "extra_trees": (ExtraTreesClassifier if classes else ExtraTreesRegressor)(
            n_estimators=200, min_samples_leaf=1 if classes else 2, random_state=seed),
    }
    if n_rows > KNN_MAX_ROWS:
        del models["knn"]
    return models


def fit_cheap_models(x, y, task="classification", seed=0) -> dict:
    """:func:`cheap_models` fitted on ``(x, y)``: name -> fitted model."""
    x, y = _sklearn_xy(x, y, task)
    return {name: model.fit(x, y) for name, model in cheap_models(task, seed, len(x)).items()}
