"""Small bundled data sets split for tuning: train / validation / test.

Tuning overfits the validation set, so every split kerascraft makes keeps a test set apart.
"""

from __future__ import annotations

import numpy as np

from kerascraft.errors import InputError

# name -> (scikit-learn loader, how the features are scaled)
DATASETS = {
    "digits": ("load_digits", "pixels"),          # 1,797 8x8 images, 10 classes
    "breast_cancer": ("load_breast_cancer", "standardize"),  # 569 x 30, 2 classes
    "wine": ("load_wine", "standardize"),          # 178 x 13, 3 classes
}


def load_dataset(name: str, val_fraction: float = 0.2, test_fraction: float = 0.2,
                 seed: int = 0, split: bool = True) -> dict:
    """One of scikit-learn's bundled classification data sets, split three ways.

    With ``split=False``: ``{"x", "y"}``, the whole data set unscaled (what
    :func:`kerascraft.craft` takes; it splits and scales itself).

    ``"digits"``: pixels scaled to [0, 1]. ``"breast_cancer"``, ``"wine"``: features
    standardised with the training split's mean and standard deviation (networks need it;
    trees do not mind). Features are float32, labels int32 class indices; the splits are
    stratified by class and reproducible for a given ``seed``.

    Returns:
        dict with ``x_train, y_train, x_val, y_val, x_test, y_test``.
    """
    import sklearn.datasets
    from sklearn.model_selection import train_test_split

    if name not in DATASETS:
        raise InputError(f"no bundled data set {name!r}; choose one of {sorted(DATASETS)}.")
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise InputError(
            "val_fraction and test_fraction must be in (0, 1) and sum to less than 1; "
            f"got {val_fraction} and {test_fraction}."
        )
    loader, scaling = DATASETS[name]
    x, y = getattr(sklearn.datasets, loader)(return_X_y=True)
    x = x.astype(np.float64)
    y = y.astype(np.int32)
    if not split:
        return {"x": x.astype(np.float32), "y": y}
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_fraction / (1 - test_fraction),
        random_state=seed, stratify=y_rest,
    )
    if scaling == "pixels":
        center, scale = 0.0, 16.0
    else:
        center, scale = x_train.mean(axis=0), x_train.std(axis=0)
        scale[scale == 0] = 1.0
    out = {"y_train": y_train, "y_val": y_val, "y_test": y_test}
    for part, xs in (("train", x_train), ("val", x_val), ("test", x_test)):
        out[f"x_{part}"] = ((xs - center) / scale).astype(np.float32)
    return {k: out[k] for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")}


def load_digits(val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0) -> dict:
    """scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), split three ways.

    Pixels are scaled to [0, 1] as float32; labels are int32 (0-9). See :func:`load_dataset`.
    """
    return load_dataset("digits", val_fraction, test_fraction, seed)
