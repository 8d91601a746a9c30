"""Distributed tuning: a chief and two workers on 127.0.0.1, with workers really killed."""

import os
import re
import sys
from pathlib import Path

import keras
import pytest

import kerascraft as kc
from conftest import CLOCK_PATTERN as CLOCK

SRC = str(Path(__file__).resolve().parents[2] / "inst" / "python")
pytestmark = pytest.mark.skipif(keras.config.backend() != "tensorflow",
                                reason="process-heavy; the launcher does not depend on the backend")

# The search script every process runs. A worker kills itself with SIGKILL at the end of
# the first epoch of a trial, KILLS times in all (the same trial: KerasTuner hands it back).
SCRIPT = '''
import os, signal, sys
sys.path.insert(0, {src!r})
import keras
import kerascraft as kc
from kerascraft.demo import build_digits_mlp

class Killer(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        me, victim = os.environ.get("KERASTUNER_TUNER_ID"), {victim!r}
        deaths = {directory!r} + "/deaths"
        n = int(open(deaths).read()) if os.path.exists(deaths) else 0
        if me == victim and n < {kills}:
            open(deaths, "w").write(str(n + 1))
            os.kill(os.getpid(), signal.SIGKILL)

def build_wide(hp):  # a space no search of this size exhausts
    model = build_digits_mlp(hp)
    model.optimizer.learning_rate = hp.Float("lr", 1e-4, 1e-2, sampling="log")
    return model

def make_tuner():
    return kc.tuner({kind!r}, {build}, objective="val_accuracy", max_trials={max_trials},
                    directory={directory!r}, project_name="search", seed=7, overwrite=False)

if __name__ == "__main__":
    d = kc.load_digits(seed=0)
    make_tuner().search(d["x_train"], d["y_train"], validation_data=(d["x_val"], d["y_val"]),
                        epochs=2, batch_size=64, callbacks=[Killer()]{search_args})
'''


def _script(tmp_path, kills=0, victim="", kind="random", max_trials=4, search_args="",
            build="build_digits_mlp"):
    """The search script written for this test; returns its path and search directory."""
    directory = str(tmp_path / "tuning")
    os.makedirs(directory)
    script = tmp_path / "search.py"
    script.write_text(SCRIPT.format(src=SRC, directory=directory, kills=kills, victim=victim,
                                    kind=kind, max_trials=max_trials, search_args=search_args,
                                    build=build))
    return script, directory


def _run(tmp_path, kills, kind="random"):
    script, directory = _script(tmp_path, kills=kills, victim="tuner0", kind=kind)
    out = kc.search_distributed(str(script), workers=2, max_retries=1, timeout=1800, verbose=0)
    tuner = kc.tuner(kind, kc.demo.build_digits_mlp, objective="val_accuracy", max_trials=4,
                     directory=directory, project_name="search", seed=7, overwrite=False)
    logs = "".join(Path(out["log_dir"], f"tuner{i}.log").read_text() for i in range(2))
    return out, kc.results(tuner), logs


def test_chief_and_two_workers_run_every_trial_once_and_retry_a_killed_one(tmp_path):
    # on the default kind: Optuna's sampler lives in the chief's oracle
    out, res, logs = _run(tmp_path, kills=1, kind="auto")
    assert out["chief_exit"] in (0, "stopped")
    assert out["workers"]["tuner0"]["starts"] == 2 and -9 in out["workers"]["tuner0"]["exits"]
    assert out["workers"]["tuner1"]["starts"] == 1
    assert len(res) == 4 and (res.status == "COMPLETED").all()
    # every trial was reported finished exactly once, by one worker
    finished = re.findall(CLOCK + r"tuner\d: trial (\d+): val_accuracy=", logs, re.M)
    assert sorted(finished) == sorted(res.trial_id)
    # the killed trial was run again and says so; no configuration was trained twice
    assert sorted(res.retries) == [0, 0, 0, 1]
    assert len(set(zip(res.units, res.optimizer))) == 4


