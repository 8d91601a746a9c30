"""Ensembles: combine the predictions of different models with weights learned on validation
data, and check on held-out data that the combination pays.

Everything here works on predictions, so any model that predicts can take part: Keras
networks, scikit-learn estimators (gradient-boosted trees, forests, linear models), R
functions. The weights are non-negative and sum to one; they are fitted on the validation
predictions by one of four methods:

``"mean"``
    equal weights.
``"greedy"`` (default)
    Caruana et al. (2004) ensemble selection: start from the mean of the best few models
    (how many: up to ``init_size``, chosen on the validation score), then add, with
    replacement, whichever model improves the validation score most; keep the ensemble of the
    best iteration. Weights are the counts.
``"nelder_mead"``
    SciPy's Nelder-Mead on ``w = |z| / sum(|z|)`` (non-negative, summing to one, zero
    reachable), started from equal weights.
``"random"``
    the best of many weight vectors drawn from the simplex (plus equal weights and
    every single model), drawn from Dirichlet distributions of several concentrations.

Weights fitted on the validation set flatter it. ``cv=k`` fits them on k-1 folds of the
validation predictions at a time, scores each held-out fold, and reports that
cross-fitted score next to the in-sample one; the final weights are then the mean of the
fold weights. The model table says, for each used model, how much it adds, on how many
validation samples that gain rests (``support``), and what its weight becomes without the
samples where it helps most; a weight that hangs on a handful of samples is ``fragile``.

NumPy and SciPy only: nothing here needs TensorFlow or Keras.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from typing import Callable

import numpy as np

from kerascraft.data import target_values

METHODS = ("greedy", "mean", "nelder_mead", "random")
CLASSIFICATION_METRICS = {"log_loss": "min", "accuracy": "max", "auc": "max"}
REGRESSION_METRICS = {"mse": "min", "rmse": "min", "mae": "min"}
_EPS = float(np.finfo(np.float64).eps)  # the floor scikit-learn's log_loss uses for float64
_FORMAT_VERSION = 1


# ---------------------------------------------------------------------------------------
# metrics


def _log_loss_rows(p_true):
    """-log of the probabilities of the true classes (floored at float64 eps, as scikit-learn does)."""
    return -np.log(np.maximum(p_true, _EPS))


def _auc(y, score):
    """Area under the ROC curve from ranks (Mann-Whitney), ties averaged."""
    from scipy.stats import rankdata

    y = np.asarray(y)
    n_pos = int((y == 1).sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both classes among the labels; these labels have only one.")
    ranks = rankdata(score)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _metric_value(metric, y, pred):
    """``metric`` of the internal prediction ``pred`` ((n, k) probabilities or (n, d))."""
    if metric == "log_loss":
        return float(_log_loss_rows(pred[np.arange(len(y)), y]).mean())
    if metric == "accuracy":
        return float((pred.argmax(axis=1) == y).mean())
    if metric == "auc":
        return _auc(y, pred[:, 1])
    err = pred - y
    if metric == "mse":
        return float(np.mean(err ** 2))
    if metric == "rmse":
        return float(np.sqrt(np.mean(err ** 2)))
    if metric == "mae":
        return float(np.mean(np.abs(err)))
    raise ValueError(f"unknown metric {metric!r}")


def _sample_losses(metric, y, pred):
    """Per-sample losses (lower is better) whose mean moves with the metric, or None when
    the metric does not decompose over samples (AUC, a user's function)."""
    if metric == "log_loss":
        return _log_loss_rows(pred[np.arange(len(y)), y])
    if metric == "accuracy":
        return (pred.argmax(axis=1) != y).astype(np.float64)
    if metric in ("mse", "rmse"):
        return np.mean((pred - y) ** 2, axis=1)
    if metric == "mae":
        return np.mean(np.abs(pred - y), axis=1)
    return None


# ---------------------------------------------------------------------------------------
# input checks: one place that turns a user's predictions into a (m, n, k) array


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
        raise TypeError(f"predictions of model '{name}' must be numbers, got {arr.dtype}.")
    if arr.ndim == 0 or arr.ndim > 2:
        raise ValueError(f"predictions of model '{name}' must be a vector (n,) or a matrix "
                         f"(n, k); got shape {arr.shape}.")
    bad = ~np.isfinite(arr) if np.issubdtype(arr.dtype, np.floating) else np.zeros(arr.shape, bool)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ValueError(f"predictions of model '{name}' contain {int(bad.sum())} NaN/Inf "
                         f"value(s) (first in row {row}). A model that diverged cannot take "
                         "part; drop it or fix its training.")
    return arr.astype(np.float32, copy=False)


def _arrays(predictions, what="predictions"):
    """Check ``{name: array}``: names, one float32 array per model, the same number of rows."""
    if isinstance(predictions, (list, tuple)):
        raise TypeError(f"{what} must map model names to arrays (a dict in Python, a named "
                        "list in R), so that weights can be named; got a list.")
    if not hasattr(predictions, "items"):
        raise TypeError(f"{what} must map model names to arrays; got {type(predictions).__name__}.")
    if len(predictions) == 0:
        raise ValueError(f"{what} is empty: give at least one model's predictions.")
    names = [str(k) for k in predictions]
    if len(set(names)) != len(names):
        raise ValueError(f"{what} has duplicate model names: {names}.")
    arrays = [_Pred(_as_prediction_array(n, v)) for n, v in zip(names, predictions.values())]
    lengths = {n: a.shape[0] for n, a in zip(names, arrays)}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{what} have different numbers of rows: "
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


def _stack(names, arrays, task, n_classes=None, what="predictions"):
    """One (m, n, k) float32 array. Classification: binary vectors become two columns, and
    probabilities are checked. Returns (P, binary_1d)."""
    m, n = len(arrays), arrays[0].shape[0]
    if task == "classification":
        widths = {nm: (2 if _one_column(a) else a.shape[1]) for nm, a in zip(names, arrays)}
        if len(set(widths.values())) > 1:
            raise ValueError(f"{what} have different numbers of classes: "
                             + ", ".join(f"{nm}: {k}" for nm, k in widths.items()) + ".")
        k = next(iter(widths.values()))
        if n_classes is not None and k != n_classes:
            raise ValueError(f"{what} have {k} classes but the ensemble was fitted on "
                             f"{n_classes}.")
        P = np.empty((m, n, k), dtype=np.float32)
        for j, (nm, a) in enumerate(zip(names, arrays)):
            lo, hi = a.lo, a.hi
            if lo < 0 or hi > 1:
                raise ValueError(f"predictions of model '{nm}' are not probabilities: values "
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
                raise ValueError(f"class probabilities of model '{nm}' do not sum to 1 (row "
                                 f"{worst} sums to {sums[worst]:.4g}). Give softmax or "
                                 "predict_proba outputs; for multi-label outputs use "
                                 "task='regression'.")
            np.divide(a, sums[:, None], out=P[j])
        return P, all(_one_column(a) for a in arrays)
    widths = {nm: (1 if a.ndim == 1 else a.shape[1]) for nm, a in zip(names, arrays)}
    if len(set(widths.values())) > 1:
        raise ValueError(f"{what} have different numbers of outputs: "
                         + ", ".join(f"{nm}: {k}" for nm, k in widths.items()) + ".")
    P = np.stack([a.reshape(n, -1) for a in arrays])
    return P, all(a.ndim == 1 for a in arrays)


def _infer_task(arrays, y):
    """Classification when the labels are whole numbers and every model gives probabilities."""
    y = target_values(y)
    integral = np.issubdtype(y.dtype, np.integer) or y.dtype == bool or (
        np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)))
    if not integral:
        return "regression"
    for a in arrays:
        if a.lo < 0 or a.hi > 1:
            return "regression"
        if a.sums is not None and np.abs(a.sums - 1).max() > 1e-3:
            return "regression"
        if _one_column(a) and y.ndim == 1 and not np.isin(y, (0, 1)).all():
            return "regression"
    return "classification"


