"""What each member brings to a fitted ensemble: its gain, on how many validation samples
that gain rests (support), and whether its weight survives losing those samples."""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar

from kerascraft.ensemble.metrics import log_loss_rows, sample_losses


def model_rows(scorer, names, weights, single, fold_weights, ens_pred):
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
                r["support"] = support(d)
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

    def __init__(self, scorer, total, w, j, as_arrays=None):
        self.scorer = scorer
        if as_arrays is not None:
            self.y, self.rest, self.model = as_arrays
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
            return log_loss_rows(self.rest + np.float32(a) * (self.model - self.rest))
        return sample_losses(self.scorer.metric, self.y, self.pred(a))

    def best_share(self):
        """The share a that minimises the mean per-sample loss (0 when the model adds nothing)."""
        loss = lambda a: float(self.losses(a).mean(dtype=np.float64))  # noqa: E731
        if self.scorer.metric == "accuracy":  # a step function: a grid, not a line search
            if self.scorer.power != 1:
                grid = np.linspace(0, 1, 21)
                return float(grid[int(np.argmin([loss(a) for a in grid]))])
            return best_share_accuracy(self.rest, self.model, self.y)
        res = minimize_scalar(loss, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-4})
        return float(res.x) if res.fun < loss(0.0) else 0.0


def best_share_accuracy(R, M, y):
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


def support(d):
    """The fewest samples whose removal cancels the net gain sum(d) (0 when there is none)."""
    total = float(d.sum())
    if total <= 0:
        return 0
    return int(np.searchsorted(np.cumsum(np.sort(d)[::-1]), total) + 1)


def stack_rows(scorer, names, stack, weights, single, fold_weights):
    """The rows of :func:`model_rows` for a stacked ensemble: its share (:meth:`Stack.shares`)
    as the weight, and the gain and support of dropping the member (its coefficient set to
    zero and its greedy weight dropped, the rest kept). A stack is not a mean, so the share
    refitted without the most favourable samples (``weight_without_top``) is not computed."""
    full = stack.predict(scorer.P)
    decomposes = not scorer.callable and scorer.metric != "auc"
    rows = []
    for j, name in enumerate(names):
        r = {"model": name, "weight": float(weights[j]), "used": bool(weights[j] > 0),
             "val_score": float(single[j]), "gain": None, "support": None,
             "weight_without_top": None, "fragile": None}
        if weights[j] > 0 and len(names) > 1:
            others = [i for i in range(len(names)) if i != j]
            without = stack.subset(others).predict(scorer.P[others])
            r["gain"] = scorer.sign * (scorer.value(without) - scorer.value(full))
            if decomposes:
                r["support"] = support(sample_losses(scorer.metric, scorer.y, without)
                                       - sample_losses(scorer.metric, scorer.y, full))
        if fold_weights is not None:
            r["cv_weight_mean"] = float(fold_weights[:, j].mean())
            r["cv_weight_sd"] = float(fold_weights[:, j].std(ddof=1))
        rows.append(r)
    return rows


def compare_on_test(y, ensemble_pred, single_pred, task, n_boot=2000, seed=0) -> dict:
    """The ensemble against one model on test data, as a user should read it: each one's
    headline metric (accuracy with the samples it gets right, or MSE), its loss per sample
    (log loss, or squared error), and the ensemble's lead in that loss (single minus
    ensemble: positive when the ensemble is ahead) with a 95% bootstrap interval over the
    test samples, so that a difference of a few samples shows as such."""
    y = np.asarray(y)
    n = len(y)
    ensemble_pred, single_pred = (_as_rows(p, n, task) for p in (ensemble_pred, single_pred))
    if task == "regression":
        y = y.reshape(n, -1).astype(np.float64)
    out = {"n": n}
    if task == "classification":
        right_e = ensemble_pred.argmax(axis=1) == y
        right_s = single_pred.argmax(axis=1) == y
        out.update(metric="accuracy", ensemble=float(right_e.mean()),
                   single=float(right_s.mean()), ensemble_right=int(right_e.sum()),
                   single_right=int(right_s.sum()), differ=int((right_e != right_s).sum()),
                   loss="log_loss")
    else:
        out.update(metric="mse", loss="mse")
    loss_e = sample_losses(out["loss"], y, ensemble_pred)
    loss_s = sample_losses(out["loss"], y, single_pred)
    if task == "regression":
        out.update(ensemble=float(loss_e.mean()), single=float(loss_s.mean()))
    lead = loss_s - loss_e
    rng = np.random.default_rng(seed)
    means = np.array([lead[rng.integers(0, n, n)].mean() for _ in range(int(n_boot))])
    lo, hi = np.percentile(means, [2.5, 97.5])
    out.update(ensemble_loss=float(loss_e.mean()), single_loss=float(loss_s.mean()),
               lead=float(lead.mean()), lead_low=float(lo), lead_high=float(hi))
    return out


def _as_rows(pred, n, task):
    """(n, k) probabilities (a binary vector as two columns) or (n, d) outputs."""
    pred = np.asarray(pred, dtype=np.float64).reshape(n, -1)
    if task == "classification" and pred.shape[1] == 1:
        pred = np.hstack([1 - pred, pred])
    return pred


def lead_statement(c, single_name) -> str:
    """One sentence a user can act on, from :func:`compare_on_test`."""
    name = "log loss" if c["loss"] == "log_loss" else "squared error"
    interval = f"95% interval {c['lead_low']:+.3g} to {c['lead_high']:+.3g} over {c['n']} test samples"
    if c["lead_low"] > 0:
        return (f"the ensemble's lower {name} than {single_name} holds across the test "
                f"samples ({interval})")
    if c["lead_high"] < 0:
        return (f"{single_name} alone has the lower {name}, across the test samples "
                f"({interval}): use it, or more diverse members")
    return (f"the ensemble and {single_name} are not told apart by these test samples "
            f"({name} lead {c['lead']:+.3g}, {interval})")
