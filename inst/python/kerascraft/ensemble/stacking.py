"""The stacking method (``method="stack"``): a regularised linear meta-learner on the
members' predictions, its regularisation chosen by inner cross-validation.

Classification: a multinomial logistic model whose inputs are the members' log
probabilities, one non-negative coefficient per member shared by the classes, plus one
intercept per class::

    p(c | x)  proportional to  exp(b_c + sum_j a_j log p_j(c | x))

a weighted geometric mean of the members that may sharpen or soften it (``sum a_j`` is an
inverse temperature) and shift the classes' base rates (``b``): what the weighted mean
cannot do (recalibrate), with m + k parameters instead of the (m k + 1) k of a logistic
regression on every member's every column (which on a validation set of a few dozen
samples has more parameters than samples). Regression: ``b + sum_j a_j f_j(x)``, a >= 0.

The penalty ``lam * (|a - a0|^2 + |b|^2)`` pulls towards an anchor ``a0``: the greedy
ensemble's weights (Caruana's selection, fitted on the same rows with the stack's loss), or
all members with equal weights (their geometric mean; the plain mean for regression). The
anchor and ``lam`` are the pair with the lowest inner cross-validated loss (log loss, or
mean squared error relative to the targets' variance); the greedy anchor is refitted on
each inner fold's training rows, so it is judged on rows it has not seen.

With strong regularisation the stack *is* the anchor, a guard only as good as the inner
cross-validation's choice: on 114 validation rows that the members separate almost
perfectly it chose the weakest regularisation, the coefficients summed to 4-5 (sharpening),
and one test sample that every member doubted cost more than all the others (breast
cancer, validation route, 12 seeds: median test log loss 0.078 against greedy's 0.060).

The best single member was the other anchor before: on small sets it is often chosen on
noise and a stack held to it inherits its confident mistakes, where the greedy weights
contain it when nothing beats it (``bench/ensembles.py quality``, the same cross-fitted
members before and after, median test log loss over 12 seeds: wine 0.045 -> 0.038, lower
in 7 seeds and higher in 2; breast cancer 0.058 -> 0.056, 8 and 4).

NumPy and SciPy only.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax

from kerascraft.ensemble.metrics import EPS

#: the regularisation strengths tried by inner cross-validation
LAMBDAS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
#: inner folds, and the most samples the inner cross-validation uses (drawn at random; the
#: final fit uses every sample): on large sets the choice of 2 anchors x 6 strengths barely
#: depends on the sample, and 10,000 keeps the 60 inner fits' cost that of one fit on 300,000
INNER_FOLDS = 5
INNER_MAX_SAMPLES = 10_000


#: the regularisation's centres tried by inner cross-validation (stacks saved before the
#: greedy anchor may say "best single")
ANCHORS = ("greedy weights", "equal weights")


class Stack:
    """Fitted coefficients: ``coef`` (m,) >= 0, ``intercept`` (k,) or (d,), ``lam``, and
    ``anchor`` (one of :data:`ANCHORS`: what the regularisation pulls towards)."""

    def __init__(self, coef, intercept, lam, task, anchor=ANCHORS[0]):
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.lam, self.task, self.anchor = float(lam), task, anchor

    def predict(self, P):
        """The combined prediction of member predictions ``P`` (m, n, k): probabilities
        (n, k) or regression outputs (n, d)."""
        return _predict(self.coef, self.intercept, _features(P, self.task), self.task)

    def to_dict(self):
        return {"coef": self.coef.tolist(), "intercept": self.intercept.tolist(),
                "lam": self.lam, "task": self.task, "anchor": self.anchor}

    @classmethod
    def from_dict(cls, d):
        return cls(d["coef"], d["intercept"], d["lam"], d["task"], d.get("anchor", "best single"))

    def subset(self, present):
        """The stack over the members at indices ``present`` only."""
        return Stack(self.coef[present], self.intercept, self.lam, self.task, self.anchor)


def _features(P, task):
    """Classification: log probabilities in float32 (the products over n x k entries are
    most of the cost; sums are taken in float64); regression: the outputs in float64."""
    if task == "classification":
        return np.log(np.maximum(np.asarray(P, dtype=np.float32), np.float32(EPS)))
    return np.asarray(P, dtype=np.float64)


def _predict(a, b, X, task):
    z = np.tensordot(np.asarray(a, dtype=X.dtype), X, axes=1) + np.asarray(b, dtype=X.dtype)
    if task == "classification":
        return np.exp(log_softmax(z.astype(np.float64), axis=1))
    return z


def _objective(theta, X, y, a0, lam, task, scale):
    """Penalised loss and its gradient; theta = [a (m), b (k)]; ``y``: class indices, or
    (n, d) targets."""
    m = X.shape[0]
    a, b = theta[:m], theta[m:]
    z = np.tensordot(a.astype(X.dtype), X, axes=1) + b.astype(X.dtype)   # (n, k)
    n = z.shape[0]
    if task == "classification":
        logp = log_softmax(z, axis=1)
        rows = np.arange(n)
        loss = -float(logp[rows, y].sum(dtype=np.float64)) / n
        r = np.exp(logp)
        r[rows, y] -= 1                                                    # d loss / d z, x n
        r /= n
    else:
        r0 = z - y
        loss = float(np.sum(r0 ** 2)) / (n * scale)
        r = 2 * r0 / (n * scale)
    ga = np.tensordot(X, r, axes=([1, 2], [0, 1])).astype(np.float64)
    gb = r.sum(axis=0, dtype=np.float64)
    loss += lam * (np.sum((a - a0) ** 2) + np.sum(b ** 2))
    ga += 2 * lam * (a - a0)
    gb += 2 * lam * b
    return loss, np.concatenate([ga, gb])


def _targets(y, task):
    if task == "classification":
        return np.asarray(y, dtype=np.int64)
    return np.asarray(y, dtype=np.float64)


def _solve(X, Y, a0, lam, task, scale, start=None):
    m, k = X.shape[0], X.shape[2]
    theta0 = np.concatenate([a0, np.zeros(k)]) if start is None else start
    res = minimize(_objective, theta0, args=(X, Y, a0, lam, task, scale), jac=True,
                   method="L-BFGS-B", bounds=[(0, None)] * m + [(None, None)] * k,
                   options={"maxiter": 500})
    return res.x


def _loss(theta, X, Y, task, scale):
    m = X.shape[0]
    return _objective(theta, X, Y, np.zeros(m), 0.0, task, scale)[0]


def fit_stack(P, y, task, greedy_of, folds_of, seed=0, lambdas=LAMBDAS):
    """Fit a :class:`Stack` to member predictions ``P`` (m, n, k) and targets ``y`` (class
    indices, or (n, d) numbers). ``greedy_of(rows)``: the greedy ensemble's weights (m,)
    fitted on those rows of ``P`` (one anchor); ``folds_of(y, k, seed)``: the inner folds.
    Returns ``(stack, history)``, the history holding each (anchor, ``lam``)'s inner
    cross-validated loss."""
    X = _features(P, task)
    m, n, k = X.shape
    Y = _targets(y, task)
    scale = float(np.var(Y)) if task == "regression" and np.var(Y) > 0 else 1.0

    def anchor_on(name, rows):
        return greedy_of(rows) if name == ANCHORS[0] else np.full(m, 1.0 / m)

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, INNER_MAX_SAMPLES, replace=False)) if n > INNER_MAX_SAMPLES \
        else np.arange(n)
    inner = folds_of(y[rows], INNER_FOLDS, seed)
    losses = {(anchor, lam): 0.0 for anchor in ANCHORS for lam in lambdas}
    for held in inner:
        train = rows[np.setdiff1d(np.arange(len(rows)), held)]
        for anchor in ANCHORS:
            a0 = anchor_on(anchor, train)
            theta = None
            for lam in sorted(lambdas, reverse=True):  # each fit starts from the stronger one's
                theta = _solve(X[:, train], Y[train], a0, lam, task, scale, start=theta)
                losses[anchor, lam] += _loss(theta, X[:, rows[held]], Y[rows[held]], task,
                                             scale) * len(held)
    history = [{"anchor": anchor, "lam": lam, "inner_cv_loss": float(loss / len(rows))}
               for (anchor, lam), loss in losses.items()]
    chosen = min(history, key=lambda h: h["inner_cv_loss"])
    theta = _solve(X, Y, anchor_on(chosen["anchor"], np.arange(n)), chosen["lam"], task, scale)
    coef = np.where(theta[:m] < 1e-8, 0.0, theta[:m])  # at the bound: unused members
    return Stack(coef, theta[m:], chosen["lam"], task, chosen["anchor"]), history