def _labels(y, task, n, k, what="y_val"):
    y = target_values(y, what)
    if y.shape[0] != n:
        raise ValueError(f"{what} has {y.shape[0]} labels but the predictions have {n} rows.")
    if task == "regression":
        y = y.astype(np.float64).reshape(n, -1)
        if y.shape[1] != k:
            raise ValueError(f"{what} has {y.shape[1]} output column(s) but the predictions "
                             f"have {k}.")
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{what} contains NaN/Inf.")
        return y
    if y.ndim == 2 and y.shape[1] == k and k > 1:  # one-hot
        if not np.isin(y, (0, 1)).all() or not np.all(y.sum(axis=1) == 1):
            raise ValueError(f"{what} is a matrix but not one-hot: give class indices 0..{k - 1}.")
        return y.argmax(axis=1)
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1:
        raise ValueError(f"{what} must be class indices (n,) or one-hot (n, {k}); got shape {y.shape}.")
    if np.issubdtype(y.dtype, np.floating):
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{what} contains NaN/Inf.")
        if not np.all(y == np.round(y)):
            raise ValueError(f"{what} must be class indices 0..{k - 1}; it has non-integer "
                             "values. For a numeric target use task='regression'.")
    y = y.astype(np.int64)
    bad = (y < 0) | (y >= k)
    if bad.any():
        raise ValueError(f"{what} has labels outside the class range 0..{k - 1} (the "
                         f"predictions have {k} columns): found {sorted(set(y[bad].tolist()))[:5]}. "
                         "Labels are 0-based class indices in the order of the probability "
                         "columns.")
    return y


# ---------------------------------------------------------------------------------------
# the combination and its score


