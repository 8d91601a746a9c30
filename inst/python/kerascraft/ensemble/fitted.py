"""The fitted :class:`Ensemble` (predict, evaluate, JSON) and :func:`fit_ensemble`."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd

from kerascraft.direction import Direction
from kerascraft.ensemble.analysis import model_rows, stack_rows, support
from kerascraft.ensemble.checks import as_arrays, check_labels, infer_task, stack_predictions
from kerascraft.ensemble.methods import FITTERS, check_method, folds
from kerascraft.ensemble.metrics import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    metric_value,
    sample_losses,
)
from kerascraft.ensemble.scoring import Scorer, public_prediction
from kerascraft.ensemble.stacking import Stack, fit_stack
from kerascraft.errors import InputError, InputTypeError

#: the version of the JSON format save() writes: 2 adds the stacking meta-learner
#: (written only for method="stack", so that other ensembles stay readable by version 1),
#: 3 the stack's defensive share of the greedy ensemble (which version 2 readers would
#: silently drop)
_FORMAT_VERSION = 3
#: folds of the validation rows on which ``prefer_single`` compares the ensemble, fitted
#: without each fold, with the best single model
CHOICE_FOLDS = 5


class Ensemble:
    """A fitted ensemble: ``weights`` (name -> weight), ``predict()``, ``evaluate()``,
    ``models()`` (one row per model), ``summary()``, ``save()``.

    Made by :func:`fit_ensemble` or :func:`load_ensemble`; not meant to be built by hand.
    """

    def __init__(self, names, weights, *, task, metric, direction, power, n_classes,
                 output_dim, binary_1d, method, options=None, scores=None, model_rows=None,
                 history=None, fold_weights=None, n_val=None, meta=None, stack=None):
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
        #: method="stack": the meta-learner that combines the predictions (``weights`` are
        #: then its coefficients, normalised, as a reading aid)
        self.stack = Stack.from_dict(stack) if isinstance(stack, dict) else stack

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
            raise InputTypeError(f"{what} must map model names to arrays, like the predictions "
                            "the ensemble was fitted on.")
        missing = [n for n in self.used if n not in predictions]
        if missing:
            raise InputError(f"{what} lack the model(s) {missing}, which have weight in the "
                             f"ensemble. Give predictions for: {self.used}.")
        unknown = [n for n in predictions if n not in self.names]
        if unknown:
            raise InputError(f"{what} have model(s) the ensemble does not know: {unknown}. "
                             f"Its models are {self.names}.")
        present = [n for n in self.names if n in predictions]
        names, arrays = as_arrays({n: predictions[n] for n in present}, what)
        P, _ = stack_predictions(names, arrays, self.task,
                      self.n_classes if self.task == "classification" else None, what)
        if self.task == "regression" and P.shape[2] != self.output_dim:
            raise InputError(f"{what} have {P.shape[2]} output(s); the ensemble was fitted "
                             f"on {self.output_dim}.")
        return names, P

    def _combine(self, names, P, weights=None):
        if weights is None and self.stack is not None:
            present = [self.names.index(n) for n in names]
            return self.stack.subset(present).predict(P)
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
            raise InputError("evaluate() compares every model, so test_predictions need all "
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
        kept = s.get("choice", {}).get("kept", "ensemble")  # prefer_single's choice
        how = self.method if kept == "ensemble" else f"{kept} alone instead of the {self.method}"
        lines = [f"Ensemble of {len(self.used)} of {len(self.names)} models ({how}, "
                 f"{self.task}, metric {self.metric_name}"
                 + (f", power {self.power:g}" if self.power != 1 else "") + ")"]
        lines.append(f"  validation {self.metric_name}: ensemble {s['in_sample']:.4g}, "
                     f"mean {s['mean']:.4g}, best single {s['best_single']:.4g} "
                     f"({s['best_single_model']})")
        if s.get("lead_support") is not None:
            lines.append(f"  the ensemble's lead over {s['best_single_model']} rests on "
                         f"{s['lead_support']} of {self.n_val} validation samples")
        if self.stack is not None:
            lines.append(f"  stacked: weighted geometric mean with class intercepts, "
                         f"coefficients summing to {self.stack.coef.sum():.3g}, "
                         f"regularisation {self.stack.lam:g} towards {self.stack.anchor} "
                         "(inner cross-validation)"
                         if self.task == "classification" else
                         f"  stacked: non-negative linear combination with intercept, "
                         f"coefficients summing to {self.stack.coef.sum():.3g}, "
                         f"regularisation {self.stack.lam:g} towards {self.stack.anchor} "
                         "(inner cross-validation)")
        if self.stack is not None and self.stack.defence:
            d = self.stack.defence
            lines.append(f"  defensive share: {d:.0%} of its probabilities are the greedy "
                         f"ensemble's, so no sample costs more than {np.log(1 / d):.2g} nats "
                         "above the greedy ensemble's loss on it")
        if "choice" in s:
            c = s["choice"]
            lines.append(f"  kept {'the ensemble' if c['kept'] == 'ensemble' else c['kept'] + ' alone'}"
                         f": {c['why']}")
        if "cross_fitted" in s:
            lines.append(f"  cross-fitted ({self.options.get('cv')} folds) {s['cross_fitted']:.4g} "
                         f"against {s['in_sample']:.4g} in sample")
        fragile = [r["model"] for r in self.model_rows if r.get("fragile")]
        if fragile:
            lines.append(f"  {', '.join(fragile)}: weight(s) resting on at most "
                         f"{self.options.get('fragile_top')} validation samples (models(): "
                         "fragile); check the ensemble on held-out data before trusting "
                         "them, or fit with cv=5")
        width = max(len(n) for n in self.names)
        for r in self.model_rows:
            lines.append(f"  {r['model']:<{width}}  weight {r['weight']:.3f}  "
                         f"alone {r['val_score']:.4g}")
        if self.unused:
            lines.append(f"  unused: {', '.join(self.unused)}")
        return "\n".join(lines)

    def __repr__(self):
        return self.summary()

    # -- persistence: JSON, not pickles
    def to_dict(self) -> dict:
        if callable(self.metric):
            raise InputError("an ensemble fitted with a metric function cannot be saved as JSON "
                             "(functions are code); fit it with a named metric to save it.")
        version = 1 if self.stack is None else 3 if self.stack.defence else 2
        d = {"format": "kerascraft-ensemble", "version": version,
                "names": self.names, "weights": self._w.tolist(), "task": self.task,
                "metric": self.metric, "direction": self.direction, "power": self.power,
                "n_classes": self.n_classes, "output_dim": self.output_dim,
                "binary_1d": self.binary_1d, "method": self.method, "options": self.options,
                "scores": self.scores, "model_rows": self.model_rows, "history": self.history,
                "fold_weights": None if self.fold_weights is None else self.fold_weights.tolist(),
                "n_val": self.n_val, "meta": self.meta}
        if self.stack is not None:
            d["stack"] = self.stack.to_dict()
        return d

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
        raise InputError(f"{path} is not a kerascraft ensemble file (no 'format' field "
                         "'kerascraft-ensemble').")
    if d.get("version", 0) > _FORMAT_VERSION:
        raise InputError(f"{path} was written by a newer kerascraft (format {d['version']}); "
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
            raise InputError("a metric function needs direction='min' (lower is better, like "
                             "a loss) or direction='max' (like accuracy).")
        return metric, Direction.of(direction)
    known = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
    if metric not in known:
        other = REGRESSION_METRICS if task == "classification" else CLASSIFICATION_METRICS
        hint = f" ({metric!r} is a {'regression' if task == 'classification' else 'classification'} metric)" \
            if metric in other else ""
        raise InputError(f"metric {metric!r} is not available for {task}{hint}; choose one of "
                         f"{sorted(known)} or give a function metric(y_true, y_pred) with a direction.")
    if metric == "auc" and k != 2:
        raise InputError(f"metric 'auc' is for binary classification; these predictions have "
                         f"{k} classes. Use 'log_loss' or 'accuracy'.")
    if direction is not None and direction != known[metric]:
        raise InputError(f"metric {metric!r} is {known[metric].verb}; "
                         f"direction={direction!r} contradicts it (leave direction out).")
    return metric, known[metric]


def fit_ensemble(predictions, y_val, method="greedy", metric=None, task=None, power=1.0,
                 cv=None, seed=0, direction=None, init_size=3, max_iter=50, n_samples=2000,
                 max_evals=None, meta=None, prefer_single=False) -> Ensemble:
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
        prefer_single: keep the best single model alone (weight 1) unless the validation
            rows show the ensemble better: the ensemble is fitted without each of
            :data:`CHOICE_FOLDS` folds and predicts it, and its lead over the best single
            model, sample by sample, decides (:func:`single_or_ensemble`). What was kept
            and why: ``scores["choice"]``. Needs a metric with a loss per sample (not AUC
            or a function).

    Returns:
        :class:`Ensemble`.
    """
    check_method(method)
    if not (isinstance(power, (int, float)) and math.isfinite(power) and power > 0):
        raise InputError(f"power must be a positive number (1 = arithmetic mean), got {power!r}.")
    if method == "stack" and power != 1:
        raise InputError("method='stack' learns its own combination (a weighted geometric "
                         "mean with intercepts); power applies to the weighted means: leave "
                         "it at 1.")
    names, arrays = as_arrays(predictions)
    task = infer_task(arrays, y_val, task)
    P, binary_1d = stack_predictions(names, arrays, task)
    del arrays
    m, n, k = P.shape
    y = check_labels(y_val, task, n, k)
    metric, direction = _resolve_metric(metric, task, direction, k)
    options = {"init_size": init_size, "max_iter": max_iter, "n_samples": n_samples,
               "max_evals": max_evals, "seed": seed, "cv": cv}
    scorer = Scorer(P, y, metric, direction, power, binary_1d, task)
    single = [scorer.value(P[j]) for j in range(m)]
    best = int(np.argmin([scorer.sign * s for s in single]))
    if cv is not None and m > 1:
        cv = _check_cv(cv, y, task, k)
    route = _StackRoute(P, y, task, seed) if method == "stack" else \
        _WeightsRoute(scorer, FITTERS[method], options, (metric, direction, power, binary_1d, task))
    if m == 1:
        warnings.warn(f"only one model ('{names[0]}'): the ensemble is that model alone "
                      "(weight 1). Add models to combine.", stacklevel=2)
        fitted, history = route.alone(), None
    else:
        fitted, history = route.fit(np.arange(n))

    fold_weights, scores, oof = None, {}, None
    if cv is not None and m > 1:
        fold_weights, oof, fitted = _cross_fit(route, fitted, y, task, cv, seed)
        scores["cross_fitted"] = scorer.value(oof)
    if prefer_single and m > 1:
        losses = None if scorer.callable else sample_losses(scorer.metric, y, P[best])
        if losses is None:
            raise InputError("prefer_single compares losses sample by sample; metric "
                             f"{metric!r} has none. Use log_loss, accuracy, mse, rmse or mae.")
        if oof is None:
            oof = _cross_fit(route, fitted, y, task, max(2, min(CHOICE_FOLDS, n // 2)),
                             seed)[1]
        scores["choice"] = single_or_ensemble(losses - sample_losses(scorer.metric, y, oof),
                                              names[best])
        if scores["choice"]["kept"] != "ensemble":  # the best single model, weight 1
            route = _WeightsRoute(scorer, FITTERS["mean"], options,
                                  (metric, direction, power, binary_1d, task))
            fitted, fold_weights = np.eye(m)[best], None

    weights, stack = route.weights(fitted), route.stack(fitted)
    ens_pred = route.predict(fitted, np.arange(n))
    scores.update({"in_sample": scorer.value(ens_pred),
                   "mean": scorer.value(scorer.combine(np.full(m, 1.0 / m))),
                   "best_single": single[best], "best_single_model": names[best]})
    if not scorer.callable and scorer.metric != "auc" and (stack or weights[best] < 1):
        # on how many samples does the ensemble's lead over the best single model rest?
        lead = (sample_losses(scorer.metric, y, P[best]) - sample_losses(scorer.metric, y, ens_pred))
        scores["lead_support"] = support(lead)
    if stack is None:
        rows, top = model_rows(scorer, names, weights, single, fold_weights, ens_pred)
        options["fragile_top"] = top
    else:
        rows = stack_rows(scorer, names, stack, weights, single, fold_weights)
        options["stack_lambda"], options["stack_anchor"] = stack.lam, stack.anchor
    return Ensemble(names, weights, task=task, metric=metric, direction=direction,
                    power=float(power), n_classes=k if task == "classification" else None,
                    output_dim=k if task == "regression" else None, binary_1d=binary_1d,
                    method=method, options=options, scores=scores, model_rows=rows,
                    history=history, fold_weights=fold_weights, n_val=n, meta=meta,
                    stack=stack)


def single_or_ensemble(lead, best) -> dict:
    """Whether the ensemble has shown itself better than the best single model ``best`` on
    validation: ``lead`` is, per validation sample, the single model's loss minus the
    ensemble's out-of-fold loss. The ensemble is kept when its mean lead is more than one
    standard error above zero (the one-standard-error rule: the simpler model unless the
    other is clearly better); else ``best`` alone. Returns ``{"kept", "lead", "se", "n",
    "why"}``."""
    n = len(lead)
    mean = float(np.mean(lead))
    se = float(np.std(lead, ddof=1) / math.sqrt(n)) if n > 1 else float("inf")
    keep = mean > se
    if keep:
        why = (f"its out-of-fold lead over {best} on validation, {mean:.3g} per sample, is "
               f"more than one standard error ({se:.2g}) above zero")
    else:
        why = (f"the ensemble, fitted without each validation fold and scored on it, "
               f"{'trails' if mean < 0 else 'leads'} {best} by {abs(mean):.3g} per sample, "
               f"not more than one standard error ({se:.2g}): {best} alone is as good and "
               "simpler")
    return {"kept": "ensemble" if keep else best, "lead": mean, "se": se, "n": n,
            "why": why}


class _WeightsRoute:
    """Fitting, on a subset of the validation rows, the weights of a weighted mean."""

    def __init__(self, scorer, fit, options, scorer_args):
        self.scorer, self.fit_weights, self.options = scorer, fit, options
        self.args = scorer_args

    def _scorer(self, idx):
        if len(idx) == self.scorer.P.shape[1]:
            return self.scorer
        return Scorer(self.scorer.P[:, idx], self.scorer.y[idx], *self.args)

    def alone(self):
        return np.ones(1)

    def fit(self, idx):
        return self.fit_weights(self._scorer(idx), self.scorer.P.shape[0], **self.options)

    def predict(self, w, idx):
        return self._scorer(idx).combine(self.weights(w))

    def average(self, fold_fits):
        return np.mean(fold_fits, axis=0)  # the final weights: the mean of the folds'

    @staticmethod
    def weights(w):
        w = np.where(np.asarray(w) < 1e-6, 0.0, w)  # Nelder-Mead's 1e-8s are zeros
        return w / w.sum()

    @staticmethod
    def stack(w):
        return None


class _StackRoute:
    """Fitting the stacking meta-learner on a subset of the validation rows."""

    def __init__(self, P, y, task, seed):
        self.P, self.y, self.task, self.seed = P, y, task, seed

    def _folds(self, y, k, seed):
        return folds(y, self.task, k, seed)

    def alone(self):
        k = self.P.shape[2]
        return Stack(np.ones(1), np.zeros(k), 0.0, self.task)

    def fit(self, idx):
        P, y = self.P[:, idx], self.y[idx]
        return fit_stack(P, y, self.task, lambda rows: self._greedy(P[:, rows], y[rows]),
                         self._folds, self.seed)

    def _greedy(self, P, y):
        """The greedy ensemble's weights on these rows, with the stack's own loss: the
        centre its regularisation may pull towards."""
        metric = "log_loss" if self.task == "classification" else "mse"
        scorer = Scorer(P, y, metric, Direction.MIN, 1.0, False, self.task)
        return FITTERS["greedy"](scorer, P.shape[0])[0]

    def predict(self, stack, idx):
        return stack.predict(self.P[:, idx])

    def average(self, fold_fits):
        return None  # the final stack: the one fitted on every row, kept

    @staticmethod
    def weights(stack):
        return stack.shares()

    @staticmethod
    def stack(stack):
        return stack


def _check_cv(cv, y, task, k) -> int:
    cv, n = int(cv), len(y)
    if cv < 2 or cv > n // 2:
        raise InputError(f"cv must be a number of folds between 2 and {n // 2} (half the "
                         f"validation samples); got {cv}.")
    if task == "classification":
        counts = np.bincount(y, minlength=k)
        present = counts[counts > 0]
        if present.min() < cv:
            raise InputError(f"cv={cv} folds need at least {cv} validation samples per "
                             f"class; the rarest class has {present.min()}.")
    return cv


def _cross_fit(route, fitted, y, task, cv, seed):
    """Fit on each fold's complement and predict the fold: the per-fold weights (one row
    per fold), the out-of-fold prediction, and what the ensemble keeps (the weighted
    means: the mean of the fold weights; the stack: the one fitted on every row)."""
    n = len(y)
    fits, oof = [], None
    for test_idx in folds(y, task, cv, seed):
        f, _ = route.fit(np.setdiff1d(np.arange(n), test_idx))
        fits.append(f)
        pred = route.predict(f, test_idx)
        if oof is None:
            oof = np.empty((n,) + pred.shape[1:], dtype=np.float64)
        oof[test_idx] = pred
    average = route.average(fits)
    return (np.vstack([route.weights(f) for f in fits]), oof,
            fitted if average is None else average)
