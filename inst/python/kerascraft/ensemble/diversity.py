"""How differently the models err: pairwise correlations and disagreement."""

from __future__ import annotations

import numpy as np

from kerascraft.ensemble.checks import as_arrays, check_labels, infer_task, stack_predictions
from kerascraft.ensemble.fitted import as_table


def diversity(predictions, y, task=None, as_frame=True):
    """How different the models are, pair by pair, on data with targets ``y``.

    Returns a table with one row per pair: ``disagreement`` (classification: share of samples
    where their predicted classes differ) and ``error_correlation`` (correlation of their
    per-sample errors: one minus the probability of the true class, or the residual). Models
    whose errors correlate less are the ones that make an ensemble pay.
    """
    names, arrays = as_arrays(predictions)
    task = infer_task(arrays, y, task)
    P, _ = stack_predictions(names, arrays, task)
    m, n, k = P.shape
    y = check_labels(y, task, n, k, "y")
    if task == "classification":
        err = 1.0 - P[:, np.arange(n), y]
        cls = P.argmax(axis=2)
    else:
        err = (P - y[None]).mean(axis=2)
        cls = None
    rows = []
    for a in range(m):
        for b in range(a + 1, m):
            with np.errstate(invalid="ignore", divide="ignore"):  # a constant model: no correlation
                corr = float(np.corrcoef(err[a], err[b])[0, 1])
            corr = corr if np.isfinite(corr) else None
            rows.append({"model_a": names[a], "model_b": names[b],
                         "disagreement": None if cls is None else float((cls[a] != cls[b]).mean()),
                         "error_correlation": corr})
    return as_table(rows, as_frame)
