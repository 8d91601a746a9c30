"""The whole workflow in one call: split, tune, retrain the best, add gradient-boosted trees,
ensemble, and compare everything on test data.

:func:`craft` strings together what the other modules do, in stages that each leave their
work in ``directory`` so that a second call after a crash (or with the same arguments)
picks up where the first stopped:

========================  ==============================================================
stage                     kept in ``directory``
========================  ==============================================================
split                     ``craft.json`` (data fingerprint, split indices' file)
set-up                    ``craft.json`` (precision, strategy, steps per execution)
search                    ``search/`` (KerasTuner's own project: finished trials kept)
retrain                   ``retrained/trial_<id>.keras`` + ``.json`` (one per model)
gradient boosting         ``gradient_boosting.pkl``
ensemble                  ``ensemble.json``, ``predictions.npz``
========================  ==============================================================

Ensemble weights are learned on validation predictions of models that never saw the
validation data (the search's saved best models, gradient boosting fitted on the training
split); the models that predict the test set are their versions trained on train+validation.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import pickle
import shutil
import time
import warnings

import numpy as np

from kerascraft.compat import keras_tuner as compat_kt
from kerascraft.data import _check_finite, as_float32, missing_values_message, target_values

STATE_FILE = "craft.json"
STATE_VERSION = 1
#: the largest number of distinct whole-number targets ``task="auto"`` takes for classes
MAX_AUTO_CLASSES = 30


# ---------------------------------------------------------------------------------------
# input checks: all of them before any training


def _features(x, name):
    """x as a float32 array of 2 (tabular) or 3-4 (images) dimensions, checked."""
    if x is None:
        raise ValueError(f"{name} is missing.")
    arr = as_float32(x, name)  # non-numeric columns are named there
    if arr.ndim == 1:
        raise ValueError(f"{name} is 1-d (shape {arr.shape}); craft() needs one row per "
                         "sample: a matrix (samples x features) or images (samples x height "
                         "x width [x channels]). For one feature, reshape to (n, 1).")
    if arr.ndim == 3:  # grey images without a channel axis
        arr = arr[..., None]
    if arr.ndim > 4:
        raise ValueError(f"{name} has {arr.ndim} dimensions (shape {arr.shape}); craft() "
                         "takes tables (2-d) or images (3-d or 4-d).")
    _check_finite(arr, name)
    return arr


def _targets(y, n, name):
    """y as a 1-d array of length n (a column matrix is fine)."""
    if y is None:
        raise ValueError(f"{name} is missing.")
    arr = target_values(y, name)  # pandas columns of any type; their NA named there
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one target per sample (a vector); got shape "
                         f"{arr.shape}. One-hot labels: pass the class indices instead.")
    if len(arr) != n:
        raise ValueError(f"x has {n} samples but {name} has {len(arr)}; they must be the "
                         "same length (one target per row of x).")
    if arr.dtype.kind in "fc":
        _check_finite(arr.astype(np.float64), name)
    elif arr.dtype == object:
        missing = sum(v is None or (isinstance(v, float) and math.isnan(v)) for v in arr)
        if missing:
            raise ValueError(missing_values_message(name, missing))
    return arr


def _decide_task(y, task, class_names):
    """'classification' or 'regression', and the class labels (None for regression)."""
    if task not in ("auto", "classification", "regression"):
        raise ValueError(f"task must be 'auto', 'classification' or 'regression', got {task!r}.")
    numeric = y.dtype.kind in "biuf"
    whole = numeric and bool(np.all(np.mod(y, 1) == 0))
    if task == "auto":
        if class_names is not None or not numeric or y.dtype.kind == "b":
            task = "classification"
        elif whole and len(np.unique(y)) <= MAX_AUTO_CLASSES:
            task = "classification"
        else:
            task = "regression"
    if task == "regression":
        if not numeric:
            raise ValueError(f"regression needs numeric targets; y holds {y.dtype} values.")
        return task, None
    if numeric and not whole:
        raise ValueError("classification needs class labels; y has fractional values. Use "
                         "task='regression', or pass labels.")
    return task, None if class_names is None else [str(c) for c in class_names]


def _encode_classes(y, class_names):
    """Class labels -> indices 0..k-1, and the label of each index."""
    if class_names is not None:  # y already holds indices into class_names (R factors)
        codes = y.astype(np.int64)
        if codes.min() < 0 or codes.max() >= len(class_names):
            raise ValueError(f"y holds class indices from {codes.min()} to {codes.max()} but "
                             f"there are {len(class_names)} class names.")
        return codes, list(class_names)
    labels, codes = np.unique(y, return_inverse=True)
    return codes.astype(np.int64), [_plain(v) for v in labels]


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def _check_classes(codes, classes, min_per_class):
    counts = np.bincount(codes, minlength=len(classes))
    present = int(np.sum(counts > 0))
    if present < 2:
        raise ValueError(f"y has a single class ({classes[int(np.argmax(counts))]!r}): there "
                         "is nothing to classify. Check the target column, or use "
                         "task='regression' for a numeric target.")
    missing = [repr(classes[i]) for i in np.flatnonzero(counts == 0)]
    if missing:
        raise ValueError(f"y (the training data) has no sample of class {', '.join(missing)}, "
                         "which occurs only in validation_data / test_data: a model cannot "
                         "learn a class it never sees. Split the data so that every part has "
                         "every class (or let craft() split it).")
    if counts.min() < min_per_class:
        rare = [f"{classes[i]!r} ({counts[i]})" for i in np.argsort(counts)[:5]
                if counts[i] < min_per_class]
        raise ValueError(
            f"too few samples per class for the train/validation/test splits: "
            f"{', '.join(rare)}; each class needs at least {min_per_class} so that every "
            "split gets some. Collect more, merge rare classes, lower val_fraction / "
            "test_fraction, or pass validation_data= and test_data= yourself.")


# ---------------------------------------------------------------------------------------
# the default search spaces


def default_hypermodel(x_train, y_train, task, n_classes=None):
    """The search space :func:`craft` tunes when it is given no model.

    Tables: dense networks (1-3 layers of 32-512 units, dropout, learning rate); images
    (``x`` of 3 or 4 dimensions): small convnets (1-3 convolution blocks, 16-64 filters
    doubling per block, a dense layer, dropout, learning rate). Inputs are standardised by a
    ``Normalization`` layer holding the training split's mean and variance, so the model
    takes raw data; regression outputs are scaled back to the target's mean and spread.

    Returns:
        A ``keras_tuner.HyperModel``.
    """
    import keras_tuner as kt

    x_train = np.asarray(x_train, dtype=np.float32)
    images = x_train.ndim == 4
    axes = (0, 1, 2) if images else 0
    mean = x_train.mean(axis=axes, dtype=np.float64)
    var = x_train.var(axis=axes, dtype=np.float64)
    var[var < 1e-12] = 1.0
    y_mean, y_sd = 0.0, 1.0
    if task == "regression":
        y_mean, y_sd = float(np.mean(y_train)), float(np.std(y_train)) or 1.0
    max_blocks = max(1, min(3, int(math.log2(max(2, min(x_train.shape[1:3])))) - 1)) if images else 0
    shape = tuple(int(d) for d in x_train.shape[1:])

    class DefaultHyperModel(kt.HyperModel):
        def build(self, hp):
            import keras

            from kerascraft.precision import output_layers

            inputs = keras.Input(shape=shape)
            h = keras.layers.Normalization(mean=mean, variance=var)(inputs)
            if images:
                blocks = hp.Int("conv_blocks", 1, max_blocks) if max_blocks > 1 else 1
                filters = hp.Choice("filters", [16, 32, 64])
                for b in range(blocks):
                    h = keras.layers.Conv2D(filters * 2 ** b, 3, padding="same", activation="relu")(h)
                    if min(h.shape[1:3]) >= 2:
                        h = keras.layers.MaxPooling2D(2)(h)
                h = keras.layers.Flatten()(h)
                h = keras.layers.Dense(hp.Choice("dense_units", [32, 64, 128]), activation="relu")(h)
                h = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1))(h)
            else:
                units = hp.Int("units", 32, 512, step=32, sampling="linear")
                dropout = hp.Float("dropout", 0.0, 0.5, step=0.1)
                for _ in range(hp.Int("layers", 1, 3)):
                    h = keras.layers.Dense(units, activation="relu")(h)
                    h = keras.layers.Dropout(dropout)(h)
            lr = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)
            if task == "classification":
                for layer in output_layers(n_classes, "softmax"):
                    h = layer(h)
                loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
            else:
                h = keras.layers.Dense(1, dtype="float32")(h)
                h = keras.layers.Rescaling(y_sd, offset=y_mean, dtype="float32")(h)
                loss, metrics = "mse", ["mae"]
            model = keras.Model(inputs, h)
            model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, metrics=metrics)
            return model

    return DefaultHyperModel()


def _with_steps_per_execution(hypermodel, steps):
    """The hypermodel whose models run ``steps`` batches per call (step fusion)."""
    import keras_tuner as kt

    inner = compat_kt.get_hypermodel(hypermodel)
    if steps in (None, 1):
        return inner

    class Fused(kt.HyperModel):
        def build(self, hp):
            model = inner.build(hp)
            if getattr(model, "optimizer", None) is not None:
                model.steps_per_execution = int(steps)  # read when fit() makes its function
            return model

        def fit(self, hp, model, *args, **kwargs):
            return inner.fit(hp, model, *args, **kwargs)

    return Fused()


# ---------------------------------------------------------------------------------------
# what craft() returns


class CraftResult:
    """What :func:`craft` made: tables, models, the ensemble, and the choices it took.

    Attributes:
        directory: where every stage's work is kept.
        task: ``"classification"`` or ``"regression"``; ``classes``: the class labels.
        setup: precision policy, strategy, steps per execution, and why each.
        trials: every trial of the search (:func:`kerascraft.results`).
        retrained: one row per retrained configuration.
        weights: one row per ensemble member (:meth:`Ensemble.models`).
        test_scores: ensemble, plain mean and every member on the test split.
        gaps: per member, validation score against test score (before and after
            retraining on train+validation).
        timings: seconds per stage (``reused`` says which stages were found done).
        ensemble: the :class:`~kerascraft.ensemble.Ensemble`; ``models``: name -> the
            final model (trained on train+validation); ``tuner``: the search.
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    # -- the headline numbers
    def _row(self, kind=None, model=None):
        t = self.test_scores
        rows = t[t["kind"] == kind] if kind else t[t["model"] == model]
        return rows.iloc[0] if len(rows) else None

    @property
    def test_metric(self) -> str:
        return "accuracy" if self.task == "classification" else "mse"

    def headline(self) -> dict:
        """The ensemble's and the best single model's test scores (the best single model
        chosen on validation, as one would have to without the test set)."""
        metric = self.test_metric
        ens = self._row(kind="ensemble")
        best = self.ensemble.scores["best_single_model"]
        single = self._row(model=best)
        return {"metric": metric, "ensemble": float(ens[metric]), "best_single_model": best,
                "best_single": float(single[metric])}

    def summary(self) -> str:
        from kerascraft.tuning import best_trials

        h = self.headline()
        s = self.setup
        lines = [f"kerascraft craft() -- {self.task}"
                 + (f", {len(self.classes)} classes" if self.classes else "")
                 + f", {self.sizes['train']} train / {self.sizes['validation']} validation / "
                 f"{self.sizes['test']} test samples",
                 f"  precision: {s['precision']} ({s['precision_reason']})",
                 f"  strategy: {s['strategy']} ({s['strategy_reason']})",
                 f"  steps per execution: {s['steps_per_execution']} ({s['steps_reason']})"]
        done = self.trials[self.trials["status"] == "COMPLETED"]
        lines.append(f"  search: {len(done)} of {len(self.trials)} trials completed, best "
                     f"{self.objective} {best_trials(self.tuner, 1)[0].score:.4g}")
        lines.append(f"  retrained {len(self.retrained)} best configurations on "
                     "train+validation" + (", plus gradient-boosted trees"
                                           if "gbt" in self.models else ""))
        used = ", ".join(f"{n} {w:.2f}" for n, w in self.ensemble.weights.items() if w > 0)
        lines.append(f"  ensemble weights ({self.ensemble.method}): {used}")
        m = h["metric"]
        lines.append(f"  test {m}: ensemble {format_score(m, h['ensemble'])}, best single "
                     f"model ({h['best_single_model']}, chosen on validation) "
                     f"{format_score(m, h['best_single'])}")
        took = sum(v for k, v in self.timings.items() if k != "reused")
        lines.append(f"  {took:.0f} s" + (f" (reused: {', '.join(self.timings['reused'])})"
                                            if self.timings["reused"] else ""))
        return "\n".join(lines)

    def __repr__(self):
        return self.summary()

    def predict(self, x):
        """The ensemble's predictions for new data (class probabilities, or values)."""
        x = _features(x, "x")
        models = {n: m for n, m in self.models.items() if self.ensemble.weights.get(n, 0) > 0}
        return self.ensemble.predict(_member_predictions(models, x))

    def tables(self) -> dict:
        """Every table as ``{name: {column: list}}`` (for R)."""
        return {name: {c: [_plain(v) if v == v else None for v in frame[c]] for c in frame.columns}
                for name, frame in (("trials", self.trials), ("retrained", self.retrained),
                                    ("weights", self.weights), ("test_scores", self.test_scores),
                                    ("gaps", self.gaps))}

    def report(self, path="report.html"):
        """Write the HTML report (see :func:`kerascraft.report`); returns its path."""
        from kerascraft.reporting import report

        return report(self, path)


