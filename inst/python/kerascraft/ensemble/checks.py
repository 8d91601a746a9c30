"""Input checks: one place that turns a user's predictions and labels into arrays."""

from __future__ import annotations

import numpy as np

from kerascraft.data import target_values
from kerascraft.errors import InputError, InputTypeError


def _as_prediction_array(name, value):
    arr = np.asarray(value)
    if arr.dtype.name in ("bfloat16", "float16"):
        # a mixed-precision model without a float32 output layer: its class
        # probabilities sum to 1 only within about 1e-2, so they are renormalised
        arr = arr.astype(np.float32)
        if arr.ndim == 2 and arr.shape[1] > 1 and arr.min() >= 0 and np.allclose(
                arr.sum(axis=1), 1, atol=2e-2):
            arr = arr / arr.sum(axis=1, keepdims=True)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputTypeError(f"predictions of model '{name}' must be numbers, got {arr.dtype}.")
    if arr.ndim == 0 or arr.ndim > 2:
        raise InputError(f"predictions of model '{name}' must be a vector (n,) or a matrix "
                         f"(n, k); got shape {arr.shape}.")
    bad = ~np.isfinite(arr) if np.issubdtype(arr.dtype, np.floating) else np.zeros(arr.shape, bool)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise InputError(f"predictions of model '{name}' contain {int(bad.sum())} NaN/Inf "
                         f"value(s) (first in row {row}). A model that diverged cannot take "
                         "part; drop it or fix its training.")
    return arr.astype(np.float32, copy=False)


def as_arrays(predictions, what="predictions"):
    """Check ``{name: array}``: names, one float32 array per model, the same number of rows."""
    if isinstance(predictions, (list, tuple)):
        raise InputTypeError(f"{what} must map model names to arrays (a dict in Python, a named "
                        "list in R), so that weights can be named; got a list.")
    if not hasattr(predictions, "items"):
        raise InputTypeError(f"{what} must map model names to arrays; got {type(predictions).__name__}.")
    if len(predictions) == 0:
        raise InputError(f"{what} is empty: give at least one model's predictions.")
    names = [str(k) for k in predictions]
    if len(set(names)) != len(names):
        raise InputError(f"{what} has duplicate model names: {names}.")
    arrays = [_Pred(_as_prediction_array(n, v)) for n, v in zip(names, predictions.values())]
    lengths = {n: a.shape[0] for n, a in zip(names, arrays)}
    if len(set(lengths.values())) > 1:
        raise InputError(f"{what} have different numbers of rows: "
                         + ", ".join(f"{n}: {k}" for n, k in lengths.items())
                         + ". Every model must predict the same samples, in the same order.")
    return names, arrays


class _Pred(np.ndarray):
    """A model's float32 predictions with their range and row sums, computed once."""

    def __new__(cls, arr):
        obj = arr.view(cls)
        obj.lo, obj.hi = float(arr.min()), float(arr.max())
        obj.sums = None if arr.ndim == 1 or arr.shape[1] == 1 else arr.sum(axis=1)
        return obj

    def __array_finalize__(self, obj):  # views and results are plain arrays again
        pass


def _one_column(a):
    return a.ndim == 1 or a.shape[1] == 1


