"""Small bundled data sets split for tuning: train / validation / test.

Tuning overfits the validation set, so every split kerascraft makes keeps a test set apart.
"""

from __future__ import annotations

import numpy as np


def load_digits(val_fraction: float = 0.2, test_fraction: float = 0.2, seed: int = 0) -> dict:
    """scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), split three ways.

    Pixels are scaled to [0, 1] as float32; labels are int32 (0-9). The splits are
    stratified by class and reproducible for a given ``seed``.

    Returns:
        dict with ``x_train, y_train, x_val, y_val, x_test, y_test``.
    """
    from sklearn.datasets import load_digits as _sk_load_digits
    from sklearn.model_selection import train_test_split

    if not (0 < val_fraction < 1 and 0 < test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(
            "val_fraction and test_fraction must be in (0, 1) and sum to less than 1; "
            f"got {val_fraction} and {test_fraction}."
        )
    x, y = _sk_load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    y = y.astype(np.int32)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_fraction / (1 - test_fraction),
        random_state=seed, stratify=y_rest,
    )
    return {"x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val,
            "x_test": x_test, "y_test": y_test}