def format_score(metric, value) -> str:
    """Accuracy with 4 decimals (a sample is often 0.003); other scores to 4 digits."""
    return f"{value:.4f}" if metric == "accuracy" else f"{value:.4g}"


def _flat(x):
    return x.reshape(len(x), -1)


def _member_predictions(models, x):
    """Each member's predictions on ``x``: the trees see flat rows, the networks ``x``."""
    from kerascraft.ensemble import predictions

    nets = {n: m for n, m in models.items() if n != "gbt"}
    out = predictions(nets, x) if nets else {}
    if "gbt" in models:
        out.update(predictions({"gbt": models["gbt"]}, _flat(x)))
    return out


# ---------------------------------------------------------------------------------------
# stage bookkeeping


def _fingerprint(*arrays) -> str:
    h = hashlib.sha1()
    for a in arrays:
        if a is None:
            h.update(b"-")
            continue
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes() if a.dtype != object else repr(a.tolist()).encode())
    return h.hexdigest()


class _State:
    """``craft.json``: what was decided and which stages are done."""

    def __init__(self, directory):
        self.path = os.path.join(directory, STATE_FILE)
        try:
            with open(self.path) as f:
                self.data = json.load(f)
        except FileNotFoundError:
            self.data = {"version": STATE_VERSION}

    def save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f, indent=1)
        os.replace(tmp, self.path)  # never half written