class _Scorer:
    """Scores weight vectors on fixed predictions P (m, n, k) and targets y."""

    def __init__(self, P, y, metric, direction, power, binary_1d, task):
        self.P, self.y, self.metric, self.power = P, y, metric, power
        self.sign = 1.0 if direction == "min" else -1.0
        self.task, self.binary_1d = task, binary_1d
        self.callable = callable(metric)
        # log loss of a weighted mean needs only each model's probability of the true class
        self.fast = metric == "log_loss" and power == 1
        if self.fast:
            self.T = np.ascontiguousarray(P[:, np.arange(P.shape[1]), y])  # (m, n)
        self.F = P if power == 1 else np.power(np.clip(P, _EPS, None), power)

    def combine_terms(self, S, total):
        """The prediction from S = sum_j w_j F_j with sum_j w_j = total."""
        pred = S / total
        if self.power != 1:
            pred = np.power(np.clip(pred, 0, None), 1.0 / self.power)
            if self.task == "classification":
                pred = pred / pred.sum(axis=1, keepdims=True)
        return pred

    def combine(self, w):
        w = np.asarray(w, dtype=np.float64)
        S = np.tensordot(w.astype(np.float32), self.F, axes=1)
        return self.combine_terms(S, w.sum())

    def value(self, pred):
        """The metric (natural orientation) of an internal prediction."""
        if self.callable:
            return float(self.metric(self.y, public_prediction(pred, self.task, self.binary_1d)))
        return _metric_value(self.metric, self.y, pred)

    def loss(self, w):
        """sign * metric: lower is better."""
        if self.fast:
            w = np.asarray(w, dtype=np.float32)
            p = (w / w.sum()) @ self.T
            np.maximum(p, _EPS, out=p)
            return float(-np.log(p, out=p).mean(dtype=np.float64))
        return self.sign * self.value(self.combine(w))

    def losses_of_candidates(self, counts):
        """Loss after adding one more of each model to integer ``counts``."""
        total = counts.sum() + 1
        if self.fast:
            s = counts.astype(np.float32) @ self.T
            buf = np.add(self.T, s[None, :])  # in place from here: this runs per addition
            buf *= np.float32(1.0 / total)
            np.maximum(buf, _EPS, out=buf)
            np.log(buf, out=buf)
            return -buf.mean(axis=1, dtype=np.float64)
        S = np.tensordot(counts.astype(np.float32), self.F, axes=1)
        return np.array([self.sign * self.value(self.combine_terms(S + Fj, total)) for Fj in self.F])

    def losses_of_many(self, W, chunk=256):
        if self.fast:
            W = np.asarray(W, dtype=np.float32)
            out = []
            for i in range(0, len(W), chunk):
                Wc = W[i:i + chunk]
                out.append(_log_loss_rows((Wc @ self.T) / Wc.sum(axis=1, keepdims=True)).mean(axis=1))
            return np.concatenate(out).astype(np.float64)
        return np.array([self.loss(w) for w in W])


def public_prediction(pred, task, binary_1d):
    """Internal (n, k) / (n, d) predictions in the shape the user gave: a vector for binary
    probabilities given as vectors and for single-output regression given as vectors."""
    if binary_1d:
        return pred[:, 1] if task == "classification" else pred[:, 0]
    return pred


# ---------------------------------------------------------------------------------------
# the four methods: each returns a weight vector (and a history where there is one)


def _fit_mean(scorer, m, **_):
    return np.full(m, 1.0 / m), None


def _fit_greedy(scorer, m, init_size=3, max_iter=50, **_):
    single = np.array([scorer.loss(np.eye(m)[j]) for j in range(m)])
    order = np.argsort(single, kind="stable")
    # sorted initialisation (Caruana et al.): the mean of the best N models, with N up to
    # init_size chosen on the validation score, so a weak model never starts in it
    starts = []
    for size in range(1, max(1, min(int(init_size), m)) + 1):
        counts = np.zeros(m, dtype=np.int64)
        counts[order[:size]] = 1
        starts.append((scorer.loss(counts), size, counts))
    counts = min(starts, key=lambda s: (s[0], s[1]))[2]
    history = [{"iteration": 0, "added": None, "size": int(counts.sum()),
                "loss": scorer.loss(counts)}]
    best_counts, best_loss = counts.copy(), history[0]["loss"]
    for it in range(1, int(max_iter) + 1):
        cand = scorer.losses_of_candidates(counts)
        j = int(np.argmin(cand))  # ties: the first model
        counts[j] += 1
        history.append({"iteration": it, "added": j, "size": int(counts.sum()),
                        "loss": float(cand[j])})
        if cand[j] < best_loss - 1e-12:
            best_loss, best_counts = float(cand[j]), counts.copy()
    return best_counts / best_counts.sum(), history


def _simplex(z):
    a = np.abs(np.asarray(z, dtype=np.float64))
    s = a.sum()
    return a / s if s > 0 else np.full(len(a), 1.0 / len(a))


def _fit_nelder_mead(scorer, m, max_evals=None, tol=1e-6, **_):
    from scipy.optimize import minimize

    if m == 1:
        return np.ones(1), None
    start = np.full(m, 1.0 / m)
    # first vertex: equal weights; the others double one model's share each
    simplex = np.vstack([start] + [start + np.eye(m)[j] / m for j in range(m)])
    res = minimize(lambda z: scorer.loss(_simplex(z)), start, method="Nelder-Mead",
                   options={"initial_simplex": simplex, "maxfev": int(max_evals or 30 * m + 200),
                            "xatol": tol, "fatol": tol, "adaptive": m > 5})
    return _simplex(res.x), [{"evaluations": int(res.nfev), "loss": float(res.fun),
                              "converged": bool(res.success)}]


