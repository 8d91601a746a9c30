"""When should craft() keep its best single model instead of the ensemble? Rules compared on
the predictions that ``bench/craft_nets.py --keep`` kept (every member's validation and test
predictions of real craft() runs), without training again.

For each run: craft()'s ensemble (a stack for classes, greedy weights for numbers, fitted on
all validation rows) and the best single member chosen on validation. The rules decide from
validation alone, on the ensemble's out-of-fold validation predictions (fitted on 4 of 5
folds, predicting the fifth) against the single member's, per sample:

- ``ensemble``: always the ensemble (craft() until now);
- ``single``: always the best single member;
- ``lead>0``: the ensemble where its out-of-fold loss is lower than the member's;
- ``1se``: the ensemble where its out-of-fold lead is more than one standard error above 0
  (the one-standard-error rule: the simpler model unless the other is clearly better);
- ``ci95``: the ensemble where the lead's 95% bootstrap interval is above 0.

Scored on test: each rule's loss (log loss for classes, MSE for numbers) over the
ensemble's, and the runs where the chosen model is below the best member on test (chosen
after the fact) by more than the half-width of the bootstrap interval of its lead.

    python bench/ensemble_choice.py /tmp/keep/*.npz
"""

from __future__ import annotations

import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "inst",
                                "python"))

RULES = ("ensemble", "single", "lead>0", "1se", "ci95")
FOLDS = 5


def runs(paths):
    for path in paths:
        d = np.load(path)
        names = [k[4:] for k in d.files if k.startswith("val_")]
        task = "classification" if d[f"val_{names[0]}"].ndim == 2 and \
            d[f"val_{names[0]}"].shape[1] > 1 else "regression"
        yield (os.path.basename(path)[:-4], task, d["y_val"], d["y_test"],
               {n: d[f"val_{n}"] for n in names}, {n: d[f"test_{n}"] for n in names})


def losses(task, y, pred):
    from kerascraft.ensemble.metrics import sample_losses

    if task == "classification":
        return sample_losses("log_loss", y, pred)
    return sample_losses("mse", y.reshape(len(y), -1), np.reshape(pred, (len(y), -1)))


def fit(task, val, y, method):
    import warnings

    from kerascraft.ensemble import fit_ensemble

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_ensemble(val, y, method=method, task=task, seed=0)


def out_of_fold(task, val, y, method):
    """The ensemble's validation predictions, each from weights fitted without its fold."""
    from kerascraft.ensemble.methods import folds

    oof = None
    for held in folds(y, task, FOLDS, 0):
        rest = np.setdiff1d(np.arange(len(y)), held)
        e = fit(task, {n: p[rest] for n, p in val.items()}, y[rest], method)
        pred = np.asarray(e.predict({n: p[held] for n, p in val.items()}), dtype=np.float64)
        if oof is None:
            oof = np.zeros((len(y),) + pred.shape[1:])
        oof[held] = pred
    return oof


def choose(lead, rule):
    n = len(lead)
    if rule == "ensemble":
        return True
    if rule == "single":
        return False
    if rule == "lead>0":
        return lead.mean() > 0
    if rule == "1se":
        return lead.mean() > lead.std(ddof=1) / np.sqrt(n)
    rng = np.random.default_rng(0)
    means = np.array([lead[rng.integers(0, n, n)].mean() for _ in range(2000)])
    return np.percentile(means, 2.5) > 0


def main(paths):
    rows = []
    for name, task, y_val, y_test, val, test in runs(paths):
        # craft()'s method; for numbers also the stack, which craft() does not use there
        for method in (("stack",) if task == "classification" else ("greedy", "stack")):
            rows.append(one(name, task, y_val, y_test, val, test, method))
    for task, method in sorted({(r["task"], r["method"]) for r in rows}):
        mine = [r for r in rows if r["task"] == task and r["method"] == method]
        print(f"\n{task}, {method}: {len(mine)} runs; test loss over the ensemble's (median, "
              "lower is better) and the runs below the best member on test beyond the noise:")
        for rule in RULES:
            ratios = [r[rule][0] / r["ensemble"][0] for r in mine]
            worse = sum(r[rule][1] for r in mine)
            better = sum(x < 1 - 1e-9 for x in ratios)
            print(f"  {rule:9s} median {statistics.median(ratios):.3f}, mean "
                  f"{statistics.fmean(ratios):.3f}, lower than the ensemble in {better}, "
                  f"beyond the noise below the best member in {worse}")
    if any(r["task"] == "regression" for r in rows):
        g = {r["run"]: r["ensemble"][0] for r in rows if r["method"] == "greedy"}
        st = {r["run"]: r["ensemble"][0] for r in rows if r["method"] == "stack"
              and r["task"] == "regression"}
        ratios = [st[k] / g[k] for k in g]
        print(f"\nregression: the stack's test MSE over greedy's: median "
              f"{statistics.median(ratios):.3f}, lower in {sum(x < 1 for x in ratios)} of "
              f"{len(ratios)} runs")


def one(name, task, y_val, y_test, val, test, method):
    e = fit(task, val, y_val, method)
    best = e.scores["best_single_model"]
    lead = losses(task, y_val, val[best]) - losses(task, y_val,
                                                   out_of_fold(task, val, y_val, method))
    ens_test = losses(task, y_test, np.asarray(e.predict(test), dtype=np.float64))
    member_test = {n: losses(task, y_test, p).mean() for n, p in test.items()}
    top = min(member_test, key=member_test.get)
    row = {"run": name, "task": task, "method": method}
    for rule in RULES:
        chosen = ens_test if choose(lead, rule) else losses(task, y_test, test[best])
        diff = chosen - losses(task, y_test, test[top])
        rng = np.random.default_rng(1)
        means = [diff[rng.integers(0, len(diff), len(diff))].mean() for _ in range(1000)]
        lo, hi = np.percentile(means, [2.5, 97.5])
        row[rule] = (chosen.mean(), diff.mean() > (hi - lo) / 2)
    print(name, task, method, {r: f"{row[r][0] / row['ensemble'][0]:.3f}" +
                               ("!" if row[r][1] else "") for r in RULES}, flush=True)
    return row


if __name__ == "__main__":
    main(sys.argv[1:])