def _split(n, strata, val_fraction, test_fraction, have_val, have_test, seed):
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    test = np.array([], dtype=np.int64)
    if not have_test:
        idx, test = train_test_split(idx, test_size=test_fraction, random_state=seed,
                                     stratify=None if strata is None else strata[idx])
    val = np.array([], dtype=np.int64)
    if not have_val:
        share = val_fraction / (1 - (0 if have_test else test_fraction))
        idx, val = train_test_split(idx, test_size=share, random_state=seed,
                                    stratify=None if strata is None else strata[idx])
    return np.sort(idx), np.sort(val), np.sort(test)


# ---------------------------------------------------------------------------------------


def craft(x, y, *, validation_data=None, test_data=None, task="auto", class_names=None,
          hypermodel=None, objective=None, kind="auto", max_trials=10, epochs=50,
          batch_size=64, patience=5, top=3, epoch_factor=1.2, gradient_boosting=True,
          ensemble_method="greedy", precision="auto", strategy="auto",
          steps_per_execution="auto", val_fraction=0.2, test_fraction=0.2,
          directory="kerascraft_craft", overwrite=False, seed=0, verbose=1, progress=None):
    """The complete workflow on ``(x, y)``: split, tune, retrain, ensemble, test.

    Args:
        x: features: a matrix (samples x features, a pandas frame of numeric columns) or
            images (samples x height x width [x channels]).
        y: targets: class labels (numbers, strings, booleans) or numbers for regression.
        validation_data, test_data: ``(x, y)`` to use instead of splitting them off ``x``.
        task: ``"auto"`` (class labels: whole numbers with at most 30 distinct values,
            strings or booleans; otherwise regression), ``"classification"`` or
            ``"regression"``.
        class_names: when ``y`` holds class indices 0..k-1, the label of each (R factors).
        hypermodel: a ``build(hp)`` function or ``keras_tuner.HyperModel`` replacing
            :func:`default_hypermodel`. Its models must take ``x`` as given and output
            class probabilities (classification, labels as class indices) or values.
        objective: what the search optimises; ``"val_accuracy"`` for classification and
            ``"val_loss"`` for regression by default.
        kind, max_trials: the tuner (:func:`kerascraft.tuner`). Hyperband has no
            ``max_trials``: its budget follows from ``epochs`` (its ``max_epochs``) and
            its ``factor`` (``epochs=30``: about 90 short trials).
        epochs, batch_size, patience: training of every trial (early stopping on the
            validation loss with ``patience``).
        top: how many of the best configurations are retrained (and ensembled).
        epoch_factor: retraining on train+validation runs best epoch x this factor.
        gradient_boosting: train gradient-boosted trees beside the networks.
        ensemble_method: see :func:`kerascraft.fit_ensemble`.
        precision: ``"auto"`` or a Keras dtype policy (:func:`kerascraft.use_mixed_precision`);
            set while craft() runs, restored afterwards.
        strategy: ``"auto"`` (:func:`kerascraft.auto_strategy`), ``None`` (one device), or a
            strategy.
        steps_per_execution: ``"auto"`` measures the candidates 1, 4 and 16 on the default
            configuration (:func:`kerascraft.tune_steps_per_execution`); or a whole number.
        val_fraction, test_fraction: shares of the data split off (stratified by class).
        directory: where each stage keeps its work; a second call with the same data
            continues there and does not redo finished stages.
        overwrite: delete ``directory`` first.
        seed: for the splits, the search and the weights.
        verbose: 0 silent; 1 one line per trial and per stage; 2 also Keras's own output.
        progress: function that receives each progress line (default ``print``).

    Returns:
        :class:`CraftResult`; ``print()`` it for the summary, ``.report(path)`` for HTML.

    Raises:
        ValueError / TypeError before any training for: x and y of different lengths,
        non-numeric columns, NaN/Inf, a target with one class, too few samples per class
        for the splits, a directory that holds a run on other data.
    """
    say = (progress or (lambda line: print(line, flush=True))) if verbose else (lambda line: None)
    started = time.monotonic()

    # ---- checks, before anything is trained or written
    if not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be a whole number >= 1, got {top!r}.")
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError("val_fraction and test_fraction must be in (0, 1) and sum to less "
                         f"than 1; got {val_fraction} and {test_fraction}.")
    x = _features(x, "x")
    y = _targets(y, len(x), "y")
    given = {}
    for part, data in (("validation", validation_data), ("test", test_data)):
        if data is None:
            continue
        if not isinstance(data, (list, tuple)) or len(data) != 2:
            raise ValueError(f"{part}_data must be (x_{part[:3]}, y_{part[:3]}).")
        xp = _features(data[0], f"{part} x")
        if xp.shape[1:] != x.shape[1:]:
            raise ValueError(f"{part} x has samples of shape {xp.shape[1:]}, x has "
                             f"{x.shape[1:]}; they must match.")
        given[part] = (xp, _targets(data[1], len(xp), f"{part} y"))
    task, class_names = _decide_task(y, task, class_names)
    classes = None
    if task == "classification":
        # one encoding for every split: the labels of all of them together
        parts = [y] + [g[1] for g in given.values()]
        codes, classes = _encode_classes(np.concatenate(parts), class_names)
        ends = np.cumsum([len(p) for p in parts])[:-1]
        y, *rest = (c.astype(np.int32) for c in np.split(codes, ends))
        given = {p: (g[0], r) for (p, g), r in zip(given.items(), rest)}
        # each split carved off y must get at least one sample of every class
        carved = [f for part, f in (("validation", val_fraction), ("test", test_fraction))
                  if part not in given]
        _check_classes(y, classes, math.ceil(1 / min(carved)) if carved else 2)
    else:
        y = y.astype(np.float32)
        given = {p: (g[0], g[1].astype(np.float32)) for p, g in given.items()}
    if steps_per_execution != "auto" and (not isinstance(steps_per_execution, int)
                                          or steps_per_execution < 1):
        raise ValueError("steps_per_execution must be 'auto' or a whole number >= 1, got "
                         f"{steps_per_execution!r}.")
    from kerascraft import precision as kc_precision

    choice = kc_precision._resolve(precision)  # an unknown policy is refused here
    if objective is None:
        objective = "val_accuracy" if task == "classification" else "val_loss"
    objective_name = objective if isinstance(objective, str) else objective.name

    if overwrite and os.path.isdir(directory):
        shutil.rmtree(directory)
    os.makedirs(directory, exist_ok=True)
    state = _State(directory)
    fingerprint = _fingerprint(x, y, *(a for g in given.values() for a in g),
                               np.array([val_fraction, test_fraction, seed]))
    if state.data.get("fingerprint", fingerprint) != fingerprint:
        raise ValueError(
            f"{directory!r} holds a craft() run on other data or other split settings; "
            "its work does not apply. Use another directory, or overwrite=True to replace it.")
    state.data.update(fingerprint=fingerprint, task=task, classes=classes)
    state.save()  # before the split is written: a split is never kept without its data's id
    timings, reused = {}, []

    def stage(name, seconds, was_reused):
        timings[name] = seconds
        if was_reused:
            reused.append(name)

    # ---- split
    t0 = time.monotonic()
    strata = y if task == "classification" else None
    split_file = os.path.join(directory, "split.npz")
    if os.path.exists(split_file):
        with np.load(split_file) as f:
            tr, va, te = f["train"], f["validation"], f["test"]
        stage("split", time.monotonic() - t0, True)
    else:
        tr, va, te = _split(len(x), strata, val_fraction, test_fraction,
                            "validation" in given, "test" in given, seed)
        np.savez(split_file, train=tr, validation=va, test=te)
        stage("split", time.monotonic() - t0, False)
    x_train, y_train = x[tr], y[tr]
    x_val, y_val = given.get("validation", (x[va], y[va]))
    x_test, y_test = given.get("test", (x[te], y[te]))
    sizes = {"train": len(x_train), "validation": len(x_val), "test": len(x_test)}
    say(f"split: {sizes['train']} train, {sizes['validation']} validation, {sizes['test']} "
        f"test samples ({task}" + (f", {len(classes)} classes)" if classes else ")"))

    import keras
    import keras_tuner as kt

    from kerascraft import retraining, tuning
    from kerascraft import strategy as kc_strategy
    from kerascraft.ensemble import fit_ensemble, fit_gradient_boosting

    keras.utils.set_random_seed(seed)

    # ---- set-up: precision, strategy, step fusion (decided once, kept for resumed runs)
    t0 = time.monotonic()
    setup = state.data.get("setup")
    was_reused = setup is not None
    if setup is None:
        setup = {"precision": choice.policy, "precision_reason": choice.reason}
    if strategy == "auto":
        dist = kc_strategy.auto_strategy()
    elif strategy is None:
        dist = kc_strategy.SingleDevice("one device, as asked (strategy=None)")
    else:
        dist = strategy
    replicas = kc_strategy._replicas(dist)
    setup.update(strategy=type(dist).__name__.lstrip("_"), replicas=replicas,
                 strategy_reason=getattr(dist, "reason", "given"))
    # KerasTuner takes tf.distribute strategies (and enters their scope itself; so does
    # craft() to build and fit outside the tuner); a Keras distribution (JAX) is one scope
    # around the whole training instead
    is_tf = hasattr(dist, "extended")
    tuner_strategy = dist if replicas > 1 and is_tf else None
    outer = dist.scope() if replicas > 1 and not is_tf else contextlib.nullcontext()

    def tf_scope():
        return tuner_strategy.scope() if tuner_strategy else contextlib.nullcontext()
    global_batch = kc_strategy.global_batch_size(batch_size, dist)
    if task == "classification":
        base = hypermodel or default_hypermodel(x_train, y_train, task, len(classes))
    else:
        base = hypermodel or default_hypermodel(x_train, y_train, task)

    with kc_precision.precision_scope(setup["precision"]), outer:
        if "steps_per_execution" not in setup:
            # the search space's default configuration, built once for the checks below
            with tf_scope():
                probe = compat_kt.get_hypermodel(base).build(kt.HyperParameters())
            setup["precision_notes"] = [
                f"layer {f['layer']}: {f['problem']}; fix: {f['fix']}"
                for f in kc_precision.check_precision(probe)]
            if steps_per_execution == "auto":
                with tf_scope():
                    setup.update(_measure_fusion(probe, x_train, y_train, global_batch))
            else:
                setup.update(steps_per_execution=steps_per_execution, steps_reason="given",
                             steps_table=None)
            del probe
        state.data["setup"] = setup
        state.save()
        stage("setup", time.monotonic() - t0, was_reused)
        for note in setup.get("precision_notes", []):
            say(f"precision: {note}")
        say(f"precision {setup['precision']}, {setup['strategy']} ({replicas} replica"
            f"{'s' if replicas > 1 else ''}), steps_per_execution "
            f"{setup['steps_per_execution']}")
        hm = _with_steps_per_execution(base, setup["steps_per_execution"])

        # ---- search (KerasTuner keeps finished trials; a rerun goes on from there)
        t0 = time.monotonic()
        tuner_kwargs = {"seed": seed}
        if kind != "hyperband":
            tuner_kwargs["max_trials"] = max_trials
        else:
            tuner_kwargs["max_epochs"] = epochs
        # KerasTuner prints "Reloading Tuner from ..." when it resumes: shown only as progress
        with contextlib.redirect_stdout(io.StringIO()) as kt_output:
            t = tuning.tuner(kind, hm, objective=objective, directory=directory,
                             project_name="search", overwrite=False,
                             distribution_strategy=tuner_strategy, **tuner_kwargs)
        for line in kt_output.getvalue().splitlines():
            say(line)
        t.report = say
        before = sum(tr_.status in tuning._FINISHED for tr_ in t.oracle.trials.values())
        early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(patience))
        t.search(x_train, y_train, validation_data=(x_val, y_val), epochs=int(epochs),
                 batch_size=global_batch, callbacks=[early], verbose=verbose)
        after = sum(tr_.status in tuning._FINISHED for tr_ in t.oracle.trials.values())
        stage("search", time.monotonic() - t0, after == before)
        trials = tuning.results(t)
        n_done = int((trials["status"] == "COMPLETED").sum())
        if n_done == 0:
            errors = sorted({e for e in trials["error"] if e})
            raise RuntimeError("no trial of the search completed, so there is nothing to "
                               "retrain. The errors: " + "; ".join(errors[:3]) +
                               f". The trials are kept in {directory!r}.")
        n_top = min(top, n_done)

        # ---- retrain the best configurations on train+validation
        t0 = time.monotonic()
        with tf_scope():
            retrained = retraining.retrain_best(
                t, x_train, y_train, (x_val, y_val), n=n_top, epoch_factor=epoch_factor,
                patience=max(10, 2 * int(patience)), max_epochs=int(epochs),
                verbose=verbose, batch_size=global_batch,
                directory=os.path.join(directory, "retrained"))
        # KerasTuner rebuilds saved models after clear_session(), which would drop the
        # strategy's scope: outside it (they only predict)
        searched = tuning.best_models(t, n_top)
        stage("retrain", time.monotonic() - t0, retrained.loaded == n_top)

    # ---- gradient-boosted trees beside the networks
    names = [f"net_{k}" for k in range(1, n_top + 1)]
    final = dict(zip(names, retrained))
    train_only = dict(zip(names, searched))
    if gradient_boosting:
        t0 = time.monotonic()
        gbt_file = os.path.join(directory, "gradient_boosting.pkl")
        gbt = _load_pickle(gbt_file)
        was_reused = gbt is not None
        if gbt is None:
            say("gradient boosting: fitting on the training split, then on train+validation")
            first = fit_gradient_boosting(_flat(x_train), y_train, task=task, seed=seed)
            rounds = max(1, round(first.n_iter_ * epoch_factor))
            second = fit_gradient_boosting(np.concatenate([_flat(x_train), _flat(x_val)]),
                                           np.concatenate([y_train, y_val]), task=task,
                                           seed=seed, early_stopping=False, max_iter=rounds)
            gbt = {"train": first, "final": second}
            _save_pickle(gbt_file, gbt)
        train_only["gbt"], final["gbt"] = gbt["train"], gbt["final"]
        stage("gradient_boosting", time.monotonic() - t0, was_reused)

    # ---- ensemble: weights on validation predictions of models that never saw it
    t0 = time.monotonic()

    val_pred = _member_predictions(train_only, x_val)
    say(f"ensemble: fitting {ensemble_method} weights of {len(val_pred)} models on "
        f"{len(y_val)} validation samples")
    with warnings.catch_warnings():  # one member (top=1, no trees) is a choice here
        warnings.filterwarnings("ignore", message="only one model")
        ens = fit_ensemble(val_pred, y_val, method=ensemble_method, task=task, seed=seed,
                           meta={"classes": classes})
    ens.save(os.path.join(directory, "ensemble.json"))
    stage("ensemble", time.monotonic() - t0, False)

    # ---- everything on the test split
    t0 = time.monotonic()
    test_pred = _member_predictions(final, x_test)
    test_pred_train_only = _member_predictions(train_only, x_test)
    np.savez(os.path.join(directory, "predictions.npz"),
             **{f"val_{n}": p for n, p in val_pred.items()},
             **{f"test_{n}": p for n, p in test_pred.items()})
    test_scores = ens.evaluate(y_test, test_pred)
    gaps = _gaps(ens, y_val, y_test, val_pred, test_pred_train_only, test_pred)
    stage("evaluate", time.monotonic() - t0, False)
    timings["reused"] = reused
    state.data["timings"] = {k: v for k, v in timings.items() if k != "reused"}
    state.save()

    import pandas as pd

    retrained_table = pd.DataFrame(retrained.summary)
    retrained_table.insert(0, "model", names)
    result = CraftResult(
        directory=directory, task=task, classes=classes, setup=setup, sizes=sizes,
        objective=objective_name, trials=trials, retrained=retrained_table,
        weights=ens.models(), test_scores=test_scores, gaps=gaps, timings=timings,
        ensemble=ens, models=final, search_models=train_only, tuner=t,
        seconds=time.monotonic() - started)
    if verbose:
        say(result.summary())
    return result