def stack_predictions(names, arrays, task, n_classes=None, what="predictions"):
    """One (m, n, k) float32 array. Classification: binary vectors become two columns, and
    probabilities are checked. Returns (P, binary_1d)."""
    m, n = len(arrays), arrays[0].shape[0]
    if task == "classification":
        widths = {nm: (2 if _one_column(a) else a.shape[1]) for nm, a in zip(names, arrays)}
        if len(set(widths.values())) > 1:
            raise InputError(f"{what} have different numbers of classes: "
                             + ", ".join(f"{nm}: {k}" for nm, k in widths.items()) + ".")
        k = next(iter(widths.values()))
        if n_classes is not None and k != n_classes:
            raise InputError(f"{what} have {k} classes but the ensemble was fitted on "
                             f"{n_classes}.")
        P = np.empty((m, n, k), dtype=np.float32)
        for j, (nm, a) in enumerate(zip(names, arrays)):
            lo, hi = a.lo, a.hi
            if lo < 0 or hi > 1:
                raise InputError(f"predictions of model '{nm}' are not probabilities: values "
                                 f"from {lo:.4g} to {hi:.4g}, outside [0, 1]. Give "
                                 "predicted probabilities (softmax/sigmoid outputs, "
                                 "predict_proba), not logits or labels; or task='regression'.")
            if _one_column(a):
                P[j, :, 1] = a.reshape(-1)
                P[j, :, 0] = 1.0 - P[j, :, 1]
                continue
            sums = a.sums
            worst = int(np.argmax(np.abs(sums - 1)))
            if abs(sums[worst] - 1) > 1e-3:
                raise InputError(f"class probabilities of model '{nm}' do not sum to 1 (row "
                                 f"{worst} sums to {sums[worst]:.4g}). Give softmax or "
                                 "predict_proba outputs; for multi-label outputs use "
                                 "task='regression'.")
            np.divide(a, sums[:, None], out=P[j])
        return P, all(_one_column(a) for a in arrays)
    widths = {nm: (1 if a.ndim == 1 else a.shape[1]) for nm, a in zip(names, arrays)}
    if len(set(widths.values())) > 1:
        raise InputError(f"{what} have different numbers of outputs: "
                         + ", ".join(f"{nm}: {k}" for nm, k in widths.items()) + ".")
    P = np.stack([a.reshape(n, -1) for a in arrays])
    return P, all(a.ndim == 1 for a in arrays)


def is_checked(array) -> bool:
    """Whether ``array`` is one of :func:`as_arrays`'s (checked, with its range)."""
    return isinstance(array, _Pred)


def are_probabilities(predictions) -> bool:
    """Whether every model's predictions are probabilities: within [0, 1], and rows that sum
    to 1 where a model gives several columns."""
    arrays = as_arrays(predictions)[1] if hasattr(predictions, "items") else predictions
    return all(a.lo >= 0 and a.hi <= 1 and (a.sums is None or np.abs(a.sums - 1).max() <= 1e-3)
               for a in arrays)


def infer_task(arrays, y, task=None) -> str:
    """``task``, or the one :func:`kerascraft.task.decide_task` decides for labels ``y`` and
    the checked ``arrays`` (:func:`as_arrays`)."""
    from kerascraft.task import decide_task

    return decide_task(target_values(y), task=task, predictions=arrays).task


def check_labels(y, task, n, k, what="y_val"):
    y = target_values(y, what)
    if y.shape[0] != n:
        raise InputError(f"{what} has {y.shape[0]} labels but the predictions have {n} rows.")
    if task == "regression":
        y = y.astype(np.float64).reshape(n, -1)
        if y.shape[1] != k:
            raise InputError(f"{what} has {y.shape[1]} output column(s) but the predictions "
                             f"have {k}.")
        if not np.all(np.isfinite(y)):
            raise InputError(f"{what} contains NaN/Inf.")
        return y
    if y.ndim == 2 and y.shape[1] == k and k > 1:  # one-hot
        if not np.isin(y, (0, 1)).all() or not np.all(y.sum(axis=1) == 1):
            raise InputError(f"{what} is a matrix but not one-hot: give class indices 0..{k - 1}.")
        return y.argmax(axis=1)
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1:
        raise InputError(f"{what} must be class indices (n,) or one-hot (n, {k}); got shape {y.shape}.")
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)):
            raise InputError(f"{what} contains NaN/Inf.")
        if not np.all(y == np.round(y)):
            raise InputError(f"{what} must be class indices 0..{k - 1}; it has non-integer "
                             "values. For a numeric target use task='regression'.")
    y = y.astype(np.int64)
    bad = (y < 0) | (y >= k)
    if bad.any():
        one_based = y.min() >= 1 and y.max() == k
        raise InputError(f"{what} has labels outside the class range 0..{k - 1} (the "
                         f"predictions have {k} columns): found {sorted(set(y[bad].tolist()))[:5]}. "
                         "Labels are 0-based class indices in the order of the probability "
                         "columns" + (f"; these run from 1 to {k}, as 1-based labels (R's "
                                      "factor codes) do: subtract 1." if one_based else "."))
    return y
