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
A geometric mean also lets one confidently wrong member veto a class, which the greedy
ensemble's arithmetic mean (a linear pool) does not. No inner cross-validation on such a
set can see either risk (its loss was 0.008 where the test's was 0.46), so a
classification stack keeps a **defensive share** of the greedy ensemble, fixed rather than
learned::

    p_final = (1 - DEFENCE) p_stack + DEFENCE p_greedy

which bounds every sample's loss: at most ``log(1 / DEFENCE)`` nats above the greedy
ensemble's and ``log(1 / (1 - DEFENCE))`` above the stack alone's. The inner
cross-validation judges the mixture (the greedy weights refitted on each inner fold's
training rows). Measured on the same predictions: breast cancer 0.078 -> 0.066 (lower in 9
of 12 seeds), wine 0.0198 -> 0.0209 (its premium, higher in 9).

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

#: the greedy ensemble's share in a classification stack's probabilities (see above): no
#: sample costs more than log(10) = 2.3 nats above the greedy ensemble's loss, nor more than
#: log(1 / 0.9) = 0.105 above the stack alone's
DEFENCE = 0.1


class Stack:
    """Fitted coefficients: ``coef`` (m,) >= 0, ``intercept`` (k,) or (d,), ``lam``,
    ``anchor`` (one of :data:`ANCHORS`: what the regularisation pulls towards), and for
    classification the greedy ensemble's weights ``pool`` (m,) with their share
    ``defence`` (:data:`DEFENCE`; 0 in stacks saved before it)."""

    def __init__(self, coef, intercept, lam, task, anchor=ANCHORS[0], pool=None, defence=0.0):
        self.coef = np.asarray(coef, dtype=np.float64)
        self.intercept = np.asarray(intercept, dtype=np.float64)
        self.lam, self.task, self.anchor = float(lam), task, anchor
        self.pool = None if pool is None else np.asarray(pool, dtype=np.float64)
        self.defence = float(defence) if self.pool is not None else 0.0

    def predict(self, P):
        """The combined prediction of member predictions ``P`` (m, n, k): probabilities
        (n, k) or regression outputs (n, d)."""
        p = _predict(self.coef, self.intercept, _features(P, self.task), self.task)
        return _defended(p, _pooled(self.pool, P) if self.defence else None, self.defence)

    def shares(self):
        """Each member's share of the prediction: its share of the coefficients, and of
        the greedy ensemble in the defensive part (non-negative, summing to one)."""
        m, total = len(self.coef), self.coef.sum()
        own = self.coef / total if total > 0 else np.full(m, 1.0 / m)
        return own if self.pool is None else (1 - self.defence) * own + self.defence * self.pool

    def to_dict(self):
        d = {"coef": self.coef.tolist(), "intercept": self.intercept.tolist(),
             "lam": self.lam, "task": self.task, "anchor": self.anchor}
        if self.pool is not None:
            d.update(pool=self.pool.tolist(), defence=self.defence)
        return d

    @classmethod
    def from_dict(cls, d):
        return cls(d["coef"], d["intercept"], d["lam"], d["task"], d.get("anchor", "best single"),
                   d.get("pool"), d.get("defence", 0.0))

    def subset(self, present):
        """The stack over the members at indices ``present`` only (the greedy weights
        renormalised over them; none left: no defensive part)."""
        pool = None
        if self.pool is not None and self.pool[present].sum() > 0:
            pool = self.pool[present] / self.pool[present].sum()
        return Stack(self.coef[present], self.intercept, self.lam, self.task, self.anchor,
                     pool, self.defence)


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


def _pooled(pool, P):
    """The greedy ensemble's probabilities: the members' ``P`` (m, n, k) weighted by ``pool``."""
    P = np.asarray(P)
    return np.tensordot(np.asarray(pool, dtype=P.dtype), P, axes=1).astype(np.float64)


def _defended(p, greedy_p, defence):
    """The stack's probabilities with the greedy ensemble's share."""
    return p if greedy_p is None else (1 - defence) * p + defence * greedy_p


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


def _loss(theta, X, Y, task, scale, greedy_p=None, defence=0.0):
    """The unpenalised loss of the stack ``theta`` on these rows; with the greedy
    ensemble's probabilities ``greedy_p`` on them, that of the defended mixture."""
    m = X.shape[0]
    if greedy_p is None:
        return _objective(theta, X, Y, np.zeros(m), 0.0, task, scale)[0]
    p = _defended(_predict(theta[:m], theta[m:], X, task), greedy_p, defence)
    return -float(np.mean(np.log(np.maximum(p[np.arange(len(Y)), Y], EPS))))


def fit_stack(P, y, task, greedy_of, folds_of, seed=0, lambdas=LAMBDAS, defence=DEFENCE):
    """Fit a :class:`Stack` to member predictions ``P`` (m, n, k) and targets ``y`` (class
    indices, or (n, d) numbers). ``greedy_of(rows)``: the greedy ensemble's weights (m,)
    fitted on those rows of ``P`` (one anchor, and the defensive share's pool);
    ``folds_of(y, k, seed)``: the inner folds. Returns ``(stack, history)``, the history
    holding each (anchor, ``lam``)'s inner cross-validated loss."""
    X = _features(P, task)
    m, n, k = X.shape
    Y = _targets(y, task)
    scale = float(np.var(Y)) if task == "regression" and np.var(Y) > 0 else 1.0
    defence = defence if task == "classification" else 0.0
    equal = np.full(m, 1.0 / m)

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, INNER_MAX_SAMPLES, replace=False)) if n > INNER_MAX_SAMPLES \
        else np.arange(n)
    inner = folds_of(y[rows], INNER_FOLDS, seed)
    losses = {(anchor, lam): 0.0 for anchor in ANCHORS for lam in lambdas}
    for held in inner:
        train = rows[np.setdiff1d(np.arange(len(rows)), held)]
        greedy, out = greedy_of(train), rows[held]  # the greedy anchor, and the pool
        greedy_p = _pooled(greedy, P[:, out]) if defence else None  # once per fold
        for anchor in ANCHORS:
            a0 = greedy if anchor == ANCHORS[0] else equal
            theta = None
            for lam in sorted(lambdas, reverse=True):  # each fit starts from the stronger one's
                theta = _solve(X[:, train], Y[train], a0, lam, task, scale, start=theta)
                losses[anchor, lam] += _loss(theta, X[:, out], Y[out], task, scale,
                                             greedy_p, defence) * len(held)
    history = [{"anchor": anchor, "lam": lam, "inner_cv_loss": float(loss / len(rows))}
               for (anchor, lam), loss in losses.items()]
    chosen = min(history, key=lambda h: h["inner_cv_loss"])
    greedy = greedy_of(np.arange(n)) if defence or chosen["anchor"] == ANCHORS[0] else None
    a0 = greedy if chosen["anchor"] == ANCHORS[0] else equal
    theta = _solve(X, Y, a0, chosen["lam"], task, scale)
    coef = np.where(theta[:m] < 1e-8, 0.0, theta[:m])  # at the bound: unused members
    return Stack(coef, theta[m:], chosen["lam"], task, chosen["anchor"],
                 greedy if defence else None, defence), history