def _measure_fusion(model, x, y, batch_size):
    """Step fusion measured on ``model`` (the search space's default configuration)."""
    from kerascraft.strategy import tune_steps_per_execution

    steps_per_epoch = max(1, len(x) // batch_size)
    candidates = [c for c in (1, 4, 16) if c <= steps_per_epoch] or [1]
    if len(candidates) == 1:
        return {"steps_per_execution": 1, "steps_table": None,
                "steps_reason": f"an epoch has only {steps_per_epoch} step(s)"}
    found = tune_steps_per_execution(model, x, y, candidates=candidates,
                                     batch_size=batch_size, steps=32, repeats=2)
    fastest = max(found["table"], key=lambda r: r["samples_per_second"])
    reason = (f"measured: {fastest['speedup']:.2f}x the speed of 1 at its fastest "
              f"({fastest['steps_per_execution']}); smallest within 5% of it")
    return {"steps_per_execution": int(found["best"]), "steps_table": found["table"],
            "steps_reason": reason}


def _gaps(ens, y_val, y_test, val_pred, test_pred_train_only, test_pred):
    """Per member: its validation score, the test score of the same model and of its
    retrained version, each metric of :meth:`Ensemble.evaluate`. ``gap``: validation minus
    test in the direction of better (positive: the validation score flattered)."""
    import pandas as pd

    from kerascraft.ensemble import CLASSIFICATION_METRICS, REGRESSION_METRICS

    directions = {**CLASSIFICATION_METRICS, **REGRESSION_METRICS}

    def singles(y, preds):
        table = ens.evaluate(y, preds)
        return table[table["kind"] == "single"].set_index("model")

    val, test, retrained = (singles(y_val, val_pred), singles(y_test, test_pred_train_only),
                            singles(y_test, test_pred))
    metrics = [c for c in val.columns if c not in ("kind", "weight")]
    rows = []
    for name in val_pred:
        row = {"model": name}
        for m in metrics:
            sign = 1 if directions[m] == "max" else -1
            row[f"validation_{m}"] = val.loc[name, m]
            row[f"test_{m}"] = test.loc[name, m]
            row[f"gap_{m}"] = sign * (val.loc[name, m] - test.loc[name, m])
            row[f"test_{m}_retrained"] = retrained.loc[name, m]
        rows.append(row)
    return pd.DataFrame(rows)


def _load_pickle(path):
    try:
        with open(path, "rb") as f:
            return pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError):
        return None


def _save_pickle(path, value):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(value, f)
    os.replace(tmp, path)
