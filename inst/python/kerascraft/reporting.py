"""One self-contained HTML page for a :func:`kerascraft.craft` result.

Plots are PNGs drawn with matplotlib (no display needed) and embedded as data URIs; the
style sheet is inline; the page loads nothing from anywhere else, so it can be mailed,
attached to a ticket or opened offline.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import time

import numpy as np

from kerascraft import __version__
from kerascraft.ensemble.metrics import format_score
from kerascraft.errors import InputTypeError

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;
max-width:1100px;color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}
.headline{display:flex;gap:1.5em;flex-wrap:wrap;margin:1em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.7em 1.2em;min-width:12em}
.card .value{font-size:1.8em;font-weight:600}.card .label{color:#666;font-size:.9em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th{background:#f4f4f4}td.text,th.text{text-align:left}
tr.highlight td{background:#eef6ee;font-weight:600}tr.failed td{background:#fbeaea}
img{max-width:100%;height:auto;display:block;margin:.6em 0}
.note{color:#555;font-size:.9em}details{margin:.5em 0}
dl.setup{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dl.setup dt{font-weight:600}
"""


def _figure_png(fig) -> str:
    """A matplotlib Figure as an <img> with a data URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(fig.get_label() or "plot")}" src="data:image/png;base64,{data}">'


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<td class="text"></td>'
    if isinstance(value, (bool, np.bool_)):
        return f'<td class="text">{"yes" if value else "no"}</td>'
    if isinstance(value, (int, np.integer)):
        return f"<td>{int(value)}</td>"
    if isinstance(value, (float, np.floating)):
        return f"<td>{float(value):.4g}</td>"
    return f'<td class="text">{html.escape(str(value))}</td>'


def _table(frame, table_id, highlight=None, cls="highlight") -> str:
    """A pandas DataFrame as an HTML table; rows where ``highlight(row)`` is true stand out."""
    head = "".join(f'<th class="text">{html.escape(str(c))}</th>' for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        mark = f' class="{cls}"' if highlight and highlight(row) else ""
        rows.append(f"<tr{mark}>" + "".join(_cell(v) for v in row.tolist()) + "</tr>")
    return (f'<table id="{table_id}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _accuracy_floor(values) -> float:
    """Where an accuracy axis starts: below the lowest value by 1.5x its distance to 1, so
    that differences of a sample or two show."""
    low = float(np.min(values))
    return max(0.0, low - (1 - low) * 1.5 - 0.01)


def _test_scores_figure(result):
    from matplotlib.figure import Figure

    t = result.test_scores
    metric = result.test_metric
    fig = Figure(figsize=(6.5, 0.45 * len(t) + 1.2), label="test scores")
    ax = fig.subplots()
    ypos = np.arange(len(t))[::-1]
    colors = ["tab:green" if k == "ensemble" else "tab:gray" if k == "mean" else "tab:blue"
              for k in t["kind"]]
    ax.barh(ypos, t[metric], color=colors)
    ax.set_yticks(ypos, list(t["model"]))
    if metric == "accuracy":
        ax.set_xlim(_accuracy_floor(t[metric]), 1.0)
    ax.set_xlabel(f"test {metric}")
    for y, v in zip(ypos, t[metric]):
        ax.text(v, y, " " + format_score(metric, v), va="center", fontsize=8)
    fig.tight_layout()
    return fig


def _gap_figure(result):
    from matplotlib.figure import Figure

    g = result.gaps
    m = result.test_metric
    cols = [(f"validation_{m}", "validation (model trained on train)"),
            (f"test_{m}", "test, same model"),
            (f"test_{m}_retrained", "test, retrained on train+validation")]
    fig = Figure(figsize=(6.5, 3.2), label="validation versus test")
    ax = fig.subplots()
    x = np.arange(len(g))
    width = 0.8 / len(cols)
    for i, (col, label) in enumerate(cols):
        ax.bar(x + (i - 1) * width, g[col], width, label=label)
    ax.set_xticks(x, list(g["model"]))
    if m == "accuracy":
        ax.set_ylim(_accuracy_floor(np.concatenate([g[c] for c, _ in cols])), 1.0)
    ax.set_ylabel(m)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def _setup_html(result) -> str:
    s = result.setup
    rows = [("precision", f"{s['precision']} &mdash; {html.escape(s['precision_reason'])}"),
            ("strategy", f"{html.escape(s['strategy'])}, {s['replicas']} replica(s) &mdash; "
                         f"{html.escape(str(s['strategy_reason']))}"),
            ("step fusion", f"steps_per_execution = {s['steps_per_execution']} &mdash; "
                            f"{html.escape(s['steps_reason'])}")]
    for note in s.get("precision_notes") or []:
        rows.append(("precision check", html.escape(note)))
    record = result.record_line()
    if record:
        rows.append(("search record", html.escape(record.split(": ", 1)[1])))
    out = '<dl class="setup" id="setup">' + "".join(
        f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"
    if s.get("steps_table"):
        import pandas as pd

        out += ('<details><summary>step fusion measurements</summary>'
                + _table(pd.DataFrame(s["steps_table"]), "step-fusion",
                         lambda r: r["steps_per_execution"] == s["steps_per_execution"])
                + "</details>")
    return out


def _headline_html(result) -> list[str]:
    h, sizes = result.headline(), result.sizes
    m = h["metric"]
    classes = f", {len(result.classes)} classes" if result.classes else ""
    return [
        f'<p class="note">{result.task}{classes}; {sizes["train"]} train, '
        f'{sizes["validation"]} validation, {sizes["test"]} test samples. Made by kerascraft '
        f'{__version__} on {time.strftime("%Y-%m-%d %H:%M")} from '
        f'<code>{html.escape(os.path.abspath(result.directory))}</code>.</p>',
        '<div class="headline" id="headline">',
        f'<div class="card"><div class="value">{format_score(m, h["ensemble"])}</div>'
        f'<div class="label">ensemble, test {m}</div></div>',
        f'<div class="card"><div class="value">{format_score(m, h["best_single"])}</div>'
        f'<div class="label">best single model ({html.escape(h["best_single_model"])}, '
        f'chosen on validation), test {m}</div></div>',
        "</div>",
        *(f'<p class="note" id="lead">{html.escape(line.strip())}</p>'
          for line in result.comparison_lines()[1:])]


def _scores_html(result, tables) -> list[str]:
    """Test scores, validation versus test, ensemble weights, the search, the retrained
    configurations and the time per stage."""
    from kerascraft.ensemble import plot_ensemble
    from kerascraft.trials import plot_search

    m = result.test_metric
    better = "higher" if m == "accuracy" else "lower"
    search_fig = plot_search(result.tuner)
    search_fig.set_label("search progress and hyperparameters")
    weights_fig = plot_ensemble(result.ensemble)
    weights_fig.set_label("ensemble weights")
    return [
        "<h2>Test scores</h2>",
        f'<p class="note">Every model on the test split, which no choice was made on '
        f'({better} is better for {m}). The networks and the trees here were trained on '
        "train+validation; the ensemble's weights were learned on validation predictions of "
        "their versions trained on the training split.</p>",
        _figure_png(_test_scores_figure(result)),
        _table(tables["test_scores"], "test-scores", lambda r: r["kind"] == "ensemble"),
        "<h2>Validation versus test</h2>",
        '<p class="note">The search picked configurations by their validation score, so that '
        "score flatters them; <em>gap</em> is validation minus test in the direction of "
        "better (positive: validation flattered).</p>",
        _figure_png(_gap_figure(result)),
        _table(tables["gaps"], "gaps"),
        "<h2>Ensemble weights</h2>",
        f"<pre>{html.escape(result.ensemble.summary())}</pre>",
        _figure_png(weights_fig),
        _table(tables["weights"], "weights", lambda r: r["weight"] > 0),
        '<p class="note">Time against weight: the seconds each family of members took to '
        "train (the search and retraining for the networks), its share of that time, and "
        "the weight its members earned in the ensemble.</p>",
        _table(tables["families"], "families"),
        "<h2>Search</h2>",
        f'<p class="note">Objective: {html.escape(result.objective)}. Left: score by trial '
        "and the best so far; then the score against each hyperparameter.</p>",
        _figure_png(search_fig),
        _table(tables["trials"], "trials", lambda r: r["status"] == "FAILED", "failed"),
        *_columns_html(result, tables["columns"]),
        "<h2>Retrained configurations</h2>",
        _table(tables["retrained"], "retrained"),
        "<h2>Time</h2>",
        _time_html(result),
        _table(tables["timings"], "timings"),
    ]


def _time_html(result) -> str:
    """The seconds of the call; with a time limit, the rule that shared it and what it cut."""
    lines = [line.strip() for line in result.time_lines()]
    return '<p class="note">' + "<br>".join(html.escape(line) for line in lines) + "</p>"


def _columns_html(result, columns) -> list[str]:
    """A table's columns: how each was read, its missing values, what each family got."""
    if result.table is None:
        return []
    return ["<h2>Columns</h2>",
            f'<p class="note">{html.escape(result.table.describe())}. Every encoding was '
            "learned from the training rows only; <em>missing</em> is the share of them "
            "without a value.</p>",
            _table(columns, "columns", lambda r: r["kind"] == "left out", "failed")]


def report(result, path="report.html") -> str:
    """Write ``result`` (a :class:`~kerascraft.workflow.CraftResult`) as one HTML page.

    Sections: the headline (ensemble against the best single model on test data), set-up
    (precision, strategy, step fusion and why), test scores of every model, validation
    versus test, ensemble weights, the search (progress, hyperparameters against score,
    every trial), the retrained configurations and the time each stage took.

    Returns:
        The absolute path of the page.
    """
    if not hasattr(result, "frames") or not hasattr(result, "ensemble"):
        raise InputTypeError(f"report() takes the result of craft(); got {type(result).__name__}.")
    title = "kerascraft report"
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>{title}</title><style>{_CSS}</style></head><body>", f"<h1>{title}</h1>",
             *_headline_html(result), "<h2>Set-up</h2>", _setup_html(result),
             *_scores_html(result, result.frames()), "</body></html>"]
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    os.replace(tmp, path)
    return path
