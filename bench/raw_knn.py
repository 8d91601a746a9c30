"""Why k-NN does worse on a raw table's columns than on the same table by hand: its
validation MSE on txhousing (bench/raw.py's table and seed-0 split of the raw run) with each
column left out in turn, and with the cheap models' one-hot cap at 64.

    python bench/raw.py --tables txhousing_median --seeds 0   # makes the split
    python bench/raw_knn.py
"""

from __future__ import annotations

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "inst", "python")]

from raw import CACHE, by_hand, load  # noqa: E402


def main():
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from kerascraft import tables

    frame, target, _ = load("txhousing_median")
    kept = frame[frame[target].notna()].reset_index(drop=True)
    split = np.load(os.path.join(CACHE, "runs", "txhousing_median-0", "raw", "split.npz"))
    y, x = kept[target].to_numpy(), kept.drop(columns=[target])

    def mse(m):
        knn = make_pipeline(StandardScaler(), KNeighborsRegressor())
        knn.fit(m[split["train"]], y[split["train"]])
        return float(np.mean((knn.predict(m[split["validation"]]) - y[split["validation"]]) ** 2))

    def columns(cap):
        tables.MAX_ONE_HOT = cap
        t = tables.read_table(x).fit(x.iloc[split["train"]])
        starts = np.cumsum([0] + [t._width(c, "cheap") for c in t.columns])
        return t, t.encode(x, "cheap"), starts

    print(f"by hand: {mse(by_hand(kept, target)):.4f}")
    t, m, starts = columns(32)
    print(f"raw: {mse(m):.4f}")
    for c, a, b in zip(t.columns, starts, starts[1:]):
        print(f"raw without {c.name} ({b - a} columns): {mse(m[:, np.r_[0:a, b:m.shape[1]]]):.4f}")
    t, m, starts = columns(64)
    date = [i for i, c in enumerate(t.columns) if c.kind == "date"][0]
    keep = np.r_[0:starts[date], starts[date + 1]:m.shape[1]]
    print(f"raw, one-hot cap 64: {mse(m):.4f}; without the date too: {mse(m[:, keep]):.4f}")


if __name__ == "__main__":
    main()
