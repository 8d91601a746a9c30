"""The weighted combination of predictions and its score on the validation labels."""

from __future__ import annotations

import numpy as np

from kerascraft.direction import Direction
from kerascraft.ensemble.metrics import EPS, log_loss_rows, metric_value


class Scorer:
    """Scores weight vectors on fixed predictions P (m, n, k) and targets y."""

    def __init__(self, P, y, metric, direction, power, binary_1d, task):
        self.P, self.y, self.metric, self.power = P, y, metric, power
        self.sign = Direction.of(direction).loss_sign
        self.task, self.binary_1d = task, binary_1d
        self.callable = callable(metric)
        # log loss of a weighted mean needs only each model's probability of the true class
        self.fast = metric == "log_loss" and power == 1
        if self.fast:
            self.T = np.ascontiguousarray(P[:, np.arange(P.shape[1]), y])  # (m, n)
        self.F = P if power == 1 else np.power(np.clip(P, EPS, None), power)

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
        return metric_value(self.metric, self.y, pred)

    def loss(self, w):
        """sign * metric: lower is better."""
        if self.fast:
            w = np.asarray(w, dtype=np.float32)
            p = (w / w.sum()) @ self.T
            np.maximum(p, EPS, out=p)
            return float(-np.log(p, out=p).mean(dtype=np.float64))
        return self.sign * self.value(self.combine(w))

    def losses_of_candidates(self, counts):
        """Loss after adding one more of each model to integer ``counts``."""
        total = counts.sum() + 1
        if self.fast:
            s = counts.astype(np.float32) @ self.T
            buf = np.add(self.T, s[None, :])  # in place from here: this runs per addition
            buf *= np.float32(1.0 / total)
            np.maximum(buf, EPS, out=buf)
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
                out.append(log_loss_rows((Wc @ self.T) / Wc.sum(axis=1, keepdims=True)).mean(axis=1))
            return np.concatenate(out).astype(np.float64)
        return np.array([self.loss(w) for w in W])


def public_prediction(pred, task, binary_1d):
    """Internal (n, k) / (n, d) predictions in the shape the user gave: a vector for binary
    probabilities given as vectors and for single-output regression given as vectors."""
    if binary_1d:
        return pred[:, 1] if task == "classification" else pred[:, 0]
    return pred
