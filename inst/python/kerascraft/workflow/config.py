"""craft()'s options, each checked when the configuration is made: before any data is
touched, let alone a model trained."""

from __future__ import annotations

import difflib
import numbers
from dataclasses import dataclass, fields
from typing import Any

from kerascraft.errors import InputError, InputTypeError
from kerascraft.task import check_task


@dataclass
class CraftConfig:
    """The options of :func:`kerascraft.craft`.

    Attributes:
        task: ``"auto"`` (:func:`kerascraft.task.decide_task`'s rule: labels that are not
            numbers are classes, numbers with fractions are not, and whole numbers are
            classes when there are few distinct values each on enough rows; craft() says
            which and why), ``"classification"`` or ``"regression"``.
        class_names: when ``y`` holds class indices 0..k-1, the label of each (R factors).
        hypermodel: a ``build(hp)`` function or ``keras_tuner.HyperModel`` replacing
            :func:`default_hypermodel`. Its models must take ``x`` as given and output
            class probabilities (classification, labels as class indices) or values.
        objective: what the search optimises; ``"val_accuracy"`` for classification and
            ``"val_loss"`` for regression by default.
        kind, max_trials: the tuner (:func:`kerascraft.tuner`). Hyperband has no
            ``max_trials``: its budget follows from ``epochs`` (its ``max_epochs``) and
            its ``factor`` (``epochs=30``: about 90 short trials).
        stop_early: ``True`` ends the search when more time buys nothing: once 5 trials
            have finished and those since the best one took half the search's budget (its
            share of ``time_limit``, or ``max_trials`` times the median trial's seconds);
            a number between 0 and 1 sets that share (:func:`kerascraft.budget.stalled`).
            The summary says where it stopped. ``False`` (the default) searches to the
            end: on the benchmark's tables later trials often still found better
            configurations (BENCHMARKS.md).
        epochs, batch_size, patience: training of every trial (early stopping on the
            validation loss with ``patience``).
        top: how many of the best configurations are retrained (and ensembled).
        epoch_factor: retraining on train+validation runs best epoch x this factor.
        gradient_boosting: train gradient-boosted trees beside the networks.
        cheap_models: train models of other families beside them for the ensemble (a
            linear model, k-nearest neighbours, extra trees:
            :func:`kerascraft.ensemble.cheap_models`). On by default: with the stack they
            lowered the test log loss in every seed of ``bench/craft.py`` (BENCHMARKS.md)
            for under 2 s of training on the digits; on large data they cost more (k-NN
            is left out above 20,000 training rows).
        ensemble_method: ``"auto"`` (the stack for classification, greedy selection for
            regression: :func:`chosen_ensemble_method`) or a method of
            :func:`kerascraft.fit_ensemble`.
        precision: ``"auto"`` or a Keras dtype policy (:func:`kerascraft.use_mixed_precision`);
            set while craft() trains, restored afterwards.
        strategy: ``"auto"`` (:func:`kerascraft.auto_strategy`), ``None`` (one device), or a
            strategy.
        steps_per_execution: ``"auto"`` measures the candidates 1, 4 and 16 on the default
            configuration (:func:`kerascraft.tune_steps_per_execution`); or a whole number.
        val_fraction, test_fraction: shares of the data split off (stratified by class).
        directory: where each stage keeps its work; a second call with the same data
            continues there and does not redo finished stages.
        overwrite: delete ``directory`` first.
        storage: keep the search's record in a database or a journal file
            (:func:`kerascraft.tuner`'s ``storage``; the Optuna kinds): the study is named
            ``craft-<directory's name>-<the data's fingerprint>``, so a dashboard can watch
            the search live and several craft() runs can share one database.
        seed: for the splits, the search and the weights.
        verbose: 0 silent; 1 one line per trial and per stage; 2 also Keras's own output.
    """

    task: str = "auto"
    class_names: Any = None
    hypermodel: Any = None
    objective: Any = None
    kind: str = "auto"
    max_trials: int = 10
    stop_early: Any = False
    epochs: int = 50
    batch_size: int = 64
    patience: int = 5
    top: int = 3
    epoch_factor: float = 1.2
    gradient_boosting: bool = True
    cheap_models: bool = True
    ensemble_method: str = "auto"
    precision: str = "auto"
    strategy: Any = "auto"
    steps_per_execution: Any = "auto"
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    directory: str = "kerascraft_craft"
    overwrite: bool = False
    storage: Any = None
    seed: int = 0
    verbose: int = 1

    def __post_init__(self):
        for name, low in (("max_trials", 1), ("epochs", 1), ("batch_size", 1), ("patience", 0),
                          ("top", 1), ("seed", 0), ("verbose", 0)):
            setattr(self, name, _whole(name, getattr(self, name), low))
        check_task(self.task)
        if not (0 < self.val_fraction < 1 and 0 < self.test_fraction < 1
                and self.val_fraction + self.test_fraction < 1):
            raise InputError("val_fraction and test_fraction must be in (0, 1) and sum to less "
                             f"than 1; got {self.val_fraction} and {self.test_fraction}.")
        if not (isinstance(self.epoch_factor, (int, float)) and self.epoch_factor > 0):
            raise InputError(f"epoch_factor must be a number > 0, got {self.epoch_factor!r}.")
        if self.steps_per_execution != "auto":
            self.steps_per_execution = _whole("steps_per_execution", self.steps_per_execution, 1,
                                              "'auto' or a whole number >= 1")
        self._check_choices()

    def _check_choices(self):
        from kerascraft.budget import stall_share
        from kerascraft.ensemble.methods import check_method
        from kerascraft.precision import resolve_policy
        from kerascraft.tuning import check_kind

        check_kind(self.kind)
        stall_share(self.stop_early)
        if self.ensemble_method != "auto":
            check_method(self.ensemble_method)
        resolve_policy(self.precision)  # an unknown policy is refused here

    @classmethod
    def from_options(cls, options: dict) -> "CraftConfig":
        """The configuration of ``craft(**options)``; an unknown option is named, with the
        option it most likely meant."""
        known = [f.name for f in fields(cls)]
        for name in options:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise InputTypeError(f"craft() got an unknown option {name!r}.{hint} Its options: "
                                f"{', '.join(known)}.")
        return cls(**options)

    def objective_for(self, task: str):
        """The search's objective: the one given, or the task's default."""
        if self.objective is not None:
            return self.objective
        return "val_accuracy" if task == "classification" else "val_loss"


def _whole(name, value, low, what=None):
    """``value`` as an int (a whole float from R included), at least ``low``."""
    if isinstance(value, bool) and name == "verbose":
        value = int(value)
    whole = (isinstance(value, numbers.Integral) and not isinstance(value, bool)) or (
        isinstance(value, numbers.Real) and float(value).is_integer())
    if not whole or value < low:
        raise InputError(f"{name} must be {what or f'a whole number >= {low}'}, got {value!r}.")
    return int(value)


def chosen_ensemble_method(config: CraftConfig, task: str) -> tuple[str, str]:
    """The ensemble method craft() fits, and why: ``"auto"`` is the stack for
    classification (on the members retrained on train+validation it had the lowest median
    test log loss of the methods on digits, wine and breast cancer, and in craft() of every
    seed: ``bench/ensembles.py``, ``bench/craft.py``, BENCHMARKS.md) and greedy selection
    for regression, where the stack has not been measured."""
    if config.ensemble_method != "auto":
        return config.ensemble_method, "given"
    if task == "classification":
        return "stack", "auto: classification"
    return "greedy", "auto: regression, where the stack is not measured yet"
