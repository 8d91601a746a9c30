"""Plots of an ensemble and of diversity (matplotlib)."""

from __future__ import annotations

import numpy as np


def plot_ensemble(ensemble):
    """Bar chart of the weights (with the fold spread when fitted with ``cv``)."""
    from matplotlib.figure import Figure

    rows = ensemble.model_rows
    fig = Figure(figsize=(6, 0.4 * len(rows) + 1.2))
    ax = fig.subplots()
    ypos = np.arange(len(rows))[::-1]
    err = [r.get("cv_weight_sd", 0) or 0 for r in rows] if ensemble.fold_weights is not None else None
    ax.barh(ypos, [r["weight"] for r in rows], xerr=err,
            color=["tab:red" if r.get("fragile") else "tab:blue" for r in rows])
    ax.set_yticks(ypos, [r["model"] for r in rows])
    ax.set_xlabel("weight")
    ax.set_title(f"Ensemble weights ({ensemble.method}); red: gain rests on few samples")
    fig.tight_layout()
    return fig


def diversity_plot_data(table) -> dict:
    """The heat map of :func:`diversity`'s table, computed once for matplotlib and ggplot2:
    ``models`` (their order) and every cell ``a``, ``b``, ``r`` (the error correlation;
    each pair both ways, 1 on the diagonal, None where undefined)."""
    cols = table if isinstance(table, dict) else {c: list(table[c]) for c in table.columns}
    models = list(dict.fromkeys(list(cols["model_a"]) + list(cols["model_b"])))
    cells = {"a": list(models), "b": list(models), "r": [1.0] * len(models)}
    for a, b, r in zip(cols["model_a"], cols["model_b"], cols["error_correlation"]):
        r = None if r is None or r != r else float(r)
        cells["a"] += [a, b]
        cells["b"] += [b, a]
        cells["r"] += [r, r]
    return {"models": models, **cells}


def plot_diversity(table):
    """Heat map of the pairwise error correlations of :func:`diversity`."""
    from matplotlib.figure import Figure

    data = diversity_plot_data(table)
    names = data["models"]
    M = np.full((len(names), len(names)), np.nan)
    for a, b, r in zip(data["a"], data["b"], data["r"]):
        M[names.index(a), names.index(b)] = np.nan if r is None else r
    fig = Figure(figsize=(1 + 0.6 * len(names), 0.6 * len(names) + 0.8))
    ax = fig.subplots()
    im = ax.imshow(M, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    fig.colorbar(im, ax=ax, label="error correlation")
    fig.tight_layout()
    return fig