def _fit_random(scorer, m, n_samples=2000, seed=0, **_):
    rng = np.random.default_rng(seed)
    # uniform draws alone rarely come near the sparse mixtures that win; a third of the
    # draws each from Dirichlet(1), Dirichlet(0.3) and Dirichlet(0.1)
    draws = [rng.dirichlet(np.full(m, a), int(n_samples) // 3 + (i < int(n_samples) % 3))
             for i, a in enumerate((1.0, 0.3, 0.1))]
    W = np.vstack([np.full(m, 1.0 / m), np.eye(m)] + draws)
    losses = scorer.losses_of_many(W)
    best = int(np.argmin(losses))
    return W[best], [{"samples": len(W), "loss": float(losses[best])}]


_FITTERS = {"mean": _fit_mean, "greedy": _fit_greedy, "nelder_mead": _fit_nelder_mead,
            "random": _fit_random}


def _folds(y, task, k, seed):
    """k folds of row indices, stratified by class for classification."""
    rng = np.random.default_rng(seed)
    n = len(y)
    fold = np.empty(n, dtype=np.int64)
    if task == "classification":
        pos = 0
        for c in np.unique(y):
            idx = rng.permutation(np.flatnonzero(y == c))
            fold[idx] = (pos + np.arange(len(idx))) % k
            pos += len(idx)
    else:
        fold[rng.permutation(n)] = np.arange(n) % k
    return [np.flatnonzero(fold == i) for i in range(k)]


# ---------------------------------------------------------------------------------------
# the fitted ensemble


class Ensemble:
    """A fitted ensemble: ``weights`` (name -> weight), ``predict()``, ``evaluate()``,
    ``models()`` (one row per model), ``summary()``, ``save()``.

    Made by :func:`fit_ensemble` or :func:`load_ensemble`; not meant to be built by hand.
    """

    def __init__(self, names, weights, *, task, metric, direction, power, n_classes,
                 output_dim, binary_1d, method, options=None, scores=None, model_rows=None,
                 history=None, fold_weights=None, n_val=None, meta=None):
        self.names = list(names)
        self._w = np.asarray(weights, dtype=np.float64)
        self.task, self.metric, self.direction = task, metric, direction
        self.power, self.n_classes, self.output_dim = power, n_classes, output_dim
        self.binary_1d, self.method = binary_1d, method
        self.options = dict(options or {})
        self.scores = dict(scores or {})
        self.model_rows = list(model_rows or [])
        self.history = history
        self.fold_weights = fold_weights
        self.n_val = n_val
        self.meta = dict(meta or {})

    # -- the weights
    @property
    def weights(self) -> dict:
        """Model name -> weight (non-negative, summing to one)."""
        return {n: float(w) for n, w in zip(self.names, self._w)}

    @property
    def used(self) -> list:
        return [n for n, w in zip(self.names, self._w) if w > 0]

    @property
    def unused(self) -> list:
        """Models with weight zero: they need not be trained or kept for prediction."""
        return [n for n, w in zip(self.names, self._w) if w == 0]

    @property
    def metric_name(self) -> str:
        return self.metric if isinstance(self.metric, str) else getattr(self.metric, "__name__", "metric")

    # -- prediction
    def _aligned(self, predictions, what):
        if not hasattr(predictions, "items"):
            raise TypeError(f"{what} must map model names to arrays, like the predictions "
                            "the ensemble was fitted on.")
        missing = [n for n in self.used if n not in predictions]
        if missing:
            raise ValueError(f"{what} lack the model(s) {missing}, which have weight in the "
                             f"ensemble. Give predictions for: {self.used}.")
        unknown = [n for n in predictions if n not in self.names]
        if unknown:
            raise ValueError(f"{what} have model(s) the ensemble does not know: {unknown}. "
                             f"Its models are {self.names}.")
        present = [n for n in self.names if n in predictions]
        names, arrays = _arrays({n: predictions[n] for n in present}, what)
        P, _ = _stack(names, arrays, self.task,
                      self.n_classes if self.task == "classification" else None, what)
        if self.task == "regression" and P.shape[2] != self.output_dim:
            raise ValueError(f"{what} have {P.shape[2]} output(s); the ensemble was fitted "
                             f"on {self.output_dim}.")
        return names, P

    def _combine(self, names, P, weights=None):
        w = self._w if weights is None else weights
        w = np.array([w[self.names.index(n)] for n in names])
        scorer = _Scorer(P, None, "mse", "min", self.power, self.binary_1d, self.task)
        return scorer.combine(w)

    def predict(self, predictions):
        """Combine new predictions ({name: array}, as given to :func:`fit_ensemble`).

        Only the used models are needed. Returns class probabilities (n, k) (a vector for
        binary probabilities given as vectors) or regression outputs.
        """
        names, P = self._aligned(predictions, "predictions")
        return public_prediction(self._combine(names, P), self.task, self.binary_1d)

    def evaluate(self, y_test, test_predictions, as_frame=True):
        """Every single model, the plain mean and this ensemble on test data.

        Returns a table (pandas DataFrame, or columns when ``as_frame=False``): ``model``,
        ``kind`` (``"ensemble"``, ``"mean"``, ``"single"``), ``weight``, then the fitted
        metric and the usual ones for the task (log loss and accuracy, AUC for binary;
        MSE and MAE), ensemble first, then the mean, then single models by validation score.
        """
        names, P = self._aligned(test_predictions, "test_predictions")
        if set(names) != set(self.names):
            raise ValueError("evaluate() compares every model, so test_predictions need all "
                             f"of {self.names}; missing {sorted(set(self.names) - set(names))}.")
        k = P.shape[2]
        y = _labels(y_test, self.task, P.shape[1], k, "y_test")
        if self.task == "classification":
            metrics = ["log_loss", "accuracy"] + (["auc"] if k == 2 else [])
        else:
            metrics = ["mse", "mae"]
        if isinstance(self.metric, str) and self.metric not in metrics:
            metrics.insert(0, self.metric)
        custom = None if isinstance(self.metric, str) else self.metric_name
        rows = []

        def row(model, kind, weight, pred):
            r = {"model": model, "kind": kind, "weight": weight}
            for m in metrics:
                r[m] = _metric_value(m, y, pred)
            if custom:
                r[custom] = float(self.metric(y, public_prediction(pred, self.task, self.binary_1d)))
            rows.append(r)

        row(f"ensemble ({self.method})", "ensemble", 1.0, self._combine(names, P))
        row("mean", "mean", None, self._combine(names, P, np.full(len(self.names), 1 / len(self.names))))
        val = {r["model"]: r["val_score"] for r in self.model_rows}
        sign = 1 if self.direction == "min" else -1
        for n in sorted(names, key=lambda n: sign * val.get(n, 0)):
            row(n, "single", self.weights[n], P[names.index(n)])
        return _table(rows, as_frame)

    def models(self, as_frame=True):
        """One row per model: ``weight``, ``used``, ``val_score`` (alone, on validation),
        ``gain`` (how much worse the ensemble's validation score is without it),
        ``support`` (the fewest validation samples whose removal would cancel that gain),
        ``weight_without_top`` (its weight refitted against the rest without the
        max(5, 1%) validation samples where it helps most), ``fragile`` (that weight falls
        below a tenth: the weight rests on a handful of samples), and with ``cv`` the mean
        and spread of its fold weights."""
        return _table(self.model_rows, as_frame)

    def summary(self) -> str:
        s = self.scores
        lines = [f"Ensemble of {len(self.used)} of {len(self.names)} models ({self.method}, "
                 f"{self.task}, metric {self.metric_name}"
                 + (f", power {self.power:g}" if self.power != 1 else "") + ")"]
        lines.append(f"  validation {self.metric_name}: ensemble {s['in_sample']:.4g}, "
                     f"mean {s['mean']:.4g}, best single {s['best_single']:.4g} "
                     f"({s['best_single_model']})")
        if s.get("lead_support") is not None:
            lines.append(f"  the ensemble's lead over {s['best_single_model']} rests on "
                         f"{s['lead_support']} of {self.n_val} validation samples")
        if "cross_fitted" in s:
            lines.append(f"  cross-fitted ({self.options.get('cv')} folds) {s['cross_fitted']:.4g} "
                         f"against {s['in_sample']:.4g} in sample")
        width = max(len(n) for n in self.names)
        for r in self.model_rows:
            flag = ""
            if r.get("fragile"):
                flag = (f"  fragile: rests on {r['support']} sample(s); "
                        f"{r['weight_without_top']:.3f} without its "
                        f"{self.options.get('fragile_top')} most favourable")
            lines.append(f"  {r['model']:<{width}}  weight {r['weight']:.3f}  "
                         f"alone {r['val_score']:.4g}{flag}")
        if self.unused:
            lines.append(f"  unused: {', '.join(self.unused)}")
        return "\n".join(lines)

    def __repr__(self):
        return self.summary()

    # -- persistence: JSON, not pickles
    def to_dict(self) -> dict:
        if callable(self.metric):
            raise ValueError("an ensemble fitted with a metric function cannot be saved as JSON "
                             "(functions are code); fit it with a named metric to save it.")
        return {"format": "kerascraft-ensemble", "version": _FORMAT_VERSION,
                "names": self.names, "weights": self._w.tolist(), "task": self.task,
                "metric": self.metric, "direction": self.direction, "power": self.power,
                "n_classes": self.n_classes, "output_dim": self.output_dim,
                "binary_1d": self.binary_1d, "method": self.method, "options": self.options,
                "scores": self.scores, "model_rows": self.model_rows, "history": self.history,
                "fold_weights": None if self.fold_weights is None else self.fold_weights.tolist(),
                "n_val": self.n_val, "meta": self.meta}

    def save(self, path):
        """Write weights and metadata to ``path`` as JSON; read back with :func:`load_ensemble`."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=1)
        return str(path)


def load_ensemble(path) -> Ensemble:
    """Read an ensemble written by ``Ensemble.save()``."""
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    if d.get("format") != "kerascraft-ensemble":
        raise ValueError(f"{path} is not a kerascraft ensemble file (no 'format' field "
                         "'kerascraft-ensemble').")
    if d.get("version", 0) > _FORMAT_VERSION:
        raise ValueError(f"{path} was written by a newer kerascraft (format {d['version']}); "
                         "update kerascraft to read it.")
    fw = d.pop("fold_weights")
    d.pop("format"), d.pop("version")
    return Ensemble(d.pop("names"), d.pop("weights"),
                    fold_weights=None if fw is None else np.asarray(fw), **d)


def _table(rows, as_frame):
    columns = {}
    for r in rows:
        for k in r:
            columns.setdefault(k, [])
    for r in rows:
        for k in columns:
            columns[k].append(r.get(k))
    if not as_frame:
        return columns
    import pandas as pd

    return pd.DataFrame(columns)


def _resolve_metric(metric, task, direction, k):
    if metric is None:
        metric = "log_loss" if task == "classification" else "mse"
    if callable(metric):
        if direction not in ("min", "max"):
            raise ValueError("a metric function needs direction='min' (lower is better, like "
                             "a loss) or direction='max' (like accuracy).")
        return metric, direction
    known = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
    if metric not in known:
        other = REGRESSION_METRICS if task == "classification" else CLASSIFICATION_METRICS
        hint = f" ({metric!r} is a {'regression' if task == 'classification' else 'classification'} metric)" \
            if metric in other else ""
        raise ValueError(f"metric {metric!r} is not available for {task}{hint}; choose one of "
                         f"{sorted(known)} or give a function metric(y_true, y_pred) with a direction.")
    if metric == "auc" and k != 2:
        raise ValueError(f"metric 'auc' is for binary classification; these predictions have "
                         f"{k} classes. Use 'log_loss' or 'accuracy'.")
    if direction is not None and direction != known[metric]:
        raise ValueError(f"metric {metric!r} is {'minimised' if known[metric] == 'min' else 'maximised'}; "
                         f"direction={direction!r} contradicts it (leave direction out).")
    return metric, known[metric]


def fit_ensemble(predictions, y_val, method="greedy", metric=None, task=None, power=1.0,
                 cv=None, seed=0, direction=None, init_size=3, max_iter=50, n_samples=2000,
                 max_evals=None, meta=None) -> Ensemble:
    """Learn ensemble weights from validation predictions.

    Args:
        predictions: model name -> validation predictions: class probabilities (n, k), or
            (n,) / (n, 1) for the positive class of a binary task, or regression outputs
            (n,) / (n, d).
        y_val: the validation targets: class indices 0..k-1 (or one-hot), or numbers.
        method: ``"greedy"`` (default), ``"mean"``, ``"nelder_mead"`` or ``"random"``.
        metric: ``"log_loss"`` (default), ``"accuracy"``, ``"auc"`` (binary) for
            classification; ``"mse"`` (default), ``"rmse"``, ``"mae"`` for regression; or a
            function ``metric(y_true, y_pred)`` with ``direction``.
        task: ``"classification"`` or ``"regression"``; inferred when left out (integer
            labels and probability predictions mean classification).
        power: combine ``(sum_j w_j p_j**power)**(1/power)`` instead of the arithmetic mean
            (class probabilities are renormalised); 1 is the plain weighted mean.
        cv: k to cross-fit: weights fitted on k-1 folds of the validation predictions score
            the held-out fold; the final weights are the mean of the k fold weights.
        seed: for ``"random"`` and the folds.
        init_size, max_iter: greedy: most models in the starting ensemble (the best N,
            N chosen on validation), additions.
        n_samples: random: weight vectors drawn.
        max_evals: Nelder-Mead: most evaluations (default 30 per model + 200).
        meta: JSON-serialisable information kept with the ensemble and saved with it (R
            keeps there how its class labels count).

    Returns:
        :class:`Ensemble`.
    """
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not known; choose one of {list(METHODS)}.")
    if task not in (None, "classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}.")
    if not (isinstance(power, (int, float)) and math.isfinite(power) and power > 0):
        raise ValueError(f"power must be a positive number (1 = arithmetic mean), got {power!r}.")
    names, arrays = _arrays(predictions)
    task = task or _infer_task(arrays, y_val)
    P, binary_1d = _stack(names, arrays, task)
    del arrays
    m, n, k = P.shape
    y = _labels(y_val, task, n, k)
    metric, direction = _resolve_metric(metric, task, direction, k)
    options = {"init_size": init_size, "max_iter": max_iter, "n_samples": n_samples,
               "max_evals": max_evals, "seed": seed, "cv": cv}
    fit = _FITTERS[method]
    scorer = _Scorer(P, y, metric, direction, power, binary_1d, task)
    sign = scorer.sign
    if m == 1:
        import warnings

        warnings.warn(f"only one model ('{names[0]}'): the ensemble is that model alone "
                      "(weight 1). Add models to combine.", stacklevel=2)
        weights, history = np.ones(1), None
    else:
        weights, history = fit(scorer, m, **options)

    fold_weights, scores = None, {}
    if cv is not None and m > 1:
        cv = int(cv)
        if cv < 2 or cv > n // 2:
            raise ValueError(f"cv must be a number of folds between 2 and {n // 2} (half the "
                             f"validation samples); got {cv}.")
        if task == "classification":
            counts = np.bincount(y, minlength=k)
            present = counts[counts > 0]
            if present.min() < cv:
                raise ValueError(f"cv={cv} folds need at least {cv} validation samples per "
                                 f"class; the rarest class has {present.min()}.")
        oof = np.empty((n,) + scorer.combine(weights).shape[1:], dtype=np.float64)
        fold_weights = []
        for test_idx in _folds(y, task, cv, seed):
            train_idx = np.setdiff1d(np.arange(n), test_idx)
            sub = _Scorer(P[:, train_idx], y[train_idx], metric, direction, power, binary_1d, task)
            w_f, _ = fit(sub, m, **options)
            fold_weights.append(w_f)
            oof[test_idx] = _Scorer(P[:, test_idx], y[test_idx], metric, direction, power,
                                    binary_1d, task).combine(w_f)
        fold_weights = np.vstack(fold_weights)
        weights = fold_weights.mean(axis=0)
        scores["cross_fitted"] = scorer.value(oof)

    weights = np.where(weights < 1e-6, 0.0, weights)  # Nelder-Mead's 1e-8s are zeros
    weights = weights / weights.sum()
    ens_pred = scorer.combine(weights)
    single = [scorer.value(P[j]) for j in range(m)]
    best = int(np.argmin([sign * s for s in single]))
    scores.update({"in_sample": scorer.value(ens_pred),
                   "mean": scorer.value(scorer.combine(np.full(m, 1.0 / m))),
                   "best_single": single[best], "best_single_model": names[best]})
    if not scorer.callable and scorer.metric != "auc" and weights[best] < 1:
        # on how many samples does the ensemble's lead over the best single model rest?
        lead = (_sample_losses(scorer.metric, y, P[best]) - _sample_losses(scorer.metric, y, ens_pred))
        scores["lead_support"] = _support(lead)
    rows, top = _model_rows(scorer, names, weights, single, fold_weights, ens_pred)
    options["fragile_top"] = top
    return Ensemble(names, weights, task=task, metric=metric, direction=direction,
                    power=float(power), n_classes=k if task == "classification" else None,
                    output_dim=k if task == "regression" else None, binary_1d=binary_1d,
                    method=method, options=options, scores=scores, model_rows=rows,
                    history=history, fold_weights=fold_weights, n_val=n, meta=meta)


def _model_rows(scorer, names, weights, single, fold_weights, ens_pred):
    """Per model: its weight, its score alone, what it adds, how many samples carry that, and
    whether its weight survives losing its most favourable samples."""
    n = scorer.P.shape[1]
    decomposes = not scorer.callable and scorer.metric != "auc"
    total = (weights.astype(np.float32) @ scorer.T if scorer.fast
             else np.tensordot(weights.astype(np.float32), scorer.F, axes=1))
    top = max(5, int(math.ceil(0.01 * n)))
    rows = []
    for j, name in enumerate(names):
        r = {"model": name, "weight": float(weights[j]), "used": bool(weights[j] > 0),
             "val_score": float(single[j]), "gain": None, "support": None,
             "weight_without_top": None, "fragile": None}
        if 0 < weights[j] < 1:
            mix = _Mix(scorer, total, weights[j], j)
            if scorer.fast:
                r["gain"] = float(mix.losses(0.0).mean() - mix.losses(weights[j]).mean())
            else:
                r["gain"] = scorer.sign * (scorer.value(mix.pred(0.0)) - scorer.value(ens_pred))
            if decomposes and n > 2 * top:
                d = mix.losses(0.0) - mix.losses(weights[j])
                r["support"] = _support(d)
                # refit this model's share against the rest on all samples, then without the
                # `top` samples where it helps most: a weight that rests on a handful of
                # samples collapses
                full = mix.best_share()
                reduced = mix.subset(np.argpartition(d, n - top)[:n - top]).best_share()
                r["weight_without_top"] = float(weights[j] * reduced / full) if full > 0 else 0.0
                r["fragile"] = bool(reduced < 0.1 * full)
        if fold_weights is not None:
            r["cv_weight_mean"] = float(fold_weights[:, j].mean())
            r["cv_weight_sd"] = float(fold_weights[:, j].std(ddof=1))
        rows.append(r)
    return rows, top


class _Mix:
    """One model against the rest of the ensemble: (1 - a) rest + a model, for a in [0, 1].

    On the log-loss fast path only the probabilities of the true classes are kept."""

    def __init__(self, scorer, total, w, j, _arrays=None):
        self.scorer = scorer
        if _arrays is not None:
            self.y, self.rest, self.model = _arrays
            return
        own = scorer.T[j] if scorer.fast else scorer.F[j]
        self.y = scorer.y
        self.rest = (total - np.float32(w) * own) / np.float32(1 - w)
        self.model = own

    def subset(self, idx):
        return _Mix(self.scorer, None, None, None, (self.y[idx], self.rest[idx], self.model[idx]))

    def pred(self, a):
        return self.scorer.combine_terms((1 - a) * self.rest + a * self.model, 1.0)

    def losses(self, a):
        if self.scorer.fast:
            return _log_loss_rows(self.rest + np.float32(a) * (self.model - self.rest))
        return _sample_losses(self.scorer.metric, self.y, self.pred(a))

    def best_share(self):
        """The share a that minimises the mean per-sample loss (0 when the model adds nothing)."""
        loss = lambda a: float(self.losses(a).mean(dtype=np.float64))  # noqa: E731
        if self.scorer.metric == "accuracy":  # a step function: a grid, not a line search
            if self.scorer.power != 1:
                grid = np.linspace(0, 1, 21)
                return float(grid[int(np.argmin([loss(a) for a in grid]))])
            return _best_share_accuracy(self.rest, self.model, self.y)
        from scipy.optimize import minimize_scalar

        res = minimize_scalar(loss, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-4})
        return float(res.x) if res.fun < loss(0.0) else 0.0


def _best_share_accuracy(R, M, y):
    """The smallest share a in [0, 1] at which (1 - a) R + a M classifies most samples right.

    Exact: sample i is right where its true class's line R_t + a (M_t - R_t) lies above every
    other class's line, an interval of a; the best share is where most intervals overlap."""
    rows = np.arange(len(y))
    Rt, Mt = R[rows, y][:, None], M[rows, y][:, None]
    A = (Rt - R).astype(np.float64)                      # margin at a = 0
    B = (Mt - M).astype(np.float64) - A                  # its change per unit of a
    with np.errstate(divide="ignore", invalid="ignore"):
        root = -A / B
    lo = np.where(B > 0, root, -np.inf).max(axis=1)
    hi = np.where(B < 0, root, np.inf).min(axis=1)
    never = ((B == 0) & (A < 0)).any(axis=1)             # a class above the true one throughout
    lo, hi = np.maximum(lo, 0.0), np.minimum(hi, 1.0)
    ok = ~never & (lo <= hi)
    lo, hi = np.sort(lo[ok]), np.sort(hi[ok])
    # the count is constant between consecutive ends: try 0 and the middle of each piece
    # (not the ends themselves, where two classes tie)
    ends = np.unique(np.concatenate([[0.0, 1.0], lo, hi]))
    candidates = np.concatenate([[0.0], (ends[:-1] + ends[1:]) / 2])
    right = np.searchsorted(lo, candidates, side="right") - np.searchsorted(hi, candidates, side="left")
    return float(candidates[int(np.argmax(right))])


def _support(d):
    """The fewest samples whose removal cancels the net gain sum(d) (0 when there is none)."""
    total = float(d.sum())
    if total <= 0:
        return 0
    return int(np.searchsorted(np.cumsum(np.sort(d)[::-1]), total) + 1)


# ---------------------------------------------------------------------------------------
# diversity


def diversity(predictions, y, task=None, as_frame=True):
    """How different the models are, pair by pair, on data with targets ``y``.

    Returns a table with one row per pair: ``disagreement`` (classification: share of samples
    where their predicted classes differ) and ``error_correlation`` (correlation of their
    per-sample errors: one minus the probability of the true class, or the residual). Models
    whose errors correlate less are the ones that make an ensemble pay.
    """
    names, arrays = _arrays(predictions)
    task = task or _infer_task(arrays, y)
    P, _ = _stack(names, arrays, task)
    m, n, k = P.shape
    y = _labels(y, task, n, k, "y")
    if task == "classification":
        err = 1.0 - P[:, np.arange(n), y]
        cls = P.argmax(axis=2)
    else:
        err = (P - y[None]).mean(axis=2)
        cls = None
    rows = []
    for a in range(m):
        for b in range(a + 1, m):
            sa, sb = err[a].std(), err[b].std()
            corr = float(np.corrcoef(err[a], err[b])[0, 1]) if sa > 0 and sb > 0 else None
            rows.append({"model_a": names[a], "model_b": names[b],
                         "disagreement": None if cls is None else float((cls[a] != cls[b]).mean()),
                         "error_correlation": corr})
    return _table(rows, as_frame)


# ---------------------------------------------------------------------------------------
# members: predictions from heterogeneous models


def _is_keras_model(model) -> bool:
    return any(c.__module__.startswith("keras") for c in type(model).__mro__)


def predictions(models, x, batch_size=256) -> dict:
    """Predictions of several models on the same ``x``, ready for :func:`fit_ensemble`.

    ``models`` maps names to Keras models (``predict``), scikit-learn estimators
    (``predict_proba`` for classifiers, ``predict`` otherwise) or functions ``f(x)``.
    """
    from kerascraft.data import as_float32

    if not hasattr(models, "items") or len(models) == 0:
        raise TypeError("models must map names to models (a non-empty dict / named list).")
    keras_models = any(_is_keras_model(m) for m in models.values())
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
    if _is_keras_model(model):
        return np.asarray(model.predict(x32, batch_size=batch_size, verbose=0))
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(x))
    if hasattr(model, "predict"):
        return np.asarray(model.predict(x))
    if callable(model):
        return np.asarray(model(x))
    raise TypeError(f"model '{name}' ({type(model).__name__}) has no predict_proba(), "
                    "predict() and is not a function.")


