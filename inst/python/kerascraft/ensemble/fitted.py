"""The fitted :class:`Ensemble` (predict, evaluate, JSON) and :func:`fit_ensemble`."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar

from kerascraft.direction import Direction
from kerascraft.ensemble.checks import as_arrays, check_labels, infer_task, stack_predictions
from kerascraft.ensemble.methods import FITTERS, check_method, folds
from kerascraft.ensemble.metrics import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    log_loss_rows,
    metric_value,
    sample_losses,
)
from kerascraft.ensemble.scoring import Scorer, public_prediction

#: the version of the JSON format save() writes
_FORMAT_VERSION = 1


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
        self.task, self.metric = task, metric
        self.direction = Direction.of(direction).value  # a plain "min" or "max" for users
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
        names, arrays = as_arrays({n: predictions[n] for n in present}, what)
        P, _ = stack_predictions(names, arrays, self.task,
                      self.n_classes if self.task == "classification" else None, what)
        if self.task == "regression" and P.shape[2] != self.output_dim:
            raise ValueError(f"{what} have {P.shape[2]} output(s); the ensemble was fitted "
                             f"on {self.output_dim}.")
        return names, P

    def _combine(self, names, P, weights=None):
        w = self._w if weights is None else weights
        w = np.array([w[self.names.index(n)] for n in names])
        scorer = Scorer(P, None, "mse", Direction.MIN, self.power, self.binary_1d, self.task)
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
        y = check_labels(y_test, self.task, P.shape[1], k, "y_test")
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
                r[m] = metric_value(m, y, pred)
            if custom:
                r[custom] = float(self.metric(y, public_prediction(pred, self.task, self.binary_1d)))
            rows.append(r)

        row(f"ensemble ({self.method})", "ensemble", 1.0, self._combine(names, P))
        row("mean", "mean", None, self._combine(names, P, np.full(len(self.names), 1 / len(self.names))))
        val = {r["model"]: r["val_score"] for r in self.model_rows}
        sign = Direction.of(self.direction).loss_sign
        for n in sorted(names, key=lambda n: sign * val.get(n, 0)):
            row(n, "single", self.weights[n], P[names.index(n)])
        return as_table(rows, as_frame)

    def models(self, as_frame=True):
        """One row per model: ``weight``, ``used``, ``val_score`` (alone, on validation),
        ``gain`` (how much worse the ensemble's validation score is without it),
        ``support`` (the fewest validation samples whose removal would cancel that gain),
        ``weight_without_top`` (its weight refitted against the rest without the
        max(5, 1%) validation samples where it helps most), ``fragile`` (that weight falls
        below a tenth: the weight rests on a handful of samples), and with ``cv`` the mean
        and spread of its fold weights."""
        return as_table(self.model_rows, as_frame)

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


def as_table(rows, as_frame):
    columns = {}
    for r in rows:
        for k in r:
            columns.setdefault(k, [])
    for r in rows:
        for k in columns:
            columns[k].append(r.get(k))
    if not as_frame:
        return columns
    return pd.DataFrame(columns)


def _resolve_metric(metric, task, direction, k):
    if metric is None:
        metric = "log_loss" if task == "classification" else "mse"
    if callable(metric):
        if direction is None:
            raise ValueError("a metric function needs direction='min' (lower is better, like "
                             "a loss) or direction='max' (like accuracy).")
        return metric, Direction.of(direction)
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
        raise ValueError(f"metric {metric!r} is {known[metric].verb}; "
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
    check_method(method)
    if task not in (None, "classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}.")
    if not (isinstance(power, (int, float)) and math.isfinite(power) and power > 0):
        raise ValueError(f"power must be a positive number (1 = arithmetic mean), got {power!r}.")
    names, arrays = as_arrays(predictions)
    task = task or infer_task(arrays, y_val)
    P, binary_1d = stack_predictions(names, arrays, task)
    del arrays
    m, n, k = P.shape
    y = check_labels(y_val, task, n, k)
    metric, direction = _resolve_metric(metric, task, direction, k)
    options = {"init_size": init_size, "max_iter": max_iter, "n_samples": n_samples,
               "max_evals": max_evals, "seed": seed, "cv": cv}
    fit = FITTERS[method]
    scorer = Scorer(P, y, metric, direction, power, binary_1d, task)
    sign = scorer.sign
    if m == 1:
        warnings.warn(f"only one model ('{names[0]}'): the ensemble is that model alone "
                      "(weight 1). Add models to combine.", stacklevel=2)
        weights, history = np.ones(1), None
    else:
        weights, history = fit(scorer, m, **options)

    fold_weights, scores = None, {}
    if cv is not None and m > 1:
        cv = _check_cv(cv, y, task, k)

        def scorer_on(idx):
            return Scorer(P[:, idx], y[idx], metric, direction, power, binary_1d, task)

        fold_weights, oof = _cross_fit(fit, scorer_on, y, task, cv, seed, m, options)
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
        lead = (sample_losses(scorer.metric, y, P[best]) - sample_losses(scorer.metric, y, ens_pred))
        scores["lead_support"] = _support(lead)
    rows, top = _model_rows(scorer, names, weights, single, fold_weights, ens_pred)
    options["fragile_top"] = top
    return Ensemble(names, weights, task=task, metric=metric, direction=direction,
                    power=float(power), n_classes=k if task == "classification" else None,
                    output_dim=k if task == "regression" else None, binary_1d=binary_1d,
                    method=method, options=options, scores=scores, model_rows=rows,
                    history=history, fold_weights=fold_weights, n_val=n, meta=meta)


def _check_cv(cv, y, task, k) -> int:
    cv, n = int(cv), len(y)
    if cv < 2 or cv > n // 2:
        raise ValueError(f"cv must be a number of folds between 2 and {n // 2} (half the "
                         f"validation samples); got {cv}.")
    if task == "classification":
        counts = np.bincount(y, minlength=k)
        present = counts[counts > 0]
        if present.min() < cv:
            raise ValueError(f"cv={cv} folds need at least {cv} validation samples per "
                             f"class; the rarest class has {present.min()}.")
    return cv


def _cross_fit(fit, scorer_on, y, task, cv, seed, m, options):
    """Weights fitted on each fold's complement (one row per fold), and the out-of-fold
    prediction each fold's weights make on it."""
    n = len(y)
    fold_weights, oof = [], None
    for test_idx in folds(y, task, cv, seed):
        w_f, _ = fit(scorer_on(np.setdiff1d(np.arange(n), test_idx)), m, **options)
        fold_weights.append(w_f)
        pred = scorer_on(test_idx).combine(w_f)
        if oof is None:
            oof = np.empty((n,) + pred.shape[1:], dtype=np.float64)
        oof[test_idx] = pred
    return np.vstack(fold_weights), oof


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
            return _best_share_accuracy(self.rest, self.model, self.y)
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