def test_a_trial_that_kills_its_worker_twice_is_recorded_failed(tmp_path):
    out, res, logs = _run(tmp_path, kills=2)
    assert out["chief_exit"] in (0, "stopped")
    assert out["workers"]["tuner0"]["starts"] == 3
    assert len(res) == 4
    failed = res[res.status == "FAILED"]
    assert len(failed) == 1 and (res.status == "COMPLETED").sum() == 3
    assert "died 2 times" in failed.error.iloc[0]


def test_cli_chief_and_worker_as_on_separate_machines(tmp_path):
    import subprocess

    script, directory = _script(tmp_path)
    oracle = f"127.0.0.1:{kc.free_ports(1)[0]}"
    env = dict(os.environ, PYTHONPATH=SRC)
    cmd = [sys.executable, "-m", "kerascraft"]
    chief = subprocess.Popen(cmd + ["chief", str(script), "--oracle", oracle], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    worker = subprocess.Popen(cmd + ["worker", str(script), "--oracle", oracle, "--id", "w1"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        w_out, _ = worker.communicate(timeout=900)
        c_out, _ = chief.communicate(timeout=600)
    finally:
        worker.kill()
        chief.kill()
    assert worker.returncode == 0, w_out[-3000:]
    assert chief.returncode == 0, c_out[-3000:]
    assert len(re.findall(CLOCK + r"w1: trial \d+: val_accuracy=", w_out, re.M)) == 4
    bad = subprocess.run(cmd + ["worker", str(script), "--oracle", oracle, "--id", "chief2"],
                         env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "must not contain 'chief'" in bad.stderr


def test_a_fresh_process_per_trial_keeps_the_search_whole(tmp_path):
    script, directory = _script(tmp_path)
    out = kc.search_distributed(str(script), workers=2, trials_per_process=1, timeout=1800,
                                verbose=0)
    assert out["chief_exit"] in (0, "stopped")
    recycled = sum(w["recycled"] for w in out["workers"].values())
    assert recycled == 4  # one process per trial ...
    assert all(set(w["exits"]) <= {0, 75} for w in out["workers"].values())
    tuner = kc.tuner("random", kc.demo.build_digits_mlp, objective="val_accuracy", max_trials=4,
                     directory=directory, project_name="search", seed=7, overwrite=False)
    res = kc.results(tuner)
    assert len(res) == 4 and (res.status == "COMPLETED").all() and (res.retries == 0).all()
    assert len(set(zip(res.units, res.optimizer))) == 4  # ... and each trial ran once


def test_workers_keep_the_search_time_limit_fresh_processes_too(tmp_path):
    # a worker's oracle client knows no trials: it predicts from the trials' files, and a
    # process started fresh after its share of trials counts the limit from the search's
    # start, not its own (else the search would never end by time)
    script, directory = _script(tmp_path, max_trials=200, search_args=", time_limit=LIMIT",
                                build="build_wide")
    limit = 45
    script.write_text(script.read_text().replace("LIMIT", str(limit)))
    out = kc.search_distributed(str(script), workers=2, trials_per_process=2, timeout=600,
                                verbose=0)
    assert out["chief_exit"] in (0, "stopped")
    assert all(set(w["exits"]) <= {0, 75} for w in out["workers"].values()), out["workers"]
    # the workers' processes end within the limit (give or take an epoch and a start)
    assert out["seconds"] < limit + 15, out["seconds"]
    logs = "".join(Path(out["log_dir"], f"tuner{i}.log").read_text() for i in range(2))
    assert re.search(r"search: time limit: trials finished \d+, \d+ of max_trials=200 not run",
                     logs), logs[-3000:]
    tuner = kc.tuner("random", kc.demo.build_digits_mlp, objective="val_accuracy",
                     max_trials=200, directory=directory, project_name="search", seed=7,
                     overwrite=False)
    res = kc.results(tuner)
    assert 2 <= (res.status == "COMPLETED").sum() < 200
