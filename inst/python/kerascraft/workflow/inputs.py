"""craft()'s data, checked once before anything is trained or written: features, targets,
the task and its classes, the splits given or to be carved off.

:func:`validate` returns a :class:`CraftData` that every stage takes as it is; no stage
checks or converts the data again.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kerascraft import tables
from kerascraft.data import as_float32, check_finite, missing_values_message, target_values
from kerascraft.errors import InputError
from kerascraft.task import TaskChoice, decide_task


@dataclass
class CraftData:
    """The checked data: ``x`` float32 (or, for a table, the pandas frame of its columns,
    read by ``table``), ``y`` class indices (int32) or values (float32), ``given``: the
    validation and test parts passed in, as ``{part: (x, y)}``; ``notes``: what was left
    out, for the progress output."""

    x: Any
    y: np.ndarray
    task: str
    classes: list | None
    given: dict = field(default_factory=dict)
    task_reason: str = "given"
    table: Any = None  # a kerascraft.tables.Table (not yet fitted) when x is a table
    notes: list = field(default_factory=list)

    def fingerprint(self, *settings) -> str:
        """What identifies a run's data (and the split settings passed in ``settings``)."""
        arrays = [self.x, self.y, *(a for part in self.given.values() for a in part)]
        return fingerprint(*arrays, np.array(settings, dtype=np.float64))


@dataclass
class Splits:
    """Train, validation and test parts of :class:`CraftData`."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def sizes(self) -> dict:
        return {"train": len(self.x_train), "validation": len(self.x_val),
                "test": len(self.x_test)}


def validate(x, y, validation_data, test_data, task, class_names, val_fraction,
             test_fraction) -> CraftData:
    """Every check of craft()'s data, and the one conversion it gets.

    ``y`` may name a column of the data frame ``x`` (the target); then ``validation_data``
    and ``test_data`` may be frames holding it too. A frame with columns that are not
    plain numbers, or with missing values, is read as a table (:mod:`kerascraft.tables`)."""
    notes, target_name = [], y if isinstance(y, str) else None
    if target_name is not None:
        if not tables.is_frame(x):
            raise InputError(f"y = {y!r} names a column, so x must be a data frame holding "
                             f"it; got {type(x).__name__}.")
        x, y, left_out = tables.split_target(x, target_name)
        if left_out:
            notes.append(f"{left_out} row(s) without a value of {target_name} left out")
    table = None
    if tables.needs_table(x):
        table = tables.read_table(x, "x")
        table.target = target_name
        x = x.set_axis([str(c) for c in x.columns], axis=1).reset_index(drop=True)
        notes += table.notes()
    else:
        x = features(x, "x")
    y, levels = tables.target_labels(y)  # a category target: its levels are the classes
    class_names = class_names if class_names is not None else levels
    y = targets(y, len(x), "y")
    given = {}
    for part, data in (("validation", validation_data), ("test", test_data)):
        if data is not None:
            given[part] = _given_part(part, data, x, table, target_name, levels)
    # each split carved off y must get at least one sample of every class
    carved = [f for part, f in (("validation", val_fraction), ("test", test_fraction))
              if part not in given]
    min_per_class = math.ceil(1 / min(carved)) if carved else 2
    choice = decide_task(y, task=task, class_names=class_names, min_per_class=min_per_class)
    check_targets(y, choice)
    if choice.task == "regression":
        return CraftData(x, y.astype(np.float32), choice.task, None,
                         {p: (g[0], g[1].astype(np.float32)) for p, g in given.items()},
                         choice.reason, table, notes)
    # one encoding for every split: the labels of all of them together
    parts = [y] + [g[1] for g in given.values()]
    codes, classes = encode_classes(np.concatenate(parts), class_names)
    ends = np.cumsum([len(p) for p in parts])[:-1]
    y, *rest = (c.astype(np.int32) for c in np.split(codes, ends))
    given = {p: (g[0], r) for (p, g), r in zip(given.items(), rest)}
    check_classes(y, classes, min_per_class)
    return CraftData(x, y, choice.task, classes, given, choice.reason, table, notes)


def _given_part(part, data, x, table=None, target_name=None, levels=None):
    if target_name is not None and tables.is_frame(data):
        data = tables.split_target(data, target_name, f"{part}_data")[:2]
    if not isinstance(data, (list, tuple)) or len(data) != 2:
        raise InputError(f"{part}_data must be (x_{part[:3]}, y_{part[:3]})"
                         + (f", or a data frame with the column {target_name}."
                            if target_name else "."))
    if table is not None:
        xp = table.conform(data[0], f"{part} x")
        yp, part_levels = tables.target_labels(data[1])
        if part_levels is not None and part_levels != levels:
            labels = np.asarray(part_levels, dtype=object)[yp]  # codes of its own levels
            unknown = sorted(set(labels) - set(levels or labels))
            if unknown:
                raise InputError(f"{part} y has classes that y does not have: "
                                 f"{', '.join(map(str, unknown))}.")
            yp = labels if levels is None else np.asarray([levels.index(v) for v in labels])
        return xp, targets(yp, len(xp), f"{part} y")
    xp = features(data[0], f"{part} x")
    if xp.shape[1:] != x.shape[1:]:
        raise InputError(f"{part} x has samples of shape {xp.shape[1:]}, x has "
                         f"{x.shape[1:]}; they must match.")
    return xp, targets(data[1], len(xp), f"{part} y")


def split(data: CraftData, val_fraction, test_fraction, seed):
    """Indices of the train, validation and test parts carved off ``data`` (stratified by
    class); a part given to craft() gets none."""
    from sklearn.model_selection import train_test_split

    strata = data.y if data.task == "classification" else None
    idx = np.arange(len(data.x))
    test = np.array([], dtype=np.int64)
    if "test" not in data.given:
        idx, test = train_test_split(idx, test_size=test_fraction, random_state=seed,
                                     stratify=None if strata is None else strata[idx])
    val = np.array([], dtype=np.int64)
    if "validation" not in data.given:
        share = val_fraction / (1 - (0 if "test" in data.given else test_fraction))
        idx, val = train_test_split(idx, test_size=share, random_state=seed,
                                    stratify=None if strata is None else strata[idx])
    return np.sort(idx), np.sort(val), np.sort(test)


def parts(data: CraftData, train, val, test) -> Splits:
    """The parts of ``data`` at the split's indices (or as given)."""
    x_val, y_val = data.given.get("validation", (rows(data.x, val), data.y[val]))
    x_test, y_test = data.given.get("test", (rows(data.x, test), data.y[test]))
    return Splits(rows(data.x, train), data.y[train], x_val, y_val, x_test, y_test)


