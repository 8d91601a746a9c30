"""The weight-fitting methods: each returns a weight vector (and a history where there is one).

A new method is a function ``_fit_<name>(scorer, m, **options)`` registered in
:data:`FITTERS`; :func:`kerascraft.ensemble.fit_ensemble` then accepts ``method="<name>"``."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from kerascraft.errors import InputError


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


FITTERS = {"mean": _fit_mean, "greedy": _fit_greedy, "nelder_mead": _fit_nelder_mead,
            "random": _fit_random}


def folds(y, task, k, seed):
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

#: the methods fit_ensemble() accepts: the weighted means of FITTERS, and "stack" (a
#: meta-learner, :mod:`kerascraft.ensemble.stacking`)
METHODS = tuple(sorted([*FITTERS, "stack"]))


def check_method(method):
    """Refuse an ensemble method that is not in :data:`FITTERS`, listing those that are."""
    if method not in METHODS:
        raise InputError(f"method {method!r} is not known; choose one of {list(METHODS)}.")