def fit_gradient_boosting(x, y, task="classification", seed=0, **params):
    """A scikit-learn histogram gradient-boosted tree model, a member unlike the networks.

    Early stopping on an internal 10% split is on by default; ``params`` go to
    ``HistGradientBoostingClassifier`` / ``HistGradientBoostingRegressor``.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}.")
    cls = HistGradientBoostingClassifier if task == "classification" else HistGradientBoostingRegressor
    params.setdefault("early_stopping", True)
    params.setdefault("random_state", seed)
    y = target_values(y)
    if task == "classification":
        y = y.reshape(-1).astype(np.int64)
    return cls(**params).fit(np.asarray(x, dtype=np.float64), y)


# ---------------------------------------------------------------------------------------
# plots (matplotlib)


def plot_ensemble(ensemble):
    """Bar chart of the weights (with the fold spread when fitted with ``cv``)."""
    from matplotlib.figure import Figure

    rows = ensemble.model_rows
    fig = Figure(figsize=(6, 0.4 * len(rows) + 1.2))
    ax = fig.subplots()
    ypos = np.arange(len(rows))[::-1]
    err = [r.get("cv_weight_sd", 0) or 0 for r in rows] if ensemble.fold_weights is not None else None
    ax.barh(ypos, [r["weight"] for r in rows], xerr=err,
            color=["tab:red" if r.get("fragile") else "tab:blue" for r in rows])
    ax.set_yticks(ypos, [r["model"] for r in rows])
    ax.set_xlabel("weight")
    ax.set_title(f"Ensemble weights ({ensemble.method}); red: gain rests on few samples")
    fig.tight_layout()
    return fig


def plot_diversity(table):
    """Heat map of the pairwise error correlations of :func:`diversity`."""
    from matplotlib.figure import Figure

    cols = table if isinstance(table, dict) else {c: list(table[c]) for c in table.columns}
    names = list(dict.fromkeys(cols["model_a"] + cols["model_b"]))
    M = np.eye(len(names))
    for a, b, c in zip(cols["model_a"], cols["model_b"], cols["error_correlation"]):
        i, j = names.index(a), names.index(b)
        M[i, j] = M[j, i] = np.nan if c is None else c
    fig = Figure(figsize=(1 + 0.6 * len(names), 0.6 * len(names) + 0.8))
    ax = fig.subplots()
    im = ax.imshow(M, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    fig.colorbar(im, ax=ax, label="error correlation")
    fig.tight_layout()
    return fig