def rows(x, idx):
    """Rows ``idx`` of an array or a data frame."""
    if tables.is_frame(x):
        return x.iloc[idx].reset_index(drop=True)
    return x[idx]


def fingerprint(*arrays) -> str:
    h = hashlib.sha1()
    for a in arrays:
        if tables.is_frame(a):  # a table: its column names, types and values
            import pandas as pd

            h.update(repr([(str(c), str(t)) for c, t in a.dtypes.items()]).encode())
            h.update(pd.util.hash_pandas_object(a, index=False).to_numpy().tobytes())
            continue
        a = np.ascontiguousarray(a)
        h.update(str((a.shape, a.dtype.str)).encode())
        h.update(a.tobytes() if a.dtype != object else repr(a.tolist()).encode())
    return h.hexdigest()


def features(x, name):
    """x as a float32 array of 2 (tabular) or 3-4 (images) dimensions, checked."""
    if x is None:
        raise InputError(f"{name} is missing.")
    arr = as_float32(x, name)  # non-numeric columns are named there
    if arr.ndim == 1:
        raise InputError(f"{name} is 1-d (shape {arr.shape}); craft() needs one row per "
                         "sample: a matrix (samples x features) or images (samples x height "
                         "x width [x channels]). For one feature, reshape to (n, 1).")
    if arr.ndim == 3:  # grey images without a channel axis
        arr = arr[..., None]
    if arr.ndim > 4:
        raise InputError(f"{name} has {arr.ndim} dimensions (shape {arr.shape}); craft() "
                         "takes tables (2-d) or images (3-d or 4-d).")
    check_finite(arr, name)
    return arr


def targets(y, n, name):
    """y as a 1-d array of length n (a column matrix is fine)."""
    if y is None:
        raise InputError(f"{name} is missing.")
    arr = target_values(y, name)  # pandas columns of any type; their NA named there
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise InputError(f"{name} must be one target per sample (a vector); got shape "
                         f"{arr.shape}. One-hot labels: pass the class indices instead.")
    if len(arr) != n:
        raise InputError(f"x has {n} samples but {name} has {len(arr)}; they must be the "
                         "same length (one target per row of x).")
    if arr.dtype.kind in "fc":
        check_finite(arr.astype(np.float64), name)
    elif arr.dtype == object:
        missing = sum(v is None or (isinstance(v, float) and math.isnan(v)) for v in arr)
        if missing:
            raise InputError(missing_values_message(name, missing))
    return arr


def check_targets(y, choice: TaskChoice):
    """Refuse targets that cannot be what ``choice`` says (a task given that does not fit)."""
    numeric = y.dtype.kind in "biuf"
    if choice.task == "regression" and not numeric:
        raise InputError(f"regression needs numeric targets; y holds {y.dtype} values.")
    if choice.task == "classification" and numeric and not np.all(np.mod(y, 1) == 0):
        raise InputError("classification needs class labels; y has fractional values. Use "
                         "task='regression', or pass labels.")


def encode_classes(y, class_names):
    """Class labels -> indices 0..k-1, and the label of each index."""
    if class_names is not None:  # y already holds indices into class_names (R factors)
        codes = y.astype(np.int64)
        if codes.min() < 0 or codes.max() >= len(class_names):
            raise InputError(f"y holds class indices from {codes.min()} to {codes.max()} but "
                             f"there are {len(class_names)} class names.")
        return codes, [str(c) for c in class_names]
    labels, codes = np.unique(y, return_inverse=True)
    return codes.astype(np.int64), [plain(v) for v in labels]


def plain(v):
    return v.item() if hasattr(v, "item") else v


def check_classes(codes, classes, min_per_class):
    counts = np.bincount(codes, minlength=len(classes))
    present = int(np.sum(counts > 0))
    if present < 2:
        raise InputError(f"y has a single class ({classes[int(np.argmax(counts))]!r}): there "
                         "is nothing to classify. Check the target column, or use "
                         "task='regression' for a numeric target.")
    missing = [repr(classes[i]) for i in np.flatnonzero(counts == 0)]
    if missing:
        raise InputError(f"y (the training data) has no sample of class {', '.join(missing)}, "
                         "which occurs only in validation_data / test_data: a model cannot "
                         "learn a class it never sees. Split the data so that every part has "
                         "every class (or let craft() split it).")
    if counts.min() < min_per_class:
        rare = [f"{classes[i]!r} ({counts[i]})" for i in np.argsort(counts)[:5]
                if counts[i] < min_per_class]
        raise InputError(
            f"too few samples per class for the train/validation/test splits: "
            f"{', '.join(rare)}; each class needs at least {min_per_class} so that every "
            "split gets some. Collect more, merge rare classes, lower val_fraction / "
            "test_fraction, or pass validation_data= and test_data= yourself.")
