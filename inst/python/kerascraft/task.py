"""Classes or numbers: the one rule that decides a target's task, for craft(), ensembles
and cross-fitting, in Python and (asked through reticulate) in R.

The rule, in the order it is applied (``task="classification"`` or ``"regression"``
overrides it):

1. Labels that are not numbers -- text, categories, ``True``/``False``, an R factor (its
   levels given as ``class_names``) -- are classes.
2. Numbers with fractions (or NaN) are numbers: regression.
3. With model predictions (ensembles): whole-number labels are classes when every model
   predicts probabilities (one-hot rows likewise), otherwise numbers; labels that do not
   fit the probability columns are then an error that says how they must count.
4. Whole numbers alone (craft(), cross-fitting) are classes when there are at most two
   distinct values; or when there are at most :data:`MAX_AUTO_CLASSES`, with at least
   :data:`MIN_ROWS_PER_CLASS` rows per value on average and every value on at least
   ``min_per_class`` rows (what the splits or folds need of a class). Otherwise they are
   numbers. So a car's highway miles per gallon (27 values over 187 rows, some on one row)
   is regression, as AutoGluon decides too, and digit labels 0-9 over 1,797 rows are
   classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kerascraft.errors import InputError

#: the most distinct whole numbers the rule takes for classes
MAX_AUTO_CLASSES = 30
#: the fewest rows per distinct whole number, on average, for the rule to take them for classes
MIN_ROWS_PER_CLASS = 10
#: the rows each class needs unless the caller says (craft()'s default 20% splits need 5)
MIN_PER_CLASS = 5

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class TaskChoice:
    """The task (``"classification"`` or ``"regression"``) and why it was chosen."""

    task: str
    reason: str

    def __str__(self):
        return f"{self.task} ({self.reason})"


def check_task(task):
    """Refuse a task that is none of ``"auto"``, classification, regression."""
    known = ("auto", *TASKS)
    if task not in known:
        raise InputError(f"task must be {', '.join(repr(t) for t in known[:-1])} or "
                         f"{known[-1]!r}, got {task!r}.")


def decide_task(y, *, task="auto", predictions=None, class_names=None,
                min_per_class=MIN_PER_CLASS) -> TaskChoice:
    """Classes or numbers for the targets ``y`` (the module's rule).

    Args:
        y: the targets (a vector, a column, one-hot rows).
        task: ``"auto"`` (or ``None``) applies the rule; ``"classification"`` or
            ``"regression"`` is taken as given.
        predictions: the models' predictions of ``y`` (name -> array, or a list of
            arrays), when the targets come with them (ensembles).
        class_names: the classes' names when ``y`` holds their indices (an R factor).
        min_per_class: the rows a class needs (whole numbers alone).

    Returns:
        :class:`TaskChoice`.
    """
    task = "auto" if task is None else task
    check_task(task)
    if task != "auto":
        return TaskChoice(task, "given")
    if class_names is not None:
        return TaskChoice("classification", "y is a factor: its levels are the classes")
    y = np.asarray(y)
    if y.dtype == bool:
        return TaskChoice("classification", "y holds TRUE/FALSE labels")
    if not np.issubdtype(y.dtype, np.number):
        return TaskChoice("classification", "y holds labels, not numbers")
    if predictions is not None:
        return _with_predictions(y, predictions)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        return TaskChoice("regression", f"y has {y.shape[1]} columns of numbers")
    if not _whole(y):
        return TaskChoice("regression", "y holds numbers with fractions")
    values, counts = np.unique(y, return_counts=True)
    k, n = len(values), len(y)
    as_numbers = "; task='regression' reads them as numbers"
    as_classes = "; task='classification' reads them as classes"
    if k <= 2:
        return TaskChoice("classification", f"{k} distinct whole numbers{as_numbers}")
    if k > MAX_AUTO_CLASSES:
        return TaskChoice("regression", f"{k} distinct whole numbers, more than the "
                                        f"{MAX_AUTO_CLASSES} taken for classes{as_classes}")
    if n < MIN_ROWS_PER_CLASS * k:
        return TaskChoice("regression", f"{k} distinct whole numbers among {n} rows, fewer "
                                        f"than {MIN_ROWS_PER_CLASS} rows per value on "
                                        f"average{as_classes}")
    rare = values[counts < min_per_class]
    if len(rare):
        shown = ", ".join(f"{v:g}" for v in rare[:5]) + (", ..." if len(rare) > 5 else "")
        return TaskChoice("regression", f"{k} distinct whole numbers, and {shown} on fewer "
                                        f"than the {min_per_class} rows a class needs"
                                        f"{as_classes}")
    return TaskChoice("classification", f"{k} distinct whole numbers, each on at least "
                                        f"{min_per_class} rows{as_numbers}")


def _with_predictions(y, predictions) -> TaskChoice:
    from kerascraft.ensemble.checks import are_probabilities, as_arrays, is_checked

    if not hasattr(predictions, "items"):
        predictions = {f"model {i + 1}": a for i, a in enumerate(predictions)}
    arrays = list(predictions.values())
    if not all(is_checked(a) for a in arrays):  # numbers, finite, the same rows; or an error
        arrays = as_arrays(predictions)[1]
    widths = {1 if a.ndim == 1 else a.shape[1] for a in arrays}
    k = max(2, max(widths))
    if not _whole(y):
        return TaskChoice("regression", "y holds numbers with fractions")
    if not are_probabilities(arrays):
        return TaskChoice("regression", "whole-number labels, but not every model predicts "
                                        "probabilities")
    if y.ndim == 2 and y.shape[1] > 1:
        one_hot = y.shape[1] == k and np.isin(y, (0, 1)).all() and np.all(y.sum(axis=1) == 1)
        return (TaskChoice("classification", "one-hot labels and probabilities") if one_hot
                else TaskChoice("regression", f"y has {y.shape[1]} columns that are not "
                                              "one-hot labels"))
    return TaskChoice("classification", "whole-number labels and every model predicts "
                                        "probabilities")


def _whole(y) -> bool:
    """Integers, or finite floats without fractions."""
    if np.issubdtype(y.dtype, np.integer):
        return True
    return bool(np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y))
                and np.all(y == np.round(y)))
