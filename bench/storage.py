"""Shared searches: trials per minute with 1, 2 and 4 workers on this machine, a PostgreSQL
storage (workers without a chief) against KerasTuner's chief/worker mode, and the cost per
trial of keeping the study in a storage.

    python bench/storage.py scaling [--workers 1,2,4] [--trials 40] [--repeats 3] [--out F]
    python bench/storage.py overhead [--trials 30] [--repeats 3] [--out F]
    python bench/storage.py --report F

``scaling``: the same search script (``kind="tpe"``, a small network on 160 rows, 3 epochs:
trials of well under a second, so what is measured is the engine, not the training) is run
by ``search_distributed()`` with ``workers`` processes, once with ``storage=`` a throwaway
PostgreSQL server (tests/python/pgserver.py) and once with KerasTuner's chief. Trials per
minute = trials completed / the call's wall seconds x 60 (the processes' start-up included,
as a user waits for it). The engines alternate within each repeat.

``overhead``: one process, the same search with no storage, a SQLite file and PostgreSQL:
the median seconds per trial (kerascraft's record of each trial) and the wall time per trial.

Needs: PostgreSQL (Debian's package; ``make test`` installs it) and psycopg
(``pip install 'kerascraft[database]'``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "inst", "python")
sys.path.insert(0, SRC)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "python"))

SCRIPT = '''
import os, sys
sys.path.insert(0, {src!r})
import keras, numpy as np
import kerascraft as kc

def build(hp):
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 2, 64),
                          activation="relu"), keras.layers.Dense(1)])
    m.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
              loss="mse")
    return m

if __name__ == "__main__":
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 4)).astype("float32")
    t = kc.tuner("tpe", build, max_trials={trials}, directory={directory!r},
                 project_name="bench", seed=1, storage=os.environ.get("BENCH_STORAGE") or None)
    t.search(x, x.sum(1, keepdims=True), validation_split=0.25, epochs=3, verbose=0)
'''


def _script(folder, trials):
    directory = os.path.join(folder, "tuning")
    path = os.path.join(folder, "search.py")
    with open(path, "w") as f:
        f.write(SCRIPT.format(src=os.path.abspath(SRC), trials=trials, directory=directory))
    return path, directory


def _completed(directory) -> int:
    import glob

    done = 0
    for path in glob.glob(os.path.join(directory, "bench", "trial_*", "trial.json")):
        with open(path) as f:
            done += json.load(f)["status"] == "COMPLETED"
    return done


def scaling(workers, trials, repeats, out):
    from kerascraft.distributed import search_distributed
    from pgserver import create_database, temporary_postgres

    with temporary_postgres() as server:
        n = 0
        for repeat in range(repeats):
            for w in workers:
                for engine in ("postgresql", "chief"):
                    folder = tempfile.mkdtemp(prefix="kc-bench-storage-")
                    script, directory = _script(folder, trials)
                    storage = None
                    if engine == "postgresql":
                        n += 1
                        storage = create_database(server, f"bench{n}")
                    start = time.monotonic()
                    search_distributed(script, workers=w, storage=storage, verbose=0,
                                       timeout=900)
                    seconds = time.monotonic() - start
                    done = _completed(directory)
                    row = {"bench": "scaling", "engine": engine, "workers": w,
                           "repeat": repeat, "trials": done, "seconds": seconds,
                           "trials_per_minute": 60 * done / seconds}
                    print(json.dumps(row), flush=True)
                    out.write(json.dumps(row) + "\n")
                    out.flush()
                    shutil.rmtree(folder, ignore_errors=True)


def overhead(trials, repeats, out):
    import numpy as np

    import kerascraft as kc
    from kerascraft.trials import trial_record
    from pgserver import create_database, temporary_postgres

    ns = {}
    exec(SCRIPT.split("if __name__")[0].format(src=SRC, trials=0, directory=""), ns)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 4)).astype("float32")
    with temporary_postgres() as server:
        n = 0
        for repeat in range(repeats):
            for engine in ("none", "sqlite", "postgresql"):
                folder = tempfile.mkdtemp(prefix="kc-bench-storage-")
                storage = None
                if engine == "sqlite":
                    storage = f"sqlite:///{folder}/s.db"
                elif engine == "postgresql":
                    n += 1
                    storage = create_database(server, f"over{n}")
                t = kc.tuner("tpe", ns["build"], max_trials=trials, directory=folder,
                             project_name="bench", seed=1, storage=storage)
                start = time.monotonic()
                t.search(x, x.sum(1, keepdims=True), validation_split=0.25, epochs=3,
                         verbose=0)
                wall = time.monotonic() - start
                per_trial = [trial_record(t, i).get("seconds") for i in t.oracle.trials]
                row = {"bench": "overhead", "engine": engine, "repeat": repeat,
                       "trials": len(per_trial), "wall_per_trial": wall / len(per_trial),
                       "trial_seconds_median": statistics.median(per_trial)}
                print(json.dumps(row), flush=True)
                out.write(json.dumps(row) + "\n")
                out.flush()
                shutil.rmtree(folder, ignore_errors=True)


def report(path):
    rows = [json.loads(line) for line in open(path)]
    scale = [r for r in rows if r["bench"] == "scaling"]
    if scale:
        print("| workers | PostgreSQL storage, trials/min | KerasTuner chief, trials/min | "
              "storage / chief |")
        print("|---|---|---|---|")
        for w in sorted({r["workers"] for r in scale}):
            med = {e: statistics.median(r["trials_per_minute"] for r in scale
                                        if r["workers"] == w and r["engine"] == e)
                   for e in ("postgresql", "chief")}
            ratios = [a["trials_per_minute"] / b["trials_per_minute"]
                      for a in scale for b in scale
                      if a["workers"] == b["workers"] == w and a["repeat"] == b["repeat"]
                      and a["engine"] == "postgresql" and b["engine"] == "chief"]
            print(f"| {w} | {med['postgresql']:.1f} | {med['chief']:.1f} | "
                  f"{statistics.median(ratios):.2f} |")
    over = [r for r in rows if r["bench"] == "overhead"]
    if over:
        print("\n| storage | seconds per trial, median (kerascraft's record) | wall seconds "
              "per trial | against none |")
        print("|---|---|---|---|")
        base = statistics.median(r["wall_per_trial"] for r in over if r["engine"] == "none")
        for e in ("none", "sqlite", "postgresql"):
            trial = statistics.median(r["trial_seconds_median"] for r in over
                                      if r["engine"] == e)
            wall = statistics.median(r["wall_per_trial"] for r in over if r["engine"] == e)
            print(f"| {e} | {trial:.3f} | {wall:.3f} | {wall - base:+.3f} s |")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", nargs="?", choices=("scaling", "overhead"))
    p.add_argument("--workers", default="1,2,4")
    p.add_argument("--trials", type=int, default=None)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", default=None)
    p.add_argument("--report", default=None)
    a = p.parse_args()
    if a.report:
        return report(a.report)
    out = open(a.out or os.devnull, "a")
    if a.what == "scaling":
        scaling([int(w) for w in a.workers.split(",")], a.trials or 40, a.repeats, out)
    elif a.what == "overhead":
        overhead(a.trials or 30, a.repeats, out)
    else:
        p.error("scaling, overhead or --report F")


if __name__ == "__main__":
    main()
