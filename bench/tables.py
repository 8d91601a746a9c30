"""Real tables for the benchmarks, as arrays: scikit-learn's bundled sets and tables that
ship with R and ggplot2 (read through Rscript, cached as CSV), numeric columns only until
craft() reads raw columns.

    from tables import load, split
    load("mpg_drv")            # {"x", "y", "task"}
    split("diamonds_cut", 0)   # train / validation / test, features standardised on train

Tables: ``digits``, ``wine``, ``breast_cancer``, ``iris`` (classes), ``diabetes``
(numbers) from scikit-learn; ``mpg_drv`` (ggplot2's 234 cars: the drive, 3 classes, from
displacement, year, cylinders, city and highway miles per gallon), ``mpg_hwy`` (highway
miles per gallon from the others), ``diamonds_cut`` (3,000 of ggplot2's diamonds drawn
with a fixed seed: the cut, 5 classes, from carat, depth, table, price and the three
sizes), ``diamonds_price`` (the same rows: log price from carat, depth, table and the
sizes), ``airquality_ozone`` (R's airquality, the 111 complete days: ozone from solar
radiation, wind, temperature, month and day).
"""

from __future__ import annotations

import os
import subprocess
import tempfile

import numpy as np

CACHE = os.path.join(tempfile.gettempdir(), "kerascraft-bench-tables")

#: name -> (R expression of a data frame, target column, predictors, task)
R_TABLES = {
    "mpg_drv": ("ggplot2::mpg", "drv", ["displ", "year", "cyl", "cty", "hwy"], "classification"),
    "mpg_hwy": ("ggplot2::mpg", "hwy", ["displ", "year", "cyl", "cty"], "regression"),
    "diamonds_cut": ("{set.seed(1); d <- ggplot2::diamonds; d[sample(nrow(d), 3000), ]}", "cut",
                     ["carat", "depth", "table", "price", "x", "y", "z"], "classification"),
    "diamonds_price": ("{set.seed(1); d <- ggplot2::diamonds; d$log_price <- log(d$price); "
                       "d[sample(nrow(d), 3000), ]}", "log_price",
                       ["carat", "depth", "table", "x", "y", "z"], "regression"),
    "airquality_ozone": ("na.omit(datasets::airquality)", "Ozone",
                         ["Solar.R", "Wind", "Temp", "Month", "Day"], "regression"),
}
SKLEARN = {"digits": "load_digits", "wine": "load_wine", "breast_cancer": "load_breast_cancer",
           "iris": "load_iris", "diabetes": "load_diabetes"}


def _r_table(name):
    import pandas as pd

    expr, target, predictors, task = R_TABLES[name]
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, f"{name}.csv")
    if not os.path.exists(path):
        code = f"d <- as.data.frame({expr}); write.csv(d, {path!r}, row.names = FALSE)"
        subprocess.run(["Rscript", "-e", code], check=True, capture_output=True)
    frame = pd.read_csv(path)
    x = frame[predictors].to_numpy(np.float32)
    if task == "classification":
        y = np.unique(frame[target].astype(str), return_inverse=True)[1]
    else:
        y = frame[target].to_numpy(np.float32)
    return {"x": x, "y": y, "task": task}


def load(name):
    """``{"x": float32 features, "y": class indices or numbers, "task"}``."""
    if name in R_TABLES:
        return _r_table(name)
    import sklearn.datasets

    if name not in SKLEARN:
        raise ValueError(f"unknown table {name!r}; one of {sorted([*SKLEARN, *R_TABLES])}")
    data = getattr(sklearn.datasets, SKLEARN[name])()
    task = "regression" if name == "diabetes" else "classification"
    y = data.target.astype(np.float32 if task == "regression" else np.int64)
    return {"x": data.data.astype(np.float32), "y": y, "task": task}


def split(name, seed, val_fraction=0.2, test_fraction=0.2):
    """Train / validation / test (stratified for classes), features standardised with the
    training rows' mean and spread, as ``kerascraft.load_dataset`` gives the bundled sets."""
    from sklearn.model_selection import train_test_split

    d = load(name)
    x, y = d["x"], d["y"]
    strata = y if d["task"] == "classification" else None
    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=test_fraction, random_state=seed,
                                  stratify=strata)
    train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction),
                                  random_state=seed,
                                  stratify=None if strata is None else strata[rest])
    center, scale = x[train].mean(0), x[train].std(0)
    scale[scale == 0] = 1.0
    out = {"task": d["task"]}
    for part, rows in (("train", train), ("val", val), ("test", test)):
        out[f"x_{part}"] = ((x[rows] - center) / scale).astype(np.float32)
        out[f"y_{part}"] = y[rows]
    return out
