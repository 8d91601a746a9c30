"""Ensemble metrics: their directions, values and per-sample losses (NumPy only)."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from kerascraft.direction import Direction
from kerascraft.errors import InputError

CLASSIFICATION_METRICS = {"log_loss": Direction.MIN, "accuracy": Direction.MAX, "auc": Direction.MAX}
REGRESSION_METRICS = {"mse": Direction.MIN, "rmse": Direction.MIN, "mae": Direction.MIN}
EPS = float(np.finfo(np.float64).eps)  # the floor scikit-learn's log_loss uses for float64


def format_score(metric, value) -> str:
    """Accuracy with 4 decimals (a sample is often 0.003); other scores to 4 digits."""
    return f"{value:.4f}" if metric == "accuracy" else f"{value:.4g}"


def log_loss_rows(p_true):
    """-log of the probabilities of the true classes (floored at float64 eps, as scikit-learn does)."""
    return -np.log(np.maximum(p_true, EPS))


def _auc(y, score):
    """Area under the ROC curve from ranks (Mann-Whitney), ties averaged."""
    y = np.asarray(y)
    n_pos = int((y == 1).sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise InputError("AUC needs both classes among the labels; these labels have only one.")
    ranks = rankdata(score)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def metric_value(metric, y, pred):
    """``metric`` of the internal prediction ``pred`` ((n, k) probabilities or (n, d))."""
    if metric == "log_loss":
        return float(log_loss_rows(pred[np.arange(len(y)), y]).mean())
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
    raise InputError(f"unknown metric {metric!r}")


def sample_losses(metric, y, pred):
    """Per-sample losses (lower is better) whose mean moves with the metric, or None when
    the metric does not decompose over samples (AUC, a user's function)."""
    if metric == "log_loss":
        return log_loss_rows(pred[np.arange(len(y)), y])
    if metric == "accuracy":
        return (pred.argmax(axis=1) != y).astype(np.float64)
    if metric in ("mse", "rmse"):
        return np.mean((pred - y) ** 2, axis=1)
    if metric == "mae":
        return np.mean(np.abs(pred - y), axis=1)
    return None
